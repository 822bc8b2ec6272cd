"""Find the lead behind an email address without storing the address in another place:
the capture's uniqueness marker is keyed by the address's hash."""

from __future__ import annotations

import hashlib

from leadflow.domain.submission import normalize_email
from leadflow.store.leads import get_marker


def lead_for_address(address: str) -> str | None:
    email = normalize_email(address)
    if not email:
        return None
    marker = get_marker(f"email#{hashlib.sha256(email.encode()).hexdigest()}")
    return marker.lead_id if marker else None
