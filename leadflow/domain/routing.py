"""Routing of MQLs to sales reps: rules as versioned data, a fair weighted rotation,
manager queues, SLA reassignment and the fairness report. Pure: no I/O.

The order of the rules (docs/routing.md explains why):

1. A lead already assigned stays with its rep (a duplicate or concurrent delivery).
2. An existing account goes to its owner. A key account whose owner is away
   goes to the owner's manager's queue, never into the rotation (seed 001:
   key accounts are not worked without their sales owner). Any other account
   whose owner is away is routed by the rules below, and the reason says so.
3. Territory: reps whose postal-code range contains the lead's postal code,
   else reps who cover the lead's whole country, else reps without territory.
   A more specific tier wins; when nobody there is available the lead
   overflows to the next tier, and the reason says so.
4. Skill: among those, reps with a skill in the lead's interest areas; if
   nobody has one, the territory alone decides, and the reason says so.
5. A smooth weighted round robin among the remaining available reps with
   free capacity (see `pick`).
6. Nobody eligible: the team manager's queue, with an alert.

The rotation state is a small dict `{"current": {rep_id: credit}}` that the
caller stores between calls (in one item with a version, written with the
lead's assignment in one conditional transaction, so concurrent routers
serialise and a retried delivery finds the lead already assigned).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadflow.domain import sla
from leadflow.domain.errors import InvalidConfig
from leadflow.domain.sla import SlaPolicy, calendar_problem

# Which rule decided (stored with the assignment; the fairness report counts ROTATION).
ALREADY_ASSIGNED = "already_assigned"
ACCOUNT_OWNER = "account_owner"
ROTATION = "rotation"
MANAGER_QUEUE = "manager_queue"

# Alerts the caller turns into events for the manager.
ALERT_NO_ELIGIBLE_REP = "no_eligible_rep"
ALERT_KEY_ACCOUNT_OWNER_AWAY = "key_account_owner_away"
ALERT_SLA_MISSED = "sla_missed"

QUEUE_REP = "rep"
QUEUE_MANAGER = "manager"

# Rotation credits are stored rounded, so a state read back from DynamoDB
# (as Decimal) gives exactly the same next pick.
_PRECISION = 9

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@:\-]+$")]


# --------------------------------------------------------------------------- config


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=True)


class PostalRange(_Model):
    """An inclusive range of postal codes compared as prefixes: "80000"-"87999",
    or "8"-"8" for every code that starts with 8. Both ends have the same length."""

    country: CountryCode
    from_: Annotated[str, Field(alias="from", min_length=1, max_length=10)]
    to: Annotated[str, Field(min_length=1, max_length=10)]

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # YAML reads 80000 as a number

    @model_validator(mode="after")
    def _ordered(self) -> PostalRange:
        if len(self.from_) != len(self.to):
            raise ValueError(f"'from' {self.from_!r} and 'to' {self.to!r} must have the same number of characters")
        if normalize_postal_code(self.from_) > normalize_postal_code(self.to):
            raise ValueError(f"'from' {self.from_!r} is after 'to' {self.to!r}")
        return self

    def contains(self, country: str | None, postal_code: str | None) -> bool:
        if country != self.country or not postal_code:
            return False
        code = normalize_postal_code(postal_code)
        low, high = normalize_postal_code(self.from_), normalize_postal_code(self.to)
        return len(code) >= len(low) and low <= code[: len(low)] <= high

    def label(self) -> str:
        return f"{self.country} {self.from_}-{self.to}"


class Absence(_Model):
    """Out of office from `from` to `to`, both days included (the team's time zone)."""

    from_: date = Field(alias="from")
    to: date
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Absence:
        if self.from_ > self.to:
            raise ValueError(f"'from' {self.from_} is after 'to' {self.to}")
        return self

    def covers(self, day: date) -> bool:
        return self.from_ <= day <= self.to


class Rep(_Model):
    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=100)]
    team: str | None = None  # filled in from the team the rep is listed under
    manager_id: Identifier | None = None  # default: the team's first manager
    # Territory. No countries and no ranges: the rep takes leads from anywhere.
    countries: list[CountryCode] = []
    postal_ranges: list[PostalRange] = []
    skills: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    max_open: Annotated[int, Field(ge=1)]  # open leads (assigned, not yet closed) at most
    daily_quota: Annotated[int, Field(ge=1)]  # new leads per day at most
    out_of_office: list[Absence] = []
    active: bool = True
    # Calendar of the rep's office for the SLA (e.g. "AT", "DE-BY"); default: the team's.
    office: str | None = None

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        return sorted({normalize_skill(s) for s in value})

    def absence_on(self, day: date) -> Absence | None:
        return next((a for a in self.out_of_office if a.covers(day)), None)


