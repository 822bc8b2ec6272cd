"""Builders for Lambda events in exactly the shape AWS delivers them."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl


def http_event(method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None,
               claims: dict[str, str] | None = None, query: str = "", route_path: str | None = None,
               path_parameters: dict[str, str] | None = None, raw_body: str | None = None) -> dict:
    """An API Gateway HTTP API (payload 2.0) event."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if body is not None and raw_body is None:
        raw_body = json.dumps(body)
        headers.setdefault("content-type", "application/json")
    event = {
        "version": "2.0",
        "routeKey": f"{method} {route_path or path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "pytest"},
            "requestId": str(uuid.uuid4()), "routeKey": f"{method} {route_path or path}", "stage": "$default",
            "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": int(time.time() * 1000),
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    if query:
        # API Gateway decodes query parameters (repeated names joined by commas)
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def sqs_event(bodies: list[Any], queue_arn: str = "arn:aws:sqs:eu-central-1:123456789012:q") -> dict:
    records = []
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        records.append({
            "messageId": str(uuid.uuid4()), "receiptHandle": base64.b64encode(uuid.uuid4().bytes).decode(),
            "body": text, "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0",
                                         "SenderId": "local", "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
            "awsRegion": "eu-central-1",
        })
    return {"Records": records}


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# Reps and managers must be in the routing rules (config/routing.yaml as shipped): default to real ones.
TEAM_USERS = {"sales_rep": "anna.becker", "sales_manager": "katrin.vogel"}


def claims(role: str, user: str | None = None) -> dict[str, str]:
    """The claims API Gateway's JWT authorizer passes on: the role is the Cognito group, a list
    claim that API Gateway renders as the string "[role]"."""
    return {"sub": user or TEAM_USERS.get(role) or f"{role}-1", "cognito:groups": f"[{role}]"}


def graphql(handler, query: str, variables: dict | None = None, *, role: str | None = "admin",
            user: str | None = None) -> dict:
    event = http_event("POST", "/graphql", body={"query": query, "variables": variables or {}},
                       claims=claims(role, user) if role else None)
    settle()
    response = handler(event, LambdaContext())
    return json.loads(response["body"])


def sns_event(message: dict) -> dict:
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": {
        "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": "arn:aws:sns:eu-central-1:1:t",
        "Message": json.dumps(message), "Timestamp": "2026-11-22T12:00:00.000Z"}}]}


# ------------------------------------------------------------------ the outbox streams in process
# Lambda runs the stream consumers (CountersFunction, RelayFunction) shortly after a commit. In
# process, `settle` runs them: before a test looks at a queue (any ReceiveMessage) and before each
# GraphQL request, as if the stream lag were shorter than the time to the next request.
_settling = False


def handler_of(stack, function: str):
    """The handler the template names for a function (logical id), imported in this process."""
    import importlib

    module, name = stack.wiring.functions[function].handler.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def invoke_in_process(stack, function: str, event: dict):
    return handler_of(stack, function)(event, LambdaContext())


def settle(stack=None) -> int:
    """Run the stream consumers until every committed change's follow-ups are out; the batches."""
    global _settling
    from infra.streams import drain, readers

    stack = stack or CURRENT_STACK.get("stack")
    if stack is None or _settling:
        return 0
    if not hasattr(stack, "stream_readers"):
        stack.stream_readers = readers(stack, lambda f, e: invoke_in_process(stack, f, e))
    _settling = True
    try:
        return drain(stack.stream_readers)
    finally:
        _settling = False


CURRENT_STACK: dict = {}


def settle_before_receive(**_kwargs) -> None:
    settle()
