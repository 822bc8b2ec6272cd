"""Routing of MQLs to reps, as a head of sales would check it: who got which lead, why,
and whether the rotation is fair."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from leadflow.domain.errors import InvalidConfig
from leadflow.domain.routing import (
    ACCOUNT_OWNER,
    ALERT_KEY_ACCOUNT_OWNER_AWAY,
    ALERT_NO_ELIGIBLE_REP,
    ALERT_SLA_MISSED,
    ALREADY_ASSIGNED,
    MANAGER_QUEUE,
    QUEUE_MANAGER,
    QUEUE_REP,
    ROTATION,
    Assignment,
    LeadFacts,
    RepLoad,
    RoutingRules,
    fairness_report,
    reassign_overdue,
    rep_loads,
    route,
    sync_rotation_state,
)
from leadflow.domain.sla import due_at

ROUTING_YAML = Path(__file__).resolve().parents[2] / "config" / "routing.yaml"
TODAY = date(2026, 7, 7)  # a Tuesday
SLA = {"accept_within_working_hours": 4, "working_hours": {"DE": {"start": "08:00", "end": "18:00"}}}


def rep(rep_id: str, weight: float = 1, **extra) -> dict:
    return {"id": rep_id, "name": rep_id.title(), "weight": weight, "max_open": 1000, "daily_quota": 1000, **extra}


def rules_with(*reps: dict, version: int = 1, **extra) -> RoutingRules:
    return RoutingRules.from_dict({
        "version": version, "sla": SLA, **extra,
        "teams": [{"id": "inside", "name": "Inside Sales", "managers": [{"id": "boss", "name": "Katrin Vogel"}],
                   "reps": list(reps)}],
    })


def away_on(day: date) -> list[dict]:
    return [{"from": (day - timedelta(days=3)).isoformat(), "to": (day + timedelta(days=10)).isoformat()}]


class Router:
    """Routes leads the way the service does: each team's rotation state carried between calls,
    the reps' loads read from those states and from what left their pipelines."""

    def __init__(self, rules: RoutingRules):
        self.rules = rules
        self.states: dict[str, dict] = {}
        self.left: dict[str, dict[str, int]] = {}  # the `load#open` counters: {rep: {"left": n}}
        self.today = TODAY
        self.decisions = []

    @property
    def state(self) -> dict:
        """The state of the first team (the only one in most tests)."""
        return self.states.get(self.rules.teams[0].id, {})

    def __call__(self, lead: LeadFacts, today: date | None = None, **kw):
        today = today or self.today
        loads = rep_loads(self.rules, self.states, self.left, today)
        decision = route(lead, self.rules, loads, self.states, today, **kw)
        if decision.state_changed:
            self.states[decision.team_id] = decision.new_rotation_state
        self.decisions.append(decision)
        return decision

    def many(self, count: int, prefix: str = "L", **kw) -> Counter:
        return Counter(self(LeadFacts(f"{prefix}{i}", "DE", "80331"), **kw).rep_id for i in range(count))

    def new_day(self) -> None:
        self.today += timedelta(days=1)


def assert_shares(counts: Counter, weights: dict[str, float], tolerance: float = 0.10) -> None:
    total = sum(counts[r] for r in weights)
    for rep_id, weight in weights.items():
        expected = total * weight / sum(weights.values())
        assert abs(counts[rep_id] - expected) <= tolerance * expected, (rep_id, counts[rep_id], expected)


# ============================================================ the acceptance scenario


def test_200_mqls_over_weights_1_1_2_1_with_the_last_rep_out_of_office():
    rules = rules_with(rep("anna"), rep("ben"), rep("clara", 2), rep("dora", 1, out_of_office=away_on(TODAY)))
    router = Router(rules)
    leads = [LeadFacts(f"MQL-{i:03}", "DE", "80331", ("warehouse",)) for i in range(200)]

    first = [router(lead) for lead in leads]
    counts = Counter(d.rep_id for d in first)

    assert counts["dora"] == 0
    assert_shares(counts, {"anna": 1, "ben": 1, "clara": 2})
    assert counts == {"anna": 50, "ben": 50, "clara": 100}  # smooth WRR: exact over whole cycles
    assert all(d.queue == QUEUE_REP and d.rule == ROTATION for d in first)
    assert all("skipped: Dora (out of office until 2026-07-17)" in d.reason for d in first)

    # Every lead delivered a second time (SQS is at-least-once): same rep, rotation untouched.
    state = router.state
    again = [router(replace(lead, assigned_rep_id=d.rep_id)) for lead, d in zip(leads, first, strict=True)]
    assert [d.rep_id for d in again] == [d.rep_id for d in first]
    assert {d.rule for d in again} == {ALREADY_ASSIGNED}
    assert router.state == state

    report = {row.rep_id: row for row in fairness_report(
        [Assignment(d.rep_id, datetime(2026, 7, 7, 10, tzinfo=UTC), d.candidates_considered) for d in first],
        rules, (TODAY, TODAY))}
    assert report["dora"].assigned == 0 and report["dora"].expected == 0
    assert all(report[r].within(0.10) for r in ("anna", "ben", "clara"))


