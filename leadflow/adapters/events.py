"""EventBridge: domain events for integrations (CRM, BI). Ids only, never personal data."""

from __future__ import annotations

import json
from typing import Any

from leadflow.adapters.aws import client
from leadflow.settings import get_settings

SOURCE = "leadflow"


def publish(detail_type: str, detail: dict[str, Any]) -> None:
    response = client("events").put_events(Entries=[{
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, default=str),
        "EventBusName": get_settings().event_bus_name,
    }])
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused {detail_type}: {response['Entries']}")


def publish_all(entries: list[tuple[str, dict[str, Any]]]) -> None:
    """Several events, up to 10 a request (PutEvents' limit); raises if any was refused."""
    bus = get_settings().event_bus_name
    for start in range(0, len(entries), 10):
        response = client("events").put_events(Entries=[
            {"Source": SOURCE, "DetailType": kind, "Detail": json.dumps(detail, default=str), "EventBusName": bus}
            for kind, detail in entries[start:start + 10]])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused {response['FailedEntryCount']} event(s)")
