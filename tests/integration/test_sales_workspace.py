"""The sales workspace (issue 14): notes and activities on a lead, tasks for people, notification mails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import graphql, invoke_in_process, sqs_event
from tests.integration.test_routing_sales import TEAM, lead, new_mql, route


@pytest.fixture
def team(aws):
    from leadflow.services import config

    config.publish("routing", TEAM, author="admin-1")
    return aws


def gql(query: str, variables: dict | None = None, *, role: str = "sales_rep", user: str | None = None) -> dict:
    from functions.graphql_api import handler

    return graphql(handler, query, variables, role=role, user=user)


def owned_mql(n: int = 0) -> tuple[str, str]:
    lead_id = new_mql(n)
    route(lead_id)
    return lead_id, lead(lead_id).owner_id


def other_rep(rep: str) -> str:
    return next(r for r in ("rep-a", "rep-b", "rep-c") if r != rep)


LOG = """mutation($id: ID!, $a: ActivityInput!) { logActivity(id: $id, activity: $a) {
  id type author at text outcome durationMinutes nextStep } }"""
TIMELINE = "query($id: ID!) { lead(id: $id) { timeline { id type author at details } } }"


# ------------------------------------------------------------------ notes and activities
def test_notes_and_logged_calls_appear_on_the_timeline_with_author_and_time(team):
    lead_id, rep = owned_mql()
    call = gql(LOG, {"id": lead_id, "a": {"type": "call", "text": "Wants a demo for 40 users", "outcome": "connected",
                                          "durationMinutes": 12, "nextStep": "demo on Tuesday"}}, user=rep)
    assert "errors" not in call, call
    logged = call["data"]["logActivity"]
    assert (logged["author"], logged["type"], logged["outcome"], logged["durationMinutes"]) == (rep, "call",
                                                                                                 "connected", 12)
    note = gql(LOG, {"id": lead_id, "a": {"type": "note", "text": "Budget confirmed by the CFO"}},
               role="sales_manager", user="boss")["data"]["logActivity"]
    gql(LOG, {"id": lead_id, "a": {"type": "note", "text": "Came from the trade fair"}}, role="marketing")

    timeline = gql(TIMELINE, {"id": lead_id}, user=rep)["data"]["lead"]["timeline"]
    mine = {e["id"]: e for e in timeline if e["author"]}
    assert mine[logged["id"]]["details"]["text"] == "Wants a demo for 40 users"
    assert mine[logged["id"]]["details"]["nextStep"] == "demo on Tuesday"
    assert mine[note["id"]]["author"] == "boss" and mine[note["id"]]["type"] == "note"
    assert {e["author"] for e in mine.values()} == {rep, "boss", "marketing-1"}
    listed = gql("query($id: ID!) { activities(id: $id) { id author type } }", {"id": lead_id}, user=rep)
    assert [a["author"] for a in listed["data"]["activities"]] == ["marketing-1", "boss", rep]  # newest first


def test_only_the_author_edits_or_deletes_an_activity(team):
    lead_id, rep = owned_mql()
    logged = gql(LOG, {"id": lead_id, "a": {"type": "note", "text": "first draft"}}, user=rep)["data"]["logActivity"]
    update = """mutation($id: ID!, $a: ID!, $p: ActivityPatch!) { updateActivity(id: $id, activityId: $a, patch: $p) {
      text editedAt } }"""
    delete = "mutation($id: ID!, $a: ID!) { deleteActivity(id: $id, activityId: $a) }"
    refused = gql(update, {"id": lead_id, "a": logged["id"], "p": {"text": "changed"}}, role="sales_manager",
                  user="boss")["errors"][0]
    assert refused["extensions"]["code"] == "not_permitted"
    assert "only its author edits or deletes an activity" in refused["message"] and rep in refused["message"]
    assert gql(delete, {"id": lead_id, "a": logged["id"]}, role="admin")["errors"][0]["extensions"]["code"] == \
        "not_permitted"

    edited = gql(update, {"id": lead_id, "a": logged["id"], "p": {"text": "final"}}, user=rep)["data"]
    assert edited["updateActivity"]["text"] == "final" and edited["updateActivity"]["editedAt"]
    assert gql(delete, {"id": lead_id, "a": logged["id"]}, user=rep)["data"] == {"deleteActivity": True}
    assert not [e for e in gql(TIMELINE, {"id": lead_id}, user=rep)["data"]["lead"]["timeline"] if e["author"]]
    gone = gql(delete, {"id": lead_id, "a": logged["id"]}, user=rep)["errors"][0]
    assert gone["extensions"] == {"code": "not_found", "rule": "not_found", "field": "activityId"}


@pytest.mark.parametrize(("activity", "field", "rule"), [
    ({"type": "note", "text": "   "}, "text", "must not be empty"),
    ({"type": "note", "text": "x" * 5001}, "text", "at most 5000"),
    ({"type": "call", "durationMinutes": -5}, "durationMinutes", "between 0 and 1440"),
    ({"type": "fax"}, "type", "one of note, call, meeting, email"),
    ({"type": "call", "outcome": "great"}, "outcome", "connected, left_voicemail"),
    ({"type": "note", "text": "hi", "outcome": "held"}, "outcome", "a note has no outcome"),
    ({"type": "email", "nextStep": "y" * 501}, "nextStep", "at most 500"),
])
def test_bad_activity_input_names_the_field_and_the_rule(team, activity, field, rule):
    lead_id, rep = owned_mql()
    error = gql(LOG, {"id": lead_id, "a": activity}, user=rep)["errors"][0]
    assert error["extensions"]["code"] == "invalid_input" and error["extensions"]["field"] == field
    assert rule in error["message"]


def test_a_rep_logs_only_on_their_own_leads_and_finance_never_sees_activities(team):
    lead_id, rep = owned_mql()
    gql(LOG, {"id": lead_id, "a": {"type": "note", "text": "private to sales"}}, user=rep)
    stranger = gql(LOG, {"id": lead_id, "a": {"type": "note", "text": "hi"}}, user=other_rep(rep))["errors"][0]
    assert stranger["message"] == f"no such lead: {lead_id}"
    assert gql("query($id: ID!) { activities(id: $id) { id } }", {"id": lead_id},
               user=other_rep(rep))["errors"][0]["extensions"]["code"] == "not_found"

    finance = gql("query($id: ID!) { activities(id: $id) { text } }", {"id": lead_id}, role="finance")
    assert finance["data"] is None and finance["errors"][0]["extensions"]["code"] == "not_permitted"
    assert "marketing, sales_rep, sales_manager, admin" in finance["errors"][0]["message"]
    as_lead = gql(TIMELINE, {"id": lead_id}, role="finance")
    assert as_lead["data"] == {"lead": None} and as_lead["errors"][0]["extensions"]["code"] == "not_permitted"
    logged = gql(LOG, {"id": lead_id, "a": {"type": "note", "text": "x"}}, role="finance")
    assert logged["errors"][0]["extensions"]["code"] == "not_permitted"


def test_erasure_removes_activities_and_tasks(team):
    from leadflow.store.models import NurtureModel, TimelineModel

    lead_id, rep = owned_mql()
    gql(LOG, {"id": lead_id, "a": {"type": "call", "text": "Her mobile is 0171 555", "outcome": "connected"}},
        user=rep)
    task = gql(CREATE_TASK, {"id": lead_id, "title": "Call Eva back", "due": iso(datetime.now(UTC) + timedelta(days=3))},
               user=rep)["data"]["createTask"]
    erased = gql("mutation($id: ID!) { eraseLead(id: $id) }", {"id": lead_id}, role="admin")
    assert "errors" not in erased, erased
    assert erased["data"]["eraseLead"]["tasks"] == 1 and erased["data"]["eraseLead"]["timeline"] >= 1
    assert list(TimelineModel.query(lead_id)) == []
    assert list(NurtureModel.query(f"task#{task['id']}")) == []
    assert list(NurtureModel.query(f"lead#{lead_id}")) == []
    assert gql(MY_TASKS, user=rep)["data"]["myTasks"] == []


# ------------------------------------------------------------------ tasks for people
CREATE_TASK = """mutation($id: ID!, $title: String!, $due: DateTime!, $remind: DateTime, $kind: String! = "call") {
  createTask(id: $id, title: $title, dueAt: $due, remindAt: $remind, kind: $kind) {
    id title kind source dueAt remindAt overdue status assignee leadId } }"""
MY_TASKS = "query($s: String! = \"open\") { myTasks(status: $s) { id title overdue source status outcome } }"
COMPLETE = "mutation($id: ID!, $o: String!) { completeTask(id: $id, outcome: $o) { status outcome completedBy } }"


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def test_my_tasks_lists_overdue_first_and_completing_one_logs_an_activity(team):
    lead_id, rep = owned_mql()
    now = datetime.now(UTC)
    later = gql(CREATE_TASK, {"id": lead_id, "title": "Send the offer", "due": iso(now + timedelta(days=2))},
                user=rep)["data"]["createTask"]
    overdue = gql(CREATE_TASK, {"id": lead_id, "title": "Call back", "due": iso(now - timedelta(hours=3))},
                  user=rep)["data"]["createTask"]
    assert later["assignee"] == rep and later["source"] == "sales" and later["remindAt"] == later["dueAt"]
    listed = gql(MY_TASKS, user=rep)["data"]["myTasks"]
    assert [(t["title"], t["overdue"]) for t in listed] == [("Call back", True), ("Send the offer", False)]

    done = gql(COMPLETE, {"id": overdue["id"], "o": "Reached her: demo booked"}, user=rep)["data"]["completeTask"]
    assert done == {"status": "done", "outcome": "Reached her: demo booked", "completedBy": rep}
    assert [t["title"] for t in gql(MY_TASKS, user=rep)["data"]["myTasks"]] == ["Send the offer"]
    assert [t["title"] for t in gql(MY_TASKS, {"s": "done"}, user=rep)["data"]["myTasks"]] == ["Call back"]
    timeline = gql(TIMELINE, {"id": lead_id}, user=rep)["data"]["lead"]["timeline"]
    logged = [e for e in timeline if e["type"] == "task"]
    assert len(logged) == 1 and logged[0]["author"] == rep
    assert logged[0]["details"]["text"] == "Reached her: demo booked"
    assert logged[0]["details"]["title"] == "Call back"
    again = gql(COMPLETE, {"id": overdue["id"], "o": "again"}, user=rep)["errors"][0]
    assert again["extensions"]["code"] == "invalid_state"


def test_a_rep_sets_sees_and_completes_only_tasks_of_their_leads(team):
    lead_id, rep = owned_mql()
    other = other_rep(rep)
    due = iso(datetime.now(UTC) + timedelta(days=1))
    refused = gql(CREATE_TASK, {"id": lead_id, "title": "steal", "due": due}, user=other)["errors"][0]
    assert refused["message"] == f"no such lead: {lead_id}"
    task = gql(CREATE_TASK, {"id": lead_id, "title": "Call back", "due": due}, user=rep)["data"]["createTask"]
    assert gql(MY_TASKS, user=other)["data"]["myTasks"] == []
    seen = gql('query($a: String!) { tasks(assignee: $a) { id } }', {"a": rep}, user=other)["data"]["tasks"]
    assert seen == []
    stolen = gql(COMPLETE, {"id": task["id"], "o": "done"}, user=other)["errors"][0]
    assert stolen["message"] == f"no such task: {task['id']}"
    assert gql('query($a: String!) { tasks(assignee: $a) { id } }', {"a": rep},
               user=rep)["data"]["tasks"] == [{"id": task["id"]}]


def test_journey_tasks_and_sales_tasks_live_in_one_list(team):
    from leadflow.store.nurture import put_task

    lead_id = new_mql()
    now = datetime.now(UTC)
    put_task("journey-task-1", "marketing", now - timedelta(hours=1), {
        "lead_id": lead_id, "kind": "phone_call", "title": "Call about the brochure", "body": "…", "status": "open",
        "created_at": (now - timedelta(hours=1)).isoformat()})
    gql(CREATE_TASK, {"id": lead_id, "title": "Check the webinar list", "due": iso(now + timedelta(hours=4)),
                      "kind": "todo"}, role="marketing")
    listed = gql(MY_TASKS, role="marketing")["data"]["myTasks"]
    assert [(t["title"], t["source"]) for t in listed] == [("Call about the brochure", "journey"),
                                                          ("Check the webinar list", "sales")]
    gql(COMPLETE, {"id": "journey-task-1", "o": "no answer"}, role="marketing")
    timeline = gql(TIMELINE, {"id": lead_id}, role="marketing")["data"]["lead"]["timeline"]
    assert [e["details"]["text"] for e in timeline if e["type"] == "task"] == ["no answer"]


@pytest.mark.parametrize(("variables", "field", "rule"), [
    ({"title": " "}, "title", "must not be empty"),
    ({"remind": iso(datetime.now(UTC) + timedelta(days=2))}, "remindAt", "not be after dueAt"),
    ({"kind": "party"}, "kind", "one of call, email, meeting, todo"),
    ({"due": "2999-01-01T10:00:00Z"}, "dueAt", "within two years"),
])
def test_bad_task_input_names_the_field(team, variables, field, rule):
    lead_id, rep = owned_mql()
    base = {"id": lead_id, "title": "Call back", "due": iso(datetime.now(UTC) + timedelta(days=1))}
    error = gql(CREATE_TASK, {**base, **variables}, user=rep)["errors"][0]
    assert error["extensions"]["code"] == "invalid_input" and error["extensions"]["field"] == field
    assert rule in error["message"]


# ------------------------------------------------------------------ notifications
def notices(stack) -> list[dict]:
    """Take every notice off the notify queue (as NotifyFunction's poller would); settles the stream first."""
    import boto3

    sqs, url, out = boto3.client("sqs"), stack.queue_url("NotifyQueue"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return out


def deliver(stack, messages: list[dict]) -> dict:
    return invoke_in_process(stack, "NotifyFunction", sqs_event([json.dumps(m) for m in messages]))


def mails_to(user: str) -> list:
    from leadflow.adapters.outbox import sent_mails

    return [m for m in sent_mails() if m.to == [f"{user}@example.com"]]


def test_the_assigned_rep_gets_one_mail_with_summary_score_and_a_link_that_opens_the_lead(team):
    lead_id, rep = owned_mql()
    messages = notices(team)
    assert messages == [{"notify": "lead_assigned", "occurrence": messages[0]["occurrence"], "leadId": lead_id,
                         "userId": rep}]  # ids only
    assert deliver(team, messages) == {"batchItemFailures": []}
    deliver(team, messages)  # redelivered: mailed once
    [mail] = mails_to(rep)
    assert mail.subject == "New lead for you: Eva Lang0"
    assert "Email: eva.lang0@lang-werke.de" in mail.text and "Accept it by" in mail.text
    link = next(line for line in mail.text.splitlines() if line.startswith("Open the lead: "))
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(link.removeprefix("Open the lead: ")).query)
    assert json.loads(query["variables"][0]) == {"id": lead_id} and "lead(id: $id)" in query["q"][0]
    opened = gql(query["q"][0], json.loads(query["variables"][0]), user=rep)
    assert opened["data"]["lead"]["id"] == lead_id


def test_a_scored_lead_mail_explains_the_score():
    from leadflow.domain.notifications import render

    score = {"total": 72, "grade": "hot", "action": "call within a day", "channel": "phone",
             "reasons": [{"factor": "job_title:executive", "points": 20}, {"factor": "pricing_page", "points": 15}]}
    mail = render("lead_assigned", {"lead_id": "l1", "first_name": "Eva", "company": "Lang", "score": score}, "L")
    assert "Score 72 (hot): call within a day via phone" in mail.text
    assert "+20  job_title:executive" in mail.text and "<a href=\"L\">Open the lead</a>" in mail.html


def test_the_manager_is_told_when_nobody_is_eligible_and_when_an_sla_is_missed(team, monkeypatch):
    from leadflow.adapters import clock
    from leadflow.domain.lifecycle import Stage
    from leadflow.domain.submission import parse_submission
    from leadflow.services.capture import capture_lead
    from leadflow.services.lifecycle import transition
    from leadflow.services.routing import reassign_if_overdue
    from leadflow.store.leads import get_lead

    foreign = capture_lead(parse_submission({"firstName": "Jean", "lastName": "Roux", "country": "FR",
                                             "email": "jean.roux@roux-industrie.fr"})).lead_id
    transition(get_lead(foreign), Stage.MQL, actor="rule:test", reason="score")
    route(foreign)
    lead_id, rep = owned_mql()
    later = datetime.now(UTC) + timedelta(hours=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    reassign_if_overdue(lead_id)
    messages = notices(team)
    reasons = sorted((m["notify"], m.get("userId")) for m in messages)
    new_rep = lead(lead_id).owner_id
    assert reasons == sorted([("no_eligible_rep", "boss"), ("lead_assigned", rep), ("sla_missed", "boss"),
                              ("lead_assigned", new_rep)])
    deliver(team, messages)
    subjects = sorted(m.subject for m in mails_to("boss"))
    assert subjects == ["Nobody eligible: Jean Roux waits in your queue", "SLA missed: Eva Lang0"]
    missed = next(m for m in mails_to("boss") if m.subject.startswith("SLA missed"))
    assert "SLA missed" in missed.text and "reassigned" in missed.text  # the routing reason
    assert mails_to(rep) == []  # assigned, but no longer theirs when the notice came: not told


def test_the_sweep_warns_before_the_sla_and_reminds_of_due_tasks_once(team, monkeypatch):
    from leadflow.adapters import clock
    from leadflow.services.notifications import sweep

    lead_id, rep = owned_mql()
    deliver(team, notices(team))  # the assignment mail
    due = datetime.fromisoformat(lead(lead_id).sla_due)
    task = gql(CREATE_TASK, {"id": lead_id, "title": "Call back Tuesday", "due": iso(due + timedelta(days=1)),
                             "remind": iso(due - timedelta(minutes=30))}, user=rep)["data"]["createTask"]
    now = datetime.now(UTC)
    assert sweep(now) == {"slaWarnings": 0, "taskReminders": 0, "queued": 0}  # deadline 4 h away: not yet
    close = due - timedelta(minutes=20)
    monkeypatch.setattr(clock, "now", lambda: close)
    sweep_function = invoke_in_process(team, "NotifySweepFunction", {})  # as scheduled (IAM probe: its policy)
    assert sweep_function == {"slaWarnings": 1, "taskReminders": 1, "queued": 2}
    messages = notices(team)
    assert sorted(m["notify"] for m in messages) == ["sla_warning", "task_due"]
    assert {k for m in messages for k in m} <= {"notify", "occurrence", "leadId", "taskId", "userId"}
    deliver(team, messages)
    assert sweep(close) == {"slaWarnings": 1, "taskReminders": 0, "queued": 1}  # the reminder is handled
    deliver(team, notices(team))  # the lead is found again while in its window: no second mail
    subjects = sorted(m.subject for m in mails_to(rep))
    assert len(subjects) == 3 and subjects[0].startswith("Accept by ") and subjects[1] == "New lead for you: Eva Lang0"
    assert subjects[2] == "Task due: Call back Tuesday"
    assert task["id"]


def test_a_user_turns_a_notification_off_for_themselves(team):
    settings = gql("{ myNotificationSettings { reason enabled } }", user="rep-a")["data"]["myNotificationSettings"]
    assert {s["reason"]: s["enabled"] for s in settings} == {"lead_assigned": True, "sla_warning": True,
                                                             "task_due": True}
    for rep in ("rep-a", "rep-b", "rep-c"):
        off = gql('mutation { setNotification(reason: "lead_assigned", enabled: false) { reason enabled } }',
                  user=rep)
        assert {"reason": "lead_assigned", "enabled": False} in off["data"]["setNotification"]
    _, rep = owned_mql()
    deliver(team, notices(team))
    assert mails_to(rep) == []
    wrong = gql('mutation { setNotification(reason: "sla_missed", enabled: false) { reason } }', user="rep-a")
    assert wrong["errors"][0]["extensions"] == {"code": "invalid_input", "rule": "invalid_input", "field": "reason"}
    assert "lead_assigned, sla_warning, task_due" in wrong["errors"][0]["message"]


def test_a_key_account_writing_in_tells_the_account_owners_manager(team):
    from leadflow.domain.notifications import from_event
    from leadflow.services.notifications import deliver as deliver_one
    from leadflow.store.models import LeadModel

    assert from_event("LeadQualified", {"leadId": "l1", "keyAccount": False}, "l1/v2/0") == []
    [message] = from_event("LeadQualified", {"leadId": "x", "keyAccount": True}, "x/v2/0")
    lead_id = new_mql()
    item = LeadModel.get(lead_id)
    item.update(actions=[LeadModel.key_account.set(True), LeadModel.account_owner_id.set("rep-b"),
                         LeadModel.company.set("Lang Werke AG")])
    assert deliver_one({**message, "leadId": lead_id}) == "sent"
    assert deliver_one({**message, "leadId": lead_id}) == "sent_already"
    [mail] = mails_to("boss")
    assert mail.subject == "Key account wrote in: Eva Lang0 (Lang Werke AG)"
