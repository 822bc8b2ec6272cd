"""The fairness report: leads per rep against what their weights promised, for the leads each
rep was available for. Pure: no I/O (the service reads the assignment log)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow.domain import sla
from leadflow.domain.routing_rules import RoutingRules, unavailable


@dataclass(frozen=True)
class Assignment:
    rep_id: str
    at: datetime  # UTC
    pool: tuple[str, ...] = ()  # RoutingDecision.candidates_considered, when stored


@dataclass(frozen=True)
class FairnessRow:
    rep_id: str
    name: str
    weight: float | None  # None: the rep is no longer in the rules
    assigned: int
    share: float  # of all assignments in the period
    expected: float  # leads the weights promised, counting only leads the rep was available for
    expected_share: float
    deviation: float | None  # assigned / expected - 1 (0.05 = 5% more than the weight promised)
    days_available: int  # working days in the period, not out of office
    daily_quota: int | None
    max_open: int | None
    quota_capacity: int | None  # daily_quota x days_available
    quota_used: float | None  # assigned / quota_capacity

    def within(self, tolerance: float) -> bool:
        return self.deviation is None or abs(self.deviation) <= tolerance


def fairness_report(assignments: Iterable[Assignment | tuple], rules: RoutingRules,
                    period: tuple[date, date]) -> list[FairnessRow]:
    """Leads per rep in `period` (local dates, both included) against the weights.

    Pass the rotation's assignments (rule `rotation`): account-owner leads are
    not the rotation's to share. For each lead the expected count of each rep
    is their weight's share of the pool it was picked from: its stored `pool`
    (`RoutingDecision.candidates_considered`: the reps in the territory with
    the skill, present and below capacity), or else every rep who was active
    and not out of office that day. A rep who was away is therefore not
    "owed" the leads of their absence. Without stored pools, reps skipped for
    being full show as below their weight: look at `quota_used` next to
    `deviation`.
    """
    first, last = period
    zone = ZoneInfo(rules.timezone)
    by_id = {r.id: r for r in rules.reps}
    assigned: dict[str, int] = {}
    expected: dict[str, float] = {}
    total = 0
    for item in assignments:
        entry = item if isinstance(item, Assignment) else Assignment(*item)
        day = entry.at.astimezone(zone).date()
        if not first <= day <= last:
            continue
        total += 1
        assigned[entry.rep_id] = assigned.get(entry.rep_id, 0) + 1
        pool = [by_id[r] for r in entry.pool if r in by_id] if entry.pool else [
            r for r in by_id.values() if unavailable(r, day) is None]
        pool_weight = sum(r.weight for r in pool)
        for rep in pool:
            expected[rep.id] = expected.get(rep.id, 0.0) + rep.weight / pool_weight

    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    rows = []
    for rep_id in [*by_id, *sorted(set(assigned) - set(by_id))]:
        rep = by_id.get(rep_id)
        count = assigned.get(rep_id, 0)
        exp = expected.get(rep_id, 0.0)
        available = 0
        if rep is not None:
            policy = rules.sla_for(rep.team)
            available = sum(1 for d in days
                            if unavailable(rep, d) is None and sla.is_working_day(d, rep.office, policy))
        capacity = rep.daily_quota * available if rep else None
        rows.append(FairnessRow(
            rep_id=rep_id, name=rep.name if rep else rep_id, weight=rep.weight if rep else None, assigned=count,
            share=round(count / total, 4) if total else 0.0, expected=round(exp, 3),
            expected_share=round(exp / total, 4) if total else 0.0,
            deviation=round(count / exp - 1, 4) if exp else None, days_available=available,
            daily_quota=rep.daily_quota if rep else None, max_open=rep.max_open if rep else None,
            quota_capacity=capacity, quota_used=round(count / capacity, 4) if capacity else None))
    return rows
