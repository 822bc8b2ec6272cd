"""Qualify a captured lead (SQS intake consumer).

Foundation: acknowledges the lead so the pipeline runs end to end. The
plausibility verdict, dedup and enrichment plug in here (issue 3).
"""

from __future__ import annotations

from leadflow.domain.errors import NotFound
from leadflow.store import leads as repo


def qualify_lead(lead_id: str) -> str:
    """Returns the lead's quality after qualification. Safe to run twice."""
    lead = repo.find_lead(lead_id)
    if lead is None:
        raise NotFound(f"no lead with id {lead_id}", field="leadId")
    return lead.quality
