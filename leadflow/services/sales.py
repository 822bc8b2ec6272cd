"""The sales side of the lifecycle, scoped to the caller (services.leads.may_act_on): a rep acts
only on their own leads, a manager on their teams' leads, an admin on any.
MQL -> SAL -> SQL -> OPPORTUNITY -> CUSTOMER / LOST."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from leadflow.adapters import clock
from leadflow.domain.access import Principal, Role
from leadflow.domain.controlling import pipeline_details
from leadflow.domain.errors import Forbidden, IllegalTransition, InvalidInput, no_such_lead
from leadflow.domain.followups import event
from leadflow.domain.lifecycle import Stage
from leadflow.services import lifecycle
from leadflow.services.leads import may_act_on
from leadflow.store import lead_lists
from leadflow.store import leads as repo

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

SALES = (Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
MANAGERS = (Role.SALES_MANAGER, Role.ADMIN)
_NO_SLA = {"sla_bucket": None, "sla_due": None}


def _own_lead(principal: Principal, lead_id: str, action: str) -> LeadModel:
    return _checked_own(principal, repo.find_lead(lead_id), lead_id, action)


def _checked_own(principal: Principal, lead: LeadModel | None, lead_id: str, action: str) -> LeadModel:
    # nobody learns whether another rep's or team's lead exists: same answer as for a missing one
    if lead is None or not may_act_on(principal, lead):
        raise no_such_lead(lead_id)
    principal.require(*SALES, action=action)
    return lead


def _expect(lead: LeadModel, stage: Stage, action: str) -> None:
    if lead.stage != stage.value:
        raise IllegalTransition(f"{action} needs a lead in stage {stage.value}; this one is {lead.stage}",
                                field="id")


def _sla_met(lead: LeadModel, now: datetime) -> bool | None:
    """The SLA outcome of the first sales decision (accept or reject) on an assigned MQL."""
    if lead.stage != Stage.MQL.value or not lead.owner_id:
        return None  # already decided, or nobody's clock was running
    return lead.sla_due is None or now <= datetime.fromisoformat(lead.sla_due)


def _side_exit_code(stage: Stage, reason: str | None, code: str | None) -> str:
    try:
        return lifecycle.side_exit_code(stage, reason, code)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="reasonCode") from None


def _rules():
    from leadflow.services.rulesets import active_rules

    return active_rules("sales")


def my_leads(principal: Principal, stage: Stage | None, first: int, after: str | None, rep_id: str | None = None
             ) -> tuple[list[LeadModel], str | None]:
    principal.require(*SALES)
    owner = principal.user_id
    if rep_id and rep_id != owner:
        principal.require(*MANAGERS)
        _check_team_rep(principal, rep_id)
        owner = rep_id
    return lead_lists.owner_page(owner, stage.value if stage else None, first, after)


def _check_team_rep(principal: Principal, rep_id: str) -> None:
    """A manager looks at the leads of their own teams' reps only."""
    if principal.role is not Role.SALES_MANAGER:
        return
    from leadflow.services.rulesets import active_rules

    rules = active_rules("routing")
    teams = rules.teams_managed_by(principal.user_id)
    rep = rules.rep(rep_id)
    if rep is None or rep.team not in teams:
        reps = [r.id for r in rules.reps if r.team in teams]
        raise Forbidden(f"a manager sees the leads of their own teams' reps; {rep_id!r} is not one of them "
                        f"(yours: {', '.join(reps) or 'none'})", field="repId")


def team_queue(principal: Principal, first: int, after: str | None, manager_id: str | None = None
               ) -> tuple[list[LeadModel], str | None]:
    principal.require(*MANAGERS)
    manager = manager_id if (manager_id and principal.role is Role.ADMIN) else principal.user_id
    return lead_lists.manager_queue_page(manager, first, after)


