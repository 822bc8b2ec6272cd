"""Nurturing items: consent ledger, journey state (with the sharded due index), tasks, visitor events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from leadflow.domain.errors import ConcurrentUpdate, NotFound
from leadflow.store.models import NurtureModel, all_shards, shard

DUE_SHARDS = 8


def due_bucket(lead_id: str) -> str:
    return shard("due", lead_id, DUE_SHARDS)


def _get(pk: str, sk: str) -> NurtureModel | None:
    try:
        return NurtureModel.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def _save(item: NurtureModel, expected_version: int | None) -> None:
    """Insert (expected None) or replace at the expected version: concurrent writers lose cleanly."""
    condition = (NurtureModel.pk.does_not_exist() if expected_version is None
                 else NurtureModel.version == expected_version)
    item.version = 1 if expected_version is None else expected_version + 1
    try:
        item.save(condition=condition)
    except PutError as exc:
        raise ConcurrentUpdate(f"{item.pk} {item.sk} changed meanwhile; retry") from exc


def ledger(lead_id: str) -> tuple[list[dict[str, Any]], int | None]:
    item = _get(f"lead#{lead_id}", "consent")
    return ((item.data or {}).get("records", []), int(item.version)) if item else ([], None)


def save_ledger(lead_id: str, records: list[dict[str, Any]], expected_version: int | None) -> None:
    _save(NurtureModel(f"lead#{lead_id}", "consent", data={"records": records}), expected_version)


def journey_item(lead_id: str) -> NurtureModel | None:
    return _get(f"lead#{lead_id}", "journey")


def journey_state(lead_id: str) -> tuple[dict[str, Any] | None, int | None]:
    item = _get(f"lead#{lead_id}", "journey")
    return (item.data, int(item.version)) if item else (None, None)


def save_journey_state(lead_id: str, state: dict[str, Any], due_at: datetime | None,
                       expected_version: int | None) -> None:
    """`due_at` None takes the lead out of the due index (done, stopped, or waiting for an event)."""
    item = NurtureModel(f"lead#{lead_id}", "journey", data=state,
                        due_bucket=due_bucket(lead_id) if due_at else None,
                        due_at=due_at.isoformat(timespec="seconds") if due_at else None)
    _save(item, expected_version)


def due_leads(now: datetime, limit: int) -> list[str]:
    """Lead ids whose next step is due, from every shard of the sparse due index."""
    until = now.isoformat(timespec="seconds")
    out: list[str] = []
    for bucket in all_shards("due", DUE_SHARDS):
        for key in NurtureModel.by_due.query(bucket, NurtureModel.due_at <= until, limit=limit):
            out.append(key.pk.removeprefix("lead#"))
    return out


def put_task(task_id: str, assignee: str, created_at: datetime, data: dict[str, Any]) -> None:
    NurtureModel(f"task#{task_id}", "task", data=data, assignee=assignee,
                 task_sort=f"open#{created_at.isoformat(timespec='seconds')}#{task_id}").save(
        condition=NurtureModel.pk.does_not_exist())


def get_task(task_id: str) -> NurtureModel:
    item = _get(f"task#{task_id}", "task")
    if item is None:
        raise NotFound(f"no such task: {task_id}", field="id")
    return item


def complete_task(item: NurtureModel, data: dict[str, Any]) -> None:
    created = item.task_sort.split("#", 2)[1]
    task_id = item.pk.removeprefix("task#")
    expected = int(item.version)
    item.data = data
    item.task_sort = f"done#{created}#{task_id}"
    _save(item, expected)


def tasks_of(assignee: str, status: str, limit: int) -> list[NurtureModel]:
    return list(NurtureModel.by_assignee.query(assignee, NurtureModel.task_sort.startswith(f"{status}#"),
                                               limit=limit))


def task_pages(assignee: str, status: str, page_size: int):
    """The same list read lazily page by page (for a caller that filters)."""
    return NurtureModel.by_assignee.query(assignee, NurtureModel.task_sort.startswith(f"{status}#"),
                                          page_size=page_size)


def put_visitor_event(visitor_id: str, sort: str, data: dict[str, Any], expires_at: int) -> None:
    NurtureModel(f"visitor#{visitor_id}", sort, data=data, expires_at=expires_at).save()


def visitor_events(visitor_id: str) -> list[NurtureModel]:
    return list(NurtureModel.query(f"visitor#{visitor_id}"))


def delete_visitor_events(items: list[NurtureModel]) -> None:
    with NurtureModel.batch_write() as batch:
        for item in items:
            batch.delete(item)
