"""Nothing lost: a lead stored but never qualified (the enqueue failed, or its
message expired) is found through a sparse index and enqueued again."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from leadflow.adapters import clock, queues
from leadflow.store import intake as store
from leadflow.store import leads as repo

log = logging.getLogger(__name__)

# Older than the time a healthy queue needs; fewer tries than would hide a poison lead forever
# (those sit in the DLQ, where the alarm points at them).
GRACE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
PAGE = 500


def requeue_stalled(deadline: float | None = None) -> dict[str, int]:
    """Every lead waiting longer than GRACE, page by page over the index's partitions, until
    `deadline` (time.monotonic()). Leads that used their attempts leave the index's pending
    partitions, so those never crowd out a new stalled lead."""
    cutoff = repo.at_iso(clock.now() - GRACE)
    found = requeued = gave_up = 0
    for page in store.stalled_pages(cutoff, PAGE):
        found += len(page)
        retry: list[str] = []
        for lead_id in page:
            outcome = store.count_attempt(lead_id, MAX_ATTEMPTS)
            if outcome == "retry":
                retry.append(lead_id)
            elif outcome == "gave_up":
                gave_up += 1
        requeued += queues.enqueue_intake_many(retry)
        if deadline is not None and time.monotonic() >= deadline:
            break
    if requeued or gave_up:
        log.warning("intake sweep", extra={"requeued": requeued, "gave_up": gave_up})
    return {"found": found, "requeued": requeued, "gaveUp": gave_up}
