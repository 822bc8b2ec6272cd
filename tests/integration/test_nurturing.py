"""Nurturing end to end on moto: DOI, welcome mail once, tracked clicks, unsubscribe,
tasks, site events and bounces."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.helpers import LambdaContext, graphql, http_event, sns_event, sqs_event
from tests.integration.test_qualification import GENUINE, capture, drain_intake
from tests.integration.test_scoring import score_all

WITH_CONSENT = {**GENUINE, "consent": {"purposes": ["email_marketing"], "textVersion": "v1"}}


def mails(to: str | None = None):
    from leadflow.adapters.outbox import sent_mails

    return [m for m in sent_mails() if to is None or to in m.to]


def links(mail) -> list[str]:
    return re.findall(r'href="([^"]+)"', mail.html.replace("&amp;", "&"))


def track(method: str, url: str, **kw) -> dict:
    from functions.track import handler

    parts = urlsplit(url)
    route = re.sub(r"^/t/(c|o)/[^/]+$", r"/t/\1/{token}", parts.path)
    params = {"token": parts.path.rsplit("/", 1)[-1]} if route != parts.path else None
    return handler(http_event(method, parts.path, query=parts.query, route_path=route, path_parameters=params,
                              **kw), LambdaContext())


def sweep(now: datetime | None = None) -> dict:
    """The scheduled sweep at `now`, then its queue delivered to the per-lead worker (as Lambda's
    poller does) until empty, with the clock at `now`. Returns the sweep's summary and the actions."""
    from unittest.mock import patch

    import boto3
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from functions.nurture_sweep import handler as nurture_sweep
    from functions.nurture_worker import handler as worker
    from leadflow.adapters import clock
    from leadflow.settings import get_settings

    now = now or datetime.now(UTC)
    sqs, url = boto3.client("sqs"), get_settings().nurture_queue_url
    with patch.object(clock, "now", lambda: now):
        summary = nurture_sweep({"source": "aws.events"}, LambdaContext())
        failed: list[str] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            try:
                result = worker(sqs_event([m["Body"] for m in messages]), LambdaContext())
                failed += [f["itemIdentifier"] for f in result["batchItemFailures"]]
            except BatchProcessingError:  # every message of the batch failed: the invocation fails
                failed += [m["MessageId"] for m in messages]
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return {**summary, "failedMessages": len(failed)}


def confirm_link(address: str) -> str:
    doi = [m for m in mails(address) if "/consent/confirm" in m.html]
    assert len(doi) == 1, [m.subject for m in mails(address)]
    return next(u for u in links(doi[0]) if "/consent/confirm" in u)


def post_form(url: str, body: str | None = None) -> dict:
    """What the page's button (or a mail client's RFC 8058 one-click) sends: a form POST to the link."""
    token = parse_qs(urlsplit(url).query)["token"][0]
    return track("POST", url, raw_body=body if body is not None else urlencode({"token": token}),
                 headers={"content-type": "application/x-www-form-urlencoded"})


def consent_status(lead_id: str) -> str:
    from leadflow.store.nurture import ledger

    return ledger(lead_id)[0][0]["status"]


