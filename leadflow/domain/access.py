"""Who may do what: roles and the rules that depend on the caller, not on transport."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from leadflow.domain.errors import Forbidden


class Role(str, Enum):
    MARKETING = "marketing"
    SALES_REP = "sales_rep"
    SALES_MANAGER = "sales_manager"
    FINANCE = "finance"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
# Phone calls and letters from journeys land on this shared task list of the marketing team.
MARKETING_TASK_QUEUE = "marketing"
# Roles that may see personal data of leads. Finance sees aggregates only.
PERSONAL_DATA_ROLES = frozenset({Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})
# Roles whose users must be members of a team in the active routing rules (services.routing).
TEAM_ROLES = (Role.SALES_REP.value, Role.SALES_MANAGER.value)


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: Role

    def require(self, *roles: Role, action: str = "this") -> None:
        """The rule is the list of roles that may: the message names it and the caller's role."""
        if self.role not in roles:
            names = ", ".join(r.value for r in roles)
            raise Forbidden(f"{action} is for the roles {names}; you are {self.role.value}", field="role")


@dataclass(frozen=True)
class LeadScope:
    """Who a lead belongs to on the sales side. `team_id`: the team of its current owner (by the
    active routing rules), else the team routing last gave it to; None while no team had it."""

    owner_id: str | None = None
    team_id: str | None = None
    queue_manager: str | None = None


def in_scope(principal: Principal, lead: LeadScope, managed_teams: frozenset[str] = frozenset()) -> bool:
    """May the caller act on this lead at all? A rep: only their own. A manager: the leads of the
    teams they manage (`managed_teams`) and of their own queue, plus leads no sales team has had yet
    (nurturing, the review queue), which managers review with marketing. Everyone else: any lead
    (what they may do with it is decided by their role)."""
    if principal.role is Role.SALES_REP:
        return lead.owner_id is not None and lead.owner_id == principal.user_id
    if principal.role is Role.SALES_MANAGER:
        if lead.queue_manager == principal.user_id:
            return True
        if lead.team_id is None:
            return lead.owner_id is None and lead.queue_manager is None
        return lead.team_id in managed_teams
    return True


def can_see_lead(principal: Principal, lead: LeadScope, managed_teams: frozenset[str] = frozenset()) -> bool:
    """Read a single lead: a role that may see personal data, and the lead in the caller's scope.
    Finance sees no single lead."""
    return principal.role in PERSONAL_DATA_ROLES and in_scope(principal, lead, managed_teams)


# The role comes only from Cognito groups: only an administrator (AdminAddUserToGroup) changes
# them. `custom:role` is a user attribute the user could write themselves: never read.
GROUPS_CLAIM = "cognito:groups"
_GROUP_SEPARATORS = re.compile(r"[\s,]+")


def groups_of(value: object) -> list[str]:
    """The group names of a `cognito:groups` claim: a real list (a decoded ID token) or the text
    API Gateway HTTP APIs make of it ("[a b]"); also tolerates "a,b" and '["a","b"]'."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = _GROUP_SEPARATORS.split(str(value).strip().removeprefix("[").removesuffix("]"))
    return [name for name in (i.strip().strip("\"'") for i in items) if name]


def identify(claims: dict | None) -> tuple[Principal | None, str | None]:
    """(the caller, None), or (None, why not) for a token Leadflow cannot give a role;
    (None, None) when there is no caller at all. Exactly one Leadflow role group is required:
    a user in several is refused rather than given the strongest (an administrator's mistake
    must not widen anyone's rights); groups that are not Leadflow roles are ignored."""
    if not claims or not claims.get("sub"):
        return None, None
    # The Cognito username (what an administrator chose, e.g. anna.becker, and what the routing
    # rules list) rather than `sub`, a generated UUID; ID tokens say cognito:username, access
    # tokens username. Local tokens carry only `sub`.
    user = str(claims.get("cognito:username") or claims.get("username") or claims["sub"])
    names = {r.value for r in Role}
    roles = sorted({g for g in groups_of(claims.get(GROUPS_CLAIM)) if g in names})
    if len(roles) == 1:
        return Principal(user_id=user, role=Role(roles[0])), None
    if roles:
        return None, (f"user {user} is in several Leadflow role groups ({', '.join(roles)}); a user needs "
                      "exactly one: an administrator removes the others")
    return None, (f"user {user} is in no Leadflow role group; an administrator adds them to the Cognito "
                  f"group of their role ({', '.join(r.value for r in Role)}). The custom:role attribute "
                  "is not read: users can change it themselves")


def principal_from_claims(claims: dict | None) -> Principal | None:
    """Claims as API Gateway's JWT authorizer passes them: the caller, or None if refused."""
    return identify(claims)[0]
