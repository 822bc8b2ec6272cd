"""GDPR: one person's data exported, then erased from every place, with the funnel still right."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.helpers import graphql, settle
from tests.integration.test_nurturing import WITH_CONSENT, confirm_link, sweep, track
from tests.integration.test_qualification import capture, drain_intake
from tests.integration.test_routing_sales import team  # noqa: F401  (the sales team fixture)
from tests.integration.test_scoring import score_all

DIRTY = {**WITH_CONSENT, "message": "Bitte Angebot", "visitorId": "visitor-987654",
         "consent": {"purposes": ["email_marketing", "tracking"], "textVersion": "v1"}}


def test_export_then_erase_every_trace_and_the_counters_stay_right(aws):
    from functions.graphql_api import handler as gql
    from leadflow.services.controlling import reconcile
    from leadflow.store import nurture
    from leadflow.store.leads import history_of, timeline_of
    from leadflow.store.models import MarkerModel, MatchModel

    lead_id = capture(DIRTY)
    drain_intake(aws)
    score_all(aws)
    track("GET", confirm_link(DIRTY["email"]))
    sweep()
    other = capture({**WITH_CONSENT, "email": "ole@brandt-spedition.de", "firstName": "Ole",
                     "phone": "+49 40 3018888"})
    drain_intake(aws)

    export = graphql(gql, "query($id: ID!) { personalDataExport(id: $id) }", {"id": lead_id})
    data = export["data"]["personalDataExport"]
    assert data["lead"]["email"] == DIRTY["email"] and data["consents"] and data["history"]
    denied = graphql(gql, "query($id: ID!) { personalDataExport(id: $id) }", {"id": lead_id}, role="marketing")
    assert denied["data"] is None

    erased = graphql(gql, "mutation($id: ID!) { eraseLead(id: $id) }", {"id": lead_id}, user="dpo")
    assert "errors" not in erased, erased

    lead = graphql(gql, "query($id: ID!) { lead(id: $id) { stage erasedAt firstName email phone company "
                        "consents { purpose } journey { journeyId } timeline { type } score { total } } }",
                   {"id": lead_id})["data"]["lead"]
    assert lead["erasedAt"] and lead["stage"] == "MQL"
    assert (lead["firstName"], lead["email"], lead["phone"], lead["company"]) == (None, None, None, None)
    assert lead["consents"] == [] and lead["journey"] is None and lead["timeline"] == [] and lead["score"] is None
    assert timeline_of(lead_id) == [] and nurture.ledger(lead_id) == ([], None)
    everything = json.dumps([h.attribute_values for h in history_of(lead_id)], default=str)
    for secret in (DIRTY["email"], DIRTY["firstName"], DIRTY["lastName"], "Angebot"):
        assert secret not in everything
    refs = [m.ref for m in MatchModel.scan()]
    assert f"lead#{lead_id}" not in refs and f"lead#{other}" in refs
    assert all(m.lead_id != lead_id for m in MarkerModel.scan() if m.marker.startswith(("email#", "visitor#")))
    assert reconcile().ok


def test_retention_erases_only_unconverted_leads_past_their_limit(aws, monkeypatch):
    from datetime import timedelta

    from functions.retention import handler
    from leadflow.adapters import clock
    from leadflow.store.leads import get_lead
    from tests.helpers import LambdaContext

    junk = capture({"firstName": "asdf", "lastName": "asdf", "email": "test@test.com", "country": "DE"})
    fresh = capture(WITH_CONSENT)
    drain_intake(aws)
    assert get_lead(junk).stage == "DISQUALIFIED"
    assert handler({}, LambdaContext()) == {"DISQUALIFIED": 0, "LOST": 0, "RECYCLED": 0, "LEAD": 0}
    later = clock.now() + timedelta(days=91)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert handler({}, LambdaContext())["DISQUALIFIED"] == 1
    assert get_lead(junk).erased_at is not None and get_lead(junk).email is None
    assert get_lead(fresh).email == WITH_CONSENT["email"]  # a LEAD has three years
    assert handler({}, LambdaContext())["DISQUALIFIED"] == 0  # erased once


def test_retention_reads_the_lead_again_before_erasing_what_a_stale_index_found(aws, monkeypatch):
    """The by_stage index is eventually consistent: a lead it still lists as DISQUALIFIED may just
    have been re-opened by a genuine request. Retention erases only what a consistent read confirms."""
    from datetime import timedelta

    from functions.retention import handler
    from leadflow.adapters import clock
    from leadflow.store.leads import get_lead
    from leadflow.store.models import LeadModel, stage_key
    from tests.helpers import LambdaContext

    junk = capture({"firstName": "asdf", "lastName": "asdf", "email": WITH_CONSENT["email"], "country": "DE"})
    drain_intake(aws)
    stale = get_lead(junk)
    assert stale.stage == "DISQUALIFIED"
    later = clock.now() + timedelta(days=91)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert capture(WITH_CONSENT) == junk  # the real person writes in: the lead is re-opened
    drain_intake(aws)
    assert get_lead(junk).stage == "LEAD"
    monkeypatch.setattr(type(LeadModel.by_stage), "query",
                        lambda self, partition, *a, **k: iter([stale] if partition == stale.stage_shard else []))
    assert stale.stage_shard == stage_key("DISQUALIFIED", junk)
    assert handler({}, LambdaContext())["DISQUALIFIED"] == 0
    assert get_lead(junk).email == WITH_CONSENT["email"] and get_lead(junk).erased_at is None


@pytest.mark.usefixtures("team")
def test_erasing_worked_leads_keeps_every_counter_and_reconcile_clean():
    """Accepted, won, lost and rejected leads erased: the SLA outcomes, amounts and reason codes
    the counters hold survive in the anonymous history, the person does not."""
    from functions.graphql_api import handler as gql
    from leadflow.services.controlling import reconcile
    from leadflow.store.counters import scan_counter_items
    from leadflow.store.leads import get_lead, history_of
    from tests.integration.test_routing_sales import new_mql, route

    won, lost, rejected = new_mql(1), new_mql(2), new_mql(3)
    route(won, lost, rejected)

    close = (date.today() + timedelta(days=90)).isoformat()

    def act(mutation: str, lead_id: str) -> dict:
        result = graphql(gql, mutation, {"id": lead_id, "close": close}, role="sales_rep",
                         user=get_lead(lead_id).owner_id)
        assert "errors" not in result, result
        return result

    for lead_id in (won, lost):
        act("mutation($id: ID!) { acceptLead(id: $id) { stage } }", lead_id)
        act('mutation($id: ID!) { qualifyLead(id: $id, budget: "50k", authority: "Eva Lang") { stage } }', lead_id)
        act('mutation($id: ID!, $close: Date!) { convertToOpportunity(id: $id, amount: 48000, currency: "EUR", '
            'expectedClose: $close) { stage } }', lead_id)
    act('mutation($id: ID!) { closeOpportunity(id: $id, won: true, reason: "Eva Lang liked the demo") '
        '{ stage } }', won)
    act('mutation($id: ID!) { closeOpportunity(id: $id, won: false, reason: "price: Eva Lang found it too dear") '
        '{ stage } }', lost)
    act('mutation($id: ID!) { rejectLead(id: $id, reason: "Eva Lang left the company", recycle: false) '
        '{ stage } }', rejected)
    settle()  # the counters are added up from the outbox stream
    assert reconcile().ok
    before = scan_counter_items(lambda pk: True)

    for lead_id in (won, lost, rejected):
        erased = graphql(gql, "mutation($id: ID!) { eraseLead(id: $id) }", {"id": lead_id}, user="dpo")
        assert "errors" not in erased, erased
        everything = json.dumps([h.attribute_values for h in history_of(lead_id)], default=str)
        assert "Lang" not in everything and "50k" not in everything
    settle()
    report = reconcile()
    assert report.drift == [] and report.approximate == 0
    assert scan_counter_items(lambda pk: True) == before  # erasure moves no counter
    outcomes = [h.details.get("sla_met") for h in history_of(won) if h.to_stage == "SAL"]
    assert outcomes == [True]
