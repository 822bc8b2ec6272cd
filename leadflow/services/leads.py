"""Reading leads on behalf of a caller: the visibility rules applied once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadflow.domain.access import LeadScope, Principal, Role, can_see_lead, in_scope
from leadflow.domain.errors import Forbidden, no_such_lead
from leadflow.domain.lifecycle import Stage
from leadflow.store import lead_lists
from leadflow.store import leads as repo

if TYPE_CHECKING:
    from leadflow.store.models import HistoryModel, LeadModel

MAX_PAGE = 100
# A filtered list (a manager's view of a stage) reads at most this many items per page: a page
# may come back short, with a cursor to go on.
MAX_EXAMINED = 500


# ------------------------------------------------ who may see and act on which lead: the one place
def _scope(principal: Principal, lead: LeadModel) -> tuple[LeadScope, frozenset[str]]:
    if principal.role is not Role.SALES_MANAGER:  # only managers' scope depends on the routing rules
        return LeadScope(lead.owner_id, lead.team_id, lead.queue_manager), frozenset()
    from leadflow.services.rulesets import active_rules

    rules = active_rules("routing")
    return (LeadScope(lead.owner_id, rules.team_of(lead.owner_id, lead.team_id), lead.queue_manager),
            rules.teams_managed_by(principal.user_id))


def may_act_on(principal: Principal, lead: LeadModel) -> bool:
    """The lead is in the caller's scope: a rep's own, a manager's team's (domain.access.in_scope)."""
    return in_scope(principal, *_scope(principal, lead))


def may_see(principal: Principal, lead: LeadModel) -> bool:
    return can_see_lead(principal, *_scope(principal, lead))


def lead_in_scope(principal: Principal, lead_id: str) -> LeadModel:
    """The lead to act on; a lead outside the caller's scope answers exactly like an unknown id
    (nobody learns that another rep's or another team's lead exists)."""
    lead = repo.find_lead(lead_id)
    if lead is None or not may_act_on(principal, lead):
        raise no_such_lead(lead_id)
    return lead


def lead_for(principal: Principal, lead_id: str) -> LeadModel | None:
    """The lead if the caller may see it; None if it does not exist or is not theirs."""
    lead = repo.find_lead(lead_id)
    if lead is None or not may_see(principal, lead):
        return None
    return lead


def may_see_task(principal: Principal, assignee: str | None, lead: LeadModel | None) -> bool:
    """A task (its body names the person and their address): marketing and admins work the whole
    marketing queue; anyone else sees a task assigned to them, or one of a lead they may see."""
    if principal.role in (Role.MARKETING, Role.ADMIN) or (assignee and assignee == principal.user_id):
        return True
    return lead is not None and may_see(principal, lead)


def visible_page(principal: Principal, pages, first: int, index_name: str) -> tuple[list[LeadModel], str | None]:
    """A page of leads from an index query (`pages`: its lazy result iterator) with only those the
    caller may see; other callers' pages are taken as they come (no filter, no extra reads)."""
    items: list[LeadModel] = []
    for examined, item in enumerate(pages, start=1):
        if may_see(principal, item):
            items.append(item)
        if len(items) == first or examined >= MAX_EXAMINED:
            return items, repo.index_cursor(item, index_name)
    return items, None


def leads_in_stage(principal: Principal, stage: Stage, first: int, after: str | None
                   ) -> tuple[list[LeadModel], str | None]:
    principal.require(Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
    if not 1 <= first <= MAX_PAGE:
        raise Forbidden(f"first must be between 1 and {MAX_PAGE}", field="first")
    if principal.role is Role.SALES_MANAGER:  # other teams' leads are not theirs to see
        return visible_page(principal, lead_lists.stage_pages(stage.value, after, page_size=first), first, "by_stage")
    return lead_lists.leads_in_stage(stage.value, first, after)


# ------------------------------------------------ nested lists of many leads (the API's loaders)
def history_of(lead_ids: list[str]) -> list[list[HistoryModel]]:
    """Each lead's history, oldest first (one Query per lead)."""
    from leadflow.store import reads

    found = reads.histories(lead_ids)
    return [found[lead_id] for lead_id in lead_ids]


def timelines_of(keys: list[tuple[str, int]]) -> list[list]:
    """For (lead id, limit) keys: the lead's newest engagement events (one Query per key)."""
    from leadflow.store import reads

    found = reads.timelines(keys)
    return [found[key] for key in keys]


CONSENTS, JOURNEY = "consent", "journey"  # the lead's nurture items a loader reads in one batch


def nurture_of(keys: list[tuple[str, str]]) -> list:
    """For (lead id, CONSENTS | JOURNEY) keys, read together (BatchGetItem, 100 keys a request):
    CONSENTS -> the lead's consent records (domain.consent.ConsentRecord), oldest first;
    JOURNEY -> (journey state, its runs as domain.journeys.StepRun, next step due) or (None, (), None)."""
    from leadflow.store import reads

    found = reads.nurture_items(keys)
    return [_consents(found.get(key)) if key[1] == CONSENTS else _journey(found.get(key)) for key in keys]


def _consents(item) -> list:
    from leadflow.domain.consent import ConsentRecord

    return [ConsentRecord.from_dict(r) for r in ((item.data or {}).get("records", []) if item else [])]


def _journey(item):
    from leadflow.adapters.clock import from_iso
    from leadflow.services.nurture import runs_of

    if item is None:
        return None, (), None
    state = item.data or {}
    return state, runs_of(state), from_iso(item.due_at)
