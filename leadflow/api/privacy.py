"""GraphQL for data protection requests (admins only): export and erasure of one person's data."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md). Forward references are quoted.

import strawberry
from strawberry.scalars import JSON

from leadflow.api.permissions import principal_of, roles
from leadflow.domain.access import Role

# services.privacy is imported in the resolvers that use it: it pulls the rule sets (pydantic, YAML), which
# would cost every GraphQL cold start (docs/benchmarks.md)

ADMIN = roles(Role.ADMIN)


@strawberry.type
class PrivacyQuery:
    @strawberry.field(permission_classes=[ADMIN],
                      description="Everything stored about the person behind a lead (GDPR Art. 15), as JSON.")
    def personal_data_export(self, id: strawberry.ID) -> JSON:
        from leadflow.services import privacy

        return privacy.export_person(str(id))


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(permission_classes=[ADMIN], description=(
        "Erase the person's data everywhere (GDPR Art. 17): contact data, consents, journey, tasks, "
        "timeline, dedup keys and free-text reasons. Anonymous funnel counters stay as they were."))
    def erase_lead(self, info: strawberry.Info, id: strawberry.ID) -> JSON:
        from leadflow.services import privacy

        return privacy.erase_person(str(id), actor=principal_of(info).user_id)
