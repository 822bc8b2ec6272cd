"""Qualification on the intake queue: verdicts, review queue, dedup and merge,
existing customers, enrichment, and nothing lost."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3

from tests.helpers import LambdaContext, graphql, http_event, settle, sqs_event

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


def review_queue_ids(gql) -> dict[str, dict]:
    queue = graphql(gql, "{ reviewQueue(first: 50) { edges { node { id duplicateOf qualityReasons { code field } "
                         "} } } }", role="marketing")
    return {e["node"]["id"]: e["node"] for e in queue["data"]["reviewQueue"]["edges"]}


def test_a_shared_phone_alone_never_merges_or_disqualifies(aws):
    from functions.graphql_api import handler as gql

    first = capture(GENUINE)
    drain_intake(aws)
    colleague = capture({**GENUINE, "firstName": "Jonas", "lastName": "Weber", "email": "j.weber@brandt-spedition.de",
                         "phone": "040 3018840", "jobTitle": "Disponent", "interests": ["ERP"]})  # the switchboard
    drain_intake(aws)
    second, original = lead(colleague), lead(first)
    assert second.merged_into is None and (second.stage, second.quality) == ("LEAD", "needs_review")
    assert second.duplicate_of == first
    assert (original.interests, original.submissions) == (["Lagerlogistik", "Fuhrpark"], 1)  # nothing merged
    in_queue = review_queue_ids(gql)
    assert in_queue[colleague]["duplicateOf"] == first
    assert {"code": "possible_duplicate", "field": "phone"} in in_queue[colleague]["qualityReasons"]
    linked = graphql(gql, "query($id: ID!) { lead(id: $id) { possibleDuplicates } }", {"id": first})
    assert linked["data"]["lead"]["possibleDuplicates"] == [colleague]
    released = graphql(gql, 'mutation($id: ID!) { releaseLead(id: $id, reason: "two people, one switchboard") '
                            '{ quality stage history { actor reason } } }', {"id": colleague}, role="marketing",
                       user="mia")["data"]["releaseLead"]
    assert (released["quality"], released["stage"]) == ("PLAUSIBLE", "LEAD")
    assert released["history"][-1] == {"actor": "mia", "reason": "released after review: two people, one switchboard"}


def test_a_close_name_at_the_same_company_goes_to_review_not_into_the_lead(aws):
    from functions.graphql_api import handler as gql
    from leadflow.store.leads import history_of

    first = capture(GENUINE)
    drain_intake(aws)
    second = capture({**GENUINE, "firstName": "Katharina", "email": "kb@gmail.com", "phone": None,
                      "interests": ["ERP"], "message": "Bitte Angebot"})
    drain_intake(aws)
    maybe, original = lead(second), lead(first)
    assert maybe.merged_into is None and (maybe.stage, maybe.quality) == ("LEAD", "needs_review")
    assert review_queue_ids(gql)[second]["duplicateOf"] == first
    assert original.message is None and original.submissions == 1
    # the reviewer says: the same person. Nothing she asked for is lost.
    merged = graphql(gql, 'mutation($id: ID!) { mergeDuplicate(id: $id) { stage mergedInto } }', {"id": second},
                     role="marketing", user="mia")["data"]["mergeDuplicate"]
    assert merged == {"stage": "DISQUALIFIED", "mergedInto": first}
    score_all(aws)
    original = lead(first)
    assert (original.message, original.submissions, original.stage) == ("Bitte Angebot", 2, "MQL")
    assert original.interests == ["Lagerlogistik", "Fuhrpark", "ERP"]
    assert next(h.reason for h in history_of(first) if h.to_stage == "MQL") == "requested a quote"
    assert second not in review_queue_ids(gql)


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
         "owner": "anna.becker", "key_account": "yes", "contact_first_name": "Ole", "contact_last_name": "Brandt",
         "contact_email": "ole@brandt-spedition.de"},
    ])
    assert (summary.accounts, summary.key_accounts) == (1, 1)
    lead_id = capture(GENUINE)
    drain_intake(aws)
    stored = lead(lead_id)
    assert stored.existing_customer and stored.key_account
    assert stored.account_owner_id == "anna.becker"


def test_customer_import_refuses_owners_who_are_not_reps_and_counts_them(aws, tmp_path, monkeypatch, capsys):
    import argparse

    from leadflow.cli import importing
    from leadflow.store.directory import get_account

    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("company,domain,owner,key_account\n"
                        "Brandt Spedition GmbH,brandt-spedition.de,anna.becker,yes\n"
                        "Lindner Holzbau GmbH,lindner-holz.de,rep-anna,yes\n"
                        "Kurz KG,kurz.de,,no\n")
    monkeypatch.setattr(importing, "connect", lambda args: None)  # the test's emulator is the target
    code = importing.run_customers(argparse.Namespace(file=str(csv_file)))
    out, err = capsys.readouterr()
    assert code == 1
    assert "2 accounts (1 key accounts), 0 contacts imported; 1 rows refused (1 with an owner who is not a rep)" in out
    assert "line 3: owner 'rep-anna' is not a rep in the routing rules; known: anna.becker, jonas.wagner" in err
    assert get_account("lindner-holzbau-gmbh") is None


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


def test_lead_whose_intake_message_was_lost_is_found_and_enqueued_by_the_sweep(aws, monkeypatch):
    import boto3

    from leadflow.adapters import clock
    from leadflow.services.intake import requeue_stalled

    lead_id = capture(GENUINE)  # stored, answered 202, its qualification relayed from the outbox
    settle(aws)
    # ...and then lost (dead-lettered after crashes of the qualify function, or purged by hand)
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_url("IntakeQueue"))
    assert drain_intake(aws) == []
    assert requeue_stalled()["requeued"] == 0  # within the grace period: the queue may just be slow
    later = clock.now() + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert requeue_stalled()["requeued"] == 1
    drain_intake(aws)
    assert lead(lead_id).quality == "plausible"
    assert requeue_stalled()["found"] == 0


def score_all(stack) -> None:
    from functions.score import handler

    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=stack.queue_url("EngagementQueue"), MaxNumberOfMessages=10
                                          ).get("Messages", []):
        assert handler(sqs_event([m["Body"] for m in messages]), LambdaContext()) == {"batchItemFailures": []}
        for m in messages:
            sqs.delete_message(QueueUrl=stack.queue_url("EngagementQueue"), ReceiptHandle=m["ReceiptHandle"])


def stage_moves(lead_id: str) -> list[tuple[str | None, str]]:
    from leadflow.store.leads import history_of

    return [(h.from_stage, h.to_stage) for h in history_of(lead_id) if h.kind == "stage"]


def lead_entries() -> tuple[int, int]:
    """(entered, entered for the first time) of stage LEAD this month, from the stored counters."""
    from leadflow.adapters import clock
    from leadflow.services import controlling

    today = clock.now().date()
    report = controlling.funnel(today, today, grain="month")
    row = next(m for m in report.groups[0].stages if m.stage == "LEAD")
    return row.entered, row.entered_first_time


def test_a_quote_request_on_an_existing_lead_makes_it_an_mql_at_once(aws):
    first = capture({**GENUINE, "jobTitle": "Sachbearbeiterin", "message": "Infos zu Lagerlogistik"})
    drain_intake(aws)
    score_all(aws)
    assert lead(first).stage == "LEAD"
    again = capture({**GENUINE, "message": "Bitte senden Sie uns ein Angebot", "formId": "quote"})
    assert again == first
    drain_intake(aws)
    score_all(aws)
    stored = lead(first)
    assert stored.stage == "MQL" and stored.submissions == 2
    assert stored.message.startswith("Bitte senden Sie uns ein Angebot") and "Infos zu Lagerlogistik" in stored.message
    assert stage_moves(first)[-1] == ("LEAD", "MQL")


def test_a_junk_record_is_reopened_by_a_genuine_request_as_a_new_cycle(aws):
    from leadflow.services.controlling import reconcile

    junk = capture({**JUNK, "email": GENUINE["email"]})  # a bot typed a real person's address
    drain_intake(aws)
    assert lead(junk).stage == "DISQUALIFIED"
    assert lead_entries() == (1, 1)
    again = capture({**GENUINE, "message": "Bitte Angebot für zwei Lager"})
    assert again == junk
    drain_intake(aws)
    score_all(aws)
    stored = lead(junk)
    assert (stored.first_name, stored.phone, stored.city) == ("Katharina", "+49 40 3018840", "Hamburg")
    assert stored.quality == "plausible" and stored.merged_into is None
    assert stage_moves(junk) == [(None, "LEAD"), ("LEAD", "DISQUALIFIED"), ("DISQUALIFIED", "LEAD"), ("LEAD", "MQL")]
    assert lead_entries() == (2, 1)  # the new cycle is a new entry, the lead is still one lead
    report = reconcile()
    assert report.ok, report.drift


def test_a_recycled_lead_with_a_new_request_starts_a_new_cycle(aws):
    from leadflow.domain.lifecycle import Stage
    from leadflow.services import lifecycle
    from leadflow.services.controlling import reconcile
    from leadflow.store.leads import history_of

    first = capture({**GENUINE, "message": "Bitte Angebot"})
    drain_intake(aws)
    score_all(aws)
    recycled = lifecycle.transition(lead(first), Stage.RECYCLED, actor="rep-anna", reason="not now")
    assert recycled.stage == "RECYCLED"
    again = capture({**GENUINE, "message": "Jetzt bitte ein Angebot für 2027", "campaign": "winter"})
    assert again == first
    drain_intake(aws)
    score_all(aws)
    stored = lead(first)
    assert stored.stage == "MQL" and stored.message == "Jetzt bitte ein Angebot für 2027"
    assert stored.last_campaign == "winter" and stored.submissions == 2
    assert stage_moves(first) == [(None, "LEAD"), ("LEAD", "MQL"), ("MQL", "RECYCLED"), ("RECYCLED", "LEAD"),
                                  ("LEAD", "MQL")]
    reopened = next(h for h in history_of(first) if h.from_stage == "RECYCLED")
    assert reopened.reason.startswith("re-opened by a new request")
    assert lead_entries() == (2, 1)
    assert reconcile().ok


def test_junk_sent_with_a_known_address_changes_nothing(aws):
    from leadflow.store.leads import history_of

    first = capture(GENUINE)
    drain_intake(aws)
    assert capture({**GENUINE, "firstName": "asdf", "lastName": "asdf", "phone": None, "company": None,
                    "message": "asdfasdf"}) == first
    drain_intake(aws)
    stored = lead(first)
    assert (stored.first_name, stored.submissions, stored.stage) == ("Katharina", 1, "LEAD")
    assert "not taken: implausible" in history_of(first)[-1].reason


def test_an_admin_overrides_a_wrong_implausible_verdict_with_a_reason(aws):
    from functions.graphql_api import handler as gql

    lead_id = capture({**GENUINE, "firstName": "Test", "lastName": "Test"})  # a real Mr Test, the checks say junk
    drain_intake(aws)
    assert (lead(lead_id).stage, lead(lead_id).quality) == ("DISQUALIFIED", "implausible")
    release = 'mutation($id: ID!, $reason: String) { releaseLead(id: $id, reason: $reason) { stage quality ' \
              'history { toStage actor reason } } }'
    by_marketing = graphql(gql, release, {"id": lead_id, "reason": "real"}, role="marketing")
    assert "only an admin may override an implausible verdict" in by_marketing["errors"][0]["message"]
    no_reason = graphql(gql, release, {"id": lead_id, "reason": " "}, role="admin", user="ada")
    assert "needs a reason" in no_reason["errors"][0]["message"]
    released = graphql(gql, release, {"id": lead_id, "reason": "called him: his name is Test"}, role="admin",
                       user="ada")["data"]["releaseLead"]
    assert (released["stage"], released["quality"]) == ("LEAD", "PLAUSIBLE")
    assert released["history"][-1] == {"toStage": "LEAD", "actor": "ada",
                                       "reason": "implausible verdict overridden: called him: his name is Test"}
    drain_intake(aws)  # the second step of qualification, which the verdict had skipped, follows the override
    score_all(aws)
    assert lead(lead_id).score_total is not None  # scored like any plausible lead


def test_marketing_corrects_a_lead_outside_the_queue_and_the_email_moves_its_keys(aws):
    from functions.graphql_api import handler as gql
    from leadflow.domain.dedup import keys_for
    from leadflow.store.directory import refs_for

    lead_id = capture(GENUINE)
    drain_intake(aws)
    other = capture({**GENUINE, "email": "info@lindner-holz.de", "firstName": "Greta", "lastName": "Lindner",
                     "company": "Lindner Holz", "phone": None})
    drain_intake(aws)
    correct = 'mutation($id: ID!, $patch: LeadPatch!) { correctLead(id: $id, patch: $patch) { email jobTitle ' \
              'quality stage history { kind actor } } }'
    fixed = graphql(gql, correct, {"id": lead_id, "patch": {"email": "katharina.brandt@brandt-spedition.de",
                                                            "jobTitle": "Inhaberin"}}, role="marketing", user="mia")
    node = fixed["data"]["correctLead"]
    assert (node["email"], node["jobTitle"]) == ("katharina.brandt@brandt-spedition.de", "Inhaberin")
    assert (node["quality"], node["stage"]) == ("PLAUSIBLE", "LEAD")
    assert node["history"][-1] == {"kind": "review", "actor": "mia"}
    # the corrected address finds the lead; the old one is free again
    assert capture({**GENUINE, "email": "Katharina.Brandt@brandt-spedition.de"}) == lead_id
    from leadflow.adapters.keys import hash_key

    new_key = keys_for(email="katharina.brandt@brandt-spedition.de", phone=None, country="DE", last_name=None,
                       company=None, key=hash_key()).email
    old_key = keys_for(email=GENUINE["email"], phone=None, country="DE", last_name=None, company=None,
                       key=hash_key()).email
    refs = refs_for([new_key, old_key])
    assert (refs[new_key], refs[old_key]) == ([f"lead#{lead_id}"], [])
    assert capture({**GENUINE, "message": "new form"}) != lead_id
    # an address another lead has is refused, naming that lead
    taken = graphql(gql, correct, {"id": lead_id, "patch": {"email": "info@lindner-holz.de"}}, role="marketing")
    assert f"lead {other} already has this address" in taken["errors"][0]["message"]
    assert lead(lead_id).email == "katharina.brandt@brandt-spedition.de"


def test_a_customer_is_not_corrected_here(aws):
    from functions.graphql_api import handler as gql
    from leadflow.domain.lifecycle import FUNNEL
    from leadflow.services import lifecycle

    lead_id = capture(GENUINE)
    drain_intake(aws)
    for stage in FUNNEL[1:]:
        lifecycle.transition(lead(lead_id), stage, actor="rep-anna")
    refused = graphql(gql, 'mutation($id: ID!) { correctLead(id: $id, patch: {city: "Kiel"}) { id } }',
                      {"id": lead_id}, role="marketing")
    assert "is a customer" in refused["errors"][0]["message"]


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


def test_a_resubmission_travels_through_the_queue_as_ids_only(aws):
    """SQS and its dead-letter queue keep messages for 14 days: they carry ids, never form data;
    a redelivered message takes the form once."""
    from functions.qualify import handler

    first = capture(GENUINE)
    drain_intake(aws)
    again = capture({**GENUINE, "message": "Bitte rufen Sie mich zurück", "formId": "callback"})
    assert again == first
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url("IntakeQueue"), MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    assert bodies == [{"leadId": first, "submissionId": bodies[0]["submissionId"]}]
    for text in (GENUINE["email"], GENUINE["lastName"], "zurück", "Bitte"):
        assert text not in messages[0]["Body"]

    event = sqs_event([messages[0]["Body"]])
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivered
    stored = lead(first)
    assert stored.submissions == 2 and stored.message.startswith("Bitte rufen Sie mich zurück")
