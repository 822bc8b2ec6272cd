"""Controlling: the funnel, cohorts, SLA compliance and campaign performance, read from
the pre-aggregated counters; campaign costs from finance; the CSV export; and the
reconciliation of the counters against the lead histories.

Every read here names its periods first and then reads only their counter items
(BatchGetItem of known keys for ungrouped reports, one Query per period when
grouped), so a report costs the same number of DynamoDB requests at a thousand
leads and at a million. Only `reconcile` scans, and it is a batch command.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from leadflow.adapters import clock
from leadflow.domain.access import Principal, Role
from leadflow.domain.controlling import (
    ALL_STAGES,
    DEFAULT_CURRENCY,
    GRAINS,
    NONE_VALUE,
    PIPELINE,
    SIDE_EXIT_ORDER,
    CounterUpdate,
    Money,
    StageMetrics,
    add_into,
    choose_grain,
    cohort_key,
    counter_key,
    counter_sort_key,
    counter_updates,
    is_counter_key,
    parse_sort_key,
    period_bounds,
    periods_between,
    ratio,
    stage_metrics,
)
from leadflow.domain.dates import check_range
from leadflow.domain.errors import ConcurrentUpdate, DomainError
from leadflow.domain.lifecycle import FUNNEL, Stage, Transition
from leadflow.settings import get_settings
from leadflow.store import counters as store

# groupBy as the API names it -> the counter dimension
GROUP_BY: dict[str, str] = {"none": "all", "source": "source", "campaign": "campaign",
                            "last_campaign": "last_campaign", "owner": "owner"}
MAX_PERIODS = 400  # bounds the requests of one report (e.g. 13 months of days)
COST_WRITERS = (Role.FINANCE, Role.ADMIN)
_PERIOD_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = 10 ** 12  # in currency units


class InvalidMetricsRequest(DomainError):
    code = "invalid_metrics_request"


# --- ranges --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    """The requested dates snapped outward to whole periods of the grain."""

    start: date
    end: date
    grain: str
    periods: tuple[str, ...]


def resolve_range(start: date, end: date, grain: str | None = None) -> Range:
    check_range(start, end, get_settings().max_report_days)
    grain = grain or choose_grain(start, end)
    if grain not in GRAINS:
        raise InvalidMetricsRequest(f"grain must be one of {', '.join(GRAINS)}", field="grain")
    periods = periods_between(grain, start, end)
    if len(periods) > MAX_PERIODS:
        raise InvalidMetricsRequest(f"{len(periods)} {grain}s are more than {MAX_PERIODS} periods: "
                                    "choose a coarser grain or a shorter range", field="grain")
    return Range(period_bounds(grain, periods[0])[0], period_bounds(grain, periods[-1])[1], grain, tuple(periods))


def _dimension(group_by: str) -> str:
    try:
        return GROUP_BY[group_by]
    except KeyError:
        raise InvalidMetricsRequest(f"groupBy must be one of {', '.join(GROUP_BY)}", field="groupBy") from None


def _read(pks: list[str], dimension: str, stages: Iterable[Stage] = ALL_STAGES
          ) -> dict[tuple[str, str, str], dict[str, int]]:
    """{(pk, dimension value, stage): attributes} of the partitions, for one dimension."""
    if dimension == "all":
        items = store.get_items([(pk, counter_sort_key(s.value, "all", "all")) for pk in pks for s in stages
                                 if pk != PIPELINE or s is Stage.OPPORTUNITY])  # the pipeline has one stage
    else:
        items = store.query_partitions(pks)
    out: dict[tuple[str, str, str], dict[str, int]] = {}
    for (pk, sk), attributes in items.items():
        stage, dim, value = parse_sort_key(sk)
        if dim == dimension:
            out[(pk, value, stage)] = attributes
    return out


def _group_order(values: Iterable[str], size: Mapping[str, int]) -> list[str]:
    """Largest group first, "(none)" last."""
    return sorted(set(values), key=lambda v: (v == NONE_VALUE, -size.get(v, 0), v))


# --- funnel --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FunnelPeriod:
    period: str
    start: date
    end: date
    stages: list[StageMetrics]
    side_exits: list[StageMetrics]


@dataclass(frozen=True)
class FunnelGroup:
    key: str
    stages: list[StageMetrics]
    side_exits: list[StageMetrics]
    periods: list[FunnelPeriod]


@dataclass(frozen=True)
class FunnelReport:
    start: date
    end: date
    grain: str
    group_by: str
    periods: tuple[str, ...]
    groups: list[FunnelGroup]


def _metrics(attributes_of: Mapping[str, dict[str, int]]) -> tuple[list[StageMetrics], list[StageMetrics]]:
    return ([stage_metrics(s, attributes_of.get(s.value, {})) for s in FUNNEL],
            [stage_metrics(s, attributes_of.get(s.value, {})) for s in SIDE_EXIT_ORDER])


def counted_as_of() -> datetime | None:
    """The counters are added up from the change stream (seconds behind the commits): the time of
    the newest change they include, which every report shows as its "as of"."""
    value = store.counted_as_of()
    return datetime.fromisoformat(value) if value else None


def funnel(start: date, end: date, group_by: str = "none", grain: str | None = None) -> FunnelReport:
    """Per stage (and group): entered, conversion to the next stage, drop-off, time in stage, reasons;
    on OPPORTUNITY also the open pipeline (now, whatever the range)."""
    dimension = _dimension(group_by)
    rng = resolve_range(start, end, grain)
    pks = [counter_key(rng.grain, p) for p in rng.periods]
    items = _read([*pks, PIPELINE], dimension)  # the pipeline item in the same requests
    totals: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    per_period: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(dict)
    pipeline: dict[str, tuple[Money, ...]] = {}
    for (pk, value, stage), attributes in items.items():
        if pk == PIPELINE:
            if stage == Stage.OPPORTUNITY.value:
                pipeline[value] = stage_metrics(Stage.OPPORTUNITY, attributes).amounts
            continue
        add_into(totals[value][stage], attributes)
        per_period[(value, pk)][stage] = attributes
    size = {v: stages.get(Stage.LEAD.value, {}).get("entered", 0) for v, stages in totals.items()}
    values = ["all"] if dimension == "all" else _group_order(totals, size)
    groups = []
    for value in values:
        stages, side_exits = _metrics(totals.get(value, {}))
        stages = [replace(m, open_pipeline=pipeline.get(value, ())) if m.stage is Stage.OPPORTUNITY else m
                  for m in stages]
        periods = []
        for period, pk in zip(rng.periods, pks):
            p_stages, p_side = _metrics(per_period.get((value, pk), {}))
            first, last = period_bounds(rng.grain, period)
            periods.append(FunnelPeriod(period, first, last, p_stages, p_side))
        groups.append(FunnelGroup(value, stages, side_exits, periods))
    return FunnelReport(rng.start, rng.end, rng.grain, group_by, rng.periods, groups)


# --- cohorts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CohortStage:
    stage: Stage
    reached: int
    rate: float | None  # reached / captured


@dataclass(frozen=True)
class Cohort:
    month: str
    group: str
    captured: int
    stages: list[CohortStage]


@dataclass(frozen=True)
class CohortReport:
    start: date
    end: date
    group_by: str
    cohorts: list[Cohort]


def cohorts(start: date, end: date, group_by: str = "none") -> CohortReport:
    """Of the leads captured in each month, how many reached each stage so far."""
    dimension = _dimension(group_by)
    rng = resolve_range(start, end, "month")
    items = _read([cohort_key(m) for m in rng.periods], dimension)
    reached: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for (pk, value, stage), attributes in items.items():
        reached[(pk, value)][stage] = attributes.get("reached", 0)
    rows = []
    for month in rng.periods:
        pk = cohort_key(month)
        found = {v for p, v in reached if p == pk}
        size = {v: reached[(pk, v)].get(Stage.LEAD.value, 0) for v in found}
        for value in (["all"] if dimension == "all" else _group_order(found, size)):
            counts = reached.get((pk, value), {})
            captured = counts.get(Stage.LEAD.value, 0)
            rows.append(Cohort(month, value, captured,
                               [CohortStage(s, counts.get(s.value, 0), ratio(counts.get(s.value, 0), captured))
                                for s in ALL_STAGES]))
    return CohortReport(rng.start, rng.end, group_by, rows)


# --- SLA compliance ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlaFigures:
    period: str | None  # None: the whole range
    met: int
    missed: int

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def compliance_rate(self) -> float | None:
        return ratio(self.met, self.total)


@dataclass(frozen=True)
class SlaGroup:
    key: str
    total: SlaFigures
    periods: list[SlaFigures]


@dataclass(frozen=True)
class SlaReport:
    start: date
    end: date
    grain: str
    group_by: str
    groups: list[SlaGroup]


def sla_compliance(start: date, end: date, group_by: str = "none", grain: str | None = None) -> SlaReport:
    """Leads accepted (or rejected) by sales within the SLA vs late, per period and group."""
    dimension = _dimension(group_by)
    rng = resolve_range(start, end, grain)
    pks = [counter_key(rng.grain, p) for p in rng.periods]
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (pk, value, _stage), attributes in _read(pks, dimension, FUNNEL).items():
        sums[(value, pk)][0] += attributes.get("sla_met", 0)
        sums[(value, pk)][1] += attributes.get("sla_missed", 0)
    found = {v for v, _ in sums}
    size = {v: sum(sum(c) for (vv, _), c in sums.items() if vv == v) for v in found}
    groups = []
    for value in (["all"] if dimension == "all" else _group_order(found, size)):
        periods = [SlaFigures(p, *sums.get((value, pk), (0, 0))) for p, pk in zip(rng.periods, pks)]
        groups.append(SlaGroup(value, SlaFigures(None, sum(p.met for p in periods), sum(p.missed for p in periods)),
                               periods))
    return SlaReport(rng.start, rng.end, rng.grain, group_by, groups)


# --- campaign costs ------------------------------------------------------------------------------

def _check_period(period: str) -> str:
    period = (period or "").strip()
    match = _PERIOD_MONTH.match(period)
    this_year = clock.now().year
    if not match or not 2000 <= int(match.group(1)) <= this_year + 1:
        raise InvalidMetricsRequest(f"period must be a month like 2026-11 (YYYY-MM), from 2000 to {this_year + 1}",
                                    field="period")
    return period


KNOWN_CAMPAIGN_MONTHS = 24  # a campaign is known if leads came with it in the 24 months up to the period


def _check_known_campaign(campaign: str, period: str) -> None:
    """A cost for a campaign no lead ever came with is a typo (or the wrong UTM name): its spend
    would match no leads, and the campaign's ROI would be wrong. Known: leads arrived with it
    (first or last touch) in the months before, or a cost was recorded for it already."""
    last = max(period, f"{clock.now():%Y-%m}")
    first = period_bounds("month", period)[0]
    start = date(first.year - KNOWN_CAMPAIGN_MONTHS // 12, first.month, 1)
    months = periods_between("month", start, period_bounds("month", last)[1])
    # first touch: the lead entered LEAD with it; last touch: it reached some stage with it
    sort_keys = [counter_sort_key(Stage.LEAD.value, "campaign", campaign)]
    sort_keys += [counter_sort_key(s.value, "last_campaign", campaign) for s in ALL_STAGES]
    keys = [(counter_key("month", m), sk) for m in months for sk in sort_keys]
    if store.get_items(keys) or store.cost_changes(campaign):
        return
    raise InvalidMetricsRequest(f"unknown campaign {campaign!r}: no lead came with it from {start:%Y-%m} to {last} "
                                "(check the UTM name, e.g. in the campaignPerformance report)", field="campaign")


def _check_campaign(campaign: str) -> str:
    campaign = (campaign or "").strip()
    if not campaign or len(campaign) > 200 or any(ord(c) < 32 for c in campaign) or campaign == NONE_VALUE:
        raise InvalidMetricsRequest("campaign must be the campaign's UTM name (1 to 200 characters)",
                                    field="campaign")
    return campaign


def _check_currency(currency: str | None) -> str:
    currency = (currency or DEFAULT_CURRENCY).strip().upper()
    if not _CURRENCY.match(currency):
        raise InvalidMetricsRequest("currency must be an ISO 4217 code such as EUR", field="currency")
    return currency


def record_campaign_cost(principal: Principal, campaign: str, period: str, amount: float,
                         currency: str | None = DEFAULT_CURRENCY) -> dict[str, Any]:
    """Finance records what a campaign cost in a month. Recording campaign+month again replaces
    the amount (the same amount again changes nothing); every change is logged."""
    principal.require(*COST_WRITERS)
    campaign, period, currency = _check_campaign(campaign), _check_period(period), _check_currency(currency)
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount) \
            or amount < 0 or amount > MAX_AMOUNT:
        raise InvalidMetricsRequest("amount must be a number from 0 to 10^12", field="amount")
    _check_known_campaign(campaign, period)
    cents = round(amount * 100)
    for _ in range(5):
        previous = store.get_cost(period, campaign)
        if previous and previous["amount_cents"] == cents and previous["currency"] == currency:
            return previous
        try:
            return store.put_cost(period=period, campaign=campaign, amount_cents=cents, currency=currency,
                                  recorded_at=clock.now().isoformat(timespec="milliseconds"),
                                  recorded_by=principal.user_id, previous=previous)
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(f"the cost of {campaign} in {period} keeps changing; retry")


def campaign_costs(start: date, end: date, campaign: str | None = None) -> list[dict[str, Any]]:
    """The costs in force per campaign and month, each with its change log."""
    rng = resolve_range(start, end, "month")
    costs = store.costs_in(rng.periods)
    out = []
    for (period, name), cost in sorted(costs.items()):
        if campaign and name != campaign:
            continue
        out.append({**cost, "changes": store.cost_changes(name, period)})
    return out


# --- campaign performance ------------------------------------------------------------------------

@dataclass(frozen=True)
class Attribution:
    leads: int
    mqls: int
    sqls: int
    customers: int
    revenue_cents: int
    other_revenue: tuple[Money, ...]
    cost_per_lead: float | None
    cost_per_mql: float | None
    cost_per_sql: float | None
    cost_per_customer: float | None
    roi: float | None  # (revenue - spend) / spend


@dataclass(frozen=True)
class CampaignRow:
    campaign: str
    currency: str
    spend_cents: int | None  # None: no cost recorded
    other_spend: tuple[Money, ...]
    first_touch: Attribution
    last_touch: Attribution


@dataclass(frozen=True)
class CampaignReport:
    start: date
    end: date
    currency: str
    campaigns: list[CampaignRow]
    total: CampaignRow


def _per(spend: int | None, count: int) -> float | None:
    return round(spend / count / 100, 2) if spend is not None and count else None


def _attribution(stages: Mapping[str, dict[str, int]], spend: int | None, currency: str) -> Attribution:
    def first(stage: Stage) -> int:
        return stages.get(stage.value, {}).get("first", 0)

    won = stages.get(Stage.CUSTOMER.value, {})
    revenue = won.get(f"amt_{currency}", 0)
    other = tuple(Money(k[4:], v) for k, v in sorted(won.items()) if k.startswith("amt_") and k[4:] != currency and v)
    leads, mqls, sqls, customers = (first(s) for s in (Stage.LEAD, Stage.MQL, Stage.SQL, Stage.CUSTOMER))
    roi = round((revenue - spend) / spend, 4) if spend else None
    return Attribution(leads, mqls, sqls, customers, revenue, other, _per(spend, leads), _per(spend, mqls),
                       _per(spend, sqls), _per(spend, customers), roi)


def campaign_performance(start: date, end: date, currency: str | None = DEFAULT_CURRENCY) -> CampaignReport:
    """Spend, cost per lead / MQL / SQL / customer, revenue won and ROI per campaign, by first and by
    last touch. Counts are first entries into a stage within the months; amounts in `currency` only
    (other currencies are listed apart, never converted)."""
    currency = _check_currency(currency)
    rng = resolve_range(start, end, "month")
    pks = [counter_key("month", p) for p in rng.periods]
    touch: dict[str, dict[str, dict[str, dict[str, int]]]] = {
        d: defaultdict(lambda: defaultdict(dict)) for d in ("campaign", "last_campaign", "all")}
    for (_pk, sk), attributes in store.query_partitions(pks).items():
        stage, dim, value = parse_sort_key(sk)
        if dim in touch:
            add_into(touch[dim][value][stage], attributes)
    spend: dict[str, int] = defaultdict(int)
    other: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_period, name), cost in store.costs_in(rng.periods).items():
        if cost["currency"] == currency:
            spend[name] += cost["amount_cents"]
        else:
            other[name][cost["currency"]] += cost["amount_cents"]
    names = set(spend) | set(other) | set(touch["campaign"]) | set(touch["last_campaign"])

    def row(name: str, first: Mapping, last: Mapping, cents: int | None, others: Mapping[str, int]) -> CampaignRow:
        return CampaignRow(name, currency, cents, tuple(Money(c, v) for c, v in sorted(others.items())),
                           _attribution(first, cents, currency), _attribution(last, cents, currency))

    rows = [row(n, touch["campaign"].get(n, {}), touch["last_campaign"].get(n, {}), spend.get(n),
                other.get(n, {})) for n in names]
    rows.sort(key=lambda r: (r.campaign == NONE_VALUE, -(r.spend_cents or 0), -r.first_touch.leads, r.campaign))
    total_other: dict[str, int] = defaultdict(int)
    for per_currency in other.values():
        for c, v in per_currency.items():
            total_other[c] += v
    everyone = touch["all"].get("all", {})
    total = row("(total)", everyone, everyone, sum(spend.values()) if spend else None, total_other)
    return CampaignReport(rng.start, rng.end, currency, rows, total)


# --- CSV -----------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "period", "period_start", "period_end", "grain", "group_by", "group", "stage", "entered",
    "entered_first_time", "exited", "moved_on", "conversion_rate", "drop_off", "drop_off_rate",
    "median_hours_in_stage", "p90_hours_in_stage", "time_in_stage_samples", "sla_met", "sla_missed",
    "amounts", "top_recycle_reasons", "top_disqualification_reasons", "top_lost_reasons", "open_pipeline",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # never a formula in a spreadsheet
    return str(value)


def _reasons(metrics: StageMetrics, exit_stage: Stage, top: int) -> str:
    return ";".join(f"{r.reason}={r.count}" for r in metrics.top_reasons(exit_stage, top))


def _csv_row(report: FunnelReport, period: str, start: date, end: date, group: str, m: StageMetrics,
             top: int) -> list[str]:
    values = [period, start.isoformat(), end.isoformat(), report.grain, report.group_by, group, m.stage.value,
              m.entered, m.entered_first_time, m.exited, m.moved_on, m.conversion_rate, m.drop_off,
              m.drop_off_rate, m.median_hours, m.p90_hours, m.time_samples, m.sla_met, m.sla_missed,
              ";".join(f"{a.currency}={a.amount:.2f}" for a in m.amounts),
              _reasons(m, Stage.RECYCLED, top), _reasons(m, Stage.DISQUALIFIED, top), _reasons(m, Stage.LOST, top),
              None if m.open_pipeline is None else ";".join(f"{a.currency}={a.amount:.2f}" for a in m.open_pipeline)]
    return [_cell(v) for v in values]


def funnel_csv(report: FunnelReport, top_reasons: int = 5) -> str:
    """The funnel as CSV: first the rows of the whole range (period "total"), then one row per
    period, group and stage. The same numbers the `funnel` query returns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for group in report.groups:
        for m in [*group.stages, *group.side_exits]:
            writer.writerow(_csv_row(report, "total", report.start, report.end, group.key, m, top_reasons))
    for group in report.groups:
        for p in group.periods:
            for m in [*p.stages, *p.side_exits]:
                writer.writerow(_csv_row(report, p.period, p.start, p.end, group.key, m, top_reasons))
    return out.getvalue()


