"""The acceptance SLA in working hours, as a sales manager would check it on a calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from leadflow.domain.sla import SlaPolicy, due_at, hours_for, is_overdue, is_working_day, local_time

BERLIN = ZoneInfo("Europe/Berlin")
VIENNA = ZoneInfo("Europe/Vienna")
LONDON = ZoneInfo("Europe/London")

OFFICE = {"start": "08:00", "end": "18:00", "days": [0, 1, 2, 3, 4], "timezone": "Europe/Berlin"}
POLICY = SlaPolicy.model_validate({
    "accept_within_working_hours": 4,
    "working_hours": {
        "DE": OFFICE,
        "AT": {**OFFICE, "timezone": "Europe/Vienna"},  # same hours: only the holidays differ
        "GB": {"start": "09:00", "end": "17:30", "timezone": "Europe/London"},
    },
    "default": {"start": "09:00", "end": "17:00", "timezone": "Europe/Berlin"},
})


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def due_local(assigned: datetime, calendar: str = "DE", policy: SlaPolicy = POLICY) -> datetime:
    due = due_at(assigned.astimezone(UTC), calendar, policy)
    assert due.tzinfo is UTC
    return local_time(due, calendar, policy)


# ----------------------------------------------------------------- ordinary days


def test_within_the_working_day_the_deadline_is_four_hours_later():
    assert due_local(berlin(2026, 7, 7, 9, 30)) == berlin(2026, 7, 7, 13, 30)


def test_a_lead_assigned_late_afternoon_carries_over_to_the_next_morning():
    # Tuesday 16:00: two hours today, two tomorrow from 08:00.
    assert due_local(berlin(2026, 7, 7, 16, 0)) == berlin(2026, 7, 8, 10, 0)


def test_a_lead_assigned_in_the_evening_starts_its_clock_next_morning():
    assert due_local(berlin(2026, 7, 7, 21, 15)) == berlin(2026, 7, 8, 12, 0)


def test_a_lead_assigned_before_office_hours_starts_at_eight():
    assert due_local(berlin(2026, 7, 7, 6, 45)) == berlin(2026, 7, 7, 12, 0)


def test_friday_afternoon_lead_is_due_monday_morning():
    assert due_local(berlin(2026, 7, 10, 17, 0)) == berlin(2026, 7, 13, 11, 0)


def test_weekend_lead_is_due_monday_at_noon():
    assert due_local(berlin(2026, 7, 11, 10, 0)) == berlin(2026, 7, 13, 12, 0)
    assert due_local(berlin(2026, 7, 12, 23, 59)) == berlin(2026, 7, 13, 12, 0)


def test_exactly_the_working_hours_left_today_end_at_closing_time():
    assert due_local(berlin(2026, 7, 7, 14, 0)) == berlin(2026, 7, 7, 18, 0)


def test_a_longer_sla_spans_several_working_days():
    two_days = POLICY.model_copy(update={"accept_within_working_hours": 20})
    assert due_local(berlin(2026, 7, 9, 12, 0), policy=two_days) == berlin(2026, 7, 13, 12, 0)  # Thu -> Mon


def test_fractional_hours_are_minutes():
    half_hour = POLICY.model_copy(update={"accept_within_working_hours": 0.5})
    assert due_local(berlin(2026, 7, 7, 17, 45), policy=half_hour) == berlin(2026, 7, 8, 8, 15)


# ----------------------------------------------------------------- public holidays


def test_german_unity_day_does_not_count():
    # Thursday 2 Oct 2025 16:00; Friday 3 Oct is a public holiday.
    assert due_local(berlin(2025, 10, 2, 16, 0)) == berlin(2025, 10, 6, 10, 0)


def test_christmas_eve_afternoon_is_due_monday_after_christmas():
    # Thu 24 Dec 2026 17:00: one hour on the 24th; 25 Dec (Fri) and 26 Dec (Sat) are holidays.
    assert due_local(berlin(2026, 12, 24, 17, 0)) == berlin(2026, 12, 28, 11, 0)


def test_easter_holidays_are_skipped_on_both_sides_of_the_weekend():
    # Thursday before Easter 2026; Good Friday 3 Apr and Easter Monday 6 Apr are holidays.
    assert due_local(berlin(2026, 4, 2, 16, 0)) == berlin(2026, 4, 7, 10, 0)


def test_new_years_day_is_skipped():
    assert due_local(berlin(2026, 12, 31, 16, 0)) == berlin(2027, 1, 4, 10, 0)


def test_company_closing_days_count_like_holidays():
    closed = SlaPolicy.model_validate({"accept_within_working_hours": 4, "working_hours": {
        "DE": {**OFFICE, "closed_dates": [date(2026, 12, 24), date(2026, 12, 31)]}}})
    assert due_local(berlin(2026, 12, 24, 10, 0), policy=closed) == berlin(2026, 12, 28, 12, 0)
    assert not is_working_day(date(2026, 12, 24), "DE", closed)
    assert is_working_day(date(2026, 12, 24), "DE", POLICY)


def test_austria_observes_8_december_germany_does_not():
    # Monday 7 Dec 2026 16:00 local; Tuesday 8 Dec is Mariä Empfängnis in Austria only.
    assert due_local(berlin(2026, 12, 7, 16, 0), "DE") == berlin(2026, 12, 8, 10, 0)
    assert due_local(datetime(2026, 12, 7, 16, 0, tzinfo=VIENNA), "AT") == datetime(2026, 12, 9, 10, 0,
                                                                                   tzinfo=VIENNA)


def test_a_bavarian_office_also_has_epiphany_off():
    # Tuesday 6 Jan 2026 is a holiday in Bavaria (DE-BY), not in Germany as a whole.
    monday = berlin(2026, 1, 5, 16, 0)
    assert due_local(monday, "DE") == berlin(2026, 1, 6, 10, 0)
    assert due_local(monday, "DE-BY") == berlin(2026, 1, 7, 10, 0)
    assert hours_for("DE-BY", POLICY) == hours_for("DE", POLICY)  # DE hours, Bavarian holidays


def test_a_country_without_own_hours_uses_the_default_hours_and_its_own_holidays():
    # France is not configured: default 09:00-17:00, but 14 July (Tuesday) is still a holiday there.
    assert due_local(berlin(2026, 7, 13, 15, 0), "FR") == berlin(2026, 7, 15, 11, 0)
    assert due_local(berlin(2026, 7, 13, 15, 0), "DE") == berlin(2026, 7, 14, 9, 0)


def test_each_country_counts_on_its_own_wall_clock():
    # The same moment is 16:00 in London (office until 17:30) and 17:00 in Berlin (office until 18:00).
    assigned = datetime(2026, 7, 7, 15, 0, tzinfo=UTC)
    assert due_local(assigned, "GB") == datetime(2026, 7, 8, 11, 30, tzinfo=LONDON)  # 1.5 h today + 2.5 h
    assert due_local(assigned, "DE") == berlin(2026, 7, 8, 11, 0)  # 1 h today + 3 h


# ----------------------------------------------------------------- daylight saving time


def test_spring_forward_weekend_neither_adds_nor_loses_an_hour():
    # Friday 27 Mar 2026 16:00 CET; clocks go forward on Sunday 29 March.
    due = due_at(berlin(2026, 3, 27, 16, 0).astimezone(UTC), "DE", POLICY)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert local_time(due, "DE", POLICY) == berlin(2026, 3, 30, 10, 0)


def test_fall_back_weekend_neither_adds_nor_loses_an_hour():
    # Friday 23 Oct 2026 17:00 CEST; clocks go back on Sunday 25 October.
    due = due_at(berlin(2026, 10, 23, 17, 0).astimezone(UTC), "DE", POLICY)
    assert due == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)  # 11:00 CET


def test_round_the_clock_team_counts_real_hours_across_the_switch():
    always = SlaPolicy.model_validate({"accept_within_working_hours": 24, "default": {
        "start": "00:00", "end": "24:00", "days": [0, 1, 2, 3, 4, 5, 6], "timezone": "Europe/Berlin"}})
    assigned = berlin(2026, 3, 28, 12, 0).astimezone(UTC)  # Saturday; Sunday has only 23 hours
    due = due_at(assigned, "XX", always)
    assert due - assigned == timedelta(hours=24)
    assert local_time(due, "XX", always) == berlin(2026, 3, 29, 13, 0)


# ----------------------------------------------------------------- overdue and input checks


def test_accepting_exactly_at_the_deadline_is_in_time():
    due = due_at(berlin(2026, 7, 7, 9, 0).astimezone(UTC), "DE", POLICY)
    assert not is_overdue(due, due)
    assert not is_overdue(due, due - timedelta(minutes=1))
    assert is_overdue(due, due + timedelta(seconds=1))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(datetime(2026, 7, 7, 9, 0), "DE", POLICY)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_overdue(datetime(2026, 7, 7, 9, 0, tzinfo=UTC), datetime(2026, 7, 7, 10, 0))


@pytest.mark.parametrize("change,message", [
    ({"accept_within_working_hours": 0}, "greater than 0"),
    ({"working_hours": {"DE": {**OFFICE, "start": "18:00", "end": "08:00"}}}, "must be before end"),
    ({"working_hours": {"DE": {**OFFICE, "start": "8 Uhr"}}}, "not a time of day"),
    ({"working_hours": {"DE": {**OFFICE, "days": [0, 7]}}}, "weekday 7 does not exist"),
    ({"working_hours": {"DE": {**OFFICE, "days": []}}}, "at least 1 item"),
    ({"working_hours": {"DE": {**OFFICE, "timezone": "Europe/Bielefeld"}}}, "unknown time zone"),
    ({"working_hours": {"Germany": OFFICE}}, "country code like 'DE'"),
    ({"working_hours": {"QQ": OFFICE}}, "no public-holiday calendar for country QQ"),
    ({"working_hours": {"DE-XY": OFFICE}}, "DE has no subdivision XY"),
])
def test_a_bad_policy_is_refused_with_the_reason(change, message):
    document = {"accept_within_working_hours": 4, "working_hours": {"DE": OFFICE}, **change}
    with pytest.raises(ValidationError, match=message):
        SlaPolicy.model_validate(document)
