"""What 10,000 leads through the funnel cost on AWS (eu-central-1), from the measured numbers.

Inputs, all measured by this benchmark: the AWS requests and DynamoDB request units of each
operation (operations.py, the "rule-set cache expired" column: at this volume an invocation
rarely finds a cache younger than 60 s) and of the outbox stream consumer invocations it causes
(RelayFunction: events and work messages; CountersFunction: the funnel counters), the CPU each
spends in our code and libraries (moto's own CPU excluded), the cold-start import time per
function (coldstart.py), the stored bytes per lead (pipeline.py). From template.yaml
(template_facts): memory sizes, schedules, tracing, the SQS and stream event source mappings,
the alarms and the X-Ray sampling rule.

Assumptions, all stated in the report: the funnel mix (Mix), the prices (PRICES), the latency
of each AWS request inside the Region (LATENCY_MS; Lambda bills the time it waits), how CPU
time on this machine maps to a Lambda's share of a vCPU, the share of cold starts, the stream
batch (at this volume a consumer's batch holds the records of one operation: operations.py
measures exactly that), Lambda's idle SQS pollers, and requests spread evenly for X-Ray sampling.
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
VARIABLE_GOAL_USD = 1.0  # per 10,000 leads, SES excluded (issue 12 point 9)
FIXED_GOAL_USD = 1.0  # per month (issue 11 point 10)


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
    ses: bool = False  # SES mails: outside the "variable cost without SES" goal


@dataclass
class Volume:
    operation: str
    per_month: float
    function: str
    follow_ups: str = ""  # the stream consumer invocations each one causes


@dataclass(frozen=True)
class Sampling:
    """The X-Ray sampling rule the traced invocations fall under."""

    rule: str
    reservoir_per_s: float
    fixed_rate: float
    source: str  # where it comes from


DEFAULT_SAMPLING = Sampling("default", 1.0, 0.05, "no AWS::XRay::SamplingRule in template.yaml: X-Ray's default rule")
MONTH_SECONDS = MONTH_MINUTES * 60
SQS_POLLERS = 5  # Lambda's pollers per SQS event source mapping when idle (AWS: "five parallel long polls")
SQS_LONG_POLL_S = 20  # each one long poll of 20 s


@dataclass
class TemplateFacts:
    """What the cost depends on in template.yaml (read from the transformed template)."""

    memory: dict[str, int]
    schedules: dict[str, tuple[str, float]]  # function: (expression, runs per month)
    traced: set[str]  # functions with Tracing: Active
    alarms: list[str]
    sqs_mappings: list[tuple[str, str]]  # (function, queue) of each SQS event source mapping
    stream_mappings: list[tuple[str, str, int, float]]  # (function, table, batch size, batching window s)
    sampling: Sampling = DEFAULT_SAMPLING
    queues: list[str] = field(default_factory=list)


def _target(value: Any) -> str:
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else str(att).split(".", 1)[0]
    return str(value)


def sampling_of(resources: dict[str, Any]) -> Sampling:
    """The template's sampling rule (the one with the lowest Priority number wins), else the default."""
    rules = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::XRay::SamplingRule":
            continue
        props = resource.get("Properties", {})
        rule = props.get("SamplingRule") or props.get("SamplingRuleUpdate") or {}
        rules.append((int(rule.get("Priority", 10_000)), logical_id, rule))
    if not rules:
        return DEFAULT_SAMPLING
    rules.sort(key=lambda r: r[0])
    priority, logical_id, rule = rules[0]
    others = f"; {len(rules) - 1} more rule(s) of lower precedence ignored" if len(rules) > 1 else ""
    return Sampling(str(rule.get("RuleName", logical_id)), float(rule.get("ReservoirSize", 0)),
                    float(rule.get("FixedRate", 0.0)),
                    f"template.yaml {logical_id} (priority {priority}), applied to every traced invocation{others}")


