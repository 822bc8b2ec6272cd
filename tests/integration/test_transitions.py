"""Transitions on DynamoDB: conditional, recorded, counted; of two concurrent ones exactly one wins."""

from __future__ import annotations

import json
import threading

import pytest

from leadflow.domain.errors import ConcurrentUpdate, IllegalTransition
from leadflow.domain.lifecycle import Stage
from tests.helpers import LambdaContext, http_event, settle


def _new_lead() -> str:
    from functions.capture import handler

    body = {"firstName": "Jonas", "lastName": "Weber", "email": "jonas@weber-bau.de", "country": "DE",
            "source": "fair"}
    return json.loads(handler(http_event("POST", "/leads", body=body), LambdaContext())["body"])["id"]


def test_transition_appends_history_and_moves_counters(aws):
    from leadflow.services.lifecycle import transition
    from leadflow.store import leads as repo
    from leadflow.store.counters import counters_for

    lead_id = _new_lead()
    lead = transition(repo.get_lead(lead_id), Stage.MQL, actor="rule:score>=60")
    assert (lead.stage, lead.version) == ("MQL", 2)
    history = repo.history_of(lead_id)
    assert [(h.from_stage, h.to_stage, h.actor) for h in history] == [
        (None, "LEAD", "system:capture"), ("LEAD", "MQL", "rule:score>=60")]
    from leadflow.domain.controlling import period_key

    settle()  # the counters are added up from the outbox stream
    counters = counters_for(f"month#{period_key('month', lead.stage_entered_at, 'Europe/Berlin')}")
    assert counters["LEAD|source|fair"]["entered"] == 1
    assert counters["LEAD|source|fair"]["exit_MQL"] == 1
    assert counters["MQL|all|all"]["entered"] == 1


def test_illegal_transition_changes_nothing(aws):
    from leadflow.services.lifecycle import transition
    from leadflow.store import leads as repo

    lead_id = _new_lead()
    with pytest.raises(IllegalTransition):
        transition(repo.get_lead(lead_id), Stage.CUSTOMER, actor="someone")
    assert repo.get_lead(lead_id).version == 1
    assert len(repo.history_of(lead_id)) == 1


def test_stale_reads_lose(aws):
    from leadflow.services.lifecycle import transition
    from leadflow.store import leads as repo

    lead_id = _new_lead()
    stale = repo.get_lead(lead_id)
    transition(repo.get_lead(lead_id), Stage.MQL, actor="a")
    with pytest.raises(ConcurrentUpdate):
        transition(stale, Stage.DISQUALIFIED, actor="b", reason="spam")
    assert repo.get_lead(lead_id).stage == "MQL"


def test_of_concurrent_transitions_exactly_one_wins(aws_server):
    from leadflow.services.lifecycle import transition
    from leadflow.store import leads as repo

    lead_id = _new_lead()
    snapshots = [repo.get_lead(lead_id) for _ in range(6)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(snapshots))

    def attempt(i: int, lead) -> None:
        target = Stage.MQL if i % 2 else Stage.DISQUALIFIED
        barrier.wait()
        try:
            transition(lead, target, actor=f"worker-{i}", reason="test")
            outcomes.append("won")
        except ConcurrentUpdate:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(i, s)) for i, s in enumerate(snapshots)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]
    assert len(repo.history_of(lead_id)) == 2


def test_counters_follow_the_stream_and_reports_say_as_of_when(aws):
    """A capture commits its counter deltas with the lead; the counters consumer adds them up a
    moment later, and reports name the newest change they include."""
    from functions.graphql_api import handler as gql
    from leadflow.services.controlling import counted_as_of
    from leadflow.store import leads as repo
    from leadflow.store.counters import scan_counter_items
    from tests.helpers import CURRENT_STACK, graphql

    stack = CURRENT_STACK.pop("stack")  # no automatic settling: look before the consumer ran
    lead_id = _new_lead()
    assert counted_as_of() is None and scan_counter_items(lambda pk: pk.startswith("month#")) == {}
    settle(stack)
    captured = repo.history_of(lead_id)[0].at
    assert counted_as_of() == captured.replace(microsecond=captured.microsecond // 1000 * 1000)  # ms, as stored
    assert any(v.get("entered") == 1 for v in scan_counter_items(lambda pk: pk.startswith("month#")).values())
    day = captured.date().isoformat()
    funnel = graphql(gql, "query($d: Date!) { funnel(from: $d, to: $d) { asOf } }", {"d": day}, role="finance")
    assert funnel["data"]["funnel"]["asOf"].startswith(captured.isoformat()[:19])
