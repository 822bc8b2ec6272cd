"""Engagement from our own web sites (`POST /events`) and from mail links, onto the
engagement queue; anonymous visitor events wait for that visitor's form (seed 002:
behaviour followed through cookie and email, here only with the visitor's consent)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from leadflow.adapters import clock
from leadflow.domain import followups
from leadflow.domain.enrichment import interest_areas, with_areas
from leadflow.domain.errors import Forbidden
from leadflow.domain.tracking import EngagementEventIn
from leadflow.services import erasure
from leadflow.services.rulesets import active_rules
from leadflow.store import leads as repo
from leadflow.store import nurture as store

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

TRACKING = "tracking"


def enqueue(lead_id: str, kind: str, at: datetime, details: dict[str, Any], event_id: str | None = None) -> None:
    """The event id is made once, here at the edge: a redelivered message is recognised downstream.
    The event (page, click target, properties) waits in DynamoDB with the message that announces it
    (one transaction, relayed from the outbox); the message carries ids only."""
    event_id = event_id or uuid.uuid4().hex
    repo.save_pending("event", lead_id, event_id, {"type": kind, "at": at.isoformat(), "details": details},
                      clock.now(), followups.work("engagement", leadId=lead_id, eventId=event_id))


def visited_interest_fields(lead: LeadModel, details: dict[str, Any]) -> dict[str, Any]:
    """A page the lead opened (site visit, download, mail link) whose path matches an area's
    `url_patterns` (config/interests.yaml) adds that area; nothing is ever taken away."""
    url = details.get("url")
    if not isinstance(url, str) or not url:
        return {}
    areas = with_areas(lead.interest_areas, interest_areas((), active_rules("interests"), urls=[url]))
    return {"interest_areas": areas} if len(areas) > len(lead.interest_areas or []) else {}


def _visitor_lead(visitor_id: str) -> str | None:
    """The lead a visitor joined with their form, or the erased lead they were."""
    marker = repo.get_marker(f"visitor#{visitor_id}")
    return marker.lead_id if marker is not None else erasure.buried_visitor_lead(visitor_id)


def record_site_event(event: EngagementEventIn) -> str:
    """Returns "lead" when it went to a known lead's timeline, "visitor" when it waits, "none"
    when the visitor was a person since erased (nothing is recorded)."""
    sites = active_rules("sites")
    site = sites.site(event.site_key)
    if site is None:
        raise Forbidden("unknown siteKey: it is not the key of a site in the sites rule set", field="siteKey")
    details = {"url": event.url, "site": site.name, **({"properties": event.properties} if event.properties else {})}
    lead_id = _visitor_lead(event.visitor_id)
    if lead_id and erasure.is_erased(lead_id):
        return "none"
    if lead_id:
        enqueue(lead_id, event.type.value, event.occurred_at, details)
        return "lead"
    expires = int((clock.now() + timedelta(days=sites.visitor_event_days)).timestamp())
    store.put_visitor_event(event.visitor_id, f"{event.occurred_at.isoformat()}#{uuid.uuid4().hex}",
                            {"type": event.type.value, "at": event.occurred_at.isoformat(), "details": details},
                            expires)
    return "visitor"


def attach_visitor(lead: LeadModel) -> int:
    """On qualification: the visitor's earlier events join the lead, if they consented to tracking.
    Without consent the anonymous events are deleted. Returns the number attached."""
    if not lead.visitor_id:
        return 0
    items = store.visitor_events(lead.visitor_id)
    consented = bool(lead.consent and TRACKING in (lead.consent.purposes or []))
    if consented:
        repo.put_marker(f"visitor#{lead.visitor_id}", lead.lead_id)
        for item in items:
            data = item.data or {}
            enqueue(lead.lead_id, data["type"], datetime.fromisoformat(data["at"]), data.get("details") or {},
                    event_id=item.sk.rsplit("#", 1)[-1])
    store.delete_visitor_events(items)
    return len(items) if consented else 0
