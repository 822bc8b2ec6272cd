"""The team directory: who is who in sales (teams, managers, reps, territories, absences), read
from the active routing rules, so a frontend offers people by name. Everyone signed in may read it;
changing it stays an admin's publishConfig of the routing rules."""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.adapters import clock
from leadflow.domain.access import Principal, Role
from leadflow.domain.routing_rules import RoutingRules, Team, unavailable

# Absence notes (a reason may be personal) and rotation weights and capacities: for those who plan
# the team; everyone else sees who is away and until when.
PLANNERS = frozenset({Role.SALES_MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class Directory:
    rules_version: str
    teams: list[Team]
    today: object  # date: absences and availability refer to it (the rules' time zone)
    details: bool  # the caller may see absence notes, weights and capacities


def directory(principal: Principal) -> Directory:
    from leadflow.services.rulesets import active_rules

    rules: RoutingRules = active_rules("routing")
    return Directory(rules_version=str(rules.version), teams=list(rules.teams), today=rules.today(clock.now()),
                     details=principal.role in PLANNERS)


def away_reason(rep, today) -> str | None:
    return unavailable(rep, today)


def viewer_profile(principal: Principal) -> tuple[str | None, list[str]]:
    """(the caller's name in the sales team, the ids of their teams: a rep's own, a manager's managed);
    (None, []) for roles outside the sales team."""
    if principal.role not in (Role.SALES_REP, Role.SALES_MANAGER):
        return None, []
    from leadflow.services.rulesets import active_rules

    rules: RoutingRules = active_rules("routing")
    if principal.role is Role.SALES_REP:
        rep = rules.rep(principal.user_id)
        return (rep.name, [rep.team]) if rep is not None and rep.team else (None, [])
    manager = rules.manager(principal.user_id)
    return (manager.name if manager else None), sorted(rules.teams_managed_by(principal.user_id))
