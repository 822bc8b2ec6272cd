"""What a committed change sets in motion, decided together with the change.

A use case never sends anything after its commit: it hands the follow-ups to the store, which
writes them into the outbox in the change's own transaction. The outbox stream then moves the
funnel counters (CountersFunction) and relays events and work (RelayFunction). So a change and its
follow-ups are committed together or not at all, and a crash after the commit loses nothing.
Everything here is ids, codes and numbers: outbox items, stream records and queue messages never
carry personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leadflow.domain.controlling import CounterUpdate

# The consumers that take work from the relay (each has its own SQS queue).
WORK_QUEUES = ("intake", "engagement", "routing")


@dataclass(frozen=True)
class FollowUps:
    counters: tuple[CounterUpdate, ...] = ()
    events: tuple[tuple[str, dict[str, Any]], ...] = ()  # (detail type, detail) on the event bus
    work: tuple[tuple[str, dict[str, Any]], ...] = ()  # (queue, message body) for a consumer

    def __post_init__(self) -> None:
        for queue, _ in self.work:
            if queue not in WORK_QUEUES:
                raise ValueError(f"no consumer queue {queue!r}")

    def __bool__(self) -> bool:
        return bool(self.counters or self.events or self.work)

    def __add__(self, other: FollowUps) -> FollowUps:
        return FollowUps(self.counters + other.counters, self.events + other.events, self.work + other.work)

    def with_counters(self, counters: Iterable[CounterUpdate]) -> FollowUps:
        return FollowUps(self.counters + tuple(counters), self.events, self.work)

    def counters_json(self) -> list[list[Any]] | None:
        return [[c.pk, c.sk, dict(c.increments)] for c in self.counters] or None

    def effects_json(self) -> list[dict[str, Any]] | None:
        effects = [{"event": kind, "detail": detail} for kind, detail in self.events]
        effects += [{"work": queue, "body": body} for queue, body in self.work]
        return effects or None


NONE = FollowUps()


def event(detail_type: str, **detail: Any) -> FollowUps:
    return FollowUps(events=((detail_type, detail),))


def work(queue: str, **body: Any) -> FollowUps:
    return FollowUps(work=((queue, body),))


def counted(counters: Iterable[CounterUpdate]) -> FollowUps:
    return FollowUps(counters=tuple(counters))


def summed(records: Iterable[list[list[Any]]]) -> dict[tuple[str, str], dict[str, int]]:
    """The counter deltas of several outbox records, added up per counter item."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for counters in records:
        for pk, sk, increments in counters:
            into = out.setdefault((pk, sk), {})
            for name, amount in increments.items():
                into[name] = into.get(name, 0) + int(amount)
    return out
