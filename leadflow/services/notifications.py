"""Notification mails for reps and managers, derived from committed changes only.

Two sources put notices (ids only) on the notify queue: the relay, for the domain events a
committed change announces (domain.notifications.from_event: a lead assigned, nobody eligible,
an SLA missed, a key account writing in), and the notification sweep, for what becomes due with
time (a lead close to its acceptance deadline, a task's reminder), read from sparse sharded
indexes. `deliver` is the queue's consumer: each mail at most once per (user, reason, lead or
task, occurrence), by a marker written before SES is asked; a mail SES refused frees its marker
so the redelivered message tries again."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from leadflow.adapters import clock, mailer
from leadflow.domain import notifications as rules
from leadflow.domain.access import Principal
from leadflow.domain.errors import InvalidInput
from leadflow.settings import get_settings
from leadflow.store import notifications as store

log = logging.getLogger(__name__)

SWEEP_PAGE = 100


# ------------------------------------------------------------------ settings
def settings_of(principal: Principal) -> list[tuple[str, bool, str]]:
    off = store.disabled_reasons(principal.user_id)
    return [(reason, reason not in off, rules.REASONS[reason][1]) for reason in rules.reasons_for(principal.role.value)]


def set_enabled(principal: Principal, reason: str, enabled: bool) -> None:
    """A user turns one of their own notifications on or off (nobody else's)."""
    allowed = rules.reasons_for(principal.role.value)
    if reason not in allowed:
        raise InvalidInput(f"reason must be one of the notifications of the role {principal.role.value}: "
                           f"{', '.join(allowed) or 'none'}; not {reason!r}", field="reason")
    off = store.disabled_reasons(principal.user_id)
    store.save_disabled_reasons(principal.user_id, off - {reason} if enabled else off | {reason})


# ------------------------------------------------------------------ sources
def notice_queue_url() -> str:
    return get_settings().notify_queue_url


def notices_of(effects: list[dict[str, Any]], change: str) -> list[dict[str, Any]]:
    """The notices of one committed change's events (relay); eventIds as the relay gives them."""
    out: list[dict[str, Any]] = []
    for n, effect in enumerate(effects):
        if "event" in effect:
            out += rules.from_event(effect["event"], effect["detail"], f"{change}/{n}")
    return out


def sweep(now: datetime | None = None, *, deadline: float | None = None) -> dict[str, int]:
    """Scheduled: queue a notice for every lead whose acceptance deadline is within the warning
    time (the sparse by_sla_due index, between now and now + warning) and every task whose
    reminder is due (the `remind#` shards of the nurture due index). A lead is found by several
    runs while in its window; its notice is mailed once (the consumer's marker)."""
    from leadflow.adapters import queues
    from leadflow.services.rulesets import active_rules
    from leadflow.store import activities

    now = now or clock.now()
    url = notice_queue_url()
    warn = timedelta(minutes=active_rules("routing").sla.warn_before_minutes)
    found = {"slaWarnings": 0, "taskReminders": 0, "queued": 0}
    if warn:
        for page in store.sla_closing_pages(now, now + warn, SWEEP_PAGE):
            found["slaWarnings"] += len(page)
            found["queued"] += queues.send_batch(url, (rules.notice("sla_warning", due, lead_id=lead_id)
                                                       for lead_id, due in page))
            if deadline is not None and time.monotonic() >= deadline:
                return found
    for page in activities.due_reminder_pages(now, SWEEP_PAGE):
        found["taskReminders"] += len(page)
        found["queued"] += queues.send_batch(url, (rules.notice("task_due", "reminder", task_id=task_id)
                                                   for task_id in page))
        if deadline is not None and time.monotonic() >= deadline:
            break
    return found


# ------------------------------------------------------------------ the consumer
def deliver(message: dict[str, Any]) -> str:
    """One notice from the notify queue: mail it to its user once, unless they turned it off or it
    no longer applies (the lead was accepted, reassigned or erased; the task done). Returns what
    happened (for the log: a word, no personal data)."""
    from leadflow.services.erasure import live_lead

    reason = message["notify"]
    if reason == "task_due":
        return _task_due(message["taskId"])
    lead = live_lead(message["leadId"])
    if lead is None:
        return "no_lead"
    user_id = message.get("userId")
    when = None
    if reason == "sla_warning":
        if lead.sla_due != message["occurrence"] or not lead.owner_id:
            return "no_longer_due"  # accepted, reassigned, or its deadline moved
        user_id, when = lead.owner_id, datetime.fromisoformat(lead.sla_due)
    elif reason == "lead_assigned":
        if lead.owner_id != user_id:
            return "no_longer_theirs"
        when = datetime.fromisoformat(lead.sla_due) if lead.sla_due else None
    elif reason == "key_account":
        user_id = _manager_of(lead.account_owner_id)
    if not user_id:
        return "nobody"
    note = _history_reason(lead.lead_id, message["occurrence"]) if reason in ("sla_missed", "no_eligible_rep") else None
    return _send(user_id, reason, lead.lead_id, message["occurrence"], _lead_dict(lead), when=when, note=note)


def _task_due(task_id: str) -> str:
    from leadflow.services.erasure import live_lead
    from leadflow.store import activities
    from leadflow.store.nurture import _get

    item = _get(f"task#{task_id}", "task")
    if item is None or not item.due_at:
        return "no_task"
    data = item.data or {}
    occurrence = item.due_at  # the reminder time: a task moved to another time reminds again
    result = "done"
    if data.get("status") == "open":
        lead = live_lead(data.get("lead_id", ""))
        if lead is None:
            result = "no_lead"
        else:
            result = _send(item.assignee, "task_due", task_id, occurrence, _lead_dict(lead),
                           when=datetime.fromisoformat(data["due_at"]), task=data)
    activities.clear_reminder(task_id, occurrence)  # after the mail: a crash before it sends on redelivery
    return result


def _send(user_id: str, reason: str, subject_id: str, occurrence: str, lead: dict[str, Any], **render: Any) -> str:
    if reason in store.disabled_reasons(user_id):
        return "off"
    key = rules.notice_key(user_id, reason, subject_id, occurrence)
    if not store.claim(key, subject_id, clock.now()):
        return "sent_already"
    settings = get_settings()
    link = rules.lead_link(lead["lead_id"], base_url=settings.public_base_url, template=settings.lead_link)
    mail = rules.render(reason, lead, link, **render)
    try:
        mailer.send_mail(to=address_of(user_id), subject=mail.subject, html=mail.html, text=mail.text, once=True)
    except mailer.MailRefused:
        store.release(key)  # nothing went out: the redelivered message tries again
        raise
    except mailer.MailOutcomeUnknown:
        log.warning("notification outcome unknown; not sent again", extra={"reason": reason})
        return "unknown"
    return "sent"


def address_of(user_id: str) -> str:
    """A user's work address: the Cognito username at the company's mail domain."""
    if "@" in user_id:
        return user_id
    return f"{user_id}@{get_settings().team_mail_domain}"


def _manager_of(rep_id: str | None) -> str | None:
    from leadflow.services.rulesets import active_rules

    routing = active_rules("routing")
    rep = routing.rep(rep_id) if rep_id else None
    if rep is not None:
        return rep.manager_id
    team = routing.team(routing.default_team)
    return team.managers[0].id if team and team.managers else None


def _history_reason(lead_id: str, occurrence: str) -> str | None:
    """The routing reason the manager reads (from the change the event came from: "<lead>/v<n>/<i>")."""
    from leadflow.store import leads as repo

    try:
        version = int(occurrence.split("/")[1].lstrip("v"))
    except (IndexError, ValueError):
        return None
    entry = next((h for h in repo.history_of(lead_id) if int(h.seq) == version), None)
    return entry.reason if entry is not None else None


def _lead_dict(lead) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in (
        "lead_id", "first_name", "last_name", "company", "job_title", "email", "phone", "postal_code", "city",
        "country", "interests", "interest_areas", "source", "campaign", "message", "key_account", "score")}
