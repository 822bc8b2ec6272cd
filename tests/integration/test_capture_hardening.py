"""The public capture endpoint under bots, retries, double clicks and plain HTML forms."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlencode

import boto3

from tests.helpers import LambdaContext, http_event

FORM = {"firstName": "Lena", "lastName": "Vogel", "email": "lena.vogel@vogel-maschinenbau.de",
        "company": "Vogel Maschinenbau", "country": "DE", "formId": "whitepaper"}


def post(body=None, **kw):
    from functions.capture import handler

    return handler(http_event("POST", "/leads", body=body, **kw), LambdaContext())


def stored_leads() -> int:
    from leadflow.store.models import LeadModel

    return sum(1 for _ in LeadModel.scan())  # test-only count; no request path scans


def test_filled_honeypot_is_answered_like_success_and_stores_nothing(aws):
    response = post({**FORM, "honeypot": "http://spam.example"})
    assert response["statusCode"] == 202 and json.loads(response["body"])["id"]
    assert stored_leads() == 0


def test_body_over_16_kb_is_413(aws):
    response = post({**FORM, "message": "x" * 17_000})
    assert response["statusCode"] == 413
    assert json.loads(response["body"])["errors"][0]["rule"] == "max_size"
    assert stored_leads() == 0


def test_line_breaks_in_header_fields_are_422(aws):
    for field in ("email", "firstName", "lastName", "company"):
        response = post({**FORM, field: "x\r\nBcc: victim@example.net"})
        assert response["statusCode"] == 422, field
        assert json.loads(response["body"])["errors"][0] == {
            "field": field, "rule": "no_line_breaks", "message": "must not contain line breaks"}


def test_plain_html_form_posts_are_accepted_and_redirected_to_the_thank_you_page(aws, monkeypatch):
    body = urlencode({**FORM, "interests": "Lager", "redirectTo": "https://www.example.com/danke"})
    response = post(raw_body=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == "https://www.example.com/danke"
    assert stored_leads() == 1


def test_thank_you_redirect_to_a_foreign_site_is_refused(aws):
    body = urlencode({**FORM, "redirectTo": "https://evil.example.net/phish"})
    response = post(raw_body=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["errors"][0]["field"] == "redirectTo"


def test_cors_preflight_answers_configured_origins_only(aws):
    from functions.capture import handler

    def preflight(origin: str) -> dict:
        return handler(http_event("OPTIONS", "/leads", headers={
            "origin": origin, "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"}), LambdaContext())

    allowed = preflight("https://www.example.com")
    assert allowed["headers"].get("Access-Control-Allow-Origin") == "https://www.example.com"
    foreign = preflight("https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in foreign.get("headers", {})


def test_answers_to_an_allowed_origin_carry_its_cors_headers(aws):
    allowed = post(FORM, headers={"origin": "https://www.example.com"})
    assert allowed["statusCode"] == 202
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://www.example.com"
    refused = post({**FORM, "country": "Germany"}, headers={"origin": "https://www.example.com"})
    assert refused["statusCode"] == 422 and refused["headers"]["Access-Control-Allow-Origin"]
    foreign = post(FORM, headers={"origin": "https://evil.example.net"})
    assert foreign["statusCode"] == 202 and "Access-Control-Allow-Origin" not in foreign["headers"]


def test_double_click_gives_one_lead_and_the_same_answer(aws):
    first, second = post(FORM), post(FORM)
    assert json.loads(first["body"]) == json.loads(second["body"])
    assert stored_leads() == 1
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url("IntakeQueue"), MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1


def test_ten_concurrent_captures_of_one_email_make_one_lead(aws_server):
    from leadflow.domain.submission import parse_submission
    from leadflow.services.capture import capture_lead

    ids: list[str] = []
    barrier = threading.Barrier(10)

    def submit(i: int) -> None:
        barrier.wait()
        ids.append(capture_lead(parse_submission({**FORM, "message": f"attempt {i}"})).lead_id)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 10 and len(set(ids)) == 1
    assert stored_leads() == 1


def test_a_throttled_store_answers_503_send_again_and_nothing_is_half_written(aws, monkeypatch):
    """AWS refusing the write (throttling beyond the SDK's retries) is not the sender's fault and
    not a crash: 503 with Retry-After and no internal text; the form sent again is stored once."""
    import botocore.client
    from botocore.exceptions import ClientError

    from functions.capture import handler
    from leadflow.store.models import LeadModel
    from tests.helpers import LambdaContext, http_event

    original = botocore.client.BaseClient._make_api_call
    refused = []

    def throttled(client, operation, params):
        if operation == "TransactWriteItems" and not refused:
            refused.append(operation)
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", throttled)
    body = {"firstName": "Ida", "lastName": "Kranz", "email": "ida.kranz@kranz-logistik.de", "country": "DE"}
    first = handler(http_event("POST", "/leads", body=body), LambdaContext())
    assert first["statusCode"] == 503 and first["headers"]["Retry-After"] == "2"
    assert "Rate exceeded" not in first["body"] and "Throttling" not in first["body"]
    assert json.loads(first["body"])["errors"][0]["rule"] == "temporarily_unavailable"
    assert list(LeadModel.scan()) == []
    again = handler(http_event("POST", "/leads", body=body), LambdaContext())
    assert again["statusCode"] == 202 and len(list(LeadModel.scan())) == 1
