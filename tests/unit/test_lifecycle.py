"""The transition table, as a sales manager would read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from leadflow.domain.controlling import counter_updates, period_key, time_bucket
from leadflow.domain.errors import IllegalTransition, InvalidInput
from leadflow.domain.lifecycle import FUNNEL, SIDE_EXITS, TRANSITIONS, Stage, Transition, check_transition


@pytest.mark.parametrize("from_stage,to_stage", list(pairwise(FUNNEL)))
def test_every_funnel_step_is_allowed_in_order(from_stage, to_stage):
    check_transition(from_stage, to_stage, reason=None)


@pytest.mark.parametrize("from_stage,to_stage", [
    (Stage.LEAD, Stage.SAL), (Stage.LEAD, Stage.CUSTOMER), (Stage.MQL, Stage.OPPORTUNITY),
    (Stage.CUSTOMER, Stage.LEAD), (Stage.SQL, Stage.MQL), (Stage.OPPORTUNITY, Stage.SQL),
])
def test_skipping_or_going_back_is_refused_naming_the_allowed_moves(from_stage, to_stage):
    with pytest.raises(IllegalTransition) as err:
        check_transition(from_stage, to_stage, reason="x")
    assert f"cannot move to {to_stage.value}" in err.value.message
    assert "allowed:" in err.value.message


@pytest.mark.parametrize("exit_stage", sorted(SIDE_EXITS, key=lambda s: s.value))
def test_side_exits_need_a_reason(exit_stage):
    source = next(s for s, targets in TRANSITIONS.items() if exit_stage in targets)
    with pytest.raises(InvalidInput) as err:
        check_transition(source, exit_stage, reason="  ")
    assert err.value.field == "reason"
    check_transition(source, exit_stage, reason="no budget")


def test_customer_is_final_and_every_stage_has_a_row():
    assert TRANSITIONS[Stage.CUSTOMER] == frozenset()
    assert set(TRANSITIONS) == set(Stage)


def test_periods_follow_the_company_time_zone():
    late_evening_utc = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 2027 in Berlin
    assert period_key("day", late_evening_utc, "Europe/Berlin") == "2027-01-01"
    assert period_key("month", late_evening_utc, "Europe/Berlin") == "2027-01"
    assert period_key("week", late_evening_utc, "Europe/Berlin") == "2026-W53"


def test_a_transition_moves_entered_and_exit_counters_per_grain_and_dimension():
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    move = Transition("L1", Stage.LEAD, Stage.MQL, at, "rule:score")
    updates = counter_updates(move, {"source": "web", "campaign": None, "owner": None}, "Europe/Berlin",
                              entered_from_stage_at=at - timedelta(hours=3))
    entered = {(u.pk, u.sk) for u in updates if u.increments.get("entered")}
    assert ("day#2026-11-22", "MQL|source|web") in entered
    assert ("month#2026-11", "MQL|campaign|(none)") in entered
    exits = [u for u in updates if u.sk == "LEAD|all|all" and u.pk == "week#2026-W47"]
    assert exits[0].increments == {"exit_MQL": 1, f"tis_{time_bucket(3 * 3600)}": 1}
    # no item twice in one transaction (DynamoDB refuses that)
    assert len({(u.pk, u.sk) for u in updates}) == len(updates)


@pytest.mark.parametrize("closed", [Stage.DISQUALIFIED, Stage.LOST, Stage.RECYCLED])
def test_a_closed_lead_can_be_reopened_and_counts_as_a_new_entry_not_a_new_lead(closed):
    check_transition(closed, Stage.LEAD, reason="re-opened by a new request")
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    updates = counter_updates(Transition("L1", closed, Stage.LEAD, at, "system:capture", "re-opened"),
                              {"source": "web"}, "Europe/Berlin", captured_at=at - timedelta(days=90),
                              first_time_in_stage=False)
    lead_all = next(u for u in updates if (u.pk, u.sk) == ("month#2026-11", "LEAD|all|all"))
    assert lead_all.increments == {"entered": 1}  # entered again, not for the first time
    assert not [u for u in updates if u.pk.startswith("cohort#")]  # the cohort counted the lead once
