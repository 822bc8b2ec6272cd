"""Outbox stream records as the two stream functions read them (ids, counters, effects only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def outbox_items(event: dict[str, Any], attribute: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """(record, the decoded JSON attribute) of each inserted outbox item that has `attribute`.
    The event source mapping's filter already passes only those; this keeps a handler correct
    when a record without it arrives anyway."""
    for record in event.get("Records") or []:
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if record.get("eventName") == "INSERT" and "S" in image.get(attribute, {}):
            yield record, json.loads(image[attribute]["S"])


def change_id(record: dict[str, Any]) -> str:
    """The committed change an outbox record belongs to: "<lead id>/<change>"."""
    keys = record["dynamodb"]["Keys"]
    return f"{keys['lead_id']['S']}/{keys['change']['S']}"


def failed_from(record: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """ReportBatchItemFailures for a stream: Lambda retries from this record on."""
    return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
