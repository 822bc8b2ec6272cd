"""Shared Lambda plumbing: one logger and tracer set-up, and the one mapping of domain errors
to HTTP answers used by every HTTP function.

No custom CloudWatch metrics: each costs $0.30 a month (10 ColdStart metrics and 7 counts were
$5.10 of a $1 fixed budget). Counts are log fields (CloudWatch Logs Insights); cold starts show
as Lambda's Init Duration and the logger's `cold_start` field; the funnel is in the controlling
counters; failures are alarmed on AWS's own metrics (template.yaml, docs/operations.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer

from leadflow.domain.errors import Conflict, DomainError, Forbidden, NotFound

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

logger = Logger()  # structured JSON; log ids, never emails or phone numbers
# Every outside call is an AWS call through botocore (PynamoDB's too): patching all that X-Ray
# supports imported sqlite3 and others at every cold start and traced DynamoDB calls twice.
tracer = Tracer(patch_modules=("botocore",))


def scheduled_handler(job: Callable[..., dict], name: str, *,
                      reserve_seconds: float | None = None) -> Callable[[dict, Any], dict]:
    """A Lambda handler for an EventBridge schedule: run the job, log its summary (ids and
    counts only), return it. With `reserve_seconds` the job gets `deadline` (time.monotonic()):
    when to stop starting new work, the invocation's remaining time less that reserve."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def handler(event: dict, context: Any) -> dict:
        if reserve_seconds is None:
            summary = job()
        else:
            remaining = context.get_remaining_time_in_millis() / 1000
            summary = job(deadline=time.monotonic() + max(0.0, remaining - reserve_seconds))
        logger.info(name, extra={"summary": summary})
        return summary

    return handler


def sqs_batch_handler(record_handler: Callable[[Any], None]) -> Callable[[dict, Any], dict]:
    """A Lambda handler for an SQS batch: each message on its own, failures reported per
    message (ReportBatchItemFailures), so one poison message never blocks the batch."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def handler(event: dict, context: Any) -> dict:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)

    return handler

_STATUS = {Conflict: 409, NotFound: 404, Forbidden: 403}


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    # imported here: only the track function answers with it (and imports it itself), so the
    # other functions do not load Powertools' resolvers at their cold start
    from aws_lambda_powertools.event_handler import Response, content_types

    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps(body), headers=headers or {})


def error_body(errors: list[dict[str, str]], message: str) -> dict[str, Any]:
    """Every HTTP error answer: a message and the broken rules, each naming its field."""
    return {"message": message, "errors": errors}


def error_response(status: int, errors: list[dict[str, str]], message: str,
                   headers: dict[str, str] | None = None) -> Response:
    return json_response(status, error_body(errors, message), headers)


def domain_error(exc: DomainError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of a domain error (the one mapping)."""
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 422)
    return status, error_body([{"field": exc.field or "body", "rule": exc.code, "message": exc.message}],
                              exc.message)


def domain_error_response(exc: DomainError) -> Response:
    return json_response(*domain_error(exc))
