"""GraphQL: the team directory (teams, managers, reps, territories, absences) for every signed-in role."""

from datetime import date

import strawberry

from leadflow.api.permissions import principal_of, roles
from leadflow.domain.access import ALL_ROLES

ANYONE = roles(*ALL_ROLES)


@strawberry.type(description="Out of office, both days included.")
class RepAbsence:
    from_: date = strawberry.field(name="from")
    to: date
    note: str | None = strawberry.field(description="Sales managers and admins only (else null).")


@strawberry.type(description="Postal codes compared as prefixes, both ends included.")
class RepPostalRange:
    country: str
    from_: str = strawberry.field(name="from")
    to: str


@strawberry.type
class TeamManager:
    id: str
    name: str


@strawberry.type(description="A sales rep as the routing rules know them.")
class TeamRep:
    id: str = strawberry.field(description="The user id (repId, owners in searchLeads, ownerId of a lead).")
    name: str
    team_id: str
    manager_id: str | None
    countries: list[str] = strawberry.field(description="Whole countries the rep covers.")
    postal_ranges: list[RepPostalRange]
    skills: list[str]
    office: str | None = strawberry.field(description="SLA calendar, e.g. DE-BY.")
    active: bool
    available_today: bool = strawberry.field(description="Active and not out of office today.")
    away_reason: str | None
    absences: list[RepAbsence]
    weight: float | None = strawberry.field(description="Rotation share (sales managers and admins only).")
    max_open: int | None = strawberry.field(description="Open leads at most (sales managers and admins only).")
    daily_quota: int | None = strawberry.field(description="New leads a day at most (managers and admins only).")


@strawberry.type
class Team:
    id: str
    name: str
    office: str
    managers: list[TeamManager] = strawberry.field(description="The first owns the team's queue.")
    reps: list[TeamRep]


@strawberry.type(description="Who is who in sales, from the active routing rules (admins change them with "
                             "publishConfig).")
class TeamDirectory:
    rules_version: str
    today: date = strawberry.field(description="The day availability refers to (the rules' time zone).")
    teams: list[Team]

    @strawberry.field(description="Every rep of every team, by name.")
    def reps(self) -> list[TeamRep]:
        return sorted((r for t in self.teams for r in t.reps), key=lambda r: r.name)

    @strawberry.field(description="Every manager once, by name.")
    def managers(self) -> list[TeamManager]:
        found = {m.id: m for t in self.teams for m in t.managers}
        return sorted(found.values(), key=lambda m: m.name)


def _rep(rep, today: date, details: bool) -> TeamRep:
    from leadflow.services.team import away_reason

    reason = away_reason(rep, today)
    return TeamRep(
        id=rep.id, name=rep.name, team_id=rep.team or "", manager_id=rep.manager_id, countries=list(rep.countries),
        postal_ranges=[RepPostalRange(country=p.country, from_=p.from_, to=p.to) for p in rep.postal_ranges],
        skills=list(rep.skills), office=rep.office, active=rep.active, available_today=reason is None,
        away_reason=reason,
        absences=[RepAbsence(from_=a.from_, to=a.to, note=a.note if details else None) for a in rep.out_of_office],
        weight=rep.weight if details else None, max_open=rep.max_open if details else None,
        daily_quota=rep.daily_quota if details else None)


@strawberry.type
class TeamQuery:
    @strawberry.field(permission_classes=[ANYONE], description=(
        "The sales team directory: teams, managers, reps with territories, skills and absences (every "
        "signed-in role; absence notes, weights and capacities for sales managers and admins)."))
    def team(self, info: strawberry.Info) -> TeamDirectory:
        from leadflow.services.team import directory

        found = directory(principal_of(info))
        return TeamDirectory(rules_version=found.rules_version, today=found.today, teams=[
            Team(id=t.id, name=t.name, office=t.office,
                 managers=[TeamManager(id=m.id, name=m.name) for m in t.managers],
                 reps=[_rep(r, found.today, found.details) for r in t.reps]) for t in found.teams])


TYPE_ROLES = {name: frozenset(ALL_ROLES) for name in ("TeamDirectory", "Team", "TeamRep", "TeamManager",
                                                      "RepAbsence", "RepPostalRange")}
