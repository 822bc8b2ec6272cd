"""What 10,000 leads through the funnel cost on AWS (eu-central-1), from the measured numbers.

Inputs, all measured by this benchmark: the AWS requests and DynamoDB request units of each
operation (operations.py, the "rule-set cache expired" column: at this volume an invocation
rarely finds a cache younger than 60 s), the CPU each operation spends in our code and
libraries (moto's own CPU excluded), the cold-start import time per function (coldstart.py),
the stored bytes per lead (pipeline.py), memory sizes and schedules from template.yaml.

Assumptions, all stated in the report: the funnel mix (Mix), the prices (PRICES), the latency
of each AWS request inside the Region (LATENCY_MS; Lambda bills the time it waits), how CPU
time on this machine maps to a Lambda's share of a vCPU, and the share of cold starts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tests.bench.counting import Call

REPO = Path(__file__).resolve().parents[2]
MONTH_MINUTES = 30 * 24 * 60


@dataclass(frozen=True)
class Price:
    usd: float
    per: float  # units the price is for
    unit: str
    source: str


# eu-central-1 (Frankfurt), on-demand list prices, no free tier. Checked against the AWS price
# pages as known at the time of writing (offline: re-check before quoting to anyone).
PRICES: dict[str, Price] = {
    "ddb_wru": Price(0.7625, 1e6, "write request units",
                     "DynamoDB on-demand, Standard table class; $1.525/M before the 50% cut of 2024-11-01"),
    "ddb_rru": Price(0.1525, 1e6, "read request units", "DynamoDB on-demand; $0.305/M before 2024-11-01"),
    "ddb_storage": Price(0.306, 1, "GB-month", "DynamoDB Standard table storage (indexes included)"),
    "ddb_pitr": Price(0.2448, 1, "GB-month", "point-in-time recovery (template: enabled on every table)"),
    "lambda_requests": Price(0.20, 1e6, "invocations", "Lambda requests"),
    "lambda_gbs": Price(0.0000166667, 1, "GB-seconds", "Lambda duration, x86_64 (template: Architectures x86_64)"),
    "sqs": Price(0.40, 1e6, "requests", "SQS standard queue requests (64 KB chunks)"),
    "ses": Price(0.10, 1000, "emails", "SES outbound email"),
    "events": Price(1.00, 1e6, "events", "EventBridge custom events put on a bus"),
    "apigw_http": Price(1.20, 1e6, "requests",
                        "API Gateway HTTP API, first 300M/month (us-east-1 list price: $1.00/M)"),
    "xray": Price(5.00, 1e6, "traces", "X-Ray traces recorded (template: Tracing: Active)"),
    "logs": Price(0.63, 1, "GB ingested", "CloudWatch Logs ingestion (standard class)"),
    "metrics": Price(0.30, 1, "metric-months", "CloudWatch custom metrics (Powertools EMF), first 10k"),
    "alarms": Price(0.10, 1, "alarm-months", "CloudWatch standard-resolution alarm"),
}

# Time a Lambda waits for one request inside the Region (warm HTTPS connection, p50), in ms.
LATENCY_MS: dict[tuple[str, str], float] = {
    ("dynamodb", "GetItem"): 4, ("dynamodb", "Query"): 6, ("dynamodb", "Scan"): 10,
    ("dynamodb", "PutItem"): 6, ("dynamodb", "UpdateItem"): 6, ("dynamodb", "DeleteItem"): 6,
    ("dynamodb", "BatchGetItem"): 8, ("dynamodb", "BatchWriteItem"): 10,
    ("dynamodb", "TransactWriteItems"): 12,  # + 0.5 ms per item
    ("dynamodb", "DescribeTable"): 5,
    ("sqs", "SendMessage"): 8, ("ses", "SendRawEmail"): 60, ("ses", "SendEmail"): 60,
    ("events", "PutEvents"): 15,
}
DEFAULT_LATENCY_MS = 10.0
LAMBDA_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
PLATFORM_LOG_BYTES = 350  # START, END and REPORT lines Lambda writes per invocation


@dataclass
class Mix:
    """The funnel of one month (each field: what it means)."""

    leads: int = 10_000  # form submissions captured (POST /leads, each after a CORS preflight)
    implausible: float = 0.08  # of captured: disqualified by the checks
    consent_email: float = 0.50  # of plausible: ticked the newsletter (double opt-in mail)
    doi_confirmed: float = 0.70  # of those: clicked the confirmation link -> nurtured
    mails_per_nurtured: int = 4  # journey mails per nurtured lead (nurture sweep + its worker, due lead)
    mail_engagement_per_mail: float = 0.5  # opens/clicks on journey mails recorded per mail
    events_per_lead: float = 3.0  # engagement events per plausible lead (incl. the mail ones)
    mql: float = 0.25  # of captured: become MQL (the event that crosses) and are routed
    accepted: float = 0.60  # of MQL -> SAL (the rest are rejected and recycled)
    qualified: float = 0.40  # of SAL -> SQL
    opportunity: float = 0.50  # of SQL -> OPPORTUNITY
    won: float = 0.30  # of OPPORTUNITY -> CUSTOMER (the rest lost)
    lead_views_per_mql: int = 5  # GraphQL lead(id) with history, per MQL (sales inbox, detail)
    inbox_views: int = 2_100  # GraphQL myLeads: 5 reps x 21 working days x 20
    funnel_queries: int = 100  # GraphQL controlling funnel (finance, marketing cockpit)
    cold_share_events: float = 0.20  # cold starts among event-driven invocations at this volume
    cold_share_schedules: float = 0.02  # cold starts among scheduled invocations (kept warm)

    def describe(self) -> list[tuple[str, Any, str]]:
        notes = {
            "leads": "form submissions captured (POST /leads, each after a CORS preflight OPTIONS)",
            "implausible": "of captured: disqualified by the plausibility checks",
            "consent_email": "of plausible: gave email-marketing consent (double opt-in mail)",
            "doi_confirmed": "of those: confirmed -> nurtured",
            "mails_per_nurtured": "journey mails per nurtured lead (each: a due lead in a nurture sweep, run "
                                  "by a worker)",
            "mail_engagement_per_mail": "recorded opens/clicks per journey mail (journey state updated)",
            "events_per_lead": "engagement events per plausible lead (clicks, opens, visits), via the track function",
            "mql": "of captured: become MQL and are routed",
            "accepted": "of MQL: accepted (SAL); the rest rejected and recycled",
            "qualified": "of SAL: qualified (SQL)",
            "opportunity": "of SQL: opportunity",
            "won": "of opportunities: won (the rest lost)",
            "lead_views_per_mql": "GraphQL lead(id) with history, per MQL",
            "inbox_views": "GraphQL myLeads (5 reps x 21 days x 20)",
            "funnel_queries": "GraphQL funnel queries (if the field exists)",
            "cold_share_events": "cold starts among event-driven invocations",
            "cold_share_schedules": "cold starts among scheduled invocations",
        }
        return [(f.name, getattr(self, f.name), notes[f.name]) for f in fields(self) if f.name in notes]


@dataclass
class Line:
    component: str
    quantity: float
    unit: str
    usd: float
    note: str = ""


@dataclass
class Volume:
    operation: str
    per_month: float
    function: str


@dataclass
class CostReport:
    mix: Mix
    volumes: list[Volume] = field(default_factory=list)
    variable: list[Line] = field(default_factory=list)  # caused by the 10,000 leads
    fixed: list[Line] = field(default_factory=list)  # per month whatever the leads (schedules, polling)
    per_function: dict[str, dict[str, float]] = field(default_factory=dict)  # invocations, GB-s, ms
    skipped: list[str] = field(default_factory=list)

    @property
    def variable_usd(self) -> float:
        return sum(line.usd for line in self.variable)

    @property
    def fixed_usd(self) -> float:
        return sum(line.usd for line in self.fixed)


def latency_ms(call: Call) -> float:
    base = LATENCY_MS.get((call.service, call.operation), DEFAULT_LATENCY_MS)
    if call.operation == "TransactWriteItems":
        base += 0.5 * call.items
    return base


def duration_ms(op, memory_mb: int) -> float:
    """Billed duration of one invocation: our CPU at the Lambda's share of a vCPU + waiting for AWS."""
    cpu_factor = max(1.0, LAMBDA_VCPU_MB / memory_mb)
    return op.cpu_ours_s * 1000 * cpu_factor + sum(latency_ms(c) for c in op.log.calls)


