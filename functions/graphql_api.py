"""/graphql: Strawberry on the API Gateway event (leadflow.api.app). Built at import so warm
invocations only execute."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from functions.common import logger, tracer
from functions.http_body import BodyError, body_text, json_object
from leadflow.api.app import create_app
from leadflow.settings import get_settings

endpoint = create_app(production=get_settings().is_production)
# A published rule set is the largest legitimate request (about 20 KB today).
MAX_BODY_BYTES = 1024 * 1024


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event, context):
    try:
        event = _readable(event)
    except BodyError as exc:
        return _refused(exc)
    return endpoint(event, context)


def _readable(event: dict[str, Any]) -> dict[str, Any]:
    """A POST body is read the one way (functions.http_body: base64, size, UTF-8, nesting, an
    object) before Strawberry sees it, so no unreadable body reaches a parser that answers 500."""
    if ((event.get("requestContext") or {}).get("http") or {}).get("method") != "POST":
        return event
    text = body_text(event, MAX_BODY_BYTES)
    json_object(text)
    return {**event, "body": text, "isBase64Encoded": False}


def _refused(exc: BodyError) -> dict[str, Any]:
    error = {"message": exc.message, "extensions": {"code": "invalid_input", "field": exc.field, "rule": exc.rule}}
    return {"statusCode": exc.status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"data": None, "errors": [error]}), "isBase64Encoded": False}
