"""CPU per lead of the pipeline: capture -> qualify (verdict, then after the verdict) -> score ->
route, and the outbox stream consumers each of them invokes (relay, counters), by the real handlers
on in-process moto, one SQS message per invocation (what a low-volume queue delivers) and one
stream batch per committed operation (what a low-volume stream delivers).

Each lead is a distinct plausible contact who asks for a quote, so every lead becomes an
MQL at its first score and is routed; every second lead gave email-marketing consent (its
qualification renders and sends the double opt-in mail).

`time.process_time()` around each handler call gives the process CPU; moto's part of it is
measured separately (counting.moto_cpu: the CPU inside moto's request handling) and taken
out, so "ours" is what a Lambda function would spend: our code, the libraries, botocore
building, signing and parsing the requests. Not included: TLS and the socket work of real
HTTPS calls (moto is called in-process), and waiting for AWS.

A second, profiled pass on fewer leads splits "ours" by package (cProfile, paused while moto
works) to show where the time goes.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import sys
import time
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench import fastmoto, harness
from tests.bench.counting import moto_cpu, pause_profiler_in_moto
from tests.bench.operations import SINK, Streams, silence_function_logs

STEPS = ("capture", "qualify", "qualify 2", "score", "route", "relay", "counters")
FUNCTIONS = {"capture": "CaptureFunction", "qualify": "QualifyFunction", "qualify 2": "QualifyFunction",
             "score": "ScoreFunction", "route": "RouteFunction", "relay": "RelayFunction",
             "counters": "CountersFunction"}
CONSUMERS = {"RelayFunction": "relay", "CountersFunction": "counters"}
REPO = Path(__file__).resolve().parents[2]


@dataclass
class StepTimes:
    calls: int = 0
    cpu_s: float = 0.0  # process CPU, moto included
    moto_s: float = 0.0
    wall_s: float = 0.0
    samples_ms: list[float] = field(default_factory=list)  # ours per invocation

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else 0.0

    @property
    def ours_s(self) -> float:
        return self.cpu_s - self.moto_s


@dataclass
class PipelineResult:
    leads: int
    steps: dict[str, StepTimes] = field(default_factory=dict)
    routed: int = 0
    by_package: dict[str, float] = field(default_factory=dict)  # share of "ours" (profiled pass)
    hotspots: list[tuple[str, float]] = field(default_factory=list)  # our functions, tottime share
    profiled_leads: int = 0
    storage: dict[str, tuple[int, int]] = field(default_factory=dict)  # table: (items, bytes incl. indexes)
    stored_leads: int = 0
    elapsed_s: float = 0.0

    @property
    def storage_bytes_per_lead(self) -> float:
        return sum(b for _, b in self.storage.values()) / max(1, self.stored_leads)

    def ours_ms_per_lead(self) -> float:
        return 1000 * sum(s.ours_s for s in self.steps.values()) / self.leads

    def moto_ms_per_lead(self) -> float:
        return 1000 * sum(s.moto_s for s in self.steps.values()) / self.leads


class _Timer:
    def __init__(self, steps: dict[str, StepTimes], profiler: cProfile.Profile | None = None):
        self.steps = steps
        self.profiler = profiler

    def run(self, step: str, action):
        moto0, cpu0, wall0 = moto_cpu(), time.process_time(), time.perf_counter()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            return action()
        finally:
            if self.profiler is not None:
                self.profiler.disable()
            times = self.steps[step]
            cpu, moto = time.process_time() - cpu0, moto_cpu() - moto0
            times.calls += 1
            times.cpu_s += cpu
            times.moto_s += moto
            times.wall_s += time.perf_counter() - wall0
            times.samples_ms.append(1000 * (cpu - moto))

    def follow_ups(self, streams) -> None:
        """The stream consumers the last step's commit invoked, each timed as its own step."""
        streams.profiler = self.profiler
        wall0 = time.perf_counter()
        try:
            invoked = streams.follow_ups()
        finally:
            streams.profiler = None
        for f in invoked:
            times = self.steps[CONSUMERS[f.function]]
            times.calls += 1
            times.cpu_s += f.cpu_ours_s + f.cpu_moto_s
            times.moto_s += f.cpu_moto_s
            times.samples_ms.append(1000 * f.cpu_ours_s)
        if invoked:  # the consumers' share of the wall time (stream reads included)
            share = (time.perf_counter() - wall0) / len(invoked)
            for f in invoked:
                self.steps[CONSUMERS[f.function]].wall_s += share


