"""Notes and activities on a lead, and the tasks people set themselves.

Who may: anyone who may see the lead (services.leads.lead_for: a rep their own leads, a manager
their teams', marketing and admins any; finance none) adds notes and logs calls, meetings and
emails; only the author edits or deletes one. Tasks: the caller sets one on a lead in their
scope, for themselves; `my_tasks` is their list, journey tasks (phone, letter) included for
marketing, due first."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from leadflow.adapters import clock
from leadflow.domain import followups
from leadflow.domain.access import MARKETING_TASK_QUEUE, Principal, Role
from leadflow.domain.activities import TASK_DONE, ActivityIn, check_activity, check_occurred_at, check_task
from leadflow.domain.errors import Forbidden, NotFound, no_such_lead
from leadflow.store import activities as store
from leadflow.store.models import TimelineModel

log = logging.getLogger(__name__)

AUTHOR_RULE = "only its author edits or deletes an activity"
NOTE_ROLES = (Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
MAX_LIST = 100


def _visible_lead(principal: Principal, lead_id: str):
    from leadflow.services.leads import lead_for

    principal.require(*NOTE_ROLES, action="notes and activities")
    lead = lead_for(principal, lead_id)
    if lead is None or lead.erased_at is not None:
        raise no_such_lead(lead_id)
    return lead


def to_dict(item: TimelineModel) -> dict[str, Any]:
    d = item.details or {}
    return {"id": store.activity_id_of(item.event_sort), "lead_id": item.lead_id, "type": item.event_type,
            "at": item.at, "author": d.get("author"), "text": d.get("text"), "outcome": d.get("outcome"),
            "duration_minutes": d.get("durationMinutes"), "next_step": d.get("nextStep"),
            "edited_at": clock.from_iso(d.get("editedAt")), "task_id": d.get("taskId")}


def _details(author: str, activity: ActivityIn, **extra: Any) -> dict[str, Any]:
    details = {"author": author, "text": activity.text, "outcome": activity.outcome,
               "durationMinutes": activity.duration_minutes, "nextStep": activity.next_step, **extra}
    return {k: v for k, v in details.items() if v is not None}


def log_activity(principal: Principal, lead_id: str, activity: ActivityIn,
                 occurred_at: datetime | None = None) -> dict[str, Any]:
    lead = _visible_lead(principal, lead_id)
    activity = check_activity(activity)
    now = clock.now()
    at = check_occurred_at(occurred_at, now)
    activity_id = store.new_activity_id(at)
    item = TimelineModel(lead.lead_id, store.activity_sort(activity_id), event_type=activity.type, at=at,
                         details=_details(principal.user_id, activity, loggedAt=now.isoformat()))
    store.put_activity(item)
    log.info("activity logged", extra={"lead_id": lead.lead_id, "type": activity.type})
    return to_dict(item)


def _own_activity(principal: Principal, lead_id: str, activity_id: str) -> TimelineModel:
    from leadflow.domain.ids import check_id

    lead = _visible_lead(principal, lead_id)
    check_id(activity_id, "activityId")
    item = store.get_activity(lead.lead_id, activity_id) if "." in activity_id else None
    if item is None or item.event_type == TASK_DONE:  # a completed task's record stays as it was
        raise NotFound(f"no such activity: {activity_id}", field="activityId")
    if (item.details or {}).get("author") != principal.user_id:
        raise Forbidden(f"{AUTHOR_RULE}; this one is {item.details.get('author')}'s", field="activityId")
    return item


def update_activity(principal: Principal, lead_id: str, activity_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes`: text, outcome, duration_minutes, next_step (a key given with None clears it)."""
    item = _own_activity(principal, lead_id, activity_id)
    d = item.details or {}
    current = {"text": d.get("text"), "outcome": d.get("outcome"), "duration_minutes": d.get("durationMinutes"),
               "next_step": d.get("nextStep")}
    activity = check_activity(ActivityIn(type=item.event_type, **{**current, **changes}))
    item.details = _details(principal.user_id, activity, loggedAt=d.get("loggedAt"),
                            editedAt=clock.now().isoformat())
    store.save_activity(item)
    return to_dict(item)


def delete_activity(principal: Principal, lead_id: str, activity_id: str) -> bool:
    store.delete_activity(_own_activity(principal, lead_id, activity_id))
    return True


def activities(principal: Principal, lead_id: str, first: int = 50) -> list[dict[str, Any]]:
    lead = _visible_lead(principal, lead_id)
    return [to_dict(i) for i in store.activities_of(lead.lead_id, max(1, min(first, MAX_LIST)))]


def task_done_activity(task_id: str, data: dict[str, Any], actor: str, at: datetime) -> TimelineModel:
    """What completing a task writes on its lead's timeline (one per task: its id is the task's)."""
    activity_id = store.new_activity_id(at, f"task-{task_id}")
    details = {"author": actor, "text": data.get("outcome"), "taskId": task_id, "title": data.get("title"),
               "kind": data.get("kind")}
    return TimelineModel(data["lead_id"], store.activity_sort(activity_id), event_type=TASK_DONE, at=at,
                         details={k: v for k, v in details.items() if v is not None})


# ------------------------------------------------------------------ tasks for people
TASK_ROLES = (Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)


def create_task(principal: Principal, lead_id: str, *, title: str, due_at: datetime,
                remind_at: datetime | None = None, kind: str | None = None, note: str | None = None
                ) -> dict[str, Any]:
    """A task for the caller on a lead in their scope (a rep: their own leads)."""
    from leadflow.services.leads import lead_in_scope

    principal.require(*TASK_ROLES, action="creating tasks")
    lead = lead_in_scope(principal, lead_id)
    if lead.erased_at is not None:
        raise no_such_lead(lead_id)
    now = clock.now()
    task = check_task(title, due_at, remind_at, kind, note, now)
    task_id = uuid.uuid4().hex
    data = {"lead_id": lead.lead_id, "kind": task.kind, "title": task.title, "body": task.note or "",
            "status": "open", "created_at": now.isoformat(), "created_by": principal.user_id,
            "due_at": task.due_at.isoformat(), "remind_at": task.remind_at.isoformat(), "source": "sales"}
    store.put_sales_task(task_id, principal.user_id, lead.lead_id, data, task.due_at, task.remind_at,
                         follow_ups=followups.event("TaskCreated", taskId=task_id, leadId=lead.lead_id,
                                                    kind=task.kind))
    return {"id": task_id, "assignee": principal.user_id, **data}


def my_tasks(principal: Principal, status: str = "open", first: int = 50) -> list[dict[str, Any]]:
    """The caller's own list, due first (overdue at the top); marketing's includes the shared
    list of journey tasks."""
    from leadflow.services.nurture import _task_dict
    from leadflow.store import nurture as nurture_store

    principal.require(*TASK_ROLES, action="task lists")
    first = max(1, min(first, MAX_LIST))
    lists = [principal.user_id]
    if principal.role is Role.MARKETING:
        lists.append(MARKETING_TASK_QUEUE)
    items = [i for assignee in lists for i in nurture_store.tasks_of(assignee, status, first)]
    items.sort(key=lambda i: i.task_sort.split("#", 2)[1])
    return [_task_dict(i) for i in items[:first]]
