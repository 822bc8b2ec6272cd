"""Deals and forecast (issue 14 point 5): the owner keeps amount, currency, close date and
probability current; pipeline and probability-weighted forecast per rep, team and month;
opportunities without activity for the configured days are flagged stale."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.integration.test_bulk_actions import gql, team  # noqa: F401 (team: a fixture)
from tests.integration.test_routing_sales import lead, new_mql, route

CONVERT = ("mutation($id: ID!, $amount: Float!, $close: Date!, $p: Float) { convertToOpportunity(id: $id, "
           'amount: $amount, currency: "EUR", expectedClose: $close, probability: $p) { stage } }')
UPDATE = ("mutation($id: ID!, $amount: Float, $close: Date, $p: Float) { updateOpportunity(id: $id, "
          "amount: $amount, expectedClose: $close, probability: $p) { opportunity { amount probability "
          "weightedAmount expectedClose } stale history { kind actor reason } } }")
pytestmark = pytest.mark.usefixtures("team")

FORECAST = ("query($from: Date!, $to: Date!, $by: ForecastGroup!) { forecast(from: $from, to: $to, groupBy: $by) "
            "{ key currency opportunities pipeline weighted stale } }")


def opportunity(n: int, amount: float, close: date, probability: float | None = None) -> tuple[str, str]:
    lead_id = new_mql(n)
    route(lead_id)
    rep = lead(lead_id).owner_id
    gql("mutation($id: ID!) { acceptLead(id: $id) { stage } }", {"id": lead_id}, "sales_rep", rep)
    gql('mutation($id: ID!) { qualifyLead(id: $id, budget: "yes") { stage } }', {"id": lead_id}, "sales_rep", rep)
    done = gql(CONVERT, {"id": lead_id, "amount": amount, "close": close.isoformat(), "p": probability},
               "sales_rep", rep)
    assert done["data"]["convertToOpportunity"]["stage"] == "OPPORTUNITY", done
    return lead_id, rep


def test_the_owner_updates_a_deal_and_the_history_says_what_changed():
    close = date.today() + timedelta(days=30)
    lead_id, rep = opportunity(1, 10000, close)
    fresh = lead(lead_id).opportunity
    assert fresh["probability"] == 0.3  # config/sales.yaml default_probability
    later = close + timedelta(days=14)
    answer = gql(UPDATE, {"id": lead_id, "amount": 12500, "close": later.isoformat(), "p": 0.6}, "sales_rep", rep)
    lead_now = answer["data"]["updateOpportunity"]
    assert lead_now["opportunity"] == {"amount": 12500.0, "probability": 0.6, "weightedAmount": 7500.0,
                                       "expectedClose": later.isoformat()}
    assert lead_now["stale"] is False
    assert lead_now["history"][-1] == {"kind": "deal", "actor": rep,
                                       "reason": "deal updated: amount_cents, expected_close, probability"}
    for variables, field, message in (({"p": 1.5}, "probability", "between 0 and 1"),
                                      ({"amount": -5}, "amount", "more than 0"),
                                      ({"close": "2001-01-01"}, "expectedClose", "lies in the past"),
                                      ({"p": 0.6}, "amount", "nothing to change")):
        refused = gql(UPDATE, {"id": lead_id, **variables}, "sales_rep", rep)
        assert refused["data"] is None and message in refused["errors"][0]["message"], refused
        assert refused["errors"][0]["extensions"]["field"] == field
    other = next(r for r in ("rep-a", "rep-b", "rep-c") if r != rep)
    foreign = gql(UPDATE, {"id": lead_id, "p": 0.9}, "sales_rep", other)
    assert foreign["errors"][0]["message"] == f"no such lead: {lead_id}"
    assert lead(lead_id).opportunity["probability"] == 0.6


def test_forecast_sums_match_the_opportunities_per_rep_team_and_month():
    this_month = date.today() + timedelta(days=20)
    next_quarter = date.today() + timedelta(days=100)
    deals = [opportunity(10, 10000, this_month, 0.5), opportunity(11, 2000.5, this_month, 0.1),
             opportunity(12, 40000, next_quarter, 0.25)]
    period = {"from": date.today().isoformat(), "to": (date.today() + timedelta(days=365)).isoformat()}
    by_month = gql(FORECAST, {**period, "by": "MONTH"}, "finance")["data"]["forecast"]
    assert {r["key"]: (r["opportunities"], r["pipeline"], r["weighted"]) for r in by_month} == {
        this_month.strftime("%Y-%m"): (2, 12000.5, 5200.05),
        next_quarter.strftime("%Y-%m"): (1, 40000.0, 10000.0)}
    by_team = gql(FORECAST, {**period, "by": "TEAM"}, "sales_manager", "boss")["data"]["forecast"]
    assert by_team == [{"key": "t1", "currency": "EUR", "opportunities": 3, "pipeline": 52000.5,
                        "weighted": 15200.05, "stale": 0}]
    by_rep = gql(FORECAST, {**period, "by": "REP"}, "admin")["data"]["forecast"]
    assert sum(r["pipeline"] for r in by_rep) == 52000.5
    rep = deals[0][1]
    mine = gql(FORECAST, {**period, "by": "REP"}, "sales_rep", rep)["data"]["forecast"]
    assert [r["key"] for r in mine] == [rep]  # a rep sees their own deals only
    expected = sum(amount for (lead_id, owner), amount in zip(deals, (10000, 2000.5, 40000)) if owner == rep)
    assert mine[0]["pipeline"] == expected
    short = gql(FORECAST, {"from": period["from"], "to": (date.today() + timedelta(days=40)).isoformat(),
                           "by": "MONTH"}, "finance")["data"]["forecast"]
    assert sum(r["opportunities"] for r in short) == 2  # the next-quarter deal closes outside the period
    marketing = gql(FORECAST, {**period, "by": "MONTH"}, "marketing")
    assert marketing["data"] is None and "only these roles" in marketing["errors"][0]["message"]
    reversed_range = gql(FORECAST, {"from": period["to"], "to": period["from"], "by": "MONTH"}, "finance")
    assert reversed_range["errors"][0]["extensions"]["field"] == "to"


def test_an_opportunity_without_activity_for_the_configured_days_is_stale():
    from leadflow.services import config
    from leadflow.services.rulesets import active_rules

    lead_id, rep = opportunity(20, 5000, date.today() + timedelta(days=10))
    stale = "query($id: ID!) { lead(id: $id) { stale } }"
    assert gql(stale, {"id": lead_id}, "sales_rep", rep)["data"]["lead"]["stale"] is False
    rules = active_rules("sales")
    document = {**rules.model_dump(mode="json"), "version": rules.version + 1,
                "stale_after_days": {"SAL": 7, "SQL": 14, "OPPORTUNITY": 1}}
    config.publish("sales", document, author="admin-1")
    from leadflow.store.leads import get_lead
    from leadflow.store.models import LeadModel

    two_days_ago = get_lead(lead_id).stage_entered_at - timedelta(days=2)
    LeadModel(lead_id).update(actions=[LeadModel.stage_entered_at.set(two_days_ago)])  # time passes
    assert gql(stale, {"id": lead_id}, "sales_rep", rep)["data"]["lead"]["stale"] is True
    period = {"from": date.today().isoformat(), "to": (date.today() + timedelta(days=30)).isoformat(), "by": "MONTH"}
    assert gql(FORECAST, period, "finance")["data"]["forecast"][0]["stale"] == 1
    gql(UPDATE, {"id": lead_id, "p": 0.8}, "sales_rep", rep)  # activity: no longer stale
    assert gql(stale, {"id": lead_id}, "sales_rep", rep)["data"]["lead"]["stale"] is False


def test_stale_limits_are_only_for_pipeline_stages():
    from leadflow.domain.sales import SalesRules

    with pytest.raises(ValueError, match="MQL is not a sales pipeline stage"):
        SalesRules.from_dict({"stale_after_days": {"MQL": 3}})
    with pytest.raises(ValueError, match="1 to 365 days"):
        SalesRules.from_dict({"stale_after_days": {"SQL": 0}})
