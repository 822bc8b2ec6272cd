"""AWS requests per operation: one lead walked through the funnel by the real handlers on
in-process moto, each step counted on its own (see counting.py), with what it causes.

A committed change writes its follow-ups to the OutboxTable in its own transaction; the outbox's
stream then invokes CountersFunction (funnel counters) and RelayFunction (events on the bus, work
messages to the intake/engagement/routing queues), as Lambda's event source mappings do. Right
after each operation those consumers run on the records that operation wrote (infra/streams.py,
the readers `settle()` uses), each invocation counted on its own and kept with the operation as
its follow-ups. Reading the stream is the event source mapping's work (free on AWS) and happens
outside the counted blocks. The work a relay sends (the second step of qualification, a rescore,
a routing) is the next operation, counted on its own row.

Every step is measured in two ways on fresh leads (and each twice, keeping the lower CPU):
* warm: a warm Lambda container whose rule-set cache (services.config, 60 s) is filled;
* cold config: the same container after the rule-set cache expired (it re-reads the active
  version pointer of each rule set it touches). With 10,000 leads a month an invocation
  rarely finds a cache younger than 60 s, so the cost model uses this column.
A first lead warms imports and clients and is not recorded. The harness's own requests
(reading the queues, looking at sent mail) are made outside the counted blocks.
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tests.bench import fastmoto, harness
from tests.bench.counting import RequestLog, counting, moto_cpu


@dataclass
class FollowUp:
    """One invocation of a stream consumer on the outbox records of one operation."""

    function: str  # CountersFunction or RelayFunction
    records: int  # outbox records in the batch it was given
    log: RequestLog
    cpu_ours_s: float
    cpu_moto_s: float
    log_bytes: int


@dataclass
class OpResult:
    name: str
    function: str  # logical id of the Lambda function that runs it ("" for none)
    log: RequestLog
    cpu_ours_s: float  # process CPU minus moto's
    cpu_moto_s: float
    log_bytes: int  # what the function printed (logs + EMF metrics)
    note: str = ""
    apigw: bool = False  # reached through API Gateway
    follow_ups: list[FollowUp] = field(default_factory=list)  # stream consumer invocations it caused

    def caused(self, function: str) -> list[FollowUp]:
        return [f for f in self.follow_ups if f.function == function]

    def caused_log(self) -> RequestLog:
        """Its own requests and those of the stream consumers it invoked."""
        return RequestLog([*self.log.calls, *(c for f in self.follow_ups for c in f.log.calls)])

    def signature(self) -> tuple:
        return (tuple(sorted(self.log.kinds().items())),
                tuple(sorted((f.function, tuple(sorted(f.log.kinds().items())),
                              f.log.count("sqs"), f.log.count("events")) for f in self.follow_ups)))


@dataclass
class Results:
    warm: dict[str, OpResult] = field(default_factory=dict)
    cold: dict[str, OpResult] = field(default_factory=dict)
    metrics: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)  # EMF: namespace, name, dims
    notes: list[str] = field(default_factory=list)


class LogSink(io.TextIOBase):
    """Counts what the functions print (Powertools logger and EMF metrics) instead of showing it."""

    def __init__(self) -> None:
        self.bytes = 0
        self.emf: set[tuple[str, str, tuple[str, ...]]] = set()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        if '"_aws"' in text:
            for line in text.splitlines():
                try:
                    blob = json.loads(line)
                except ValueError:
                    continue
                for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
                    dims = tuple(sorted(d for group in directive.get("Dimensions", []) for d in group))
                    for metric in directive.get("Metrics", []):
                        self.emf.add((directive.get("Namespace", ""), metric["Name"], dims))
        return len(text)


SINK = LogSink()


def silence_function_logs() -> None:
    """Point the Powertools logger's stream at the sink (it captured sys.stdout at import)."""
    from functions.common import logger

    logger.registered_handler.setStream(SINK)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    warnings.filterwarnings("ignore", message="There are unpublished metrics")