class Manager(_Model):
    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=100)]


class Team(_Model):
    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=100)]
    # The first manager owns the team's queue (leads nobody could take).
    managers: Annotated[list[Manager], Field(min_length=1)]
    office: str = "DE"  # SLA calendar of the team (reps may override)
    sla: SlaPolicy | None = None  # default: the rule set's SLA
    reps: list[Rep] = []  # after the fields above: their validator reads them

    @field_validator("managers")
    @classmethod
    def _distinct_managers(cls, value: list[Manager]) -> list[Manager]:
        ids = [m.id for m in value]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"manager {twice[0]!r} is listed twice")
        return value

    @field_validator("reps")
    @classmethod
    def _members(cls, value: list[Rep], info: ValidationInfo) -> list[Rep]:
        """Each rep knows its team, manager (default: the first) and SLA calendar (default: the team's)."""
        if "id" not in info.data or "managers" not in info.data:
            return value  # the team itself is invalid; that error is reported
        team_id, office = info.data["id"], info.data.get("office", "DE")
        manager_ids = [m.id for m in info.data["managers"]]
        reps = []
        for index, rep in enumerate(value):
            if rep.team not in (None, team_id):
                raise ValueError(f"{index} ({rep.id}): team {rep.team!r} but listed under team {team_id!r}")
            if rep.manager_id is not None and rep.manager_id not in manager_ids:
                raise ValueError(f"{index} ({rep.id}): manager_id {rep.manager_id!r} is not a manager "
                                 f"of team {team_id} ({', '.join(manager_ids)})")
            reps.append(rep.model_copy(update={"team": team_id, "manager_id": rep.manager_id or manager_ids[0],
                                               "office": rep.office or office}))
        return reps

    @property
    def queue_manager(self) -> Manager:
        return self.managers[0]


class RotationOptions(_Model):
    # False: weights alone set the shares; capacity is a hard limit (a full rep is skipped).
    # True: a rep's weight also shrinks with their open leads (weight x free share of max_open),
    # so a rep with a long backlog gets fewer new leads before hitting the limit.
    scale_by_free_capacity: bool = False


