"""Routing MQLs fairly and once, the SLA sweep, and the sales side of the lifecycle."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.helpers import LambdaContext, graphql, settle, sqs_event

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
    from leadflow.services.routing import rep_loads

    assert rep_loads()[other].open_leads == 1  # at once: counted in the team's rotation state
    assert rep_loads()[owner].open_leads == 1  # what left a pipeline is added up from the stream:
    settle()  # seconds later, until then routing sees the rep as fuller than they are
    assert rep_loads()[owner].open_leads == 0
    assert rep_loads()[other].assigned_today == 1 and rep_loads()[owner].assigned_today == 1
    graphql(gql, "mutation($id: ID!) { acceptLead(id: $id) { stage } }", {"id": lead_id}, role="sales_rep",
            user=other)
    late = reassign(owner)
    assert late["message"] == f"only an MQL waiting for acceptance can be reassigned; lead {lead_id} is in stage SAL"
    assert late["extensions"]["code"] == "invalid_state"


def routing_messages() -> list[dict]:
    """Take every message off the routing queue (as the RouteFunction's poller would)."""
    import boto3

    sqs, out = boto3.client("sqs"), []
    while True:
        batch = sqs.receive_message(QueueUrl=team_queue_url(), MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return out
        for message in batch:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=team_queue_url(), ReceiptHandle=message["ReceiptHandle"])


def deliver(messages: list[dict]) -> dict:
    from functions.route import handler

    return handler(sqs_event([json.dumps(m) for m in messages]), LambdaContext())


def test_sla_sweep_reassigns_an_unaccepted_lead_with_the_reason(team, monkeypatch):
    from leadflow.adapters import clock
    from leadflow.services.routing import sla_sweep
    from leadflow.store.leads import history_of

    lead_id = new_mql()
    route(lead_id)
    first_owner = lead(lead_id).owner_id
    assert sla_sweep() == {"overdue": 0, "queued": 0, "requeued": 0}
    later = datetime.now(UTC) + timedelta(hours=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert sla_sweep(later) == {"overdue": 1, "queued": 1, "requeued": 0}
    assert lead(lead_id).owner_id == first_owner  # the sweep only finds and queues
    messages = routing_messages()
    assert messages == [{"leadId": lead_id, "check": "sla"}]  # ids only
    assert deliver(messages) == {"batchItemFailures": []}
    moved = lead(lead_id)
    assert moved.owner_id not in (None, first_owner)
    assert first_owner in moved.earlier_owners
    reasons = [h.reason for h in history_of(lead_id) if h.kind == "assignment"]
    assert reasons[-1].startswith("SLA missed")
    deliver(messages)  # redelivered: the lead is no longer overdue, nothing changes
    assert lead(lead_id).owner_id == moved.owner_id and lead(lead_id).version == moved.version
    assert sla_sweep(later)["overdue"] == 0  # the new rep has a new deadline


def test_the_sla_sweep_queues_many_overdue_leads_in_batches_and_stops_at_its_deadline(team, monkeypatch):
    """The sweep pages through every shard and sends ids in batches of ten; the RouteFunction
    reassigns each lead once, however often its message comes."""
    import time

    import boto3

    from leadflow.adapters import clock
    from leadflow.services import routing
    from leadflow.store.leads import history_of

    ids = [new_mql(i) for i in range(23)]
    route(*ids[:10])
    route(*ids[10:])
    owners = {i: lead(i).owner_id for i in ids}
    later = datetime.now(UTC) + timedelta(hours=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    monkeypatch.setattr(routing, "PAGE", 4)
    calls: list[tuple[str, int]] = []

    def record(model, params, **_):
        calls.append((model.name, len(params.get("Entries", [None]))))

    events = boto3._get_default_session().events
    events.register("before-parameter-build.sqs.*", record, unique_id="count-sends")
    try:
        stopped = routing.sla_sweep(later, deadline=time.monotonic())  # out of time after the first page
        assert 0 < stopped["queued"] == stopped["overdue"] <= 4
        swept = routing.sla_sweep(later, deadline=time.monotonic() + 60)
    finally:
        events.unregister("before-parameter-build.sqs.*", unique_id="count-sends")
    assert swept == {"overdue": 23, "queued": 23, "requeued": 0}
    sends = [size for name, size in calls if name.startswith("SendMessage")]
    assert {name for name, _ in calls} == {"SendMessageBatch"}  # never one message per call
    assert all(size <= 10 for size in sends) and sum(sends) == 23 + stopped["queued"]

    messages = routing_messages()
    assert len(messages) == 23 + stopped["queued"] and {m["leadId"] for m in messages} == set(ids)
    for chunk in range(0, len(messages), 10):
        assert deliver(messages[chunk:chunk + 10]) == {"batchItemFailures": []}
    deliver(messages[:10])  # a redelivery
    for lead_id in ids:
        assignments = [h for h in history_of(lead_id) if h.kind == "assignment"]
        assert len(assignments) == 2, lead_id  # routed, then reassigned once
        assert lead(lead_id).owner_id != owners[lead_id]
    assert routing.sla_sweep(later)["overdue"] == 0


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
    close = (date.today() + timedelta(days=90)).isoformat()
    opp = graphql(gql, 'mutation($id: ID!, $close: Date!) { convertToOpportunity(id: $id, amount: 48000, '
                       'currency: "EUR", expectedClose: $close) { stage } }', {"id": mine, "close": close},
                  role="sales_rep", user=rep)
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
    from leadflow.services.routing import rep_loads

    settle()
    assert rep_loads()[rep].open_leads == 0


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


def sla_outcomes(rep: str) -> tuple[int, int]:
    from leadflow.services.controlling import sla_compliance

    today = datetime.now(UTC).date()
    groups = {g.key: g.total for g in sla_compliance(today - timedelta(days=1), today + timedelta(days=1),
                                                      "owner").groups}
    return (groups[rep].met, groups[rep].missed) if rep in groups else (0, 0)


def test_rejecting_an_mql_counts_its_sla_like_an_acceptance(team, monkeypatch):
    """The first sales decision on an MQL, accept or reject, decides met or missed."""
    from functions.graphql_api import handler as gql
    from leadflow.adapters import clock

    in_time, late, accepted = new_mql(1), new_mql(2), new_mql(3)
    route(in_time, late, accepted)

    def reject(lead_id: str, recycle: str = "true") -> dict:
        return graphql(gql, 'mutation($id: ID!) { rejectLead(id: $id, reason: "no_budget: next year", '
                            f'recycle: {recycle}) {{ stage }} }}', {"id": lead_id}, role="sales_rep",
                       user=lead(lead_id).owner_id)

    assert reject(in_time)["data"]["rejectLead"]["stage"] == "RECYCLED"
    assert graphql(gql, "mutation($id: ID!) { acceptLead(id: $id) { stage } }", {"id": accepted},
                   role="sales_rep", user=lead(accepted).owner_id)["data"]["acceptLead"]["stage"] == "SAL"
    later = datetime.now(UTC) + timedelta(hours=5)  # the SLA is 4 working hours, round the clock
    monkeypatch.setattr(clock, "now", lambda: later)
    assert reject(late, recycle="false")["data"]["rejectLead"]["stage"] == "DISQUALIFIED"
    rep_accepted = lead(accepted).owner_id
    met_before = sla_outcomes(rep_accepted)
    assert reject(accepted)["data"]["rejectLead"]["stage"] == "RECYCLED"  # after acceptance: no second outcome
    assert sla_outcomes(rep_accepted) == met_before
    from leadflow.services.controlling import sla_compliance

    today = datetime.now(UTC).date()
    total = sla_compliance(today - timedelta(days=1), today + timedelta(days=1)).groups[0].total
    assert (total.met, total.missed) == (2, 1)  # in-time rejection + acceptance met, late rejection missed


DEAL = """query($id: ID!) { lead(id: $id) { stage closeReason qualification { budget authority need timeline }
    opportunity { amount currency expectedClose lostReasonCode } } }"""


def open_pipeline(role: str = "finance") -> list:
    from functions.graphql_api import handler as gql

    today = datetime.now(UTC).date().isoformat()
    funnel = graphql(gql, 'query($d: Date!) { funnel(from: $d, to: $d) { groups { stages { stage '
                          'amounts { currency amount } openPipeline { currency amount } topRecycleReasons { reason } '
                          'topLostReasons { reason } } } } }', {"d": today}, role=role)
    funnel = funnel["data"]["funnel"]["groups"][0]["stages"]
    return {s["stage"]: s for s in funnel}


def test_deal_data_is_on_the_lead_and_opportunities_must_be_sane(team):
    from functions.graphql_api import handler as gql

    lead_id = new_mql(1)
    route(lead_id)
    rep = lead(lead_id).owner_id

    def act(mutation: str, **variables) -> dict:
        return graphql(gql, mutation, {"id": lead_id, **variables}, role="sales_rep", user=rep)

    act("mutation($id: ID!) { acceptLead(id: $id) { stage } }")
    act('mutation($id: ID!) { qualifyLead(id: $id, budget: "50k", authority: "CFO", need: "WMS", '
        'timeline: "Q2") { stage } }')
    convert = ("mutation($id: ID!, $amount: Float!, $close: Date!) { convertToOpportunity(id: $id, "
               'amount: $amount, currency: "EUR", expectedClose: $close) { stage } }')
    soon = (date.today() + timedelta(days=60)).isoformat()
    for amount, close, message in ((1e300, soon, "amount must be more than 0 and at most 10,000,000"),
                                   (0, soon, "amount must be more than 0"),
                                   (0.001, soon, "at least 0.01"),
                                   (48000, (date.today() - timedelta(days=1)).isoformat(), "lies in the past"),
                                   (48000, (date.today() + timedelta(days=4000)).isoformat(), "on or before")):
        refused = act(convert, amount=amount, close=close)
        assert refused["data"] is None and message in refused["errors"][0]["message"], (amount, close, refused)
    assert lead(lead_id).stage == "SQL"
    assert act(convert, amount=48000.5, close=soon)["data"]["convertToOpportunity"]["stage"] == "OPPORTUNITY"

    deal = act(DEAL)["data"]["lead"]
    assert deal["qualification"] == {"budget": "50k", "authority": "CFO", "need": "WMS", "timeline": "Q2"}
    assert deal["opportunity"] == {"amount": 48000.5, "currency": "EUR", "expectedClose": soon,
                                   "lostReasonCode": None}
    for_marketing = graphql(gql, DEAL, {"id": lead_id}, role="marketing")
    assert for_marketing["data"]["lead"]["opportunity"]["amount"] == 48000.5
    assert for_marketing["data"]["lead"]["qualification"]["budget"] is None
    assert "may not read Qualification.budget" in for_marketing["errors"][0]["message"]
    for_finance = graphql(gql, DEAL, {"id": lead_id}, role="finance")  # finance: aggregates only
    assert for_finance["data"]["lead"] is None and "only these roles" in for_finance["errors"][0]["message"]

    stages = open_pipeline()
    assert stages["OPPORTUNITY"]["openPipeline"] == [{"currency": "EUR", "amount": 48000.5}]
    assert stages["OPPORTUNITY"]["amounts"] == [{"currency": "EUR", "amount": 48000.5}]
    assert stages["SQL"]["openPipeline"] is None

    won = act('mutation($id: ID!) { closeOpportunity(id: $id, won: true, amount: 1e300) { stage } }')
    assert "amount must be" in won["errors"][0]["message"]
    act('mutation($id: ID!) { closeOpportunity(id: $id, won: true, amount: 50000, reason: "fast delivery") '
        '{ stage } }')
    assert act(DEAL)["data"]["lead"]["closeReason"] == "fast delivery"
    stages = open_pipeline()
    assert stages["OPPORTUNITY"]["openPipeline"] == []  # taken out of the pipeline when won
    assert stages["CUSTOMER"]["amounts"] == [{"currency": "EUR", "amount": 50000.0}]
    from leadflow.services.controlling import reconcile

    assert reconcile().ok


def test_reasons_reach_counters_only_as_configured_codes(team):
    from functions.graphql_api import handler as gql
    from leadflow.store.counters import scan_counter_items
    from leadflow.store.leads import history_of

    named, coded, prefixed, lost = new_mql(1), new_mql(2), new_mql(3), new_mql(4)
    route(named, coded, prefixed, lost)

    def act(mutation: str, lead_id: str, **variables) -> dict:
        return graphql(gql, mutation, {"id": lead_id, **variables}, role="sales_rep", user=lead(lead_id).owner_id)

    reject = ("mutation($id: ID!, $reason: String!, $code: String) { rejectLead(id: $id, reason: $reason, "
              "reasonCode: $code) { stage } }")
    unknown = act(reject, coded, reason="x", code="mueller_says_no")
    assert unknown["data"] is None
    assert "reasonCode must be one of no_budget, bad_timing" in unknown["errors"][0]["message"]
    act(reject, named, reason="Herr Mueller hat kein Interesse")
    act(reject, coded, reason="Herr Mueller plant erst 2028", code="bad_timing")
    act(reject, prefixed, reason="no_budget: laut Herrn Mueller")
    act("mutation($id: ID!) { acceptLead(id: $id) { stage } }", lost)
    act('mutation($id: ID!) { qualifyLead(id: $id, need: "WMS") { stage } }', lost)
    act('mutation($id: ID!, $close: Date!) { convertToOpportunity(id: $id, amount: 1000, currency: "EUR", '
        'expectedClose: $close) { stage } }', lost, close=(date.today() + timedelta(days=30)).isoformat())
    closed = act('mutation($id: ID!) { closeOpportunity(id: $id, won: false, reasonCode: "competitor", '
                 'reason: "Frau Schmidt nimmt Anbieter X") { stage closeReason opportunity { lostReasonCode } } }',
                 lost)["data"]["closeOpportunity"]
    assert closed == {"stage": "LOST", "closeReason": "Frau Schmidt nimmt Anbieter X",
                      "opportunity": {"lostReasonCode": "competitor"}}

    settle()
    counted = {name for item in scan_counter_items(lambda pk: True).values() for name in item
               if name.startswith("rsn_")}
    assert counted == {"rsn_RECYCLED_other", "rsn_RECYCLED_bad_timing", "rsn_RECYCLED_no_budget",
                       "rsn_LOST_competitor"}
    assert [h.reason for h in history_of(named)][-1] == "Herr Mueller hat kein Interesse"  # the text stays
    stages = open_pipeline()  # what finance sees
    assert {r["reason"] for r in stages["MQL"]["topRecycleReasons"]} == {"other", "bad_timing", "no_budget"}
    assert stages["OPPORTUNITY"]["topLostReasons"] == [{"reason": "competitor"}]


# ------------------------------------------------ a manager acts only on their own teams' leads
def _rep(rep_id: str, first_plz: str, last_plz: str) -> dict:
    return {"id": rep_id, "name": rep_id, "postal_ranges": [{"country": "DE", "from": first_plz, "to": last_plz}],
            "weight": 1, "max_open": 500, "daily_quota": 500}


TWO_TEAMS = {
    **{k: v for k, v in TEAM.items() if k != "teams"}, "default_team": "north",
    "teams": [
        {"id": "north", "name": "North", "office": "DE", "managers": [{"id": "boss", "name": "Bea Boss"}],
         "reps": [_rep("rep-a", "00000", "49999"), _rep("rep-b", "00000", "49999")]},
        {"id": "south", "name": "South", "office": "DE", "managers": [{"id": "south-boss", "name": "Sam South"}],
         "reps": [_rep("rep-s", "50000", "99999"), _rep("rep-t", "50000", "99999")]},
    ],
}


@pytest.fixture
def two_teams(aws):
    from leadflow.services import config

    config.publish("routing", TWO_TEAMS, author="admin-1")
    return TWO_TEAMS


def mql_in(postal_code: str, n: int = 0) -> str:
    """An MQL with a postal code (north: 0xxxx-4xxxx, south: 5xxxx-9xxxx), routed to that team's rep."""
    from leadflow.domain.lifecycle import Stage
    from leadflow.domain.submission import parse_submission
    from leadflow.services.capture import capture_lead
    from leadflow.services.lifecycle import transition
    from leadflow.store.leads import get_lead

    lead_id = capture_lead(parse_submission({"firstName": "Eva", "lastName": f"Lang{n}", "country": "DE",
                                             "postalCode": postal_code, "email": f"eva.lang{n}@lang-werke.de"})
                           ).lead_id
    transition(get_lead(lead_id), Stage.MQL, actor="rule:test", reason="score")
    route(lead_id)
    return lead_id


def test_a_manager_reads_and_acts_only_on_their_own_teams_leads(two_teams):
    from functions.graphql_api import handler as gql

    north, south = mql_in("20457", 1), mql_in("80802", 2)
    assert lead(north).owner_id in ("rep-a", "rep-b") and lead(south).owner_id in ("rep-s", "rep-t")

    def boss(query: str, variables: dict | None = None, user: str = "boss") -> dict:
        return graphql(gql, query, variables, role="sales_manager", user=user)

    def refused(result: dict, lead_id: str) -> bool:  # exactly like an unknown id
        error = result["errors"][0]
        return (result["data"] is None and error["message"] == f"no such lead: {lead_id}"
                and error["extensions"] == {"code": "not_found", "rule": "not_found", "field": "id"})

    read = "query($id: ID!) { lead(id: $id) { id firstName } }"
    assert boss(read, {"id": north})["data"]["lead"]["id"] == north
    assert boss(read, {"id": south}) == {"data": {"lead": None}}
    assert boss(read, {"id": south}, user="south-boss")["data"]["lead"]["id"] == south
    listed = boss("{ leads(stage: MQL) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in listed["data"]["leads"]["edges"]] == [north]

    reassign = 'mutation($id: ID!, $rep: String!) { reassignLead(id: $id, repId: $rep, reason: "cover") { ownerId } }'
    assert refused(boss(reassign, {"id": south, "rep": "rep-a"}), south)
    assert refused(boss(reassign, {"id": south, "rep": "rep-t" if lead(south).owner_id == "rep-s" else "rep-s"}),
                   south)
    to_south = boss(reassign, {"id": north, "rep": "rep-s"})["errors"][0]
    assert to_south["message"] == ("a manager gives leads to the reps of their own teams; rep-s is in team south "
                                   "(yours: rep-a, rep-b)")
    assert to_south["extensions"] == {"code": "not_permitted", "rule": "forbidden", "field": "repId"}
    other_north = "rep-b" if lead(north).owner_id == "rep-a" else "rep-a"
    assert boss(reassign, {"id": north, "rep": other_north})["data"]["reassignLead"]["ownerId"] == other_north

    for mutation in ("mutation($id: ID!) { acceptLead(id: $id) { stage } }",
                     'mutation($id: ID!) { rejectLead(id: $id, reason: "no fit") { stage } }',
                     'mutation($id: ID!) { setCreditworthiness(id: $id, rating: "poor") }',
                     'mutation($id: ID!) { correctLead(id: $id, patch: {city: "Berlin"}) { id } }',
                     "mutation($id: ID!) { withdrawConsent(id: $id) }"):
        assert refused(boss(mutation, {"id": south}), south), mutation
    assert lead(south).stage == "MQL" and lead(south).creditworthiness is None
    assert boss("mutation($id: ID!) { acceptLead(id: $id) { stage } }", {"id": north})["data"] == {
        "acceptLead": {"stage": "SAL"}}

    their_leads = boss('{ myLeads(repId: "rep-s") { edges { node { id } } } }')["errors"][0]
    assert "a manager sees the leads of their own teams' reps; 'rep-s' is not one of them" in their_leads["message"]
    today = date.today().isoformat()
    rows = boss("query($f: Date!, $t: Date!) { fairnessReport(from: $f, to: $t) { repId } }", {"f": today, "t": today})
    assert sorted(r["repId"] for r in rows["data"]["fairnessReport"]) == ["rep-a", "rep-b"]
    admin = graphql(gql, read, {"id": south}, role="admin")
    assert admin["data"]["lead"]["id"] == south


def test_a_lead_in_another_managers_queue_is_not_theirs(two_teams):
    from functions.graphql_api import handler as gql
    from leadflow.services import config

    away = {**TWO_TEAMS, "teams": [TWO_TEAMS["teams"][0], {**TWO_TEAMS["teams"][1], "reps": [
        {**_rep("rep-s", "50000", "99999"), "out_of_office": [{"from": "2000-01-01", "to": "2099-12-31"}]}]}]}
    config.publish("routing", away, author="admin-1")
    south = mql_in("80802")
    assert lead(south).queue_manager == "south-boss"
    read = "query($id: ID!) { lead(id: $id) { id } }"
    assert graphql(gql, read, {"id": south}, role="sales_manager", user="boss") == {"data": {"lead": None}}
    assert graphql(gql, read, {"id": south}, role="sales_manager", user="south-boss")["data"]["lead"]["id"] == south


# ------------------------------------------------ per-team rotation, capacity in a burst
class TransactionLog:
    """The item keys of every TransactWriteItems the store sends (PynamoDB's shared client), grouped
    by the lead whose item the transaction updates."""

    def __init__(self):
        from leadflow.store.models import ALL_MODELS, LeadModel, connection

        self.key_names = {m.Meta.table_name: [a.attr_name for a in (m._hash_key_attribute(), m._range_key_attribute())
                                              if a is not None] for m in ALL_MODELS}
        self.leads_table = LeadModel.Meta.table_name
        self.transactions: list[tuple[str, set]] = []
        self.events = connection().client.meta.events

    def _record(self, params, **_):
        keys, lead_id = set(), None
        for action in params["TransactItems"]:
            (body,) = action.values()
            key = body.get("Key") or {name: body["Item"][name] for name in self.key_names[body["TableName"]]}
            keys.add((body["TableName"], json.dumps(key, sort_keys=True)))
            if body["TableName"] == self.leads_table and "Key" in body:
                lead_id = body["Key"]["lead_id"]["S"]
        self.transactions.append((lead_id, keys))

    def __enter__(self):
        self.events.register("before-parameter-build.dynamodb.TransactWriteItems", self._record, unique_id="tx-log")
        return self

    def __exit__(self, *_):
        self.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", unique_id="tx-log")

    def shared(self) -> dict[tuple[str, str], set[str]]:
        """Each item written by the transactions of more than one lead, with those leads."""
        writers: dict[tuple[str, str], set[str]] = {}
        for lead_id, keys in self.transactions:
            for key in keys:
                writers.setdefault(key, set()).add(lead_id)
        return {key: leads for key, leads in writers.items() if len(leads) > 1}


@pytest.fixture
def fresh_emulator():
    """Forget what an earlier moto server of this process created (list it before aws_server)."""
    from moto import mock_aws

    with mock_aws():
        pass


def rotation_item(team_id: str) -> tuple[str, str]:
    from leadflow.store.models import RoutingStateModel

    return RoutingStateModel.Meta.table_name, json.dumps({"pk": {"S": f"rotation#{team_id}"}, "sk": {"S": "state"}},
                                                         sort_keys=True)


def in_parallel(work, groups: list[list[str]]) -> None:
    """Each group by its own worker, all at once; what gives up under contention comes again
    (as SQS redelivers it)."""
    from leadflow.domain.errors import ConcurrentUpdate

    barrier = threading.Barrier(len(groups))
    errors: list[BaseException] = []

    def deliver(item):
        for _ in range(5):
            try:
                return work(item)
            except ConcurrentUpdate:
                continue
        return work(item)

    def run(items):
        try:
            barrier.wait()
            for item in items:
                deliver(item)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(g,)) for g in groups]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def mql_only(postal_code: str, n: int) -> str:
    """An MQL in that postal code, not routed yet."""
    from leadflow.domain.lifecycle import Stage
    from leadflow.domain.submission import parse_submission
    from leadflow.services.capture import capture_lead
    from leadflow.services.lifecycle import transition
    from leadflow.store.leads import get_lead

    lead_id = capture_lead(parse_submission({"firstName": "Eva", "lastName": f"Lang{n}", "country": "DE",
                                             "postalCode": postal_code, "email": f"eva.lang{n}@lang-werke.de"})
                           ).lead_id
    transition(get_lead(lead_id), Stage.MQL, actor="rule:test", reason="score")
    return lead_id


def test_two_teams_route_concurrently_and_share_no_item_but_their_own_rotation(fresh_emulator, aws_server):
    """Each MQL's transaction writes its lead, history, log entry and outbox item, and one item it
    shares with other MQLs: its own team's rotation state. North and south never meet."""
    from leadflow.services import config
    from leadflow.services.routing import route_lead

    config.publish("routing", TWO_TEAMS, author="admin-1")
    north = [mql_only("20457", i) for i in range(8)]
    south = [mql_only("80802", 100 + i) for i in range(8)]
    with TransactionLog() as log:
        in_parallel(route_lead, [north[::2], south[::2], north[1::2], south[1::2]])
    assert Counter(lead(i).owner_id for i in north) == {"rep-a": 4, "rep-b": 4}  # exact rotation per team
    assert Counter(lead(i).owner_id for i in south) == {"rep-s": 4, "rep-t": 4}
    shared = log.shared()
    assert shared == {rotation_item("north"): set(north), rotation_item("south"): set(south)}
    committed = {}  # the last attempt of each lead: the one that committed
    for lead_id, keys in log.transactions:
        committed[lead_id] = keys
    assert set(committed) == set(north) | set(south)
    assert all(len(keys) == 5 for keys in committed.values())  # lead, history, log, outbox, team rotation


def test_a_reps_capacity_holds_in_a_burst_of_assignments(fresh_emulator, aws_server):
    """Twelve MQLs routed at once by four workers, nothing added up from the stream meanwhile: each
    rep gets exactly max_open, the rest goes to the manager's queue."""
    from leadflow.services import config
    from leadflow.services.routing import route_lead

    small = {**TEAM, "teams": [{**TEAM["teams"][0], "reps": [
        {**r, "max_open": 2} for r in TEAM["teams"][0]["reps"]]}]}
    config.publish("routing", small, author="admin-1")
    ids = [new_mql(i) for i in range(12)]
    in_parallel(route_lead, [ids[k::4] for k in range(4)])
    owners = Counter(lead(i).owner_id for i in ids)
    assert owners == {"rep-a": 2, "rep-b": 2, "rep-c": 2, None: 6}  # rep-d is away
    assert all(lead(i).queue_manager == "boss" for i in ids if lead(i).owner_id is None)
    from leadflow.services.routing import rep_loads

    loads = rep_loads()
    assert {r: loads[r].open_leads for r in ("rep-a", "rep-b", "rep-c")} == {"rep-a": 2, "rep-b": 2, "rep-c": 2}