def volumes(mix: Mix, ops: dict[str, Any], schedules: dict[str, float]) -> list[tuple[str, float]]:
    """(operation name, times per month) for every measured operation."""
    plausible = mix.leads * (1 - mix.implausible)
    consent = plausible * mix.consent_email
    nurtured = consent * mix.doi_confirmed
    mails = nurtured * mix.mails_per_nurtured
    mail_engagement = mails * mix.mail_engagement_per_mail
    mql = mix.leads * mix.mql
    events = plausible * mix.events_per_lead
    sal = mql * mix.accepted
    sql = sal * mix.qualified
    opp = sql * mix.opportunity
    won = opp * mix.won
    out = [
        ("CORS preflight (OPTIONS /leads)", mix.leads),
        ("capture (POST /leads)", mix.leads),
        ("qualify: plausible, email consent (DOI mail)", consent),
        ("qualify: plausible, no consent", plausible - consent),
        ("qualify: implausible (disqualified)", mix.leads * mix.implausible),
        ("score: rescore after qualification", plausible),
        ("track: DOI confirmation link", nurtured),
        ("nurture sweep: per due lead (queued)", mails),
        ("nurture worker: 1 lead (welcome email)", mails),
        ("track: click on a mail link (redirect)", events),
        ("score: mail click (journey state updated)", mail_engagement),
        ("score: event that makes the lead an MQL", mql),
        ("score: one engagement event (no stage change)", max(0.0, events - mail_engagement - mql)),
        ("route: assign an MQL to a rep", mql),
        ("GraphQL lead(id) with history", mql * mix.lead_views_per_mql),
        ("GraphQL myLeads(stage: MQL) (rep inbox)", mix.inbox_views),
        ("sales: acceptLead (MQL->SAL)", sal),
        ("sales: rejectLead (recycle)", mql - sal),
        ("sales: qualifyLead (SAL->SQL)", sql),
        ("sales: convertToOpportunity (SQL->OPP)", opp),
        ("sales: closeOpportunity won (->CUSTOMER)", won),
        ("sales: closeOpportunity lost", opp - won),
        ("GraphQL funnel (12 months, month grain)", mix.funnel_queries),
    ]
    out += [(name, count) for name, count in schedules.items()]
    return [(name, count) for name, count in out if name in ops or name in schedules]


