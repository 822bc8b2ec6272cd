"""Move a lead from one stage to another: the one way every stage change happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.adapters import clock
from leadflow.domain.controlling import CounterUpdate, counter_updates, with_dimensions
from leadflow.domain.followups import NONE, FollowUps
from leadflow.domain.lifecycle import SIDE_EXITS, Stage, Transition, check_transition
from leadflow.settings import get_settings
from leadflow.store import leads as repo
from leadflow.store.models import HistoryModel, LeadModel, MarkerModel

# Stages in which an assigned lead counts against its rep's capacity (max open leads).
REP_PIPELINE = frozenset({Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})


def left_pipeline(rep_id: str) -> CounterUpdate:
    """A lead left the rep's pipeline: counted from the stream, read by routing for capacity (open
    leads = assigned, kept in the team's rotation state, minus these; docs/routing.md)."""
    return CounterUpdate("load#open", rep_id, {"left": 1})


def dimensions_of(lead: LeadModel) -> dict[str, str | None]:
    """First-touch campaign is the one the lead came with; last touch the latest one seen."""
    return {"source": lead.source, "campaign": lead.campaign,
            "last_campaign": lead.last_campaign or lead.campaign, "owner": lead.owner_id}


def side_exit_code(stage: Stage, reason: str | None, code: str | None = None) -> str:
    """The code a side exit is counted under: from the configured list (config/sales.yaml) or
    "other". Raises ValueError for an explicit code that is not listed."""
    from leadflow.services.rulesets import active_rules

    return active_rules("sales").code_for(stage, reason, code)


def stage_sort(at: datetime, lead_id: str) -> str:
    return f"{repo.at_iso(at)}#{lead_id}"


def transition(lead: LeadModel, to_stage: Stage, *, actor: str, reason: str | None = None,
               at: datetime | None = None, extra_fields: dict[str, Any] | None = None,
               details: dict[str, Any] | None = None, follow_ups: FollowUps = NONE) -> LeadModel:
    """Move `lead` (as read, at its version) to `to_stage`, with what the move sets in motion
    (`follow_ups`, committed with it; the funnel counters are added here).

    Raises IllegalTransition if the table forbids it and ConcurrentUpdate if the
    lead changed since it was read. Returns the lead as stored afterwards."""
    at = at or clock.now()
    from_stage = Stage(lead.stage)
    check_transition(from_stage, to_stage, reason)
    if to_stage in SIDE_EXITS and not (details or {}).get("reason_code"):
        details = {**(details or {}), "reason_code": side_exit_code(to_stage, reason)}
    move = Transition(lead.lead_id, from_stage, to_stage, at, actor, reason)
    dims = dimensions_of(lead)  # recorded with the history, so a recount uses what was counted
    history = HistoryModel(
        lead.lead_id, lead.version + 1, kind="stage", from_stage=from_stage.value,
        to_stage=to_stage.value, at=at, actor=actor, reason=reason, details=with_dimensions(details, dims),
    )
    reached = list(lead.stages_reached or [Stage.LEAD.value])
    counters = counter_updates(move, dims, get_settings().company_timezone,
                               entered_from_stage_at=lead.stage_entered_at, captured_at=lead.created_at,
                               first_time_in_stage=to_stage.value not in reached, details=details)
    if to_stage.value not in reached:
        reached.append(to_stage.value)
    fields = {"stage": to_stage.value, "stage_entered_at": at, "stage_sort": stage_sort(at, lead.lead_id),
              "stages_reached": reached}
    if lead.owner_id and from_stage in REP_PIPELINE and to_stage not in REP_PIPELINE:
        counters.append(left_pipeline(lead.owner_id))  # the rep has room for another lead
    if (extra_fields or {}).get("owner_id", lead.owner_id):
        fields["owner_sort"] = f"{to_stage.value}#{fields['stage_sort']}"
    fields.update(extra_fields or {})
    repo.apply_change(lead, expected_stage=from_stage.value, expected_version=lead.version,
                      set_fields=fields, history=history, follow_ups=follow_ups.with_counters(counters))
    return repo.as_written(lead, fields, at)


def record(lead: LeadModel, *, kind: str, actor: str, reason: str | None = None,
           set_fields: dict[str, Any] | None = None, details: dict[str, Any] | None = None,
           at: datetime | None = None, markers: list[MarkerModel] | None = None,
           released_markers: list[str] | None = None, follow_ups: FollowUps = NONE) -> LeadModel:
    """A change that is not a stage move (quality verdict, review decision, assignment):
    same optimistic lock, same history, no funnel counters. A corrected email takes its
    uniqueness marker (`markers`) and gives up the old one in the same transaction."""
    at = at or clock.now()
    history = HistoryModel(lead.lead_id, lead.version + 1, kind=kind, from_stage=lead.stage,
                           to_stage=lead.stage, at=at, actor=actor, reason=reason, details=details)
    repo.apply_change(lead, expected_stage=lead.stage, expected_version=lead.version,
                      set_fields=set_fields or {}, history=history, follow_ups=follow_ups,
                      markers=markers or (), released_markers=released_markers or ())
    return repo.as_written(lead, set_fields or {}, at)
