"""GDPR for one person: export everything we hold, and erase every trace of personal data
while the anonymous funnel counters stay right (they never held personal data)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from leadflow.adapters import clock
from leadflow.adapters.keys import hash_key
from leadflow.domain import followups
from leadflow.domain.controlling import COUNTED_DETAILS, reason_code
from leadflow.domain.lifecycle import SIDE_EXITS, Stage
from leadflow.domain.submission import email_marker
from leadflow.services import erasure, lifecycle
from leadflow.services.qualify import contact_keys
from leadflow.store import activities as activity_store
from leadflow.store import directory, lead_lists, nurture
from leadflow.store import leads as repo

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

# Every attribute of a lead item that says something about the person.
PERSONAL_FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "job_title", "street", "postal_code", "city",
    "message", "interests", "interest_areas", "visitor_id", "quality_reasons", "enrichment", "attributes",
    "qualification", "consent", "language", "age_group", "preferred_channel", "score", "prediction",
    "engagement_state", "close_reason",
)


def export_person(lead_id: str) -> dict[str, Any]:
    """Everything stored about the lead's person (GDPR Art. 15), as plain JSON."""
    lead = repo.get_lead(lead_id)
    state, _ = nurture.journey_state(lead_id)
    task_ids = [r["task_id"] for r in (state or {}).get("runs", []) if r.get("task_id")]
    task_ids += activity_store.task_ids_of_lead(lead_id)  # tasks people set themselves
    return {
        "lead": _plain(lead.attribute_values),
        "history": [_plain(h.attribute_values) for h in repo.history_of(lead_id)],
        "consents": nurture.ledger(lead_id)[0],
        "journey": state,
        "timeline": [_plain(e.attribute_values) for e in repo.timeline_of(lead_id, limit=1000)],
        "tasks": [nurture.get_task(t).data for t in task_ids],
        "exportedAt": clock.now().isoformat(),
    }


def erase_person(lead_id: str, *, actor: str) -> dict[str, int]:
    """Remove personal data from every place it lives (GDPR Art. 17). The lead keeps its id,
    stage and history skeleton (what the funnel counted), so controlling stays right."""
    lead = repo.get_lead(lead_id)
    removed = {"matchKeys": 0, "markers": 0, "timeline": 0, "tasks": 0, "history": 0}
    keys = contact_keys(lead).all()
    directory.remove_refs(keys, f"lead#{lead_id}")
    removed["matchKeys"] = len(keys)
    removed["markers"] = _delete_markers(lead)
    removed["tasks"] = _delete_nurture(lead_id)
    removed["timeline"] = _delete_timeline(lead_id)
    removed["history"] = _anonymise_history(lead_id)
    fields = {name: None for name in PERSONAL_FIELDS}
    fields.update(erased_at=clock.now(), review_queue=None, review_sort=None, sla_bucket=None, sla_due=None)
    lifecycle.record(repo.get_lead(lead_id), kind="erasure", actor=actor, reason="personal data erased",
                     set_fields=fields, follow_ups=followups.event("LeadErased", leadId=lead_id))
    return removed


def _delete_markers(lead: LeadModel) -> int:
    names = [name for name in (email_marker(lead.email, hash_key()),) if name]  # None without an address
    if lead.visitor_id:
        names.append(f"visitor#{lead.visitor_id}")
    count = sum(repo.release_marker(name, lead.lead_id) for name in names)
    if lead.visitor_id:  # their cookie's later events are dropped (services.erasure), not kept anonymously
        erasure.bury_visitor(lead.visitor_id, lead.lead_id)
    return count


def _delete_nurture(lead_id: str) -> int:
    state, _ = nurture.journey_state(lead_id)
    task_ids = [r["task_id"] for r in (state or {}).get("runs", []) if r.get("task_id")]
    nurture.delete_lead_items(lead_id, task_ids)
    sales_tasks = activity_store.task_ids_of_lead(lead_id)  # tasks people set themselves (title, note)
    activity_store.delete_task_refs(lead_id, sales_tasks)
    return len(task_ids) + len(sales_tasks)


def _delete_timeline(lead_id: str) -> int:
    return repo.delete_timeline(lead_id)


def _anonymise_history(lead_id: str) -> int:
    """Reasons are free text (a rep may have typed a name): a side exit keeps only the code it was
    counted under, other entries no reason. A stage entry's details keep exactly the anonymous
    facts the counters read (dimensions, SLA outcome, amount, reason code: COUNTED_DETAILS), so
    `leadflow metrics reconcile` recounts the same numbers; nothing else survives."""
    changed = 0
    for item in repo.history_of(lead_id):
        details = None
        reason = None
        if item.kind == "stage":
            details = {k: v for k, v in (item.details or {}).items() if k in COUNTED_DETAILS} or None
            if item.to_stage and Stage(item.to_stage) in SIDE_EXITS:
                reason = reason_code((details or {}).get("reason_code") or item.reason)
        if reason != item.reason or details != item.details:
            repo.rewrite_history_entry(item, reason=reason, details=details)
            changed += 1
    return changed


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "attribute_values"):
            value = _plain(value.attribute_values)
        out[key] = value
    return out




def apply_retention(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Erase leads that stayed too long in a stage without converting (config/privacy.yaml).
    Found through the by_stage index (stage_sort starts with the time the stage was entered); an
    index is read eventually consistent, so each lead is read again, consistently, and erased only
    if it is still in that stage since before the cutoff (a lead re-opened a moment ago stays)."""
    from leadflow.services.rulesets import active_rules

    now = now or clock.now()
    erased: dict[str, int] = {}
    for stage, cutoff in active_rules("privacy").cutoffs(now).items():
        count = 0
        for found in lead_lists.retention_candidates(stage.value, repo.at_iso(cutoff), limit):
            lead = repo.find_lead(found.lead_id)
            if lead is None or lead.erased_at or lead.stage != stage.value or lead.stage_entered_at >= cutoff:
                continue
            erase_person(lead.lead_id, actor="system:retention")
            count += 1
        erased[stage.value] = count
    return erased
