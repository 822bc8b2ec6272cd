"""The pure decisions of the nurture sweep: which journey a lead enters and what its next step is.

The journeys themselves are data (`config/journeys.yaml`), validated by the schema in
`leadflow.domain.journey_config`; this module is the engine that advances a lead through them.

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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from leadflow.domain.consent import ConsentSnapshot, Purpose
from leadflow.domain.journey_config import (
    WEEKDAYS,
    Channel,
    EntryRule,
    Event,
    Journey,
    JourneyBook,
    Settings,
    Step,
    zone_named,
)
from leadflow.domain.lifecycle import Stage

# Stages in which marketing no longer nurtures: sales has it, or it is over.
STOP_STAGES: dict[str, str] = {
    Stage.SAL.value: "stage_sal_or_later", Stage.SQL.value: "stage_sal_or_later",
    Stage.OPPORTUNITY.value: "stage_sal_or_later", Stage.CUSTOMER.value: "customer",
    Stage.DISQUALIFIED.value: "disqualified", Stage.LOST.value: "lost",
}

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


def lead_time_zone(time_zone: str | None, country: str | None, default: str = "Europe/Berlin") -> ZoneInfo:
    """The lead's own zone if valid, else the country's, else the default."""
    for name in (time_zone, COUNTRY_TIME_ZONES.get((country or "").upper()), default):
        if name and (zone := zone_named(name)) is not None:
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

