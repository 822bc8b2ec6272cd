"""GraphQL for leads: read, list, the review queue and its decisions."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md). Forward references are quoted.

import strawberry

from leadflow.api.permissions import principal_of, roles
from leadflow.api.types import Lead, LeadConnection, LeadEdge, LeadPatch, PageInfo, Viewer
from leadflow.domain.access import ALL_ROLES, Role
from leadflow.domain.lifecycle import Stage
from leadflow.services import leads as lead_service
from leadflow.store.leads import index_cursor

# services.review is imported in the resolvers that use it: it pulls the rule sets (pydantic, YAML), which
# would cost every GraphQL cold start (docs/benchmarks.md)

REVIEWERS = roles(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
READ_LEADS = roles(Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
LIST_LEADS = roles(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
ANYONE = roles(*ALL_ROLES)


@strawberry.type
class LeadQuery:
    @strawberry.field(permission_classes=[ANYONE], description="The caller as the API sees them.")
    def viewer(self, info: strawberry.Info) -> Viewer:
        from leadflow.services.team import viewer_profile

        principal = principal_of(info)
        name, team_ids = viewer_profile(principal)
        return Viewer(user_id=principal.user_id, role=principal.role.value, name=name, team_ids=team_ids)

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
        return connection(items, end_cursor, "by_stage")

    @strawberry.field(permission_classes=[REVIEWERS],
                      description="Leads the checks were unsure of, oldest first: correct, release or reject.")
    def review_queue(self, info: strawberry.Info, first: int = 20, after: str | None = None) -> LeadConnection:
        from leadflow.services import review as review_service

        items, end_cursor = review_service.review_queue(principal_of(info), first, after)
        return connection(items, end_cursor, "by_review")


def connection(items, end_cursor, index_name: str) -> LeadConnection:
    """A page of leads read through `index_name`, each edge with the cursor that continues after it."""
    edges = [LeadEdge(cursor=index_cursor(m, index_name), node=Lead.from_model(m)) for m in items]
    return LeadConnection(edges=edges, page_info=PageInfo(has_next_page=end_cursor is not None,
                                                          end_cursor=end_cursor))


@strawberry.type
class LeadMutation:
    @strawberry.mutation(permission_classes=[REVIEWERS], description=(
        "Correct contact fields of any lead that is not a customer; the checks run again. A lead in "
        "review that is now plausible leaves the queue. A corrected email moves the lead's dedup keys. "
        "applySuggestions takes every suggestion of the lead, suggestionIds the named ones; a field "
        "given in patch wins over a suggestion."))
    def correct_lead(self, info: strawberry.Info, id: strawberry.ID, patch: LeadPatch | None = None,
                     apply_suggestions: bool = False, suggestion_ids: list[strawberry.ID] | None = None) -> Lead:
        from leadflow.services import review as review_service

        return Lead.from_model(review_service.correct_lead(
            principal_of(info), str(id), patch.to_dict() if patch else {}, apply_suggestions=apply_suggestions,
            suggestion_ids=[str(i) for i in suggestion_ids] if suggestion_ids else None))

    @strawberry.mutation(permission_classes=[REVIEWERS], description=(
        "A person vouches for a lead in review (reason optional). An admin may also release a lead "
        "judged implausible: back to LEAD, plausible; the reason is required and kept in the history."))
    def release_lead(self, info: strawberry.Info, id: strawberry.ID, reason: str | None = None) -> Lead:
        from leadflow.services import review as review_service

        return Lead.from_model(review_service.release_lead(principal_of(info), str(id), reason))

    @strawberry.mutation(permission_classes=[REVIEWERS], description=(
        "The lead in review is the same person as its duplicateOf: its submission goes into that lead "
        "(judged and scored like a resubmission) and it is closed as merged."))
    def merge_duplicate(self, info: strawberry.Info, id: strawberry.ID) -> Lead:
        from leadflow.services import review as review_service

        return Lead.from_model(review_service.merge_duplicate(principal_of(info), str(id)))
