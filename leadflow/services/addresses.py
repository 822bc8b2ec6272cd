"""Find the lead behind an email address without storing the address in another place:
the capture's uniqueness marker is keyed by the address's hash."""

from __future__ import annotations

from leadflow.adapters.keys import hash_key
from leadflow.domain.submission import email_marker
from leadflow.store.leads import get_marker


def lead_for_address(address: str) -> str | None:
    name = email_marker(address, hash_key())
    marker = get_marker(name) if name else None
    return marker.lead_id if marker else None