def _lead_through(stack, index: int, timer: _Timer, streams) -> bool:
    from functions.qualify import handler as qualify
    from functions.route import handler as route
    from functions.score import handler as score

    body = harness.lead_body(index, consent=index % 2 == 0, quote=True, tag="p")
    streams.settle()
    timer.run("capture", lambda: harness.capture(body))
    timer.follow_ups(streams)
    for step, queue, handler in (("qualify", "IntakeQueue", qualify), ("qualify 2", "IntakeQueue", qualify),
                                 ("score", "EngagementQueue", score), ("route", "RoutingQueue", route)):
        messages = harness.receive(stack, queue, max_messages=1)
        if not messages:
            return False
        timer.run(step, lambda h=handler, m=messages: harness.deliver(h, [x["Body"] for x in m]))
        timer.follow_ups(streams)
    return True


def run(leads: int = 300, profiled: int = 60, progress: bool = True) -> PipelineResult:
    if leads + profiled > 1195:
        raise ValueError("at most 1195 leads (measured + profiled): names must stay distinct")
    started = time.perf_counter()
    result = PipelineResult(leads=leads)
    with harness.moto_stack() as stack:
        fastmoto.install()
        import functions.common  # noqa: F401

        silence_function_logs()
        streams = Streams(stack)
        with redirect_stdout(SINK):
            scratch: dict[str, StepTimes] = defaultdict(StepTimes)
            for i in range(5):  # imports, clients, rule caches: not measured
                _lead_through(stack, 1195 + i, _Timer(scratch), streams)
            steps: dict[str, StepTimes] = {s: StepTimes() for s in STEPS}
            timer = _Timer(steps)
            for i in range(leads):
                result.routed += _lead_through(stack, i, timer, streams)
                if progress and (i + 1) % 50 == 0:
                    print(f"  pipeline: {i + 1}/{leads} leads", file=sys.stderr, flush=True)
            result.steps = steps
            result.storage, result.stored_leads = storage()

            if profiled:
                profiler = cProfile.Profile()
                pause_profiler_in_moto(profiler)
                try:
                    ptimer = _Timer(defaultdict(StepTimes), profiler)
                    for i in range(profiled):
                        _lead_through(stack, leads + i, ptimer, streams)
                finally:
                    pause_profiler_in_moto(None)
                result.profiled_leads = profiled
                result.by_package, result.hotspots = _split(profiler)
    result.elapsed_s = time.perf_counter() - started
    return result


def storage() -> tuple[dict[str, tuple[int, int]], int]:
    """{table: (items, billed bytes)} as DynamoDB bills storage: item sizes + 100 bytes per item,
    and the same for every index entry (projected attributes + 100 bytes); and the lead count."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from tests.bench.counting import _projected, item_size, short_table

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"]
    out: dict[str, tuple[int, int]] = {}
    leads = 0
    for name, table in backend.tables.items():
        items = list(table.all_items())
        table_keys = [k["AttributeName"] for k in table.schema]
        total = 0
        for item in items:
            attrs = {k: v.to_regular_json() for k, v in item.attrs.items()}
            total += item_size(attrs) + 100
            for index in table.global_indexes:
                entry = _projected(attrs, [k["AttributeName"] for k in index.schema], table_keys, index.projection)
                if entry is not None:
                    total += item_size(entry) + 100
        short = short_table(name)
        out[short] = (len(items), total)
        if short == "Leads":
            leads = len(items)
    return out, leads


def package_of(filename: str) -> str:
    path = filename.replace("\\", "/")
    if path.startswith(str(REPO / "leadflow")) or path.startswith(str(REPO / "functions")):
        return "leadflow + functions (our code)"
    if "/site-packages/" in path:
        top = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        top = top.removesuffix(".py").split(".")[0]
        return {"boto3": "botocore", "s3transfer": "botocore", "pydantic_core": "pydantic",
                "aws_lambda_powertools": "powertools", "markupsafe": "jinja2", "graphql": "strawberry",
                "dateutil": "stdlib + dateutil", "urllib3": "botocore"}.get(top, top)
    if path.startswith("<") or "/lib/python3" in path or path == "~":
        return "stdlib + dateutil" if "/lib/python3" in path else "builtins (C)"
    return "other"


def _split(profiler: cProfile.Profile) -> tuple[dict[str, float], list[tuple[str, float]]]:
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    ours: list[tuple[str, float]] = []
    total = 0.0
    for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        package = package_of(filename)
        by_package[package] += tottime
        total += tottime
        if package.startswith("leadflow"):
            ours.append((f"{Path(filename).relative_to(REPO)}:{line} {name}", tottime))
    if not total:
        return {}, []
    shares = {k: v / total for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])}
    hot = [(where, t / total) for where, t in sorted(ours, key=lambda x: -x[1])[:8]]
    return shares, hot
