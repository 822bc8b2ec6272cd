"""Deliver what a committed change set in motion (its outbox effects): domain events on the
bus and work messages to the consumers' queues. Ids only, as the committer wrote them."""

from __future__ import annotations

from typing import Any

from leadflow.adapters import events, queues
from leadflow.settings import get_settings


def queue_url(queue: str) -> str:
    settings = get_settings()
    return {"intake": settings.intake_queue_url, "engagement": settings.engagement_queue_url,
            "routing": settings.routing_queue_url}[queue]


def relay(change: str, effects: list[dict[str, Any]]) -> None:
    """Send every effect of one change. Events carry `eventId` "<change>/<n>": the same on a
    redelivery, so a subscriber recognises a repeat."""
    entries = []
    for n, effect in enumerate(effects):
        if "event" in effect:
            entries.append((effect["event"], {**effect["detail"], "eventId": f"{change}/{n}"}))
        else:
            queues.send(queue_url(effect["work"]), effect["body"])
    if entries:
        events.publish_all(entries)
    from leadflow.services.notifications import notice_queue_url, notices_of

    notices = notices_of(effects, change)  # the mails these events set off (a consumer of the events)
    if notices and queues.send_batch(notice_queue_url(), notices) < len(notices):
        raise RuntimeError("SQS did not take every notice")  # the record comes again; mails go once anyway
