"""Authorization on every field, in one table.

`AuthorizeEveryField` runs before every resolver: the caller must be signed in
and their role must be allowed on the type the field belongs to. A type that is
missing from TYPE_ROLES is denied to everyone (secure by default). Root fields
narrow this further with `roles(...)`; object-level rules (a rep sees only own
leads) live in the services.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from leadflow.domain.access import ALL_ROLES, PERSONAL_DATA_ROLES, Principal, Role

# BANT answers are a rep's notes of a sales conversation (who decides, what budget): sales only.
SALES_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})

TYPE_ROLES: dict[str, frozenset[Role]] = {
    "Query": ALL_ROLES,
    "Mutation": ALL_ROLES,
    "Lead": PERSONAL_DATA_ROLES,
    "Consent": PERSONAL_DATA_ROLES,
    "HistoryEntry": PERSONAL_DATA_ROLES,
    "QualityReason": PERSONAL_DATA_ROLES,
    "SuggestedCorrection": PERSONAL_DATA_ROLES,
    "Enrichment": PERSONAL_DATA_ROLES,
    "Score": PERSONAL_DATA_ROLES,
    "ScoreReason": PERSONAL_DATA_ROLES,
    "Prediction": PERSONAL_DATA_ROLES,
    "PredictionFactor": PERSONAL_DATA_ROLES,
    "TimelineEvent": PERSONAL_DATA_ROLES,
    "ConsentRecord": PERSONAL_DATA_ROLES,
    "JourneyState": PERSONAL_DATA_ROLES,
    "JourneyRun": PERSONAL_DATA_ROLES,
    "LeadConnection": PERSONAL_DATA_ROLES,
    "LeadEdge": PERSONAL_DATA_ROLES,
    "Qualification": SALES_ROLES,
    # amount, currency, close date and a reason code: no personal data, but only on a lead its reader
    # may see; finance gets deal money as aggregates (funnel amounts, open pipeline, revenue)
    "Opportunity": PERSONAL_DATA_ROLES,
    "PageInfo": ALL_ROLES,
    "ConfigVersion": frozenset({Role.ADMIN}),
    "Viewer": ALL_ROLES,
}


def register_type_roles(*tables: dict[str, frozenset[Role]]) -> None:
    """Area modules (sales, controlling, nurturing) bring the roles of their own types."""
    for table in tables:
        TYPE_ROLES.update(table)


class NotAuthorized(Exception):
    pass


class NotAuthenticated(NotAuthorized):
    """No valid caller: no token, or a token for a user Leadflow does not know."""


def principal_of(info: strawberry.Info) -> Principal | None:
    return info.context.get("principal") if isinstance(info.context, dict) else None


class AuthorizeEveryField(SchemaExtension):
    def resolve(self, _next, root, info, *args: Any, **kwargs: Any):
        parent = info.parent_type.name
        if parent.startswith("__"):  # introspection (off in production)
            return _next(root, info, *args, **kwargs)
        principal = principal_of(info)
        if principal is None:
            refusal = info.context.get("refusal") if isinstance(info.context, dict) else None
            raise NotAuthenticated(refusal or "sign in: this API needs a bearer token")
        if principal.role not in TYPE_ROLES.get(parent, frozenset()):
            raise NotAuthorized(f"the role {principal.role.value} may not read {parent}.{info.field_name}")
        return _next(root, info, *args, **kwargs)


def roles(*allowed: Role) -> type[BasePermission]:
    """A permission class for a root field: only these roles."""
    names = ", ".join(r.value for r in allowed)

    class _Roles(BasePermission):
        message = f"only these roles may use this field: {names}"

        def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
            principal = principal_of(info)
            return principal is not None and principal.role in allowed

        def on_unauthorized(self) -> None:
            raise NotAuthorized(self.message)  # written for the caller: not masked in production

    _Roles.__name__ = f"Roles_{'_'.join(r.value for r in allowed)}"
    return _Roles