def test_the_rotation_interleaves_instead_of_handing_out_blocks():
    router = Router(rules_with(rep("anna"), rep("ben"), rep("clara", 2)))
    sequence = [router(LeadFacts(f"L{i}", "DE")).rep_id for i in range(12)]
    assert sequence[:4] == ["clara", "anna", "ben", "clara"]
    longest_run = max(len(list(g)) for _, g in itertools.groupby(sequence))
    assert longest_run <= 2
    for start in range(0, 12, 4):  # every cycle of four leads: 1, 1, 2
        assert Counter(sequence[start:start + 4]) == {"anna": 1, "ben": 1, "clara": 2}


def test_a_rep_back_from_holiday_gets_no_burst_of_catch_up_leads():
    dora_away = [{"from": "2026-07-01", "to": "2026-07-10"}]
    router = Router(rules_with(rep("anna"), rep("ben"), rep("clara", 2), rep("dora", out_of_office=dora_away)))
    router.many(100, today=date(2026, 7, 7))
    back = [router(LeadFacts(f"B{i}", "DE"), today=date(2026, 7, 13)).rep_id for i in range(10)]
    assert 1 <= back.count("dora") <= 3  # her weight share of 10 is 2, not the 20 she "missed"
    assert "dora" in back[:5]


def test_with_a_different_pool_for_every_lead_nobody_drifts_from_their_fair_count():
    """Territories, skills, absences and full reps change the pool lead by lead; each rep
    still stays within two leads of what their weight promised for the leads they could take."""
    weights = {"anna": 1, "ben": 1, "clara": 2, "dora": 0.5, "emil": 3}
    rules = rules_with(*(rep(r, w) for r, w in weights.items()))
    chance = random.Random(6)
    state, owed, got, worst = {}, Counter(), Counter(), 0.0
    for i in range(3000):
        pool = [r for r in weights if chance.random() < 0.6] or ["anna"]
        away = {r: RepLoad(r, assigned_today=1000) for r in weights if r not in pool}  # full: skipped
        decision = route(LeadFacts(f"L{i}", "DE"), rules, away, {"inside": state}, TODAY)
        state = decision.new_rotation_state
        assert set(decision.candidates_considered) == set(pool)
        for r in pool:
            owed[r] += weights[r] / sum(weights[p] for p in pool)
        got[decision.rep_id] += 1
        worst = max(worst, *(abs(owed[r] - got[r]) for r in weights))
    assert worst < 2


def test_an_inactive_rep_is_skipped_like_an_absent_one():
    router = Router(rules_with(rep("anna"), rep("ben", active=False)))
    counts = router.many(10)
    assert counts == {"anna": 10}
    assert "Ben (inactive)" in router.decisions[-1].reason


# ============================================================ team changes


def test_a_new_rep_joins_without_a_reset_and_without_a_burst():
    router = Router(rules_with(rep("anna"), rep("ben"), rep("clara", 2), version=1))
    router.many(101)
    router.rules = rules_with(rep("anna"), rep("clara", 2), rep("eddie"), version=2)  # ben leaves, eddie joins
    after = [router(LeadFacts(f"N{i}", "DE")).rep_id for i in range(200)]
    assert "ben" not in after
    assert after[:4].count("eddie") <= 2
    assert_shares(Counter(after), {"anna": 1, "clara": 2, "eddie": 1})


