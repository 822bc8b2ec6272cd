"""Routing of MQLs to sales reps: rules as versioned data, a fair weighted rotation,
manager queues, SLA reassignment and the fairness report. Pure: no I/O.

The order of the rules (docs/routing.md explains why):

1. A lead already assigned stays with its rep (a duplicate or concurrent delivery).
2. An existing account goes to its owner. A key account whose owner is away
   goes to the owner's manager's queue, never into the rotation (seed 001:
   key accounts are not worked without their sales owner). Any other account
   whose owner is away is routed by the rules below, and the reason says so.
3. Territory: reps whose postal-code range contains the lead's postal code,
   else reps who cover the lead's whole country, else reps without territory.
   A more specific tier wins; when nobody there is available the lead
   overflows to the next tier, and the reason says so.
4. Skill: among those, reps with a skill in the lead's interest areas; if
   nobody has one, the territory alone decides, and the reason says so.
5. A smooth weighted round robin among the remaining available reps with
   free capacity (see `pick`).
6. Nobody eligible: the team manager's queue, with an alert.

Each team has its own rotation state (`leadflow.domain.routing_rotation`: the credits and
the reps' assignment counts), which the caller stores between calls in one item per team with
a version, written with the lead's assignment in one conditional transaction: concurrent
routers of a team serialise, routers of two teams never touch the same item, and a retried
delivery finds the lead already assigned. A pool with reps of several teams is narrowed to one
team first (`draw_team`). The config schema and matching are in `routing_rules`, the fairness
report in `routing_fairness`; their names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from leadflow.domain import sla
from leadflow.domain.routing_fairness import Assignment, FairnessRow, fairness_report
from leadflow.domain.routing_rotation import (
    _PRECISION,
    RepLoad,
    count_assignment,
    draw_team,
    full,
    pick,
    rep_loads,
    sync_rotation_state,
)
from leadflow.domain.routing_rules import (
    Absence,
    LeadFacts,
    Manager,
    PostalRange,
    Rep,
    RotationOptions,
    RoutingRules,
    Team,
    normalize_postal_code,
    normalize_skill,
    territory,
    tier_name,
    unavailable,
    where,
)

__all__ = [  # the rules, the rotation and the fairness report live in their own modules
    "Absence", "Assignment", "FairnessRow", "LeadFacts", "Manager", "PostalRange", "Rep", "RepLoad",
    "RotationOptions", "RoutingDecision", "RoutingRules", "Team", "count_assignment", "fairness_report",
    "normalize_postal_code", "normalize_skill", "pick", "reassign_overdue", "rep_loads", "route",
    "sync_rotation_state",
]

# Which rule decided (stored with the assignment; the fairness report counts ROTATION).
ALREADY_ASSIGNED = "already_assigned"
ACCOUNT_OWNER = "account_owner"
ROTATION = "rotation"
MANAGER_QUEUE = "manager_queue"

# Alerts the caller turns into events for the manager.
ALERT_NO_ELIGIBLE_REP = "no_eligible_rep"
ALERT_KEY_ACCOUNT_OWNER_AWAY = "key_account_owner_away"
ALERT_SLA_MISSED = "sla_missed"

QUEUE_REP = "rep"
QUEUE_MANAGER = "manager"


@dataclass(frozen=True)
class RoutingDecision:
    lead_id: str
    queue: str  # "rep" or "manager"
    rep_id: str | None  # None in the manager's queue
    manager_id: str | None  # the rep's manager, or the owner of the queue
    team_id: str
    rule: str  # already_assigned | account_owner | rotation | manager_queue
    reason: str  # for the lead's history, in words a sales manager reads
    new_rotation_state: dict[str, Any]  # of team_id: to store when state_changed
    candidates_considered: tuple[str, ...] = ()  # the pool the rotation picked from (all teams in it)
    skipped: dict[str, str] = field(default_factory=dict)  # rep id -> why not (away, full, missed SLA)
    alert: str | None = None  # an ALERT_* code: the caller emits an event for the manager
    sla_calendar: str | None = None  # calendar key for sla.due_at (the office of whoever must act)
    rules_version: str = ""

    @property
    def state_changed(self) -> bool:
        """An assignment to a rep: the team's state (counts, and credits for the rotation) moved on."""
        return self.queue == QUEUE_REP and self.rule != ALREADY_ASSIGNED

    def to_dict(self) -> dict[str, Any]:
        return {
            "leadId": self.lead_id, "queue": self.queue, "repId": self.rep_id, "managerId": self.manager_id,
            "teamId": self.team_id, "rule": self.rule, "reason": self.reason,
            "candidates": list(self.candidates_considered), "skipped": dict(self.skipped),
            "alert": self.alert, "slaCalendar": self.sla_calendar, "rulesVersion": self.rules_version,
        }


