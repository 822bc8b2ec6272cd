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

from pynamodb.expressions.operand import Path

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
# A batch of stream records is added up in memory, and each counter key is written ONCE per batch:
# 1. a checkpoint item, keyed by the batch's first record ("ckpt#<eventID>"), takes the totals and
#    the sequence number of the last record they include (a conditional put: only the first
#    delivery writes it);
# 2. the totals are applied in groups of up to 98 keys, each group one transaction with an update
#    of the checkpoint that marks the group done (conditional on it not being done).
# A batch Lambda delivers again starts at the same record: it finds the checkpoint, applies the
# groups not yet done from the totals stored there, and skips the records they include. Exactly
# once per stream record, however often a batch comes back, and no counter item is written more
# than once per batch: the hottest items (this period's "all" counters) take one write per batch.

GROUP_KEYS = 98  # + the checkpoint update: 99 of the 100 items a transaction may hold
MAX_BATCH_KEYS = 2000  # totals of ~100 KB per checkpoint item (400 KB is DynamoDB's limit)
CHECKPOINT_TTL_S = 3 * 24 * 3600  # a stream record lives 24 h: no retry comes later than that


@dataclass(frozen=True)
class StreamCounts:
    event_id: str  # the stream record's eventID
    sequence: int  # its SequenceNumber (increasing within the shard a batch comes from)
    counters: list  # the outbox item's counter deltas
    at: str = ""  # when the change was committed (ISO)


class CountingStopped(Exception):
    """Counting could not finish: the retry must start at `record` (the first not fully counted)."""

    def __init__(self, record: StreamCounts):
        super().__init__(f"counting stopped at stream record {record.sequence}")
        self.record = record


def add_from_stream(records: list[StreamCounts], *, now_epoch: int) -> tuple[int, int]:
    """Add the records' counter deltas exactly once. Returns (records added now, records found
    counted already). Raises CountingStopped naming the first record not fully counted."""
    from leadflow.domain.followups import summed

    added = skipped = 0
    i = 0
    while i < len(records):
        first = records[i]
        try:
            checkpoint = _checkpoint(first.event_id)
            if checkpoint is None:
                part = _part(records, i)
                totals = summed(r.counters for r in part)
                checkpoint = _put_checkpoint(first.event_id, part[-1].sequence, totals, now_epoch)
                fresh = True
            else:
                fresh = False
            _apply_groups(first.event_id, checkpoint)
        except Exception as exc:  # throttled, cancelled, timed out: from this record on, again
            raise CountingStopped(first) from exc
        j = i
        while j < len(records) and records[j].sequence <= checkpoint["last"]:
            j += 1
        j = max(j, i + 1)
        if fresh:
            added += j - i
        else:
            skipped += j - i
        _mark_counted(max(r.at for r in records[i:j]))
        i = j
    return added, skipped


def _part(records: list[StreamCounts], start: int) -> list[StreamCounts]:
    """Records from `start` whose totals fit one checkpoint item."""
    keys: set[tuple[str, str]] = set()
    end = start
    while end < len(records):
        keys |= {(pk, sk) for pk, sk, _ in records[end].counters}
        if len(keys) > MAX_BATCH_KEYS and end > start:
            break
        end += 1
    return records[start:end]


def _checkpoint_key(event_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ckpt#{event_id}"}, "sk": {"S": "-"}}


def _groups(totals: dict[Key, dict[str, int]]) -> list[list[tuple[Key, dict[str, int]]]]:
    entries = sorted(totals.items())
    return [entries[n:n + GROUP_KEYS] for n in range(0, len(entries), GROUP_KEYS)] or [[]]


def _checkpoint(event_id: str) -> dict[str, Any] | None:
    import json

    item = client("dynamodb").get_item(TableName=_table(), Key=_checkpoint_key(event_id),
                                       ConsistentRead=True).get("Item")
    if not item:
        return None
    totals = {(pk, sk): v for pk, sk, v in json.loads(item["totals"]["S"])}
    return {"last": int(item["last_sequence"]["S"]), "totals": totals,
            "done": set(item.get("groups_done", {}).get("SS", []))}


def _put_checkpoint(event_id: str, last_sequence: int, totals: dict[Key, dict[str, int]],
                    now_epoch: int) -> dict[str, Any]:
    import json

    item = {**_checkpoint_key(event_id), "last_sequence": {"S": str(last_sequence)},
            "totals": {"S": json.dumps([[pk, sk, v] for (pk, sk), v in sorted(totals.items())])},
            "expires_at": {"N": str(now_epoch + CHECKPOINT_TTL_S)}}
    try:
        client("dynamodb").put_item(TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(pk)")
    except client("dynamodb").exceptions.ConditionalCheckFailedException:
        found = _checkpoint(event_id)  # written by an earlier attempt whose answer was lost
        if found is None:
            raise RuntimeError(f"checkpoint ckpt#{event_id} neither written nor readable; retry") from None
        return found
    return {"last": last_sequence, "totals": totals, "done": set()}


def _apply_groups(event_id: str, checkpoint: dict[str, Any]) -> None:
    for n, group in enumerate(_groups(checkpoint["totals"])):
        if str(n) in checkpoint["done"]:
            continue
        items: list[dict[str, Any]] = [{"Update": {
            "TableName": _table(), "Key": _checkpoint_key(event_id),
            "UpdateExpression": "ADD groups_done :g",
            "ConditionExpression": "attribute_exists(pk) AND NOT contains(groups_done, :n)",
            "ExpressionAttributeValues": {":g": {"SS": [str(n)]}, ":n": {"S": str(n)}},
        }}]
        for (pk, sk), increments in group:
            names = {f"#a{k}": name for k, name in enumerate(sorted(increments))}
            values = {f":v{k}": {"N": str(increments[name])} for k, name in enumerate(sorted(increments))}
            items.append({"Update": {
                "TableName": _table(), "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "UpdateExpression": "ADD " + ", ".join(f"#a{k} :v{k}" for k in range(len(names))),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            }})
        # the same group of the same checkpoint is the same request: an SDK retry of a committed
        # transaction is answered with success
        token = hashlib.sha256(f"{event_id}:{n}".encode()).hexdigest()[:36]
        try:
            client("dynamodb").transact_write_items(TransactItems=items, ClientRequestToken=token)
        except client("dynamodb").exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                continue  # done by an earlier attempt
            raise
        checkpoint["done"].add(str(n))


AS_OF_KEY = {"pk": {"S": "meta"}, "sk": {"S": "counted"}}


def _mark_counted(at: str) -> None:
    """Remember the newest change counted (only forwards; one write per batch, not per lead)."""
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


# --- campaign costs ------------------------------------------------------------------------------
# pk "cost#<YYYY-MM>", sk "<campaign>": the amount in force (cents, currency, version).
# pk "costlog#<campaign>", sk "<YYYY-MM>#<recorded at>#<version>": every change, append-only.

def add_to_counter(pk: str, sk: str, increments: dict[str, int]) -> None:
    """Add to one counter item directly (the historical import, which has no outbox)."""
    CounterModel(pk, sk).update(actions=[Path(name).add(amount) for name, amount in increments.items()])


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
