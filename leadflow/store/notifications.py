"""Notification settings per user, the markers that send each notification mail at most once,
and what the notification sweep reads: leads close to their acceptance deadline (the sparse
by_sla_due index) and tasks whose reminder is due (store.activities)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from pynamodb.exceptions import DoesNotExist, PutError

from leadflow.store.models import LeadModel, MarkerModel, NurtureModel, all_shards
from leadflow.store.routing import SLA_SHARDS

NOTICE_TTL_S = 90 * 24 * 3600  # long after any redelivery of the event or sweep that set it off


def disabled_reasons(user_id: str) -> set[str]:
    try:
        item = NurtureModel.get(f"user#{user_id}", "notifications", consistent_read=True)
    except DoesNotExist:
        return set()
    return set((item.data or {}).get("off", []))


def save_disabled_reasons(user_id: str, off: set[str]) -> None:
    NurtureModel(f"user#{user_id}", "notifications", data={"off": sorted(off)}).save()


def claim(key: str, subject_id: str, now: datetime) -> bool:
    """Mark the notice as being sent: False if it was (or is being) sent already."""
    try:
        MarkerModel(key, lead_id=subject_id, expires_at=int(now.timestamp()) + NOTICE_TTL_S).save(
            condition=MarkerModel.marker.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def release(key: str) -> None:
    """SES refused the mail (nothing went out): the notice may be sent on the next try."""
    MarkerModel(key, lead_id="").delete()


def sla_closing_pages(after: datetime, until: datetime, page_size: int) -> Iterator[list[tuple[str, str]]]:
    """(lead id, deadline) of leads awaiting acceptance whose deadline lies in (after, until],
    page by page over every shard of the sparse by_sla_due index (keys only)."""
    low, high = after.isoformat(timespec="seconds"), until.isoformat(timespec="seconds")
    for bucket in all_shards("sla", SLA_SHARDS):
        reader = iter(LeadModel.by_sla_due.query(bucket, LeadModel.sla_due.between(low, high), page_size=page_size))
        while page := [(k.lead_id, k.sla_due) for k in islice(reader, page_size)]:
            yield page