# --------------------------------------------------------------------------- routing


def _skipped_text(skipped: Mapping[str, str], rules: RoutingRules) -> str:
    return ", ".join(f"{(rules.rep(k).name if rules.rep(k) else k)} ({v})" for k, v in skipped.items())


def route(lead: LeadFacts, rules: RoutingRules, loads: Mapping[str, RepLoad],
          rotation_states: Mapping[str, Mapping[str, Any] | None], today: date, *,
          exclude: Iterable[str] = ()) -> RoutingDecision:
    """Decide who works `lead` on the local date `today`.

    `loads` has the open and today's counts per rep id (missing: zero).
    `rotation_states` has each team's stored rotation state by team id (missing: none yet).
    `exclude` are reps who must not get it again (they missed its SLA or
    rejected it). `decision.new_rotation_state` is the state of `decision.team_id` to store
    when `decision.state_changed` (an assignment to a rep); only that team's state changes.
    """
    excluded = frozenset(exclude)
    version = str(rules.version)

    def load(rep: Rep) -> RepLoad:
        return loads.get(rep.id) or RepLoad(rep.id)

    def unchanged(team_id: str | None) -> dict[str, Any]:
        return dict(rotation_states.get(team_id or "") or {})

    # 1. Already assigned: a duplicate or concurrent delivery changes nothing.
    current_rep = rules.rep(lead.assigned_rep_id)
    if lead.assigned_rep_id and lead.assigned_rep_id not in excluded:
        return RoutingDecision(
            lead.lead_id, QUEUE_REP, lead.assigned_rep_id, current_rep.manager_id if current_rep else None,
            current_rep.team if current_rep else rules.team(None).id, ALREADY_ASSIGNED,
            f"already assigned to {current_rep.name if current_rep else lead.assigned_rep_id}; "
            "duplicate delivery ignored", unchanged(current_rep.team if current_rep else None), rules_version=version,
            sla_calendar=current_rep.office if current_rep else None)

    notes: list[str] = []

    # 2. The owner of an existing account.
    if lead.account_owner_id or lead.is_key_account:
        owner = rules.rep(lead.account_owner_id)
        kind = "key account" if lead.is_key_account else "existing customer"
        why_not = None
        if lead.account_owner_id is None:
            why_not = "no owner on record"
        elif owner is None:
            why_not = f"owner {lead.account_owner_id} is not a rep in the routing rules"
        elif owner.id in excluded:
            why_not = f"owner {owner.name} did not take it in time"
        else:
            why_not = unavailable(owner, today)
            why_not = f"owner {owner.name} is {why_not}" if why_not else None
        if owner is not None and why_not is None:
            over = full(owner, load(owner))
            reason = f"account owner of {kind}" + (f" (owner is {over}; the account stays with its owner)"
                                                   if over else "")
            return RoutingDecision(lead.lead_id, QUEUE_REP, owner.id, owner.manager_id, owner.team or "",
                                   ACCOUNT_OWNER, reason, count_assignment(unchanged(owner.team), owner.id, today),
                                   (owner.id,),
                                   sla_calendar=owner.office, rules_version=version)
        if lead.is_key_account:
            team = rules.team(owner.team if owner else None)
            manager = rules.manager(owner.manager_id) if owner else None
            manager = manager or team.queue_manager
            return RoutingDecision(
                lead.lead_id, QUEUE_MANAGER, None, manager.id, team.id, MANAGER_QUEUE,
                f"key account: {why_not}; to {manager.name}'s queue (key accounts are never rotated)",
                unchanged(team.id), alert=ALERT_KEY_ACCOUNT_OWNER_AWAY, sla_calendar=team.office,
                rules_version=version)
        notes.append(f"existing customer: {why_not}; routed by the rules")

    # 3. Territory, most specific tier with an available rep first.
    tiers: dict[int, list[tuple[Rep, str]]] = {}
    for rep in rules.reps:
        match = territory(rep, lead)
        if match:
            tiers.setdefault(match[0], []).append((rep, match[1]))
    skipped: dict[str, str] = {}
    chosen_tier: list[tuple[Rep, str]] = []
    for tier in sorted(tiers, reverse=True):
        routable = []
        for rep, label in tiers[tier]:
            why = ("missed the SLA or rejected this lead before" if rep.id in excluded
                   else unavailable(rep, today) or full(rep, load(rep)))
            if why:
                skipped[rep.id] = why
            else:
                routable.append((rep, label))
        if routable:
            chosen_tier = routable
            if tier != max(tiers):
                notes.append(f"nobody available in {tier_name(max(tiers), lead)}; "
                             f"overflow to {tier_name(tier, lead)}")
            break

    if not chosen_tier:
        matched = [rep for tier in tiers.values() for rep, _ in tier]
        team = rules.team(matched[0].team if matched else None)
        if not matched:
            why = f"nobody covers {where(lead)}"
        else:
            why = f"everyone covering {where(lead)} is unavailable: {_skipped_text(skipped, rules)}"
        reason = "; ".join([*notes, f"no eligible rep: {why}; to {team.queue_manager.name}'s queue"])
        return RoutingDecision(lead.lead_id, QUEUE_MANAGER, None, team.queue_manager.id, team.id, MANAGER_QUEUE,
                               reason, unchanged(team.id), skipped=skipped, alert=ALERT_NO_ELIGIBLE_REP,
                               sla_calendar=team.office, rules_version=version)

    # 4. Skill: lead interest areas that a rep has; none -> territory alone.
    interests = sorted({normalize_skill(i) for i in lead.interests if i and i.strip()})
    pool = chosen_tier
    skill_text = ""
    if interests:
        skilled = [(rep, label) for rep, label in chosen_tier if set(rep.skills) & set(interests)]
        wanted = " or ".join(f"'{i}'" for i in interests)
        if skilled:
            pool = skilled
            matched_skills = sorted({s for rep, _ in skilled for s in rep.skills} & set(interests))
            skill_text = " + skill " + ", ".join(f"'{s}'" for s in matched_skills)
        else:
            skill_text = f" (nobody available there has skill {wanted}: territory only)"

    # 5. The rotation of one team: a pool with reps of several teams is narrowed to one of them first.
    scale = rules.rotation.scale_by_free_capacity
    weights: dict[str, float] = {}
    for rep, _ in pool:
        weight = rep.weight
        if scale:
            weight *= (rep.max_open - load(rep).open_leads) / rep.max_open
        weights[rep.id] = round(weight, _PRECISION)
    team_weights: dict[str, float] = {}
    for rep, _ in pool:
        team_weights[rep.team or ""] = team_weights.get(rep.team or "", 0.0) + weights[rep.id]
    team_id = draw_team(lead.lead_id, team_weights) if len(team_weights) > 1 else next(iter(team_weights))
    team_pool = [(rep, label) for rep, label in pool if (rep.team or "") == team_id]
    state = sync_rotation_state(rotation_states.get(team_id), rules, team_id)
    rep_id, new_state = pick(state, [(rep.id, weights[rep.id]) for rep, _ in team_pool])
    new_state = count_assignment(new_state, rep_id, today)
    rep, label = next((r, lbl) for r, lbl in team_pool if r.id == rep_id)
    how = f"weighted rotation among {len(team_pool)} reps" if len(team_pool) > 1 else "the only available rep"
    if len(team_weights) > 1:
        how += (f" of team {rules.team(team_id).name} (drawn by weight among the teams "
                f"{', '.join(rules.team(t).name for t in sorted(team_weights))})")
    reason = "; ".join([*notes, f"{label}{skill_text}, {how}"])
    if skipped:
        reason += f"; skipped: {_skipped_text(skipped, rules)}"
    return RoutingDecision(lead.lead_id, QUEUE_REP, rep.id, rep.manager_id, rep.team or "", ROTATION, reason,
                           new_state, tuple(r.id for r, _ in pool), skipped, sla_calendar=rep.office,
                           rules_version=version)


