"""Reading leads on behalf of a caller: the visibility rules applied once."""

from __future__ import annotations

from leadflow.domain.access import Principal, Role, can_see_lead
from leadflow.domain.errors import Forbidden
from leadflow.domain.lifecycle import Stage
from leadflow.store import leads as repo
from leadflow.store.models import HistoryModel, LeadModel

MAX_PAGE = 100


def lead_for(principal: Principal, lead_id: str) -> LeadModel | None:
    """The lead if the caller may see it; None if it does not exist or is not theirs
    (a rep cannot even learn that another rep's lead exists)."""
    lead = repo.find_lead(lead_id)
    if lead is None or not can_see_lead(principal, lead.owner_id):
        return None
    return lead


def leads_in_stage(principal: Principal, stage: Stage, first: int, after: str | None
                   ) -> tuple[list[LeadModel], str | None]:
    principal.require(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
    if not 1 <= first <= MAX_PAGE:
        raise Forbidden(f"first must be between 1 and {MAX_PAGE}", field="first")
    return repo.leads_in_stage(stage.value, first, after)


def history_of(lead_ids: list[str]) -> list[list[HistoryModel]]:
    return [repo.history_of(lead_id) for lead_id in lead_ids]


def timeline_of(lead_id: str, limit: int):
    return repo.timeline_of(lead_id, limit=limit)


def consents_of(lead_id: str):
    """The lead's consent records (domain.consent.ConsentRecord), oldest first."""
    from leadflow.domain.consent import ConsentRecord
    from leadflow.store.nurture import ledger

    return [ConsentRecord.from_dict(r) for r in ledger(lead_id)[0]]


def journey_of(lead_id: str):
    """(journey state, its runs as domain.journeys.StepRun, next step due) or (None, (), None)."""
    from leadflow.adapters.clock import from_iso
    from leadflow.services.nurture import runs_of
    from leadflow.store.nurture import journey_item

    item = journey_item(lead_id)
    if item is None:
        return None, (), None
    state = item.data or {}
    return state, runs_of(state), from_iso(item.due_at)
