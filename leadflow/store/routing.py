"""Routing's reads and writes: one transaction assigns a lead and advances its team's rotation
state; the sweeps page through the indexes that say what is due."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from leadflow.domain.errors import ConcurrentUpdate
from leadflow.domain.followups import FollowUps
from leadflow.domain.lifecycle import Stage
from leadflow.store.counters import counters_for
from leadflow.store.lead_lists import stage_id_pages
from leadflow.store.leads import (
    _cancellation_codes,
    add_follow_ups,
    at_iso,
    commit,
    lead_actions,
    version_change,
)
from leadflow.store.models import HistoryModel, LeadModel, RoutingStateModel, all_shards, shard

ROTATION = "rotation"  # pk "rotation#<team id>", sk "state": one item (and partition) per team
PIPELINE = "load#open"  # MetricsTable: per rep, `left` (from the stream) and `open` (before the upgrade)
SLA_SHARDS = 4


def _rotation_key(team_id: str) -> tuple[str, str]:
    return f"{ROTATION}#{team_id}", "state"


def rotation_states(team_ids: Iterable[str]) -> dict[str, tuple[dict[str, Any] | None, int]]:
    """{team id: (its rotation state, version)} for these teams (missing: (None, 0)): one
    consistent BatchGetItem, whatever the number of teams up to 100."""
    wanted = list(dict.fromkeys(team_ids))
    out: dict[str, tuple[dict[str, Any] | None, int]] = {team_id: (None, 0) for team_id in wanted}
    by_pk = {_rotation_key(t)[0]: t for t in wanted}
    for item in RoutingStateModel.batch_get([_rotation_key(t) for t in wanted], consistent_read=True):
        out[by_pk[item.pk]] = (item.state, int(item.version or 0))
    return out


def pipeline_counts() -> dict[str, dict[str, int]]:
    """Per rep: `left`, the leads that left their pipeline (added up from the outbox stream), and
    `open`, the open leads the earlier version counted up to the upgrade. One query."""
    return counters_for(PIPELINE)


def sla_bucket(lead_id: str) -> str:
    """The by_sla_due partition of a lead awaiting acceptance."""
    return shard("sla", lead_id, SLA_SHARDS)


def overdue_pages(due_before: str, page_size: int, first_shard: int = 0) -> Iterator[list[str]]:
    """The ids of leads whose acceptance deadline is before `due_before`, page by page over every
    shard of the sparse by_sla_due index (keys only), oldest first in each shard. Starting at
    another shard each run, a sweep stopped by its deadline never starves the last shards."""
    buckets = all_shards("sla", SLA_SHARDS)
    first_shard %= SLA_SHARDS
    for bucket in buckets[first_shard:] + buckets[:first_shard]:
        yield from _pages(lambda start, bucket=bucket: LeadModel.by_sla_due.query(
            bucket, LeadModel.sla_due < due_before, limit=page_size, page_size=page_size,
            last_evaluated_key=start))


def unrouted_pages(oldest: str, newest: str, page_size: int) -> Iterator[list[str]]:
    """The ids of MQLs that entered the stage between `oldest` and `newest` and have neither a
    rep nor a manager's queue, page by page."""
    yield from stage_id_pages(Stage.MQL.value, oldest, newest, page_size, filter_condition=(
        LeadModel.owner_id.does_not_exist() & LeadModel.queue_manager.does_not_exist()))


def _pages(query: Callable[[dict[str, Any] | None], Any]) -> Iterator[list[str]]:
    """The lead ids of a query, one list per page, each page continuing after the last."""
    start = None
    while True:
        result = query(start)
        ids = [item.lead_id for item in result]
        if ids:
            yield ids
        start = result.last_evaluated_key
        if not start:
            return


def assign(lead: LeadModel, *, set_fields: dict[str, Any], history: HistoryModel,
           follow_ups: FollowUps, rotation: tuple[str, dict[str, Any], int] | None,
           log: RoutingStateModel | None, expected_owner: str | None) -> None:
    """Assign (or reassign) in one transaction: the lead must still be at its version and
    owner, and its team's rotation state at its version, or nothing is written."""
    actions = lead_actions(set_fields, lead.version, history.at, lead_id=lead.lead_id)
    condition = (LeadModel.version == lead.version) & (LeadModel.stage == lead.stage)
    condition &= (LeadModel.owner_id == expected_owner) if expected_owner else LeadModel.owner_id.does_not_exist()

    def build(tx: TransactWrite) -> None:
        tx.update(lead, actions=actions, condition=condition)
        tx.save(history, condition=HistoryModel.seq.does_not_exist())
        if rotation is not None:
            team_id, state, version = rotation
            item = RoutingStateModel(*_rotation_key(team_id), state=state, version=version + 1)
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
            raise ConcurrentUpdate(f"lead {lead.lead_id} or its team's rotation changed meanwhile; "
                                   "route again") from exc
        raise


def assignment_log(month: str) -> list[RoutingStateModel]:
    return list(RoutingStateModel.query(f"assigned#{month}"))


def log_item(at: datetime, lead_id: str, rep_id: str, rule: str, pool: list[str]) -> RoutingStateModel:
    return RoutingStateModel(f"assigned#{at:%Y-%m}", f"{at_iso(at)}#{lead_id}", rep_id=rep_id, rule=rule,
                             pool=pool or None, at=at)