def reassign_overdue(lead: LeadFacts, rules: RoutingRules, loads: Mapping[str, RepLoad],
                     rotation_states: Mapping[str, Mapping[str, Any] | None], *, assigned_at: datetime,
                     due: datetime, now: datetime, earlier_rep_ids: Iterable[str] = ()) -> RoutingDecision | None:
    """The SLA sweep's decision for one lead: None while it is in time; otherwise a
    new routing without its current rep (nor `earlier_rep_ids`, who missed it
    before), with the missed deadline in the reason and an `sla_missed` alert.
    """
    if not sla.is_overdue(due, now) or not lead.assigned_rep_id:
        return None
    late = rules.rep(lead.assigned_rep_id)
    policy = rules.sla_for(late.team if late else None)
    calendar = late.office if late else rules.team(None).office
    local_assigned = sla.local_time(assigned_at, calendar, policy)
    local_due = sla.local_time(due, calendar, policy)
    decision = route(lead, rules, loads, rotation_states, rules.today(now),
                     exclude={lead.assigned_rep_id, *earlier_rep_ids})
    missed = (f"SLA missed: {late.name if late else lead.assigned_rep_id} did not accept within "
              f"{policy.accept_within_working_hours:g} working hours (assigned {local_assigned:%Y-%m-%d %H:%M}, "
              f"due {local_due:%Y-%m-%d %H:%M} {local_due.tzname()})")
    return replace(decision, reason=f"{missed}; reassigned: {decision.reason}", alert=ALERT_SLA_MISSED)