def template_facts(wiring) -> TemplateFacts:
    resources = wiring.resources
    functions = wiring.functions
    sqs, streams = [], []
    for mapping in resources_of(resources, "AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        function = _target(props.get("FunctionName"))
        source = props.get("EventSourceArn")
        attribute = source.get("Fn::GetAtt", [None, None])[1] if isinstance(source, dict) else ""
        target = _target(source)
        if attribute == "StreamArn" or resources.get(target, {}).get("Type") == "AWS::DynamoDB::Table":
            streams.append((function, target, int(props.get("BatchSize", 100)),
                            float(props.get("MaximumBatchingWindowInSeconds", 0))))
        elif resources.get(target, {}).get("Type") == "AWS::SQS::Queue":
            sqs.append((function, target))
    return TemplateFacts(
        memory={fid: int(resources[fid]["Properties"].get("MemorySize", 128)) for fid in functions},
        schedules=schedule_counts([(s.function, s.expression) for s in wiring.schedules]),
        traced={fid for fid in functions
                if resources[fid]["Properties"].get("TracingConfig", {}).get("Mode") == "Active"},
        alarms=sorted(resources_of(resources, "AWS::CloudWatch::Alarm")),
        sqs_mappings=sorted(sqs), stream_mappings=sorted(streams), sampling=sampling_of(resources),
        queues=sorted(resources_of(resources, "AWS::SQS::Queue")))


def resources_of(resources: dict[str, Any], cfn_type: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v.get("Type") == cfn_type}


def sampled_traces(requests: float, sampling: Sampling) -> float:
    """Traces X-Ray records of `requests` spread evenly (Poisson) over the month: per second the
    reservoir's first requests, then fixed_rate of the rest. Even spread is the upper bound: bursts
    overflow the reservoir and are sampled at the fixed rate."""
    if requests <= 0:
        return 0.0
    lam = requests / MONTH_SECONDS
    reservoir = int(sampling.reservoir_per_s)
    below, expected, p = 0.0, 0.0, math.exp(-lam)
    for k in range(reservoir):  # E[min(K, R)] = sum_{k<R} k p(k) + R P(K >= R)
        expected += k * p
        below += p
        p *= lam / (k + 1)
    expected += reservoir * (1 - below)
    kept = min(requests, MONTH_SECONDS * expected)
    return kept + sampling.fixed_rate * (requests - kept)


@dataclass
class CostReport:
    mix: Mix
    facts: TemplateFacts | None = None
    volumes: list[Volume] = field(default_factory=list)
    variable: list[Line] = field(default_factory=list)  # caused by the 10,000 leads
    fixed: list[Line] = field(default_factory=list)  # per month whatever the leads (schedules, polling)
    per_function: dict[str, dict[str, float]] = field(default_factory=dict)  # invocations, GB-s, ms, units
    skipped: list[str] = field(default_factory=list)
    consumer_records: dict[str, float] = field(default_factory=dict)  # outbox records a month per consumer
    consumer_batches_per_month: float = 0.0

    @property
    def variable_usd(self) -> float:
        return sum(line.usd for line in self.variable)

    @property
    def variable_usd_without_ses(self) -> float:
        return sum(line.usd for line in self.variable if not line.ses)

    @property
    def fixed_usd(self) -> float:
        return sum(line.usd for line in self.fixed)

    def biggest(self, lines: list[Line], n: int = 3) -> list[Line]:
        return sorted((line for line in lines if not line.ses and line.usd > 0), key=lambda x: -x.usd)[:n]


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
    implausible = mix.leads * mix.implausible
    out = [
        ("CORS preflight (OPTIONS /leads)", mix.leads),
        ("capture (POST /leads)", mix.leads),
        ("qualify 1: plausible, email consent (verdict)", consent),
        ("qualify 2: after verdict, email consent (DOI mail)", consent),
        ("qualify 1: plausible, no consent (verdict)", plausible - consent),
        ("qualify 2: after verdict, no consent", plausible - consent),
        ("qualify 1: implausible (verdict)", implausible),
        ("qualify 2: after verdict, implausible (disqualified)", implausible),
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


@dataclass
class _Invocation:
    """One Lambda invocation an operation consists of or causes."""

    function: str
    log: Any  # RequestLog
    cpu_ours_s: float
    log_bytes: int
    consumer: bool  # a stream consumer invoked by the operation's outbox records
    records: int = 0


def _invocations(op) -> list[_Invocation]:
    own = [_Invocation(op.function, op.log, op.cpu_ours_s, op.log_bytes, False)]
    return own + [_Invocation(f.function, f.log, f.cpu_ours_s, f.log_bytes, True, f.records)
                  for f in getattr(op, "follow_ups", [])]


def estimate(ops: dict[str, Any], *, facts: TemplateFacts, cold_ms: dict[str, float],
             storage_bytes_per_lead: float, handlers: list[str], mix: Mix | None = None) -> CostReport:
    """ops: {operation name: OpResult} (the cache-expired column), each with the stream consumer
    invocations it caused (its follow-ups)."""
    mix = mix or Mix()
    report = CostReport(mix=mix, facts=facts)
    ops = dict(ops)
    memory, schedules, traced = facts.memory, facts.schedules, facts.traced
    consumers = {function for function, *_ in facts.stream_mappings}
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
    keys = ("rru", "wru", "gsi_wru", "sqs_sends", "sqs_messages", "ses", "events", "apigw", "log_bytes")
    totals = {"ops": dict.fromkeys(keys, 0.0), "consumers": dict.fromkeys(keys, 0.0), "fixed": dict.fromkeys(keys, 0.0)}
    for name, count in volumes(mix, ops, schedule_runs):
        op = ops[name]
        is_fixed = name in schedule_runs
        marginal = name == "nurture sweep: per due lead (queued)"
        follow = ", ".join(f"{f.function.removesuffix('Function')} ×{n}" for f, n in _grouped(op))
        report.volumes.append(Volume(name, count, op.function, follow))
        if not is_fixed and op.apigw:
            totals["ops"]["apigw"] += count
        for inv in _invocations(op):
            bucket = totals["fixed"] if is_fixed else totals["consumers" if inv.consumer else "ops"]
            log = inv.log
            bucket["rru"] += count * log.rru
            bucket["wru"] += count * log.wru
            bucket["gsi_wru"] += count * log.gsi_wru
            bucket["sqs_sends"] += count * log.sqs_sends
            bucket["sqs_messages"] += count * log.sqs_messages
            bucket["ses"] += count * log.count("ses")
            bucket["events"] += count * log.events_put
            own_marginal = marginal and not inv.consumer
            bucket["log_bytes"] += count * (inv.log_bytes + (0 if own_marginal else PLATFORM_LOG_BYTES))
            mem = memory.get(inv.function, 512)
            ms = duration_ms(inv, mem)
            stats = per_function.setdefault(inv.function, {
                "invocations": 0.0, "gb_s": 0.0, "ms_total": 0.0, "memory": mem, "fixed_invocations": 0.0,
                "fixed_gb_s": 0.0, "rru": 0.0, "wru": 0.0, "records": 0.0})
            invocations = 0 if own_marginal else count
            gb_s = count * math.ceil(ms) / 1000 * mem / 1024
            if is_fixed:
                stats["fixed_invocations"] += invocations
                stats["fixed_gb_s"] += gb_s
            else:
                stats["invocations"] += invocations
                stats["gb_s"] += gb_s
                stats["rru"] += count * log.rru
                stats["wru"] += count * log.wru
                stats["records"] += count * inv.records
            stats["ms_total"] += count * ms
    report.per_function = per_function
    report.consumer_records = {f: s["records"] for f, s in per_function.items() if f in consumers}
    report.consumer_batches_per_month = sum(s["invocations"] for f, s in per_function.items() if f in consumers)

    # cold starts: init duration (billed since 2025-08-01 for managed runtimes too)
    cold_gbs = {"ops": 0.0, "consumers": 0.0}
    cold_gbs_fixed = cold_count = 0.0
    for function, stats in per_function.items():
        init_s = cold_ms.get(function, 0.0) / 1000 * max(1.0, LAMBDA_VCPU_MB / stats["memory"])
        n = stats["invocations"] * mix.cold_share_events
        cold_count += n
        cold_gbs["consumers" if function in consumers else "ops"] += n * init_s * stats["memory"] / 1024
        cold_gbs_fixed += stats["fixed_invocations"] * mix.cold_share_schedules * init_s * stats["memory"] / 1024
        stats["cold_gb_s"] = n * init_s * stats["memory"] / 1024

    def usd(key: str, quantity: float) -> float:
        price = PRICES[key]
        return quantity / price.per * price.usd

    for function, stats in per_function.items():  # what each function's own invocations cost (no storage)
        stats["usd"] = (usd("lambda_requests", stats["invocations"])
                        + usd("lambda_gbs", stats["gb_s"] + stats["cold_gb_s"])
                        + usd("ddb_wru", stats["wru"]) + usd("ddb_rru", stats["rru"]))

    def group(kind: str) -> dict[str, float]:
        fns = [f for f in per_function if (f in consumers) == (kind == "consumers")]
        return {"invocations": sum(per_function[f]["invocations"] for f in fns),
                "gb_s": sum(per_function[f]["gb_s"] for f in fns)}

    ops_t, cons_t = totals["ops"], totals["consumers"]
    consumer_names = ", ".join(sorted(f.removesuffix("Function") for f in consumers)) or "none"
    storage_gb = storage_bytes_per_lead * mix.leads / 1024 ** 3
    v = report.variable
    v.append(Line("DynamoDB writes: the operations", ops_t["wru"], "WRU", usd("ddb_wru", ops_t["wru"]),
                  f"incl. {ops_t['gsi_wru']:,.0f} WRU of index maintenance; transactions at 2 WRU per KB; the "
                  "outbox item is written in the change's own transaction"))
    v.append(Line(f"DynamoDB writes: stream consumers ({consumer_names})", cons_t["wru"], "WRU",
                  usd("ddb_wru", cons_t["wru"]), "funnel counters, checkpoints (batch = one operation's records)"))
    v.append(Line("DynamoDB reads: the operations", ops_t["rru"], "RRU", usd("ddb_rru", ops_t["rru"]),
                  "strongly consistent 1 RRU / 4 KB, eventual 0.5"))
    v.append(Line(f"DynamoDB reads: stream consumers ({consumer_names})", cons_t["rru"], "RRU",
                  usd("ddb_rru", cons_t["rru"]), "checkpoint reads"))
    v.append(Line("DynamoDB storage (first month)", storage_gb, "GB-month", usd("ddb_storage", storage_gb),
                  f"{storage_bytes_per_lead / 1024:.1f} KB per lead incl. indexes and 100 B item overhead"))
    v.append(Line("DynamoDB point-in-time recovery", storage_gb, "GB-month", usd("ddb_pitr", storage_gb), ""))
    g_ops, g_cons = group("ops"), group("consumers")
    v.append(Line("Lambda requests: the operations", g_ops["invocations"], "invocations",
                  usd("lambda_requests", g_ops["invocations"]), "API, queue and due-lead invocations"))
    v.append(Line(f"Lambda requests: stream consumers ({consumer_names})", g_cons["invocations"], "invocations",
                  usd("lambda_requests", g_cons["invocations"]),
                  "one batch per operation: " + ", ".join(f"{f.removesuffix('Function')} {n:,.0f} records"
                                                          for f, n in sorted(report.consumer_records.items()))))
    v.append(Line("Lambda duration: the operations", g_ops["gb_s"], "GB-s", usd("lambda_gbs", g_ops["gb_s"]),
                  "our CPU x (1769 MB / memory) + waiting for AWS (latency table)"))
    v.append(Line(f"Lambda duration: stream consumers ({consumer_names})", g_cons["gb_s"], "GB-s",
                  usd("lambda_gbs", g_cons["gb_s"]), "the same for their invocations"))
    cold_total = cold_gbs["ops"] + cold_gbs["consumers"]
    v.append(Line("Lambda cold starts", cold_total, "GB-s", usd("lambda_gbs", cold_total),
                  f"{cold_count:,.0f} cold starts x (import + first-invocation extra) x CPU factor"))
    sends = ops_t["sqs_sends"] + cons_t["sqs_sends"]
    messages = ops_t["sqs_messages"] + cons_t["sqs_messages"]
    sqs_requests = sends + 2 * messages
    v.append(Line("SQS requests", sqs_requests, "requests", usd("sqs", sqs_requests),
                  f"{sends:,.0f} sends ({cons_t['sqs_sends']:,.0f} by the relay) + receive and delete of "
                  f"{messages:,.0f} messages (one per batch at this volume)"))
    ses = ops_t["ses"] + cons_t["ses"]
    v.append(Line("SES mails", ses, "emails", usd("ses", ses), "DOI + journey mails (outside the goal)", ses=True))
    events = ops_t["events"] + cons_t["events"]
    v.append(Line("EventBridge events", events, "events", usd("events", events),
                  f"domain events on the bus ({cons_t['events']:,.0f} relayed from the outbox)"))
    v.append(Line("API Gateway HTTP API", ops_t["apigw"], "requests", usd("apigw_http", ops_t["apigw"]),
                  "forms + preflights, tracking, GraphQL"))
    traced_invocations = sum(s["invocations"] for fid, s in per_function.items() if fid in traced)
    traces = sampled_traces(traced_invocations, facts.sampling)
    v.append(Line("X-Ray traces", traces, "traces", usd("xray", traces),
                  f"{traced_invocations:,.0f} invocations of functions with Tracing: Active, sampled by "
                  f"{_sampling_text(facts.sampling)}"))
    log_gb = (ops_t["log_bytes"] + cons_t["log_bytes"]) / 1024 ** 3
    v.append(Line("CloudWatch Logs", log_gb, "GB", usd("logs", log_gb),
                  f"measured log + EMF output per invocation + {PLATFORM_LOG_BYTES} B platform lines"))

    fx = totals["fixed"]
    f = report.fixed
    f.append(Line("DynamoDB reads of the sweeps", fx["rru"], "RRU", usd("ddb_rru", fx["rru"]),
                  ", ".join(f"{name} x{runs:,.0f}" for name, runs in schedule_runs.items())))
    fixed_invocations = sum(s["fixed_invocations"] for s in per_function.values())
    fixed_gb_s = sum(s["fixed_gb_s"] for s in per_function.values())
    f.append(Line("Lambda requests of the sweeps", fixed_invocations, "invocations",
                  usd("lambda_requests", fixed_invocations), ""))
    f.append(Line("Lambda duration of the sweeps", fixed_gb_s + cold_gbs_fixed, "GB-s",
                  usd("lambda_gbs", fixed_gb_s + cold_gbs_fixed), "incl. occasional cold starts"))
    traced_fixed = sum(s["fixed_invocations"] for fid, s in per_function.items() if fid in traced)
    fixed_traces = sampled_traces(traced_fixed, facts.sampling)
    f.append(Line("X-Ray traces of the sweeps", fixed_traces, "traces", usd("xray", fixed_traces),
                  "scheduled functions use Tracing: PassThrough (no trace per run)" if not traced_fixed else
                  f"sampled by {_sampling_text(facts.sampling)}"))
    fixed_log_gb = fx["log_bytes"] / 1024 ** 3
    f.append(Line("CloudWatch Logs of the sweeps", fixed_log_gb, "GB", usd("logs", fixed_log_gb), ""))
    polls = len(facts.sqs_mappings) * SQS_POLLERS * (60 / SQS_LONG_POLL_S) * MONTH_MINUTES
    f.append(Line(f"SQS idle long polling ({len(facts.sqs_mappings)} SQS event source mappings)", polls, "requests",
                  usd("sqs", polls),
                  f"{', '.join(q for _, q in facts.sqs_mappings)}; assumed {SQS_POLLERS} pollers each, "
                  f"{SQS_LONG_POLL_S} s long polls"))
    f.append(Line(f"DynamoDB stream polling ({len(facts.stream_mappings)} stream event source mappings)", 0, "requests",
                  0.0, ", ".join(f"{fn.removesuffix('Function')} on {table}" for fn, table, *_ in facts.stream_mappings)
                  + ": GetRecords by Lambda is free"))
    app_metrics, cold_metric = app_metric_count(handlers)
    metric_count = app_metrics + cold_metric
    f.append(Line("CloudWatch custom metrics (EMF)", metric_count, "metrics", usd("metrics", metric_count),
                  f"{app_metrics} application metric names + ColdStart of {cold_metric} functions (from the source)"))
    f.append(Line("CloudWatch alarms", len(facts.alarms), "alarms", usd("alarms", len(facts.alarms)),
                  ", ".join(facts.alarms) + " (from template.yaml; one metric each; the alarm topic has no fixed cost)"))
    return report


def _sampling_text(s: Sampling) -> str:
    return (f"rule `{s.rule}`: {s.reservoir_per_s:g}/s reservoir + {s.fixed_rate:.0%} of the rest "
            f"({s.source}); requests spread evenly over the month")


def _grouped(op) -> list[tuple[Any, int]]:
    out: dict[str, list] = {}
    for f in getattr(op, "follow_ups", []):
        out.setdefault(f.function, []).append(f)
    return [(v[0], len(v)) for v in out.values()]


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
