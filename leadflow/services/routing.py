"""Route each MQL the moment it appears: account owner, territory and skill, then a
fair weighted rotation per team; exactly one assignment under duplicate or concurrent deliveries.
The SLA sweep finds leads not accepted in time and queues them; the routing consumer reassigns
each one (`reassign_if_overdue`) and alerts the manager."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from leadflow.adapters import clock, queues
from leadflow.domain import followups, sla
from leadflow.domain import routing as rules_mod
from leadflow.domain.access import TEAM_ROLES, Principal, Role
from leadflow.domain.controlling import CounterUpdate
from leadflow.domain.dates import check_range
from leadflow.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    no_such_lead,
)
from leadflow.domain.lifecycle import Stage
from leadflow.domain.routing import LeadFacts, RepLoad, RoutingDecision, RoutingRules
from leadflow.services.lifecycle import left_pipeline
from leadflow.services.rulesets import active_rules
from leadflow.settings import get_settings
from leadflow.store import leads as repo
from leadflow.store import routing as store
from leadflow.store.models import HistoryModel, LeadModel

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
PAGE = 100  # lead ids per index page (ten SendMessageBatch calls)
UNROUTED_GRACE = timedelta(minutes=5)
UNROUTED_LOOKBACK = timedelta(days=1)


def facts_of(lead: LeadModel) -> LeadFacts:
    return LeadFacts(lead_id=lead.lead_id, country=lead.country, postal_code=lead.postal_code,
                     interests=tuple(lead.interest_areas or ()), account_owner_id=lead.account_owner_id,
                     is_key_account=bool(lead.key_account), assigned_rep_id=lead.owner_id)


def route_lead(lead_id: str) -> RoutingDecision | None:
    """Assign an MQL (routing queue consumer). A lead already assigned is left alone."""
    def decide(lead, rules, loads, states, now):
        if lead.queue_manager:
            return None  # waiting in a manager's queue: the manager assigns it
        return rules_mod.route(facts_of(lead), rules, loads, states, rules.today(now),
                               exclude=lead.earlier_owners or ())

    return _decide_and_apply(lead_id, decide)


def _decide_and_apply(lead_id: str, decide, *, escalation: bool = False) -> RoutingDecision | None:
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # a concurrent router of the team won: spread the retries out
            time.sleep(random.uniform(0, 0.01 * 2 ** attempt))
        lead = repo.find_lead(lead_id)
        if lead is None or lead.stage != Stage.MQL.value:
            return None
        rules: RoutingRules = active_rules("routing")
        now = clock.now()
        stored, loads = _rotation(rules, now)
        states = {team_id: state for team_id, (state, _) in stored.items()}
        decision = decide(lead, rules, loads, states, now)
        if decision is None or decision.rule == rules_mod.ALREADY_ASSIGNED:
            return decision
        try:
            _apply(lead, decision, rules, now, stored.get(decision.team_id, (None, 0))[1], escalation=escalation)
        except ConcurrentUpdate:
            continue  # another router moved the rotation or took the lead: decide again
        return decision
    raise ConcurrentUpdate(f"could not route lead {lead_id}: too much contention, retry later")


def _rotation(rules: RoutingRules, now: datetime):
    """Every team's rotation state with its version, and the reps' loads they give."""
    stored = store.rotation_states(t.id for t in rules.teams)
    states = {team_id: state for team_id, (state, _) in stored.items()}
    return stored, rules_mod.rep_loads(rules, states, store.pipeline_counts(), rules.today(now))


def rep_loads() -> dict[str, RepLoad]:
    """Each rep's open leads and today's assignments, as routing sees them now."""
    rules: RoutingRules = active_rules("routing")
    return _rotation(rules, clock.now())[1]


def _apply(lead: LeadModel, decision: RoutingDecision, rules: RoutingRules, now: datetime, version: int, *,
           escalation: bool) -> None:
    previous = lead.owner_id
    counters: list[CounterUpdate] = []
    if decision.queue == rules_mod.QUEUE_REP:
        due = sla.due_at(now, decision.sla_calendar, rules.sla_for(decision.team_id))
        fields = {"owner_id": decision.rep_id, "owner_sort": f"{lead.stage}#{lead.stage_sort}",
                  "team_id": decision.team_id, "assigned_at": now, "queue_manager": None,
                  "sla_bucket": store.sla_bucket(lead.lead_id), "sla_due": repo.at_iso(due)}
    else:
        fields = {"owner_id": None, "owner_sort": None, "team_id": decision.team_id, "assigned_at": None,
                  "queue_manager": decision.manager_id, "sla_bucket": None, "sla_due": None,
                  "created_sort": lead.created_sort or f"{repo.at_iso(lead.created_at)}#{lead.lead_id}"}
    if previous:
        counters.append(left_pipeline(previous))  # the rep it leaves has room again
        fields["earlier_owners"] = sorted({*(lead.earlier_owners or []), previous})
    history = HistoryModel(lead.lead_id, lead.version + 1, kind="assignment", from_stage=lead.stage,
                           to_stage=lead.stage, at=now, actor=f"rule:routing v{decision.rules_version}",
                           reason=decision.reason, details=decision.to_dict())
    # the one item MQLs share: their team's rotation state (credits and assignment counts)
    rotation = (decision.team_id, decision.new_rotation_state, version) if decision.state_changed else None
    log_entry = (store.log_item(now, lead.lead_id, decision.rep_id, decision.rule,
                                list(decision.candidates_considered)) if decision.rep_id else None)
    store.assign(lead, set_fields=fields, history=history,
                 follow_ups=followups.counted(counters) + _announcements(lead, decision, escalation),
                 rotation=rotation, log=log_entry, expected_owner=previous)


def _announcements(lead: LeadModel, decision: RoutingDecision, escalation: bool) -> followups.FollowUps:
    out = followups.event("LeadAssigned", leadId=lead.lead_id, repId=decision.rep_id, queue=decision.queue,
                          managerId=decision.manager_id, rule=decision.rule)
    if decision.alert:
        out += followups.event("RoutingAlert", leadId=lead.lead_id, alert=decision.alert,
                               managerId=decision.manager_id, reason=decision.reason)
    if escalation:
        out += followups.event("SlaEscalation", leadId=lead.lead_id, managerId=decision.manager_id,
                               newRepId=decision.rep_id, reason=decision.reason)
    return out


def team_members(role: str) -> tuple[str, ...] | None:
    """The user ids that may sign in with a team role, from the active routing rules;
    None for roles outside the sales team."""
    if role not in TEAM_ROLES:
        return None
    return active_rules("routing").member_ids(role)


def team_refusal(role: str, user_id: str) -> str | None:
    """A rep or manager must be in the active routing rules (in AWS the `sub` of their Cognito
    token): why not, naming the known ids, or None. Other roles are not team roles."""
    if role not in TEAM_ROLES:
        return None
    rules: RoutingRules = active_rules("routing")
    return rules.not_a_member(role, user_id)


def reassign_by_manager(principal: Principal, lead_id: str, rep_id: str, *, reason: str) -> LeadModel:
    """A manager gives an MQL of their team to another rep of their teams (an admin: any lead, any
    rep). Each refusal says which rule: unknown lead (also another team's), empty reason, unknown
    rep (naming the known ones), another team's rep, not an MQL, already that rep's lead."""
    from leadflow.services.leads import lead_in_scope, may_act_on

    actor = principal.user_id
    lead = lead_in_scope(principal, lead_id)
    if not (reason or "").strip():
        raise InvalidInput("reassigning needs a reason (it goes to the lead's history)", field="reason")
    rules: RoutingRules = active_rules("routing")
    rep = rules.rep(rep_id)
    if rep is None:
        raise NotFound(f"no rep {rep_id!r} in the routing rules v{rules.version}; known reps: "
                       f"{', '.join(r.id for r in rules.reps)}", field="repId")
    if principal.role is Role.SALES_MANAGER:
        teams = rules.teams_managed_by(actor)
        if rep.team not in teams:
            raise Forbidden(f"a manager gives leads to the reps of their own teams; {rep_id} is in team "
                            f"{rep.team} (yours: {', '.join(r.id for r in rules.reps if r.team in teams)})",
                            field="repId")
    _check_reassignable(lead, rep_id)

    def decide(lead, rules, loads, states, now):
        if not may_act_on(principal, lead):  # read again on every attempt: routing may have moved it
            raise no_such_lead(lead_id)
        _check_reassignable(lead, rep_id)  # another change may have won
        return RoutingDecision(lead.lead_id, rules_mod.QUEUE_REP, rep.id, rep.manager_id, rep.team, "manual",
                               f"reassigned by {actor}: {reason.strip()}",
                               rules_mod.count_assignment(states.get(rep.team), rep.id, rules.today(now)),
                               sla_calendar=rep.office, rules_version=str(rules.version))

    decision = _decide_and_apply(lead_id, decide)
    if decision is None:  # deleted or moved on between the checks and the write
        _check_reassignable(repo.find_lead(lead_id), rep_id, lead_id)
    return repo.get_lead(lead_id)


def _check_reassignable(lead: LeadModel | None, rep_id: str, lead_id: str = "") -> None:
    if lead is None:
        raise no_such_lead(lead_id)
    if lead.stage != Stage.MQL.value:
        raise IllegalTransition(f"only an MQL waiting for acceptance can be reassigned; lead {lead.lead_id} "
                                f"is in stage {lead.stage}", field="id")
    if lead.owner_id == rep_id:
        raise Conflict(f"lead {lead.lead_id} is already assigned to {rep_id}; choose another rep",
                       field="repId")


def sla_sweep(now: datetime | None = None, *, deadline: float | None = None) -> dict[str, int]:
    """Find what is due and queue it, ids only: MQLs never routed, and assigned leads whose
    acceptance deadline passed (the routing consumer reassigns each, `reassign_if_overdue`).
    Pages through the indexes until done or `deadline` (time.monotonic()); the next run
    continues with what is still due."""
    now = now or clock.now()
    requeued = _requeue_unrouted(now, deadline)
    overdue = queued = 0
    # at least one page each run, however late: every run makes progress
    for page in store.overdue_pages(repo.at_iso(now), PAGE, first_shard=now.minute):
        overdue += len(page)
        queued += queues.send_batch(get_settings().routing_queue_url,
                                    ({"leadId": lead_id, "check": SLA_CHECK} for lead_id in page))
        if _past(deadline):
            break
    return {"overdue": overdue, "queued": queued, "requeued": requeued}


def _requeue_unrouted(now: datetime, deadline: float | None) -> int:
    """MQLs whose routing message was lost, queued again."""
    # Only MQLs of the last day: cost follows the day's MQLs, not the backlog of owned leads;
    # a lost message is caught by one of the ~288 sweeps of that day.
    requeued = 0
    for page in store.unrouted_pages(repo.at_iso(now - UNROUTED_LOOKBACK), repo.at_iso(now - UNROUTED_GRACE), PAGE):
        requeued += queues.send_batch(get_settings().routing_queue_url, ({"leadId": lead_id} for lead_id in page))
        if _past(deadline):
            break
    return requeued


SLA_CHECK = "sla"  # a routing message that asks: is this lead's acceptance overdue?


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def handle(message: dict) -> RoutingDecision | None:
    """One routing message: route an MQL, or reassign it if its acceptance is overdue. Both
    are idempotent: a lead routed already, or no longer overdue, is left as it is."""
    lead_id = message["leadId"]
    if message.get("check") == SLA_CHECK:
        return reassign_if_overdue(lead_id)
    return route_lead(lead_id)


def reassign_if_overdue(lead_id: str) -> RoutingDecision | None:
    """Reassign a lead whose rep did not accept it in time (None: in time, accepted, gone)."""
    def decide(lead, rules, loads, states, now):
        if not lead.owner_id or not lead.sla_due:
            return None
        return rules_mod.reassign_overdue(facts_of(lead), rules, loads, states, assigned_at=lead.assigned_at,
                                          due=datetime.fromisoformat(lead.sla_due), now=now,
                                          earlier_rep_ids=lead.earlier_owners or ())

    return _decide_and_apply(lead_id, decide, escalation=True)


def fairness(principal: Principal, first: date, last: date) -> list[rules_mod.FairnessRow]:
    """The rotation's fairness; a manager gets the rows of their own teams' reps."""
    check_range(first, last, get_settings().max_report_days)  # one log query per month of the range
    rules: RoutingRules = active_rules("routing")
    months = sorted({f"{d:%Y-%m}" for d in _days(first, last)})
    assignments = [rules_mod.Assignment(i.rep_id, i.at, tuple(i.pool or ()))
                   for m in months for i in store.assignment_log(m) if i.rule == rules_mod.ROTATION]
    rows = rules_mod.fairness_report(assignments, rules, (first, last))
    if principal.role is Role.SALES_MANAGER:
        teams = rules.teams_managed_by(principal.user_id)
        rows = [r for r in rows if (rep := rules.rep(r.rep_id)) is not None and rep.team in teams]
    return rows


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