class RoutingRules(_Model):
    version: int | str
    timezone: str = "Europe/Berlin"  # "today" for absences and daily quotas
    sla: SlaPolicy
    rotation: RotationOptions = RotationOptions()
    default_team: Identifier | None = None  # its manager gets leads no territory covers; default: first team
    teams: Annotated[list[Team], Field(min_length=1)]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return sla.WorkingHours(timezone=value).timezone

    @model_validator(mode="after")
    def _consistent(self) -> RoutingRules:
        team_ids = [t.id for t in self.teams]
        seen: dict[str, str] = {}
        for ti, team in enumerate(self.teams):
            if team_ids.count(team.id) > 1:
                raise ValueError(f"teams.{ti}: team id {team.id!r} is used twice")
            offices = [(f"teams.{ti}.office", team.office)]
            offices += [(f"teams.{ti}.reps.{ri}.office", r.office) for ri, r in enumerate(team.reps)]
            for where, office in offices:
                problem = calendar_problem(office) if office else None
                if problem:
                    raise ValueError(f"{where}: {problem}")
            for ri, rep in enumerate(team.reps):
                if rep.id in seen:
                    raise ValueError(f"teams.{ti}.reps.{ri}: rep id {rep.id!r} is already in team {seen[rep.id]}")
                seen[rep.id] = team.id
        if self.default_team is not None and self.default_team not in team_ids:
            raise ValueError(f"default_team {self.default_team!r} is not a team ({', '.join(team_ids)})")
        return self

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> RoutingRules:
        """Validate a rule-set document (e.g. `yaml.safe_load` of config/routing.yaml).

        Raises InvalidConfig naming the place and the rule, e.g.
        "routing: teams.0.reps.2.weight: Input should be greater than 0".
        """
        if not isinstance(document, Mapping):
            raise InvalidConfig("routing: the document must be a mapping", field="document")
        try:
            return cls.model_validate(dict(document))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "document"
            message = first["msg"].removeprefix("Value error, ")
            raise InvalidConfig(f"routing: {where}: {message}", field=f"document.{where}") from None

    # ---- lookups
    @property
    def reps(self) -> list[Rep]:
        return [rep for team in self.teams for rep in team.reps]

    def rep(self, rep_id: str | None) -> Rep | None:
        return next((r for r in self.reps if r.id == rep_id), None) if rep_id else None

    def team(self, team_id: str | None) -> Team:
        wanted = team_id or self.default_team
        return next((t for t in self.teams if t.id == wanted), self.teams[0])

    def manager(self, manager_id: str | None) -> Manager | None:
        return next((m for t in self.teams for m in t.managers if m.id == manager_id), None)

    def teams_managed_by(self, manager_id: str) -> frozenset[str]:
        """The ids of the teams that list this manager (a manager acts only on these teams' leads)."""
        return frozenset(t.id for t in self.teams if any(m.id == manager_id for m in t.managers))

    def team_of(self, owner_id: str | None, recorded_team_id: str | None) -> str | None:
        """A lead's team: its owner's team by these rules (reps may move), else the one recorded
        when routing gave it to a team (a manager's queue, a rep no longer listed)."""
        rep = self.rep(owner_id)
        return (rep.team if rep is not None else None) or recorded_team_id

    def member_ids(self, role: str) -> tuple[str, ...] | None:
        """Who may sign in with a team role (sales_rep: the reps, sales_manager: the managers);
        None for roles outside the sales team."""
        if role == "sales_rep":
            return tuple(r.id for r in self.reps)
        if role == "sales_manager":
            return tuple(dict.fromkeys(m.id for t in self.teams for m in t.managers))
        return None

    def not_a_member(self, role: str, user_id: str) -> str | None:
        """Why `user_id` cannot act as `role` (naming the known ids), or None if they can: a rep's
        inbox and a manager's queue are keyed by these ids, so anyone else would see nothing."""
        known = self.member_ids(role)
        if known is None or user_id in known:
            return None
        return (f"user {user_id!r} is not a {role} in the sales team (routing rules v{self.version}); "
                f"known: {', '.join(known)}")

    def sla_for(self, team_id: str | None) -> SlaPolicy:
        return self.team(team_id).sla or self.sla

    def today(self, now: datetime) -> date:
        """The local date that absences and daily quotas refer to."""
        return now.astimezone(ZoneInfo(self.timezone)).date()


