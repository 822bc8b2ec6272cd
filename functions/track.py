"""Public endpoints for mail clients and our web sites: open pixel, click redirect,
engagement events, DOI confirmation, unsubscribe; and SES bounce/complaint notifications."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from pydantic import ValidationError

from functions.common import domain_error_response, error_response, json_response, logger, tracer
from functions.http_body import BodyError, body_text, json_body
from leadflow.adapters import clock
from leadflow.domain.consent import TokenError
from leadflow.domain.errors import ConcurrentUpdate, DomainError
from leadflow.domain.submission import field_errors
from leadflow.services import engagement, nurture
from leadflow.services.erasure import Erased

app = APIGatewayHttpResolver()
MAX_FORM_BYTES = 4096  # a link page's form: the token, or RFC 8058's one-click field
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _page(status: int, kind: str, language: str | None = None, token: str = "") -> Response:
    """A page of a mail link, in the lead's language (else the browser's)."""
    body = nurture.link_page(kind, language or _browser_language(), token)
    return Response(status_code=status, content_type=content_types.TEXT_HTML + "; charset=utf-8", body=body,
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                             "X-Robots-Tag": "noindex"})


def _browser_language() -> str | None:
    accept = app.current_event.headers.get("accept-language") or ""
    return accept.split(",")[0].split(";")[0].strip() or None


def _link_token() -> str:
    """The token of a link page: in the query (the link; the form posts to the same URL) or the form body."""
    token = app.current_event.get_query_string_value("token")
    if token:
        return token
    try:
        form = parse_qs(_form_text(), max_num_fields=5)
    except ValueError:  # more fields than a link page ever sends
        return ""
    return (form.get("token") or [""])[0]


def _form_text() -> str:
    return body_text(app.current_event.raw_event, MAX_FORM_BYTES)


@app.exception_handler(DomainError)
def _domain_error(exc: DomainError):
    return domain_error_response(exc)


@app.exception_handler(BodyError)
def _body_error(exc: BodyError):
    return error_response(exc.status, exc.errors(), "too large" if exc.status == 413 else "body could not be read")


@app.exception_handler(Erased)
def _erased(exc: Erased):
    """A DOI or unsubscribe link of an erased person: a neutral page (nothing about the person),
    nothing changed, nothing recorded."""
    return _page(200, "link_inactive")


@app.get("/t/o/<token>")
def open_pixel(token: str):
    try:
        lead_id, step = nurture.open_token(token)
        engagement.enqueue(lead_id, "email_open", clock.now(), {"step": step})
    except (TokenError, Erased):
        pass  # a pixel never tells anything; a bad token (or an erased person's) is just not counted
    return Response(status_code=200, content_type="image/gif", body=PIXEL,
                    headers={"Cache-Control": "no-store"})


@app.get("/t/c/<token>")
def click(token: str):
    target = app.current_event.get_query_string_value("u") or ""
    location, lead_id, step = nurture.click_target(token, target)
    if lead_id:
        engagement.enqueue(lead_id, "email_click", clock.now(), {"step": step, "url": target})
    if location is None:  # refused and no fallback page configured: no open redirect
        return _page(403, "click_refused")
    return Response(status_code=302, headers={"Location": location, "Cache-Control": "no-store"}, body="")


@app.post("/events")
def post_event():
    from leadflow.domain.tracking import MAX_EVENT_BYTES, parse_event

    data = json_body(app.current_event.raw_event, MAX_EVENT_BYTES)
    try:
        event = parse_event(data, clock.now())
    except ValidationError as exc:
        errors = [e.as_dict() for e in field_errors(exc)]
        return error_response(422, errors, f"invalid event: {errors[0]['field']} {errors[0]['message']}")
    where = engagement.record_site_event(event)
    return json_response(202, {"accepted": True, "attachedTo": where})


# Mail scanners (Safe Links and others) follow GET links: a GET only shows a page whose button
# POSTs; only the POST changes anything. RFC 8058 one-click is a POST as well.
_DOI_PAGES = {"pending": (200, "doi_ask"), "confirmed": (200, "doi_done"), "already_confirmed": (200, "doi_already"),
              "withdrawn": (410, "doi_withdrawn"), "expired": (410, "doi_expired"), "gone": (410, "link_invalid")}


@app.get("/consent/confirm")
def confirm_consent_page():
    token = _link_token()
    try:
        state, language = nurture.doi_state(token)
    except TokenError:
        return _page(400, "link_invalid")
    status, kind = _DOI_PAGES["already_confirmed" if state == "confirmed" else state]
    return _page(status, kind, language, token)


@app.post("/consent/confirm")
def confirm_consent():
    token = _link_token()
    try:
        user_agent = (app.current_event.headers.get("user-agent") or "")[:200]
        state, language = nurture.confirm_consent(token, evidence={"user_agent": user_agent})
    except TokenError:
        return _page(400, "link_invalid")
    except ConcurrentUpdate:  # nothing was stored and the link is unused: the button again, no 5xx
        return _page(409, "doi_again_ask", None, token)
    status, kind = _DOI_PAGES[state]
    return _page(status, kind, language)


@app.get("/unsubscribe")
def unsubscribe_page():
    token = _link_token()
    try:
        lead_id = nurture.unsubscribe_lead(token)
    except TokenError:
        return _page(400, "link_invalid")
    return _page(200, "unsubscribe_ask", nurture.lead_language(lead_id), token)


@app.post("/unsubscribe")
def unsubscribe():
    """The page's button, or the mail client's RFC 8058 `List-Unsubscribe=One-Click`."""
    one_click = "List-Unsubscribe=One-Click" in _form_text()
    token = _link_token()
    try:
        lead_id = nurture.unsubscribe(token, via="list_unsubscribe" if one_click else "unsubscribe_link")
    except TokenError:
        return _page(400, "link_invalid")
    except ConcurrentUpdate:  # not stored, so never "unsubscribed": the button again, no 5xx
        return _page(409, "unsubscribe_again_ask", nurture.lead_language(nurture.unsubscribe_lead(token)), token)
    return _page(200, "unsubscribe_done", nurture.lead_language(lead_id))


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
def handler(event, context):
    if event.get("Records") and event["Records"][0].get("EventSource") == "aws:sns":
        return _ses_notifications(event)
    return app.resolve(event, context)
