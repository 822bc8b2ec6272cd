"""Move a lead from one stage to another: the one way every stage change happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.adapters import clock
from leadflow.domain.controlling import counter_updates
from leadflow.domain.lifecycle import Stage, Transition, check_transition
from leadflow.settings import get_settings
from leadflow.store import leads as repo
from leadflow.store.models import HistoryModel, LeadModel


def dimensions_of(lead: LeadModel) -> dict[str, str | None]:
    return {"source": lead.source, "campaign": lead.campaign, "owner": lead.owner_id}


def stage_sort(at: datetime, lead_id: str) -> str:
    return f"{repo.at_iso(at)}#{lead_id}"


def transition(lead: LeadModel, to_stage: Stage, *, actor: str, reason: str | None = None,
               at: datetime | None = None, extra_fields: dict[str, Any] | None = None,
               details: dict[str, Any] | None = None) -> LeadModel:
    """Move `lead` (as read, at its version) to `to_stage`.

    Raises IllegalTransition if the table forbids it and ConcurrentUpdate if the
    lead changed since it was read. Returns the lead as stored afterwards."""
    at = at or clock.now()
    from_stage = Stage(lead.stage)
    check_transition(from_stage, to_stage, reason)
    move = Transition(lead.lead_id, from_stage, to_stage, at, actor, reason)
    history = HistoryModel(
        lead.lead_id, lead.version + 1, kind="stage", from_stage=from_stage.value,
        to_stage=to_stage.value, at=at, actor=actor, reason=reason, details=details,
    )
    counters = counter_updates(move, dimensions_of(lead), get_settings().company_timezone,
                               entered_from_stage_at=lead.stage_entered_at)
    fields = {"stage": to_stage.value, "stage_entered_at": at, "stage_sort": stage_sort(at, lead.lead_id),
              **(extra_fields or {})}
    repo.apply_change(lead, expected_stage=from_stage.value, expected_version=lead.version,
                      set_fields=fields, history=history, counters=counters)
    return repo.get_lead(lead.lead_id)


def record(lead: LeadModel, *, kind: str, actor: str, reason: str | None = None,
           set_fields: dict[str, Any] | None = None, details: dict[str, Any] | None = None,
           at: datetime | None = None) -> LeadModel:
    """A change that is not a stage move (quality verdict, review decision, assignment):
    same optimistic lock, same history, no funnel counters."""
    at = at or clock.now()
    history = HistoryModel(lead.lead_id, lead.version + 1, kind=kind, from_stage=lead.stage,
                           to_stage=lead.stage, at=at, actor=actor, reason=reason, details=details)
    repo.apply_change(lead, expected_stage=lead.stage, expected_version=lead.version,
                      set_fields=set_fields or {}, history=history, counters=[])
    return repo.get_lead(lead.lead_id)
