"""Erasure is final. An erased lead keeps its id and its anonymous funnel history
(services.privacy), but nothing a person's old mail link, open pixel or site cookie does may
record anything for it again: no journey state, no timeline entry, no engagement message, no
consent change, no history note, no event on the bus.

This module is the one check of that rule. Every write path reachable from the public track
endpoints asks it: the mail links (services.nurture: click, open, DOI, unsubscribe; also
withdrawals and SES feedback), the site events (services.engagement, through the erased
visitor's tombstone) and the score consumer (a message already queued when the lead was erased).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from leadflow.store import leads as repo

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel


class Erased(Exception):
    """The person behind a link was erased: answer something neutral and write nothing."""


def live_lead(lead_id: str) -> LeadModel | None:
    """The lead, unless it was erased (or never existed): then None, and the caller writes nothing."""
    lead = repo.find_lead(lead_id)
    return None if lead is None or lead.erased_at is not None else lead


def is_erased(lead_id: str) -> bool:
    return live_lead(lead_id) is None


def check_not_erased(lead_id: str) -> None:
    if is_erased(lead_id):
        raise Erased(lead_id)


def _visitor_tombstone_name(visitor_id: str) -> str:
    from leadflow.adapters.keys import hash_key

    return f"erased-visitor#{hmac.new(hash_key(), visitor_id.encode(), hashlib.sha256).hexdigest()}"


def bury_visitor(visitor_id: str, lead_id: str) -> None:
    """On erasure: remember that this site visitor was the erased person, as a keyed hash (the
    visitor id itself is gone), so their cookie's later events are dropped, not kept anonymously."""
    repo.put_marker(_visitor_tombstone_name(visitor_id), lead_id)


def buried_visitor_lead(visitor_id: str) -> str | None:
    """The erased lead a visitor id belonged to, if any."""
    marker = repo.get_marker(_visitor_tombstone_name(visitor_id))
    return marker.lead_id if marker is not None else None
