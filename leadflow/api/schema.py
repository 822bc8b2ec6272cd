"""The Strawberry schema: root queries and mutations. Resolvers call services only."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig

from leadflow.api.permissions import AuthorizeEveryField, principal_of, roles
from leadflow.api.types import ConfigVersion, Lead, LeadConnection, LeadEdge, PageInfo, Viewer
from leadflow.domain.access import ALL_ROLES, Role
from leadflow.domain.lifecycle import Stage
from leadflow.services import config as config_service
from leadflow.services import leads as lead_service
from leadflow.store import config as config_store
from leadflow.store.leads import encode_cursor

READ_LEADS = roles(Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
LIST_LEADS = roles(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
ADMIN = roles(Role.ADMIN)
ANYONE = roles(*ALL_ROLES)


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[ANYONE], description="The caller as the API sees them.")
    def viewer(self, info: strawberry.Info) -> Viewer:
        principal = principal_of(info)
        return Viewer(user_id=principal.user_id, role=principal.role.value)

    @strawberry.field(permission_classes=[READ_LEADS],
                      description="One lead; null if it does not exist or the caller may not see it.")
    def lead(self, info: strawberry.Info, id: strawberry.ID) -> Lead | None:
        lead = lead_service.lead_for(principal_of(info), str(id))
        return Lead.from_model(lead) if lead else None

    @strawberry.field(permission_classes=[LIST_LEADS],
                      description="Leads in a stage, newest first; cursor pagination (first <= 100).")
    def leads(self, info: strawberry.Info, stage: Stage, first: int = 20, after: str | None = None
              ) -> LeadConnection:
        items, end_cursor = lead_service.leads_in_stage(principal_of(info), stage, first, after)
        edges = [LeadEdge(cursor=lead_service_cursor(m), node=Lead.from_model(m)) for m in items]
        return LeadConnection(edges=edges, page_info=PageInfo(has_next_page=end_cursor is not None,
                                                              end_cursor=end_cursor))

    @strawberry.field(permission_classes=[ADMIN], description="Stored versions of a rule set, newest first.")
    def config_versions(self, name: str, first: int = 20) -> list[ConfigVersion]:
        active = config_store.active_version(name)
        return [ConfigVersion.from_model(m, active) for m in config_store.versions(name, limit=min(first, 100))]


def lead_service_cursor(model) -> str:
    return encode_cursor({"lead_id": {"S": model.lead_id}, "stage": {"S": model.stage},
                          "stage_sort": {"S": model.stage_sort}})


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[ADMIN],
                         description="Validate and publish a new version of a rule set; it becomes active.")
    def publish_config(self, info: strawberry.Info, name: str, document: JSON,
                       comment: str | None = None) -> ConfigVersion:
        version = config_service.publish(name, document, author=principal_of(info).user_id, comment=comment)
        return ConfigVersion.from_model(config_store.get_version(name, version), version)


class DepthLimit(QueryDepthLimiter):
    def __init__(self) -> None:
        super().__init__(max_depth=8)


class TokenLimit(MaxTokensLimiter):
    def __init__(self) -> None:
        super().__init__(max_token_count=2000)


class AliasLimit(MaxAliasesLimiter):
    def __init__(self) -> None:
        super().__init__(max_alias_count=15)


SECURITY_EXTENSIONS = [DepthLimit, TokenLimit, AliasLimit, AuthorizeEveryField]


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions: list = list(SECURITY_EXTENSIONS)
    if production:
        extensions += [DisableIntrospection, SafeErrors]
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions,
                             config=StrawberryConfig(disable_field_suggestions=production))


def _is_internal(error) -> bool:
    """Mask everything except errors written for the caller (domain rules, authorization, validation)."""
    from leadflow.api.permissions import NotAuthorized
    from leadflow.domain.errors import DomainError

    original = getattr(error, "original_error", None)
    if original is None:  # a GraphQL validation error about the query itself
        return False
    return not isinstance(original, (DomainError, NotAuthorized, PermissionError, ValueError))


class SafeErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_internal, error_message="Unexpected error.")


# The contract exported to graphql/schema.graphql (same SDL in every environment).
schema = build_schema(production=False)
