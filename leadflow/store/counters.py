"""The pre-aggregated funnel counters (added up from the outbox stream, `add_from_stream`),
and the campaign costs finance records next to them in the MetricsTable.

Request paths only Query one period key or BatchGet known keys: the number of
requests depends on the periods asked for, never on the number of leads. The
Scans at the end are for the `leadflow metrics reconcile` batch command only.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from leadflow.adapters.aws import client
from leadflow.domain.errors import ConcurrentUpdate
from leadflow.store.models import CounterModel, HistoryModel, LeadModel

Key = tuple[str, str]  # (pk, sk)
BATCH_GET_LIMIT = 100


def _table() -> str:
    return CounterModel.Meta.table_name


def _numbers(item: dict[str, Any]) -> dict[str, int]:
    return {k: int(v["N"]) for k, v in item.items() if "N" in v}


def counters_for(pk: str) -> dict[str, dict[str, int]]:
    """All counter items of one period (e.g. "month#2026-11"): {sk: {attribute: value}}.

    Counter attributes are dynamic (exit_<STAGE>, tis_<bucket>), so this reads
    the raw items rather than the model's declared attributes."""
    return {sk: attrs for (_, sk), attrs in query_partitions([pk]).items()}


def query_partitions(pks: Iterable[str]) -> dict[Key, dict[str, int]]:
    """Every item of each partition: one Query per pk (more only past 1 MB of one period)."""
    out: dict[Key, dict[str, int]] = {}
    for pk in pks:
        for item in _query(pk):
            out[(pk, item["sk"]["S"])] = _numbers(item)
    return out


def _query(pk: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"TableName": _table(), "KeyConditionExpression": "pk = :pk",
                              "ExpressionAttributeValues": {":pk": {"S": pk}}, "ConsistentRead": True}
    while True:
        page = client("dynamodb").query(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_items(keys: Iterable[Key]) -> dict[Key, dict[str, int]]:
    """The counter items of known keys (missing items are absent): BatchGetItem, 100 keys a request."""
    wanted = list(dict.fromkeys(keys))
    out: dict[Key, dict[str, int]] = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request = {_table(): {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in
                                       wanted[start:start + BATCH_GET_LIMIT]], "ConsistentRead": True}}
        for attempt in range(8):
            page = client("dynamodb").batch_get_item(RequestItems=request)
            for item in page["Responses"].get(_table(), []):
                out[(item["pk"]["S"], item["sk"]["S"])] = _numbers(item)
            request = page.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2 ** attempt, 1.0))  # throttled: back off, retry the rest
        else:
            raise RuntimeError("DynamoDB kept refusing to return counter items; retry later")
    return out


# --- adding up the outbox stream ------------------------------------------------------------------
# A batch of stream records is added in chunks; each chunk is one transaction: one ADD per counter
# item it touches plus a checkpoint item keyed by its first record ("ckpt#<eventID>", holding the
# sequence number of its last record). A redelivered batch starts at the same record (Lambda
# retries a batch from where it failed), finds the checkpoint and skips what was counted: exactly
# once per stream record, however often a batch comes back.

TRANSACTION_ITEMS = 100
CHECKPOINT_TTL_S = 3 * 24 * 3600  # a stream record lives 24 h: no retry comes later than that


@dataclass(frozen=True)
class StreamCounts:
    event_id: str  # the stream record's eventID
    sequence: int  # its SequenceNumber (increasing within the shard a batch comes from)
    counters: list  # the outbox item's counter deltas
    at: str = ""  # when the change was committed (ISO)


class CountingStopped(Exception):
    """A chunk could not be written: the retry must start at `record` (nothing from it on counted)."""

    def __init__(self, record: StreamCounts):
        super().__init__(f"counting stopped at stream record {record.sequence}")
        self.record = record