def test_frequent_team_edits_do_not_starve_the_last_rep_in_the_list():
    """A rotation that restarts at the top of the list on every team change (HubSpot)
    gives the first reps everything when the team is edited often. Ours does not."""
    base = [rep("anna"), rep("ben"), rep("clara")]
    with_temp = rules_with(*base, rep("temp"), version=2)
    without_temp = rules_with(*base, version=1)
    router = Router(without_temp)
    for i in range(300):
        router.rules = with_temp if (i // 2) % 2 else without_temp  # a config change every two leads
        router(LeadFacts(f"L{i}", "DE"))
    counts = Counter(d.rep_id for d in router.decisions)
    assert_shares(counts, {"anna": 1, "ben": 1, "clara": 1})


def test_a_rep_switched_off_and_on_keeps_their_place_and_their_share():
    base = [rep("anna"), rep("ben"), rep("clara")]
    temp_on, temp_off = rules_with(*base, rep("temp"), version=2), rules_with(*base, rep("temp", active=False))
    router = Router(temp_off)
    assignments = []
    for i in range(300):
        router.rules = temp_on if (i // 2) % 2 else temp_off
        decision = router(LeadFacts(f"L{i}", "DE"))
        assignments.append(Assignment(decision.rep_id, datetime(2026, 7, 7, 9, tzinfo=UTC),
                                      decision.candidates_considered))
    report = fairness_report(assignments, temp_on, (TODAY, TODAY))
    assert all(row.within(0.10) for row in report), [(r.rep_id, r.assigned, r.expected) for r in report]
    assert {r.rep_id: r.expected for r in report} == {"anna": 87.5, "ben": 87.5, "clara": 87.5, "temp": 37.5}


def test_the_stored_state_follows_the_team_without_resetting_the_others():
    rules = rules_with(rep("anna"), rep("ben"), rep("clara", 2))
    state = {"current": {"anna": 1.5, "ben": -0.5, "clara": -2.0, "gone": 1.0}}
    synced = sync_rotation_state(state, rules)["current"]
    assert set(synced) == {"anna", "ben", "clara"}
    assert synced["anna"] - synced["ben"] == 2.0 and synced["ben"] - synced["clara"] == 1.5  # order kept
    assert sum(synced.values()) == pytest.approx(0, abs=1e-5)
    grown = sync_rotation_state({"current": synced}, rules_with(rep("anna"), rep("ben"), rep("clara", 2),
                                                                rep("dave")))["current"]
    assert grown["dave"] == 0 and grown["anna"] == synced["anna"]


# ============================================================ capacity


def test_full_reps_are_skipped_and_nobody_gets_more_than_their_daily_quota():
    router = Router(rules_with(rep("anna", daily_quota=5), rep("ben", daily_quota=5), rep("clara", 2, daily_quota=10)))
    decisions = [router(LeadFacts(f"L{i}", "DE")) for i in range(30)]
    counts = Counter(d.rep_id for d in decisions if d.queue == QUEUE_REP)
    assert counts == {"anna": 5, "ben": 5, "clara": 10}
    overflow = [d for d in decisions if d.queue == QUEUE_MANAGER]
    assert len(overflow) == 10  # not left unassigned: the manager's queue, with an alert
    assert all(d.alert == ALERT_NO_ELIGIBLE_REP and d.manager_id == "boss" for d in overflow)
    assert "daily quota reached: 5/5 today" in overflow[0].reason
    router.new_day()
    assert router(LeadFacts("next-day", "DE")).queue == QUEUE_REP


def test_a_rep_at_max_open_leads_is_skipped_until_leads_close():
    rules = rules_with(rep("anna", max_open=3), rep("ben", max_open=3))
    loads = {"anna": RepLoad("anna", open_leads=3)}
    decisions = [route(LeadFacts(f"L{i}", "DE"), rules, loads, {}, TODAY) for i in range(3)]
    assert {d.rep_id for d in decisions} == {"ben"}
    assert "Anna (full: 3/3 open leads)" in decisions[0].reason
    loads["anna"] = RepLoad("anna", open_leads=2)
    assert route(LeadFacts("L9", "DE"), rules, loads, {}, TODAY).rep_id == "anna"


def test_optionally_a_backlog_lowers_the_share_before_the_limit():
    reps = (rep("anna", max_open=40), rep("ben", max_open=40))
    plain = rules_with(*reps)
    scaled = rules_with(*reps, rotation={"scale_by_free_capacity": True})
    loads = {"anna": RepLoad("anna", open_leads=30), "ben": RepLoad("ben", open_leads=0)}
    def run(rules):
        state, counts = {}, Counter()
        for i in range(20):
            d = route(LeadFacts(f"L{i}", "DE"), rules, loads, {"inside": state}, TODAY)
            state, counts[d.rep_id] = d.new_rotation_state, counts[d.rep_id] + 1
        return counts
    assert run(plain) == {"anna": 10, "ben": 10}
    assert run(scaled)["ben"] >= 15  # anna has 10 of 40 free, ben 40 of 40


# ============================================================ account owner, key accounts


def test_an_existing_customer_goes_to_the_account_owner_not_the_rotation():
    router = Router(rules_with(rep("anna"), rep("ben"), rep("clara", 2)))
    state = router.state
    decision = router(LeadFacts("L1", "DE", "80331", account_owner_id="ben"))
    assert (decision.rep_id, decision.rule) == ("ben", ACCOUNT_OWNER)
    assert decision.reason == "account owner of existing customer"
    # the rotation's turn is not used up; the lead counts against Ben's capacity
    assert decision.new_rotation_state.get("current") == state.get("current")
    assert decision.new_rotation_state["assigned"] == {"ben": 1}


def test_the_account_owner_keeps_the_account_even_when_full():
    rules = rules_with(rep("anna", max_open=2), rep("ben"))
    decision = route(LeadFacts("L1", "DE", account_owner_id="anna", is_key_account=True), rules,
                     {"anna": RepLoad("anna", open_leads=2)}, {}, TODAY)
    assert decision.rep_id == "anna"
    assert "owner is full: 2/2 open leads" in decision.reason


def test_customer_whose_owner_is_on_holiday_is_routed_by_the_rules_and_says_so():
    rules = rules_with(rep("anna", out_of_office=away_on(TODAY)), rep("ben"))
    decision = route(LeadFacts("L1", "DE", account_owner_id="anna"), rules, {}, {}, TODAY)
    assert (decision.rep_id, decision.rule) == ("ben", ROTATION)
    assert decision.reason.startswith("existing customer: owner Anna is out of office until 2026-07-17; "
                                      "routed by the rules")


def test_a_key_account_whose_owner_is_away_waits_for_the_owners_manager_never_the_rotation():
    rules = RoutingRules.from_dict({"version": 1, "sla": SLA, "teams": [{
        "id": "inside", "name": "Inside", "managers": [{"id": "boss", "name": "Katrin Vogel"},
                                                       {"id": "keyacc", "name": "Uwe Brandt"}],
        "reps": [rep("anna", manager_id="keyacc", out_of_office=away_on(TODAY)), rep("ben")]}]})
    decision = route(LeadFacts("L1", "DE", account_owner_id="anna", is_key_account=True), rules, {}, {}, TODAY)
    assert (decision.queue, decision.rep_id, decision.manager_id) == (QUEUE_MANAGER, None, "keyacc")
    assert decision.alert == ALERT_KEY_ACCOUNT_OWNER_AWAY
    assert decision.reason == ("key account: owner Anna is out of office until 2026-07-17; "
                               "to Uwe Brandt's queue (key accounts are never rotated)")


def test_a_key_account_without_a_known_owner_goes_to_the_team_manager():
    rules = rules_with(rep("anna"))
    for lead in (LeadFacts("L1", "DE", is_key_account=True),
                 LeadFacts("L2", "DE", is_key_account=True, account_owner_id="left.the.company")):
        decision = route(lead, rules, {}, {}, TODAY)
        assert (decision.queue, decision.manager_id, decision.rule) == (QUEUE_MANAGER, "boss", MANAGER_QUEUE)
    assert "not a rep in the routing rules" in decision.reason


# ============================================================ territory and skills (the shipped team)


@pytest.fixture(scope="module")
def dach() -> RoutingRules:
    return RoutingRules.from_dict(yaml.safe_load(ROUTING_YAML.read_text()))


def test_the_shipped_rules_load_and_resolve_team_manager_and_offices(dach):
    assert str(dach.version) == "1"
    assert {r.id for r in dach.reps} >= {"anna.becker", "jonas.wagner", "mehmet.yilmaz", "lena.hoffmann"}
    assert all(r.manager_id == "katrin.vogel" and r.team == "inside-sales-dach" for r in dach.reps)
    assert dach.rep("lena.hoffmann").office == "AT" and dach.rep("mehmet.yilmaz").office == "DE"
    assert RoutingRules.model_validate(yaml.safe_load(ROUTING_YAML.read_text())) == dach


def test_a_munich_lead_goes_to_a_southern_rep_with_the_skill(dach):
    fleet = route(LeadFacts("L1", "DE", "80331", ("fleet",)), dach, {}, {}, TODAY)
    assert fleet.rep_id == "anna.becker"  # the only southern rep with 'fleet'
    assert fleet.reason == "territory DE 70000-99999 + skill 'fleet', the only available rep"
    software = route(LeadFacts("L2", "DE", "80331", ("Software",)), dach, {}, {}, TODAY)
    assert software.rep_id == "jonas.wagner"
    both = route(LeadFacts("L3", "DE", "80331", ("warehouse",)), dach, {}, {}, TODAY)
    assert set(both.candidates_considered) == {"anna.becker", "jonas.wagner"}
    assert "weighted rotation among 2 reps" in both.reason


def test_north_and_austria_go_to_their_own_reps(dach):
    hamburg = route(LeadFacts("L1", "DE", "20095", ("fleet",)), dach, {}, {}, TODAY)
    assert set(hamburg.candidates_considered) == {"mehmet.yilmaz", "sophie.schulz"}
    for country, postal in (("AT", "1010"), ("CH", "8001"), ("LI", "9490")):
        assert route(LeadFacts("L", country, postal), dach, {}, {}, TODAY).rep_id == "lena.hoffmann"


def test_when_nobody_in_the_territory_has_the_skill_the_territory_alone_decides(dach):
    decision = route(LeadFacts("L1", "AT", "1010", ("fleet",)), dach, {}, {}, TODAY)
    assert decision.rep_id == "lena.hoffmann"
    assert "nobody available there has skill 'fleet': territory only" in decision.reason


def test_when_the_regional_reps_are_away_the_country_wide_rep_takes_over(dach):
    loads = {"anna.becker": RepLoad("anna.becker", open_leads=40)}
    decision = route(LeadFacts("L1", "DE", "80331", ("fleet",)), dach, loads, {}, date(2026, 8, 5))
    assert decision.rep_id == "mehmet.yilmaz"
    assert "overflow to reps covering all of DE" in decision.reason
    assert "Anna Becker (full: 40/40 open leads)" in decision.reason
    assert "Jonas Wagner (out of office until 2026-08-21)" in decision.reason


def test_nobody_covers_the_country_so_the_manager_gets_it_with_an_alert(dach):
    decision = route(LeadFacts("L1", "FR", "75001"), dach, {}, {}, TODAY)
    assert (decision.queue, decision.rep_id, decision.manager_id) == (QUEUE_MANAGER, None, "katrin.vogel")
    assert decision.alert == ALERT_NO_ELIGIBLE_REP
    assert decision.reason == "no eligible rep: nobody covers FR 75001; to Katrin Vogel's queue"


def test_everyone_away_sends_the_lead_to_the_manager_naming_each_reason():
    rules = rules_with(rep("anna", out_of_office=away_on(TODAY)), rep("ben", daily_quota=3))
    decision = route(LeadFacts("L1", "DE"), rules, {"ben": RepLoad("ben", assigned_today=3)}, {}, TODAY)
    assert decision.queue == QUEUE_MANAGER
    assert decision.reason == ("no eligible rep: everyone covering DE is unavailable: Anna (out of office until "
                               "2026-07-17), Ben (daily quota reached: 3/3 today); to Katrin Vogel's queue")
    assert decision.skipped == {"anna": "out of office until 2026-07-17", "ben": "daily quota reached: 3/3 today"}


@pytest.mark.parametrize("postal,covered", [
    ("80331", True), ("8 0331", True), ("79999", False), ("89999", True), ("90000", False), ("", False)])
def test_postal_ranges_are_prefix_ranges(postal, covered):
    rules = rules_with(rep("south", postal_ranges=[{"country": "DE", "from": "8", "to": "8"}]))
    decision = route(LeadFacts("L1", "DE", postal), rules, {}, {}, TODAY)
    assert (decision.rep_id == "south") is covered


def test_a_lead_without_country_only_reaches_reps_without_territory():
    rules = rules_with(rep("anywhere"), rep("de_only", countries=["DE"]))
    assert route(LeadFacts("L1", None), rules, {}, {}, TODAY).candidates_considered == ("anywhere",)


# ============================================================ determinism and concurrency


def test_the_same_inputs_give_the_same_decision_and_ties_go_by_rep_id():
    rules = rules_with(rep("zoe"), rep("adam"), rep("mia"))
    first = route(LeadFacts("L1", "DE"), rules, {}, {}, TODAY)
    assert first.rep_id == "adam"  # all equal: the smallest id
    assert route(LeadFacts("L1", "DE"), rules, {}, {}, TODAY) == first


def test_a_state_stored_as_json_or_decimal_gives_the_same_next_picks():
    rules = rules_with(rep("anna", 1.5), rep("ben", 0.7), rep("clara", 2.3))
    router = Router(rules)
    router.many(37)
    as_json = json.loads(json.dumps(router.state))
    as_decimal = {"current": {k: Decimal(str(v)) for k, v in router.state["current"].items()}}
    picks = []
    for state in (router.state, as_json, as_decimal):
        seq = []
        for i in range(10):
            d = route(LeadFacts(f"X{i}", "DE"), rules, {}, {"inside": state}, TODAY)
            seq.append(d.rep_id)
            state = d.new_rotation_state
        picks.append(seq)
    assert picks[0] == picks[1] == picks[2]


class VersionedStore:
    """What the service does in DynamoDB: the rotation state with a version, and the
    lead's owner, written together in one conditional transaction."""

    def __init__(self):
        self.state, self.version, self.owner = {}, 0, {}

    def read(self, lead_id):
        return self.version, self.state, self.owner.get(lead_id)

    def commit(self, version, lead_id, decision) -> bool:
        if version != self.version or (lead_id in self.owner and decision.rule != ALREADY_ASSIGNED):
            return False  # ConditionalCheckFailed: someone else was faster
        if decision.rule == ROTATION:
            self.state, self.version = decision.new_rotation_state, version + 1
            self.owner[lead_id] = decision.rep_id
        return True


def test_duplicate_and_concurrent_deliveries_assign_each_lead_exactly_once():
    rules = rules_with(rep("anna"), rep("ben"), rep("clara", 2))
    store = VersionedStore()
    deliveries = [f"L{i}" for i in range(100) for _ in range(2)]  # every lead delivered twice
    results = []
    # Two workers read the same version, then commit in turn; the loser retries.
    for first_id, second_id in zip(deliveries[::2], deliveries[1::2], strict=True):
        pending = [(lead_id, store.read(lead_id)) for lead_id in (first_id, second_id)]
        for lead_id, (version, state, owner) in pending:
            while True:
                decision = route(LeadFacts(lead_id, "DE", assigned_rep_id=owner), rules, {}, {"inside": state},
                                 TODAY)
                if store.commit(version, lead_id, decision):
                    results.append(decision)
                    break
                version, state, owner = store.read(lead_id)
    assert len(store.owner) == 100
    assert Counter(store.owner.values()) == {"anna": 25, "ben": 25, "clara": 50}
    assert Counter(d.rule for d in results) == {ROTATION: 100, ALREADY_ASSIGNED: 100}
    assert store.version == 100  # the rotation advanced once per lead, not per delivery


# ============================================================ SLA reassignment


def test_a_lead_not_accepted_in_time_is_reassigned_with_the_reason_in_its_history():
    rules = rules_with(rep("anna"), rep("ben"), rep("clara", 2))
    assigned_at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # 09:00 Berlin, Tuesday
    due = due_at(assigned_at, "DE", rules.sla)
    lead = LeadFacts("L1", "DE", assigned_rep_id="clara")
    in_time = reassign_overdue(lead, rules, {}, {}, assigned_at=assigned_at, due=due,
                               now=datetime(2026, 7, 7, 10, 59, tzinfo=UTC))
    assert in_time is None
    late = reassign_overdue(lead, rules, {}, {}, assigned_at=assigned_at, due=due,
                            now=datetime(2026, 7, 7, 11, 5, tzinfo=UTC))
    assert late.rep_id in {"anna", "ben"} and late.queue == QUEUE_REP
    assert late.alert == ALERT_SLA_MISSED
    assert late.reason.startswith("SLA missed: Clara did not accept within 4 working hours "
                                  "(assigned 2026-07-07 09:00, due 2026-07-07 13:00 CEST); reassigned: ")
    assert late.skipped["clara"] == "missed the SLA or rejected this lead before"


def test_when_every_rep_has_missed_it_the_manager_gets_the_lead():
    rules = rules_with(rep("anna"), rep("ben"))
    at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)
    decision = reassign_overdue(LeadFacts("L1", "DE", assigned_rep_id="ben"), rules, {}, {}, assigned_at=at,
                                due=at + timedelta(hours=4), now=at + timedelta(hours=5), earlier_rep_ids=["anna"])
    assert (decision.queue, decision.manager_id, decision.alert) == (QUEUE_MANAGER, "boss", ALERT_SLA_MISSED)
    assert "no eligible rep" in decision.reason


def test_a_key_account_owner_who_misses_the_sla_escalates_to_the_manager_not_the_rotation():
    rules = rules_with(rep("anna"), rep("ben"))
    at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)
    lead = LeadFacts("L1", "DE", account_owner_id="anna", is_key_account=True, assigned_rep_id="anna")
    decision = reassign_overdue(lead, rules, {}, {}, assigned_at=at, due=at + timedelta(hours=4),
                                now=at + timedelta(hours=6))
    assert decision.queue == QUEUE_MANAGER and decision.rep_id is None
    assert "key account: owner Anna did not take it in time" in decision.reason


