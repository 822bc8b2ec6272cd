"""Nurturing journeys as data (`config/journeys.yaml`) and the pure decisions of the sweep.

A journey is an ordered list of steps; each step has a stable id, a delay
after the previous step (or after entering the journey), one channel or a list
of alternatives (email, postal, phone), a content key and conditions. The
book (`JourneyBook`) holds the journeys, the settings (frequency caps, quiet
hours, DOI expiry, channel rules, tracking allow list) and the event calendar
for region-specific invitations.

Everything here is pure: the sweep (services layer) loads the lead, its
consent ledger and its step runs, calls `decide_next` and does what the
decision says (send a mail, create a task, record a skip, wait, stop). Each
(lead, journey, step) runs at most once: the caller records its intent in the
journey state (a write conditional on the state's version) before acting.

The order of the rules, as marketing ops reads them:
1. `stop_reason`: SAL or later, customer, disqualified/lost, unsubscribed,
   consent withdrawn, erased, bounced/complained address -> nothing more, ever.
2. `plan_next_step`: the next step not yet run; due `delay` after the previous
   run (the first step: after entering the journey).
3. `evaluate_conditions`: last mail (not) opened, link clicked, segment, region,
   interest, age group. False -> the step is skipped (recorded, not retried).
4. content: `{interest}` in a content key becomes the lead's first known
   interest area; event invitations need an event in the lead's region.
5. `choose_channel`: consent first, then the lead's stated preference, then
   the segment (age group) rules, then the order the step lists.
   An email-only step waits while the DOI is pending (never sent before it).
6. `apply_quiet_hours` (lead's local time) and `frequency_allows` defer, never skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from leadflow.domain.consent import ConsentSnapshot, Purpose
from leadflow.domain.lifecycle import Stage

CONFIG_NAME = "journeys"


class Channel(str, Enum):
    EMAIL = "email"
    POSTAL = "postal"
    PHONE = "phone"


CHANNEL_PURPOSE: dict[Channel, Purpose] = {
    Channel.EMAIL: Purpose.EMAIL_MARKETING, Channel.PHONE: Purpose.PHONE, Channel.POSTAL: Purpose.POST,
}

# Stages in which marketing no longer nurtures: sales has it, or it is over.
STOP_STAGES: dict[str, str] = {
    Stage.SAL.value: "stage_sal_or_later", Stage.SQL.value: "stage_sal_or_later",
    Stage.OPPORTUNITY.value: "stage_sal_or_later", Stage.CUSTOMER.value: "customer",
    Stage.DISQUALIFIED.value: "disqualified", Stage.LOST.value: "lost",
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


# --------------------------------------------------------------------------- regions, time zones, age

# Fallback when enrichment gave no region: the German postal zone (first digit,
# "DE-2") and its macro region, as config/enrichment.yaml names them. Coarse on
# purpose: enough to keep a Hamburg lead away from a Munich workshop.
_DE_MACRO = {"0": "east", "1": "east", "2": "north", "3": "north", "4": "west",
             "5": "west", "6": "west", "7": "south", "8": "south", "9": "south"}

COUNTRY_TIME_ZONES: dict[str, str] = {
    "DE": "Europe/Berlin", "AT": "Europe/Vienna", "CH": "Europe/Zurich", "LI": "Europe/Vaduz",
    "LU": "Europe/Luxembourg", "NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "FR": "Europe/Paris",
    "IT": "Europe/Rome", "ES": "Europe/Madrid", "PT": "Europe/Lisbon", "IE": "Europe/Dublin",
    "GB": "Europe/London", "DK": "Europe/Copenhagen", "SE": "Europe/Stockholm", "NO": "Europe/Oslo",
    "FI": "Europe/Helsinki", "PL": "Europe/Warsaw", "CZ": "Europe/Prague", "SK": "Europe/Bratislava",
    "HU": "Europe/Budapest", "SI": "Europe/Ljubljana", "HR": "Europe/Zagreb", "RO": "Europe/Bucharest",
    "BG": "Europe/Sofia", "GR": "Europe/Athens", "EE": "Europe/Tallinn", "LV": "Europe/Riga",
    "LT": "Europe/Vilnius", "CY": "Asia/Nicosia", "MT": "Europe/Malta",
    # Several zones: the most populous one. A known `time_zone` on the lead always wins.
    "US": "America/New_York", "CA": "America/Toronto",
}
GERMAN_SPEAKING = frozenset({"DE", "AT", "CH", "LI", "LU"})


def derive_region(country: str | None, postal_code: str | None) -> tuple[str | None, str | None]:
    """(zone, macro region) from a German postal code, e.g. ("DE-2", "north") for 20095 Hamburg."""
    if not country or country.upper() != "DE":
        return None, None
    digits = (postal_code or "").strip()
    if len(digits) != 5 or not digits.isdigit():
        return None, None
    return f"DE-{digits[0]}", _DE_MACRO[digits[0]]


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def lead_time_zone(time_zone: str | None, country: str | None, default: str = "Europe/Berlin") -> ZoneInfo:
    """The lead's own zone if valid, else the country's, else the default."""
    for name in (time_zone, COUNTRY_TIME_ZONES.get((country or "").upper()), default):
        if name and (zone := _zone(name)) is not None:
            return zone
    return ZoneInfo("UTC")


def age_group_of(age: int | None) -> str | None:
    if age is None or age < 0:
        return None
    if age < 20:
        return "under-20"
    if age <= 30:
        return "20-30"
    if age < 45:
        return "31-44"
    if age < 60:
        return "45-59"
    return "60+"


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
        if _zone(value) is None:
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


# --------------------------------------------------------------------------- lead facts and state


@dataclass(frozen=True)
class LeadFacts:
    """What the nurturing rules know about a lead (contact data only as 'present or not')."""

    lead_id: str
    interests: tuple[str, ...] = ()   # strongest first: form interests, then behaviour
    segments: tuple[str, ...] = ()    # grade (hot/normal/cold), persona (decision_maker, ...)
    age_group: str | None = None      # "20-30", "60+", ... (see age_group_of)
    existing_customer: bool | None = None
    country: str | None = None
    postal_code: str | None = None
    region: str | None = None         # enrichment's postal zone, e.g. "DE-2"
    macro_region: str | None = None   # enrichment's macro region: north | south | east | west | central
    time_zone: str | None = None      # IANA name when known
    language: str | None = None
    preferred_channel: Channel | None = None
    has_email: bool = False
    has_phone: bool = False
    has_postal_address: bool = False

    @property
    def region_keys(self) -> frozenset[str]:
        """Every name the lead's place answers to: zone ("DE-2"), macro ("DE-north"), country ("DE").

        Event regions and region conditions match any of them (case-insensitive).
        """
        region, macro = self.region, self.macro_region
        if region is None and macro is None:
            region, macro = derive_region(self.country, self.postal_code)
        country = (self.country or "").upper()
        keys = {region.upper()} if region else set()
        if macro and country:
            keys.add(f"{country}-{macro.upper()}")
        if country:
            keys.add(country)
        return frozenset(keys)

    @property
    def region_label(self) -> str:
        return ", ".join(sorted(self.region_keys)) or "unknown"

    def in_region(self, regions: Iterable[str]) -> bool:
        return bool({r.upper() for r in regions} & self.region_keys)

    def language_or(self, default: str = "de") -> str:
        if self.language:
            return self.language.split("-")[0].lower()
        if self.country:
            return "de" if self.country.upper() in GERMAN_SPEAKING else "en"
        return default

    @classmethod
    def from_lead(cls, lead: Mapping[str, Any], **extra: Any) -> LeadFacts:
        """From a lead item (store model as dict); `extra` adds segments, age group, etc."""
        def text(key: str) -> str | None:
            value = lead.get(key)
            return value.strip() if isinstance(value, str) and value.strip() else None
        age_group = extra.pop("age_group", None) or age_group_of(extra.pop("age", None))
        preferred = extra.pop("preferred_channel", None) or lead.get("preferred_channel")
        return cls(
            lead_id=str(lead["lead_id"]),
            interests=tuple(i.strip().lower() for i in (lead.get("interests") or []) if i and i.strip()),
            country=(text("country") or "").upper() or None,
            postal_code=text("postal_code"),
            has_email=bool(text("email")),
            has_phone=bool(text("phone")),
            has_postal_address=all(text(k) for k in ("street", "postal_code", "city")),
            age_group=age_group,
            preferred_channel=Channel(preferred) if preferred else None,
            **extra,
        )


# unknown: no answer from SES (or the worker stopped) after the intent, not sent again (at most
# once); failed: SES refused it MAX_REFUSALS times. Both count as run: the journey goes on.
RunOutcome = Literal["sent", "task", "skipped", "unknown", "failed"]


@dataclass(frozen=True)
class StepRun:
    """One step done for one lead (sent, handed to a person as a task, or skipped with a reason)."""

    step_id: str
    at: datetime
    outcome: RunOutcome
    channel: Channel | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    why: str | None = None


@dataclass(frozen=True)
class Send:
    """A marketing message that went out (any journey or campaign): what frequency caps count."""

    at: datetime
    channel: Channel = Channel.EMAIL


@dataclass(frozen=True)
class LeadState:
    facts: LeadFacts
    stage: Stage | str = Stage.LEAD
    consent: ConsentSnapshot = field(default_factory=ConsentSnapshot)
    journey_id: str | None = None
    entered_at: datetime | None = None     # welcome journey: when the DOI was confirmed (or capture)
    runs: tuple[StepRun, ...] = ()         # the runs of this lead in this journey
    sends: tuple[Send, ...] = ()
    unsubscribed_at: datetime | None = None
    erased: bool = False
    email_status: Literal["ok", "bounced", "complained"] = "ok"
    quality: str | None = None

    @property
    def stage_value(self) -> str:
        return self.stage.value if isinstance(self.stage, Stage) else str(self.stage)

    def run(self, step_id: str) -> StepRun | None:
        return next((r for r in self.runs if r.step_id == step_id), None)

    @property
    def last_mail(self) -> StepRun | None:
        mails = [r for r in self.runs if r.outcome == "sent" and r.channel is Channel.EMAIL]
        return max(mails, key=lambda r: r.at) if mails else None


# --------------------------------------------------------------------------- the rules


def stop_reason(lead_state: LeadState) -> str | None:
    """Why nurturing must stop for good, or None. Checked before every step."""
    if lead_state.erased:
        return "erased"
    if lead_state.unsubscribed_at is not None:
        return "unsubscribed"
    if lead_state.consent.any_marketing_withdrawn:
        return "consent_withdrawn"
    if lead_state.email_status == "complained":
        return "complained"
    if lead_state.email_status == "bounced":
        return "email_bounced"
    stage = STOP_STAGES.get(lead_state.stage_value)
    if stage:
        return stage
    if lead_state.quality == "implausible":
        return "implausible"
    return None


def _overlaps(wanted: Iterable[str], have: Iterable[str]) -> bool:
    return bool({w.lower() for w in wanted} & {h.lower() for h in have})


def entry_matches(rule: EntryRule, facts: LeadFacts) -> bool:
    if rule.interest_areas and not _overlaps(rule.interest_areas, facts.interests):
        return False
    if rule.segments and not _overlaps(rule.segments, facts.segments):
        return False
    if rule.age_groups and facts.age_group not in rule.age_groups:
        return False
    if rule.existing_customer is not None and facts.existing_customer is not rule.existing_customer:
        return False
    if rule.countries and (facts.country or "").upper() not in rule.countries:
        return False
    return not (rule.regions and not facts.in_region(rule.regions))


def select_journey(lead_facts: LeadFacts, book: JourneyBook) -> Journey | None:
    """The first active non-default journey (file order) whose entry rules the lead meets, else the default."""
    for journey in book.journeys:
        if journey.active and not journey.default and entry_matches(journey.entry, lead_facts):
            return journey
    default = book.default_journey
    return default if default.active else None


@dataclass(frozen=True)
class PlannedStep:
    journey_id: str
    journey_version: int
    step: Step
    index: int
    due_at: datetime          # before quiet hours and frequency caps

    def is_due(self, now: datetime) -> bool:
        return self.due_at <= now


def plan_next_step(journey: Journey, lead_state: LeadState, now: datetime) -> PlannedStep | None:
    """The next step and when it is due, or None when the journey is done.

    Steps are matched by their stable id, so a republished journey keeps what
    each lead already got. The next step is the first not yet run after the
    last run step in the current order; steps inserted before it are not
    back-filled (the lead is already past that point).
    """
    del now  # the due time does not depend on now; the caller compares
    if lead_state.entered_at is None:
        return None
    done = {r.step_id for r in lead_state.runs}
    last_index = max((i for i, s in enumerate(journey.steps) if s.id in done), default=-1)
    for index in range(last_index + 1, len(journey.steps)):
        step = journey.steps[index]
        if step.after == "entry" or not lead_state.runs:
            base = lead_state.entered_at
        else:  # the previous run, also a skipped one: the timeline keeps its rhythm
            base = max(r.at for r in lead_state.runs)
        return PlannedStep(journey.id, journey.version, step, index, base + step.delay)
    return None


def evaluate_conditions(step: Step, lead_state: LeadState) -> tuple[bool, str | None]:
    """(True, None) when every condition holds, else (False, why not) for the run record."""
    facts = lead_state.facts
    for cond in step.conditions:
        kind = cond.kind
        if kind in ("last_mail_not_opened", "last_mail_opened"):
            last = lead_state.last_mail
            if last is None:
                return False, "no mail has been sent yet"
            if kind == "last_mail_not_opened" and last.opened_at is not None:
                return False, f"the last mail ({last.step_id}) was opened"
            if kind == "last_mail_opened" and last.opened_at is None:
                return False, f"the last mail ({last.step_id}) was not opened"
        elif kind in ("link_clicked", "no_link_clicked"):
            clicked = any(r.clicked_at is not None for r in lead_state.runs)
            if kind == "link_clicked" and not clicked:
                return False, "no link was clicked yet"
            if kind == "no_link_clicked" and clicked:
                return False, "a link was clicked"
        elif kind == "segment_in":
            if not _overlaps(cond.values, facts.segments):
                return False, f"segment is not one of {', '.join(cond.values)}"
        elif kind == "segment_not_in":
            if _overlaps(cond.values, facts.segments):
                return False, f"segment is one of {', '.join(cond.values)}"
        elif kind == "region_in":
            if not facts.in_region(cond.values):
                return False, f"region ({facts.region_label}) is not one of {', '.join(cond.values)}"
        elif kind == "interest_in":
            if not _overlaps(cond.values, facts.interests):
                return False, f"no interest in {', '.join(cond.values)}"
        elif kind == "age_group_in":
            if facts.age_group not in cond.values:
                return False, f"age group {facts.age_group or 'unknown'} is not one of {', '.join(cond.values)}"
        elif kind == "existing_customer" and facts.existing_customer is not cond.flag:
            return False, "existing customer" if cond.flag is False else "not an existing customer"
    return True, None


def explain_channel(step: Step, lead_facts: LeadFacts, consent_state: ConsentSnapshot,
                    settings: Settings | None = None) -> tuple[Channel | None, list[str]]:
    """`choose_channel` with the reasons each channel was ruled out or chosen."""
    settings = settings or Settings()
    notes: list[str] = []
    allowed: list[Channel] = []
    for channel in step.channels:
        if channel is Channel.EMAIL:
            if not lead_facts.has_email:
                notes.append("email: no address")
            elif not consent_state.allows(Purpose.EMAIL_MARKETING):
                state = "pending (DOI not confirmed)" if consent_state.is_pending(Purpose.EMAIL_MARKETING) \
                    else "not given"
                notes.append(f"email: consent {state}")
            else:
                allowed.append(channel)
        elif channel is Channel.PHONE:
            if not lead_facts.has_phone:
                notes.append("phone: no number")
            elif not consent_state.allows(Purpose.PHONE):
                notes.append("phone: no consent")
            else:
                allowed.append(channel)
        elif channel is Channel.POSTAL:
            if not lead_facts.has_postal_address:
                notes.append("postal: no complete address")
            elif consent_state.is_withdrawn(Purpose.POST):
                notes.append("postal: objected")
            elif consent_state.allows(Purpose.POST) or settings.postal_without_consent:
                allowed.append(channel)
            else:
                notes.append("postal: no consent")
    if not allowed:
        return None, notes
    if lead_facts.preferred_channel in allowed:
        notes.append(f"{lead_facts.preferred_channel.value}: the lead's preference")
        return lead_facts.preferred_channel, notes
    order = settings.channel_order_by_age_group.get(lead_facts.age_group or "")
    if order:
        for channel in order:
            if channel in allowed:
                notes.append(f"{channel.value}: preferred for age group {lead_facts.age_group}")
                return channel, notes
    notes.append(f"{allowed[0].value}: first allowed channel of the step")
    return allowed[0], notes


def choose_channel(step: Step, lead_facts: LeadFacts, consent_state: ConsentSnapshot,
                   settings: Settings | None = None) -> Channel | None:
    """Consent (and reachability) first, then the lead's stated preference, then the age-group
    rules of the settings, then the order the step lists its channels. None: no allowed channel."""
    return explain_channel(step, lead_facts, consent_state, settings)[0]


def _localize(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def apply_quiet_hours(due_at: datetime, tz: str | ZoneInfo | None, settings: Settings) -> datetime:
    """`due_at`, or the first moment after it outside the quiet hours in the lead's local time (UTC).

    Quiet hours may wrap midnight (20:00-08:00). Quiet weekdays move the send
    to the end of the quiet morning of the next allowed day.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    quiet = settings.quiet_hours
    if quiet is None:
        return due_at.astimezone(UTC)
    zone = tz if isinstance(tz, ZoneInfo) else lead_time_zone(tz, None, settings.default_time_zone)
    start, end = quiet.start_time, quiet.end_time
    local = due_at.astimezone(zone)
    for _ in range(9):   # at most a week of quiet days plus the night around them
        day, clock = local.date(), local.timetz().replace(tzinfo=None)
        if WEEKDAYS[day.weekday()] in quiet.weekdays:
            local = _localize(day + timedelta(days=1), end, zone)
            continue
        if start > end:   # wraps midnight: quiet after start or before end
            if clock >= start:
                local = _localize(day + timedelta(days=1), end, zone)
                continue
            if clock < end:
                local = _localize(day, end, zone)
                continue
        elif start <= clock < end:  # a quiet window inside one day (e.g. 12:00-13:00)
            local = _localize(day, end, zone)
            continue
        return local.astimezone(UTC)
    return local.astimezone(UTC)


