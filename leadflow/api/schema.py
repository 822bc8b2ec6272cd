"""The Strawberry schema: one Query and one Mutation merged from the area modules
(leads, admin, ...), with the security extensions every request runs through."""

from __future__ import annotations

from functools import cache
from typing import Any

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from leadflow.api import activities, bulk, controlling, nurturing, sales, search, team
from leadflow.api.activities import ActivityMutation, ActivityQuery
from leadflow.api.admin import AdminMutation, AdminQuery
from leadflow.api.bulk import BulkMutation
from leadflow.api.controlling import ControllingMutation, ControllingQuery
from leadflow.api.cost import QueryCost
from leadflow.api.leads import LeadMutation, LeadQuery
from leadflow.api.nurturing import NurturingMutation, NurturingQuery
from leadflow.api.permissions import AuthorizeEveryField, register_type_roles
from leadflow.api.privacy import PrivacyMutation, PrivacyQuery
from leadflow.api.sales import SalesMutation, SalesQuery
from leadflow.api.search import SearchQuery
from leadflow.api.team import TeamQuery

register_type_roles(sales.TYPE_ROLES, nurturing.TYPE_ROLES, controlling.TYPE_ROLES, bulk.TYPE_ROLES,
                    activities.TYPE_ROLES, search.TYPE_ROLES, team.TYPE_ROLES)

Query = merge_types("Query", (LeadQuery, SalesQuery, NurturingQuery, ControllingQuery, PrivacyQuery, AdminQuery,
                              ActivityQuery, SearchQuery, TeamQuery))
Mutation = merge_types("Mutation", (LeadMutation, SalesMutation, NurturingMutation, ControllingMutation,
                                     PrivacyMutation, AdminMutation, BulkMutation, ActivityMutation))


class DepthLimit(QueryDepthLimiter):
    def __init__(self) -> None:
        super().__init__(max_depth=8)


class TokenLimit(MaxTokensLimiter):
    def __init__(self) -> None:
        super().__init__(max_token_count=2000)


class AliasLimit(MaxAliasesLimiter):
    def __init__(self) -> None:
        super().__init__(max_alias_count=15)


# String arguments that name a user or a queue: ids by another type (changing it would break clients).
ID_ARGUMENTS = frozenset({"assignee", "repId", "managerId"})


class ValidIds(SchemaExtension):
    """Every ID argument of a root field (and the user ids in ID_ARGUMENTS) is checked by the one
    rule (domain.ids) before the resolver runs: an empty or malformed id is an invalid_input error
    naming the argument, never a key lookup that fails inside DynamoDB."""

    def resolve(self, _next, root, info, *args: Any, **kwargs: Any):
        if info.parent_type.name in ("Query", "Mutation") and kwargs:
            from leadflow.domain.ids import check_id

            for name, argument in info.parent_type.fields[info.field_name].args.items():
                value = kwargs.get(name)
                if value is None or not (name in ID_ARGUMENTS or _is_id(argument.type)):
                    continue
                for one in value if isinstance(value, list) else [value]:
                    check_id(one, name)
        return _next(root, info, *args, **kwargs)


def _is_id(graphql_type) -> bool:
    from graphql import get_named_type

    return get_named_type(graphql_type).name == "ID"


SECURITY_EXTENSIONS = [DepthLimit, TokenLimit, AliasLimit, QueryCost, AuthorizeEveryField, ValidIds]


def error_extensions(error) -> dict[str, str]:
    """The one place that maps what went wrong to `extensions` of a GraphQL error:
    `code` is not_found | not_permitted | unauthenticated | invalid_state | invalid_input,
    `rule` the finer domain code, `field` the argument at fault (when there is one)."""
    from leadflow.api.permissions import NotAuthenticated, NotAuthorized
    from leadflow.domain.errors import DomainError

    original = getattr(error, "original_error", None)
    if isinstance(original, DomainError):
        out = {"code": original.kind, "rule": original.code}
        if original.field:
            out["field"] = original.field
        return out
    if isinstance(original, NotAuthenticated):
        return {"code": "unauthenticated"}
    if isinstance(original, (NotAuthorized, PermissionError)):
        return {"code": "not_permitted"}
    return {}


class ErrorCodes(SchemaExtension):
    def on_operation(self):
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            extra = error_extensions(error)
            if extra:
                error.extensions = {**(error.extensions or {}), **extra}


def build_schema(*, production: bool) -> strawberry.Schema:
    # Errors are masked in every stage: the local stack is attacked like production (the full
    # error, with its traceback, is in the log)
    extensions: list = [*SECURITY_EXTENSIONS, ErrorCodes, SafeErrors]
    if production:
        extensions += [DisableIntrospection]
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions,
                             config=StrawberryConfig(disable_field_suggestions=production))


def _is_internal(error) -> bool:
    """Mask everything except errors written for the caller (domain rules, authorization, and
    GraphQL's own about the request: syntax, validation, a variable of the wrong type). Any
    other exception (a ValueError too: pydantic's and the codecs' are ValueErrors) is internal."""
    from graphql import GraphQLError
    from leadflow.api.permissions import NotAuthorized
    from leadflow.domain.errors import DomainError

    original = getattr(error, "original_error", None)
    if original is None:  # a GraphQL validation error about the query itself
        return False
    return not isinstance(original, (DomainError, NotAuthorized, PermissionError, GraphQLError))


class SafeErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_internal, error_message="Unexpected error.")


@cache
def __getattr__(name: str) -> strawberry.Schema:
    # `schema`: the contract exported to graphql/schema.graphql (same SDL in every environment), built
    # when asked for (make schema, tests), not at every cold start of the function that builds its own
    if name != "schema":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return build_schema(production=False)