def test_doi_then_welcome_once_then_tracked_click_then_unsubscribe(aws):
    from leadflow.store.leads import timeline_of
    from leadflow.store.nurture import journey_state

    lead_id = capture(WITH_CONSENT)
    drain_intake(aws)
    address = WITH_CONSENT["email"]
    confirm = confirm_link(address)
    doi_mail = mails(address)[0]
    assert "List-Unsubscribe" not in doi_mail.headers  # no advertising in the DOI mail
    sweep()
    assert len(mails(address)) == 1  # no marketing mail before confirmation

    # a mail scanner following the link changes nothing: the page only offers the button
    for _ in range(2):
        page = track("GET", confirm)
        assert page["statusCode"] == 200 and '<form method="post">' in page["body"]
        assert "Anmeldung bestätigen" in page["body"]  # a German lead: a German page
    assert consent_status(lead_id) == "pending"
    done = post_form(confirm)
    assert done["statusCode"] == 200 and "Ihre Anmeldung ist bestätigt" in done["body"]
    assert consent_status(lead_id) == "confirmed"
    for again in (post_form(confirm), track("GET", confirm)):
        assert again["statusCode"] == 200 and "bereits bestätigt" in again["body"]
        assert "<form" not in again["body"]
    sweep()
    sweep()  # a second run sends nothing twice
    welcome = [m for m in mails(address) if m is not doi_mail and "/consent/confirm" not in m.html]
    assert len(welcome) == 1
    mail = welcome[0]
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    tracked = [u for u in links(mail) if "/t/c/" in u]
    assert tracked, links(mail)
    response = track("GET", tracked[0])
    assert response["statusCode"] == 302
    target = parse_qs(urlsplit(tracked[0]).query)["u"][0]
    assert response["headers"]["Location"] == target

    # refused: another target, or a broken token, lands on our own fallback page and is not counted
    evil = tracked[0].split("?", 1)[0] + "?u=https%3A%2F%2Fevil.example.net%2Fphish"
    broken = tracked[0].replace("/t/c/", "/t/c/x")
    for refused in (track("GET", evil), track("GET", broken)):
        assert refused["statusCode"] == 302 and refused["headers"]["Location"] == "https://www.leadflow.example/"
    score_all(aws)
    assert [e.event_type for e in timeline_of(lead_id)] == ["email_click"]

    unsubscribe = next(u for u in links(mail) if "/unsubscribe" in u)
    page = track("GET", unsubscribe)
    assert page["statusCode"] == 200 and "Jetzt abmelden" in page["body"]
    assert consent_status(lead_id) == "confirmed"  # the GET changed nothing
    done = post_form(unsubscribe)
    assert done["statusCode"] == 200 and "Sie sind abgemeldet" in done["body"]
    assert consent_status(lead_id) == "withdrawn"
    assert journey_state(lead_id)[0]["unsubscribed_at"]
    before = len(mails(address))
    for days in (3, 7, 14, 30, 60):
        sweep(datetime.now(UTC) + timedelta(days=days))
    assert len(mails(address)) == before


def test_rfc_8058_one_click_unsubscribes_at_once(aws):
    from leadflow.services.nurture import unsubscribe_url

    lead_id = capture(WITH_CONSENT)
    drain_intake(aws)
    post_form(confirm_link(WITH_CONSENT["email"]))
    url = unsubscribe_url(lead_id, 30)  # what List-Unsubscribe carries
    response = post_form(url, "List-Unsubscribe=One-Click")
    assert response["statusCode"] == 200
    assert consent_status(lead_id) == "withdrawn"
    from leadflow.store.nurture import ledger

    assert ledger(lead_id)[0][0]["withdrawn_via"] == "list_unsubscribe"


def test_a_doi_link_after_the_withdrawal_says_so_on_every_click_in_the_leads_language(aws):
    from functions.graphql_api import handler as gql

    english = {**WITH_CONSENT, "email": "oliver.hart@hart-freight.co.uk", "country": "GB", "city": "London",
               "postalCode": "EC1A 1BB", "phone": "+44 20 3318 0958", "street": "1 King Street"}
    for person, withdrawn_text in ((WITH_CONSENT, "Sie haben Ihre Einwilligung widerrufen"),
                                   (english, "You withdrew your consent")):
        lead_id = capture(person)
        drain_intake(aws)
        confirm = confirm_link(person["email"])
        graphql(gql, "mutation($id: ID!) { withdrawConsent(id: $id) }", {"id": lead_id}, role="marketing")
        for answer in (track("GET", confirm), post_form(confirm), post_form(confirm), track("GET", confirm)):
            assert answer["statusCode"] == 410, answer
            assert withdrawn_text in answer["body"] and "<form" not in answer["body"]
            assert answer["headers"]["Content-Type"].startswith("text/html")
        assert consent_status(lead_id) == "withdrawn"


def test_a_refused_click_without_a_fallback_page_is_a_403_page(aws):
    from leadflow.services import config

    book = config.load_file("journeys")
    book["settings"]["tracking"].pop("fallback_url")
    config.publish("journeys", book, author="admin-1")
    refused = track("GET", "http://localhost/t/c/not.atoken?u=https%3A%2F%2Fevil.example.net%2F",
                    headers={"accept-language": "en-GB,en;q=0.9"})
    assert refused["statusCode"] == 403 and "Location" not in (refused.get("headers") or {})
    assert "Redirect refused" in refused["body"]


