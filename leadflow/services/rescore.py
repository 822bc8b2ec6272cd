"""Ask for a lead's rescore: what qualification, the review queue and a credit rating do.

Apart from services.scoring, which applies the rules and the predictive model (numpy), so the
functions that only ask for a rescore (qualify, retention, GraphQL) neither import nor ship it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadflow.adapters import queues
from leadflow.domain.followups import FollowUps, work
from leadflow.services import lifecycle
from leadflow.settings import get_settings
from leadflow.store import leads as repo

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

RESCORE = "rescore"  # the engagement message type the score function answers with a rescore


def rescore_follow_up(lead_id: str) -> FollowUps:
    """A rescore as the follow-up of a committed change (the data the score reads changed)."""
    return work("engagement", leadId=lead_id, type=RESCORE)


def rescore(lead_id: str) -> None:
    """Ask for a rescore outside a change (a step that may run again: a rescore is idempotent)."""
    queues.send(get_settings().engagement_queue_url, {"leadId": lead_id, "type": RESCORE})


CREDIT_RATINGS = ("good", "poor")


def set_creditworthiness(lead_id: str, rating: str | None, *, actor: str) -> LeadModel:
    """Finance or a credit-check integration rates the lead (seed 001: Bonität); the score follows."""
    from leadflow.domain.errors import InvalidInput

    if rating is not None and rating not in CREDIT_RATINGS:
        raise InvalidInput(f"rating must be one of {', '.join(CREDIT_RATINGS)} or null", field="rating")
    lead = repo.get_lead(lead_id)
    return lifecycle.record(lead, kind="credit", actor=actor, reason=f"creditworthiness: {rating or 'unknown'}",
                            set_fields={"creditworthiness": rating}, follow_ups=rescore_follow_up(lead_id))
