"""Erasure is final: after eraseLead (or retention), every old link of the person — tracked
click, open pixel, unsubscribe page and one-click POST, DOI page and button — and their site
cookie change nothing and record nothing, and the answers are neutral pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from tests.helpers import LambdaContext, graphql, http_event, sns_event
from tests.integration.test_nurturing import WITH_CONSENT, confirm_link, links, mails, post_form, sweep, track
from tests.integration.test_qualification import capture, drain_intake
from tests.integration.test_scoring import score_all

VISITOR = "visitor-erased-4711"
# a LEAD (not qualified on fit alone), so retention may erase it too
PERSON = {**WITH_CONSENT, "jobTitle": "Sachbearbeiterin", "formId": "newsletter", "visitorId": VISITOR,
          "consent": {"purposes": ["email_marketing", "tracking"], "textVersion": "v1"}}
PERSONAL = (PERSON["email"], PERSON["firstName"], PERSON["lastName"], PERSON["company"], PERSON["phone"])


def footprint(lead_id: str) -> dict:
    """Everything stored that a link could change (test-only scans: no request path scans)."""
    from leadflow.store.models import HistoryModel, LeadModel, MarkerModel, NurtureModel, TimelineModel

    def plain(items) -> list[str]:
        return sorted(json.dumps(i.attribute_values, default=str, sort_keys=True) for i in items)

    return {"lead": plain([LeadModel.get(lead_id, consistent_read=True)]),
            "history": plain(HistoryModel.query(lead_id, consistent_read=True)),
            "timeline": plain(TimelineModel.scan()), "nurture": plain(NurtureModel.scan()),
            "markers": plain(MarkerModel.scan())}


def queued(stack) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url("EngagementQueue"), AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def erase_by_graphql(lead_id: str, monkeypatch) -> None:
    from functions.graphql_api import handler as gql

    result = graphql(gql, "mutation($id: ID!) { eraseLead(id: $id) }", {"id": lead_id}, user="dpo")
    assert "errors" not in result, result


def erase_by_retention(lead_id: str, monkeypatch) -> None:
    """A LEAD untouched for three years: retention erases it (the clock moves for that run only,
    so the links are still within their lifetime afterwards)."""
    from functions.retention import handler
    from leadflow.adapters import clock

    real_now = clock.now
    later = real_now() + timedelta(days=1096)
    with monkeypatch.context() as patched:
        patched.setattr(clock, "now", lambda: later)
        assert handler({}, LambdaContext())["LEAD"] == 1


@pytest.mark.parametrize("erase", [erase_by_graphql, erase_by_retention], ids=["eraseLead", "retention"])
def test_old_links_and_cookie_of_an_erased_person_change_nothing_and_record_nothing(aws, monkeypatch, erase):
    from functions.track import handler
    from leadflow.adapters import events, queues
    from leadflow.services.nurture import unsubscribe_url
    from leadflow.store.leads import get_lead

    lead_id = capture(PERSON)
    drain_intake(aws)
    doi = confirm_link(PERSON["email"])
    assert post_form(doi)["statusCode"] == 200
    sweep()
    welcome = [m for m in mails(PERSON["email"]) if "/consent/confirm" not in m.html]
    assert len(welcome) == 1
    urls = links(welcome[0])
    click = next(u for u in urls if "/t/c/" in u)
    target = parse_qs(urlsplit(click).query)["u"][0]
    unsubscribe = next(u for u in urls if "/unsubscribe" in u)
    one_click = unsubscribe_url(lead_id, 400)  # what List-Unsubscribe carries
    pixel = next(src for src in _sources(welcome[0].html) if "/t/o/" in src)
    score_all(aws)
    assert get_lead(lead_id).stage == "LEAD"

    erase(lead_id, monkeypatch)
    assert get_lead(lead_id).erased_at is not None
    before, queued_before = footprint(lead_id), queued(aws)
    sent, published = [], []
    real_send, real_publish = queues.send, events.publish
    monkeypatch.setattr(queues, "send", lambda url, message: sent.append(message) or real_send(url, message))
    monkeypatch.setattr(events, "publish", lambda kind, detail: published.append(kind) or real_publish(kind, detail))

    answers = {
        "click": track("GET", click),
        "pixel": track("GET", pixel),
        "unsubscribe page": track("GET", unsubscribe),
        "unsubscribe button": post_form(unsubscribe),
        "one-click unsubscribe": post_form(one_click, "List-Unsubscribe=One-Click"),
        "doi page": track("GET", doi),
        "doi button": post_form(doi),
        "site event": handler(http_event("POST", "/events", body={
            "siteKey": "demo-site-key-0001", "visitorId": VISITOR, "type": "download",
            "url": "https://www.example.com/downloads/erp-whitepaper.pdf",
            "occurredAt": datetime.now(UTC).isoformat()}), LambdaContext()),
    }
    complaint = {"notificationType": "Complaint", "complaint": {"complainedRecipients": [
        {"emailAddress": PERSON["email"]}]}}
    assert handler(sns_event(complaint), LambdaContext()) == {"handled": 0}
    score_all(aws)  # whatever might have been queued is delivered

    assert sent == [] and published == [] and queued(aws) == queued_before == 0
    assert footprint(lead_id) == before
    # the person still lands where the link pointed; every page is neutral
    assert answers["click"]["statusCode"] == 302 and answers["click"]["headers"]["Location"] == target
    assert answers["pixel"]["statusCode"] == 200 and answers["pixel"]["headers"]["Content-Type"] == "image/gif"
    assert json.loads(answers["site event"]["body"]) == {"accepted": True, "attachedTo": "none"}
    for name in ("unsubscribe page", "unsubscribe button", "one-click unsubscribe", "doi page", "doi button"):
        answer = answers[name]
        assert answer["statusCode"] == 200, (name, answer)
        assert "Nichts zu tun" in answer["body"] and "<form" not in answer["body"], name
    for name, answer in answers.items():
        text = json.dumps(answer)
        assert not [p for p in PERSONAL if p in text], name


def test_a_new_visitor_id_is_not_affected_by_an_erased_one(aws):
    """The tombstone names only the erased person's visitor id: other visitors wait as usual."""
    from functions.graphql_api import handler as gql
    from functions.track import handler

    lead_id = capture(PERSON)
    drain_intake(aws)
    assert "errors" not in graphql(gql, "mutation($id: ID!) { eraseLead(id: $id) }", {"id": lead_id}, user="dpo")

    def post_event(visitor: str) -> str:
        body = {"siteKey": "demo-site-key-0001", "visitorId": visitor, "type": "page_visit",
                "url": "https://www.example.com/", "occurredAt": datetime.now(UTC).isoformat()}
        return json.loads(handler(http_event("POST", "/events", body=body), LambdaContext())["body"])["attachedTo"]

    assert post_event(VISITOR) == "none"
    assert post_event("visitor-someone-else-1") == "visitor"


def test_an_engagement_queued_before_the_erasure_is_dropped_when_it_arrives(aws):
    from leadflow.adapters.clock import now
    from leadflow.services import engagement

    lead_id = capture(PERSON)
    drain_intake(aws)
    score_all(aws)
    engagement.enqueue(lead_id, "email_click", now(), {"step": "welcome", "url": "https://www.example.com/"})
    erase_by_graphql(lead_id, None)
    waiting = f'"marker": "event#{lead_id}#'

    def without_waiting_event(state: dict) -> dict:
        return {**state, "markers": [m for m in state["markers"] if waiting not in m]}

    before = footprint(lead_id)
    assert any(waiting in m for m in before["markers"])  # the queued event waits in DynamoDB
    score_all(aws)
    after = footprint(lead_id)
    assert without_waiting_event(after) == without_waiting_event(before)  # no timeline entry, no score
    assert not any(waiting in m for m in after["markers"])  # and the waiting event is gone with it


def _sources(html: str) -> list[str]:
    import re

    return [s.replace("&amp;", "&") for s in re.findall(r'src="([^"]+)"', html)]