def test_the_sla_clock_runs_in_the_calendar_of_the_reps_office(dach):
    # Lena works from Vienna: 8 Dec is a holiday there, not in Germany.
    decision = route(LeadFacts("L1", "AT", "1010"), dach, {}, {}, date(2026, 12, 7))
    assert decision.sla_calendar == "AT"
    monday_4pm_vienna = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    due = due_at(monday_4pm_vienna, decision.sla_calendar, dach.sla_for(decision.team_id))
    assert due == datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # 08:00-17:00: 1 h Monday + 3 h Wednesday = 11:00


# ============================================================ fairness report


def test_the_fairness_report_compares_each_rep_with_their_weight_while_available():
    rules = rules_with(rep("anna", daily_quota=10), rep("ben", daily_quota=10), rep("clara", 2, daily_quota=20),
                       rep("dora", out_of_office=[{"from": "2026-07-06", "to": "2026-07-08"}]))
    monday = datetime(2026, 7, 6, 9, tzinfo=UTC)  # dora away
    friday = datetime(2026, 7, 10, 9, tzinfo=UTC)  # dora back
    assignments = ([("anna", monday)] * 3 + [("ben", monday)] * 2 + [("clara", monday)] * 5
                   + [("dora", friday), ("clara", friday), ("anna", friday), ("ben", friday), ("clara", friday)]
                   + [("anna", datetime(2026, 7, 20, 9, tzinfo=UTC))])  # outside the period
    rows = {row.rep_id: row for row in fairness_report(assignments, rules, (date(2026, 7, 6), date(2026, 7, 12)))}

    assert {r: rows[r].assigned for r in rows} == {"anna": 4, "ben": 3, "clara": 7, "dora": 1}
    # Monday's 10 leads: 2.5 / 2.5 / 5 / 0; Friday's 5: 1 / 1 / 2 / 1.
    assert {r: rows[r].expected for r in rows} == {"anna": 3.5, "ben": 3.5, "clara": 7.0, "dora": 1.0}
    assert rows["anna"].deviation == 0.1429  # 4 instead of 3.5: 14% more than her weight promised
    assert rows["clara"].deviation == 0 and rows["clara"].share == 0.4667
    assert rows["clara"].expected_share == 0.4667
    assert rows["dora"].days_available == 2 and rows["anna"].days_available == 5  # Mon-Fri, no holiday
    assert rows["anna"].quota_capacity == 50 and rows["anna"].quota_used == 0.08


