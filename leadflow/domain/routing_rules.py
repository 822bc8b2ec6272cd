"""Routing rules as versioned data: the config schema (teams, reps, territories, skills,
capacity, absences) and how a lead matches a rep (territory tier, availability). Pure: no I/O.
`leadflow.domain.routing` decides with these rules; docs/routing.md explains them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
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


# --------------------------------------------------------------------------- matching


def unavailable(rep: Rep, today: date) -> str | None:
    if not rep.active:
        return "inactive"
    away = rep.absence_on(today)
    if away:
        return f"out of office until {away.to.isoformat()}"
    return None


def territory(rep: Rep, lead: LeadFacts) -> tuple[int, str] | None:
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


def tier_name(tier: int, lead: LeadFacts) -> str:
    if tier == 2:
        return f"the postal-code territory of {where(lead)}"
    if tier == 1:
        return f"reps covering all of {(lead.country or '').upper()}"
    return "reps without territory"


def where(lead: LeadFacts) -> str:
    if not lead.country:
        return "a lead without country"
    return f"{lead.country.upper()} {lead.postal_code}" if lead.postal_code else lead.country.upper()

