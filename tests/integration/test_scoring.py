"""Rule scoring on the engagement queue: explained scores, grades, and the MQL hand-off once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3

from tests.helpers import LambdaContext, graphql, sqs_event
from tests.integration.test_qualification import GENUINE, capture, drain_intake

COLD = {**GENUINE, "jobTitle": "Werkstudent", "email": "tim.kurz@gmail.com", "phone": None, "company": None,
        "street": None, "postalCode": None, "city": None, "firstName": "Tim", "lastName": "Kurz",
        "source": None, "interests": []}


def drain(stack, queue: str, handler) -> int:
    sqs, delivered = boto3.client("sqs"), 0
    while True:
        messages = sqs.receive_message(QueueUrl=stack.queue_url(queue), MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return delivered
        result = handler(sqs_event([m["Body"] for m in messages]), LambdaContext())
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        assert not failed, result
        for m in messages:
            sqs.delete_message(QueueUrl=stack.queue_url(queue), ReceiptHandle=m["ReceiptHandle"])
        delivered += len(messages)


def score_all(stack) -> int:
    from functions.score import handler

    return drain(stack, "EngagementQueue", handler)


def routing_messages(stack) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.queue_url("RoutingQueue"), MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def engagement(lead_id: str, kind: str, at: datetime | None = None, event_id: str | None = None) -> str:
    return json.dumps({"leadId": lead_id, "type": kind, "eventId": event_id or uuid.uuid4().hex,
                       "at": (at or datetime.now(UTC)).isoformat(), "details": {"url": "https://x.de/lager"}})


def lead(lead_id):
    from leadflow.store.leads import get_lead

    return get_lead(lead_id)


def test_qualified_lead_gets_an_explained_fit_score(aws):
    from functions.graphql_api import handler as gql

    lead_id = capture(COLD)
    drain_intake(aws)
    score_all(aws)
    data = graphql(gql, "query($id: ID!) { lead(id: $id) { stage score { fit engagement total grade action "
                        "channel reasons { factor points } } } }", {"id": lead_id})
    score = data["data"]["lead"]["score"]
    assert score["grade"] == "cold" and score["channel"] == "email"
    assert {"factor": "seniority: student", "points": -15.0} in score["reasons"]
    assert score["total"] == sum(r["points"] for r in score["reasons"])
    assert data["data"]["lead"]["stage"] == "LEAD"


def test_quote_request_from_a_decision_maker_becomes_mql_once(aws):
    lead_id = capture({**GENUINE, "message": "Bitte senden Sie uns ein Angebot für 3 Standorte"})
    drain_intake(aws)
    score_all(aws)
    stored = lead(lead_id)
    assert stored.stage == "MQL" and stored.grade == "hot"
    assert routing_messages(aws) == [{"leadId": lead_id, "version": int(stored.version)}]
    from leadflow.store.leads import history_of

    mql = [h for h in history_of(lead_id) if h.to_stage == "MQL"]
    assert len(mql) == 1 and mql[0].reason == "requested a quote" and mql[0].actor == "rule:scoring v1"


def test_contact_request_makes_a_cold_lead_mql_even_delivered_twice(aws):
    from functions.score import handler

    lead_id = capture(COLD)
    drain_intake(aws)
    score_all(aws)
    body = engagement(lead_id, "contact_request", event_id="evt-1")
    handler(sqs_event([body]), LambdaContext())
    handler(sqs_event([body]), LambdaContext())  # SQS delivers at least once
    stored = lead(lead_id)
    assert stored.stage == "MQL"
    assert len(routing_messages(aws)) == 1
    from leadflow.store.leads import timeline_of

    assert [e.event_type for e in timeline_of(lead_id)] == ["contact_request"]


def test_engagement_adds_up_to_its_cap_and_decays(aws):
    from functions.score import handler

    lead_id = capture(COLD)
    drain_intake(aws)
    score_all(aws)
    now = datetime.now(UTC)
    handler(sqs_event([engagement(lead_id, "page_visit", now - timedelta(minutes=i)) for i in range(10)]),
            LambdaContext())
    handler(sqs_event([engagement(lead_id, "page_visit", now - timedelta(minutes=10 + i)) for i in range(10)]),
            LambdaContext())
    fresh = lead(lead_id).score
    assert fresh["engagement"] == 30.0  # 20 visits x 2 points, capped at 30 for the web group
    old_id = capture({**COLD, "email": "old.visitor@gmail.com", "firstName": "Olga", "lastName": "Alt"})
    drain_intake(aws)
    score_all(aws)
    handler(sqs_event([engagement(old_id, "download", now - timedelta(days=60))]), LambdaContext())
    assert lead(old_id).score["engagement"] == 2.0  # 8 points, two half-lives (30 days) ago


def test_implausible_and_unreviewed_leads_never_reach_sales(aws):
    from functions.score import handler

    review = capture({**GENUINE, "phone": "+44 20 3318 0958", "message": "Angebot bitte"})
    drain_intake(aws)
    score_all(aws)
    handler(sqs_event([engagement(review, "contact_request")]), LambdaContext())
    assert lead(review).stage == "LEAD" and lead(review).quality == "needs_review"
    assert routing_messages(aws) == []


def test_admin_publishes_new_scoring_rules_and_they_apply(aws):
    from functions.graphql_api import handler as gql
    from leadflow.services.config import load_file

    rules = load_file("scoring")
    rules["mql_threshold"] = 10
    published = graphql(gql, 'mutation($d: JSON!) { publishConfig(name: "scoring", document: $d) { version } }',
                        {"d": rules})
    assert published["data"]["publishConfig"]["version"] == 2  # the shipped file is version 1
    lead_id = capture({**GENUINE, "message": None})
    drain_intake(aws)
    score_all(aws)
    assert lead(lead_id).stage == "MQL"
    bad = graphql(gql, 'mutation($d: JSON!) { publishConfig(name: "scoring", document: $d) { version } }',
                  {"d": {**rules, "grades": []}})
    assert "grades" in bad["errors"][0]["message"]


def test_finance_rates_creditworthiness_and_the_score_follows(aws):
    from functions.graphql_api import handler as gql

    lead_id = capture(COLD)
    drain_intake(aws)
    score_all(aws)
    before = lead(lead_id).score_total
    rated = graphql(gql, 'mutation($id: ID!) { setCreditworthiness(id: $id, rating: "poor") }', {"id": lead_id},
                    role="finance")
    assert rated == {"data": {"setCreditworthiness": True}}
    score_all(aws)
    after = lead(lead_id)
    assert after.score_total == before - 30
    assert {"factor": "creditworthiness: poor", "points": -30.0} in after.score["reasons"]
    bad = graphql(gql, 'mutation($id: ID!) { setCreditworthiness(id: $id, rating: "AAA") }', {"id": lead_id},
                  role="finance")
    assert "rating must be one of" in bad["errors"][0]["message"]
    denied = graphql(gql, 'mutation($id: ID!) { setCreditworthiness(id: $id, rating: "good") }', {"id": lead_id},
                     role="sales_rep", user="anna.becker")
    assert denied["data"] is None


def test_an_engagement_event_travels_through_the_queue_as_ids_only(aws):
    """The page a person visited (and any properties the site sent) waits in DynamoDB; SQS and its
    dead-letter queue see ids only. A redelivered message scores the event once."""
    from functions.score import handler
    from leadflow.services import engagement

    lead_id = capture(COLD)
    drain_intake(aws)
    score_all(aws)
    engagement.enqueue(lead_id, "page_visit", datetime.now(UTC),
                       {"url": "https://x.de/preise?mail=tim.kurz@gmail.com", "properties": {"name": "Tim Kurz"}})
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url("EngagementQueue"), MaxNumberOfMessages=10)["Messages"]
    assert [set(json.loads(m["Body"])) for m in messages] == [{"leadId", "eventId"}]
    assert "tim.kurz" not in messages[0]["Body"] and "Kurz" not in messages[0]["Body"]

    event = sqs_event([messages[0]["Body"]])
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivered
    from leadflow.store.leads import timeline_of

    visits = [t for t in timeline_of(lead_id) if t.event_type == "page_visit"]
    assert len(visits) == 1 and visits[0].details["url"].startswith("https://x.de/preise")
