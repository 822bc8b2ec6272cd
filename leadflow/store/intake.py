"""The intake index: leads stored but not yet qualified (sparse `by_intake_pending`, sharded).

A lead waits under `pending#<shard>` from capture until qualification removes the attribute.
The intake sweep re-enqueues the ones that waited too long; one that was re-enqueued
MAX_ATTEMPTS times moves to the `gave_up` partition (its messages sit in the DLQ, where the
alarm points), so the sweep never reads it again and a new stalled lead is never starved."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from pynamodb.exceptions import UpdateError

from leadflow.store.models import LeadModel, all_shards, shard

SHARDS = 8
LEGACY = "pending"  # the one partition every lead used before the index was sharded
GAVE_UP = "gave_up"


def pending_key(lead_id: str) -> str:
    """The `intake_pending` value of a lead waiting for qualification."""
    return shard(LEGACY, lead_id, SHARDS)


def stalled_pages(created_before: str, page_size: int) -> Iterator[list[str]]:
    """Ids of leads waiting since before `created_before` (ISO), oldest first within a partition,
    read lazily page by page from every partition in turn."""
    readers = [iter(LeadModel.by_intake_pending.query(partition, LeadModel.created_sort < created_before,
                                                      page_size=page_size))
               for partition in [*all_shards(LEGACY, SHARDS), LEGACY]]
    while readers:
        for reader in list(readers):
            page = [key.lead_id for key in islice(reader, page_size)]
            if len(page) < page_size:
                readers.remove(reader)
            if page:
                yield page


def count_attempt(lead_id: str, max_attempts: int) -> str:
    """One more enqueue for a stalled lead: "retry" (counted), "gave_up" (it had max_attempts:
    moved out of the sweep's partitions) or "done" (qualified meanwhile, or gone)."""
    lead = LeadModel(lead_id)
    waiting = LeadModel.intake_pending.exists() & (LeadModel.intake_pending != GAVE_UP)
    try:
        lead.update(actions=[LeadModel.intake_attempts.add(1)],
                    condition=waiting & (LeadModel.intake_attempts.does_not_exist()
                                         | (LeadModel.intake_attempts < max_attempts)))
        return "retry"
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    try:
        lead.update(actions=[LeadModel.intake_pending.set(GAVE_UP)], condition=waiting)
        return "gave_up"
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return "done"