def metrics_csv(start: date, end: date, group_by: str = "none", grain: str | None = None,
                top_reasons: int = 5, max_rows: int | None = None) -> str:
    """The funnel CSV; with `max_rows`, refuse a file larger than that (the GraphQL answer must fit
    a Lambda response; the CLI writes any size)."""
    report = funnel(start, end, group_by, grain)
    rows = len(report.groups) * (1 + len(report.periods)) * len(ALL_STAGES)
    if max_rows is not None and rows > max_rows:
        raise InvalidMetricsRequest(f"{rows} rows are more than {max_rows}: choose a coarser grain, a shorter "
                                    "range or `leadflow export metrics`", field="grain")
    return funnel_csv(report, top_reasons)


# --- reconciliation ------------------------------------------------------------------------------

Key = tuple[str, str]


@dataclass(frozen=True)
class Drift:
    pk: str
    sk: str
    attribute: str
    expected: int  # recounted from the histories
    actual: int  # stored


@dataclass
class ReconcileReport:
    leads: int = 0
    transitions: int = 0
    approximate: int = 0  # transitions whose history did not record the dimensions
    compared_items: int = 0
    drift: list[Drift] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drift


def _dims_of_lead(lead) -> dict[str, str | None]:
    return {"source": lead.source, "campaign": lead.campaign,
            "last_campaign": lead.last_campaign or lead.campaign, "owner": lead.owner_id}