def test_no_consent_means_no_mail_and_no_doi(aws):
    capture(GENUINE)
    drain_intake(aws)
    sweep()
    sweep(datetime.now(UTC) + timedelta(days=10))
    assert mails(GENUINE["email"]) == []


def test_tampered_or_expired_confirmation_is_refused(aws, monkeypatch):
    from leadflow.adapters import clock

    capture(WITH_CONSENT)
    drain_intake(aws)
    link = confirm_link(WITH_CONSENT["email"])
    for refused in (track("GET", link[:-3] + "abc"), post_form(link[:-3] + "abc")):
        assert refused["statusCode"] == 400 and "Link ungültig" in refused["body"]
    later = datetime.now(UTC) + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    for refused in (track("GET", link), post_form(link)):
        assert refused["statusCode"] == 400 and "ungültig oder abgelaufen" in refused["body"]


def test_graphql_shows_the_consent_record_and_the_journey(aws):
    from functions.graphql_api import handler as gql

    lead_id = capture(WITH_CONSENT)
    drain_intake(aws)
    post_form(confirm_link(WITH_CONSENT["email"]))
    sweep()
    data = graphql(gql, "query($id: ID!) { lead(id: $id) { consents { purpose status textVersion textHash "
                        "doiSentAt confirmedAt } journey { journeyId runs { stepId outcome channel } } } }",
                   {"id": lead_id}, role="marketing")["data"]["lead"]
    consent = data["consents"][0]
    assert consent["purpose"] == "email_marketing" and consent["status"] == "confirmed"
    assert len(consent["textHash"]) == 64 and consent["doiSentAt"] and consent["confirmedAt"]
    assert data["journey"]["runs"][0]["outcome"] == "sent"


def test_site_events_before_the_form_join_the_lead_with_tracking_consent(aws):
    from functions.track import handler
    from leadflow.store.leads import timeline_of

    def post_event(kind: str) -> dict:
        body = {"siteKey": "demo-site-key-0001", "visitorId": "visitor-123456", "type": kind,
                "url": "https://www.example.com/lager/wms", "occurredAt": datetime.now(UTC).isoformat()}
        return handler(http_event("POST", "/events", body=body), LambdaContext())

    assert json.loads(post_event("page_visit")["body"])["attachedTo"] == "visitor"
    lead_id = capture({**WITH_CONSENT, "visitorId": "visitor-123456",
                       "consent": {"purposes": ["email_marketing", "tracking"], "textVersion": "v1"}})
    drain_intake(aws)
    assert json.loads(post_event("download")["body"])["attachedTo"] == "lead"
    score_all(aws)
    assert sorted(e.event_type for e in timeline_of(lead_id)) == ["download", "page_visit"]
    bad = handler(http_event("POST", "/events", body={"siteKey": "wrong-key-000", "visitorId": "v-12345678",
                                                      "type": "page_visit", "url": "https://x.de/a",
                                                      "occurredAt": datetime.now(UTC).isoformat()}),
                  LambdaContext())
    assert bad["statusCode"] == 403


def test_visited_pages_add_interest_areas_by_their_url_patterns(aws):
    from functions.track import handler
    from leadflow.store.leads import get_lead

    def visit(kind: str, url: str) -> None:
        body = {"siteKey": "demo-site-key-0001", "visitorId": "visitor-654321", "type": kind, "url": url,
                "occurredAt": datetime.now(UTC).isoformat()}
        assert handler(http_event("POST", "/events", body=body), LambdaContext())["statusCode"] == 202

    visit("page_visit", "https://www.example.com/de/telematik/tracking")  # before the form: joins on consent
    lead_id = capture({**WITH_CONSENT, "interests": ["Lagerlogistik"], "visitorId": "visitor-654321",
                       "consent": {"purposes": ["email_marketing", "tracking"], "textVersion": "v1"}})
    drain_intake(aws)
    visit("download", "https://www.example.com/downloads/erp-whitepaper.pdf")
    visit("page_visit", "https://service.example.com/")  # the host is no page about service
    score_all(aws)
    assert get_lead(lead_id).interest_areas == ["warehouse", "fleet", "software"]


