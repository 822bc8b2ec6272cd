"""Shared Lambda plumbing: one logger, tracer and metrics set-up, and the one
mapping of domain errors to HTTP answers used by every HTTP function."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response, content_types

from leadflow.domain.errors import Conflict, DomainError, Forbidden, NotFound

logger = Logger()  # structured JSON; log ids, never emails or phone numbers
tracer = Tracer()
metrics = Metrics()

_STATUS = {Conflict: 409, NotFound: 404, Forbidden: 403}


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps(body), headers=headers or {})


def error_response(status: int, errors: list[dict[str, str]], message: str) -> Response:
    return json_response(status, {"message": message, "errors": errors})


def domain_error_response(exc: DomainError) -> Response:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 422)
    return error_response(status, [{"field": exc.field or "body", "rule": exc.code, "message": exc.message}],
                          exc.message)
