"""POST /leads: web-form capture. Validates the shape, stores the lead, answers 202.

One route and its CORS preflight, answered here in API Gateway's payload 2.0 format rather than by
Powertools' resolver: that package loads the resolvers and event classes of every AWS event source,
about a tenth of a bare `import boto3` at each cold start (docs/benchmarks.md)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.logging import correlation_paths
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from functions.common import domain_error, error_body, logger, tracer
from functions.http_body import BodyError, body_text, json_object
from leadflow.adapters.clock import new_id
from leadflow.domain.errors import DomainError
from leadflow.domain.locations import safe_location
from leadflow.domain.submission import InvalidSubmission, parse_submission
from leadflow.services.capture import capture_lead
from leadflow.settings import get_settings

MAX_BODY_BYTES = 16 * 1024
MAX_FORM_FIELDS = 100
# Hidden form fields a person never fills in; a bot that does is answered as usual and forgotten.
HONEYPOT_FIELDS = ("honeypot", "_gotcha")
REDIRECT_FIELD = "redirectTo"
# What a browser on an allowed origin is told (preflight and answers), as Powertools' CORSConfig said it.
CORS_ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"
CORS_MAX_AGE_S = 600

_origins = get_settings().allowed_origins


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event, context):
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    route = event.get("routeKey")
    if route == "OPTIONS /leads" and _origins:  # a browser's preflight before a cross-origin form post
        return _with_cors(_response(204, "", {"Access-Control-Allow-Methods": "OPTIONS,POST"}), headers)
    if route != "POST /leads":
        return _json(404, {"statusCode": 404, "message": "Not found"})
    try:
        answer = post_lead(event, headers)
    except DomainError as exc:
        answer = _json(*domain_error(exc))
    except BodyError as exc:
        answer = _json(exc.status, error_body(exc.errors(), "submission too large" if exc.status == 413
                                              else "body could not be read"))
    except (ClientError, BotoCoreError, PynamoDBException) as exc:
        answer = _aws_unavailable(exc)
    return _with_cors(answer, headers)


def _aws_unavailable(exc: Exception) -> dict[str, Any]:
    """AWS refused or timed out (throttling, an outage): nothing half-written (one transaction),
    and a form sent again finds what did get stored. Say so, without internal text."""
    logger.warning("capture could not reach AWS", extra={"error": type(exc).__name__})
    answer = _json(503, error_body([{"field": "body", "rule": "temporarily_unavailable",
                                     "message": "the submission could not be stored just now; send it again"}],
                                   "temporarily unavailable, send the form again"))
    answer["headers"]["Retry-After"] = "2"
    return answer


@tracer.capture_method
def post_lead(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    content_type = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    data = _parse_body(body_text(event, MAX_BODY_BYTES), content_type)
    if any(str(data.get(f) or "").strip() for f in HONEYPOT_FIELDS):
        logger.info("honeypot filled: dropped")
        return _answer(new_id(), data.get(REDIRECT_FIELD))
    redirect = data.pop(REDIRECT_FIELD, None)
    if redirect and not safe_location(redirect):  # it would become a Location header
        return _json(422, error_body([{"field": REDIRECT_FIELD, "rule": "url",
                                       "message": "must be an absolute URL without control characters, "
                                                  "spaces or backslashes"}],
                                     "redirectTo is not a usable URL"))
    if redirect and not _allowed_redirect(redirect):
        return _json(422, error_body([{"field": REDIRECT_FIELD, "rule": "allowed_origin",
                                       "message": "the thank-you URL must be on a configured site"}],
                                     "redirectTo is not on an allowed origin"))
    header_key = headers.get("idempotency-key")
    if header_key and "idempotencyKey" not in data:
        data["idempotencyKey"] = header_key
    try:
        submission = parse_submission(data)
    except InvalidSubmission as exc:
        errors = [e.as_dict() for e in exc.errors]
        return _json(422, error_body(errors, f"invalid submission: {errors[0]['field']} {errors[0]['message']}"))
    result = capture_lead(submission)
    logger.info("lead captured", extra={"lead_id": result.lead_id, "new_lead": result.created})
    return _answer(result.lead_id, redirect)


def _answer(lead_id: str, redirect: str | None) -> dict[str, Any]:
    if redirect and _allowed_redirect(redirect):  # plain HTML forms: back to the site's thank-you page
        return _response(303, "", {"Location": redirect})
    return _json(202, {"id": lead_id})


def _allowed_redirect(url: object) -> bool:
    if not safe_location(url):  # CR/LF would inject a header
        return False
    parts = urlsplit(str(url))
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return parts.scheme in ("https", "http") and "@" not in parts.netloc and origin in {
        o.lower().rstrip("/") for o in _origins}


def _parse_body(raw: str, content_type: str) -> dict:
    if content_type == "application/x-www-form-urlencoded":
        if not raw.strip():
            raise BodyError(400, "required", "the body is empty; send the form's fields")
        try:
            fields = parse_qs(raw, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError:
            raise BodyError(400, "max_fields", f"a form may have at most {MAX_FORM_FIELDS} fields") from None
        data: dict = {k: (v if k in ("interests", "interests[]") else v[-1]) for k, v in fields.items()}
        if "interests[]" in data:
            data["interests"] = data.pop("interests[]")
        return data
    return json_object(raw)


def _response(status: int, body: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"statusCode": status, "body": body, "isBase64Encoded": False, "headers": headers, "cookies": []}


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return _response(status, json.dumps(body), {"Content-Type": "application/json"})


def _with_cors(answer: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """CORS headers on the answer when the request comes from an allowed origin (none otherwise)."""
    origin = headers.get("origin")
    if origin and origin in _origins:
        answer["headers"].update({"Access-Control-Allow-Origin": origin,
                                  "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                                  "Access-Control-Max-Age": str(CORS_MAX_AGE_S)})
    return answer
