"""Tiny Lambda handlers the in-process local-stack tests put in place of the real ones
(``LocalStack(handlers={...})``), so the stack's plumbing is tested on its own."""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict
from typing import Any

CALLS: dict[str, list[Any]] = defaultdict(list)
_LOCK = threading.Lock()
_RAISED: set[str] = set()
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _record(name: str, value: Any) -> None:
    with _LOCK:
        CALLS[name].append(value)


def calls(name: str) -> list[Any]:
    with _LOCK:
        return list(CALLS[name])


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """HTTP: answers with the event it got and what the context said."""
    _record("echo", event)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-function": context.function_name},
        "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
        "body": json.dumps({
            "event": event,
            "context": {
                "function_name": context.function_name,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "invoked_function_arn": context.invoked_function_arn,
                "aws_request_id": context.aws_request_id,
                "remaining_ms": context.get_remaining_time_in_millis(),
            },
        }),
    }


def track(event: dict[str, Any], context: Any) -> Any:
    """HTTP, one function behind three routes: binary, plain dict, crash."""
    route = event["routeKey"]
    if route == "GET /t/o/{token}":
        return {"statusCode": 200, "headers": {"content-type": "image/gif"},
                "body": base64.b64encode(GIF).decode(), "isBase64Encoded": True}
    if route == "GET /t/c/{token}":
        return {"token": event["pathParameters"]["token"]}  # no statusCode: 200 JSON
    raise RuntimeError("boom")  # POST /events


def intake(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS with ReportBatchItemFailures: 'poison*' always fails, 'raise-once' crashes the batch once."""
    for record in event["Records"]:
        _record("intake", {"body": record["body"], "record": record,
                           "count": int(record["attributes"]["ApproximateReceiveCount"])})
    failures = []
    for record in event["Records"]:
        body = record["body"]
        if body == "raise-once":
            with _LOCK:
                first = body not in _RAISED
                _RAISED.add(body)
            if first:
                raise RuntimeError("crash the whole batch once")
        if body.startswith("poison"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def record_only(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Schedules and unused queue consumers: remember the call."""
    _record(context.function_name, event)
    return {"ok": True, "function": context.function_name}
