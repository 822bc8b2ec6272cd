"""GraphQL for controlling: the funnel, cohorts, SLA compliance, campaign performance,
campaign costs and the metrics CSV. Aggregates only: no type here holds personal data,
so finance may read all of them."""

# No `from __future__ import annotations` here: Strawberry would compile each annotation string at every
# cold start (docs/benchmarks.md). Forward references are quoted.

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from leadflow.api import types as _types  # noqa: F401  (registers the Stage enum with Strawberry)
from leadflow.api.permissions import principal_of, roles
from leadflow.domain.access import Role
from leadflow.domain.lifecycle import Stage

if TYPE_CHECKING:  # imported in the resolvers: the reports' code is not needed at a cold start
    from leadflow.domain import controlling as domain
    from leadflow.services import controlling as service

AGGREGATE_READERS = frozenset({Role.FINANCE, Role.SALES_MANAGER, Role.MARKETING, Role.ADMIN})
COST_WRITERS = frozenset({Role.FINANCE, Role.ADMIN})
READ = roles(*sorted(AGGREGATE_READERS, key=lambda r: r.value))
RECORD_COSTS = roles(*sorted(COST_WRITERS, key=lambda r: r.value))
MAX_TOP_REASONS = 20
MAX_CSV_ROWS = 20_000  # about 3 MB: well inside a Lambda response

From = Annotated[date, strawberry.argument(name="from", description="First day (company time zone).")]
To = Annotated[date, strawberry.argument(description="Last day, inclusive.")]


@strawberry.enum(description="What a report is grouped by.")
class MetricsGroupBy(Enum):
    NONE = "none"
    SOURCE = "source"
    CAMPAIGN = "campaign"
    LAST_CAMPAIGN = "last_campaign"
    OWNER = "owner"