def test_bounce_stops_mail_to_the_address(aws):
    from functions.track import handler
    from leadflow.store.nurture import journey_state

    lead_id = capture(WITH_CONSENT)
    drain_intake(aws)
    notification = {"notificationType": "Bounce", "bounce": {
        "bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": WITH_CONSENT["email"]}]}}
    assert handler(sns_event(notification), LambdaContext()) == {"handled": 1}
    assert journey_state(lead_id)[0]["email_status"] == "bounced"


def publish_letter_journey() -> None:
    """A journey whose one step writes a letter at once: the letter becomes a task."""
    from leadflow.services import config

    book = config.load_file("journeys")
    book["journeys"] = [{"id": "letters", "name": "Letters", "default": True, "entry": {},
                         "steps": [{"id": "letter", "delay": "PT0H", "channel": ["postal"],
                                    "content": "warehouse/checklist", "after": "entry"}]}]
    config.publish("journeys", book, author="admin-1")


def test_postal_step_for_the_60_plus_segment_becomes_a_task(aws):
    from functions.graphql_api import handler as gql

    publish_letter_journey()
    lead_id = capture({**GENUINE, "consent": {"purposes": ["post"], "textVersion": "v1"}})
    drain_intake(aws)
    sweep()
    tasks = graphql(gql, "{ tasks { id leadId kind status } }", role="marketing")["data"]["tasks"]
    assert [(t["leadId"], t["kind"]) for t in tasks] == [(lead_id, "postal_letter")]
    done = graphql(gql, 'mutation($id: ID!) { completeTask(id: $id, outcome: "letter sent") { status outcome } }',
                   {"id": tasks[0]["id"]}, role="marketing")
    assert done["data"]["completeTask"] == {"status": "done", "outcome": "letter sent"}


def test_channel_follows_the_age_segment_when_consent_allows_both(aws):
    """Seed 002: 60+ by post, 20-30 by email."""
    from leadflow.services import config

    book = config.load_file("journeys")
    book["journeys"] = [{"id": "info", "name": "Info", "default": True, "entry": {},
                         "steps": [{"id": "info", "delay": "PT0H", "channel": ["email", "postal"],
                                    "content": "warehouse/checklist", "after": "entry", "quiet_hours": False}]}]
    config.publish("journeys", book, author="admin-1")
    both = {"purposes": ["email_marketing", "post"], "textVersion": "v1"}
    senior = capture({**GENUINE, "ageGroup": "60+", "consent": both})
    young = capture({**GENUINE, "email": "jan.brandt@brandt-spedition.de", "phone": "+49 40 3018899",
                     "firstName": "Jan", "ageGroup": "20-30", "consent": both})
    drain_intake(aws)
    post_form(confirm_link("jan.brandt@brandt-spedition.de"))
    post_form(confirm_link(GENUINE["email"]))
    sweep()
    from leadflow.store.nurture import journey_state

    assert journey_state(senior)[0]["runs"][0]["channel"] == "postal"
    assert journey_state(young)[0]["runs"][0]["channel"] == "email"


def test_key_accounts_are_not_nurtured_unless_their_owner_allows_it(aws):
    from leadflow.services.customers import import_customers
    from leadflow.store.nurture import journey_state

    import_customers([
        {"company": "Brandt Spedition GmbH", "domain": "brandt-spedition.de", "owner": "anna.becker",
         "key_account": "yes"},
        {"company": "Lindner Holzbau GmbH", "domain": "lindner-holz.de", "owner": "jonas.wagner", "key_account": "yes",
         "marketing_allowed": "yes"},
    ])
    closed = capture(WITH_CONSENT)
    open_ = capture({**WITH_CONSENT, "email": "greta@lindner-holz.de", "firstName": "Greta", "lastName": "Lindner",
                     "company": "Lindner Holzbau GmbH", "phone": "+49 89 2180 3131", "postalCode": "80539",
                     "city": "München"})
    drain_intake(aws)
    assert journey_state(closed)[0]["stopped"].startswith("key_account")
    assert journey_state(open_)[0]["journey_id"] is not None


