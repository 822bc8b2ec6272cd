"""Who may do what: roles and the rules that depend on the caller, not on transport."""

from __future__ import annotations

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


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: Role

    def require(self, *roles: Role, action: str = "this") -> None:
        """The rule is the list of roles that may: the message names it and the caller's role."""
        if self.role not in roles:
            names = ", ".join(r.value for r in roles)
            raise Forbidden(f"{action} is for the roles {names}; you are {self.role.value}", field="role")


def can_see_lead(principal: Principal, owner_id: str | None) -> bool:
    """A sales rep sees only their own leads; finance sees no single lead."""
    if principal.role not in PERSONAL_DATA_ROLES:
        return False
    if principal.role is Role.SALES_REP:
        return owner_id == principal.user_id
    return True


def principal_from_claims(claims: dict | None) -> Principal | None:
    """Claims as API Gateway's JWT authorizer passes them (all values are strings)."""
    if not claims or not claims.get("sub"):
        return None
    role_name = claims.get("custom:role")
    if not role_name and claims.get("cognito:groups"):
        role_name = str(claims["cognito:groups"]).strip("[]").split(",")[0].split(" ")[0].strip()
    try:
        return Principal(user_id=str(claims["sub"]), role=Role(role_name))
    except ValueError:
        return None
