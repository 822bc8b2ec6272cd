"""The rotation state of one team and what it says about its reps' capacity. Pure: no I/O.

Each team has one state item (the only item MQLs share, and only with MQLs of the same team),
written with every assignment to one of its reps in the assignment's own conditional
transaction:

    {"current": {rep_id: credit},          # the weighted rotation (see `pick`)
     "assigned": {rep_id: count},          # every lead ever assigned to the rep
     "day": "2026-07-07", "today": {rep_id: count}}   # assignments on that local day

So a rep's assignments are exact the moment they commit: concurrent routers of a team serialise
on the item's version, and a burst cannot over-assign. What leaves a rep's pipeline (won, lost,
rejected, reassigned away) is added up from the outbox stream in the MetricsTable (`load#open`
items, attribute `left`): seconds behind, which only makes routing see a rep as fuller than they
are for those seconds. open leads = assigned - left (+ `open`, the count the earlier version kept
up to the upgrade). docs/routing.md, "Capacity".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from leadflow.domain.routing_rules import Rep, RoutingRules

# Rotation credits are stored rounded, so a state read back from DynamoDB
# (as Decimal) gives exactly the same next pick.
_PRECISION = 9


@dataclass(frozen=True)
class RepLoad:
    rep_id: str
    open_leads: int = 0  # assigned and not yet closed
    assigned_today: int = 0  # new assignments on the local date `today`


def full(rep: Rep, load: RepLoad) -> str | None:
    if load.open_leads >= rep.max_open:
        return f"full: {load.open_leads}/{rep.max_open} open leads"
    if load.assigned_today >= rep.daily_quota:
        return f"daily quota reached: {load.assigned_today}/{rep.daily_quota} today"
    return None


def rep_loads(rules: RoutingRules, states: Mapping[str, Mapping[str, Any] | None],
              pipeline: Mapping[str, Mapping[str, int]], today: date) -> dict[str, RepLoad]:
    """Every rep's load from the teams' states (by team id) and the pipeline counters
    (`load#open` items by rep: `left`, and `open` as kept before the upgrade). A rep's counts are
    summed over every team's state, so a rep who moved team keeps what they were assigned."""
    assigned: dict[str, int] = {}
    assigned_today: dict[str, int] = {}
    for state in states.values():
        for rep_id, count in ((state or {}).get("assigned") or {}).items():
            assigned[rep_id] = assigned.get(rep_id, 0) + int(count)
        if (state or {}).get("day") == today.isoformat():
            for rep_id, count in (state.get("today") or {}).items():
                assigned_today[rep_id] = assigned_today.get(rep_id, 0) + int(count)
    loads = {}
    for rep in rules.reps:
        counted = pipeline.get(rep.id) or {}
        open_leads = int(counted.get("open", 0)) + assigned.get(rep.id, 0) - int(counted.get("left", 0))
        loads[rep.id] = RepLoad(rep.id, max(open_leads, 0), assigned_today.get(rep.id, 0))
    return loads


def count_assignment(state: Mapping[str, Any] | None, rep_id: str, today: date) -> dict[str, Any]:
    """The state with one more lead for `rep_id` (in total and on `today`)."""
    out = dict(state or {})
    day = today.isoformat()
    assigned = dict(out.get("assigned") or {})
    assigned[rep_id] = int(assigned.get(rep_id, 0)) + 1
    on_day = dict(out.get("today") or {}) if out.get("day") == day else {}
    on_day[rep_id] = int(on_day.get(rep_id, 0)) + 1
    return {**out, "assigned": assigned, "day": day, "today": on_day}


def sync_rotation_state(state: Mapping[str, Any] | None, rules: RoutingRules,
                        team_id: str | None = None) -> dict[str, Any]:
    """Bring a stored rotation state in line with the current reps (of `team_id`, else of every
    team), without a reset; the assignment counts are kept as they are.

    Reps no longer in the rules are dropped and the others shifted by the same
    amount so the credits average zero again (a uniform shift changes no
    order). New reps start at zero, the average: they neither wait for the
    others to "catch up" nor get a burst of leads. Everyone else keeps their
    place in the cycle.
    """
    stored = {str(k): float(v) for k, v in ((state or {}).get("current") or {}).items()}
    known = [r.id for r in rules.reps if team_id is None or r.team == team_id]
    kept = {k: v for k, v in stored.items() if k in known}
    if len(kept) != len(stored) and kept:
        mean = sum(kept.values()) / len(kept)
        kept = {k: v - mean for k, v in kept.items()}
    current = {rep_id: round(kept.get(rep_id, 0.0), _PRECISION) for rep_id in known}
    return {**dict(state or {}), "current": current}


def pick(state: Mapping[str, Any], pool: Sequence[tuple[str, float]]) -> tuple[str, dict[str, Any]]:
    """Smooth weighted round robin, in units of leads.

    For each lead, every rep in the pool earns their fair part of it (weight /
    total weight of the pool); the rep with the most credit gets the lead and
    pays one lead. With a fixed pool this is exactly nginx's smooth weighted
    round robin (its numbers divided by the total weight): over any run of
    picks each rep's count is within one lead of their weighted share, and
    picks interleave (C A B C, not A B C C). When the pool changes from lead
    to lead (territories, absences, full reps), a credit is still "leads owed
    minus leads received" for the leads the rep was eligible for - the very
    number the fairness report shows - so the rotation keeps it near zero.
    Reps outside the pool neither earn nor pay. Ties go to the smaller rep id.
    """
    if not pool:
        raise ValueError("the rotation needs at least one rep")
    current = {k: float(v) for k, v in (state.get("current") or {}).items()}
    total = sum(weight for _, weight in pool)
    for rep_id, weight in pool:
        current[rep_id] = round(current.get(rep_id, 0.0) + weight / total, _PRECISION)
    chosen = min((rep_id for rep_id, _ in pool), key=lambda rep_id: (-current[rep_id], rep_id))
    current[chosen] = round(current[chosen] - 1.0, _PRECISION)
    return chosen, {**dict(state), "current": current}


def draw_team(lead_id: str, team_weights: Mapping[str, float]) -> str:
    """The team of a lead whose pool holds reps of several teams: drawn by a hash of the lead id,
    each team with its share of the pool's weight. Deterministic (a retry draws the same team)
    and needs no state, so no item is shared between teams; over many leads each team gets its
    share (statistically; within the team the rotation is exact)."""
    teams = sorted(team_weights)
    total = sum(team_weights.values())
    point = int(hashlib.sha256(lead_id.encode()).hexdigest()[:15], 16) / 16 ** 15 * total
    for team_id in teams:
        point -= team_weights[team_id]
        if point < 0:
            return team_id
    return teams[-1]