class Streams:
    """The outbox stream's consumers, as Lambda's event source mappings run them. One set of
    readers per stack, shared with `settle()` (tests/helpers.py), so a record is handed over once.
    While `meter` is set, each consumer invocation is counted on its own and kept there."""

    def __init__(self, stack) -> None:
        from infra.streams import readers
        from tests.helpers import invoke_in_process

        self.stack = stack
        self.meter: list[FollowUp] | None = None
        self.profiler = None  # a cProfile.Profile to run while a consumer runs (pipeline.py)
        stack.stream_readers = readers(stack, self._invoke)
        self._invoke_in_process = invoke_in_process

    def _invoke(self, function: str, event: dict) -> Any:
        if self.meter is None:
            return self._invoke_in_process(self.stack, function, event)
        before_bytes = SINK.bytes
        moto_before = moto_cpu()
        started = time.process_time()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            with counting() as log, redirect_stdout(SINK):
                value = self._invoke_in_process(self.stack, function, event)
        finally:
            if self.profiler is not None:
                self.profiler.disable()
        cpu = time.process_time() - started
        moto = moto_cpu() - moto_before
        self.meter.append(FollowUp(function, len(event.get("Records") or []), log, cpu - moto, moto,
                                   SINK.bytes - before_bytes))
        return value

    def settle(self) -> None:
        """Hand every record written so far to its consumers, uncounted."""
        from infra.streams import drain

        drain(self.stack.stream_readers)

    def follow_ups(self) -> list[FollowUp]:
        """Run the consumers on what was written since the last settle, counting each invocation.
        The stream reads (GetRecords) are the event source mapping's and made outside the counted
        blocks: free on AWS. One batch per consumer holds all records of the operation (their
        batching windows, 5 s and 1 s, collect them)."""
        from infra.streams import drain

        self.meter = []
        try:
            drain(self.stack.stream_readers)
            return self.meter
        finally:
            self.meter = None


class Recorder:
    """Runs and records one operation and the stream consumer invocations it causes. Recorded twice
    (two walks), an operation keeps its lower CPU (the less disturbed run); its requests must be
    the same both times."""

    def __init__(self, into: dict[str, OpResult], cold_config: bool, notes: list[str] | None = None,
                 streams: Streams | None = None):
        self.into = into
        self.cold_config = cold_config
        self.notes = notes if notes is not None else []
        self.streams = streams

    def __call__(self, name: str, function: str, action: Callable[[], Any], *, note: str = "",
                 apigw: bool = False) -> Any:
        if self.streams is not None:
            self.streams.settle()  # what earlier steps wrote is not this operation's
        if self.cold_config:
            from leadflow.services import config

            config.clear_cache()
        before_bytes = SINK.bytes
        moto_before = moto_cpu()
        started = time.process_time()
        with counting() as log, redirect_stdout(SINK):
            value = action()
        cpu = time.process_time() - started
        moto = moto_cpu() - moto_before
        result = OpResult(name, function, log, cpu - moto, moto, SINK.bytes - before_bytes, note, apigw)
        if self.streams is not None:
            with redirect_stdout(SINK):
                result.follow_ups = self.streams.follow_ups()
        earlier = self.into.get(name)
        if earlier is not None and earlier.signature() != result.signature():
            self.notes.append(f"{name}: different requests in two runs ({earlier.signature()} "
                              f"vs {result.signature()})")
        if earlier is None or result.cpu_ours_s < earlier.cpu_ours_s:
            self.into[name] = result
        return value


# ------------------------------------------------------------------------------ steps

def engagement(lead_id: str, kind: str, **details: Any) -> str:
    return json.dumps({"leadId": lead_id, "type": kind, "eventId": uuid.uuid4().hex,
                       "at": datetime.now(UTC).isoformat(), "details": {"url": "https://www.example.com/lager",
                                                                         **details}})


def track(method: str, url: str) -> dict:
    from functions.track import handler
    from tests.helpers import LambdaContext, http_event

    parts = urlsplit(url)
    route = re.sub(r"^/t/(c|o)/[^/]+$", r"/t/\1/{token}", parts.path)
    params = {"token": parts.path.rsplit("/", 1)[-1]} if route != parts.path else None
    return handler(http_event(method, parts.path, query=parts.query, route_path=route, path_parameters=params),
                   LambdaContext())


