"""GraphQL bulk actions: a manager reassigns or rejects a selection, marketing releases or
rejects several review-queue leads; each lead is reported as done or refused with the rule."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md).

import strawberry

from leadflow.api.permissions import principal_of, roles
from leadflow.api.search import LeadSearchFilter, search_filter_of
from leadflow.domain.access import Principal, Role
from leadflow.services.bulk import BulkOutcome, apply_each, searched_selection

MANAGERS = roles(Role.SALES_MANAGER, Role.ADMIN)
REVIEWERS = roles(Role.MARKETING, Role.ADMIN)
REJECTERS = roles(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)

# Who may read the answers: whoever may call a bulk action (ids and rules, no personal data).
_BULK_ROLES = frozenset({Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN})
TYPE_ROLES = {"BulkResult": _BULK_ROLES, "BulkFailure": _BULK_ROLES}


@strawberry.type(description="A lead of a bulk action that was refused, with the rule that refused it.")
class BulkFailure:
    id: strawberry.ID
    code: str = strawberry.field(description="not_found | not_permitted | invalid_state | invalid_input | "
                                             "unavailable (try again)")
    rule: str
    message: str
    field: str | None


@strawberry.type(description="What a bulk action did: the leads changed and, per lead, what was refused.")
class BulkResult:
    succeeded: list[strawberry.ID]
    failed: list[BulkFailure]

    @staticmethod
    def of(outcome: BulkOutcome) -> "BulkResult":
        return BulkResult(succeeded=[strawberry.ID(i) for i in outcome.succeeded],
                          failed=[BulkFailure(id=strawberry.ID(f.lead_id), code=f.code, rule=f.rule,
                                              message=f.message, field=f.field) for f in outcome.failed])


def _selected(principal: Principal, ids: list[strawberry.ID] | None, query: str | None,
              filter: LeadSearchFilter | None) -> list[str]:
    """The ids given, or the leads a search (as searchLeads, in the caller's scope) finds."""
    if ids is not None:
        if query is not None or filter is not None:
            from leadflow.domain.errors import InvalidInput

            raise InvalidInput("select by ids or by a search (query, filter), not both", field="ids")
        return [str(i) for i in ids]
    return searched_selection(principal, query, search_filter_of(filter))


SELECTION = ("Select the leads by `ids` (at most 50) or by a search: `query` and `filter` as in searchLeads, "
             "in the caller's scope; a search that finds more than 50 is refused (narrow it).")


@strawberry.type
class BulkMutation:
    @strawberry.mutation(permission_classes=[MANAGERS], description=(
        "Give several MQLs to one rep; each lead gets its own history entry. " + SELECTION))
    def bulk_reassign(self, info: strawberry.Info, rep_id: str, reason: str, ids: list[strawberry.ID] | None = None,
                      query: str | None = None, filter: LeadSearchFilter | None = None) -> BulkResult:
        from leadflow.services import routing

        principal = principal_of(info)
        selected = _selected(principal, ids, query, filter)
        return BulkResult.of(apply_each(selected, lambda lead_id: routing.reassign_by_manager(
            principal, lead_id, rep_id, reason=reason)))

    @strawberry.mutation(permission_classes=[REJECTERS], description=(
        "Reject several leads as rejectLead does, one by one: a manager's team leads go back to nurturing "
        "(recycle: true) or out; review-queue leads are disqualified. " + SELECTION))
    def bulk_reject(self, info: strawberry.Info, reason: str, recycle: bool = True, reason_code: str | None = None,
                    ids: list[strawberry.ID] | None = None, query: str | None = None,
                    filter: LeadSearchFilter | None = None) -> BulkResult:
        from leadflow.services import sales

        principal = principal_of(info)
        selected = _selected(principal, ids, query, filter)
        return BulkResult.of(apply_each(selected, lambda lead_id: sales.reject_lead(
            principal, lead_id, reason, recycle, reason_code=reason_code)))

    @strawberry.mutation(permission_classes=[REVIEWERS], description=(
        "Release several review-queue leads as releaseLead does. " + SELECTION))
    def bulk_release(self, info: strawberry.Info, reason: str | None = None, ids: list[strawberry.ID] | None = None,
                     query: str | None = None, filter: LeadSearchFilter | None = None) -> BulkResult:
        from leadflow.services import review

        principal = principal_of(info)
        selected = _selected(principal, ids, query, filter)
        return BulkResult.of(apply_each(selected, lambda lead_id: review.release_lead(principal, lead_id, reason)))