@strawberry.enum(description="Period length of a report (periods follow the company time zone).")
class PeriodGrain(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.type(description="An amount in one currency (never converted).")
class Money:
    currency: str
    amount: float

    @classmethod
    def of(cls, m: "domain.Money") -> "Money":
        return cls(currency=m.currency, amount=m.amount)


@strawberry.type(description="How often a reason was given.")
class ReasonCount:
    reason: str = strawberry.field(description=(
        'Reason code from the configured list (config/sales.yaml) or "other"; never the free text.'))
    count: int


@strawberry.type
class StageCount:
    stage: Stage
    count: int


@strawberry.type(description="One stage over a period: flow in, flow on, drop-off, time in stage.")
class StageMetrics:
    stage: Stage
    entered: int = strawberry.field(description="Entries into the stage (a recycled lead can enter twice).")
    entered_first_time: int = strawberry.field(description="Entries of leads that were never in the stage before.")
    exited: int = strawberry.field(description="Leads that left the stage in the period.")
    moved_on: int = strawberry.field(description="... of those, to the next stage.")
    conversion_rate: float | None = strawberry.field(description="movedOn / exited.")
    drop_off: int = strawberry.field(description="... of those, to a side exit (disqualified, recycled, lost).")
    drop_off_rate: float | None = strawberry.field(description="dropOff / exited.")
    median_hours_in_stage: float | None = strawberry.field(
        description="Of the leads that left the stage; from a log histogram, within about 5 %.")
    p90_hours_in_stage: float | None
    time_in_stage_samples: int
    exits: list[StageCount] = strawberry.field(description="Where the leads that left went.")
    top_recycle_reasons: list[ReasonCount]
    top_disqualification_reasons: list[ReasonCount]
    top_lost_reasons: list[ReasonCount]
    sla_met: int
    sla_missed: int
    amounts: list[Money] = strawberry.field(description=(
        "Deal amounts of the entries: value opened on OPPORTUNITY, revenue won on CUSTOMER."))
    open_pipeline: list[Money] | None = strawberry.field(description=(
        "OPPORTUNITY in a group's totals: the amounts of the opportunities open now, whatever the range "
        "(null elsewhere)."))

    @classmethod
    def of(cls, m: "domain.StageMetrics", top: int) -> "StageMetrics":
        return cls(stage=m.stage, entered=m.entered, entered_first_time=m.entered_first_time, exited=m.exited,
                   moved_on=m.moved_on, conversion_rate=m.conversion_rate, drop_off=m.drop_off,
                   drop_off_rate=m.drop_off_rate, median_hours_in_stage=m.median_hours,
                   p90_hours_in_stage=m.p90_hours, time_in_stage_samples=m.time_samples,
                   exits=[StageCount(stage=Stage(s), count=n) for s, n in sorted(m.exits.items())],
                   top_recycle_reasons=[ReasonCount(reason=r.reason, count=r.count)
                                        for r in m.top_reasons(Stage.RECYCLED, top)],
                   top_disqualification_reasons=[ReasonCount(reason=r.reason, count=r.count)
                                                 for r in m.top_reasons(Stage.DISQUALIFIED, top)],
                   top_lost_reasons=[ReasonCount(reason=r.reason, count=r.count)
                                     for r in m.top_reasons(Stage.LOST, top)],
                   sla_met=m.sla_met, sla_missed=m.sla_missed, amounts=[Money.of(a) for a in m.amounts],
                   open_pipeline=None if m.open_pipeline is None else [Money.of(a) for a in m.open_pipeline])


@strawberry.type
class FunnelPeriod:
    period: str
    from_: date = strawberry.field(name="from")
    to: date
    stages: list[StageMetrics]
    side_exits: list[StageMetrics]


@strawberry.type
class FunnelGroup:
    key: str = strawberry.field(description='The source, campaign or rep; "all" when ungrouped, "(none)" if unset.')
    stages: list[StageMetrics] = strawberry.field(description="LEAD, MQL, SAL, SQL, OPPORTUNITY, CUSTOMER.")
    side_exits: list[StageMetrics] = strawberry.field(description="DISQUALIFIED, RECYCLED, LOST.")
    periods: list[FunnelPeriod]


@strawberry.type(description="The funnel over whole periods covering from..to.")
class Funnel:
    from_: date = strawberry.field(name="from")
    to: date
    grain: PeriodGrain
    group_by: MetricsGroupBy
    periods: list[str]
    groups: list[FunnelGroup]
    as_of: datetime | None = strawberry.field(default=None, description=(
        "The counters include every change up to about this time (the commit time of the newest change "
        "counted; they are added up from the change stream, usually seconds behind). Null: nothing counted yet."))

    @classmethod
    def of(cls, r: "service.FunnelReport", top: int) -> "Funnel":
        def stages(items):
            return [StageMetrics.of(m, top) for m in items]

        return cls(from_=r.start, to=r.end, grain=PeriodGrain(r.grain), group_by=MetricsGroupBy(r.group_by),
                   periods=list(r.periods),
                   groups=[FunnelGroup(key=g.key, stages=stages(g.stages), side_exits=stages(g.side_exits),
                                       periods=[FunnelPeriod(period=p.period, from_=p.start, to=p.end,
                                                             stages=stages(p.stages), side_exits=stages(p.side_exits))
                                                for p in g.periods])
                           for g in r.groups])


@strawberry.type
class CohortStage:
    stage: Stage
    reached: int
    rate: float | None = strawberry.field(description="reached / captured")


@strawberry.type(description="The leads captured in one month (and group): how many reached each stage so far.")
class Cohort:
    month: str
    group: str
    captured: int
    stages: list[CohortStage]


@strawberry.type
class CohortReport:
    from_: date = strawberry.field(name="from")
    to: date
    group_by: MetricsGroupBy
    cohorts: list[Cohort]
    as_of: datetime | None = strawberry.field(default=None, description=(
        "The counters include every change up to about this time (the commit time of the newest change "
        "counted; they are added up from the change stream, usually seconds behind). Null: nothing counted yet."))


@strawberry.type
class SlaFigures:
    period: str | None = strawberry.field(description="null for the whole range")
    met: int
    missed: int
    total: int
    compliance_rate: float | None

    @classmethod
    def of(cls, f: "service.SlaFigures") -> "SlaFigures":
        return cls(period=f.period, met=f.met, missed=f.missed, total=f.total, compliance_rate=f.compliance_rate)


@strawberry.type
class SlaGroup:
    key: str
    total: SlaFigures
    periods: list[SlaFigures]


@strawberry.type(description="Leads sales accepted (or rejected) within the SLA vs late.")
class SlaCompliance:
    from_: date = strawberry.field(name="from")
    to: date
    grain: PeriodGrain
    group_by: MetricsGroupBy
    groups: list[SlaGroup]
    as_of: datetime | None = strawberry.field(default=None, description=(
        "The counters include every change up to about this time (the commit time of the newest change "
        "counted; they are added up from the change stream, usually seconds behind). Null: nothing counted yet."))


@strawberry.type(description="A campaign's results under one attribution model, in the report's currency.")
class Attribution:
    leads: int = strawberry.field(description="Leads captured (first entries into LEAD) in the months.")
    mqls: int
    sqls: int
    customers: int
    revenue: float
    other_currency_revenue: list[Money]
    cost_per_lead: float | None
    cost_per_mql: float | None
    cost_per_sql: float | None
    cost_per_customer: float | None
    roi: float | None = strawberry.field(description="(revenue - spend) / spend")

    @classmethod
    def of(cls, a: "service.Attribution") -> "Attribution":
        return cls(leads=a.leads, mqls=a.mqls, sqls=a.sqls, customers=a.customers,
                   revenue=round(a.revenue_cents / 100, 2),
                   other_currency_revenue=[Money.of(m) for m in a.other_revenue], cost_per_lead=a.cost_per_lead,
                   cost_per_mql=a.cost_per_mql, cost_per_sql=a.cost_per_sql,
                   cost_per_customer=a.cost_per_customer, roi=a.roi)


@strawberry.type
class CampaignResult:
    campaign: str
    currency: str
    spend: float | None = strawberry.field(description="null when finance recorded no cost")
    other_currency_spend: list[Money]
    first_touch: Attribution
    last_touch: Attribution

    @classmethod
    def of(cls, r: "service.CampaignRow") -> "CampaignResult":
        return cls(campaign=r.campaign, currency=r.currency,
                   spend=None if r.spend_cents is None else round(r.spend_cents / 100, 2),
                   other_currency_spend=[Money.of(m) for m in r.other_spend],
                   first_touch=Attribution.of(r.first_touch), last_touch=Attribution.of(r.last_touch))


@strawberry.type(description="Spend, cost per stage, revenue and ROI per campaign over whole months.")
class CampaignPerformance:
    from_: date = strawberry.field(name="from")
    to: date
    currency: str
    campaigns: list[CampaignResult]
    total: CampaignResult
    as_of: datetime | None = strawberry.field(default=None, description=(
        "The counters include every change up to about this time (the commit time of the newest change "
        "counted; they are added up from the change stream, usually seconds behind). Null: nothing counted yet."))


@strawberry.type
class CampaignCostChange:
    amount: float
    currency: str
    version: int
    recorded_at: str
    recorded_by: str


@strawberry.type(description="What a campaign cost in a month, as finance recorded it.")
class CampaignCost:
    campaign: str
    period: str
    amount: float
    currency: str
    version: int
    recorded_at: str
    recorded_by: str
    previous_amount: float | None
    previous_currency: str | None
    changes: list[CampaignCostChange]

    @classmethod
    def of(cls, c: dict, changes: list[dict] | None = None) -> "CampaignCost":
        previous = c.get("previous_amount_cents")
        return cls(campaign=c["campaign"], period=c["period"], amount=round(c["amount_cents"] / 100, 2),
                   currency=c["currency"], version=c["version"], recorded_at=c["recorded_at"],
                   recorded_by=c["recorded_by"], previous_amount=None if previous is None else round(previous / 100, 2),
                   previous_currency=c.get("previous_currency"),
                   changes=[CampaignCostChange(amount=round(x["amount_cents"] / 100, 2), currency=x["currency"],
                                               version=x["version"], recorded_at=x["recorded_at"],
                                               recorded_by=x["recorded_by"]) for x in (changes or [])])


def _top(top_reasons: int) -> int:
    return max(0, min(top_reasons, MAX_TOP_REASONS))


@strawberry.type
class ControllingQuery:
    @strawberry.field(permission_classes=[READ], description=(
        "Per stage: entered, conversion to the next stage, drop-off, median and p90 time in stage, top recycle, "
        "disqualification and lost reasons. Grain: month beyond 62 days, week beyond 14, else day."))
    def funnel(self, from_: From, to: To, group_by: MetricsGroupBy = MetricsGroupBy.NONE,
               grain: PeriodGrain | None = None, top_reasons: int = 5) -> Funnel:
        from leadflow.services import controlling as service

        report = service.funnel(from_, to, group_by.value, grain.value if grain else None)
        funnel = Funnel.of(report, _top(top_reasons))
        funnel.as_of = service.counted_as_of()
        return funnel

    @strawberry.field(permission_classes=[READ],
                      description="Of the leads captured in each month, how many reached each stage so far.")
    def cohorts(self, from_: From, to: To, group_by: MetricsGroupBy = MetricsGroupBy.NONE) -> CohortReport:
        from leadflow.services import controlling as service

        r = service.cohorts(from_, to, group_by.value)
        return CohortReport(from_=r.start, to=r.end, group_by=MetricsGroupBy(r.group_by), cohorts=[
            Cohort(month=c.month, group=c.group, captured=c.captured,
                   stages=[CohortStage(stage=s.stage, reached=s.reached, rate=s.rate) for s in c.stages])
            for c in r.cohorts], as_of=service.counted_as_of())

    @strawberry.field(permission_classes=[READ], description="Acceptance within the SLA per period (and rep).")
    def sla_compliance(self, from_: From, to: To, group_by: MetricsGroupBy = MetricsGroupBy.NONE,
                       grain: PeriodGrain | None = None) -> SlaCompliance:
        from leadflow.services import controlling as service

        r = service.sla_compliance(from_, to, group_by.value, grain.value if grain else None)
        return SlaCompliance(from_=r.start, to=r.end, grain=PeriodGrain(r.grain), group_by=MetricsGroupBy(r.group_by),
                             groups=[SlaGroup(key=g.key, total=SlaFigures.of(g.total),
                                              periods=[SlaFigures.of(p) for p in g.periods]) for g in r.groups],
                             as_of=service.counted_as_of())

    @strawberry.field(permission_classes=[READ], description=(
        "Spend, cost per lead / MQL / SQL / customer, revenue won and ROI per campaign, by first and last touch, "
        "over whole months; amounts in one currency, others listed apart."))
    def campaign_performance(self, from_: From, to: To, currency: str = "EUR") -> CampaignPerformance:
        from leadflow.services import controlling as service

        r = service.campaign_performance(from_, to, currency)
        return CampaignPerformance(from_=r.start, to=r.end, currency=r.currency,
                                   campaigns=[CampaignResult.of(c) for c in r.campaigns],
                                   total=CampaignResult.of(r.total), as_of=service.counted_as_of())

    @strawberry.field(permission_classes=[READ], description="Recorded campaign costs per month with their changes.")
    def campaign_costs(self, from_: From, to: To, campaign: str | None = None) -> list[CampaignCost]:
        from leadflow.services import controlling as service

        return [CampaignCost.of(c, c["changes"]) for c in service.campaign_costs(from_, to, campaign)]

    @strawberry.field(permission_classes=[READ], description=(
        "The funnel as CSV (the same as `leadflow export metrics`): period \"total\" rows first, then per period."))
    def metrics_csv(self, from_: From, to: To, group_by: MetricsGroupBy = MetricsGroupBy.NONE,
                    grain: PeriodGrain | None = None, top_reasons: int = 5) -> str:
        from leadflow.services import controlling as service

        return service.metrics_csv(from_, to, group_by.value, grain.value if grain else None, _top(top_reasons),
                                   max_rows=MAX_CSV_ROWS)


@strawberry.type
class ControllingMutation:
    @strawberry.mutation(permission_classes=[RECORD_COSTS], description=(
        "Record what a campaign cost in a month (period YYYY-MM). Again for the same campaign and month "
        "replaces the amount; every change is kept."))
    def record_campaign_cost(self, info: strawberry.Info, campaign: str, period: str, amount: float,
                             currency: str = "EUR") -> CampaignCost:
        from leadflow.services import controlling as service

        cost = service.record_campaign_cost(principal_of(info), campaign, period, amount, currency)
        from leadflow.store.counters import cost_changes

        return CampaignCost.of(cost, cost_changes(cost["campaign"], cost["period"]))


TYPE_ROLES: dict[str, frozenset[Role]] = {
    name: AGGREGATE_READERS for name in (
        "Money", "ReasonCount", "StageCount", "StageMetrics", "FunnelPeriod", "FunnelGroup", "Funnel",
        "CohortStage", "Cohort", "CohortReport", "SlaFigures", "SlaGroup", "SlaCompliance", "Attribution",
        "CampaignResult", "CampaignPerformance", "CampaignCostChange", "CampaignCost")
}
