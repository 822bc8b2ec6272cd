"""GraphQL for admins: rule sets as versioned data."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from leadflow.api.permissions import principal_of, roles
from leadflow.api.types import ConfigVersion
from leadflow.domain.access import Role
from leadflow.services import config as config_service
from leadflow.store import config as config_store

ADMIN = roles(Role.ADMIN)


@strawberry.type
class AdminQuery:
    @strawberry.field(permission_classes=[ADMIN], description="Stored versions of a rule set, newest first.")
    def config_versions(self, name: str, first: int = 20) -> list[ConfigVersion]:
        active = config_store.active_version(name)
        return [ConfigVersion.from_model(m, active) for m in config_store.versions(name, limit=min(first, 100))]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(permission_classes=[ADMIN],
                         description="Validate and publish a new version of a rule set; it becomes active.")
    def publish_config(self, info: strawberry.Info, name: str, document: JSON,
                       comment: str | None = None) -> ConfigVersion:
        version = config_service.publish(name, document, author=principal_of(info).user_id, comment=comment)
        return ConfigVersion.from_model(config_store.get_version(name, version), version)
