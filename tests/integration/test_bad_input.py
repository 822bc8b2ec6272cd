"""Bad input never 500s: every unreadable body at every public endpoint, and every malformed id
or forged cursor at GraphQL, gets a clear 4xx (or a GraphQL error naming the field), never a 5xx
and never internal error text. CR/LF never reaches a Location header."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

import pytest

from tests.helpers import LambdaContext, claims, http_event
from tests.integration.test_nurturing import track

INTERNAL = ("Traceback", "botocore", "pynamodb", "TransactWrite", "ValidationException", "Exception", "pydantic",
            "Failed to", "Unexpected error")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# name -> (body as API Gateway delivers it, isBase64Encoded)
BODIES = {
    "10,000 nested arrays": ("[" * 10_000 + "]" * 10_000, False),
    "10,000 nested objects": ('{"a":' * 10_000 + "1" + "}" * 10_000, False),
    "3,000 nested arrays (under the size limit)": ("[" * 3_000 + "]" * 3_000, False),
    "1,200 nested objects (under the size limit)": ('{"a":' * 1_200 + "1" + "}" * 1_200, False),
    "deep inside a valid object": ('{"email": ' + "[" * 2_000 + "]" * 2_000 + "}", False),
    "invalid UTF-8": (b64(b'{"firstName": "\xff\xfe"}'), True),
    "base64 that does not decode": ("!!!not base64***", True),
    "no body": (None, False),
    "empty body": ("", False),
    "blank body": ("  \n ", False),
    "JSON null": ("null", False),
    "JSON array": ("[1, 2]", False),
    "JSON string": ('"lead"', False),
    "JSON number": ("12345678901234567890" * 300, False),
    "broken JSON": ('{"email": ', False),
    "lone surrogate": ('{"firstName": "\ud800"}', False),
}

UNREADABLE_AS_FORM = {"10,000 nested arrays", "10,000 nested objects", "invalid UTF-8", "base64 that does not decode",
                      "no body", "empty body", "blank body", "lone surrogate"}
FORM = "application/x-www-form-urlencoded"
# name -> (handler module, method, path, content type, claims)
ENDPOINTS = {
    "POST /leads (JSON)": ("functions.capture", "/leads", "application/json", None),
    "POST /leads (form)": ("functions.capture", "/leads", FORM, None),
    "POST /events": ("functions.track", "/events", "application/json", None),
    "POST /unsubscribe": ("functions.track", "/unsubscribe", FORM, None),
    "POST /consent/confirm": ("functions.track", "/consent/confirm", FORM, None),
    "POST /graphql": ("functions.graphql_api", "/graphql", "application/json", "admin"),
}


def call(module: str, path: str, content_type: str, role: str | None, body: str | None, encoded: bool,
         query: str = "") -> dict:
    import importlib

    handler = importlib.import_module(module).handler
    event = http_event("POST", path, raw_body=body, headers={"content-type": content_type},
                       claims=claims(role) if role else None, query=query)
    event["isBase64Encoded"] = encoded
    try:
        return handler(event, LambdaContext())
    except Exception as exc:  # Lambda would answer 500 with nothing useful
        return {"statusCode": 500, "body": f"{type(exc).__name__}: {exc}", "headers": {}}


def assert_clean(response: dict) -> None:
    assert response["statusCode"] < 500, response
    text = json.dumps(response)
    leaked = [marker for marker in INTERNAL if marker in text]
    assert not leaked, (leaked, response)


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_unreadable_bodies_are_a_clear_4xx_at_every_endpoint(aws, endpoint, body):
    module, path, content_type, role = ENDPOINTS[endpoint]
    raw, encoded = BODIES[body]
    response = call(module, path, content_type, role, raw, encoded)
    assert_clean(response)
    if endpoint in ("POST /unsubscribe", "POST /consent/confirm"):
        assert response["statusCode"] in (400, 413)  # a link page without its token
        return
    if endpoint == "POST /leads (form)" and body not in UNREADABLE_AS_FORM:
        return  # as a form, JSON text is a field name: the submission rules judge it (no 5xx, checked above)
    assert 400 <= response["statusCode"] < 500, response
    payload = json.loads(response["body"])
    errors = payload["errors"]
    assert errors[0].get("field", errors[0].get("extensions", {}).get("field")) == "body", payload


def test_a_form_with_too_many_fields_is_400(aws):
    body = urlencode({f"f{i}": "x" for i in range(500)})
    for endpoint in ("POST /leads (form)", "POST /unsubscribe"):
        module, path, content_type, role = ENDPOINTS[endpoint]
        response = call(module, path, content_type, role, body, False)
        assert_clean(response)
        assert response["statusCode"] == 400, (endpoint, response)


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


ID_FIELDS = [
    ("query", "lead(id: $v) { id }", "ID!", "id"),
    ("query", "personalDataExport(id: $v)", "ID!", "id"),
    ("mutation", "eraseLead(id: $v)", "ID!", "id"),
    ("mutation", "acceptLead(id: $v) { id }", "ID!", "id"),
    ("mutation", 'rejectLead(id: $v, reason: "x") { id }', "ID!", "id"),
    ("mutation", "qualifyLead(id: $v) { id }", "ID!", "id"),
    ("mutation", 'closeOpportunity(id: $v, won: true) { id }', "ID!", "id"),
    ("mutation", 'setCreditworthiness(id: $v, rating: "good")', "ID!", "id"),
    ("mutation", 'reassignLead(id: $v, repId: "anna.becker", reason: "x") { id }', "ID!", "id"),
    ("mutation", 'reassignLead(id: "01abc", repId: $v, reason: "x") { id }', "String!", "repId"),
    ("mutation", "withdrawConsent(id: $v)", "ID!", "id"),
    ("mutation", 'completeTask(id: $v, outcome: "done") { id }', "ID!", "id"),
    ("mutation", "releaseLead(id: $v) { id }", "ID!", "id"),
    ("mutation", "mergeDuplicate(id: $v) { id }", "ID!", "id"),
    ("mutation", "correctLead(id: $v) { id }", "ID!", "id"),
    ("mutation", 'correctLead(id: "01abc", suggestionIds: [$v]) { id }', "ID!", "suggestionIds"),
    ("query", "tasks(assignee: $v) { id }", "String!", "assignee"),
    ("query", "myLeads(repId: $v) { edges { cursor } }", "String", "repId"),
    ("query", "teamQueue(managerId: $v) { edges { cursor } }", "String", "managerId"),
]
BAD_IDS = {"empty": "", "blank": " ", "too long": "x" * 5_000, "NUL": "a\x00b", "CR/LF": "a\r\nb", "slash": "../x"}

CURSOR_FIELDS = [
    ("leads(stage: LEAD, after: $v) { edges { cursor } }", "sales_manager"),
    ("reviewQueue(after: $v) { edges { cursor } }", "marketing"),
    ("myLeads(after: $v) { edges { cursor } }", "sales_rep"),
    ("teamQueue(after: $v) { edges { cursor } }", "sales_manager"),
]
BAD_CURSORS = {
    "random text": "not a cursor!",
    "random base64": "Zm9vYmFyYmF6cXV4",
    "base64 of non-JSON": base64.urlsafe_b64encode(b"hello world").decode(),
    "base64 of invalid UTF-8": base64.urlsafe_b64encode(b"\xff\xfe{}").decode(),
    "JSON array": _cursor([1, 2]),
    "JSON with a number key value": _cursor({"lead_id": 5}),
    "JSON with a wrong attribute type": _cursor({"lead_id": {"N": "5"}, "stage": {"S": "LEAD"},
                                                 "stage_sort": {"S": "x"}}),
    "JSON with empty key values": _cursor({"lead_id": {"S": ""}, "stage": {"S": ""}, "stage_sort": {"S": ""}}),
    "JSON with an extra key": _cursor({"lead_id": {"S": "a"}, "stage": {"S": "LEAD"}, "stage_sort": {"S": "x"},
                                       "owner_id": {"S": "b"}}),
    "another index's keys": _cursor({"lead_id": {"S": "a"}, "sla_bucket": {"S": "1"}, "sla_due": {"S": "x"}}),
    "deeply nested": base64.urlsafe_b64encode(b"[" * 1_500 + b"]" * 1_500).decode(),
    "too long": "A" * 10_000,
}


def graphql_call(query: str, variables: dict, role: str = "admin") -> dict:
    response = call("functions.graphql_api", "/graphql", "application/json", role,
                    json.dumps({"query": query, "variables": variables}), False)
    assert_clean(response)
    assert response["statusCode"] in (200, 400), response
    return json.loads(response["body"])


@pytest.mark.parametrize("value", list(BAD_IDS))
def test_malformed_ids_are_a_graphql_error_naming_the_argument(aws, value):
    for kind, selection, type_, argument in ID_FIELDS:
        result = graphql_call(f"{kind}($v: {type_}) {{ {selection} }}", {"v": BAD_IDS[value]})
        error = result["errors"][0]
        assert error["extensions"]["code"] == "invalid_input" and error["extensions"]["field"] == argument, (
            selection, result)


@pytest.mark.parametrize("cursor", list(BAD_CURSORS))
def test_forged_cursors_are_a_graphql_error_naming_after(aws, cursor):
    for selection, role in CURSOR_FIELDS:
        result = graphql_call(f"query($v: String) {{ {selection} }}", {"v": BAD_CURSORS[cursor]}, role=role)
        error = result["errors"][0]
        assert error["extensions"]["code"] == "invalid_input" and error["extensions"]["field"] == "after", (
            selection, result)


def test_a_cursor_of_another_list_is_refused_and_the_own_cursor_pages_on(aws):
    """A well-formed cursor of another stage (or another rep) would make DynamoDB answer with a
    ValidationException on AWS (moto does not check): it is refused by name."""
    from tests.integration.test_qualification import GENUINE, capture

    for i in range(3):
        capture({**GENUINE, "email": f"person{i}@brandt-spedition.de", "phone": f"+49 40 301884{i}"})
    first = graphql_call("query { leads(stage: LEAD, first: 1) { edges { cursor } pageInfo { endCursor } } }", {})
    end = first["data"]["leads"]["pageInfo"]["endCursor"]
    assert end
    more = graphql_call("query($v: String) { leads(stage: LEAD, first: 5, after: $v) { edges { cursor } } }",
                        {"v": end})
    assert "errors" not in more and len(more["data"]["leads"]["edges"]) == 2
    other = graphql_call("query($v: String) { leads(stage: MQL, after: $v) { edges { cursor } } }", {"v": end})
    assert other["errors"][0]["extensions"]["field"] == "after"
    mine = graphql_call("query($v: String) { myLeads(after: $v) { edges { cursor } } }", {"v": end},
                        role="sales_rep")
    assert mine["errors"][0]["extensions"]["field"] == "after"


# ------------------------------------------------------------------ CR/LF in redirect targets

INJECTIONS = ["https://www.example.com/danke\r\nSet-Cookie: a=b", "https://www.example.com/danke\nX: y",
              "https://www.example.com/danke\r", "https://www.example.com/\tdanke", "https://www.example.com/%0d\x0b"]


@pytest.mark.parametrize("target", INJECTIONS)
def test_control_characters_in_redirect_to_are_refused(aws, monkeypatch, target):
    from functions import capture

    monkeypatch.setattr(capture, "_origins", ("https://www.example.com",))
    form = {"firstName": "Lena", "lastName": "Vogel", "email": "lena.vogel@vogel-maschinenbau.de", "country": "DE"}
    for content_type, body in ((FORM, urlencode({**form, "redirectTo": target})),
                               ("application/json", json.dumps({**form, "redirectTo": target})),
                               (FORM, urlencode({**form, "redirectTo": target, "honeypot": "x"}))):
        response = call("functions.capture", "/leads", content_type, None, body, False)
        assert_clean(response)
        headers = response.get("headers") or {}
        assert "Location" not in headers and "location" not in headers, response
        assert response["statusCode"] in (202, 422), response
        if "honeypot" not in body:
            assert json.loads(response["body"])["errors"][0]["field"] == "redirectTo"


@pytest.mark.parametrize("target", INJECTIONS)
def test_control_characters_in_a_tracked_link_target_never_reach_location(aws, target):
    response = track("GET", f"http://localhost/t/c/x.y?u={quote(target)}")
    location = (response.get("headers") or {}).get("Location", "")
    assert_clean(response)
    assert not any(c in location for c in "\r\n\t\x0b"), response


def test_a_fallback_page_with_control_characters_is_never_a_location(aws):
    from leadflow.services import config

    book = config.load_file("journeys")
    book["settings"]["tracking"]["fallback_url"] = "https://www.leadflow.example/\r\nSet-Cookie: a=b"
    config.publish("journeys", book, author="admin-1")
    response = track("GET", "http://localhost/t/c/x.y?u=https%3A%2F%2Fevil.example")
    assert_clean(response)
    assert response["statusCode"] == 403 and "Location" not in (response.get("headers") or {})
