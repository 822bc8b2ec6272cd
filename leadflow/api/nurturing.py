"""GraphQL for nurturing: tasks for people (phone calls, letters); a lead's consents and journey."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md). Forward references are quoted.

from datetime import datetime

import strawberry

from leadflow.api.permissions import principal_of, roles
from leadflow.domain.access import MARKETING_TASK_QUEUE, Role

TASK_ROLES = roles(Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)


@strawberry.type(description="A phone call or letter a journey step hands to a person.")
class Task:
    id: strawberry.ID
    assignee: str
    lead_id: str
    kind: str = strawberry.field(description="phone_call | postal_letter (a journey's); call | email | meeting | "
                                             "todo (a person's own)")
    source: str = strawberry.field(description="journey (a nurturing step) | sales (set by a person)")
    title: str
    body: str
    status: str = strawberry.field(description="open | done")
    outcome: str | None
    created_at: datetime
    due_at: datetime = strawberry.field(description="When it is due (a journey's task: when it was created).")
    remind_at: datetime | None = strawberry.field(description="When its assignee gets a reminder mail.")
    overdue: bool = strawberry.field(description="Open and past its due time.")
    completed_at: datetime | None
    completed_by: str | None

    @classmethod
    def from_dict(cls, d: dict) -> "Task":
        from leadflow.adapters import clock

        created = datetime.fromisoformat(d["created_at"])
        due = datetime.fromisoformat(d["due_at"]) if d.get("due_at") else created
        return cls(id=strawberry.ID(d["id"]), assignee=d["assignee"], lead_id=d["lead_id"], kind=d["kind"],
                   source=d.get("source") or "journey",
                   title=d["title"], body=d["body"], status=d["status"], outcome=d.get("outcome"),
                   created_at=created, due_at=due,
                   remind_at=datetime.fromisoformat(d["remind_at"]) if d.get("remind_at") else None,
                   overdue=d["status"] == "open" and due < clock.now(),
                   completed_at=datetime.fromisoformat(d["completed_at"]) if d.get("completed_at") else None,
                   completed_by=d.get("completed_by"))


@strawberry.type
class NurturingQuery:
    @strawberry.field(permission_classes=[TASK_ROLES], description=(
        "Tasks of an assignee (default: marketing). A rep or manager gets only tasks of leads they may "
        "see, or assigned to them."))
    def tasks(self, info: strawberry.Info, assignee: str = MARKETING_TASK_QUEUE, status: str = "open",
              first: int = 50) -> list[Task]:
        from leadflow.services import nurture  # heavy (mail, journeys): only when used

        return [Task.from_dict(t) for t in nurture.tasks(principal_of(info), assignee, status,
                                                         max(1, min(first, 100)))]


WITHDRAWERS = roles(Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)


@strawberry.type
class NurturingMutation:
    @strawberry.mutation(permission_classes=[WITHDRAWERS], description=(
        "The person objected (by phone, letter, in person): every marketing consent is withdrawn "
        "and nurturing stops at once."))
    def withdraw_consent(self, info: strawberry.Info, id: strawberry.ID, note: str | None = None) -> bool:
        from leadflow.services import leads as lead_service
        from leadflow.services import nurture

        principal = principal_of(info)
        if lead_service.lead_for(principal, str(id)) is None:
            from leadflow.domain.errors import no_such_lead

            raise no_such_lead(str(id))
        nurture.withdraw_all(str(id), via=f"request by {principal.user_id}" + (f": {note}" if note else ""))
        return True

    @strawberry.mutation(permission_classes=[TASK_ROLES], description=(
        "Record the outcome of a call or letter (a task the caller may see, as in tasks)."))
    def complete_task(self, info: strawberry.Info, id: strawberry.ID, outcome: str) -> Task:
        from leadflow.services import nurture

        return Task.from_dict(nurture.complete_task(principal_of(info), str(id), outcome))


TYPE_ROLES = {"Task": frozenset({Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})}