def add_from_stream(records: list[StreamCounts], *, now_epoch: int) -> tuple[int, int]:
    """Add the records' counter deltas exactly once. Returns (records added now, records found
    counted already). Raises CountingStopped naming the first record not counted."""
    from leadflow.domain.followups import summed

    added = skipped = 0
    i = 0
    while i < len(records):
        done = _checkpoint(records[i].event_id)
        if done is not None:
            j = i
            while j < len(records) and records[j].sequence <= done:
                j += 1
            j = max(j, i + 1)
            skipped += j - i
            i = j
            continue
        chunk = _chunk(records, i)
        totals = summed(r.counters for r in chunk)
        try:
            _write_chunk(chunk[0].event_id, chunk[-1].sequence, totals, now_epoch)
        except Exception as exc:  # throttled, cancelled, timed out: this chunk and the rest come again
            raise CountingStopped(chunk[0]) from exc
        added += len(chunk)
        i += len(chunk)
        _mark_counted(max(r.at for r in chunk))
    return added, skipped


AS_OF_KEY = {"pk": {"S": "meta"}, "sk": {"S": "counted"}}


def _mark_counted(at: str) -> None:
    """Remember the newest change counted (only forwards; one write per chunk, not per lead)."""
    if not at:
        return
    try:
        client("dynamodb").update_item(TableName=_table(), Key=AS_OF_KEY, UpdateExpression="SET as_of = :at",
                                       ConditionExpression="attribute_not_exists(as_of) OR as_of < :at",
                                       ExpressionAttributeValues={":at": {"S": at}})
    except client("dynamodb").exceptions.ConditionalCheckFailedException:
        pass  # a later change was counted already


def counted_as_of() -> str | None:
    """When the newest change the counters include was committed (None: nothing counted yet)."""
    item = client("dynamodb").get_item(TableName=_table(), Key=AS_OF_KEY).get("Item")
    return item["as_of"]["S"] if item else None


def _chunk(records: list[StreamCounts], start: int) -> list[StreamCounts]:
    """Records from `start` whose counter items fit one transaction beside the checkpoint."""
    keys: set[tuple[str, str]] = set()
    end = start
    while end < len(records):
        more = keys | {(pk, sk) for pk, sk, _ in records[end].counters}
        if len(more) > TRANSACTION_ITEMS - 1 and end > start:
            break
        keys = more
        end += 1
    return records[start:end]


def _checkpoint(event_id: str) -> int | None:
    item = client("dynamodb").get_item(TableName=_table(), Key={"pk": {"S": f"ckpt#{event_id}"}, "sk": {"S": "-"}},
                                       ConsistentRead=True).get("Item")
    return int(item["last_sequence"]["S"]) if item else None


def _write_chunk(first_event_id: str, last_sequence: int, totals: dict[Key, dict[str, int]], now_epoch: int) -> None:
    items: list[dict[str, Any]] = [{"Put": {
        "TableName": _table(), "ConditionExpression": "attribute_not_exists(pk)",
        "Item": {"pk": {"S": f"ckpt#{first_event_id}"}, "sk": {"S": "-"},
                 "last_sequence": {"S": str(last_sequence)}, "expires_at": {"N": str(now_epoch + CHECKPOINT_TTL_S)}},
    }}]
    for (pk, sk), increments in sorted(totals.items()):
        names = {f"#a{n}": name for n, name in enumerate(sorted(increments))}
        values = {f":v{n}": {"N": str(increments[name])} for n, name in enumerate(sorted(increments))}
        items.append({"Update": {
            "TableName": _table(), "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD " + ", ".join(f"#a{n} :v{n}" for n in range(len(names))),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        }})
    # the token makes an SDK retry of a transaction that did commit a success, not a cancellation
    # (the same records give the same token and the same request)
    token = hashlib.sha256(f"{first_event_id}:{last_sequence}".encode()).hexdigest()[:36]
    client("dynamodb").transact_write_items(TransactItems=items, ClientRequestToken=token)


# --- campaign costs ------------------------------------------------------------------------------
# pk "cost#<YYYY-MM>", sk "<campaign>": the amount in force (cents, currency, version).
# pk "costlog#<campaign>", sk "<YYYY-MM>#<recorded at>#<version>": every change, append-only.

def cost_key(period: str) -> str:
    return f"cost#{period}"


