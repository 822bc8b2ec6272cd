"""Routing MQLs fairly and once, the SLA sweep, and the sales side of the lifecycle."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.helpers import LambdaContext, graphql, sqs_event

TEAM = {
    "version": 7, "timezone": "Europe/Berlin", "default_team": "t1",
    "sla": {"accept_within_working_hours": 4,
            "working_hours": {"DE": {"start": "00:00", "end": "24:00", "days": [0, 1, 2, 3, 4, 5, 6],
                                     "timezone": "Europe/Berlin"}}},
    "teams": [{"id": "t1", "name": "Inside sales", "office": "DE",
               "managers": [{"id": "boss", "name": "Bea Boss"}],
               "reps": [
                   {"id": "rep-a", "name": "A", "countries": ["DE"], "weight": 1, "max_open": 500, "daily_quota": 500},
                   {"id": "rep-b", "name": "B", "countries": ["DE"], "weight": 1, "max_open": 500, "daily_quota": 500},
                   {"id": "rep-c", "name": "C", "countries": ["DE"], "weight": 2, "max_open": 500, "daily_quota": 500},
                   {"id": "rep-d", "name": "D", "countries": ["DE"], "weight": 1, "max_open": 500, "daily_quota": 500,
                    "out_of_office": [{"from": "2000-01-01", "to": "2099-12-31"}]},
               ]}],
}


@pytest.fixture
def team(aws):
    from leadflow.services import config

    config.publish("routing", TEAM, author="admin-1")
    return TEAM


def new_mql(n: int = 0) -> str:
    """A lead in MQL without the whole pipeline (capture + transition), to keep the test fast."""
    from leadflow.domain.lifecycle import Stage
    from leadflow.domain.submission import parse_submission
    from leadflow.services.capture import capture_lead
    from leadflow.services.lifecycle import transition
    from leadflow.store.leads import get_lead

    lead_id = capture_lead(parse_submission({"firstName": "Eva", "lastName": f"Lang{n}", "country": "DE",
                                             "email": f"eva.lang{n}@lang-werke.de"})).lead_id
    transition(get_lead(lead_id), Stage.MQL, actor="rule:test", reason="score")
    return lead_id


def route(*lead_ids: str) -> dict:
    from functions.route import handler

    return handler(sqs_event([json.dumps({"leadId": i}) for i in lead_ids]), LambdaContext())


def lead(lead_id):
    from leadflow.store.leads import get_lead

    return get_lead(lead_id)


def test_rotation_follows_the_weights_and_skips_the_absent_rep(team):
    ids = [new_mql(i) for i in range(40)]
    for chunk in range(0, len(ids), 10):
        assert route(*ids[chunk:chunk + 10]) == {"batchItemFailures": []}
    owners = Counter(lead(i).owner_id for i in ids)
    assert owners == {"rep-a": 10, "rep-b": 10, "rep-c": 20}
    route(*ids[:10])  # a redelivery assigns nothing twice
    assert Counter(lead(i).owner_id for i in ids) == owners
    from leadflow.store.leads import history_of

    assignment = [h for h in history_of(ids[0]) if h.kind == "assignment"]
    assert len(assignment) == 1 and "rotation" in assignment[0].reason


def test_concurrent_deliveries_assign_once(aws_server):
    from leadflow.services import config
    from leadflow.services.routing import route_lead

    config.publish("routing", TEAM, author="admin-1")
    lead_id = new_mql()
    barrier = threading.Barrier(4)

    def deliver():
        barrier.wait()
        route_lead(lead_id)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from leadflow.store.leads import history_of

    assert len([h for h in history_of(lead_id) if h.kind == "assignment"]) == 1


def test_no_eligible_rep_goes_to_the_manager_queue(team):
    from functions.graphql_api import handler as gql
    from leadflow.domain.lifecycle import Stage
    from leadflow.domain.submission import parse_submission
    from leadflow.services.capture import capture_lead
    from leadflow.services.lifecycle import transition
    from leadflow.store.leads import get_lead

    lead_id = capture_lead(parse_submission({"firstName": "Jean", "lastName": "Roux", "country": "FR",
                                             "email": "jean.roux@roux-industrie.fr"})).lead_id
    transition(get_lead(lead_id), Stage.MQL, actor="rule:test", reason="score")
    route(lead_id)
    assert lead(lead_id).queue_manager == "boss" and lead(lead_id).owner_id is None
    queue = graphql(gql, "{ teamQueue { edges { node { id } } } }", role="sales_manager", user="boss")
    assert [e["node"]["id"] for e in queue["data"]["teamQueue"]["edges"]] == [lead_id]
    moved = graphql(gql, 'mutation($id: ID!) { reassignLead(id: $id, repId: "rep-a", reason: "speaks French") '
                         '{ ownerId } }', {"id": lead_id}, role="sales_manager", user="boss")
    assert moved["data"]["reassignLead"]["ownerId"] == "rep-a"


def test_reassign_refusals_each_name_their_rule(team):
    from functions.graphql_api import handler as gql

    lead_id = new_mql()
    route(lead_id)
    owner = lead(lead_id).owner_id

    def reassign(rep_id: str, reason: str = "holiday cover", lead_ref: str = lead_id) -> dict:
        result = graphql(gql, "mutation($id: ID!, $rep: String!, $reason: String!) { reassignLead(id: $id, "
                              "repId: $rep, reason: $reason) { ownerId history { actor reason } } }",
                         {"id": lead_ref, "rep": rep_id, "reason": reason}, role="sales_manager", user="boss")
        return result["errors"][0] if result.get("errors") else result["data"]["reassignLead"]

    same = reassign(owner)  # was: the raw "Failed to write transaction items"
    assert same["message"] == f"lead {lead_id} is already assigned to {owner}; choose another rep"
    assert same["extensions"] == {"code": "invalid_state", "rule": "conflict", "field": "repId"}
    unknown_rep = reassign("rep-z")
    assert "no rep 'rep-z' in the routing rules" in unknown_rep["message"]
    assert "known reps: rep-a, rep-b, rep-c, rep-d" in unknown_rep["message"]
    assert unknown_rep["extensions"]["field"] == "repId"
    empty = reassign("rep-d" if owner != "rep-d" else "rep-a", reason="  ")
    assert empty["message"] == "reassigning needs a reason (it goes to the lead's history)"
    assert empty["extensions"] == {"code": "invalid_input", "rule": "invalid_input", "field": "reason"}
    missing = reassign("rep-a", lead_ref="01nosuchlead0000000000000")  # was: "only an MQL waiting..."
    assert missing["message"] == "no such lead: 01nosuchlead0000000000000"
    other = next(r for r in ("rep-a", "rep-b", "rep-c") if r != owner)
    moved = reassign(other, reason="  speaks French ")
    assert moved["ownerId"] == other and moved["history"][-1]["reason"] == "reassigned by boss: speaks French"
    from leadflow.store.counters import counters_for

    loads = counters_for("load#open")
    assert loads[other]["open"] == 1 and loads[owner]["open"] == 0
    graphql(gql, "mutation($id: ID!) { acceptLead(id: $id) { stage } }", {"id": lead_id}, role="sales_rep",
            user=other)
    late = reassign(owner)
    assert late["message"] == f"only an MQL waiting for acceptance can be reassigned; lead {lead_id} is in stage SAL"
    assert late["extensions"]["code"] == "invalid_state"


def test_sla_sweep_reassigns_an_unaccepted_lead_with_the_reason(team, monkeypatch):
    from leadflow.adapters import clock
    from leadflow.services.routing import sla_sweep
    from leadflow.store.leads import history_of

    lead_id = new_mql()
    route(lead_id)
    first_owner = lead(lead_id).owner_id
    assert sla_sweep()["reassigned"] == 0
    later = datetime.now(UTC) + timedelta(hours=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert sla_sweep(later)["reassigned"] == 1
    moved = lead(lead_id)
    assert moved.owner_id not in (None, first_owner)
    assert first_owner in moved.earlier_owners
    reasons = [h.reason for h in history_of(lead_id) if h.kind == "assignment"]
    assert reasons[-1].startswith("SLA missed")
    assert sla_sweep(later)["reassigned"] == 0  # the new rep has a new deadline


def test_a_rep_works_the_lead_to_customer_and_cannot_touch_others(team):
    from functions.graphql_api import handler as gql

    mine, other = new_mql(1), new_mql(2)
    route(mine, other)
    rep = lead(mine).owner_id
    other_rep = lead(other).owner_id
    assert rep != other_rep

    def act(mutation: str, lead_id: str, user: str = rep) -> dict:
        return graphql(gql, mutation, {"id": lead_id}, role="sales_rep", user=user)

    assert act("query($id: ID!) { lead(id: $id) { id } }", other) == {"data": {"lead": None}}
    refused = act("mutation($id: ID!) { acceptLead(id: $id) { stage } }", other)
    assert refused["data"] is None and "no such lead" in refused["errors"][0]["message"]
    queue = graphql(gql, "{ myLeads(stage: MQL) { edges { node { id } } } }", role="sales_rep", user=rep)
    assert [e["node"]["id"] for e in queue["data"]["myLeads"]["edges"]] == [mine]

    assert act("mutation($id: ID!) { acceptLead(id: $id) { stage } }", mine)["data"]["acceptLead"]["stage"] == "SAL"
    sql = act('mutation($id: ID!) { qualifyLead(id: $id, budget: "50k", need: "WMS") { stage } }', mine)
    assert sql["data"]["qualifyLead"]["stage"] == "SQL"
    opp = act('mutation($id: ID!) { convertToOpportunity(id: $id, amount: 48000, currency: "EUR", '
              'expectedClose: "2027-03-31") { stage } }', mine)
    assert opp["data"]["convertToOpportunity"]["stage"] == "OPPORTUNITY"
    won = act("mutation($id: ID!) { closeOpportunity(id: $id, won: true) { stage history { toStage actor } } }",
              mine)
    assert won["data"]["closeOpportunity"]["stage"] == "CUSTOMER"
    assert [h["toStage"] for h in won["data"]["closeOpportunity"]["history"] if h["toStage"]][-4:] == [
        "SAL", "SQL", "OPPORTUNITY", "CUSTOMER"]


def test_rejected_lead_goes_back_to_nurturing_with_its_reason(team):
    from functions.graphql_api import handler as gql

    lead_id = new_mql()
    route(lead_id)
    rep = lead(lead_id).owner_id
    result = graphql(gql, 'mutation($id: ID!) { rejectLead(id: $id, reason: "no budget this year") '
                          '{ stage ownerId history { reason } } }', {"id": lead_id}, role="sales_rep", user=rep)
    node = result["data"]["rejectLead"]
    assert node["stage"] == "RECYCLED" and node["ownerId"] is None
    assert node["history"][-1]["reason"] == "no budget this year"
    from leadflow.store.counters import counters_for

    assert counters_for("load#open")[rep]["open"] == 0


def test_fairness_report_shows_shares_against_weights(team):
    from functions.graphql_api import handler as gql

    ids = [new_mql(i) for i in range(8)]
    route(*ids)
    today = date.today().isoformat()
    rows = graphql(gql, "query($f: Date!, $t: Date!) { fairnessReport(from: $f, to: $t) { repId assigned "
                        "expectedShare deviation } }", {"f": today, "t": today}, role="sales_manager", user="boss")
    by_rep = {r["repId"]: r for r in rows["data"]["fairnessReport"]}
    assert by_rep["rep-c"]["assigned"] == 4 and by_rep["rep-a"]["assigned"] == 2
    assert abs(by_rep["rep-c"]["deviation"]) < 0.01
    assert by_rep["rep-d"]["assigned"] == 0


def test_fairness_report_refuses_reversed_and_too_long_ranges(team, monkeypatch):
    from functions.graphql_api import handler as gql
    from leadflow.store import routing as store

    months: list[str] = []
    monkeypatch.setattr(store, "assignment_log", lambda month: months.append(month) or [])

    def report(start: str, end: str) -> dict:
        return graphql(gql, "query($f: Date!, $t: Date!) { fairnessReport(from: $f, to: $t) { repId } }",
                       {"f": start, "t": end}, role="sales_manager", user="boss")

    reversed_ = report("2026-03-01", "2026-01-01")["errors"][0]
    assert reversed_["message"] == "`to` (2026-01-01) lies before `from` (2026-03-01)"
    assert reversed_["extensions"] == {"code": "invalid_input", "rule": "invalid_input", "field": "to"}
    centuries = report("1900-01-01", "2099-12-31")["errors"][0]["message"]  # was: 2,400 queries, a timeout
    assert "is 73049 days; one query covers at most 3700 days" in centuries
    assert months == []
    assert len(report("2026-01-01", "2026-03-31")["data"]["fairnessReport"]) == 4 and len(months) == 3


def test_an_mql_whose_routing_message_was_lost_is_sent_again(team, monkeypatch):
    import boto3

    from leadflow.adapters import clock
    from leadflow.services.routing import sla_sweep

    lead_id = new_mql()  # transitioned without a routing message, as if the send had failed
    assert sla_sweep()["requeued"] == 0  # within the grace period
    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert sla_sweep(later)["requeued"] == 1
    messages = boto3.client("sqs").receive_message(QueueUrl=team_queue_url(), MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["leadId"] for m in messages] == [lead_id]
    route(lead_id)
    assert lead(lead_id).owner_id
    assert sla_sweep(later)["requeued"] == 0


def team_queue_url() -> str:
    from leadflow.settings import get_settings

    return get_settings().routing_queue_url
