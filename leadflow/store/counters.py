"""Reading the pre-aggregated funnel counters (written by store.leads in each transition)."""

from __future__ import annotations

from leadflow.adapters.aws import client
from leadflow.store.models import CounterModel


def counters_for(pk: str) -> dict[str, dict[str, int]]:
    """All counter items of one period (e.g. "month#2026-11"): {sk: {attribute: value}}.

    Counter attributes are dynamic (exit_<STAGE>, tis_<bucket>), so this reads
    the raw items rather than the model's declared attributes."""
    out: dict[str, dict[str, int]] = {}
    kwargs = {"TableName": CounterModel.Meta.table_name, "KeyConditionExpression": "pk = :pk",
              "ExpressionAttributeValues": {":pk": {"S": pk}}, "ConsistentRead": True}
    while True:
        page = client("dynamodb").query(**kwargs)
        for item in page["Items"]:
            out[item["sk"]["S"]] = {k: int(v["N"]) for k, v in item.items() if "N" in v}
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
