"""Controlling rules without AWS: which counters a stage change moves, and what they say."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from leadflow.domain.controlling import (
    DIMENSIONS,
    add_into,
    choose_grain,
    counter_updates,
    money_of,
    percentile_hours,
    period_bounds,
    periods_between,
    reason_code,
    stage_metrics,
    time_bucket,
    with_dimensions,
)
from leadflow.domain.lifecycle import Stage, Transition

TZ = "Europe/Berlin"
AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DIMS = {"source": "web", "campaign": "spring", "last_campaign": "webinar", "owner": "rep-1"}


def test_every_transition_stays_well_inside_one_dynamodb_transaction():
    move = Transition("L1", Stage.MQL, Stage.SAL, AT, "rep-1")
    updates = counter_updates(move, DIMS, TZ, AT - timedelta(hours=5), captured_at=AT - timedelta(days=40),
                              first_time_in_stage=True, details={"sla_met": True})
    keys = [(u.pk, u.sk) for u in updates]
    assert len(keys) == len(set(keys)) == 3 * 5 * 2 + 5  # + the capture cohort: 35 of DynamoDB's 100
    assert {k[0] for k in keys} == {"day#2026-11-22", "week#2026-W47", "month#2026-11", "cohort#2026-10"}


def test_entered_first_exit_time_and_sla_land_on_the_right_items():
    move = Transition("L1", Stage.MQL, Stage.SAL, AT, "rep-1")
    updates = {(u.pk, u.sk): u.increments for u in counter_updates(
        move, DIMS, TZ, AT - timedelta(hours=5), captured_at=AT, first_time_in_stage=True,
        details={"sla_met": False})}
    assert updates[("month#2026-11", "SAL|owner|rep-1")] == {"entered": 1, "first": 1}
    assert updates[("day#2026-11-22", "MQL|last_campaign|webinar")] == {
        "exit_SAL": 1, f"tis_{time_bucket(5 * 3600)}": 1, "sla_missed": 1}
    assert updates[("cohort#2026-11", "SAL|campaign|spring")] == {"reached": 1}


def test_a_second_visit_counts_as_entered_but_not_again_in_the_cohort():
    move = Transition("L1", Stage.RECYCLED, Stage.MQL, AT, "rule:score")
    updates = counter_updates(move, DIMS, TZ, AT - timedelta(days=3), captured_at=AT - timedelta(days=90),
                              first_time_in_stage=False)
    assert not [u for u in updates if u.pk.startswith("cohort#")]
    assert all("first" not in u.increments for u in updates)
    assert {u.increments.get("entered") for u in updates if u.sk.startswith("MQL|")} == {1}


def test_side_exits_count_a_reason_code_and_won_deals_their_amount_in_cents():
    lost = Transition("L1", Stage.OPPORTUNITY, Stage.LOST, AT, "rep-1", "Price: too high for them")
    item = next(u for u in counter_updates(lost, DIMS, TZ) if u.sk == "OPPORTUNITY|all|all")
    assert item.increments == {"exit_LOST": 1, "rsn_LOST_price": 1}
    won = Transition("L1", Stage.OPPORTUNITY, Stage.CUSTOMER, AT, "rep-1", "won")
    item = next(u for u in counter_updates(won, DIMS, TZ, details={"amount": 12000.5, "currency": "eur"})
                if u.sk == "CUSTOMER|campaign|spring" and u.pk == "month#2026-11")
    assert item.increments == {"entered": 1, "first": 1, "amt_EUR": 1200050}


def test_capture_counts_the_lead_in_its_cohort_and_unset_dimensions_as_none():
    move = Transition("L1", None, Stage.LEAD, AT, "system:capture")
    updates = counter_updates(move, {"source": "fair", "campaign": None, "owner": None}, TZ, captured_at=AT)
    assert len(updates) == 3 * 5 + 5
    skus = {u.sk for u in updates if u.pk == "cohort#2026-11"}
    assert skus == {"LEAD|all|all", "LEAD|source|fair", "LEAD|campaign|(none)", "LEAD|last_campaign|(none)",
                    "LEAD|owner|(none)"}


@pytest.mark.parametrize("reason, code", [
    ("implausible: name_placeholder, city_country", "implausible"),
    ("duplicate of 01jx9z8y7w6v5t4s3r2q1p0n9m", "duplicate_of"),
    ("Kein Budget für 2027", "kein_budget_fuer"),
    ("rejected in review: spam", "rejected_in_review"),
    ("  ", "unspecified"),
    (None, "unspecified"),
    ("!!!", "other"),
    ("Price too high, the customer went with a cheaper offer from a competitor", "price_too_high_the_customer"),
])
def test_reason_codes_are_short_slugs_without_ids(reason, code):
    assert reason_code(reason) == code
    assert reason_code(code) == code  # an erasure may replace a reason by its code


def test_reason_codes_are_idempotent_on_arbitrary_text():
    rng = random.Random(3)
    alphabet = "abcäöüß XYZ019:_-./é"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert reason_code(reason_code(text)) == reason_code(text)
        assert len(reason_code(text)) <= 40 and "." not in reason_code(text)


def test_amounts_must_be_money():
    assert money_of({"amount": 10}) == ("EUR", 1000)
    assert money_of({"amount_cents": 250, "currency": "USD"}) == ("USD", 250)
    assert money_of({"sla_met": True}) is None
    for bad in ({"amount": -1}, {"amount": float("nan")}, {"amount": "12"}, {"amount": 1, "currency": "EURO"}):
        with pytest.raises(ValueError):
            money_of(bad)


def test_history_details_record_the_dimensions_that_counted():
    assert with_dimensions({"sla_met": True}, DIMS) == {"sla_met": True, "dims": DIMS}
    assert with_dimensions(None, {"source": "web"})["dims"] == {
        "source": "web", "campaign": None, "last_campaign": None, "owner": None}


def test_periods_cover_the_range_in_whole_periods():
    assert periods_between("month", date(2026, 1, 15), date(2026, 3, 1)) == ["2026-01", "2026-02", "2026-03"]
    assert periods_between("week", date(2026, 12, 30), date(2027, 1, 5)) == ["2026-W53", "2027-W01"]
    assert len(periods_between("day", date(2024, 2, 1), date(2024, 3, 1))) == 30
    assert period_bounds("week", "2026-W53") == (date(2026, 12, 28), date(2027, 1, 3))
    assert period_bounds("month", "2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert choose_grain(date(2026, 1, 1), date(2026, 12, 31)) == "month"
    assert choose_grain(date(2026, 1, 1), date(2026, 1, 31)) == "week"
    assert choose_grain(date(2026, 1, 1), date(2026, 1, 14)) == "day"


def test_median_and_p90_from_the_histogram_are_within_five_percent():
    rng = random.Random(11)
    for scale_hours in (0.2, 3, 40, 400):
        samples = [rng.lognormvariate(0, 1.2) * scale_hours for _ in range(5000)]
        histogram: dict[int, int] = defaultdict(int)
        for hours in samples:
            histogram[time_bucket(hours * 3600)] += 1
        exact_median = statistics.median(samples)
        exact_p90 = statistics.quantiles(samples, n=10)[-1]
        assert percentile_hours(histogram, 0.5) == pytest.approx(exact_median, rel=0.05)
        assert percentile_hours(histogram, 0.9) == pytest.approx(exact_p90, rel=0.05)
    assert percentile_hours({}, 0.5) is None


def test_stage_metrics_split_exits_into_moving_on_and_dropping_off():
    attributes = {"entered": 10, "first": 9, "exit_SAL": 6, "exit_RECYCLED": 3, "exit_DISQUALIFIED": 1,
                  "rsn_RECYCLED_no_budget": 2, "rsn_RECYCLED_no_need": 1, "rsn_DISQUALIFIED_spam": 1,
                  "sla_met": 5, "sla_missed": 1, f"tis_{time_bucket(7200)}": 10}
    m = stage_metrics(Stage.MQL, attributes)
    assert (m.entered, m.entered_first_time, m.exited, m.moved_on, m.drop_off) == (10, 9, 10, 6, 4)
    assert (m.conversion_rate, m.drop_off_rate) == (0.6, 0.4)
    assert [(r.reason, r.count) for r in m.top_reasons(Stage.RECYCLED, 5)] == [("no_budget", 2), ("no_need", 1)]
    assert m.median_hours == pytest.approx(2.0, rel=0.1)
    empty = stage_metrics(Stage.CUSTOMER, {})
    assert (empty.entered, empty.conversion_rate, empty.median_hours) == (0, None, None)


@dataclass
class _History:
    lead_id: str
    seq: int
    from_stage: str | None
    to_stage: str
    at: datetime
    actor: str = "t"
    reason: str | None = None
    details: dict | None = None


def test_recount_from_histories_equals_the_counters_the_transitions_wrote():
    from leadflow.services.controlling import recount

    captured = AT - timedelta(days=35)
    steps = [(None, "LEAD", captured, None, {"source": "web", "campaign": "spring"}),
             ("LEAD", "MQL", captured + timedelta(hours=2), None, None),
             ("MQL", "RECYCLED", captured + timedelta(days=3), "no budget", {"sla_met": True}),
             ("RECYCLED", "MQL", captured + timedelta(days=20), None, None),
             ("MQL", "SAL", captured + timedelta(days=21), None, {"sla_met": False}),
             ("SAL", "DISQUALIFIED", captured + timedelta(days=30), "competitor", None)]
    owners = [None, None, "rep-1", None, "rep-2", "rep-2"]
    written: dict = defaultdict(dict)
    history = []
    reached: set[str] = set()
    entered_at = None
    for seq, ((src, dst, at, reason, details), owner) in enumerate(zip(steps, owners), start=1):
        dims = {"source": "web", "campaign": "spring", "last_campaign": "spring", "owner": owner}
        move = Transition("L1", Stage(src) if src else None, Stage(dst), at, "t", reason)
        for u in counter_updates(move, dims, TZ, entered_at, captured_at=captured,
                                 first_time_in_stage=dst not in reached, details=details):
            add_into(written[(u.pk, u.sk)], u.increments)
        recorded = details if src is None else with_dimensions(details, dims)
        history.append(_History("L1", seq, src, dst, at, reason=reason, details=recorded))
        reached.add(dst)
        entered_at = at
    expected, approximate = recount({"L1": list(reversed(history))}, TZ)
    assert approximate == 0
    assert dict(expected) == dict(written)
    assert set(DIMENSIONS) == {k[1].split("|")[1] for k in written}


def test_the_open_pipeline_takes_out_what_an_opportunity_put_in():
    from leadflow.domain.controlling import pipeline_details

    opened = counter_updates(Transition("L1", Stage.SQL, Stage.OPPORTUNITY, AT, "rep-1"), DIMS, TZ,
                             AT - timedelta(days=2), captured_at=AT - timedelta(days=40),
                             details={"amount_cents": 480000, "currency": "EUR"})
    assert len(opened) == 3 * 5 * 2 + 5 + 5  # + the pipeline: 40 of DynamoDB's 100
    pipeline = {u.sk: u.increments for u in opened if u.pk == "pipeline"}
    assert pipeline["OPPORTUNITY|owner|rep-1"] == {"amt_EUR": 480000} and len(pipeline) == 5
    added = pipeline_details(480000, "EUR", DIMS)
    moved = {**DIMS, "last_campaign": "retouched", "owner": "rep-2"}  # dimensions changed while open
    won = counter_updates(Transition("L1", Stage.OPPORTUNITY, Stage.CUSTOMER, AT, "rep-2"), moved, TZ,
                          details={"amount": 5000, "currency": "EUR", "pipeline": added})
    taken = {u.sk: u.increments for u in won if u.pk == "pipeline"}
    assert taken["OPPORTUNITY|owner|rep-1"] == {"amt_EUR": -480000}  # from where it was added
    assert taken["OPPORTUNITY|last_campaign|webinar"] == {"amt_EUR": -480000}
    assert not [u for u in counter_updates(Transition("L1", Stage.OPPORTUNITY, Stage.LOST, AT, "r", "price"),
                                           DIMS, TZ) if u.pk == "pipeline"]  # opened before it was counted


def test_side_exits_count_the_recorded_code_not_the_text():
    move = Transition("L1", Stage.MQL, Stage.RECYCLED, AT, "rep-1", "Herr Mueller hat kein Budget")
    counted = {name for u in counter_updates(move, DIMS, TZ, details={"reason_code": "other"})
               for name in u.increments}
    assert "rsn_RECYCLED_other" in counted and not [n for n in counted if "mueller" in n]


def test_sales_rules_allow_listed_codes_and_other_only():
    from leadflow.domain.sales import SalesRules

    rules = SalesRules.from_dict({"reason_codes": {"RECYCLED": {"no_budget": "No budget"}},
                                  "max_deal_amount": 1000})
    assert rules.code_for(Stage.RECYCLED, "no budget: next year") == "no_budget"
    assert rules.code_for(Stage.RECYCLED, "Herr Mueller sagt ab") == "other"
    assert rules.code_for(Stage.RECYCLED, "x", "OTHER") == "other"
    with pytest.raises(ValueError, match="reasonCode must be one of no_budget, other"):
        rules.code_for(Stage.RECYCLED, "x", "mueller")
    assert rules.deal_amount_problem(1000) is None
    assert rules.deal_amount_problem(1000.01) and rules.deal_amount_problem(float("inf"))
    assert rules.close_date_problem(date(2026, 11, 21), date(2026, 11, 22))
    for bad in ({"reason_codes": {"SAL": {"x": "y"}}}, {"reason_codes": {"LOST": {"Bad Code": "y"}}},
                {"reason_codes": {"LOST": {"other": "y"}}}, {"max_deal_amount": 0}):
        with pytest.raises(ValueError):
            SalesRules.from_dict(bad)
