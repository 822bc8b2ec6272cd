"""Nurturing items: consent ledger, journey state (with the sharded due index), tasks, visitor events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from leadflow.domain.errors import ConcurrentUpdate, NotFound
from leadflow.domain.followups import NONE, FollowUps
from leadflow.store.leads import add_follow_ups
from leadflow.store.models import MarkerModel, NurtureModel, all_shards, connection, shard

DUE_SHARDS = 8


def due_bucket(lead_id: str) -> str:
    return shard("due", lead_id, DUE_SHARDS)


def _get(pk: str, sk: str) -> NurtureModel | None:
    try:
        return NurtureModel.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def _versioned(item: NurtureModel, expected_version: int | None) -> Any:
    """The item at its next version, and the condition that it is still at the expected one
    (None: that it does not exist yet)."""
    item.version = 1 if expected_version is None else expected_version + 1
    return (NurtureModel.pk.does_not_exist() if expected_version is None
            else NurtureModel.version == expected_version)


def _save(item: NurtureModel, expected_version: int | None) -> None:
    """Insert (expected None) or replace at the expected version: concurrent writers lose cleanly."""
    condition = _versioned(item, expected_version)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise  # throttled or failed: not a concurrent writer, nothing to read again for
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


def _journey(lead_id: str, state: dict[str, Any], due_at: datetime | None) -> NurtureModel:
    return NurtureModel(f"lead#{lead_id}", "journey", data=state,
                        due_bucket=due_bucket(lead_id) if due_at else None,
                        due_at=due_at.isoformat(timespec="seconds") if due_at else None)


def save_journey_state(lead_id: str, state: dict[str, Any], due_at: datetime | None,
                       expected_version: int | None) -> None:
    """`due_at` None takes the lead out of the due index (done, stopped, or waiting for an event)."""
    _save(_journey(lead_id, state, due_at), expected_version)


class NonceUsed(Exception):
    """The single-use link was used already: its nonce marker exists."""


def commit_consent(lead_id: str, *, records: list[dict[str, Any]] | None = None, ledger_version: int | None = None,
                   state: dict[str, Any] | None = None, due_at: datetime | None = None,
                   state_version: int | None = None, nonce: tuple[str, int] | None = None,
                   follow_ups: FollowUps = NONE, change: str = "", at: datetime | None = None) -> None:
    """One transaction for a consent change: the ledger (if `records`), the journey state (if
    `state`, with its due time) and the link's nonce marker (if `nonce`: (key, TTL)), each at its
    expected version. All or nothing: a DOI link's nonce is never spent without the confirmation,
    a withdrawal never stored without the journey's stop, and what it announces (`follow_ups`, as
    outbox item `change`) committed with it. NonceUsed when the marker exists,
    ConcurrentUpdate when another writer changed the ledger or the state (read again, retry)."""
    items: list[tuple[NurtureModel, Any]] = []
    if records is not None:
        ledger_item = NurtureModel(f"lead#{lead_id}", "consent", data={"records": records})
        items.append((ledger_item, _versioned(ledger_item, ledger_version)))
    if state is not None:
        journey = _journey(lead_id, state, due_at)
        items.append((journey, _versioned(journey, state_version)))
    try:
        # the token makes an SDK retry of a transaction that did commit a success, not a conflict
        with TransactWrite(connection=connection(), client_request_token=uuid.uuid4().hex) as tx:
            for item, condition in items:
                tx.save(item, condition=condition)
            if nonce is not None:
                key, ttl = nonce
                tx.save(MarkerModel(key, lead_id=lead_id, expires_at=ttl),
                        condition=MarkerModel.marker.does_not_exist())
            add_follow_ups(tx, lead_id, change, follow_ups, at or datetime.now(UTC))
    except TransactWriteError as exc:
        codes = [r.code if r is not None else None for r in (getattr(exc, "cancellation_reasons", None) or [])]
        if nonce is not None and len(codes) > len(items) and codes[len(items)] == "ConditionalCheckFailed":
            raise NonceUsed(nonce[0]) from exc
        if {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
            raise ConcurrentUpdate(f"the consent or journey of lead {lead_id} changed meanwhile; retry") from exc
        raise


def due_lead_pages(now: datetime, page_size: int) -> Iterator[list[str]]:
    """Lead ids whose next step is due (`due_at` <= now), read lazily page by page from every shard
    of the sparse due index in turn (most overdue first within a shard), so a sweep that stops at
    its deadline has served every shard alike and the next one continues with what is left."""
    return due_pages("due", DUE_SHARDS, now.isoformat(timespec="seconds"), "lead#", page_size)


def due_pages(family: str, shards: int, until: str, key_prefix: str, page_size: int) -> Iterator[list[str]]:
    """The ids (pk without `key_prefix`) of the items due by `until` in every `<family>#<n>` shard of
    the sparse due index, a page from each shard in turn (most overdue first within a shard)."""
    readers = [iter(NurtureModel.by_due.query(bucket, NurtureModel.due_at <= until, page_size=page_size))
               for bucket in all_shards(family, shards)]
    while readers:
        for reader in list(readers):
            page = [key.pk.removeprefix(key_prefix) for key in islice(reader, page_size)]
            if len(page) < page_size:
                readers.remove(reader)
            if page:
                yield page


def put_task(task_id: str, assignee: str, created_at: datetime, data: dict[str, Any],
             follow_ups: FollowUps = NONE) -> bool:
    """Create the task once, with what announces it: False when a task with that id exists
    already (a repeated step run)."""
    task = NurtureModel(f"task#{task_id}", "task", data=data, assignee=assignee,
                        task_sort=f"open#{created_at.isoformat(timespec='seconds')}#{task_id}")
    try:
        with TransactWrite(connection=connection(), client_request_token=uuid.uuid4().hex) as tx:
            tx.save(task, condition=NurtureModel.pk.does_not_exist())
            add_follow_ups(tx, data.get("lead_id") or task_id, f"task#{task_id}", follow_ups, created_at)
    except TransactWriteError as exc:
        codes = [r.code if r is not None else None for r in (getattr(exc, "cancellation_reasons", None) or [])]
        if codes and codes[0] == "ConditionalCheckFailed":
            return False
        raise
    return True


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


def delete_lead_items(lead_id: str, task_ids: list[str]) -> None:
    """Delete a lead's consent ledger, journey state and these tasks (erasure)."""
    with NurtureModel.batch_write() as batch:
        for task_id in task_ids:
            batch.delete(NurtureModel(f"task#{task_id}", "task"))
        batch.delete(NurtureModel(f"lead#{lead_id}", "consent"))
        batch.delete(NurtureModel(f"lead#{lead_id}", "journey"))


def delete_visitor_events(items: list[NurtureModel]) -> None:
    with NurtureModel.batch_write() as batch:
        for item in items:
            batch.delete(item)