def accept_lead(principal: Principal, lead_id: str) -> LeadModel:
    lead = _own_lead(principal, lead_id, "acceptLead")
    _expect(lead, Stage.MQL, "acceptLead")
    if not lead.owner_id:
        raise IllegalTransition("the lead has no rep yet; a manager assigns it first", field="id")
    now = clock.now()
    return lifecycle.transition(lead, Stage.SAL, actor=principal.user_id, reason="accepted by sales", at=now,
                                extra_fields=_NO_SLA, details={"sla_met": _sla_met(lead, now)},
                                follow_ups=event("LeadStageChanged", leadId=lead.lead_id, to="SAL",
                                                 repId=lead.owner_id))


def reject_lead(principal: Principal, lead_id: str, reason: str, recycle: bool,
                reason_code: str | None = None) -> LeadModel:
    """A lead in the review queue, rejected by a reviewer, is disqualified with the reason. A
    rep's lead goes back to nurturing (RECYCLED, the reason visible to marketing) or out
    (DISQUALIFIED). One read decides which. Counters get `reason_code` (or the listed code the
    reason starts with, else "other"); the free text stays in the history. Rejecting an MQL is
    the first sales decision on it: the SLA counts met or missed as for an acceptance."""
    from leadflow.services import review

    lead = repo.find_lead(lead_id)
    if lead is not None and not may_act_on(principal, lead):
        raise no_such_lead(lead_id)
    if review.in_review(lead) and principal.role in review.REVIEWERS:
        return review.reject_in_review(principal, lead, reason)
    if lead is not None and principal.role not in SALES:
        # a state problem, not a permission one: this role rejects only leads in the review queue
        raise IllegalTransition(f"rejectLead: a {principal.role.value} rejects only leads in the review queue; "
                                f"lead {lead_id} is not in it (stage {lead.stage}, quality {lead.quality})",
                                field="id")
    lead = _checked_own(principal, lead, lead_id, "rejectLead")
    if lead.stage not in (Stage.MQL.value, Stage.SAL.value, Stage.SQL.value):
        raise IllegalTransition(f"a lead in stage {lead.stage} cannot be rejected; close the opportunity",
                                field="id")
    target = Stage.RECYCLED if recycle else Stage.DISQUALIFIED
    details = {"reason_code": _side_exit_code(target, reason, reason_code)}
    now = clock.now()
    met = _sla_met(lead, now)
    if met is not None:
        details["sla_met"] = met
    earlier = sorted({*(lead.earlier_owners or []), *([lead.owner_id] if lead.owner_id else [])})
    return lifecycle.transition(lead, target, actor=principal.user_id, reason=reason, at=now, details=details,
                                extra_fields={"owner_id": None, "owner_sort": None, "earlier_owners": earlier,
                                              **_NO_SLA},
                                follow_ups=event("LeadStageChanged", leadId=lead.lead_id, to=target.value))


def qualify_lead(principal: Principal, lead_id: str, *, budget: str | None, authority: str | None,
                 need: str | None, timeline: str | None) -> LeadModel:
    lead = _own_lead(principal, lead_id, "qualifyLead")
    _expect(lead, Stage.SAL, "qualifyLead")
    bant = {"budget": budget, "authority": authority, "need": need, "timeline": timeline}
    if not any(bant.values()):
        raise InvalidInput("qualifying needs at least one of budget, authority, need, timeline",
                           field="budget")
    return lifecycle.transition(lead, Stage.SQL, actor=principal.user_id, reason="sales qualified (BANT)",
                                extra_fields={"qualification": bant})


