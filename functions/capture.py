"""POST /leads: web-form capture. Validates the shape, stores the lead, answers 202."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.logging import correlation_paths
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from functions.common import domain_error_response, error_response, json_response, logger, tracer
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

_origins = get_settings().allowed_origins
app = APIGatewayHttpResolver(
    cors=CORSConfig(allow_origin=_origins[0], extra_origins=list(_origins[1:]),
                    allow_headers=["Content-Type", "Idempotency-Key"], max_age=600) if _origins else None,
)


@app.exception_handler(DomainError)
def _domain_error(exc: DomainError):
    return domain_error_response(exc)


@app.exception_handler(BodyError)
def _body_error(exc: BodyError):
    return error_response(exc.status, exc.errors(),
                          "submission too large" if exc.status == 413 else "body could not be read")


@app.exception_handler([ClientError, BotoCoreError, PynamoDBException])
def _aws_unavailable(exc: Exception):
    """AWS refused or timed out (throttling, an outage): nothing half-written (one transaction),
    and a form sent again finds what did get stored. Say so, without internal text."""
    logger.warning("capture could not reach AWS", extra={"error": type(exc).__name__})
    return error_response(503, [{"field": "body", "rule": "temporarily_unavailable",
                                 "message": "the submission could not be stored just now; send it again"}],
                          "temporarily unavailable, send the form again", headers={"Retry-After": "2"})


@app.post("/leads")
@tracer.capture_method
def post_lead():
    event = app.current_event
    content_type = (event.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    data = _parse_body(body_text(event.raw_event, MAX_BODY_BYTES), content_type)
    if any(str(data.get(f) or "").strip() for f in HONEYPOT_FIELDS):
        logger.info("honeypot filled: dropped")
        return _answer(new_id(), data.get(REDIRECT_FIELD))
    redirect = data.pop(REDIRECT_FIELD, None)
    if redirect and not safe_location(redirect):  # it would become a Location header
        return error_response(422, [{"field": REDIRECT_FIELD, "rule": "url",
                                     "message": "must be an absolute URL without control characters, "
                                                "spaces or backslashes"}],
                              "redirectTo is not a usable URL")
    if redirect and not _allowed_redirect(redirect):
        return error_response(422, [{"field": REDIRECT_FIELD, "rule": "allowed_origin",
                                     "message": "the thank-you URL must be on a configured site"}],
                              "redirectTo is not on an allowed origin")
    header_key = event.headers.get("idempotency-key")
    if header_key and "idempotencyKey" not in data:
        data["idempotencyKey"] = header_key
    try:
        submission = parse_submission(data)
    except InvalidSubmission as exc:
        errors = [e.as_dict() for e in exc.errors]
        return error_response(422, errors, f"invalid submission: {errors[0]['field']} {errors[0]['message']}")
    result = capture_lead(submission)
    logger.info("lead captured", extra={"lead_id": result.lead_id, "new_lead": result.created})
    return _answer(result.lead_id, redirect)


def _answer(lead_id: str, redirect: str | None):
    if redirect and _allowed_redirect(redirect):  # plain HTML forms: back to the site's thank-you page
        return Response(status_code=303, headers={"Location": redirect}, body="")
    return json_response(202, {"id": lead_id})


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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