def normalize_postal_code(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


def normalize_skill(value: str) -> str:
    return " ".join(value.strip().lower().split())


# --------------------------------------------------------------------------- inputs and outputs


@dataclass(frozen=True)
class LeadFacts:
    """What routing needs to know about a lead (the service reads it from the store)."""

    lead_id: str
    country: str | None = None
    postal_code: str | None = None
    interests: tuple[str, ...] = ()  # interest areas, e.g. ("warehouse", "fleet")
    account_owner_id: str | None = None  # owner of an existing account (customer import)
    is_key_account: bool = False
    assigned_rep_id: str | None = None  # set when the lead already has a rep


@dataclass(frozen=True)
class RepLoad:
    rep_id: str
    open_leads: int = 0  # assigned and not yet closed
    assigned_today: int = 0  # new assignments on the local date `today`


@dataclass(frozen=True)
class RoutingDecision:
    lead_id: str
    queue: str  # "rep" or "manager"
    rep_id: str | None  # None in the manager's queue
    manager_id: str | None  # the rep's manager, or the owner of the queue
    team_id: str
    rule: str  # already_assigned | account_owner | rotation | manager_queue
    reason: str  # for the lead's history, in words a sales manager reads
    new_rotation_state: dict[str, Any]
    candidates_considered: tuple[str, ...] = ()  # the pool the rotation picked from
    skipped: dict[str, str] = field(default_factory=dict)  # rep id -> why not (away, full, missed SLA)
    alert: str | None = None  # an ALERT_* code: the caller emits an event for the manager
    sla_calendar: str | None = None  # calendar key for sla.due_at (the office of whoever must act)
    rules_version: str = ""

    @property
    def state_changed(self) -> bool:
        return self.rule == ROTATION

    def to_dict(self) -> dict[str, Any]:
        return {
            "leadId": self.lead_id, "queue": self.queue, "repId": self.rep_id, "managerId": self.manager_id,
            "teamId": self.team_id, "rule": self.rule, "reason": self.reason,
            "candidates": list(self.candidates_considered), "skipped": dict(self.skipped),
            "alert": self.alert, "slaCalendar": self.sla_calendar, "rulesVersion": self.rules_version,
        }


# --------------------------------------------------------------------------- rotation


def sync_rotation_state(state: Mapping[str, Any] | None, rules: RoutingRules) -> dict[str, Any]:
    """Bring a stored rotation state in line with the current reps, without a reset.

    Reps no longer in the rules are dropped and the others shifted by the same
    amount so the credits average zero again (a uniform shift changes no
    order). New reps start at zero, the average: they neither wait for the
    others to "catch up" nor get a burst of leads. Everyone else keeps their
    place in the cycle.
    """
    stored = {str(k): float(v) for k, v in ((state or {}).get("current") or {}).items()}
    known = [r.id for r in rules.reps]
    kept = {k: v for k, v in stored.items() if k in known}
    if len(kept) != len(stored) and kept:
        mean = sum(kept.values()) / len(kept)
        kept = {k: v - mean for k, v in kept.items()}
    current = {rep_id: round(kept.get(rep_id, 0.0), _PRECISION) for rep_id in known}
    return {"current": current}


def pick(state: Mapping[str, Any], pool: Sequence[tuple[str, float]]) -> tuple[str, dict[str, Any]]:
    """Smooth weighted round robin, in units of leads.

    For each lead, every rep in the pool earns their fair part of it (weight /
    total weight of the pool); the rep with the most credit gets the lead and
    pays one lead. With a fixed pool this is exactly nginx's smooth weighted
    round robin (its numbers divided by the total weight): over any run of
    picks each rep's count is within one lead of their weighted share, and
    picks interleave (C A B C, not A B C C). When the pool changes from lead
    to lead (territories, absences, full reps), a credit is still "leads owed
    minus leads received" for the leads the rep was eligible for - the very
    number the fairness report shows - so the rotation keeps it near zero.
    Reps outside the pool neither earn nor pay. Ties go to the smaller rep id.
    """
    if not pool:
        raise ValueError("the rotation needs at least one rep")
    current = {k: float(v) for k, v in (state.get("current") or {}).items()}
    total = sum(weight for _, weight in pool)
    for rep_id, weight in pool:
        current[rep_id] = round(current.get(rep_id, 0.0) + weight / total, _PRECISION)
    chosen = min((rep_id for rep_id, _ in pool), key=lambda rep_id: (-current[rep_id], rep_id))
    current[chosen] = round(current[chosen] - 1.0, _PRECISION)
    return chosen, {**dict(state), "current": current}


# --------------------------------------------------------------------------- routing


def _absence(rep: Rep, today: date) -> str | None:
    if not rep.active:
        return "inactive"
    away = rep.absence_on(today)
    if away:
        return f"out of office until {away.to.isoformat()}"
    return None


def _full(rep: Rep, load: RepLoad) -> str | None:
    if load.open_leads >= rep.max_open:
        return f"full: {load.open_leads}/{rep.max_open} open leads"
    if load.assigned_today >= rep.daily_quota:
        return f"daily quota reached: {load.assigned_today}/{rep.daily_quota} today"
    return None


def _territory(rep: Rep, lead: LeadFacts) -> tuple[int, str] | None:
    """(tier, label): 2 postal range, 1 whole country, 0 no territory; None: not this rep's."""
    country = (lead.country or "").upper() or None
    for postal_range in rep.postal_ranges:
        if postal_range.contains(country, lead.postal_code):
            return 2, f"territory {postal_range.label()}"
    if country and country in rep.countries:
        return 1, f"territory {country}"
    if not rep.countries and not rep.postal_ranges:
        return 0, "no territory restriction"
    return None


def _tier_name(tier: int, lead: LeadFacts) -> str:
    if tier == 2:
        return f"the postal-code territory of {_where(lead)}"
    if tier == 1:
        return f"reps covering all of {(lead.country or '').upper()}"
    return "reps without territory"


def _where(lead: LeadFacts) -> str:
    if not lead.country:
        return "a lead without country"
    return f"{lead.country.upper()} {lead.postal_code}" if lead.postal_code else lead.country.upper()


def _skipped_text(skipped: Mapping[str, str], rules: RoutingRules) -> str:
    return ", ".join(f"{(rules.rep(k).name if rules.rep(k) else k)} ({v})" for k, v in skipped.items())


def route(lead: LeadFacts, rules: RoutingRules, loads: Mapping[str, RepLoad],
          rotation_state: Mapping[str, Any] | None, today: date, *, exclude: Iterable[str] = ()) -> RoutingDecision:
    """Decide who works `lead` on the local date `today`.

    `loads` has the open and today's counts per rep id (missing: zero).
    `exclude` are reps who must not get it again (they missed its SLA or
    rejected it). The returned state is the one to store; it differs from the
    input only when the rotation picked (`decision.state_changed`).
    """
    excluded = frozenset(exclude)
    version = str(rules.version)
    state = sync_rotation_state(rotation_state, rules)

    def load(rep: Rep) -> RepLoad:
        return loads.get(rep.id) or RepLoad(rep.id)

    # 1. Already assigned: a duplicate or concurrent delivery changes nothing.
    current_rep = rules.rep(lead.assigned_rep_id)
    if lead.assigned_rep_id and lead.assigned_rep_id not in excluded:
        return RoutingDecision(
            lead.lead_id, QUEUE_REP, lead.assigned_rep_id, current_rep.manager_id if current_rep else None,
            current_rep.team if current_rep else rules.team(None).id, ALREADY_ASSIGNED,
            f"already assigned to {current_rep.name if current_rep else lead.assigned_rep_id}; "
            "duplicate delivery ignored", dict(rotation_state or {}), rules_version=version,
            sla_calendar=current_rep.office if current_rep else None)

    notes: list[str] = []

    # 2. The owner of an existing account.
    if lead.account_owner_id or lead.is_key_account:
        owner = rules.rep(lead.account_owner_id)
        kind = "key account" if lead.is_key_account else "existing customer"
        why_not = None
        if lead.account_owner_id is None:
            why_not = "no owner on record"
        elif owner is None:
            why_not = f"owner {lead.account_owner_id} is not a rep in the routing rules"
        elif owner.id in excluded:
            why_not = f"owner {owner.name} did not take it in time"
        else:
            why_not = _absence(owner, today)
            why_not = f"owner {owner.name} is {why_not}" if why_not else None
        if owner is not None and why_not is None:
            over = _full(owner, load(owner))
            reason = f"account owner of {kind}" + (f" (owner is {over}; the account stays with its owner)"
                                                   if over else "")
            return RoutingDecision(lead.lead_id, QUEUE_REP, owner.id, owner.manager_id, owner.team or "",
                                   ACCOUNT_OWNER, reason, dict(rotation_state or {}), (owner.id,),
                                   sla_calendar=owner.office, rules_version=version)
        if lead.is_key_account:
            team = rules.team(owner.team if owner else None)
            manager = rules.manager(owner.manager_id) if owner else None
            manager = manager or team.queue_manager
            return RoutingDecision(
                lead.lead_id, QUEUE_MANAGER, None, manager.id, team.id, MANAGER_QUEUE,
                f"key account: {why_not}; to {manager.name}'s queue (key accounts are never rotated)",
                dict(rotation_state or {}), alert=ALERT_KEY_ACCOUNT_OWNER_AWAY, sla_calendar=team.office,
                rules_version=version)
        notes.append(f"existing customer: {why_not}; routed by the rules")

    # 3. Territory, most specific tier with an available rep first.
    tiers: dict[int, list[tuple[Rep, str]]] = {}
    for rep in rules.reps:
        match = _territory(rep, lead)
        if match:
            tiers.setdefault(match[0], []).append((rep, match[1]))
    skipped: dict[str, str] = {}
    chosen_tier: list[tuple[Rep, str]] = []
    for tier in sorted(tiers, reverse=True):
        routable = []
        for rep, label in tiers[tier]:
            why = ("missed the SLA or rejected this lead before" if rep.id in excluded
                   else _absence(rep, today) or _full(rep, load(rep)))
            if why:
                skipped[rep.id] = why
            else:
                routable.append((rep, label))
        if routable:
            chosen_tier = routable
            if tier != max(tiers):
                notes.append(f"nobody available in {_tier_name(max(tiers), lead)}; "
                             f"overflow to {_tier_name(tier, lead)}")
            break

    if not chosen_tier:
        matched = [rep for tier in tiers.values() for rep, _ in tier]
        team = rules.team(matched[0].team if matched else None)
        if not matched:
            why = f"nobody covers {_where(lead)}"
        else:
            why = f"everyone covering {_where(lead)} is unavailable: {_skipped_text(skipped, rules)}"
        reason = "; ".join([*notes, f"no eligible rep: {why}; to {team.queue_manager.name}'s queue"])
        return RoutingDecision(lead.lead_id, QUEUE_MANAGER, None, team.queue_manager.id, team.id, MANAGER_QUEUE,
                               reason, dict(rotation_state or {}), skipped=skipped, alert=ALERT_NO_ELIGIBLE_REP,
                               sla_calendar=team.office, rules_version=version)

    # 4. Skill: lead interest areas that a rep has; none -> territory alone.
    interests = sorted({normalize_skill(i) for i in lead.interests if i and i.strip()})
    pool = chosen_tier
    skill_text = ""
    if interests:
        skilled = [(rep, label) for rep, label in chosen_tier if set(rep.skills) & set(interests)]
        wanted = " or ".join(f"'{i}'" for i in interests)
        if skilled:
            pool = skilled
            matched_skills = sorted({s for rep, _ in skilled for s in rep.skills} & set(interests))
            skill_text = " + skill " + ", ".join(f"'{s}'" for s in matched_skills)
        else:
            skill_text = f" (nobody available there has skill {wanted}: territory only)"

    # 5. The rotation.
    scale = rules.rotation.scale_by_free_capacity
    weights = []
    for rep, _ in pool:
        weight = rep.weight
        if scale:
            weight *= (rep.max_open - load(rep).open_leads) / rep.max_open
        weights.append((rep.id, round(weight, _PRECISION)))
    rep_id, new_state = pick(state, weights)
    rep, label = next((r, lbl) for r, lbl in pool if r.id == rep_id)
    others = len(pool) - 1
    how = f"weighted rotation among {len(pool)} reps" if others else "the only available rep"
    reason = "; ".join([*notes, f"{label}{skill_text}, {how}"])
    if skipped:
        reason += f"; skipped: {_skipped_text(skipped, rules)}"
    return RoutingDecision(lead.lead_id, QUEUE_REP, rep.id, rep.manager_id, rep.team or "", ROTATION, reason,
                           new_state, tuple(r.id for r, _ in pool), skipped, sla_calendar=rep.office,
                           rules_version=version)


def reassign_overdue(lead: LeadFacts, rules: RoutingRules, loads: Mapping[str, RepLoad],
                     rotation_state: Mapping[str, Any] | None, *, assigned_at: datetime, due: datetime, now: datetime,
                     earlier_rep_ids: Iterable[str] = ()) -> RoutingDecision | None:
    """The SLA sweep's decision for one lead: None while it is in time; otherwise a
    new routing without its current rep (nor `earlier_rep_ids`, who missed it
    before), with the missed deadline in the reason and an `sla_missed` alert.
    """
    if not sla.is_overdue(due, now) or not lead.assigned_rep_id:
        return None
    late = rules.rep(lead.assigned_rep_id)
    policy = rules.sla_for(late.team if late else None)
    calendar = late.office if late else rules.team(None).office
    local_assigned = sla.local_time(assigned_at, calendar, policy)
    local_due = sla.local_time(due, calendar, policy)
    decision = route(lead, rules, loads, rotation_state, rules.today(now),
                     exclude={lead.assigned_rep_id, *earlier_rep_ids})
    missed = (f"SLA missed: {late.name if late else lead.assigned_rep_id} did not accept within "
              f"{policy.accept_within_working_hours:g} working hours (assigned {local_assigned:%Y-%m-%d %H:%M}, "
              f"due {local_due:%Y-%m-%d %H:%M} {local_due.tzname()})")
    return replace(decision, reason=f"{missed}; reassigned: {decision.reason}", alert=ALERT_SLA_MISSED)


# --------------------------------------------------------------------------- fairness


@dataclass(frozen=True)
class Assignment:
    rep_id: str
    at: datetime  # UTC
    pool: tuple[str, ...] = ()  # RoutingDecision.candidates_considered, when stored


@dataclass(frozen=True)
class FairnessRow:
    rep_id: str
    name: str
    weight: float | None  # None: the rep is no longer in the rules
    assigned: int
    share: float  # of all assignments in the period
    expected: float  # leads the weights promised, counting only leads the rep was available for
    expected_share: float
    deviation: float | None  # assigned / expected - 1 (0.05 = 5% more than the weight promised)
    days_available: int  # working days in the period, not out of office
    daily_quota: int | None
    max_open: int | None
    quota_capacity: int | None  # daily_quota x days_available
    quota_used: float | None  # assigned / quota_capacity

    def within(self, tolerance: float) -> bool:
        return self.deviation is None or abs(self.deviation) <= tolerance


def fairness_report(assignments: Iterable[Assignment | tuple], rules: RoutingRules,
                    period: tuple[date, date]) -> list[FairnessRow]:
    """Leads per rep in `period` (local dates, both included) against the weights.

    Pass the rotation's assignments (rule `rotation`): account-owner leads are
    not the rotation's to share. For each lead the expected count of each rep
    is their weight's share of the pool it was picked from: its stored `pool`
    (`RoutingDecision.candidates_considered`: the reps in the territory with
    the skill, present and below capacity), or else every rep who was active
    and not out of office that day. A rep who was away is therefore not
    "owed" the leads of their absence. Without stored pools, reps skipped for
    being full show as below their weight: look at `quota_used` next to
    `deviation`.
    """
    first, last = period
    zone = ZoneInfo(rules.timezone)
    by_id = {r.id: r for r in rules.reps}
    assigned: dict[str, int] = {}
    expected: dict[str, float] = {}
    total = 0
    for item in assignments:
        entry = item if isinstance(item, Assignment) else Assignment(*item)
        day = entry.at.astimezone(zone).date()
        if not first <= day <= last:
            continue
        total += 1
        assigned[entry.rep_id] = assigned.get(entry.rep_id, 0) + 1
        pool = [by_id[r] for r in entry.pool if r in by_id] if entry.pool else [
            r for r in by_id.values() if _absence(r, day) is None]
        pool_weight = sum(r.weight for r in pool)
        for rep in pool:
            expected[rep.id] = expected.get(rep.id, 0.0) + rep.weight / pool_weight

    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    rows = []
    for rep_id in [*by_id, *sorted(set(assigned) - set(by_id))]:
        rep = by_id.get(rep_id)
        count = assigned.get(rep_id, 0)
        exp = expected.get(rep_id, 0.0)
        available = 0
        if rep is not None:
            policy = rules.sla_for(rep.team)
            available = sum(1 for d in days if _absence(rep, d) is None and sla.is_working_day(d, rep.office, policy))
        capacity = rep.daily_quota * available if rep else None
        rows.append(FairnessRow(
            rep_id=rep_id, name=rep.name if rep else rep_id, weight=rep.weight if rep else None, assigned=count,
            share=round(count / total, 4) if total else 0.0, expected=round(exp, 3),
            expected_share=round(exp / total, 4) if total else 0.0,
            deviation=round(count / exp - 1, 4) if exp else None, days_available=available,
            daily_quota=rep.daily_quota if rep else None, max_open=rep.max_open if rep else None,
            quota_capacity=capacity, quota_used=round(count / capacity, 4) if capacity else None))
    return rows
