"""Notification mails for the people who work the leads: which committed events tell whom, the
business key that makes each mail go out at most once, and what the mail says.

A notice message names ids only: reason, user, lead (or task) and the occurrence (the event id of
the committed change, or the deadline a sweep found due). The consumer reads the rest."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

# reason -> (who gets it, what the user sees in their settings)
REASONS: dict[str, tuple[str, str]] = {
    "lead_assigned": ("rep", "A lead was assigned to me"),
    "sla_warning": ("rep", "A lead of mine is close to its acceptance deadline"),
    "task_due": ("any", "A task of mine is due (its reminder time)"),
    "sla_missed": ("manager", "A lead of my team missed its acceptance deadline"),
    "no_eligible_rep": ("manager", "Nobody was eligible for a lead: it waits in my queue"),
    "key_account": ("manager", "A key account wrote in"),
}
AUDIENCES = {"sales_rep": ("rep", "any"), "sales_manager": ("manager", "any"), "marketing": ("any",),
             "admin": ("rep", "manager", "any"), "finance": ()}
NO_ELIGIBLE_ALERTS = ("no_eligible_rep", "key_account_owner_away")


def reasons_for(role: str) -> list[str]:
    """The notifications a role can get (and switch off)."""
    audience = AUDIENCES.get(role, ())
    return [reason for reason, (who, _) in REASONS.items() if who in audience]


def notice(reason: str, occurrence: str, *, lead_id: str | None = None, user_id: str | None = None,
           task_id: str | None = None) -> dict[str, Any]:
    body = {"notify": reason, "occurrence": occurrence, "leadId": lead_id, "userId": user_id, "taskId": task_id}
    return {k: v for k, v in body.items() if v is not None}


def from_event(detail_type: str, detail: dict[str, Any], event_id: str) -> list[dict[str, Any]]:
    """The notices a committed domain event sets off (ids only); the occurrence is the event id,
    the same on every redelivery of the event."""
    lead_id = detail.get("leadId")
    if detail_type == "LeadAssigned" and detail.get("queue") == "rep" and detail.get("repId"):
        return [notice("lead_assigned", event_id, lead_id=lead_id, user_id=detail["repId"])]
    if detail_type == "RoutingAlert" and detail.get("alert") in NO_ELIGIBLE_ALERTS and detail.get("managerId"):
        return [notice("no_eligible_rep", event_id, lead_id=lead_id, user_id=detail["managerId"])]
    if detail_type == "SlaEscalation" and detail.get("managerId"):
        return [notice("sla_missed", event_id, lead_id=lead_id, user_id=detail["managerId"])]
    if detail_type == "LeadQualified" and detail.get("keyAccount"):
        return [notice("key_account", event_id, lead_id=lead_id)]  # the manager: found at delivery
    return []


def notice_key(user_id: str, reason: str, subject_id: str, occurrence: str) -> str:
    """The business key of one mail: at most one per (user, reason, lead or task, occurrence)."""
    import hashlib

    return "notice#" + hashlib.sha256(json.dumps([user_id, reason, subject_id, occurrence]).encode()).hexdigest()


# ------------------------------------------------------------------ what the mail says
LEAD_QUERY = ("query Lead($id: ID!) { lead(id: $id) { id stage firstName lastName company email phone ownerId "
              "score { total grade action reasons { factor points } } timeline { type at author details } } }")


def lead_link(lead_id: str, *, base_url: str, template: str = "") -> str:
    """Where a click opens the lead: the frontend's page (`template` with {id}) or, without one,
    GraphiQL with the lead's query filled in (dev; the token is kept in GraphiQL's headers)."""
    if template:
        return template.replace("{id}", quote(lead_id, safe=""))
    return (f"{base_url}/graphql?q={quote(LEAD_QUERY, safe='')}"
            f"&variables={quote(json.dumps({'id': lead_id}), safe='')}")


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


def _name(lead: dict[str, Any]) -> str:
    person = " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p)
    company = lead.get("company")
    if person and company:
        return f"{person} ({company})"
    return person or company or f"lead {lead['lead_id']}"


def _summary(lead: dict[str, Any]) -> list[tuple[str, str]]:
    place = " ".join(p for p in (lead.get("postal_code"), lead.get("city")) if p)
    rows = [("Name", " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p)),
            ("Company", lead.get("company") or ""), ("Job title", lead.get("job_title") or ""),
            ("Email", lead.get("email") or ""), ("Phone", lead.get("phone") or ""),
            ("Where", ", ".join(p for p in (place, lead.get("country")) if p)),
            ("Interests", ", ".join(lead.get("interest_areas") or lead.get("interests") or [])),
            ("Source", " / ".join(p for p in (lead.get("source"), lead.get("campaign")) if p)),
            ("Message", (lead.get("message") or "")[:300]),
            ("Key account", "yes" if lead.get("key_account") else "")]
    return [(k, v) for k, v in rows if v]


def _score(lead: dict[str, Any]) -> list[str]:
    score = lead.get("score") or {}
    if not score:
        return []
    lines = [f"Score {score.get('total')} ({score.get('grade')}): {score.get('action')} via {score.get('channel')}"]
    lines += [f"  {r.get('points'):+g}  {r.get('factor')}" for r in score.get("reasons", [])]
    return lines


def render(reason: str, lead: dict[str, Any], link: str, *, when: datetime | None = None,
           task: dict[str, Any] | None = None, note: str | None = None) -> Mail:
    """The mail for one notice. `lead`: the lead's fields (LeadModel attribute names); `when`:
    the deadline or due time it is about; `task`: the task it reminds of."""
    name = _name(lead)
    at = f"{when:%a %d %b %Y %H:%M} UTC" if when else ""
    headline = {
        "lead_assigned": (f"New lead for you: {name}", f"{name} is now your lead." +
                          (f" Accept it by {at}." if at else "")),
        "sla_warning": (f"Accept by {at}: {name}", f"{name} waits for your acceptance; the deadline is {at}. "
                                                   "After it the lead goes to another rep."),
        "task_due": (f"Task due: {(task or {}).get('title', '')}",
                     f"Your task \"{(task or {}).get('title', '')}\" on {name} is due {at}."),
        "sla_missed": (f"SLA missed: {name}", f"{name} was not accepted in time. {note or ''}".strip()),
        "no_eligible_rep": (f"Nobody eligible: {name} waits in your queue",
                            f"No rep was eligible for {name}; it waits in your queue. {note or ''}".strip()),
        "key_account": (f"Key account wrote in: {name}", f"{name}, a key account, sent a form."),
    }[reason]
    subject, lead_line = headline
    rows = _summary(lead)
    score = _score(lead)
    text = "\n".join([lead_line, "", *(f"{k}: {v}" for k, v in rows), *(["", *score] if score else []),
                      "", f"Open the lead: {link}", "",
                      "You get this mail because it is on in your notification settings "
                      "(setNotification turns it off)."])
    html_rows = "".join(f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    html_score = ("<pre>" + html.escape("\n".join(score)) + "</pre>") if score else ""
    body = (f"<p>{html.escape(lead_line)}</p><table>{html_rows}</table>{html_score}"
            f"<p><a href=\"{html.escape(link)}\">Open the lead</a></p>"
            "<p style=\"color:#666;font-size:small\">You get this mail because it is on in your notification "
            "settings (setNotification turns it off).</p>")
    return Mail(subject=subject, text=text, html=body)