def convert_to_opportunity(principal: Principal, lead_id: str, *, amount: float, currency: str,
                           expected_close: date, probability: float | None = None) -> LeadModel:
    lead = _own_lead(principal, lead_id, "convertToOpportunity")
    _expect(lead, Stage.SQL, "convertToOpportunity")
    rules = _rules()
    problem = rules.deal_amount_problem(amount)
    if problem:
        raise InvalidInput(problem, field="amount")
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput("currency must be an ISO 4217 code such as EUR", field="currency")
    now = clock.now()
    problem = rules.close_date_problem(expected_close, _today(now))
    if problem:
        raise InvalidInput(problem, field="expectedClose")
    if probability is None:
        probability = rules.default_probability
    problem = rules.probability_problem(probability)
    if problem:
        raise InvalidInput(problem, field="probability")
    cents, currency = round(amount * 100), currency.upper()
    # what goes into the open pipeline, so the close takes out the same amount under the same dimensions
    opportunity = {"amount_cents": cents, "currency": currency, "expected_close": expected_close.isoformat(),
                   "probability": float(probability),
                   "pipeline": pipeline_details(cents, currency, lifecycle.dimensions_of(lead))}
    return lifecycle.transition(lead, Stage.OPPORTUNITY, actor=principal.user_id, reason="opportunity opened",
                                at=now, extra_fields={"opportunity": opportunity},
                                details={"amount_cents": cents, "currency": currency})


def _today(now: datetime) -> date:
    from zoneinfo import ZoneInfo

    from leadflow.settings import get_settings

    return now.astimezone(ZoneInfo(get_settings().company_timezone)).date()


def close_opportunity(principal: Principal, lead_id: str, *, won: bool, reason: str | None,
                      amount: float | None, reason_code: str | None = None) -> LeadModel:
    lead = _own_lead(principal, lead_id, "closeOpportunity")
    _expect(lead, Stage.OPPORTUNITY, "closeOpportunity")
    opportunity = dict(lead.opportunity or {})
    if amount is not None:
        problem = _rules().deal_amount_problem(amount)
        if problem:
            raise InvalidInput(problem, field="amount")
        opportunity["amount_cents"] = round(amount * 100)
    # the open pipeline gives back what this opportunity put in (opportunities opened before it was counted: nothing)
    taken_out = {"pipeline": opportunity["pipeline"]} if opportunity.get("pipeline") else {}
    if won:
        details = {"amount": opportunity.get("amount_cents", 0) / 100, "currency": opportunity.get("currency"),
                   **taken_out}
        # hand-over to customer service (seed 003): ids and the deal, no personal data
        won_event = event("CustomerWon", leadId=lead.lead_id, repId=lead.owner_id, amount=details["amount"],
                          currency=details["currency"], accountId=lead.account_id)
        return lifecycle.transition(lead, Stage.CUSTOMER, actor=principal.user_id, reason=reason or "won",
                                    extra_fields={"opportunity": opportunity, "close_reason": reason},
                                    details=details, follow_ups=won_event)
    reason = (reason or "").strip() or None
    if not (reason or reason_code):
        raise InvalidInput("a lost opportunity needs a reason or a reasonCode", field="reason")
    code = _side_exit_code(Stage.LOST, reason, reason_code)
    opportunity["reason_code"] = code
    # finance and other consumers get the code; the free text stays in the lead's history
    return lifecycle.transition(lead, Stage.LOST, actor=principal.user_id, reason=reason or code,
                                extra_fields={"opportunity": opportunity, "close_reason": reason},
                                details={"reason_code": code, **taken_out},
                                follow_ups=event("OpportunityLost", leadId=lead.lead_id, reasonCode=code))


# ------------------------------------------------------------------ deals and forecast
FORECASTERS = (Role.SALES_REP, Role.SALES_MANAGER, Role.FINANCE, Role.ADMIN)