def _window_sends(sent_times: Iterable[datetime], now: datetime, per: timedelta) -> list[datetime]:
    return sorted(t for t in sent_times if now - per < t <= now)


def frequency_allows(sent_times: Iterable[datetime], now: datetime, settings: Settings,
                     channel: Channel = Channel.EMAIL) -> bool:
    """True when one more marketing message on `channel` stays within every cap for that channel."""
    return next_allowed_at(sent_times, now, settings, channel) <= now


def next_allowed_at(sent_times: Iterable[datetime], now: datetime, settings: Settings,
                    channel: Channel = Channel.EMAIL) -> datetime:
    """When the caps for `channel` allow the next message (`now` if they already do)."""
    times = list(sent_times)
    allowed = now
    for cap in settings.frequency_caps:
        if cap.channel is not channel:
            continue
        recent = _window_sends(times, now, cap.per)
        if len(recent) >= cap.max:
            # the oldest of the last `max` sends must leave the window
            allowed = max(allowed, recent[len(recent) - cap.max] + cap.per)
    return allowed


def primary_interest(facts: LeadFacts, settings: Settings) -> str | None:
    known = set(settings.interest_areas)
    return next((i for i in facts.interests if i in known), None)


def events_for(facts: LeadFacts, book: JourneyBook, now: datetime, *, interest: str | None = None,
               limit: int = 3) -> list[Event]:
    """Upcoming events for the lead's interest, on site in the lead's region or online; soonest first."""
    wanted = {interest} if interest else set(facts.interests)
    chosen = [
        e for e in book.events
        if e.starts_at > now and wanted & set(e.interest_areas) and (e.online or facts.in_region(e.regions))
    ]
    return sorted(chosen, key=lambda e: e.starts_at)[:limit]


