"""Qualification on the intake queue: verdicts, review queue, dedup and merge,
existing customers, enrichment, and nothing lost."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3

from tests.helpers import LambdaContext, graphql, http_event, sqs_event

GENUINE = {
    "firstName": "Katharina", "lastName": "Brandt", "email": "k.brandt@brandt-spedition.de",
    "phone": "+49 40 3018840", "company": "Brandt Spedition GmbH", "jobTitle": "Geschäftsführerin",
    "street": "Am Sandtorkai 5", "postalCode": "20457", "city": "Hamburg", "country": "DE",
    "interests": ["Lagerlogistik", "Fuhrpark"], "source": "website", "formId": "contact",
}
JUNK = {"firstName": "asdf", "lastName": "asdf", "email": "test@test.com", "phone": "123456",
        "city": "xxx", "country": "DE"}


def capture(body) -> str:
    from functions.capture import handler

    response = handler(http_event("POST", "/leads", body=body), LambdaContext())
    assert response["statusCode"] == 202, response
    return json.loads(response["body"])["id"]


def drain_intake(stack) -> list[dict]:
    """Deliver everything on the intake queue to the qualify function, like the poller does."""
    from functions.qualify import handler

    sqs = boto3.client("sqs")
    results = []
    while True:
        messages = sqs.receive_message(QueueUrl=stack.queue_url("IntakeQueue"), MaxNumberOfMessages=10
                                       ).get("Messages", [])
        if not messages:
            return results
        results.append(handler(sqs_event([m["Body"] for m in messages]), LambdaContext()))
        for m in messages:
            sqs.delete_message(QueueUrl=stack.queue_url("IntakeQueue"), ReceiptHandle=m["ReceiptHandle"])


def lead(lead_id: str):
    from leadflow.store.leads import get_lead

    return get_lead(lead_id)


def test_genuine_lead_is_plausible_and_enriched(aws):
    lead_id = capture(GENUINE)
    drain_intake(aws)
    stored = lead(lead_id)
    assert (stored.stage, stored.quality) == ("LEAD", "plausible")
    assert stored.enrichment["email_domain_type"] == "business"
    assert stored.enrichment["company_domain"] == "brandt-spedition.de"
    assert stored.enrichment["decision_level"] == "decision_maker"
    assert stored.enrichment["macro_region"] == "north"
    assert stored.interest_areas == ["warehouse", "fleet"]
    assert stored.intake_pending is None


def test_private_free_mail_address_is_no_reason_to_reject(aws):
    lead_id = capture({**GENUINE, "email": "katharina.brandt@gmx.de"})
    drain_intake(aws)
    stored = lead(lead_id)
    assert stored.quality == "plausible"
    assert stored.enrichment["email_domain_type"] == "free_mail"


def test_junk_is_disqualified_with_its_reasons(aws):
    lead_id = capture(JUNK)
    drain_intake(aws)
    stored = lead(lead_id)
    assert (stored.stage, stored.quality) == ("DISQUALIFIED", "implausible")
    assert {r["field"] for r in stored.quality_reasons} >= {"firstName"}
    from leadflow.store.leads import history_of

    last = history_of(lead_id)[-1]
    assert last.to_stage == "DISQUALIFIED" and last.reason.startswith("implausible:")


def test_second_delivery_of_the_same_message_changes_nothing(aws):
    from functions.qualify import handler

    lead_id = capture(GENUINE)
    body = json.dumps({"leadId": lead_id})
    handler(sqs_event([body]), LambdaContext())
    version = lead(lead_id).version
    assert handler(sqs_event([body]), LambdaContext()) == {"batchItemFailures": []}
    assert lead(lead_id).version == version


def test_a_poison_message_fails_alone(aws):
    from functions.qualify import handler

    good = capture(GENUINE)
    result = handler(sqs_event(["{not json", json.dumps({"leadId": good})]), LambdaContext())
    assert len(result["batchItemFailures"]) == 1
    assert lead(good).quality == "plausible"


def test_same_phone_is_merged_into_the_existing_lead(aws):
    first = capture(GENUINE)
    drain_intake(aws)
    second = capture({**GENUINE, "email": "kb@gmail.com", "phone": "040 3018840", "jobTitle": None,
                      "interests": ["ERP"], "message": "Bitte Angebot"})
    drain_intake(aws)
    merged, original = lead(second), lead(first)
    assert merged.merged_into == first and merged.stage == "DISQUALIFIED"
    assert original.interests == ["Lagerlogistik", "Fuhrpark", "ERP"]
    assert original.message == "Bitte Angebot"
    assert original.submissions == 2


def test_same_email_again_merges_what_is_new(aws):
    first = capture(GENUINE)
    drain_intake(aws)
    again = capture({**GENUINE, "interests": ["Software"], "campaign": "webinar-q4"})
    drain_intake(aws)
    assert again == first
    assert lead(first).interests == ["Lagerlogistik", "Fuhrpark", "Software"]
    assert lead(first).campaign == "webinar-q4"


def test_existing_customer_and_key_account_owner_are_flagged(aws):
    from leadflow.services.customers import import_customers

    summary = import_customers([
        {"company": "Brandt Spedition GmbH", "domain": "brandt-spedition.de", "country": "DE",
         "owner": "rep-anna", "key_account": "yes", "contact_first_name": "Ole", "contact_last_name": "Brandt",
         "contact_email": "ole@brandt-spedition.de"},
    ])
    assert (summary.accounts, summary.key_accounts) == (1, 1)
    lead_id = capture(GENUINE)
    drain_intake(aws)
    stored = lead(lead_id)
    assert stored.existing_customer and stored.key_account
    assert stored.account_owner_id == "rep-anna"


def test_review_queue_correct_release_and_reject(aws):
    from functions.graphql_api import handler as gql

    def uk_phone(first: str, last: str, company: str, n: int) -> str:  # German lead, British phone: ask a person
        return capture({**GENUINE, "email": f"{first.lower()}@{company.lower()}-handel.de", "firstName": first,
                        "lastName": last, "company": f"{company} Handel", "phone": f"+44 20 3318 09{n}"})

    fix, drop, keep = (uk_phone("Olaf", "Nordwind", "Nordwind", 51), uk_phone("Ute", "Sommer", "Sommer", 52),
                       uk_phone("Ali", "Demir", "Demir", 53))
    drain_intake(aws)
    queue = graphql(gql, "{ reviewQueue(first: 10) { edges { node { id quality qualityReasons { code field } } } } }",
                    role="marketing")
    in_queue = {e["node"]["id"]: e["node"] for e in queue["data"]["reviewQueue"]["edges"]}
    assert set(in_queue) == {fix, drop, keep}, queue
    assert in_queue[fix]["qualityReasons"][0]["field"] == "phone"

    fixed = graphql(gql, """mutation($id: ID!) { correctLead(id: $id, patch: {phone: "+49 40 3018841"}) {
        quality phone history { kind actor reason } } }""", {"id": fix}, role="marketing", user="mia")
    node = fixed["data"]["correctLead"]
    assert node["phone"] == "+49 40 3018841" and node["quality"] == "PLAUSIBLE"
    assert node["history"][-1]["actor"] == "mia" and node["history"][-1]["kind"] == "review"

    rejected = graphql(gql, """mutation($id: ID!) { rejectLead(id: $id, reason: "fake company") {
        stage quality history { toStage reason } } }""", {"id": drop}, role="marketing")
    assert rejected["data"]["rejectLead"]["stage"] == "DISQUALIFIED"
    assert "fake company" in rejected["data"]["rejectLead"]["history"][-1]["reason"]

    released = graphql(gql, 'mutation($id: ID!) { releaseLead(id: $id) { quality stage } }', {"id": keep},
                       role="marketing")
    assert released["data"]["releaseLead"] == {"quality": "PLAUSIBLE", "stage": "LEAD"}
    left = graphql(gql, "{ reviewQueue { edges { node { id } } } }", role="marketing")
    assert left["data"]["reviewQueue"]["edges"] == []
    again = graphql(gql, 'mutation($id: ID!) { releaseLead(id: $id) { quality } }', {"id": keep}, role="marketing")
    assert "not in the review queue" in again["errors"][0]["message"]


def test_a_correction_is_validated_like_a_capture(aws):
    from functions.graphql_api import handler as gql

    lead_id = capture({**GENUINE, "phone": "+44 20 3318 0958"})
    drain_intake(aws)
    bad = graphql(gql, """mutation($id: ID!) { correctLead(id: $id, patch: {country: "Germany"}) { id } }""",
                  {"id": lead_id}, role="marketing")
    assert "country" in bad["errors"][0]["message"]


def test_sales_reps_and_finance_cannot_use_the_review_queue(aws):
    from functions.graphql_api import handler as gql

    for role in ("sales_rep", "finance"):
        result = graphql(gql, "{ reviewQueue { edges { node { id } } } }", role=role)
        assert result["data"] is None and "only these roles" in result["errors"][0]["message"]


def test_lead_never_enqueued_is_found_and_enqueued_by_the_sweep(aws, monkeypatch):
    from leadflow.adapters import clock, queues
    from leadflow.services.intake import requeue_stalled

    def broken(*_a, **_k):
        raise RuntimeError("SQS unavailable")

    monkeypatch.setattr(queues, "enqueue_intake", broken)
    lead_id = capture(GENUINE)  # stored, answered 202, but not enqueued
    monkeypatch.undo()
    assert drain_intake(aws) == []
    assert requeue_stalled()["requeued"] == 0  # within the grace period: the queue may just be slow
    later = clock.now() + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert requeue_stalled()["requeued"] == 1
    drain_intake(aws)
    assert lead(lead_id).quality == "plausible"
    assert requeue_stalled()["found"] == 0


def test_review_shows_suggestions_and_correct_lead_applies_them_in_one_call(aws):
    from functions.graphql_api import handler as gql

    typo = capture({**GENUINE, "email": "katharina.brandt@gmial.com", "phone": "+49 40 3018847",
                    "firstName": "katharina", "lastName": "brandt"})
    chosen = capture({**GENUINE, "email": "o.lenz@gmial.com", "phone": "+49 40 3018848", "city": "Hamburh",
                      "firstName": "Ole", "lastName": "Lenz", "company": "Lenz Logistik GmbH", "street": None})
    drain_intake(aws)
    queue = graphql(gql, "{ reviewQueue { edges { node { id suggestions { id field current suggested reason } "
                         "qualityReasons { code suggestions { id } } } } } }", role="marketing")
    nodes = {e["node"]["id"]: e["node"] for e in queue["data"]["reviewQueue"]["edges"]}
    shown = {s["id"]: (s["field"], s["current"], s["suggested"]) for s in nodes[typo]["suggestions"]}
    assert shown["email_domain_typo.email"] == ("email", "katharina.brandt@gmial.com", "katharina.brandt@gmail.com")
    assert shown["name_all_lower.firstName"] == ("firstName", "katharina", "Katharina")
    assert [s["id"] for s in nodes[typo]["qualityReasons"][0]["suggestions"]] == ["email_domain_typo.email"]
    shown = {s["id"]: (s["field"], s["current"], s["suggested"]) for s in nodes[chosen]["suggestions"]}
    assert shown["city_spelling.city"] == ("city", "Hamburh", "Hamburg")

    fixed = graphql(gql, """mutation($id: ID!) { correctLead(id: $id, applySuggestions: true, patch: {lastName: "Brandt-Ohm"}) {
        quality email firstName lastName suggestions { id } } }""", {"id": typo}, role="marketing")
    assert fixed["data"]["correctLead"] == {"quality": "PLAUSIBLE", "email": "katharina.brandt@gmail.com",
                                            "firstName": "Katharina", "lastName": "Brandt-Ohm", "suggestions": []}

    only_city = graphql(gql, """mutation($id: ID!) { correctLead(id: $id, suggestionIds: ["city_spelling.city"]) {
        quality email city } }""", {"id": chosen}, role="marketing")
    assert only_city["data"]["correctLead"] == {"quality": "NEEDS_REVIEW", "email": "o.lenz@gmial.com",
                                                "city": "Hamburg"}
    unknown = graphql(gql, """mutation($id: ID!) { correctLead(id: $id, suggestionIds: ["city_spelling.city"]) { id } }""",
                      {"id": chosen}, role="marketing")
    assert "no suggestion city_spelling.city" in unknown["errors"][0]["message"]
    nothing = graphql(gql, """mutation($id: ID!) { correctLead(id: $id) { id } }""", {"id": chosen}, role="marketing")
    assert "nothing to correct" in nothing["errors"][0]["message"]
