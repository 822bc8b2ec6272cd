"""Activities on a lead's timeline (notes, calls, meetings, emails, completed tasks) and the sales
tasks people set themselves, next to the journey tasks in the nurture table.

An activity is a timeline item (`TimelineModel`, sort "<at ISO>#<suffix>"): it shows among the
engagement events in time order, and erasure, which deletes a person's timeline, removes it.
A sales task is a task item like a journey's (`task#<id>`, on its assignee's list sorted by
due time), plus a reference under the lead (`lead#<id>` / `task#<id>`) so erasure finds it, and
while its reminder is pending a key in the sparse `by_due` index under the `remind#<n>` shards
(the nurture sweep reads only the `due#<n>` shards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from leadflow.domain.errors import ConcurrentUpdate
from leadflow.domain.followups import NONE, FollowUps
from leadflow.store.leads import add_follow_ups
from leadflow.store.models import NurtureModel, TimelineModel, connection, shard
from leadflow.store.nurture import due_pages

REMIND_SHARDS = 8
ACTIVITY_TYPES = ("note", "call", "meeting", "email", "task")


# ------------------------------------------------------------------ activities
def activity_sort(activity_id: str) -> str:
    """The timeline sort key of an activity id ("<at ISO>.<suffix>"): "<at ISO>#<suffix>"."""
    at, _, suffix = activity_id.rpartition(".")
    return f"{at}#{suffix}"


def activity_id_of(event_sort: str) -> str:
    at, _, suffix = event_sort.rpartition("#")
    return f"{at}.{suffix}"


def new_activity_id(at: datetime, suffix: str | None = None) -> str:
    return f"{at.isoformat(timespec='milliseconds')}.{suffix or uuid.uuid4().hex[:12]}"


def put_activity(item: TimelineModel) -> None:
    item.save(condition=TimelineModel.event_sort.does_not_exist())


def get_activity(lead_id: str, activity_id: str) -> TimelineModel | None:
    try:
        item = TimelineModel.get(lead_id, activity_sort(activity_id), consistent_read=True)
    except DoesNotExist:
        return None
    return item if item.event_type in ACTIVITY_TYPES and (item.details or {}).get("author") else None


def save_activity(item: TimelineModel) -> None:
    """Replace an activity that still exists (deleted meanwhile: ConcurrentUpdate)."""
    try:
        item.save(condition=TimelineModel.event_sort.exists())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise ConcurrentUpdate("the activity was deleted meanwhile", field="activityId") from exc


def delete_activity(item: TimelineModel) -> None:
    item.delete()


ACTIVITIES_EXAMINED = 500  # timeline items read at most for one list (5 pages): a bounded request


def activities_of(lead_id: str, limit: int) -> list[TimelineModel]:
    """The lead's newest activities (engagement events left out), newest first, among its newest
    ACTIVITIES_EXAMINED timeline items."""
    items = TimelineModel.query(lead_id, scan_index_forward=False, limit=ACTIVITIES_EXAMINED, page_size=100)
    return list(islice((i for i in items if i.event_type in ACTIVITY_TYPES and (i.details or {}).get("author")),
                       limit))


# ------------------------------------------------------------------ sales tasks
def remind_bucket(task_id: str) -> str:
    return shard("remind", task_id, REMIND_SHARDS)


def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def put_sales_task(task_id: str, assignee: str, lead_id: str, data: dict[str, Any], due_at: datetime,
                   remind_at: datetime, follow_ups: FollowUps = NONE) -> None:
    """The task on its assignee's list (sorted by due time: overdue first), its reminder in the
    sparse due index, and the lead's reference to it: one transaction."""
    task = NurtureModel(f"task#{task_id}", "task", data=data, assignee=assignee,
                        task_sort=f"open#{iso(due_at)}#{task_id}",
                        due_bucket=remind_bucket(task_id), due_at=iso(remind_at))
    with TransactWrite(connection=connection(), client_request_token=uuid.uuid4().hex) as tx:
        tx.save(task, condition=NurtureModel.pk.does_not_exist())
        tx.save(NurtureModel(f"lead#{lead_id}", f"task#{task_id}"))
        add_follow_ups(tx, lead_id, f"task#{task_id}", follow_ups, datetime.fromisoformat(data["created_at"]))


def task_ids_of_lead(lead_id: str) -> list[str]:
    """The sales tasks set on a lead (journey tasks are named in its journey state)."""
    refs = NurtureModel.query(f"lead#{lead_id}", NurtureModel.sk.startswith("task#"), consistent_read=True)
    return [i.sk.removeprefix("task#") for i in refs]


def delete_task_refs(lead_id: str, task_ids: list[str]) -> None:
    with NurtureModel.batch_write() as batch:
        for task_id in task_ids:
            batch.delete(NurtureModel(f"task#{task_id}", "task"))
            batch.delete(NurtureModel(f"lead#{lead_id}", f"task#{task_id}"))


def complete_task(item: NurtureModel, data: dict[str, Any], activity: TimelineModel | None) -> None:
    """The task done (off the open list, its reminder out of the due index) and the activity that
    records it on the lead's timeline: one transaction, at the task's version."""
    _, due, task_id = item.task_sort.split("#", 2)
    expected = int(item.version)
    done = NurtureModel(item.pk, item.sk, data=data, assignee=item.assignee, task_sort=f"done#{due}#{task_id}",
                        version=expected + 1)
    try:
        with TransactWrite(connection=connection(), client_request_token=uuid.uuid4().hex) as tx:
            tx.save(done, condition=NurtureModel.version == expected)
            if activity is not None:
                tx.save(activity, condition=TimelineModel.event_sort.does_not_exist())
    except TransactWriteError as exc:
        codes = [r.code if r is not None else None for r in (getattr(exc, "cancellation_reasons", None) or [])]
        if {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
            raise ConcurrentUpdate(f"task {task_id} changed meanwhile; retry", field="id") from exc
        raise


def due_reminder_pages(now: datetime, page_size: int) -> Iterator[list[str]]:
    """Task ids whose reminder is due, page by page from every `remind#<n>` shard in turn."""
    return due_pages("remind", REMIND_SHARDS, iso(now), "task#", page_size)


def clear_reminder(task_id: str, remind_at: str) -> None:
    """The reminder was handled: the task leaves the due index (unless it was moved meanwhile)."""
    from pynamodb.exceptions import UpdateError

    item = NurtureModel(f"task#{task_id}", "task")
    try:
        item.update(actions=[NurtureModel.due_bucket.remove(), NurtureModel.due_at.remove()],
                    condition=NurtureModel.due_at == remind_at)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