def update_opportunity(principal: Principal, lead_id: str, *, amount: float | None = None,
                       currency: str | None = None, expected_close: date | None = None,
                       probability: float | None = None) -> LeadModel:
    """The owner (their manager, an admin) keeps the deal current. The funnel's open pipeline keeps
    the amount the opportunity was opened with until it closes (the close takes out what went in);
    the forecast reads the current amounts."""
    lead = _own_lead(principal, lead_id, "updateOpportunity")
    _expect(lead, Stage.OPPORTUNITY, "updateOpportunity")
    rules = _rules()
    deal = dict(lead.opportunity or {})
    changed: dict[str, object] = {}
    if amount is not None:
        problem = rules.deal_amount_problem(amount)
        if problem:
            raise InvalidInput(problem, field="amount")
        changed["amount_cents"] = round(amount * 100)
    if currency is not None:
        if len(currency) != 3 or not currency.isalpha():
            raise InvalidInput("currency must be an ISO 4217 code such as EUR", field="currency")
        changed["currency"] = currency.upper()
    now = clock.now()
    if expected_close is not None:
        problem = rules.close_date_problem(expected_close, _today(now))
        if problem:
            raise InvalidInput(problem, field="expectedClose")
        changed["expected_close"] = expected_close.isoformat()
    if probability is not None:
        problem = rules.probability_problem(probability)
        if problem:
            raise InvalidInput(problem, field="probability")
        changed["probability"] = float(probability)
    changed = {k: v for k, v in changed.items() if deal.get(k) != v}
    if not changed:
        raise InvalidInput("nothing to change: give amount, currency, expectedClose or probability with a new "
                           "value", field="amount")
    deal.update(changed, last_activity=repo.at_iso(now))
    return lifecycle.record(lead, kind="deal", actor=principal.user_id,
                            reason=f"deal updated: {', '.join(sorted(changed))}", set_fields={"opportunity": deal},
                            details={k: v for k, v in changed.items()})


def forecast(principal: Principal, start: date, end: date, group_by: str) -> list:
    """Pipeline and weighted forecast of the open opportunities the caller may see, expected to
    close in start..end: a rep's own, a manager's teams', everything for finance and admins."""
    from leadflow.domain.dates import check_range
    from leadflow.domain.sales import FORECAST_GROUPS, OpenDeal
    from leadflow.domain.sales import forecast as build
    from leadflow.settings import get_settings

    principal.require(*FORECASTERS, action="forecast")
    if group_by not in FORECAST_GROUPS:
        raise InvalidInput(f"groupBy must be one of {', '.join(FORECAST_GROUPS)}", field="groupBy")
    check_range(start, end, get_settings().max_report_days)
    rules, now = _rules(), clock.now()
    deals = []
    for lead in open_opportunities(principal):
        deal = lead.opportunity or {}
        if deal.get("amount_cents") is None:
            continue
        close = deal.get("expected_close")
        deals.append(OpenDeal(lead.owner_id, lead.team_id, deal.get("currency") or "EUR", int(deal["amount_cents"]),
                              float(deal.get("probability", rules.default_probability)),
                              date.fromisoformat(close) if close else None,
                              rules.is_stale(lead.stage, last_sales_activity(lead), now)))
    return build(deals, group_by, start, end)


# The forecast reads the open opportunities (a few hundred a month at 10,000 leads) through the stage
# index (every shard), about 200 per 1 MB page; beyond this many it refuses rather than run into the timeout.
FORECAST_MAX_OPPORTUNITIES = 5000


def open_opportunities(principal: Principal):
    """The open opportunities in the caller's scope."""
    from leadflow.services.leads import may_see

    everyone = principal.role in (Role.FINANCE, Role.ADMIN)
    for read, lead in enumerate(lead_lists.in_stage(Stage.OPPORTUNITY.value,
                                                            limit=FORECAST_MAX_OPPORTUNITIES + 1), 1):
        if read > FORECAST_MAX_OPPORTUNITIES:
            raise IllegalTransition(f"more than {FORECAST_MAX_OPPORTUNITIES:,} open opportunities: the forecast "
                                    "reads them one by one and would not finish in time", field="from")
        if everyone or may_see(principal, lead):
            yield lead


def last_sales_activity(lead: LeadModel) -> datetime:
    """The latest of entering the stage and the last change to its deal."""
    touched = (lead.opportunity or {}).get("last_activity")
    entered = lead.stage_entered_at
    return max(entered, datetime.fromisoformat(touched)) if touched else entered