def mails_to(address: str) -> list:
    from leadflow.adapters.outbox import sent_mails

    return [m for m in sent_mails() if address in m.to]


def links(mail) -> list[str]:
    return re.findall(r'href="([^"]+)"', mail.html.replace("&amp;", "&"))


def sweep_nurture() -> dict:
    from functions.nurture_sweep import handler
    from tests.helpers import LambdaContext

    return handler({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext())


def drain_nurture(stack) -> None:
    """Deliver what the nurture sweep queued to the per-lead worker (uncounted: other walks' leads)."""
    from functions.nurture_worker import handler

    while bodies := _one(stack, "NurtureQueue"):
        harness.deliver(handler, bodies)


def sweep_sla() -> dict:
    from functions.sla_sweep import handler
    from tests.helpers import LambdaContext

    return handler({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext())


def sweep_intake() -> dict:
    from functions.intake_sweep import handler
    from tests.helpers import LambdaContext

    return handler({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext())


def _one(stack, queue: str) -> list[str]:
    messages = harness.receive(stack, queue)
    return [m["Body"] for m in messages]


def lead_now(lead_id: str):
    from leadflow.store.leads import get_lead

    return get_lead(lead_id)


LEAD_QUERY = ("query($id: ID!) { lead(id: $id) { id stage quality ownerId score { total grade } "
              "history { seq kind fromStage toStage at actor reason } } }")


def walk(stack, index: int, rec: Recorder, results: Results) -> None:
    """One lead from the form to a won customer, plus the side paths, each step recorded."""
    from functions.nurture_worker import handler as worker
    from functions.qualify import handler as qualify
    from functions.route import handler as route
    from functions.score import handler as score

    # no manager and no quote request: stays a LEAD until the contact request below
    body = {**harness.lead_body(index, consent=True, tag="ops"), "jobTitle": "Lagerist"}
    address = body["email"]

    rec("CORS preflight (OPTIONS /leads)", "CaptureFunction", harness.preflight, apigw=True)
    lead_id = rec("capture (POST /leads)", "CaptureFunction", lambda: harness.capture(body), apigw=True)
    # Leads due earlier (other walks) would join the sweep below: run them now, uncounted.
    sweep_nurture()
    drain_nurture(stack)
    intake = _one(stack, "IntakeQueue")
    rec("qualify 1: plausible, email consent (verdict)", "QualifyFunction", lambda: harness.deliver(qualify, intake))
    second = _one(stack, "IntakeQueue")  # the verdict's work, relayed
    rec("qualify 2: after verdict, email consent (DOI mail)", "QualifyFunction",
        lambda: harness.deliver(qualify, second))
    rescore = _one(stack, "EngagementQueue")
    rec("score: rescore after qualification", "ScoreFunction", lambda: harness.deliver(score, rescore))
    if lead_now(lead_id).stage != "LEAD":
        results.notes.append(f"lead {index} became {lead_now(lead_id).stage} at its first score")

    doi = [m for m in mails_to(address) if "/consent/confirm" in m.html]
    confirm = next(u for u in links(doi[0]) if "/consent/confirm" in u)
    rec("track: DOI confirmation link", "TrackFunction", lambda: track("POST", confirm), apigw=True)
    summary = rec("nurture sweep: 1 due lead (queued)", "NurtureSweepFunction", sweep_nurture)
    if summary.get("due") != 1 or summary.get("enqueued") != 1:
        results.notes.append(f"nurture sweep with one due lead found {summary}")
    due = _one(stack, "NurtureQueue")
    rec("nurture worker: 1 lead (welcome email)", "NurtureWorkerFunction", lambda: harness.deliver(worker, due))
    summary = rec("nurture sweep: nothing due", "NurtureSweepFunction", sweep_nurture)
    if summary.get("due"):
        results.notes.append(f"nurture sweep 'nothing due' found {summary}")

    welcome = [m for m in mails_to(address) if "/consent/confirm" not in m.html]
    tracked = [u for u in links(welcome[-1]) if "/t/c/" in u] if welcome else []
    if tracked:
        response = rec("track: click on a mail link (redirect)", "TrackFunction", lambda: track("GET", tracked[0]),
                       apigw=True)
        assert response["statusCode"] == 302, response
        click = _one(stack, "EngagementQueue")
        rec("score: mail click (journey state updated)", "ScoreFunction", lambda: harness.deliver(score, click))
    else:
        results.notes.append("the welcome mail had no tracked link")

    visit = [engagement(lead_id, "page_visit")]
    rec("score: one engagement event (no stage change)", "ScoreFunction", lambda: harness.deliver(score, visit))
    contact = [engagement(lead_id, "contact_request")]
    rec("score: event that makes the lead an MQL", "ScoreFunction", lambda: harness.deliver(score, contact))
    if lead_now(lead_id).stage != "MQL":
        results.notes.append(f"lead {index} did not become MQL")
        return
    routing = _one(stack, "RoutingQueue")
    rec("route: assign an MQL to a rep", "RouteFunction", lambda: harness.deliver(route, routing))
    rep = lead_now(lead_id).owner_id
    if not rep:
        results.notes.append(f"lead {index} went to a manager queue, not a rep")
        return

    def act(mutation: str, variables: dict | None = None) -> dict:
        data = harness.gql(mutation, {"id": lead_id} if variables is None else variables, role="sales_rep",
                           user=rep)
        if data.get("errors"):
            raise RuntimeError(f"{mutation}: {data['errors']}")
        return data

    rec("GraphQL lead(id) with history", "GraphqlFunction", lambda: act(LEAD_QUERY), apigw=True)
    rec("GraphQL myLeads(stage: MQL) (rep inbox)", "GraphqlFunction", lambda: act(
        "{ myLeads(stage: MQL) { edges { node { id stage } } } }", {}), apigw=True)
    rec("sales: acceptLead (MQL->SAL)", "GraphqlFunction",
        lambda: act("mutation($id: ID!) { acceptLead(id: $id) { stage } }"), apigw=True)
    rec("sales: qualifyLead (SAL->SQL)", "GraphqlFunction",
        lambda: act('mutation($id: ID!) { qualifyLead(id: $id, budget: "50k", need: "WMS") { stage } }'), apigw=True)
    rec("sales: convertToOpportunity (SQL->OPP)", "GraphqlFunction", lambda: act(
        'mutation($id: ID!) { convertToOpportunity(id: $id, amount: 48000, currency: "EUR", '
        f'expectedClose: "{date.today() + timedelta(days=90)}") {{ stage }} }}'), apigw=True)
    rec("sales: closeOpportunity won (->CUSTOMER)", "GraphqlFunction",
        lambda: act("mutation($id: ID!) { closeOpportunity(id: $id, won: true) { stage } }"), apigw=True)

    summary = rec("SLA sweep: nothing due", "SlaSweepFunction", sweep_sla)
    if summary.get("overdue") or summary.get("requeued"):
        results.notes.append(f"SLA sweep 'nothing due' found {summary}")
    rec("intake sweep: nothing stalled", "IntakeSweepFunction", sweep_intake)


def side_paths(stack, index: int, rec: Recorder, results: Results) -> None:
    """Qualification without consent, implausible leads, rejection and a lost opportunity."""
    from functions.qualify import handler as qualify
    from functions.route import handler as route
    from functions.score import handler as score

    harness.capture(harness.lead_body(index + 1, consent=False, tag="ops"))
    intake = _one(stack, "IntakeQueue")
    rec("qualify 1: plausible, no consent (verdict)", "QualifyFunction", lambda: harness.deliver(qualify, intake))
    second = _one(stack, "IntakeQueue")
    rec("qualify 2: after verdict, no consent", "QualifyFunction", lambda: harness.deliver(qualify, second))
    _one(stack, "EngagementQueue")  # its rescore: measured in walk()

    # its own phone: another walk's junk lead is no duplicate candidate (the same requests each time)
    harness.capture({**harness.JUNK, "email": f"test{index}@test.com", "phone": f"1234{index:02d}"})
    intake = _one(stack, "IntakeQueue")
    rec("qualify 1: implausible (verdict)", "QualifyFunction", lambda: harness.deliver(qualify, intake))
    second = _one(stack, "IntakeQueue")
    rec("qualify 2: after verdict, implausible (disqualified)", "QualifyFunction",
        lambda: harness.deliver(qualify, second))

    # two quote requests become MQLs at the rescore; one is rejected, one is lost
    ids = [harness.capture(harness.lead_body(index + k, consent=False, quote=True, tag="ops")) for k in (2, 3)]
    harness.deliver(qualify, _one(stack, "IntakeQueue"))
    harness.deliver(qualify, _one(stack, "IntakeQueue"))  # the second steps
    harness.deliver(score, _one(stack, "EngagementQueue"))
    harness.deliver(route, _one(stack, "RoutingQueue"))
    leads = [lead_now(i) for i in ids]
    if any(not lead.owner_id for lead in leads):
        results.notes.append("a side-path lead was not assigned to a rep")
        return
    reject, lost = leads
    rec("sales: rejectLead (recycle)", "GraphqlFunction", lambda: harness.gql(
        'mutation($id: ID!) { rejectLead(id: $id, reason: "no budget this year") { stage } }',
        {"id": reject.lead_id}, role="sales_rep", user=reject.owner_id), apigw=True)
    for mutation in ("mutation($id: ID!) { acceptLead(id: $id) { stage } }",
                     'mutation($id: ID!) { qualifyLead(id: $id, budget: "10k") { stage } }',
                     'mutation($id: ID!) { convertToOpportunity(id: $id, amount: 9000, currency: "EUR", '
                     f'expectedClose: "{date.today() + timedelta(days=60)}") {{ stage }} }}'):
        harness.gql(mutation, {"id": lost.lead_id}, role="sales_rep", user=lost.owner_id)
    rec("sales: closeOpportunity lost", "GraphqlFunction", lambda: harness.gql(
        'mutation($id: ID!) { closeOpportunity(id: $id, won: false, reason: "price: too high") { stage } }',
        {"id": lost.lead_id}, role="sales_rep", user=lost.owner_id), apigw=True)


def funnel(rec: Recorder, results: Results) -> None:
    today = date.today()
    start = (today.replace(day=1) - timedelta(days=330)).replace(day=1)
    query = 'query($f: Date!, $t: Date!) { funnel(from: $f, to: $t) { grain periods groups { key } } }'
    import logging

    quiet = logging.getLogger("strawberry.execution")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a missing field is logged as an error; here it is an answer
    try:
        probe = harness.gql(query, {"f": start.isoformat(), "t": today.isoformat()}, role="finance")
    finally:
        quiet.setLevel(level)
    if probe.get("errors"):
        results.notes.append("controlling `funnel` query not available: "
                             + probe["errors"][0].get("message", "")[:120])
        return
    rec("GraphQL funnel (12 months, month grain)", "GraphqlFunction",
        lambda: harness.gql(query, {"f": start.isoformat(), "t": today.isoformat()}, role="finance"), apigw=True)


def run(verbose: bool = True) -> Results:
    results = Results()
    with harness.moto_stack() as stack:
        fastmoto.install()
        import functions.common  # noqa: F401  (the logger exists before it is silenced)

        silence_function_logs()
        streams = Streams(stack)
        with redirect_stdout(SINK):  # what the functions print is counted, not shown
            warm_up = Recorder({}, cold_config=False, streams=streams)
            walk(stack, 0, warm_up, results)  # imports, clients, caches: not recorded
            side_paths(stack, 10, warm_up, results)
            results.notes.clear()
            # each twice: CPU is the lower of two runs, the requests must agree; the warm runs
            # first, while the rule-set cache the warm-up filled is fresh
            for base, cold_config in ((100, False), (300, False), (200, True), (400, True)):
                rec = Recorder(results.cold if cold_config else results.warm, cold_config, notes=results.notes,
                               streams=streams)
                walk(stack, base, rec, results)
                side_paths(stack, base + 10, rec, results)
                funnel(rec, results)
        results.metrics = set(SINK.emf)
    if verbose:
        for note in dict.fromkeys(results.notes):
            print(f"  note: {note}", file=sys.stderr)
    return results