def test_the_fairness_report_lists_leads_of_reps_who_have_left():
    rules = rules_with(rep("anna"))
    rows = fairness_report([("anna", datetime(2026, 7, 7, 9, tzinfo=UTC)),
                            ("gone", datetime(2026, 7, 7, 9, tzinfo=UTC))], rules, (TODAY, TODAY))
    gone = next(r for r in rows if r.rep_id == "gone")
    assert gone.weight is None and gone.assigned == 1 and gone.deviation is None


def test_the_report_counts_public_holidays_as_unavailable_days():
    rules = rules_with(rep("anna"))
    week_of_unity_day = (date(2025, 9, 29), date(2025, 10, 5))  # Friday 3 Oct 2025
    assert fairness_report([], rules, week_of_unity_day)[0].days_available == 4


# ============================================================ config validation


def base_document() -> dict:
    return {"version": 3, "sla": SLA, "teams": [
        {"id": "inside", "name": "Inside", "managers": [{"id": "boss", "name": "Boss"}], "reps": [rep("anna")]}]}


@pytest.mark.parametrize("change,where,message", [
    (lambda d: d["teams"][0]["reps"][0].update(weight=0), "teams.0.reps.0.weight", "greater than 0"),
    (lambda d: d["teams"][0]["reps"][0].pop("max_open"), "teams.0.reps.0.max_open", "Field required"),
    (lambda d: d["teams"][0]["reps"][0].update(postal_ranges=[{"country": "DE", "from": "89999", "to": "80000"}]),
     "teams.0.reps.0.postal_ranges.0", "'from' '89999' is after 'to' '80000'"),
    (lambda d: d["teams"][0]["reps"][0].update(postal_ranges=[{"country": "DE", "from": "8", "to": "89999"}]),
     "teams.0.reps.0.postal_ranges.0", "same number of characters"),
    (lambda d: d["teams"][0]["reps"][0].update(countries=["Germany"]), "teams.0.reps.0.countries.0",
     "should match pattern"),
    (lambda d: d["teams"][0]["reps"][0].update(out_of_office=[{"from": "2026-08-10", "to": "2026-08-01"}]),
     "teams.0.reps.0.out_of_office.0", "is after"),
    (lambda d: d["teams"][0]["reps"][0].update(manager_id="nobody"), "teams.0.reps",
     "manager_id 'nobody' is not a manager of team inside"),
    (lambda d: d["teams"][0]["reps"].append(rep("anna")), "document", "rep id 'anna' is already in team inside"),
    (lambda d: d["teams"][0]["reps"][0].update(office="DE-XY"), "document", "DE has no subdivision XY"),
    (lambda d: d["teams"][0]["reps"][0].update(wieght=2), "teams.0.reps.0.wieght", "Extra inputs"),
    (lambda d: d.update(default_team="outside"), "document", "default_team 'outside' is not a team"),
    (lambda d: d.update(teams=[]), "teams", "at least 1 item"),
])
def test_a_bad_rule_set_is_refused_naming_the_place_and_the_rule(change, where, message):
    document = base_document()
    change(document)
    with pytest.raises(InvalidConfig) as err:
        RoutingRules.from_dict(document)
    assert err.value.message.startswith(f"routing: {where}: ")
    assert message in err.value.message
    with pytest.raises(ValidationError):  # what services.config.register("routing", ...) relies on
        RoutingRules.model_validate(document)