def recount(histories: Mapping[str, list], tz: str, lead_dims: Mapping[str, Mapping[str, str | None]] | None = None
            ) -> tuple[dict[Key, dict[str, int]], int]:
    """The counters the stage histories imply, through the same `counter_updates` the transitions
    use. Returns (counters, number of transitions recounted with guessed dimensions).

    Dimensions: the history's `details["dims"]` (what the transition counted) when recorded; the
    capture entry's source and campaign; else the lead's current values (`lead_dims`)."""
    lead_dims = lead_dims or {}
    expected: dict[Key, dict[str, int]] = defaultdict(dict)
    approximate = 0
    for lead_id, entries in histories.items():
        entries = sorted(entries, key=lambda h: int(h.seq))
        captured_at = entered_at = None
        reached: set[str] = set()
        capture_dims: dict[str, str | None] = {}
        for h in entries:
            details = h.details if isinstance(h.details, dict) else {}
            from_stage = Stage(h.from_stage) if h.from_stage else None
            if from_stage is None and captured_at is None:
                captured_at = h.at
                capture_dims = {"source": details.get("source"), "campaign": details.get("campaign"),
                                "last_campaign": None, "owner": None}
            dims = details.get("dims")
            if not isinstance(dims, dict):
                if from_stage is None:
                    dims = capture_dims
                else:
                    dims = lead_dims.get(lead_id) or capture_dims
                    approximate += 1
            to_stage = Stage(h.to_stage)
            updates: list[CounterUpdate] = counter_updates(
                Transition(lead_id, from_stage, to_stage, h.at, h.actor, h.reason), dims, tz,
                entered_from_stage_at=entered_at, captured_at=captured_at or h.at,
                first_time_in_stage=to_stage.value not in reached, details=details)
            for update in updates:
                add_into(expected[(update.pk, update.sk)], update.increments)
            reached.add(to_stage.value)
            entered_at = h.at
    return expected, approximate


