"""Nurturing journeys as data (`config/journeys.yaml`): the schema a published version must pass.

A journey is an ordered list of steps; each step has a stable id, a delay
after the previous step (or after entering the journey), one channel or a list
of alternatives (email, postal, phone), a content key and conditions. The
book (`JourneyBook`) holds the journeys, the settings (frequency caps, quiet
hours, DOI expiry, channel rules, tracking allow list) and the event calendar
for region-specific invitations. Validated here (pydantic); what the sweep
decides with it is in `leadflow.domain.journeys`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from leadflow.domain.consent import Purpose

CONFIG_NAME = "journeys"


class Channel(str, Enum):
    EMAIL = "email"
    POSTAL = "postal"
    PHONE = "phone"


CHANNEL_PURPOSE: dict[Channel, Purpose] = {
    Channel.EMAIL: Purpose.EMAIL_MARKETING, Channel.PHONE: Purpose.PHONE, Channel.POSTAL: Purpose.POST,
}

# --------------------------------------------------------------------------- durations

_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")
MAX_DELAY = timedelta(days=366)


def parse_duration(value: Any) -> timedelta:
    """`P2D`, `PT4H`, `P1DT12H`, `P1W`, `PT30M`, or a number of hours (`48`, `0.5`).

    Months and years are refused (their length is ambiguous); so are negative
    and absurd delays (over a year).
    """
    # ValueError, not TypeError, for every bad input: pydantic reports only ValueErrors as field errors.
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, bool):
        raise ValueError("a duration is 'P2D', 'PT4H' or a number of hours")  # noqa: TRY004
    elif isinstance(value, (int, float)):
        delta = timedelta(hours=value)
    elif isinstance(value, str):
        text = value.strip().upper()
        match = _ISO_DURATION.match(text)
        if not match or text in ("P", "PT") or text.endswith("T"):
            raise ValueError(f"{value!r} is not a duration like 'P2D', 'PT4H', 'P1DT12H' or hours as a number")
        parts = {k: int(v) for k, v in match.groupdict().items() if v}
        delta = timedelta(weeks=parts.get("w", 0), days=parts.get("d", 0), hours=parts.get("h", 0),
                          minutes=parts.get("m", 0), seconds=parts.get("s", 0))
    else:
        raise ValueError("a duration is 'P2D', 'PT4H' or a number of hours")  # noqa: TRY004
    if delta < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if delta > MAX_DELAY:
        raise ValueError("a duration longer than a year is surely a typo")
    return delta


# --------------------------------------------------------------------------- time zones

@lru_cache(maxsize=256)
def zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None

# --------------------------------------------------------------------------- config models

_ID = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
_KEY = re.compile(r"^[a-z0-9_\-/{}]{1,100}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ConditionKind = Literal["last_mail_not_opened", "last_mail_opened", "link_clicked", "no_link_clicked",
                        "segment_in", "segment_not_in", "region_in", "interest_in", "age_group_in",
                        "existing_customer"]
_FLAG_CONDITIONS = {"last_mail_not_opened", "last_mail_opened", "link_clicked", "no_link_clicked"}
_LIST_CONDITIONS = {"segment_in", "segment_not_in", "region_in", "interest_in", "age_group_in"}


class _Config(BaseModel):
    # defer_build: the schemas are built on first validation, not at import (cold starts of
    # functions that only need Channel or the dataclasses).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Condition(_Config):
    """In YAML: a bare name (`last_mail_not_opened`) or one key with its values (`segment_in: [hot]`)."""

    kind: ConditionKind
    values: tuple[str, ...] = ()
    flag: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"kind": data}
        if isinstance(data, Mapping) and len(data) == 1 and "kind" not in data:
            (kind, value), = data.items()
            if kind == "existing_customer":
                return {"kind": kind, "flag": value}
            if isinstance(value, str):
                value = [value]
            return {"kind": kind, "values": value}
        return data

    @model_validator(mode="after")
    def _arguments(self) -> Condition:
        if self.kind in _FLAG_CONDITIONS and (self.values or self.flag is not None):
            raise ValueError(f"{self.kind} takes no values")
        if self.kind in _LIST_CONDITIONS and not self.values:
            raise ValueError(f"{self.kind} needs a list of values")
        if self.kind == "existing_customer" and self.flag is None:
            raise ValueError("existing_customer needs true or false")
        return self


class Step(_Config):
    id: str = Field(pattern=_ID)
    delay: timedelta = timedelta(0)
    # `previous`: the delay counts from the previous step's run; `entry`: from entering the journey.
    after: Literal["previous", "entry"] = "previous"
    channel: tuple[Channel, ...] = Field(min_length=1)
    content: str
    conditions: tuple[Condition, ...] = ()
    # False for mails the person just triggered (the welcome right after confirming).
    quiet_hours: bool = True
    description: str | None = Field(default=None, max_length=500)

    @field_validator("delay", mode="before")
    @classmethod
    def _delay(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("channel", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("channel")
    @classmethod
    def _distinct(cls, value: tuple[Channel, ...]) -> tuple[Channel, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value

    @field_validator("content")
    @classmethod
    def _content_key(cls, value: str) -> str:
        if not _KEY.match(value) or ".." in value or value.startswith("/"):
            raise ValueError("a content key is lower-case words joined by '/', e.g. '{interest}/checklist'")
        if value.replace("{interest}", "").count("{") or value.replace("{interest}", "").count("}"):
            raise ValueError("the only placeholder in a content key is {interest}")
        return value

    @property
    def channels(self) -> tuple[Channel, ...]:
        return self.channel


class EntryRule(_Config):
    """Who enters the journey. Empty lists and null mean 'any'; all given rules must hold."""

    interest_areas: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    existing_customer: bool | None = None
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.upper() for v in value)


class Journey(_Config):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    version: int = Field(default=1, ge=1)
    active: bool = True
    default: bool = False
    description: str | None = Field(default=None, max_length=1000)
    entry: EntryRule = Field(default_factory=EntryRule)
    steps: tuple[Step, ...] = Field(min_length=1, max_length=50)

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, value: tuple[Step, ...]) -> tuple[Step, ...]:
        seen: set[str] = set()
        for step in value:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice; ids must be unique and stable")
            seen.add(step.id)
        return value

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


class FrequencyCap(_Config):
    channel: Channel = Channel.EMAIL
    max: int = Field(ge=1, le=100)
    per: timedelta

    @field_validator("per", mode="before")
    @classmethod
    def _per(cls, value: Any) -> timedelta:
        delta = parse_duration(value)
        if delta <= timedelta(0):
            raise ValueError("the window must be longer than zero")
        return delta


class QuietHours(_Config):
    start: str = "20:00"
    end: str = "08:00"
    weekdays: tuple[str, ...] = ()   # whole days without sending, e.g. [sun]

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("a time of day is written HH:MM, e.g. 20:00")
        return value

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        days = tuple(v.lower()[:3] for v in value)
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekday {unknown[0]!r}; use mon..sun")
        if len(set(days)) == 7:
            raise ValueError("quiet every day of the week would never send anything")
        return days

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are equal; leave quiet_hours out (null) to disable them")
        return self

    @staticmethod
    def _time(text: str) -> time:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))

    @property
    def start_time(self) -> time:
        return self._time(self.start)

    @property
    def end_time(self) -> time:
        return self._time(self.end)


class TrackingSettings(_Config):
    allowed_domains: tuple[str, ...] = ()
    allow_http: bool = False
    # Open pixel and per-person click tracking only with the `tracking` consent (TTDSG §25).
    require_consent: bool = True
    fallback_url: str | None = None  # where a refused click redirect lands instead (our homepage)


class Settings(_Config):
    doi_expiry_days: int = Field(default=7, ge=1, le=90)
    frequency_caps: tuple[FrequencyCap, ...] = Field(
        default_factory=lambda: (FrequencyCap(channel=Channel.EMAIL, max=2, per=timedelta(days=7)),))
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    # Channels whose steps respect quiet hours (a letter is not delivered at night anyway).
    quiet_hours_channels: tuple[Channel, ...] = (Channel.EMAIL, Channel.PHONE)
    default_time_zone: str = "Europe/Berlin"
    languages: tuple[str, ...] = ("de", "en")
    default_language: str = "de"
    # Postal advertising without explicit `post` consent (legitimate interest, GDPR Art. 6(1)(f)).
    # Off by default: safe. An objection (withdrawn `post` record) always wins.
    postal_without_consent: bool = False
    default_channel_order: tuple[Channel, ...] = (Channel.EMAIL, Channel.POSTAL, Channel.PHONE)
    channel_order_by_age_group: dict[str, tuple[Channel, ...]] = Field(default_factory=dict)
    interest_areas: tuple[str, ...] = ()
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    token_ttl_days: dict[Literal["doi", "unsubscribe", "click", "open"], int] = Field(
        default_factory=lambda: {"unsubscribe": 400, "click": 180, "open": 180})

    @field_validator("default_time_zone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        if zone_named(value) is None:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Berlin")
        return value

    @model_validator(mode="after")
    def _language(self) -> Settings:
        if self.default_language not in self.languages:
            raise ValueError("default_language must be one of languages")
        return self


class Event(_Config):
    """An event (workshop, trade fair, webinar) for invitations. `online` events suit every region."""

    id: str = Field(pattern=_ID)
    interest_areas: tuple[str, ...] = Field(min_length=1)
    title: dict[str, str]
    city: str | None = None
    venue: str | None = None
    regions: tuple[str, ...] = ()
    online: bool = False
    starts_at: datetime
    url: str = Field(pattern=r"^https://[^\s]+$", max_length=2000)

    @model_validator(mode="after")
    def _where(self) -> Event:
        if not self.online and not (self.city and self.regions):
            raise ValueError("an event on site needs a city and the regions it is for")
        if self.starts_at.tzinfo is None:
            raise ValueError("starts_at needs a time zone offset, e.g. 2026-03-12T09:00:00+01:00")
        return self


class JourneyBook(_Config):
    """The whole `config/journeys.yaml`."""

    version: int = Field(ge=1)
    settings: Settings = Field(default_factory=Settings)
    events: tuple[Event, ...] = ()
    journeys: tuple[Journey, ...] = Field(min_length=1)

    # Field validators (not a model validator) so an error names `journeys` or `events`.
    @field_validator("events")
    @classmethod
    def _event_areas(cls, value: tuple[Event, ...], info: ValidationInfo) -> tuple[Event, ...]:
        settings = info.data.get("settings")
        areas = set(settings.interest_areas) if settings else set()
        for event in value:
            unknown = [a for a in event.interest_areas if areas and a not in areas]
            if unknown:
                raise ValueError(f"event {event.id}: interest area {unknown[0]!r} is not in settings.interest_areas")
        return value

    @field_validator("journeys")
    @classmethod
    def _consistent(cls, value: tuple[Journey, ...], info: ValidationInfo) -> tuple[Journey, ...]:
        ids = [j.id for j in value]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"journey id {duplicates[0]!r} is used twice")
        defaults = [j for j in value if j.default]
        if len(defaults) != 1:
            raise ValueError(f"exactly one journey must be `default: true` (found {len(defaults)})")
        if not defaults[0].active:
            raise ValueError("the default journey cannot be inactive")
        settings = info.data.get("settings")
        areas = set(settings.interest_areas) if settings else set()
        for journey in value:
            for step in journey.steps:
                if "{interest}" in step.content and not areas:
                    raise ValueError(f"{journey.id}/{step.id}: {{interest}} needs settings.interest_areas")
            for area in journey.entry.interest_areas:
                if areas and area not in areas:
                    raise ValueError(f"{journey.id}: interest area {area!r} is not in settings.interest_areas")
        return value

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> JourneyBook:
        """Validate the YAML document (pydantic ValidationError names the field that is wrong)."""
        return cls.model_validate(document)

    def journey(self, journey_id: str) -> Journey | None:
        return next((j for j in self.journeys if j.id == journey_id), None)

    @property
    def default_journey(self) -> Journey:
        return next(j for j in self.journeys if j.default)