def test_yaml_numbers_in_postal_ranges_are_read_as_text():
    document = base_document()
    document["teams"][0]["reps"][0]["postal_ranges"] = [{"country": "DE", "from": 80000, "to": 89999}]
    assert RoutingRules.from_dict(document).reps[0].postal_ranges[0].label() == "DE 80000-89999"


# ============================================================ one rotation state per team


def two_teams(north_reps: list[dict], south_reps: list[dict]) -> RoutingRules:
    return RoutingRules.from_dict({"version": 1, "sla": SLA, "teams": [
        {"id": "north", "name": "North", "managers": [{"id": "nora", "name": "Nora"}], "reps": north_reps},
        {"id": "south", "name": "South", "managers": [{"id": "sam", "name": "Sam"}], "reps": south_reps}]})


def test_each_team_rotates_in_its_own_state_and_a_shared_territory_is_split_by_weight():
    rules = two_teams([rep("anna"), rep("ben")], [rep("sven", 2)])  # everyone takes leads from anywhere
    router = Router(rules)
    for i in range(600):
        before = {t: dict(s) for t, s in router.states.items()}
        decision = router(LeadFacts(f"L{i}", "DE"))
        # only the team that got the lead has a new state
        assert {t for t in router.states if router.states[t] != before.get(t)} == {decision.team_id}
        assert decision.team_id == rules.rep(decision.rep_id).team
        assert set(decision.candidates_considered) == {"anna", "ben", "sven"}  # what the report weighs
    counts = Counter(d.rep_id for d in router.decisions)
    assert_shares(counts, {"anna": 1, "ben": 1, "sven": 2})  # the teams' draw: by weight, by the lead id
    assert abs(counts["anna"] - counts["ben"]) <= 1  # inside a team: the exact rotation
    assert set(router.states["north"]["current"]) == {"anna", "ben"}
    assert set(router.states["south"]["current"]) == {"sven"}
    again = route(LeadFacts("L7", "DE"), rules, {}, {}, TODAY)
    assert again.team_id == router.decisions[7].team_id  # a retry draws the same team
    assert "drawn by weight among the teams North, South" in again.reason


