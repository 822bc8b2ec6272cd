"""Public endpoints for mail clients and our web sites: open pixel, click redirect,
engagement events, DOI confirmation, unsubscribe; and SES bounce/complaint notifications."""

from __future__ import annotations

import base64
import html
import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from pydantic import ValidationError

from functions.common import domain_error_response, error_response, json_response, logger, metrics, tracer
from leadflow.adapters import clock
from leadflow.domain.consent import TokenAlreadyUsed, TokenError
from leadflow.domain.errors import DomainError
from leadflow.domain.submission import field_errors
from leadflow.services import engagement, nurture

app = APIGatewayHttpResolver()
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _page(status: int, title: str, text: str) -> Response:
    body = (f"<!doctype html><html lang=de><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<body style='font-family:sans-serif;max-width:36em;margin:4em auto'><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(text)}</p></body></html>")
    return Response(status_code=status, content_type=content_types.TEXT_HTML, body=body,
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@app.exception_handler(DomainError)
def _domain_error(exc: DomainError):
    return domain_error_response(exc)


@app.get("/t/o/<token>")
def open_pixel(token: str):
    try:
        lead_id, step = nurture.open_token(token)
        engagement.enqueue(lead_id, "email_open", clock.now(), {"step": step})
    except TokenError:
        pass  # a pixel never tells anything; a bad token is just not counted
    return Response(status_code=200, content_type="image/gif", body=PIXEL,
                    headers={"Cache-Control": "no-store"})


@app.get("/t/c/<token>")
def click(token: str):
    target = app.current_event.get_query_string_value("u") or ""
    try:
        lead_id, step, target = nurture.click_target(token, target)
    except TokenError as exc:
        return error_response(400, [{"field": "token", "rule": exc.code, "message": exc.message}],
                              "this link is not valid")
    except DomainError as exc:  # not on the allow list, or not this link's target: no open redirect
        return error_response(403, [{"field": "u", "rule": "allowed_target", "message": exc.message}],
                              "redirect refused")
    engagement.enqueue(lead_id, "email_click", clock.now(), {"step": step, "url": target})
    return Response(status_code=302, headers={"Location": target, "Cache-Control": "no-store"}, body="")


@app.post("/events")
def post_event():
    from leadflow.domain.tracking import MAX_EVENT_BYTES, parse_event

    raw = app.current_event.decoded_body or ""
    if len(raw.encode()) > MAX_EVENT_BYTES:
        return error_response(413, [{"field": "body", "rule": "max_size",
                                     "message": f"at most {MAX_EVENT_BYTES} bytes"}], "event too large")
    try:
        event = parse_event(json.loads(raw or "null"), clock.now())
    except json.JSONDecodeError as exc:
        return error_response(400, [{"field": "body", "rule": "syntax", "message": f"not valid JSON: {exc.msg}"}],
                              "body could not be read")
    except ValidationError as exc:
        errors = [e.model_dump() for e in field_errors(exc)]
        return error_response(422, errors, f"invalid event: {errors[0]['field']} {errors[0]['message']}")
    where = engagement.record_site_event(event)
    return json_response(202, {"accepted": True, "attachedTo": where})


@app.get("/consent/confirm")
def confirm_consent():
    token = app.current_event.get_query_string_value("token") or ""
    try:
        user_agent = (app.current_event.headers.get("user-agent") or "")[:200]
        nurture.confirm_consent(token, evidence={"user_agent": user_agent})
    except TokenAlreadyUsed:
        return _page(200, "Bereits bestätigt / Already confirmed",
                     "Ihre Anmeldung ist bereits bestätigt. Your subscription is already confirmed.")
    except TokenError as exc:
        return _page(400, "Link ungültig / Link not valid", exc.message)
    return _page(200, "Danke! / Thank you!",
                 "Ihre Anmeldung ist bestätigt. Your subscription is confirmed.")


def _unsubscribe(via: str) -> Response:
    token = app.current_event.get_query_string_value("token") or ""
    try:
        nurture.unsubscribe(token, via=via)
    except TokenError as exc:
        return _page(400, "Link ungültig / Link not valid", exc.message)
    return _page(200, "Abgemeldet / Unsubscribed",
                 "Sie erhalten keine Werbung mehr von uns. You will receive no more marketing from us.")


@app.get("/unsubscribe")
def unsubscribe_link():
    return _unsubscribe("unsubscribe_link")


@app.post("/unsubscribe")
def unsubscribe_one_click():  # RFC 8058: the mail client posts List-Unsubscribe=One-Click
    return _unsubscribe("list_unsubscribe")


def _ses_notifications(event: dict) -> dict:
    """SNS -> SES bounce/complaint: mark the address, stop mail to it."""
    from leadflow.services.addresses import lead_for_address

    handled = 0
    for record in event["Records"]:
        message = json.loads(record["Sns"]["Message"])
        # Configuration-set event publishing says `eventType`; identity notifications `notificationType`.
        kind = message.get("eventType") or message.get("notificationType")
        if kind == "Bounce" and message.get("bounce", {}).get("bounceType") == "Permanent":
            recipients, status = message["bounce"].get("bouncedRecipients", []), "bounced"
        elif kind == "Complaint":
            recipients, status = message["complaint"].get("complainedRecipients", []), "complained"
        else:
            continue
        for recipient in recipients:
            lead_id = lead_for_address(recipient.get("emailAddress", ""))
            if lead_id:
                nurture.mark_address(lead_id, status)
                handled += 1
    logger.info("ses notifications", extra={"handled": handled})
    return {"handled": handled}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    if event.get("Records") and event["Records"][0].get("EventSource") == "aws:sns":
        return _ses_notifications(event)
    return app.resolve(event, context)