def _in_range(pk: str, start: date | None, end: date | None) -> bool:
    if start is None and end is None:
        return True
    if pk == PIPELINE:  # a running total over all time: compared only without a range
        return False
    kind, period = pk.split("#", 1)
    grain = "month" if kind == "cohort" else kind
    first, last = period_bounds(grain, period)
    return (start is None or first >= start) and (end is None or last <= end)


def reconcile(start: date | None = None, end: date | None = None) -> ReconcileReport:
    """Recount every counter from the stage histories and compare with the stored counters.
    With start/end, only the periods lying entirely within them are compared."""
    histories: dict[str, list] = defaultdict(list)
    for entry in store.scan_stage_history():
        histories[entry.lead_id].append(entry)
    needs_lead = [lead_id for lead_id, entries in histories.items()
                  if any(e.from_stage and not (isinstance(e.details, dict) and isinstance(e.details.get("dims"), dict))
                         for e in entries)]
    lead_dims = {lead_id: _dims_of_lead(lead) for lead_id, lead in store.leads_by_id(needs_lead).items()}
    expected, approximate = recount(histories, get_settings().company_timezone, lead_dims)
    actual = store.scan_counter_items(is_counter_key)
    report = ReconcileReport(leads=len(histories), transitions=sum(len(v) for v in histories.values()),
                             approximate=approximate)
    for key in sorted(set(expected) | set(actual)):
        if not _in_range(key[0], start, end):
            continue
        report.compared_items += 1
        want, have = expected.get(key, {}), actual.get(key, {})
        for attribute in sorted(set(want) | set(have)):
            if want.get(attribute, 0) != have.get(attribute, 0):
                report.drift.append(Drift(key[0], key[1], attribute, want.get(attribute, 0), have.get(attribute, 0)))
    return report


def parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidMetricsRequest(f"{name} must be a date like 2026-11-22", field=name) from None

