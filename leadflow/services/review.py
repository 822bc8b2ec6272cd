"""The review queue: a person looks at what the checks were unsure of (seed 003),
corrects typos, and releases or rejects the lead. Every decision is in the history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadflow.domain.access import Principal, Role
from leadflow.domain.errors import DomainError, Forbidden, IllegalTransition, NotFound
from leadflow.domain.followups import NONE, work
from leadflow.domain.lifecycle import Quality, Stage
from leadflow.domain.submission import InvalidSubmission, parse_submission
from leadflow.services import lifecycle
from leadflow.services.leads import lead_in_scope, may_act_on, visible_page
from leadflow.services.qualify import (
    AFTER_VERDICT,
    merge_reviewed,
    record_contact_change,
    submission_of,
)
from leadflow.services.rescore import rescore_follow_up
from leadflow.services.rulesets import active_rules
from leadflow.store import lead_lists
from leadflow.store import leads as repo

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

REVIEWERS = (Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
CORRECTABLE = {"firstName": "first_name", "lastName": "last_name", "email": "email", "phone": "phone",
               "company": "company", "jobTitle": "job_title", "street": "street", "postalCode": "postal_code",
               "city": "city", "country": "country"}
_OUT_OF_QUEUE = {"review_queue": None, "review_sort": None}


class InvalidPatch(DomainError):
    code = "invalid_patch"


def review_queue(principal: Principal, first: int, after: str | None) -> tuple[list[LeadModel], str | None]:
    principal.require(*REVIEWERS)
    first = max(1, min(first, 100))
    if principal.role is Role.SALES_MANAGER:  # a lead of another team in review is not theirs to see
        return visible_page(principal, lead_lists.review_pages(after, page_size=first), first, "by_review")
    return lead_lists.review_page(first, after)


def in_review(lead: LeadModel | None) -> bool:
    return lead_lists.in_review(lead)


def _checked_in_review(lead: LeadModel) -> LeadModel:
    if not in_review(lead):
        raise IllegalTransition(f"lead {lead.lead_id} is not in the review queue (quality {lead.quality})",
                                field="id")
    return lead


def _correctable(principal: Principal, lead_id: str) -> LeadModel:
    """Any lead in the caller's scope that is not (yet) a customer: a customer's data is customer service's."""
    lead = lead_in_scope(principal, lead_id)
    if lead.erased_at:
        raise IllegalTransition(f"lead {lead_id} was erased on request; it has no personal data to correct",
                                field="id")
    if lead.stage == Stage.CUSTOMER.value:
        raise IllegalTransition(f"lead {lead_id} is a customer; its contact data is kept by customer service",
                                field="id")
    return lead


def suggestions_of(lead: LeadModel) -> list[dict[str, str]]:
    """The corrections the checks proposed, as stored with the lead's quality reasons."""
    return [{**s, "code": r.get("code", "")} for r in (lead.quality_reasons or []) for s in r.get("suggestions") or []]


def with_suggestions(lead: LeadModel, patch: dict[str, Any], apply_all: bool,
                     ids: list[str] | None) -> dict[str, Any]:
    """The patch plus the chosen suggestions; a field the reviewer typed wins over a suggestion.
    A suggestion for a value that changed since the check is refused (it may no longer fit)."""
    stored = {s["id"]: s for s in suggestions_of(lead)}
    unknown = sorted(set(ids or []) - set(stored))
    if unknown:
        raise InvalidPatch(f"no suggestion {unknown[0]} for this lead", field="suggestionIds")
    chosen = list(stored.values()) if apply_all else [stored[i] for i in ids or []]
    current = submission_of(lead)
    merged = dict(patch)
    for suggestion in chosen:
        field = suggestion["field"]
        if field in patch or field not in CORRECTABLE:
            continue
        if (current.get(field) or "") != suggestion["current"]:
            raise InvalidPatch(f"{field} changed since suggestion {suggestion['id']} was made",
                               field="suggestionIds")
        merged[field] = suggestion["suggested"]
    return merged