def schedule_counts(wiring_schedules: list[tuple[str, str]]) -> dict[str, tuple[str, float]]:
    """{function logical id: (expression, runs per month)} from template.yaml's schedules."""
    out = {}
    for function, expression in wiring_schedules:
        match = re.match(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
        if not match:
            continue
        n, unit = int(match[1]), match[2].rstrip("s")
        minutes = n * {"minute": 1, "hour": 60, "day": 1440}[unit]
        out[function] = (expression, MONTH_MINUTES / minutes)
    return out


def app_metric_count(handlers: list[str]) -> tuple[int, int]:
    """(application metric names, functions that publish metrics and so a ColdStart metric each),
    read from the source: add_metric(name="...") anywhere, and handler modules that use the
    Powertools metrics decorator (directly or through functions.common)."""
    names = set()
    for path in sorted([*(REPO / "functions").glob("*.py"), *(REPO / "leadflow").rglob("*.py")]):
        for line in path.read_text().splitlines():
            if "add_metric(" in line:
                names.update(re.findall(r'"([A-Z][A-Za-z]+)"', line))
    common = (REPO / "functions" / "common.py").read_text()
    helpers = [name for name in re.findall(r"^def (\w+)\(", common, re.M)
               if "capture_cold_start_metric=True" in common.split(f"def {name}(", 1)[1].split("\ndef ", 1)[0]]
    cold = 0
    for handler in handlers:
        path = REPO / (handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
        text = path.read_text() if path.is_file() else ""
        if "capture_cold_start_metric=True" in text or any(f"{h}(" in text for h in helpers):
            cold += 1
    return len(names), cold


def estimate(ops: dict[str, Any], *, memory: dict[str, int], schedules: dict[str, tuple[str, float]],
             cold_ms: dict[str, float], storage_bytes_per_lead: float, handlers: list[str],
             traced: set[str] | None = None, alarms: list[str] | None = None,
             mix: Mix | None = None) -> CostReport:
    """traced: functions with active X-Ray tracing (None: all); alarms: the template's alarms."""
    # ops: {operation name: OpResult} (the cache-expired column).
    mix = mix or Mix()
    report = CostReport(mix=mix)
    ops = dict(ops)
    # The sweep's cost per due lead: the sweep with one due lead minus the sweep with none.
    one, none = ops.get("nurture sweep: 1 due lead (queued)"), ops.get("nurture sweep: nothing due")
    if one is not None and none is not None:
        ops["nurture sweep: per due lead (queued)"] = _difference(one, none)
    scheduled_op = {"NurtureSweepFunction": "nurture sweep: nothing due", "SlaSweepFunction": "SLA sweep: nothing due",
                    "IntakeSweepFunction": "intake sweep: nothing stalled"}
    schedule_runs = {scheduled_op[f]: runs for f, (_, runs) in schedules.items() if f in scheduled_op}
    missing = [f for f in schedules if f not in scheduled_op]
    report.skipped += [f"{f} ({schedules[f][0]}): not measured, not in the totals" for f in missing]
    if "GraphQL funnel (12 months, month grain)" not in ops:
        report.skipped.append("GraphQL funnel: the field does not exist yet, not in the totals")

    per_function: dict[str, dict[str, float]] = {}
    totals = {"rru": 0.0, "wru": 0.0, "gsi_wru": 0.0, "sqs_sends": 0.0, "ses": 0.0, "events": 0.0, "apigw": 0.0,
              "log_bytes": 0.0}
    fixed = {"rru": 0.0, "wru": 0.0, "log_bytes": 0.0}
    for name, count in volumes(mix, ops, schedule_runs):
        op = ops[name]
        is_fixed = name in schedule_runs
        report.volumes.append(Volume(name, count, op.function))
        bucket = fixed if is_fixed else totals
        bucket["rru"] += count * op.log.rru
        bucket["wru"] += count * op.log.wru
        if not is_fixed:
            totals["gsi_wru"] += count * op.log.gsi_wru
            totals["sqs_sends"] += count * (op.log.count("sqs", "SendMessage") + op.log.count("sqs", "SendMessageBatch"))
            totals["ses"] += count * op.log.count("ses")
            totals["events"] += count * sum(1 for c in op.log.calls if c.service == "events")
            totals["apigw"] += count * (1 if op.apigw else 0)
        marginal = name == "nurture sweep: per due lead (queued)"
        invocations = 0 if marginal else count
        mem = memory.get(op.function, 512)
        ms = duration_ms(op, mem)
        stats = per_function.setdefault(op.function, {"invocations": 0.0, "gb_s": 0.0, "ms_total": 0.0,
                                                      "memory": mem, "fixed_invocations": 0.0,
                                                      "fixed_gb_s": 0.0})
        gb_s = count * math.ceil(ms) / 1000 * mem / 1024
        if is_fixed:
            stats["fixed_invocations"] += invocations
            stats["fixed_gb_s"] += gb_s
        else:
            stats["invocations"] += invocations
            stats["gb_s"] += gb_s
        stats["ms_total"] += count * ms
        bucket["log_bytes"] += count * (op.log_bytes + (0 if marginal else PLATFORM_LOG_BYTES))
    report.per_function = per_function

    # cold starts: init duration (billed since 2025-08-01 for managed runtimes too)
    cold_gbs = cold_gbs_fixed = cold_count = cold_count_fixed = 0.0
    for function, stats in per_function.items():
        init_s = cold_ms.get(function, 0.0) / 1000 * max(1.0, LAMBDA_VCPU_MB / stats["memory"])
        n = stats["invocations"] * mix.cold_share_events
        nf = stats["fixed_invocations"] * mix.cold_share_schedules
        cold_count += n
        cold_count_fixed += nf
        cold_gbs += n * init_s * stats["memory"] / 1024
        cold_gbs_fixed += nf * init_s * stats["memory"] / 1024

    invocations = sum(s["invocations"] for s in per_function.values())
    fixed_invocations = sum(s["fixed_invocations"] for s in per_function.values())
    gb_s = sum(s["gb_s"] for s in per_function.values())
    fixed_gb_s = sum(s["fixed_gb_s"] for s in per_function.values())
    # Each message consumed through an event source mapping: ReceiveMessage + DeleteMessageBatch
    # (at this volume a batch holds one message).
    sqs_requests = totals["sqs_sends"] * 3
    storage_gb = storage_bytes_per_lead * mix.leads / 1024 ** 3

    def usd(key: str, quantity: float) -> float:
        price = PRICES[key]
        return quantity / price.per * price.usd

    v = report.variable
    v.append(Line("DynamoDB writes", totals["wru"], "WRU", usd("ddb_wru", totals["wru"]),
                  f"incl. {totals['gsi_wru']:,.0f} WRU of index maintenance; transactions at 2 WRU per KB"))
    v.append(Line("DynamoDB reads", totals["rru"], "RRU", usd("ddb_rru", totals["rru"]),
                  "strongly consistent 1 RRU / 4 KB, eventual 0.5"))
    v.append(Line("DynamoDB storage (first month)", storage_gb, "GB-month", usd("ddb_storage", storage_gb),
                  f"{storage_bytes_per_lead / 1024:.1f} KB per lead incl. indexes and 100 B item overhead"))
    v.append(Line("DynamoDB point-in-time recovery", storage_gb, "GB-month", usd("ddb_pitr", storage_gb), ""))
    v.append(Line("Lambda requests", invocations, "invocations", usd("lambda_requests", invocations), ""))
    v.append(Line("Lambda duration", gb_s, "GB-s", usd("lambda_gbs", gb_s),
                  "our CPU x (1769 MB / memory) + waiting for AWS (latency table)"))
    v.append(Line("Lambda cold starts", cold_gbs, "GB-s", usd("lambda_gbs", cold_gbs),
                  f"{cold_count:,.0f} cold starts x (import + first-invocation extra) x CPU factor"))
    v.append(Line("SQS requests", sqs_requests, "requests", usd("sqs", sqs_requests),
                  f"{totals['sqs_sends']:,.0f} messages x (send + receive + delete)"))
    v.append(Line("SES mails", totals["ses"], "emails", usd("ses", totals["ses"]), "DOI + journey mails"))
    v.append(Line("EventBridge events", totals["events"], "events", usd("events", totals["events"]),
                  "domain events on the bus"))
    v.append(Line("API Gateway HTTP API", totals["apigw"], "requests", usd("apigw_http", totals["apigw"]),
                  "forms + preflights, tracking, GraphQL"))
    traced_invocations = sum(s["invocations"] for fid, s in per_function.items() if traced is None or fid in traced)
    v.append(Line("X-Ray traces", traced_invocations, "traces", usd("xray", traced_invocations),
                  "Tracing: Active; at this volume the sampler's 1/s reservoir keeps about every trace"))
    log_gb = totals["log_bytes"] / 1024 ** 3
    v.append(Line("CloudWatch Logs", log_gb, "GB", usd("logs", log_gb),
                  "measured log + EMF output per invocation + 350 B platform lines"))

    f = report.fixed
    f.append(Line("DynamoDB reads of the sweeps", fixed["rru"], "RRU", usd("ddb_rru", fixed["rru"]),
                  ", ".join(f"{name} x{runs:,.0f}" for name, runs in schedule_runs.items())))
    f.append(Line("Lambda requests of the sweeps", fixed_invocations, "invocations",
                  usd("lambda_requests", fixed_invocations), ""))
    f.append(Line("Lambda duration of the sweeps", fixed_gb_s + cold_gbs_fixed, "GB-s",
                  usd("lambda_gbs", fixed_gb_s + cold_gbs_fixed), "incl. occasional cold starts"))
    traced_fixed = sum(s["fixed_invocations"] for fid, s in per_function.items() if traced is None or fid in traced)
    f.append(Line("X-Ray traces of the sweeps", traced_fixed, "traces", usd("xray", traced_fixed),
                  "scheduled functions use Tracing: PassThrough (no trace per run)" if not traced_fixed else ""))
    fixed_log_gb = fixed["log_bytes"] / 1024 ** 3
    f.append(Line("CloudWatch Logs of the sweeps", fixed_log_gb, "GB", usd("logs", fixed_log_gb), ""))
    idle_polls = 3 * 5 * 3 * MONTH_MINUTES  # 3 queues x 5 pollers x one 20 s long poll each
    f.append(Line("SQS idle long polling (3 event source mappings)", idle_polls, "requests",
                  usd("sqs", idle_polls), "assumed: 5 pollers per queue, 20 s long polls"))
    app_metrics, cold_metric = app_metric_count(handlers)
    metric_count = app_metrics + cold_metric
    f.append(Line("CloudWatch custom metrics (EMF)", metric_count, "metrics", usd("metrics", metric_count),
                  f"{app_metrics} application metric names + ColdStart of {cold_metric} functions (from the source)"))
    alarm_names = alarms if alarms is not None else ["DeadLetterAlarm"]
    f.append(Line("CloudWatch alarms", len(alarm_names), "alarms", usd("alarms", len(alarm_names)),
                  ", ".join(alarm_names) + " (one metric each; the alarm topic has no fixed cost)"))
    return report


def _difference(one, none):
    """An OpResult-like: what the sweep spends for its one due lead."""
    from tests.bench.counting import RequestLog
    from tests.bench.operations import OpResult

    remaining = list(none.log.calls)
    extra = []
    for call in one.log.calls:
        match = next((c for c in remaining if c.label == call.label), None)
        if match is not None:
            remaining.remove(match)
        else:
            extra.append(call)
    return OpResult("nurture sweep: per due lead (queued)", one.function, RequestLog(extra),
                    max(0.0, one.cpu_ours_s - none.cpu_ours_s), max(0.0, one.cpu_moto_s - none.cpu_moto_s),
                    max(0, one.log_bytes - none.log_bytes), "sweep with one due lead minus the empty sweep")
