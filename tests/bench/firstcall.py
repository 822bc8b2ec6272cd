"""The first invocation after a cold start, per function: what the import does not show.

A handler's first invocation also pays for what is done lazily: botocore creating each client
(loading the service model and endpoint rules), PynamoDB's own connection, the rule sets read
and parsed, modules imported inside functions (plausibility data, Jinja templates, ...).

moto runs in server mode in this process (infra.emulator, as `make dev` does); for each
function a fresh interpreter, with that function's environment pointed at it, imports the
handler and invokes it twice with events prepared here (two different leads). The child's
own CPU (`time.process_time()`) excludes moto, which runs in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MARK = "@@leadflow-bench-firstcall@@"


@dataclass
class FirstCall:
    function: str
    import_ms: float = 0.0  # CPU
    first_ms: float = 0.0  # CPU of the first invocation
    second_ms: float = 0.0  # CPU of the second invocation (warm)
    first_wall_ms: float = 0.0
    lazy_packages: list[str] = field(default_factory=list)  # top-level packages first imported by the call
    lazy_modules: int = 0
    error: str | None = None

    @property
    def extra_ms(self) -> float:
        return max(0.0, self.first_ms - self.second_ms)


# ------------------------------------------------------------------------------ child

def _child(spec_path: str) -> None:
    import importlib
    import time

    spec = json.loads(Path(spec_path).read_text())

    class Context:
        function_name = spec["function"]
        memory_limit_in_mb = 512
        invoked_function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{spec['function']}"
        aws_request_id = "bench-1"

        def get_remaining_time_in_millis(self) -> int:
            return 30_000

    c0, w0 = time.process_time(), time.perf_counter()
    module_name, attr = spec["handler"].rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), attr)
    c1, w1 = time.process_time(), time.perf_counter()
    before = set(sys.modules)
    handler(spec["events"][0], Context())
    c2, w2 = time.process_time(), time.perf_counter()
    lazy = sorted(set(sys.modules) - before)
    handler(spec["events"][1], Context())
    c3 = time.process_time()
    tops = sorted({m.split(".")[0] for m in lazy if not m.startswith("_")})
    print(MARK + json.dumps({"import_ms": 1000 * (c1 - c0), "first_ms": 1000 * (c2 - c1),
                             "second_ms": 1000 * (c3 - c2), "first_wall_ms": 1000 * (w2 - w1),
                             "lazy": tops, "lazy_modules": len(lazy), "import_wall_ms": 1000 * (w1 - w0)}))


# ------------------------------------------------------------------------------ parent

def _events(stack, endpoint: str) -> dict[str, list[dict[str, Any]]]:
    """Two events per function, from two different leads, prepared through the real handlers.
    The outbox stream's consumers get two records of their own, as their event source mappings
    hand them over (the counters of those two are left for the child to add: a batch already
    counted would be skipped)."""
    from functions.qualify import handler as qualify
    from functions.score import handler as score
    from infra.streams import readers
    from tests.bench import harness
    from tests.helpers import claims, http_event, invoke_in_process, sqs_event

    streamed: dict[str, list[dict[str, Any]]] = {}

    def consume(function: str, event: dict[str, Any]) -> Any:
        mine = streamed.setdefault(function, [])
        records = event.get("Records") or []
        if function == "CountersFunction" and len(mine) < 2:
            taken = records[: 2 - len(mine)]
            mine += [{"Records": [r]} for r in taken]
            rest = records[len(taken):]
            return invoke_in_process(stack, function, {"Records": rest}) if rest else {"batchItemFailures": []}
        mine += [{"Records": [r]} for r in records[: max(0, 2 - len(mine))]]
        return invoke_in_process(stack, function, event)

    # the stream read through the emulator (settle() would create readers for the in-process endpoint)
    stack.stream_readers = readers(stack, consume, endpoint_url=endpoint)

    def bodies(queue: str, n: int) -> list[str]:
        return [m["Body"] for m in harness.receive(stack, queue, max_messages=n)]

    def post(i: int, **kw) -> dict:
        return http_event("POST", "/leads", body=harness.lead_body(i, tag="fc", **kw),
                          headers={"origin": "https://www.example.com"})

    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    events: dict[str, list[dict[str, Any]]] = {"CaptureFunction": [post(1), post(2)]}
    for i in (3, 4):
        harness.capture(harness.lead_body(i, tag="fc"))
    events["QualifyFunction"] = [sqs_event([b]) for b in bodies("IntakeQueue", 2)]
    ids = [harness.capture(harness.lead_body(i, tag="fc", quote=i == 7)) for i in (5, 6, 7, 8)]
    harness.deliver(qualify, bodies("IntakeQueue", 4))  # the verdicts
    harness.deliver(qualify, bodies("IntakeQueue", 4))  # after the verdicts: the rescores
    rescores = bodies("EngagementQueue", 4)
    by_lead = {json.loads(b)["leadId"]: b for b in rescores}
    events["ScoreFunction"] = [sqs_event([by_lead[ids[0]]]), sqs_event([by_lead[ids[1]]])]
    harness.deliver(score, [by_lead[ids[2]], by_lead[ids[3]]])
    routing = bodies("RoutingQueue", 1)
    harness.capture(harness.lead_body(9, tag="fc", quote=True, consent=False))
    harness.deliver(qualify, bodies("IntakeQueue", 1))
    harness.deliver(qualify, bodies("IntakeQueue", 1))
    harness.deliver(score, bodies("EngagementQueue", 1))
    routing += bodies("RoutingQueue", 1)
    events["RouteFunction"] = [sqs_event([b]) for b in routing]
    query = "query($id: ID!) { lead(id: $id) { id stage history { toStage at actor } } }"
    events["GraphqlFunction"] = [http_event("POST", "/graphql", body={"query": query, "variables": {"id": i}},
                                            claims=claims("admin")) for i in ids[:2]]
    site = {"siteKey": "demo-site-key-0001", "type": "page_visit", "url": "https://www.example.com/lager/wms"}
    from datetime import UTC, datetime

    events["TrackFunction"] = [http_event("POST", "/events", body={
        **site, "visitorId": f"visitor-{n:06d}", "occurredAt": datetime.now(UTC).isoformat()}) for n in (1, 2)]
    for function in ("NurtureSweepFunction", "SlaSweepFunction", "IntakeSweepFunction", "TrainFunction",
                     "RetentionFunction"):
        events[function] = [scheduled, scheduled]
    # two leads whose welcome mail is due: the nurture sweep queues them for the worker
    from functions.nurture_sweep import handler as sweep
    from tests.bench.operations import links, mails_to, track
    from tests.helpers import LambdaContext

    for i in (10, 11):
        body = harness.lead_body(i, tag="fc")
        harness.capture(body)
        harness.deliver(qualify, bodies("IntakeQueue", 1))  # the verdict
        harness.deliver(qualify, bodies("IntakeQueue", 1))  # after the verdict: the DOI mail
        doi = next(m for m in mails_to(body["email"]) if "/consent/confirm" in m.html)
        track("POST", next(u for u in links(doi) if "/consent/confirm" in u))
    sweep(scheduled, LambdaContext())
    events["NurtureWorkerFunction"] = [sqs_event([b]) for b in bodies("NurtureQueue", 2)]
    harness.receive(stack, "IntakeQueue")  # settles the streams once more
    for function in ("RelayFunction", "CountersFunction"):
        if len(streamed.get(function, [])) == 2:
            events[function] = streamed[function]
    return events


def run(progress: bool = True) -> list[FirstCall]:
    import logging
    from contextlib import redirect_stdout

    from infra.emulator import start_local_aws
    from infra.provision import provision
    from infra.template import load_wiring
    from tests.bench import fastmoto, harness
    from tests.bench.coldstart import lambda_environment
    from tests.bench.operations import SINK, silence_function_logs

    harness.environment()
    fastmoto.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's access log
    server, endpoint = start_local_aws()
    saved = dict(os.environ)
    results: list[FirstCall] = []
    try:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        wiring = load_wiring(parameters={"Stage": "dev"})
        stack = provision(wiring, name="leadflow", endpoint_url=endpoint, parameters=harness.LOCAL_PARAMETERS,
                          keys_seed=harness.KEYS_SEED)
        env_all = stack.environment()
        os.environ.update(env_all)
        harness.reset_caches()
        import functions.common  # noqa: F401

        silence_function_logs()
        with redirect_stdout(SINK):
            events = _events(stack, endpoint)
        for logical_id, spec in sorted(wiring.functions.items()):
            result = FirstCall(logical_id)
            results.append(result)
            if logical_id not in events:
                result.error = "no event prepared"
                continue
            memory = int(wiring.resources[logical_id]["Properties"].get("MemorySize", 128))
            function_env = {k: env_all[k] for k in spec.environment if k in env_all}
            env = lambda_environment(logical_id, memory, function_env)
            env.update({"AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_TRACE_DISABLED": "true",
                        "LEADFLOW_STAGE": "dev"})  # no X-Ray daemon here
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump({"function": logical_id, "handler": spec.handler, "events": events[logical_id]}, f)
            try:
                # run as a script: nothing of the benchmark's (tests.bench) is imported in the child
                done = subprocess.run([sys.executable, str(Path(__file__).resolve()), f.name], cwd=REPO, env=env,
                                      capture_output=True, text=True, timeout=180)
            finally:
                os.unlink(f.name)
            line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
            if done.returncode != 0 or line is None:
                tail = (done.stderr or done.stdout).strip().splitlines()
                result.error = tail[-1][:200] if tail else f"exit {done.returncode}"
                continue
            data = json.loads(line[len(MARK):])
            result.import_ms, result.first_ms, result.second_ms = data["import_ms"], data["first_ms"], data["second_ms"]
            result.first_wall_ms = data["first_wall_ms"]
            result.lazy_packages, result.lazy_modules = data["lazy"], data["lazy_modules"]
            if progress:
                print(f"  first call {logical_id}: +{result.extra_ms:.0f} ms CPU", file=sys.stderr, flush=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        harness.reset_caches()
        server.stop()
    return results


if __name__ == "__main__":
    _child(sys.argv[1])
