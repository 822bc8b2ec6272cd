"""The local stack with real volumes: a capture and a `lead(id)` query on an empty stack and on one
with 100,000 stored leads, and a burst of concurrent captures against its gateway.

Runs `LocalStack` (what `leadflow dev` runs: moto server, gateway, queue pollers; schedules off, so
no sweep runs between samples) in a child process, so its memory (~1-2 GB at 100,000 leads) and its
process-wide state end with it. Each sample: POST /leads over HTTP (timed), wait until every queue
is empty (qualify, score, route have run), then the GraphQL `lead(id)` with history of that lead
(timed: wall time, and the CPU time of the whole process, which other load on the machine does not
change). The stored leads are copies of template leads that went through the real pipeline
(capture -> qualify -> score -> route): every item of every table that names the lead (the lead
with its index attributes, history, nurture state, markers, dedup keys, routing record), with a
new lead id and per-copy marker and dedup keys, written straight into moto's tables as an import
does (no stream records).

    python -m tests.bench.volume [--leads 100000] [--samples 9] [--burst 50]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LEAD_QUERY = ("query($id: ID!) { lead(id: $id) { id stage quality ownerId score { total grade } "
              "history { seq kind fromStage toStage at actor reason } } }")
_HEX = re.compile(r"[0-9a-f]{32,}")
# lead numbers (tests.bench.harness.lead_body) of the templates, the two measurements and the burst:
# apart, so no lead resembles another (below 1,200 all names and phones differ)
TEMPLATES, EMPTY, FULL, BURST = 0, 100, 300, 500


@dataclass
class Burst:
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # "202" / "ConnectionResetError" ... -> count
    seconds: float = 0.0
    stored: int = 0  # how many of the accepted leads GraphQL finds afterwards

    @property
    def accepted(self) -> int:
        return sum(n for s, n in self.statuses.items() if s in ("200", "202"))

    @property
    def lost(self) -> int:
        return self.requests - self.accepted


@dataclass
class Volume:
    stored_leads: int = 0
    templates: int = 0
    items_written: int = 0
    fill_s: float = 0.0
    samples: int = 0
    empty: dict[str, list[float]] = field(default_factory=dict)  # "capture" / "lead" -> ms per sample
    full: dict[str, list[float]] = field(default_factory=dict)
    burst: Burst = field(default_factory=Burst)
    rss_mb: float = 0.0
    error: str = ""

    def median(self, which: str, what: str) -> float:
        values = getattr(self, which).get(what) or [float("nan")]
        return statistics.median(values)

    def ratio(self, what: str) -> float:
        return self.median("full", what) / self.median("empty", what)


def run(leads: int = 100_000, samples: int = 9, burst: int = 50, timeout: float = 900) -> Volume:
    """The measurement in a fresh interpreter; its answer comes back as JSON."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        path = out.name
    try:
        done = subprocess.run([sys.executable, "-m", "tests.bench.volume", "--leads", str(leads), "--samples",
                               str(samples), "--burst", str(burst), "--out", path], cwd=REPO, timeout=timeout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        text = Path(path).read_text()
        if done.returncode != 0 or not text:
            tail = (done.stderr or "").strip().splitlines()
            return Volume(error=(tail[-1] if tail else f"exit {done.returncode}")[:300])
        data = json.loads(text)
        data["burst"] = Burst(**data["burst"])
        return Volume(**data)
    finally:
        os.unlink(path)


# ------------------------------------------------------------------------------ the child

def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)  # a new connection each
    try:
        connection.request("POST", parts.path, body=json.dumps(body),
                           headers={"content-type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def _wait_idle(stack: Any, timeout: float = 120) -> None:
    """Until every queue is empty twice in a row (no message waiting, in flight or delayed)."""
    sqs = stack.client("sqs")
    urls = sqs.list_queues().get("QueueUrls", [])
    names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed")
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        busy = any(int(v) for url in urls
                   for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"].values())
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return
        time.sleep(0.1)
    raise RuntimeError(f"queues still busy after {timeout:.0f} s")


def _timed(call: Any) -> tuple[Any, float, float]:
    """call() -> (its result, wall ms, CPU ms of this whole process: gateway, function, emulator and
    client; the queues are idle, so that is the request's work, whatever else runs on the machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _sample(stack: Any, token: str, body: dict[str, Any]) -> dict[str, float]:
    (status, answer), capture_ms, capture_cpu = _timed(lambda: _post(stack.base_url + "/leads", body))
    if status != 202:
        raise RuntimeError(f"capture answered {status}: {answer}")
    _wait_idle(stack)
    query = {"query": LEAD_QUERY, "variables": {"id": answer["id"]}}
    (status, answer), lead_ms, lead_cpu = _timed(
        lambda: _post(stack.graphql_url, query, {"authorization": f"Bearer {token}"}))
    if status != 200 or not (answer.get("data") or {}).get("lead"):
        raise RuntimeError(f"lead(id) answered {status}: {answer}")
    return {"capture": capture_ms, "capture_cpu": capture_cpu, "lead": lead_ms, "lead_cpu": lead_cpu}


def _measure(stack: Any, token: str, samples: int, first: int) -> dict[str, list[float]]:
    """Leads number first, first + 1, ...: people no other lead of the run resembles (the same
    numbers would share a phone number and name, and qualification would find duplicates)."""
    from tests.bench.harness import lead_body

    _sample(stack, token, lead_body(first, tag="warm"))  # warm-up (first invocations, caches)
    times = [_sample(stack, token, lead_body(first + 1 + i, quote=i % 2 == 0, tag="s")) for i in range(samples)]
    return {what: [t[what] for t in times] for what in times[0]}


def _items_of(backend: Any, lead_ids: list[str]) -> dict[str, list[tuple[Any, str]]]:
    """lead id -> [(table, its item as DynamoDB JSON text)] for every stored item naming the lead."""
    from infra.emulator import stored_items

    found: dict[str, list[tuple[Any, str]]] = {lead_id: [] for lead_id in lead_ids}
    for table in backend.tables.values():
        for item in stored_items(table):
            text = json.dumps(item.to_json()["Attributes"], ensure_ascii=False)
            for lead_id in lead_ids:
                if lead_id in text:
                    found[lead_id].append((table, text))
                    break
    return found


def _fill(backend: Any, templates: dict[str, list[tuple[Any, str]]], copies: int) -> int:
    """`copies` more leads, each a copy of a template lead with a new id and its own markers and
    dedup keys (hashes in key attributes derived anew), imported table by table. Values that name
    nothing of the lead are shared between copies, only the others are built per copy: ~12 items
    per lead, 100,000 leads in about a minute. (Sharing is safe here because nothing updates a
    copy during the benchmark: schedules are off and no message names one.)"""
    from infra.emulator import import_items

    plans = []  # per template lead: [(table, {attribute: shared value}, [(attribute, plan to build)])]
    for template_id, items in templates.items():
        plan = []
        for table, text in items:
            keys = (table.hash_key_attr, table.range_key_attr)
            values = {name: _plan(value, name in keys, template_id) for name, value in json.loads(text).items()}
            plan.append((table, {n: v for n, v in values.items() if not isinstance(v, tuple)},
                         [(n, v) for n, v in values.items() if isinstance(v, tuple)]))
        plans.append((template_id, plan))
    rng = random.Random(7)  # os.urandom (new_id) is slow here; same format, time-ordered
    batches: dict[int, tuple[Any, list[Any]]] = {}
    gc.disable()  # millions of new objects: the collector would walk the growing heap again and again
    try:
        for n in range(copies):
            template_id, plan = plans[n % len(plans)]
            lead_id = _lead_id(rng)
            for table, shared, varying in plan:
                batches.setdefault(id(table), (table, []))[1].append(
                    _item(table, shared, varying, template_id, lead_id))
        return sum(import_items(table, items) for table, items in batches.values())
    finally:
        gc.enable()
        gc.collect()  # the one walk over the new objects belongs to the import, not the first request


def _lead_id(rng: random.Random) -> str:
    """What leadflow.adapters.clock.new_id makes: 48-bit milliseconds + 80 random bits in base32."""
    number = (int(time.time() * 1000) << 80) | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        number, rem = divmod(number, 32)
        chars.append("0123456789abcdefghjkmnpqrstvwxyz"[rem])
    return "".join(reversed(chars))


def _plan(value: dict[str, Any], key: bool, template_id: str) -> Any:
    """A template value: a DynamoType to share, or ("S", text, is key) to rewrite per copy, or
    ("M"/"L", children) to rebuild per copy (it holds something to rewrite)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    kind, inner = next(iter(value.items()))
    if template_id not in json.dumps(value) and not key:
        return DynamoType(value)
    if kind == "M":
        return ("M", {k: _plan(v, False, template_id) for k, v in inner.items()})
    if kind == "L":
        return ("L", [_plan(v, False, template_id) for v in inner])
    if kind == "S" and (template_id in inner or (key and _HEX.search(inner))):
        return ("S", inner, key)
    return DynamoType(value)


def _build(plan: Any, template_id: str, lead_id: str) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if not isinstance(plan, tuple):
        return plan
    value = DynamoType.__new__(DynamoType)
    value.type = plan[0]
    if plan[0] == "M":
        value.value = {k: _build(v, template_id, lead_id) for k, v in plan[1].items()}
    elif plan[0] == "L":
        value.value = [_build(v, template_id, lead_id) for v in plan[1]]
    else:
        text = plan[1].replace(template_id, lead_id)
        if plan[2]:  # a marker or dedup key: a hash of the person's email, phone, name -> one of its own
            text = _HEX.sub(lambda m: hashlib.sha256((m.group() + lead_id).encode()).hexdigest()[:len(m.group())],
                            text)
        value.value = text
    return value


def _item(table: Any, shared: dict[str, Any], varying: list[tuple[str, Any]], template_id: str,
          lead_id: str) -> Any:
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    item = Item.__new__(Item)  # Item() checks the 400 KB limit once per attribute, quadratically
    item.attrs = LimitedSizeDict(shared)
    dict.update(item.attrs, {name: _build(plan, template_id, lead_id) for name, plan in varying})
    item.hash_key = item.attrs[table.hash_key_attr]
    item.range_key = item.attrs[table.range_key_attr] if table.range_key_attr else None
    return item


def _burst(stack: Any, token: str, n: int) -> Burst:
    from tests.bench.harness import lead_body

    results: list[Any] = [None] * n
    gate = threading.Barrier(n)

    def one(i: int) -> None:
        body = lead_body(BURST + i, tag="burst")
        gate.wait()
        try:
            results[i] = _post(stack.base_url + "/leads", body)
        except OSError as exc:  # reset, refused, timed out: a lost connection
            results[i] = (type(exc).__name__, None)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    burst = Burst(requests=n, seconds=time.perf_counter() - started)
    for status, _ in results:
        burst.statuses[str(status)] = burst.statuses.get(str(status), 0) + 1
    _wait_idle(stack)
    for status, answer in results:
        if status in (200, 202):
            found = _post(stack.graphql_url, {"query": LEAD_QUERY, "variables": {"id": answer["id"]}},
                          {"authorization": f"Bearer {token}"})[1]
            burst.stored += bool((found.get("data") or {}).get("lead"))
    return burst


def _child(leads: int, samples: int, burst: int, out: Path) -> None:
    import logging

    from tests.bench.harness import environment, lead_body

    environment()  # a fake account; POWERTOOLS_LOG_LEVEL=WARNING keeps the functions quiet
    logging.basicConfig(level=logging.WARNING)
    from moto.dynamodb.models import dynamodb_backends

    from infra.lambda_runtime import ACCOUNT_ID
    from infra.local_stack import LocalStack

    result = Volume(samples=samples)
    with LocalStack(port=0, schedules=False, secret="bench-volume-" + "x" * 32) as stack:
        token = stack.token("admin")
        print("  empty stack ...", file=sys.stderr, flush=True)
        result.empty = _measure(stack, token, samples, EMPTY)

        templates = [_post(stack.base_url + "/leads", lead_body(TEMPLATES + i, consent=i % 2 == 0, quote=i % 3 == 0,
                                                                tag="tpl"))[1]["id"] for i in range(20)]
        _wait_idle(stack)
        backend = dynamodb_backends[ACCOUNT_ID][stack.region]
        stored = sum(len(t.items) for name, t in backend.tables.items() if name.endswith("LeadsTable"))
        print(f"  storing {leads:,} leads ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        result.items_written = _fill(backend, _items_of(backend, templates), max(0, leads - stored))
        result.fill_s = time.perf_counter() - started
        result.templates = len(templates)
        result.stored_leads = sum(len(t.items) for name, t in backend.tables.items() if name.endswith("LeadsTable"))

        print(f"  {result.stored_leads:,} leads stored ...", file=sys.stderr, flush=True)
        result.full = _measure(stack, token, samples, FULL)
        print(f"  burst of {burst} ...", file=sys.stderr, flush=True)
        result.burst = _burst(stack, token, burst)
        import resource

        result.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data = asdict(result)
    out.write_text(json.dumps(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.volume", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=9)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--out", type=Path, help="write the result here as JSON (default: print a summary)")
    args = parser.parse_args(argv)
    if args.out:
        _child(args.leads, args.samples, args.burst, args.out)
        return 0
    result = run(args.leads, args.samples, args.burst)
    if result.error:
        print(result.error)
        return 1
    for what in ("capture", "lead", "capture_cpu", "lead_cpu"):
        print(f"{what}: empty {result.median('empty', what):.0f} ms, {result.stored_leads:,} leads "
              f"{result.median('full', what):.0f} ms ({result.ratio(what):.2f}x)")
    print(f"burst: {result.burst.accepted}/{result.burst.requests} accepted, {result.burst.stored} stored, "
          f"{result.burst.statuses} in {result.burst.seconds:.1f} s; fill {result.fill_s:.0f} s, {result.rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
