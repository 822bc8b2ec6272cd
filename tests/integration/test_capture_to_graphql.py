"""Capture -> intake queue -> qualify -> GraphQL, through the real Lambda handlers on moto."""

from __future__ import annotations

import json

import boto3

from tests.helpers import LambdaContext, graphql, http_event, sqs_event

ANNA = {
    "firstName": "Anna", "lastName": "Schmidt", "email": "anna.schmidt@schmidt-logistik.de", "phone": "+49 89 1234567",
    "company": "Schmidt Logistik GmbH", "jobTitle": "Leiterin Einkauf", "street": "Leopoldstr. 1",
    "postalCode": "80802", "city": "München", "country": "DE", "interests": ["warehouse"],
    "source": "website", "campaign": "spring-2026", "formId": "contact",
    "consent": {"purposes": ["email_marketing"], "textVersion": "v1"},
}

LEAD_QUERY = "query($id: ID!) { lead(id: $id) { id stage quality email history { seq kind toStage actor } } }"


def capture(body, **kw):
    from functions.capture import handler

    return handler(http_event("POST", "/leads", body=body, **kw), LambdaContext())


def test_captured_lead_is_stored_enqueued_and_visible_in_graphql(aws):
    response = capture(ANNA)
    assert response["statusCode"] == 202
    lead_id = json.loads(response["body"])["id"]

    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url("IntakeQueue"), MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"leadId": lead_id}]

    from functions.qualify import handler as qualify

    result = qualify(sqs_event([m["Body"] for m in messages]), LambdaContext())
    assert result == {"batchItemFailures": []}

    from functions.graphql_api import handler as gql

    data = graphql(gql, LEAD_QUERY, {"id": lead_id})
    assert "errors" not in data, data
    lead = data["data"]["lead"]
    assert lead["stage"] == "LEAD" and lead["email"] == ANNA["email"]
    assert lead["history"][0] == {"seq": 1, "kind": "stage", "toStage": "LEAD", "actor": "system:capture"}


def test_bad_input_names_the_field_and_rule(aws):
    response = capture({**ANNA, "country": "Germany", "firstName": "A\r\nBcc: x@y.z"})
    assert response["statusCode"] == 422
    errors = {e["field"]: e["rule"] for e in json.loads(response["body"])["errors"]}
    assert errors == {"country": "format", "firstName": "no_line_breaks"}


def test_malformed_json_is_a_400_naming_the_body(aws):
    from functions.capture import handler

    response = handler(http_event("POST", "/leads", raw_body="{not json",
                                  headers={"content-type": "application/json"}), LambdaContext())
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["errors"][0]["field"] == "body"


def test_same_idempotency_key_twice_gives_one_lead_and_same_answer(aws):
    first = capture({**ANNA, "idempotencyKey": "form-123456"})
    second = capture({**ANNA, "idempotencyKey": "form-123456"})
    assert first["statusCode"] == second["statusCode"] == 202
    assert json.loads(first["body"]) == json.loads(second["body"])
    other = capture({**ANNA, "idempotencyKey": "form-123456", "message": "something else"})
    assert other["statusCode"] == 409
    assert json.loads(other["body"])["errors"][0]["field"] == "idempotencyKey"


def test_same_email_again_returns_the_existing_lead(aws):
    first = json.loads(capture(ANNA)["body"])["id"]
    again = json.loads(capture({**ANNA, "email": "Anna.Schmidt@Schmidt-Logistik.de", "message": "hi"})["body"])["id"]
    assert again == first


def test_graphql_refuses_callers_without_a_token_or_role(aws):
    from functions.graphql_api import handler as gql

    lead_id = json.loads(capture(ANNA)["body"])["id"]
    anonymous = graphql(gql, LEAD_QUERY, {"id": lead_id}, role=None)
    assert anonymous["data"] == {"lead": None}
    assert "bearer token" in anonymous["errors"][0]["message"]
    finance = graphql(gql, LEAD_QUERY, {"id": lead_id}, role="finance")
    assert finance["data"] == {"lead": None}
    assert "only these roles" in finance["errors"][0]["message"]
    rep = graphql(gql, LEAD_QUERY, {"id": lead_id}, role="sales_rep", user="anna.becker")
    assert rep == {"data": {"lead": None}}  # not their lead: they cannot learn it exists


def test_leads_are_paged_by_stage_through_the_index(aws):
    from functions.graphql_api import handler as gql

    ids = [json.loads(capture({**ANNA, "email": f"p{i}.meier@schmidt-logistik.de"})["body"])["id"] for i in range(5)]
    query = """query($after: String) { leads(stage: LEAD, first: 2, after: $after) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    for _ in range(5):
        page = graphql(gql, query, {"after": after})["data"]["leads"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert page["edges"][-1]["cursor"] == page["pageInfo"]["endCursor"]  # an edge's cursor continues after it
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))
