"""Reading the pre-aggregated funnel counters (written by store.leads in each transition),
and the campaign costs finance records next to them in the MetricsTable.

Request paths only Query one period key or BatchGet known keys: the number of
requests depends on the periods asked for, never on the number of leads. The
Scans at the end are for the `leadflow metrics reconcile` batch command only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
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
