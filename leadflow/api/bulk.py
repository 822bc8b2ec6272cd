"""GraphQL bulk actions: a manager reassigns or rejects a selection, marketing releases or
rejects several review-queue leads; each lead is reported as done or refused with the rule."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md).

import strawberry

from leadflow.api.permissions import principal_of, roles
from leadflow.domain.access import Role
from leadflow.services.bulk import BulkOutcome, apply_each

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


@strawberry.type
class BulkMutation:
    @strawberry.mutation(permission_classes=[MANAGERS], description=(
        "Give several MQLs to one rep (at most 50 ids); each lead gets its own history entry."))
    def bulk_reassign(self, info: strawberry.Info, ids: list[strawberry.ID], rep_id: str,
                      reason: str) -> BulkResult:
        from leadflow.services import routing

        principal = principal_of(info)
        return BulkResult.of(apply_each(ids, lambda lead_id: routing.reassign_by_manager(
            principal, lead_id, rep_id, reason=reason)))

    @strawberry.mutation(permission_classes=[REJECTERS], description=(
        "Reject several leads as rejectLead does, one by one (at most 50 ids): a manager's team "
        "leads go back to nurturing (recycle: true) or out; review-queue leads are disqualified."))
    def bulk_reject(self, info: strawberry.Info, ids: list[strawberry.ID], reason: str, recycle: bool = True,
                    reason_code: str | None = None) -> BulkResult:
        from leadflow.services import sales

        principal = principal_of(info)
        return BulkResult.of(apply_each(ids, lambda lead_id: sales.reject_lead(
            principal, lead_id, reason, recycle, reason_code=reason_code)))

    @strawberry.mutation(permission_classes=[REVIEWERS], description=(
        "Release several review-queue leads as releaseLead does (at most 50 ids)."))
    def bulk_release(self, info: strawberry.Info, ids: list[strawberry.ID], reason: str | None = None) -> BulkResult:
        from leadflow.services import review

        principal = principal_of(info)
        return BulkResult.of(apply_each(ids, lambda lead_id: review.release_lead(principal, lead_id, reason)))