def correct_lead(principal: Principal, lead_id: str, patch: dict[str, Any], *, apply_suggestions: bool = False,
                 suggestion_ids: list[str] | None = None) -> LeadModel:
    """Fix fields (typed, or the checks' suggestions), then run the checks again on the corrected
    data. A lead in review that the checks now find plausible leaves the queue; any other lead
    keeps its quality and stage."""
    principal.require(*REVIEWERS)
    unknown = sorted(set(patch) - set(CORRECTABLE))
    if unknown:
        raise InvalidPatch(f"{unknown[0]} cannot be corrected here", field=f"patch.{unknown[0]}")
    lead = _correctable(principal, lead_id)
    if apply_suggestions or suggestion_ids:
        patch = with_suggestions(lead, patch, apply_suggestions, suggestion_ids)
    if not patch:
        raise InvalidPatch("nothing to correct: give a patch or suggestions to apply", field="patch")
    merged = {**submission_of(lead), **patch}
    try:
        parsed = parse_submission(merged)
    except InvalidSubmission as exc:
        error = exc.errors[0]
        raise InvalidPatch(f"{error.field}: {error.message}", field=f"patch.{error.field}") from None
    fields = {CORRECTABLE[k]: getattr(parsed, CORRECTABLE[k]) for k in patch}

    from leadflow.domain.plausibility import check

    verdict = check({**merged, **{k: getattr(parsed, v) for k, v in CORRECTABLE.items()}},
                    active_rules("plausibility"))
    fields.update(quality_reasons=[r.to_dict() for r in verdict.reasons])
    if verdict.verdict == Quality.PLAUSIBLE.value and in_review(lead):
        fields.update(quality=Quality.PLAUSIBLE.value, **_OUT_OF_QUEUE)
    plausible = fields.get("quality", lead.quality) == Quality.PLAUSIBLE.value
    return record_contact_change(lead, actor=principal.user_id,
                                 reason=f"corrected {', '.join(sorted(patch))}; checks say {verdict.verdict}",
                                 set_fields=fields, details={"fields": sorted(patch), "verdict": verdict.verdict},
                                 follow_ups=rescore_follow_up(lead.lead_id) if plausible else NONE)


def release_lead(principal: Principal, lead_id: str, reason: str | None = None) -> LeadModel:
    """A person vouches for a lead in review; an admin may also override an implausible verdict."""
    principal.require(*REVIEWERS)
    lead = lead_in_scope(principal, lead_id)
    reason = (reason or "").strip()
    if lead.quality == Quality.IMPLAUSIBLE.value and not in_review(lead):
        return _override_implausible(principal, lead, reason)
    lead = _checked_in_review(lead)
    return lifecycle.record(lead, kind="review", actor=principal.user_id,
                            reason=f"released after review: {reason}" if reason else "released after review",
                            set_fields={"quality": Quality.PLAUSIBLE.value, **_OUT_OF_QUEUE},
                            follow_ups=rescore_follow_up(lead.lead_id))


def _override_implausible(principal: Principal, lead: LeadModel, reason: str) -> LeadModel:
    """The checks (or a reviewer) were wrong: the lead is restored to LEAD and treated as plausible."""
    if principal.role is not Role.ADMIN:
        raise Forbidden("only an admin may override an implausible verdict (marketing can correct the data "
                        "with correctLead)", field="role")
    if not reason:
        raise IllegalTransition("overriding an implausible verdict needs a reason", field="reason")
    if lead.erased_at:
        raise IllegalTransition(f"lead {lead.lead_id} was erased on request", field="id")
    note = f"implausible verdict overridden: {reason}"
    fields = {"quality": Quality.PLAUSIBLE.value, **_OUT_OF_QUEUE}
    # what qualification skipped for an implausible lead: its second step, from this change
    follow_ups = work("intake", leadId=lead.lead_id, step=AFTER_VERDICT)
    if lead.stage == Stage.DISQUALIFIED.value:
        return lifecycle.transition(lead, Stage.LEAD, actor=principal.user_id, reason=note, extra_fields=fields,
                                    follow_ups=follow_ups)
    return lifecycle.record(lead, kind="review", actor=principal.user_id, reason=note, set_fields=fields,
                            follow_ups=follow_ups)


def reject_in_review(principal: Principal, lead: LeadModel, reason: str) -> LeadModel:
    """`lead` as read by the caller (services.sales.reject_lead decides between the two rejections)."""
    principal.require(*REVIEWERS)
    lead = _checked_in_review(lead)
    return lifecycle.transition(lead, Stage.DISQUALIFIED, actor=principal.user_id,
                                reason=f"rejected in review: {reason.strip()}" if reason.strip() else "",
                                extra_fields={"quality": Quality.IMPLAUSIBLE.value, **_OUT_OF_QUEUE})


def merge_duplicate(principal: Principal, lead_id: str) -> LeadModel:
    """The lead in review is the same person as its `duplicateOf`: merge it into that lead."""
    principal.require(*REVIEWERS)
    lead = _checked_in_review(lead_in_scope(principal, lead_id))
    target = repo.find_lead(lead.duplicate_of) if lead.duplicate_of else None
    if target is not None and not may_act_on(principal, target):  # another team's lead: as if there were none
        raise NotFound(f"lead {lead.lead_id} has no possible duplicate to merge into", field="id")
    return merge_reviewed(lead, actor=principal.user_id)
