"""The ASGI app behind /graphql: production settings unless the stage is dev."""

from __future__ import annotations

from typing import Any

from strawberry.asgi import GraphQL

from leadflow.api.context import build_context
from leadflow.api.schema import build_schema


class LeadflowGraphQL(GraphQL):
    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        event = request.scope.get("aws.event") if hasattr(request, "scope") else None
        return build_context(event)


def create_app(*, production: bool) -> LeadflowGraphQL:
    return LeadflowGraphQL(
        build_schema(production=production),
        graphql_ide=None if production else "graphiql",
        allow_queries_via_get=not production,
    )
