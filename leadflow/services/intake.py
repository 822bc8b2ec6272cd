"""Nothing lost: a lead stored but never qualified (the enqueue failed, or its
message expired) is found through a sparse index and enqueued again."""

from __future__ import annotations

import logging
from datetime import timedelta

from pynamodb.exceptions import UpdateError

from leadflow.adapters import clock, queues
from leadflow.store import leads as repo
from leadflow.store.models import LeadModel

log = logging.getLogger(__name__)

# Older than the time a healthy queue needs; fewer tries than would hide a poison lead forever
# (those sit in the DLQ, where the alarm points at them).
GRACE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
PENDING = "pending"


def requeue_stalled(limit: int = 500) -> dict[str, int]:
    cutoff = repo.at_iso(clock.now() - GRACE)
    found = requeued = gave_up = 0
    for key in LeadModel.by_intake_pending.query(PENDING, LeadModel.created_sort < cutoff, limit=limit):
        found += 1
        lead = repo.find_lead(key.lead_id)
        if lead is None or lead.intake_pending is None:
            continue
        if (lead.intake_attempts or 0) >= MAX_ATTEMPTS:
            gave_up += 1
            continue
        try:
            lead.update(actions=[LeadModel.intake_attempts.add(1)],
                        condition=LeadModel.intake_pending.exists())
        except UpdateError:
            continue  # qualified meanwhile
        queues.enqueue_intake(lead.lead_id)
        requeued += 1
    if requeued or gave_up:
        log.warning("intake sweep", extra={"requeued": requeued, "gave_up": gave_up})
    return {"found": found, "requeued": requeued, "gaveUp": gave_up}
