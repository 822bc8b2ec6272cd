"""Routing writes: one transaction assigns a lead, advances the rotation and moves the loads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from leadflow.domain.errors import ConcurrentUpdate
from leadflow.domain.followups import FollowUps
from leadflow.store.counters import counters_for
from leadflow.store.leads import (
    _cancellation_codes,
    add_follow_ups,
    at_iso,
    commit,
    lead_actions,
    version_change,
)
from leadflow.store.models import HistoryModel, LeadModel, RoutingStateModel

ROTATION = "rotation"


def rotation_state(team_id: str) -> tuple[dict[str, Any] | None, int]:
    try:
        item = RoutingStateModel.get(ROTATION, team_id, consistent_read=True)
    except DoesNotExist:
        return None, 0
    return item.state, int(item.version or 0)


def rep_loads(day: str) -> tuple[dict[str, int], dict[str, int]]:
    """(open leads per rep, assignments per rep on `day`): two queries, whatever the team size."""
    open_leads = {rep: int(v.get("open", 0)) for rep, v in counters_for("load#open").items()}
    today = {rep: int(v.get("assigned", 0)) for rep, v in counters_for(f"load#day#{day}").items()}
    return open_leads, today


def assign(lead: LeadModel, *, set_fields: dict[str, Any], history: HistoryModel,
           follow_ups: FollowUps, rotation: tuple[str, dict[str, Any], int] | None,
           log: RoutingStateModel | None, expected_owner: str | None) -> None:
    """Assign (or reassign) in one transaction: the lead must still be at its version and
    owner, and the rotation at its version, or nothing is written."""
    actions = lead_actions(set_fields, lead.version, history.at)
    condition = (LeadModel.version == lead.version) & (LeadModel.stage == lead.stage)
    condition &= (LeadModel.owner_id == expected_owner) if expected_owner else LeadModel.owner_id.does_not_exist()

    def build(tx: TransactWrite) -> None:
        tx.update(lead, actions=actions, condition=condition)
        tx.save(history, condition=HistoryModel.seq.does_not_exist())
        if rotation is not None:
            team_id, state, version = rotation
            item = RoutingStateModel(ROTATION, team_id, state=state, version=version + 1)
            tx.save(item, condition=RoutingStateModel.version.does_not_exist() if version == 0
                    else RoutingStateModel.version == version)
        if log is not None:
            tx.save(log)
        add_follow_ups(tx, lead.lead_id, version_change(lead.version + 1), follow_ups, history.at)

    try:
        commit(build)
    except TransactWriteError as exc:
        codes = _cancellation_codes(exc)
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise ConcurrentUpdate(f"lead {lead.lead_id} or the rotation changed meanwhile; route again") from exc
        raise


def assignment_log(month: str) -> list[RoutingStateModel]:
    return list(RoutingStateModel.query(f"assigned#{month}"))


def log_item(at: datetime, lead_id: str, rep_id: str, rule: str, pool: list[str]) -> RoutingStateModel:
    return RoutingStateModel(f"assigned#{at:%Y-%m}", f"{at_iso(at)}#{lead_id}", rep_id=rep_id, rule=rule,
                             pool=pool or None, at=at)
