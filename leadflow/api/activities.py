"""GraphQL for the sales workspace: notes and logged activities on a lead, a person's own tasks,
and their notification settings."""

from datetime import datetime

import strawberry

from leadflow.api.nurturing import Task
from leadflow.api.permissions import principal_of, roles
from leadflow.domain.access import ALL_ROLES, PERSONAL_DATA_ROLES, Role

NOTE_ROLES = roles(Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
ANYONE = roles(*ALL_ROLES)


@strawberry.type(description="A note, or a call, meeting or email someone logged on a lead; or a completed task. "
                             "Also on Lead.timeline (with its id and author).")
class Activity:
    id: strawberry.ID
    lead_id: strawberry.ID
    type: str = strawberry.field(description="note | call | meeting | email | task (a completed task)")
    at: datetime = strawberry.field(description="When it happened.")
    author: str
    text: str | None
    outcome: str | None = strawberry.field(description="call: connected | left_voicemail | no_answer | busy | "
                                                       "wrong_number; meeting: held | rescheduled | no_show | "
                                                       "cancelled; email: sent | received | replied | bounced")
    duration_minutes: int | None
    next_step: str | None
    edited_at: datetime | None
    task_id: strawberry.ID | None

    @classmethod
    def from_dict(cls, d: dict) -> "Activity":
        return cls(id=strawberry.ID(d["id"]), lead_id=strawberry.ID(d["lead_id"]), type=d["type"], at=d["at"],
                   author=d["author"] or "", text=d["text"], outcome=d["outcome"],
                   duration_minutes=d["duration_minutes"], next_step=d["next_step"], edited_at=d["edited_at"],
                   task_id=strawberry.ID(d["task_id"]) if d.get("task_id") else None)


@strawberry.input(description="What happened: type note needs text; calls and meetings may say how long.")
class ActivityInput:
    type: str = strawberry.field(description="note | call | meeting | email")
    text: str | None = None
    outcome: str | None = None
    duration_minutes: int | None = None
    next_step: str | None = None


@strawberry.input(description="Only the fields given change; null clears one.")
class ActivityPatch:
    text: str | None = strawberry.UNSET
    outcome: str | None = strawberry.UNSET
    duration_minutes: int | None = strawberry.UNSET
    next_step: str | None = strawberry.UNSET

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not strawberry.UNSET}


@strawberry.type(description="One kind of notification mail and whether the caller gets it.")
class NotificationSetting:
    reason: str
    enabled: bool
    description: str


@strawberry.type
class ActivityQuery:
    @strawberry.field(permission_classes=[NOTE_ROLES], description=(
        "Notes and logged activities of a lead the caller may see, newest first (first <= 100)."))
    def activities(self, info: strawberry.Info, id: strawberry.ID, first: int = 50) -> list[Activity]:
        from leadflow.services import activities

        return [Activity.from_dict(a) for a in activities.activities(principal_of(info), str(id), first)]

    @strawberry.field(permission_classes=[NOTE_ROLES], description=(
        "The caller's own tasks, due first (overdue at the top); marketing's include the journey tasks "
        "(phone calls, letters) of the shared marketing list."))
    def my_tasks(self, info: strawberry.Info, status: str = "open", first: int = 50) -> list[Task]:
        from leadflow.services import activities

        return [Task.from_dict(t) for t in activities.my_tasks(principal_of(info), status, first)]

    @strawberry.field(permission_classes=[ANYONE], description="Which notification mails the caller gets.")
    def my_notification_settings(self, info: strawberry.Info) -> list[NotificationSetting]:
        from leadflow.services import notifications

        return [NotificationSetting(reason=r, enabled=on, description=text)
                for r, on, text in notifications.settings_of(principal_of(info))]


@strawberry.type
class ActivityMutation:
    @strawberry.mutation(permission_classes=[NOTE_ROLES], description=(
        "Add a note, or log a call, meeting or email (outcome, duration, next step) on a lead the caller may "
        "see; occurredAt (default now) must not be in the future."))
    def log_activity(self, info: strawberry.Info, id: strawberry.ID, activity: ActivityInput,
                     occurred_at: datetime | None = None) -> Activity:
        from leadflow.domain.activities import ActivityIn
        from leadflow.services import activities

        return Activity.from_dict(activities.log_activity(principal_of(info), str(id), ActivityIn(
            type=activity.type, text=activity.text, outcome=activity.outcome,
            duration_minutes=activity.duration_minutes, next_step=activity.next_step), occurred_at))

    @strawberry.mutation(permission_classes=[NOTE_ROLES], description=(
        "Change a note or activity of lead `id`; only its author may."))
    def update_activity(self, info: strawberry.Info, id: strawberry.ID, activity_id: strawberry.ID,
                        patch: ActivityPatch) -> Activity:
        from leadflow.services import activities

        return Activity.from_dict(activities.update_activity(principal_of(info), str(id), str(activity_id),
                                                             patch.to_dict()))

    @strawberry.mutation(permission_classes=[NOTE_ROLES], description=(
        "Delete a note or activity of lead `id`; only its author may."))
    def delete_activity(self, info: strawberry.Info, id: strawberry.ID, activity_id: strawberry.ID) -> bool:
        from leadflow.services import activities

        return activities.delete_activity(principal_of(info), str(id), str(activity_id))

    @strawberry.mutation(permission_classes=[NOTE_ROLES], description=(
        "A task for the caller on a lead in their scope (a rep: their own leads): due at dueAt, reminder mail "
        "at remindAt (default: dueAt). completeTask records the outcome on the lead's timeline."))
    def create_task(self, info: strawberry.Info, id: strawberry.ID, title: str, due_at: datetime,
                    remind_at: datetime | None = None, kind: str = "todo", note: str | None = None) -> Task:
        from leadflow.services import activities

        return Task.from_dict(activities.create_task(principal_of(info), str(id), title=title, due_at=due_at,
                                                     remind_at=remind_at, kind=kind, note=note))

    @strawberry.mutation(permission_classes=[ANYONE], description=(
        "Turn one kind of notification mail on or off for the caller (see myNotificationSettings)."))
    def set_notification(self, info: strawberry.Info, reason: str, enabled: bool) -> list[NotificationSetting]:
        from leadflow.services import notifications

        notifications.set_enabled(principal_of(info), reason, enabled)
        return [NotificationSetting(reason=r, enabled=on, description=text)
                for r, on, text in notifications.settings_of(principal_of(info))]


TYPE_ROLES = {"Activity": PERSONAL_DATA_ROLES, "NotificationSetting": ALL_ROLES}
