"""Pre-aggregated funnel counters: which counters one stage change moves.

Controlling never scans leads. Every transition adds to a small, fixed set of
counter items (per period grain, period, stage and dimension) in the same
transaction as the stage change, so a funnel query reads a number of items
that depends on the period range, never on the number of leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from leadflow.domain.lifecycle import Transition

GRAINS = ("day", "week", "month")
# Dimensions a funnel can be grouped by; "all" is the ungrouped total.
DIMENSIONS = ("all", "source", "campaign", "last_campaign", "owner")
NONE_VALUE = "(none)"
MAX_BUCKET = 40


def period_key(grain: str, at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    if grain == "day":
        return local.strftime("%Y-%m-%d")
    if grain == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return local.strftime("%Y-%m")
    raise ValueError(f"unknown period grain {grain!r}")


def time_bucket(seconds: float) -> int:
    """Half-octave buckets of hours in stage: fine enough for a median and p90."""
    hours = max(seconds, 0.0) / 3600.0
    return min(int(2 * math.log2(hours + 1.0)), MAX_BUCKET)


def bucket_upper_hours(bucket: int) -> float:
    return 2 ** ((bucket + 1) / 2) - 1.0


@dataclass(frozen=True)
class CounterUpdate:
    pk: str
    sk: str
    increments: dict[str, int] = field(default_factory=dict)


def counter_key(grain: str, period: str) -> str:
    return f"{grain}#{period}"


def counter_sort_key(stage: str, dimension: str, value: str) -> str:
    return f"{stage}|{dimension}|{value}"


def counter_updates(
    transition: Transition,
    dimensions: dict[str, str | None],
    tz: str,
    entered_from_stage_at: datetime | None = None,
    *,
    captured_at: datetime | None = None,
    first_time_in_stage: bool = True,
    details: dict | None = None,
) -> list[CounterUpdate]:
    """The counters one transition moves: `entered` on the new stage and
    `exit_<TO>` plus the time-in-stage bucket on the stage it leaves."""
    updates: list[CounterUpdate] = []
    values = {"all": "all", **{d: (dimensions.get(d) or NONE_VALUE) for d in DIMENSIONS if d != "all"}}
    for grain in GRAINS:
        pk = counter_key(grain, period_key(grain, transition.at, tz))
        for dimension in DIMENSIONS:
            value = values[dimension]
            updates.append(CounterUpdate(pk, counter_sort_key(transition.to_stage.value, dimension, value),
                                         {"entered": 1}))
            if transition.from_stage is not None:
                inc = {f"exit_{transition.to_stage.value}": 1}
                if entered_from_stage_at is not None:
                    seconds = (transition.at - entered_from_stage_at).total_seconds()
                    inc[f"tis_{time_bucket(seconds)}"] = 1
                updates.append(CounterUpdate(
                    pk, counter_sort_key(transition.from_stage.value, dimension, value), inc))
    return updates