@dataclass(frozen=True)
class ContentChoice:
    content_key: str
    interest: str | None
    events: tuple[Event, ...] = ()


def resolve_content(step: Step, facts: LeadFacts, book: JourneyBook, now: datetime
                    ) -> tuple[ContentChoice | None, str | None]:
    """The concrete content key for this lead, or (None, why not)."""
    interest = None
    key = step.content
    if "{interest}" in key:
        interest = primary_interest(facts, book.settings)
        if interest is None:
            return None, "no known interest area for interest-based content"
        key = key.replace("{interest}", interest)
    events: tuple[Event, ...] = ()
    if key.endswith("event_invitation"):
        events = tuple(events_for(facts, book, now, interest=interest))
        if not events:
            return None, f"no upcoming event in the lead's region ({facts.region_label}) or online"
    return ContentChoice(key, interest, events), None


def run_key(lead_id: str, journey_id: str, step_id: str) -> str:
    """The business key of one (lead, journey, step): a task's id is derived from it."""
    return f"run#{lead_id}#{journey_id}#{step_id}"


# --------------------------------------------------------------------------- one decision for the sweep

Action = Literal["stop", "done", "wait", "skip", "email", "task"]


@dataclass(frozen=True)
class Decision:
    """What the sweep does for one lead now.

    stop: never again (reason). done: no step left. wait: ask again at `not_before`
    (None: at the next sweep). skip: record a skipped run of `step` (reason) and
    continue. email / task: send the mail or create the task for a person on `channel`.
    """

    action: Action
    reason: str | None = None
    journey_id: str | None = None
    step: Step | None = None
    channel: Channel | None = None
    content: ContentChoice | None = None
    not_before: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def decide_next(book: JourneyBook, lead_state: LeadState, now: datetime) -> Decision:
    """The whole rule chain for one lead, in the order the module docstring lists."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    reason = stop_reason(lead_state)
    if reason:
        return Decision("stop", reason)
    journey = book.journey(lead_state.journey_id) if lead_state.journey_id else None
    if journey is None:
        return Decision("done", "journey_not_found" if lead_state.journey_id else "no_journey")
    if not journey.active:
        return Decision("done", "journey_inactive", journey.id)
    planned = plan_next_step(journey, lead_state, now)
    if planned is None:
        return Decision("done", "journey_completed" if lead_state.entered_at else "not_entered", journey.id)
    step = planned.step
    if not planned.is_due(now):
        return Decision("wait", "not_due", journey.id, step, not_before=planned.due_at)
    ok, why = evaluate_conditions(step, lead_state)
    if not ok:
        return Decision("skip", why, journey.id, step)
    content, why = resolve_content(step, lead_state.facts, book, now)
    if content is None:
        return Decision("skip", why, journey.id, step)
    channel, notes = explain_channel(step, lead_state.facts, lead_state.consent, book.settings)
    if channel is None:
        email_waiting = (Channel.EMAIL in step.channels and lead_state.facts.has_email
                         and lead_state.consent.is_pending(Purpose.EMAIL_MARKETING))
        if email_waiting:
            return Decision("wait", "doi_pending", journey.id, step, notes=tuple(notes))
        return Decision("skip", "no allowed channel: " + "; ".join(notes), journey.id, step, notes=tuple(notes))
    settings = book.settings
    facts = lead_state.facts
    if step.quiet_hours and channel in settings.quiet_hours_channels:
        zone = lead_time_zone(facts.time_zone, facts.country, settings.default_time_zone)
        allowed_at = apply_quiet_hours(now, zone, settings)
        if allowed_at > now:
            return Decision("wait", "quiet_hours", journey.id, step, channel, content, allowed_at, tuple(notes))
    sent = [s.at for s in lead_state.sends if s.channel is channel]
    allowed_at = next_allowed_at(sent, now, settings, channel)
    if allowed_at > now:
        if step.quiet_hours and channel in settings.quiet_hours_channels:
            zone = lead_time_zone(facts.time_zone, facts.country, settings.default_time_zone)
            allowed_at = apply_quiet_hours(allowed_at, zone, settings)
        return Decision("wait", "frequency_cap", journey.id, step, channel, content, allowed_at, tuple(notes))
    action: Action = "email" if channel is Channel.EMAIL else "task"
    return Decision(action, None, journey.id, step, channel, content, notes=tuple(notes))

