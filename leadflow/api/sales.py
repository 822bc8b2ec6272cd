"""GraphQL for sales: a rep's own queue and actions, a manager's team queue,
reassignment and the fairness report."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md). Forward references are quoted.

from datetime import date
from enum import Enum
from typing import Annotated

import strawberry

from leadflow.api.leads import connection
from leadflow.api.permissions import principal_of, roles
from leadflow.api.types import Lead, LeadConnection
from leadflow.domain.access import Role
from leadflow.domain.lifecycle import Stage
from leadflow.services import sales as sales_service

# services.routing is imported in the resolvers that use it: it pulls the rule sets (pydantic, YAML), which
# would cost every GraphQL cold start (docs/benchmarks.md)

SALES = roles(Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
MANAGERS = roles(Role.SALES_MANAGER, Role.ADMIN)
CREDIT = roles(Role.FINANCE, Role.SALES_MANAGER, Role.ADMIN)
REJECTERS = roles(Role.MARKETING, Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
FORECASTERS = roles(*sales_service.FORECASTERS)


@strawberry.type(description="Leads per rep against their weight over a period: is the rotation fair?")
class FairnessRow:
    rep_id: str
    name: str
    weight: float | None
    assigned: int
    share: float
    expected: float
    expected_share: float
    deviation: float | None = strawberry.field(description="assigned / expected - 1")
    days_available: int
    daily_quota: int | None
    max_open: int | None
    quota_used: float | None


@strawberry.enum(description="How the forecast is grouped.")
class ForecastGroup(Enum):
    REP = "rep"
    TEAM = "team"
    MONTH = "month"


@strawberry.type(description=("Open opportunities expected to close in the period, per group and currency: "
                              "pipeline value and probability-weighted forecast."))
class ForecastRow:
    key: str = strawberry.field(description="The rep id, team id or month (YYYY-MM) of expected close.")
    currency: str
    opportunities: int
    pipeline: float
    weighted: float
    stale: int = strawberry.field(description="Of these, opportunities without activity for too long.")


@strawberry.type
class SalesQuery:
    @strawberry.field(permission_classes=[SALES],
                      description="The caller's own leads (managers may pass repId), newest first.")
    def my_leads(self, info: strawberry.Info, stage: Stage | None = None, first: int = 20,
                 after: str | None = None, rep_id: str | None = None) -> LeadConnection:
        items, end = sales_service.my_leads(principal_of(info), stage, first, after, rep_id)
        return connection(items, end, "by_owner")

    @strawberry.field(permission_classes=[MANAGERS],
                      description="Leads waiting in the manager's queue (no eligible rep, key account owner away).")
    def team_queue(self, info: strawberry.Info, first: int = 20, after: str | None = None,
                   manager_id: str | None = None) -> LeadConnection:
        items, end = sales_service.team_queue(principal_of(info), first, after, manager_id)
        return connection(items, end, "by_manager_queue")

    @strawberry.field(permission_classes=[FORECASTERS], description=(
        "Pipeline value and weighted forecast of open opportunities by expected close in from..to: a rep's own, "
        "a manager's teams', all for finance and admins."))
    def forecast(self, info: strawberry.Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
                 group_by: ForecastGroup = ForecastGroup.MONTH) -> list[ForecastRow]:
        rows = sales_service.forecast(principal_of(info), from_, to, group_by.value)
        return [ForecastRow(key=r.key, currency=r.currency, opportunities=r.opportunities,
                            pipeline=r.pipeline_cents / 100, weighted=r.weighted_cents / 100, stale=r.stale)
                for r in rows]

    @strawberry.field(permission_classes=[MANAGERS], description=(
        "Rotation assignments per rep vs weights (a manager: the reps of their own teams)."))
    def fairness_report(self, info: strawberry.Info, from_: Annotated[date, strawberry.argument(name="from")],
                        to: date) -> list[FairnessRow]:
        from leadflow.services import routing as routing_service

        rows = routing_service.fairness(principal_of(info), from_, to)
        return [FairnessRow(rep_id=r.rep_id, name=r.name, weight=r.weight, assigned=r.assigned, share=r.share,
                            expected=r.expected, expected_share=r.expected_share, deviation=r.deviation,
                            days_available=r.days_available, daily_quota=r.daily_quota, max_open=r.max_open,
                            quota_used=r.quota_used) for r in rows]


@strawberry.type
class SalesMutation:
    @strawberry.mutation(permission_classes=[SALES], description="The rep takes the lead: MQL -> SAL.")
    def accept_lead(self, info: strawberry.Info, id: strawberry.ID) -> Lead:
        return Lead.from_model(sales_service.accept_lead(principal_of(info), str(id)))

    @strawberry.mutation(permission_classes=[REJECTERS], description=(
        "Reject a lead. In the review queue (marketing): disqualified with the reason. "
        "A rep's lead: back to nurturing (recycle: true, the default) or disqualified. reasonCode: a code "
        "from config/sales.yaml for counters and finance (else the listed code the reason starts with, "
        "or \"other\"); the reason text stays in the lead's history."))
    def reject_lead(self, info: strawberry.Info, id: strawberry.ID, reason: str, recycle: bool = True,
                    reason_code: str | None = None) -> Lead:
        return Lead.from_model(sales_service.reject_lead(principal_of(info), str(id), reason, recycle,
                                                         reason_code=reason_code))

    @strawberry.mutation(permission_classes=[SALES], description="SAL -> SQL with budget, authority, need, timeline.")
    def qualify_lead(self, info: strawberry.Info, id: strawberry.ID, budget: str | None = None,
                     authority: str | None = None, need: str | None = None, timeline: str | None = None) -> Lead:
        return Lead.from_model(sales_service.qualify_lead(principal_of(info), str(id), budget=budget,
                                                          authority=authority, need=need, timeline=timeline))

    @strawberry.mutation(permission_classes=[SALES], description=(
        "SQL -> OPPORTUNITY. amount: more than 0 and at most config/sales.yaml max_deal_amount; "
        "expectedClose: today or later (at most max_close_days ahead); probability 0..1 (default: "
        "config/sales.yaml default_probability)."))
    def convert_to_opportunity(self, info: strawberry.Info, id: strawberry.ID, amount: float, currency: str,
                               expected_close: date, probability: float | None = None) -> Lead:
        return Lead.from_model(sales_service.convert_to_opportunity(
            principal_of(info), str(id), amount=amount, currency=currency, expected_close=expected_close,
            probability=probability))

    @strawberry.mutation(permission_classes=[SALES], description=(
        "OPPORTUNITY -> CUSTOMER (won) or LOST. Lost needs a reason or a reasonCode (config/sales.yaml); "
        "counters and finance get the code, the reason text stays in the lead's history."))
    def close_opportunity(self, info: strawberry.Info, id: strawberry.ID, won: bool, reason: str | None = None,
                          amount: float | None = None, reason_code: str | None = None) -> Lead:
        return Lead.from_model(sales_service.close_opportunity(principal_of(info), str(id), won=won,
                                                               reason=reason, amount=amount,
                                                               reason_code=reason_code))

    @strawberry.mutation(permission_classes=[SALES], description=(
        "The owner keeps an opportunity current: amount, currency, expected close, probability (0..1); only the "
        "values given change, each checked like convertToOpportunity; the change goes into the history."))
    def update_opportunity(self, info: strawberry.Info, id: strawberry.ID, amount: float | None = None,
                           currency: str | None = None, expected_close: date | None = None,
                           probability: float | None = None) -> Lead:
        return Lead.from_model(sales_service.update_opportunity(
            principal_of(info), str(id), amount=amount, currency=currency, expected_close=expected_close,
            probability=probability))

    @strawberry.mutation(permission_classes=[CREDIT], description=(
        "Rate a lead's creditworthiness (good | poor | null = unknown); the score is recomputed."))
    def set_creditworthiness(self, info: strawberry.Info, id: strawberry.ID, rating: str | None) -> bool:
        from leadflow.services.leads import lead_in_scope
        from leadflow.services.rescore import set_creditworthiness

        principal = principal_of(info)
        lead_in_scope(principal, str(id))  # a manager rates only their teams' leads
        set_creditworthiness(str(id), rating, actor=principal.user_id)
        return True

    @strawberry.mutation(permission_classes=[MANAGERS], description="Give an MQL to another rep.")
    def reassign_lead(self, info: strawberry.Info, id: strawberry.ID, rep_id: str, reason: str) -> Lead:
        from leadflow.services import routing as routing_service

        return Lead.from_model(routing_service.reassign_by_manager(principal_of(info), str(id), rep_id,
                                                                   reason=reason))


TYPE_ROLES = {"FairnessRow": frozenset({Role.SALES_MANAGER, Role.ADMIN}),
              "ForecastRow": frozenset(sales_service.FORECASTERS)}