def costs_in(periods: Iterable[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(period, campaign): cost} for the periods: one Query per period."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for period in periods:
        for item in _query(cost_key(period)):
            out[(period, item["sk"]["S"])] = _cost(item)
    return out


def _cost(item: dict[str, Any]) -> dict[str, Any]:
    return {"campaign": item.get("campaign", item["sk"])["S"], "period": item["period"]["S"],
            "amount_cents": int(item["amount_cents"]["N"]), "currency": item["currency"]["S"],
            "version": int(item["version"]["N"]), "recorded_at": item["recorded_at"]["S"],
            "recorded_by": item["recorded_by"]["S"],
            "previous_amount_cents": int(item["previous_amount_cents"]["N"]) if "previous_amount_cents" in item
            else None,
            "previous_currency": item["previous_currency"]["S"] if "previous_currency" in item else None}


def get_cost(period: str, campaign: str) -> dict[str, Any] | None:
    item = client("dynamodb").get_item(TableName=_table(), Key={"pk": {"S": cost_key(period)},
                                                                "sk": {"S": campaign}},
                                       ConsistentRead=True).get("Item")
    return _cost(item) if item else None


def put_cost(*, period: str, campaign: str, amount_cents: int, currency: str, recorded_at: str,
             recorded_by: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """Replace the cost of campaign+period if it is still as read (`previous`), and log the change."""
    version = (previous["version"] if previous else 0) + 1
    item: dict[str, Any] = {
        "pk": {"S": cost_key(period)}, "sk": {"S": campaign}, "campaign": {"S": campaign},
        "period": {"S": period}, "amount_cents": {"N": str(amount_cents)}, "currency": {"S": currency},
        "version": {"N": str(version)}, "recorded_at": {"S": recorded_at}, "recorded_by": {"S": recorded_by},
    }
    if previous:
        item["previous_amount_cents"] = {"N": str(previous["amount_cents"])}
        item["previous_currency"] = {"S": previous["currency"]}
        condition = {"ConditionExpression": "version = :v",
                     "ExpressionAttributeValues": {":v": {"N": str(previous["version"])}}}
    else:
        condition = {"ConditionExpression": "attribute_not_exists(pk)"}
    log = {**{k: v for k, v in item.items() if k not in ("pk", "sk")},
           "pk": {"S": f"costlog#{campaign}"}, "sk": {"S": f"{period}#{recorded_at}#{version:06d}"}}
    try:
        client("dynamodb").transact_write_items(TransactItems=[
            {"Put": {"TableName": _table(), "Item": item, **condition}},
            {"Put": {"TableName": _table(), "Item": log, "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    except client("dynamodb").exceptions.TransactionCanceledException as exc:
        raise ConcurrentUpdate(f"the cost of {campaign} in {period} changed meanwhile; retry") from exc
    return _cost(item)


def cost_changes(campaign: str, period: str | None = None) -> list[dict[str, Any]]:
    """The recorded changes of a campaign's cost, oldest first (optionally of one period)."""
    kwargs: dict[str, Any] = {"TableName": _table(), "ConsistentRead": True}
    values = {":pk": {"S": f"costlog#{campaign}"}}
    if period:
        kwargs["KeyConditionExpression"] = "pk = :pk AND begins_with(sk, :p)"
        values[":p"] = {"S": f"{period}#"}
    else:
        kwargs["KeyConditionExpression"] = "pk = :pk"
    kwargs["ExpressionAttributeValues"] = values
    out = []
    while True:
        page = client("dynamodb").query(**kwargs)
        out += [_cost(item) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- batch reads for `leadflow metrics reconcile` (never on a request path) ----------------------

def scan_counter_items(is_counter_key) -> dict[Key, dict[str, int]]:
    """Every counter item of the MetricsTable whose pk passes `is_counter_key`."""
    out: dict[Key, dict[str, int]] = {}
    kwargs: dict[str, Any] = {"TableName": _table(), "ConsistentRead": True}
    while True:
        page = client("dynamodb").scan(**kwargs)
        for item in page["Items"]:
            pk = item["pk"]["S"]
            if is_counter_key(pk):
                out[(pk, item["sk"]["S"])] = _numbers(item)
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scan_stage_history() -> Iterator[HistoryModel]:
    """Every stage change ever recorded (all leads, unordered)."""
    return HistoryModel.scan(HistoryModel.kind == "stage")


def leads_by_id(lead_ids: Iterable[str]) -> dict[str, LeadModel]:
    """The lead items that still exist (erased ones are absent)."""
    return {lead.lead_id: lead for lead in LeadModel.batch_get(list(dict.fromkeys(lead_ids)))}
