"""The acceptance SLA: a rep must accept an assigned lead within N working hours.

Working hours belong to a calendar: a country code (`DE`) or a country with a
subdivision (`DE-BY`, for the Bavarian holidays of a Munich office). Each
calendar has its hours, working days, time zone and optional company closing
days; the public holidays come from the maintained `holidays` package, never
from a list of our own. A calendar that is not configured falls back to the
policy's `default` hours with that country's public holidays.

Working time is counted in real elapsed time: a window is "08:00 to 18:00 local
time" and is converted to UTC day by day, so a DST switch neither adds nor
loses an hour of the SLA. All datetimes in and out are timezone-aware (UTC out).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_CALENDAR_KEY = re.compile(r"^([A-Z]{2})(?:-([A-Za-z0-9 ]{1,20}))?$")
# Searching for the end of an SLA gives up after this many calendar days
# (only reachable with a calendar that has almost no working days).
_MAX_DAYS = 400


def _minutes(value: str) -> int:
    match = _CLOCK.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a time of day like '08:00'")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > 24 * 60:
        raise ValueError(f"{value!r} is after 24:00")
    return minutes


class WorkingHours(BaseModel):
    """One calendar: when the people on it work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = "08:00"
    end: str = "18:00"  # "24:00" for a team that works until midnight
    days: Annotated[list[int], Field(min_length=1)] = [0, 1, 2, 3, 4]  # Monday = 0 ... Sunday = 6
    timezone: str = "Europe/Berlin"
    # Company closing days on top of the public holidays (e.g. 24 and 31 December).
    closed_dates: list[date] = []

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        _minutes(value)
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        wrong = [d for d in value if not 0 <= d <= 6]
        if wrong:
            raise ValueError(f"weekday {wrong[0]} does not exist; use 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'") from None
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if _minutes(self.start) >= _minutes(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SlaPolicy(BaseModel):
    """How fast a rep must accept a lead, and the calendars that count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accept_within_working_hours: Annotated[float, Field(gt=0, le=24 * 31)]
    # The rep's warning mail goes out this long before the deadline (wall-clock minutes; 0: none).
    warn_before_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 60
    # Calendar key ("DE", "AT", "DE-BY") -> hours. Keys name a country the
    # `holidays` package knows, optionally with one of its subdivisions.
    working_hours: dict[str, WorkingHours] = {}
    default: WorkingHours = WorkingHours()

    @field_validator("working_hours")
    @classmethod
    def _known_calendars(cls, value: dict[str, WorkingHours]) -> dict[str, WorkingHours]:
        for key in value:
            problem = calendar_problem(key)
            if problem:
                raise ValueError(problem)
        return value


def split_calendar(key: str | None) -> tuple[str | None, str | None]:
    """'DE-BY' -> ('DE', 'BY'); 'at' -> ('AT', None); None -> (None, None)."""
    if not key:
        return None, None
    country, _, subdivision = key.strip().partition("-")
    country = country.upper()
    if len(subdivision) <= 3:  # ISO 3166-2 codes are upper case; longer names ("Augsburg") stay as written
        subdivision = subdivision.upper()
    if not _CALENDAR_KEY.match(f"{country}-{subdivision}" if subdivision else country):
        return None, None
    return country, subdivision or None


def calendar_problem(key: str) -> str | None:
    """Why `key` is not a usable calendar key, or None when it is."""
    match = _CALENDAR_KEY.match(key)
    if not match:
        return f"calendar {key!r} must be a country code like 'DE' or country-subdivision like 'DE-BY'"
    import holidays  # only this country's module is loaded, not the list of all countries

    country, subdivision = match.group(1), match.group(2)
    try:
        calendar = holidays.country_holidays(country)
    except NotImplementedError:
        return f"calendar {key!r}: no public-holiday calendar for country {country}"
    if subdivision and subdivision not in calendar.subdivisions:
        known = ", ".join(s for s in calendar.subdivisions if len(s) <= 3)
        return f"calendar {key!r}: {country} has no subdivision {subdivision}; known: {known}"
    return None


def hours_for(calendar: str | None, policy: SlaPolicy) -> WorkingHours:
    """The hours of `calendar`: exact key, then its country, then the default."""
    country, subdivision = split_calendar(calendar)
    if country and subdivision and f"{country}-{subdivision}" in policy.working_hours:
        return policy.working_hours[f"{country}-{subdivision}"]
    if country and country in policy.working_hours:
        return policy.working_hours[country]
    return policy.default


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays  # imported on first use: it costs ~80 ms at cold start

    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:  # unknown country or subdivision: no public holidays known
        return frozenset()
    return frozenset(calendar.keys())


def is_public_holiday(day: date, calendar: str | None) -> bool:
    country, subdivision = split_calendar(calendar)
    return bool(country) and day in _public_holidays(country, subdivision, day.year)


def is_working_day(day: date, calendar: str | None, policy: SlaPolicy) -> bool:
    hours = hours_for(calendar, policy)
    return day.weekday() in hours.days and day not in hours.closed_dates and not is_public_holiday(day, calendar)


def _window(day: date, hours: WorkingHours) -> tuple[datetime, datetime]:
    """The working window of a local day, in UTC (DST-correct: local wall clock -> UTC per day)."""
    zone = hours.zone

    def at(minutes: int) -> datetime:
        if minutes == 24 * 60:
            return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone).astimezone(UTC)

    return at(_minutes(hours.start)), at(_minutes(hours.end))


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value.isoformat()}")
    return value.astimezone(UTC)


def due_at(assigned_at: datetime, calendar: str | None, policy: SlaPolicy,
           *, working_hours: float | None = None) -> datetime:
    """When the rep must have accepted a lead assigned at `assigned_at` (UTC).

    Counts only working time of `calendar` (e.g. the rep's office, "DE" or
    "DE-BY"): hours outside the daily window, non-working weekdays, public
    holidays and closing days do not count. A lead assigned in the evening or
    at the weekend starts its clock at the next working window.
    """
    cursor = _aware(assigned_at, "assigned_at")
    remaining = timedelta(hours=policy.accept_within_working_hours if working_hours is None else working_hours)
    if remaining <= timedelta(0):
        raise ValueError("the SLA must be a positive number of working hours")
    hours = hours_for(calendar, policy)
    day = cursor.astimezone(hours.zone).date()
    for _ in range(_MAX_DAYS):
        if is_working_day(day, calendar, policy):
            start, end = _window(day, hours)
            begin = max(start, cursor)
            if begin < end:
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError(f"calendar {calendar!r} has no working time in the next {_MAX_DAYS} days")


def is_overdue(due: datetime, now: datetime) -> bool:
    """True once `now` is past the deadline (accepting exactly at the deadline is in time)."""
    return _aware(now, "now") > _aware(due, "due")


def local_time(at: datetime, calendar: str | None, policy: SlaPolicy) -> datetime:
    """`at` on the wall clock of `calendar` (for messages people read)."""
    return _aware(at, "at").astimezone(hours_for(calendar, policy).zone)
