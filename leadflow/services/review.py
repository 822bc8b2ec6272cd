"""The review queue: a person looks at what the checks were unsure of (seed 003),
corrects typos, and releases or rejects the lead. Every decision is in the history."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from leadflow.domain.access import Principal, Role
from leadflow.domain.errors import DomainError, IllegalTransition
from leadflow.domain.lifecycle import Quality, Stage
from leadflow.domain.submission import field_errors, parse_submission
from leadflow.services import lifecycle
from leadflow.services.qualify import REVIEW_QUEUE, submission_of
from leadflow.services.rescore import request_rescore
from leadflow.services.rulesets import active_rules
from leadflow.store import leads as repo
from leadflow.store.leads import decode_cursor, encode_cursor
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
    result = LeadModel.by_review.query(REVIEW_QUEUE, limit=first, last_evaluated_key=decode_cursor(after))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key)


def in_review(lead: LeadModel | None) -> bool:
    return lead is not None and lead.review_queue == REVIEW_QUEUE


def _in_review(lead_id: str) -> LeadModel:
    return _checked_in_review(repo.get_lead(lead_id))


def _checked_in_review(lead: LeadModel) -> LeadModel:
    if not in_review(lead):
        raise IllegalTransition(f"lead {lead.lead_id} is not in the review queue (quality {lead.quality})",
                                field="id")
    return lead


def correct_lead(principal: Principal, lead_id: str, patch: dict[str, Any]) -> LeadModel:
    """Fix fields, then run the checks again on the corrected data."""
    principal.require(*REVIEWERS)
    unknown = sorted(set(patch) - set(CORRECTABLE))
    if unknown:
        raise InvalidPatch(f"{unknown[0]} cannot be corrected here", field=f"patch.{unknown[0]}")
    lead = _in_review(lead_id)
    merged = {**submission_of(lead), **patch}
    try:
        parsed = parse_submission(merged)
    except ValidationError as exc:
        error = field_errors(exc)[0]
        raise InvalidPatch(f"{error.field}: {error.message}", field=f"patch.{error.field}") from None
    fields = {CORRECTABLE[k]: getattr(parsed, CORRECTABLE[k]) for k in patch}

    from leadflow.domain.plausibility import check

    verdict = check({**merged, **{k: getattr(parsed, v) for k, v in CORRECTABLE.items()}},
                    active_rules("plausibility"))
    fields.update(quality_reasons=[r.to_dict() for r in verdict.reasons])
    if verdict.verdict == Quality.PLAUSIBLE.value:
        fields.update(quality=Quality.PLAUSIBLE.value, **_OUT_OF_QUEUE)
    lead = lifecycle.record(lead, kind="review", actor=principal.user_id,
                            reason=f"corrected {', '.join(sorted(patch))}; checks say {verdict.verdict}",
                            set_fields=fields, details={"fields": sorted(patch), "verdict": verdict.verdict})
    if lead.quality == Quality.PLAUSIBLE.value:
        request_rescore(lead.lead_id)
    return lead


def release_lead(principal: Principal, lead_id: str) -> LeadModel:
    principal.require(*REVIEWERS)
    lead = _in_review(lead_id)
    lead = lifecycle.record(lead, kind="review", actor=principal.user_id, reason="released after review",
                            set_fields={"quality": Quality.PLAUSIBLE.value, **_OUT_OF_QUEUE})
    request_rescore(lead.lead_id)
    return lead


def reject_in_review(principal: Principal, lead: LeadModel, reason: str) -> LeadModel:
    """`lead` as read by the caller (services.sales.reject_lead decides between the two rejections)."""
    principal.require(*REVIEWERS)
    lead = _checked_in_review(lead)
    return lifecycle.transition(lead, Stage.DISQUALIFIED, actor=principal.user_id,
                                reason=f"rejected in review: {reason.strip()}" if reason.strip() else "",
                                extra_fields={"quality": Quality.IMPLAUSIBLE.value, **_OUT_OF_QUEUE})
