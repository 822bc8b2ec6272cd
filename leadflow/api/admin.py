"""GraphQL for admins: rule sets as versioned data."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md). Forward references are quoted.

import strawberry
from strawberry.scalars import JSON

from leadflow.api.permissions import principal_of, roles
from leadflow.api.types import ConfigVersion
from leadflow.domain.access import Role
from leadflow.store import config as config_store

# services.config is imported in the resolvers that use it: it pulls the rule sets (pydantic, YAML), which
# would cost every GraphQL cold start (docs/benchmarks.md)

ADMIN = roles(Role.ADMIN)


@strawberry.type
class AdminQuery:
    @strawberry.field(permission_classes=[ADMIN], description=(
        "Versions of a rule set, newest first, down to the shipped file (author \"shipped\"); "
        "the active one is the version scores and routing decisions report as rulesVersion."))
    def config_versions(self, name: str, first: int = 20) -> list[ConfigVersion]:
        from leadflow.services import config as config_service

        active = config_service.active_version(name)
        return [ConfigVersion.from_model(m, active)
                for m in config_service.versions(name, limit=max(1, min(first, 100)))]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(permission_classes=[ADMIN], description=(
        "Validate a rule set against its schema and publish it as the next version, which becomes active "
        "(its `version` field is set to that number). Refused: unknown names, the active rules again."))
    def publish_config(self, info: strawberry.Info, name: str, document: JSON,
                       comment: str | None = None) -> ConfigVersion:
        from leadflow.services import config as config_service

        version = config_service.publish(name, document, author=principal_of(info).user_id, comment=comment)
        return ConfigVersion.from_model(config_store.get_version(name, version), version)