def test_a_reps_load_is_what_their_teams_states_assigned_minus_what_left_their_pipeline():
    rules = two_teams([rep("anna", max_open=3)], [rep("sven")])
    router = Router(rules)
    assert [router(LeadFacts(f"L{i}", "DE", account_owner_id="anna")).rep_id for i in range(3)] == ["anna"] * 3
    assert router.states["north"]["assigned"] == {"anna": 3} and "south" not in router.states
    # full at once, nothing needs to be added up first: the next lead goes to the other team
    decision = router(LeadFacts("L3", "DE"))
    assert decision.rep_id == "sven" and "Anna (full: 3/3 open leads)" in decision.reason
    router.left["anna"] = {"left": 1}  # a lead closed (counted from the stream, seconds later)
    assert rep_loads(rules, router.states, router.left, TODAY)["anna"].open_leads == 2
    # the counts before the upgrade (`open`), and a rep who moved team keeps what they were given
    moved = {"north": {"assigned": {"anna": 3}, "day": TODAY.isoformat(), "today": {"anna": 3}},
             "south": {"assigned": {"anna": 1}, "day": (TODAY - timedelta(days=1)).isoformat(), "today": {"anna": 1}}}
    load = rep_loads(rules, moved, {"anna": {"open": 5, "left": 2}}, TODAY)["anna"]
    assert (load.open_leads, load.assigned_today) == (5 + 3 + 1 - 2, 3)
    assert rep_loads(rules, moved, {}, TODAY + timedelta(days=1))["anna"].assigned_today == 0  # a new day
