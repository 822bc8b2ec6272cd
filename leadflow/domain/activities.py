"""Notes, logged activities and tasks for people on a lead: what a valid one looks like.

Reps, managers and marketing write down what happened (a note; a call, meeting or email with its
outcome, duration and next step) and set themselves tasks (call back Tuesday 10:00). Each rule
here names the field it checks, so a caller sees what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadflow.domain.errors import InvalidInput

# activity type -> the outcomes it may record (a note records none)
OUTCOMES: dict[str, tuple[str, ...]] = {
    "note": (),
    "call": ("connected", "left_voicemail", "no_answer", "busy", "wrong_number"),
    "meeting": ("held", "rescheduled", "no_show", "cancelled"),
    "email": ("sent", "received", "replied", "bounced"),
}
ACTIVITY_TYPES = tuple(OUTCOMES)
# Written by the system when a task is completed (not a type users log themselves).
TASK_DONE = "task"
MAX_TEXT = 5000
MAX_NEXT_STEP = 500
MAX_DURATION_MINUTES = 24 * 60
FUTURE_SLACK = timedelta(minutes=5)  # clocks differ a little: "now" from a client is not the future

TASK_KINDS = ("call", "email", "meeting", "todo")
MAX_TITLE = 200
MAX_TASK_NOTE = 2000
MAX_DUE_AHEAD = timedelta(days=2 * 365)


@dataclass(frozen=True)
class ActivityIn:
    type: str
    text: str | None = None
    outcome: str | None = None
    duration_minutes: int | None = None
    next_step: str | None = None


def _text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{field} must not be empty", field=field)
        return None
    if len(text) > limit:
        raise InvalidInput(f"{field} is {len(text)} characters; at most {limit}", field=field)
    return text


def check_activity(activity: ActivityIn) -> ActivityIn:
    """The activity as stored (texts trimmed), or InvalidInput naming the field and the rule."""
    if activity.type not in OUTCOMES:
        raise InvalidInput(f"type must be one of {', '.join(ACTIVITY_TYPES)}; not {activity.type!r}", field="type")
    allowed = OUTCOMES[activity.type]
    if activity.outcome is not None and activity.outcome not in allowed:
        rule = (f"one of {', '.join(allowed)}" if allowed else "empty (a note has no outcome)")
        raise InvalidInput(f"outcome of a {activity.type} must be {rule}; not {activity.outcome!r}", field="outcome")
    duration = activity.duration_minutes
    if duration is not None:
        if activity.type not in ("call", "meeting"):
            raise InvalidInput(f"durationMinutes is for calls and meetings, not a {activity.type}",
                               field="durationMinutes")
        if not 0 <= duration <= MAX_DURATION_MINUTES:
            raise InvalidInput(f"durationMinutes must be between 0 and {MAX_DURATION_MINUTES}; not {duration}",
                               field="durationMinutes")
    return ActivityIn(type=activity.type,
                      text=_text(activity.text, "text", MAX_TEXT, required=activity.type == "note"),
                      outcome=activity.outcome, duration_minutes=duration,
                      next_step=_text(activity.next_step, "nextStep", MAX_NEXT_STEP))


def check_occurred_at(at: datetime | None, now: datetime) -> datetime:
    """When it happened (a call logged afterwards): not in the future; default now."""
    if at is None:
        return now
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if at > now + FUTURE_SLACK:
        raise InvalidInput("occurredAt must not be in the future", field="occurredAt")
    return at


@dataclass(frozen=True)
class TaskIn:
    title: str
    due_at: datetime
    remind_at: datetime
    kind: str = "todo"
    note: str | None = None


def check_task(title: str | None, due_at: datetime, remind_at: datetime | None, kind: str | None,
               note: str | None, now: datetime) -> TaskIn:
    """A task for a person: a title, when it is due, when to remind (default: when due)."""
    kind = kind or "todo"
    if kind not in TASK_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(TASK_KINDS)}; not {kind!r}", field="kind")
    due_at = due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)
    if due_at > now + MAX_DUE_AHEAD:
        raise InvalidInput("dueAt must be within two years", field="dueAt")
    if remind_at is None:
        remind_at = due_at
    remind_at = remind_at if remind_at.tzinfo else remind_at.replace(tzinfo=UTC)
    if remind_at > due_at:
        raise InvalidInput("remindAt must not be after dueAt", field="remindAt")
    return TaskIn(title=_text(title, "title", MAX_TITLE, required=True) or "", due_at=due_at,
                  remind_at=remind_at, kind=kind, note=_text(note, "note", MAX_TASK_NOTE))
