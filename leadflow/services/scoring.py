"""Score a lead: on qualification, on every engagement event. Crossing the MQL
threshold, a contact-me or a quote request hands the lead to sales exactly once."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from leadflow.adapters import clock
from leadflow.domain import followups
from leadflow.domain.errors import ConcurrentUpdate, IllegalTransition
from leadflow.domain.lifecycle import Quality, Stage
from leadflow.domain.scoring import LeadProfile, ScoringRules, add_event, is_quote_request, mql_reason, score
from leadflow.services import lifecycle
from leadflow.services.rescore import RESCORE
from leadflow.services.rulesets import active_rules
from leadflow.store import leads as repo
from leadflow.store.models import LeadModel, TimelineModel

log = logging.getLogger(__name__)

# Stages from which a lead can become marketing qualified.
CAN_BECOME_MQL = {Stage.LEAD.value, Stage.RECYCLED.value}


def profile_of(lead: LeadModel) -> LeadProfile:
    enrichment = lead.enrichment or {}
    return LeadProfile(
        seniority=enrichment.get("seniority"), email_domain_type=enrichment.get("email_domain_type"),
        country=lead.country, phone=lead.phone, company=lead.company, job_title=lead.job_title,
        street=lead.street, postal_code=lead.postal_code, city=lead.city,
        existing_customer=bool(lead.existing_customer), key_account=bool(lead.key_account),
        creditworthiness=lead.creditworthiness, message=lead.message, form_id=lead.form_id, source=lead.source,
    )


def score_fields(lead: LeadModel, state: dict, now: datetime, rules: ScoringRules) -> dict[str, Any]:
    from leadflow.services.predictive import prediction_fields  # no numpy until a model is active

    result = score(profile_of(lead), state, now, rules)
    return {"engagement_state": state or None, "score": result.to_dict(), "score_total": result.total,
            "grade": result.grade, "scored_at": now, **prediction_fields(lead, state)}


def handle_event(message: dict[str, Any]) -> str:
    """One engagement message: {leadId, eventId} (the event waits in DynamoDB, see
    services.engagement.enqueue) or {leadId, type: "rescore"}. Returns what happened (for logs)."""
    from leadflow.services.erasure import live_lead

    if "eventId" in message and "type" not in message:
        pending = repo.pending("event", message["leadId"], message["eventId"])
        if pending is None:
            return "taken"  # an earlier delivery scored it and dropped it
        outcome = handle_event({**pending, "leadId": message["leadId"], "eventId": message["eventId"]})
        repo.drop_pending("event", message["leadId"], message["eventId"])
        return outcome
    lead = live_lead(message["leadId"])
    if lead is None:  # erased (a message queued before the erasure): nothing is recorded
        return "gone"
    rules: ScoringRules = active_rules("scoring")
    now = clock.now()
    event_type = message["type"]
    event = None
    state = dict(lead.engagement_state or {})
    if event_type != RESCORE:
        at = datetime.fromisoformat(message["at"]) if message.get("at") else now
        event = TimelineModel(lead.lead_id, f"{repo.at_iso(at)}#{message['eventId']}", event_type=event_type,
                              at=at, details=message.get("details") or None)
        state = add_event(state, event_type, at, rules)
    outcome = "scored"
    fields = score_fields(lead, state, now, rules)
    if event is not None:
        from leadflow.services.engagement import visited_interest_fields

        fields.update(visited_interest_fields(lead, message.get("details") or {}))
    try:
        repo.apply_engagement(lead, set_fields=fields, event=event)
        lead = repo.as_written(lead, fields)
    except repo.AlreadyRecorded:
        outcome = "duplicate"  # still check the hand-over: the first delivery may have failed after it
        lead = repo.get_lead(lead.lead_id)
    except ConcurrentUpdate:
        raise  # the message returns to the queue and is retried on the new version
    if event is not None and event_type in ("email_open", "email_click") and (message.get("details") or {}).get("step"):
        from leadflow.services.nurture import mark_mail_engagement

        mark_mail_engagement(lead.lead_id, message["details"]["step"], event_type, event.at)
    handed_over = hand_over_if_qualified(lead, rules, contact_request=event_type == "contact_request")
    return "mql" if handed_over else outcome


def hand_over_if_qualified(lead: LeadModel, rules: ScoringRules, *, contact_request: bool) -> bool:
    """LEAD/RECYCLED -> MQL once, if the score or an explicit request says so (seed 002)."""
    if lead.stage not in CAN_BECOME_MQL or lead.quality != Quality.PLAUSIBLE.value:
        return False
    result_total = float(lead.score_total or 0)
    reason = mql_reason(result_total, rules, contact_request=contact_request,
                        quote_request=is_quote_request(profile_of(lead), rules))
    if reason is None:
        return False
    follow_ups = (followups.event("LeadQualified.MQL", leadId=lead.lead_id, score=result_total, grade=lead.grade,
                        reason=reason)
                  + followups.work("routing", leadId=lead.lead_id, version=int(lead.version) + 1))
    try:
        lifecycle.transition(lead, Stage.MQL, actor=f"rule:scoring v{rules.version}", reason=reason,
                             details={"score": result_total, "grade": lead.grade}, follow_ups=follow_ups)
    except IllegalTransition:
        return False
    return True