def test_withdrawal_by_phone_stops_every_future_step(aws):
    from functions.graphql_api import handler as gql
    from leadflow.store.nurture import journey_state

    lead_id = capture(WITH_CONSENT)
    drain_intake(aws)
    post_form(confirm_link(WITH_CONSENT["email"]))
    done = graphql(gql, 'mutation($id: ID!) { withdrawConsent(id: $id, note: "called the hotline") }',
                   {"id": lead_id}, role="marketing", user="mia")
    assert done == {"data": {"withdrawConsent": True}}
    sweep()
    assert len(mails(WITH_CONSENT["email"])) == 1  # only the DOI mail: the welcome never went out
    state = journey_state(lead_id)[0]
    assert state["unsubscribed_at"]
    consents = graphql(gql, "query($id: ID!) { lead(id: $id) { consents { status withdrawnVia } } }",
                       {"id": lead_id}, role="marketing")["data"]["lead"]["consents"]
    assert consents == [{"status": "withdrawn", "withdrawnVia": "request by mia: called the hotline"}]


def test_reps_and_managers_see_and_complete_only_tasks_of_their_leads(aws):
    from functions.graphql_api import handler as gql
    from leadflow.domain.lifecycle import Stage
    from leadflow.services import config
    from leadflow.services.lifecycle import transition
    from leadflow.store.leads import get_lead
    from tests.integration.test_routing_sales import TWO_TEAMS, route

    publish_letter_journey()
    config.publish("routing", TWO_TEAMS, author="admin-1")
    post = {"consent": {"purposes": ["post"], "textVersion": "v1"}}
    north = capture({**GENUINE, **post})  # Hamburg: team north
    south = capture({"firstName": "Markus", "lastName": "Oberhuber", "email": "m.oberhuber@oberhuber-bau.de",
                     "company": "Oberhuber Bau GmbH", "street": "Leopoldstraße 12", "postalCode": "80802",
                     "city": "München", "country": "DE", **post})
    drain_intake(aws)
    sweep()
    for lead_id in (north, south):
        transition(get_lead(lead_id), Stage.MQL, actor="rule:test", reason="score")
    route(north, south)
    north_rep, south_rep = get_lead(north).owner_id, get_lead(south).owner_id
    assert north_rep in ("rep-a", "rep-b") and south_rep in ("rep-s", "rep-t")

    query = "{ tasks { id leadId title body } }"
    everything = graphql(gql, query, role="marketing")["data"]["tasks"]
    assert sorted(t["leadId"] for t in everything) == sorted([north, south])  # marketing keeps its queue
    south_task = next(t for t in everything if t["leadId"] == south)
    assert "Oberhuber" in south_task["body"] and "Leopoldstraße" in south_task["body"]

    for role, user, visible in (("sales_rep", north_rep, north), ("sales_manager", "boss", north),
                                ("sales_rep", south_rep, south), ("sales_manager", "south-boss", south)):
        seen = graphql(gql, query, role=role, user=user)
        assert [t["leadId"] for t in seen["data"]["tasks"]] == [visible], (role, user)
    as_rep = json.dumps(graphql(gql, query, role="sales_rep", user=north_rep))
    assert "Oberhuber" not in as_rep and "Leopoldstraße" not in as_rep and south_task["id"] not in as_rep

    complete = 'mutation($id: ID!) { completeTask(id: $id, outcome: "called") { status body } }'
    refused = graphql(gql, complete, {"id": south_task["id"]}, role="sales_rep", user=north_rep)
    assert refused["data"] is None
    assert refused["errors"][0]["message"] == f"no such task: {south_task['id']}"  # like an unknown task
    assert refused["errors"][0]["extensions"] == {"code": "not_found", "rule": "not_found", "field": "id"}
    assert graphql(gql, complete, {"id": south_task["id"]}, role="sales_manager", user="boss")["data"] is None
    still_open = graphql(gql, '{ tasks { id } }', role="marketing")["data"]["tasks"]
    assert south_task["id"] in [t["id"] for t in still_open]
    north_task = next(t for t in everything if t["leadId"] == north)
    done = graphql(gql, complete, {"id": north_task["id"]}, role="sales_rep", user=north_rep)
    assert done["data"]["completeTask"]["status"] == "done"
