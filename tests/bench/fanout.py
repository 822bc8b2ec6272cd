"""`python -m tests.bench.fanout [--leads 40] [--write]`: the nurture sweep's fan-out at 50,000
due leads, computed from what is measured (not a timed test).

1. The per-lead worker: `--leads` leads with a confirmed double opt-in (the real handlers on
   in-process moto) are delivered to `functions.nurture_worker` in batches of 10, as the event
   source mapping does; each batch is recorded (AWS requests, our CPU apart from moto's). A
   lead's time on AWS = our CPU at the Lambda's share of a vCPU + cost.py's latency per request.
2. The sweep: the same leads found and queued by `functions.nurture_sweep`; its requests per
   page of the due index and per 10 leads scale to 50,000 due leads (Query pages one after
   another per shard, SendMessageBatch calls SWEEP_SENDERS at a time).
3. Due steps per minute = the worker's MaximumConcurrency (template.yaml) x 60,000 ms / the
   per-lead time; and the minutes until 50,000 due leads are sent.

`make bench` (tests/bench/run.py) includes this section; alone it prints it, and `--write` puts
it into docs/benchmarks.md (replacing its own section).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

from tests.bench import harness
from tests.bench.cost import LAMBDA_VCPU_MB, latency_ms
from tests.bench.operations import SINK, OpResult, Recorder, silence_function_logs

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "benchmarks.md"
HEADING = "## Nurture sweep fan-out"
DUE = 50_000
LEADS = 40  # due leads measured: 4 worker batches
SWEEP_SCALE = 1_000  # due journey items the sweep's CPU is measured with (moto's Query is slow, AWS's is not)
KEYS_PER_QUERY_PAGE_BYTES = 1_000_000  # a Query page ends at 1 MB (or at the page size)


def template_numbers() -> dict[str, int]:
    from infra.template import load_wiring

    wiring = load_wiring(parameters={"Stage": "prod"})
    mapping = next(r["Properties"] for r in wiring.resources_of_type("AWS::Lambda::EventSourceMapping").values()
                   if "NurtureQueue" in str(r["Properties"]["EventSourceArn"]))
    worker = wiring.resources["NurtureWorkerFunction"]["Properties"]
    return {"concurrency": int(mapping["ScalingConfig"]["MaximumConcurrency"]), "batch": int(mapping["BatchSize"]),
            "memory": int(worker.get("MemorySize", 128)), "timeout": int(worker.get("Timeout", 3)),
            "sweep_timeout": wiring.functions["NurtureSweepFunction"].timeout,
            "sweep_memory": int(wiring.resources["NurtureSweepFunction"]["Properties"].get("MemorySize", 128))}


def confirm_doi(stack, i: int) -> str:
    """Lead i captured, qualified (its DOI mail sent) and confirmed: its welcome mail is due."""
    from functions.qualify import handler as qualify
    from tests.bench.operations import links, mails_to, track

    body = harness.lead_body(i, consent=True, tag="fan")
    lead_id = harness.capture(body)
    harness.deliver(qualify, [m["Body"] for m in harness.receive(stack, "IntakeQueue")])  # the verdict
    harness.deliver(qualify, [m["Body"] for m in harness.receive(stack, "IntakeQueue")])  # after it: DOI mail
    doi = next(m for m in mails_to(body["email"]) if "/consent/confirm" in m.html)
    assert track("POST", next(u for u in links(doi) if "/consent/confirm" in u))["statusCode"] == 200
    return lead_id


class _InLine:
    """A ThreadPoolExecutor that runs each task at once in the caller's thread."""

    def __init__(self, *_args, **_kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return False

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def measure(leads: int) -> dict[str, OpResult]:
    """{"sweep": the sweep of `leads` due leads, "worker": one batch of 10 of them (the cheapest),
    "sweep at scale": the sweep of SWEEP_SCALE due journey items}."""
    import concurrent.futures

    from functions.nurture_sweep import handler as sweep
    from functions.nurture_worker import handler as worker
    from leadflow.store.models import NurtureModel
    from leadflow.store.nurture import due_bucket
    from tests.bench.operations import drain_nurture
    from tests.helpers import LambdaContext

    def swept() -> dict:
        # its sends in line while measured: moto's CPU clock cannot tell overlapping threads apart
        threads, concurrent.futures.ThreadPoolExecutor = concurrent.futures.ThreadPoolExecutor, _InLine
        try:  # no deadline while measured: moto's wall time is not AWS's
            return sweep({"source": "aws.events"}, Unhurried())
        finally:
            concurrent.futures.ThreadPoolExecutor = threads

    class Unhurried(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 3_600_000

    ops: dict[str, OpResult] = {}
    with harness.moto_stack() as stack:
        from tests.bench import fastmoto

        fastmoto.install()
        import functions.common  # noqa: F401  (the logger exists before it is silenced)

        silence_function_logs()
        with redirect_stdout(SINK):
            for i in range(10):  # imports, clients, caches: not recorded
                confirm_doi(stack, i)
            swept()
            drain_nurture(stack)
            for i in range(leads):
                confirm_doi(stack, 1000 + i)
            rec = Recorder(ops, cold_config=False)
            summary = rec("sweep", "NurtureSweepFunction", swept)
            assert summary["enqueued"] == leads, summary
            while bodies := [m["Body"] for m in harness.receive(stack, "NurtureQueue")]:
                rec("worker", "NurtureWorkerFunction", lambda b=bodies: harness.deliver(worker, b))
            # the sweep at scale: due journey items as stored (no worker runs them: the queue is purged)
            with NurtureModel.batch_write() as batch:
                for n in range(SWEEP_SCALE):
                    lead_id = f"due{n:06d}"
                    batch.save(NurtureModel(f"lead#{lead_id}", "journey", data={}, version=1,
                                            due_bucket=due_bucket(lead_id), due_at="2020-01-01T00:00:00+00:00"))
            scaled = rec("sweep at scale", "NurtureSweepFunction", swept)
            assert scaled["enqueued"] == SWEEP_SCALE, scaled
            import boto3

            boto3.client("sqs", region_name="eu-central-1").purge_queue(QueueUrl=stack.queue_url("NurtureQueue"))
    return ops


def per_call_ms(op: OpResult, memory_mb: int) -> tuple[float, float]:
    """(our CPU at the Lambda's vCPU share, waiting for AWS) of one invocation, in ms."""
    return op.cpu_ours_s * 1000 * max(1.0, LAMBDA_VCPU_MB / memory_mb), sum(latency_ms(c) for c in op.log.calls)


def report(ops: dict[str, OpResult], leads: int) -> list[str]:
    from leadflow.services.nurture import SWEEP_PAGE, SWEEP_SENDERS
    from leadflow.store.nurture import DUE_SHARDS

    t = template_numbers()
    worker = ops["worker"]
    per_batch = len([c for c in worker.log.calls if c.service == "ses"]) or 1
    cpu_ms, wait_ms = per_call_ms(worker, t["memory"])
    lead_ms = (cpu_ms + wait_ms) / per_batch
    per_minute = t["concurrency"] * 60_000 / lead_ms
    scaled = ops["sweep at scale"]
    factor = DUE / SWEEP_SCALE
    sweep_mem = t["sweep_memory"]
    # waiting: each shard's Query pages one after another, the SendMessageBatch calls SWEEP_SENDERS at a time
    pages = math.ceil(DUE / DUE_SHARDS / SWEEP_PAGE) * DUE_SHARDS
    batches = math.ceil(DUE / 10)
    query = next(c for c in scaled.log.calls if c.operation == "Query")
    send = next(c for c in scaled.log.calls if c.operation == "SendMessageBatch")
    query_wait, send_wait = pages * latency_ms(query), batches * latency_ms(send) / SWEEP_SENDERS
    # our CPU grows with the keys read and the messages sent: the measured sweep's, scaled
    sweep_cpu_ms = scaled.cpu_ours_s * 1000 * max(1.0, LAMBDA_VCPU_MB / sweep_mem) * factor
    sweep_s = (query_wait + send_wait + sweep_cpu_ms) / 1000
    minutes = DUE / per_minute
    return [
        HEADING, "",
        f"Measured with {leads} due leads (`python -m tests.bench.fanout`: the real handlers on in-process moto; "
        "AWS latencies from cost.py's model).", "",
        f"- **Per-lead worker (welcome mail)**: {len(worker.log.calls) / per_batch:.1f} AWS requests per lead "
        f"({', '.join(f'{k}×{n / per_batch:g}' for k, n in sorted(worker.log.kinds().items()))}); "
        f"{cpu_ms / per_batch:.1f} ms our CPU at {t['memory']} MB + {wait_ms / per_batch:.0f} ms waiting for AWS "
        f"= **{lead_ms:.0f} ms per lead** (batches of {t['batch']}, the cheapest of the measured batches).",
        f"- **Workers in parallel**: MaximumConcurrency {t['concurrency']} → {t['concurrency']} × 60,000 ms / "
        f"{lead_ms:.0f} ms = **{per_minute:,.0f} due steps per minute**; 50,000 due leads are sent in "
        f"**{minutes:.1f} min** (goal: 1 min).",
        f"- **The sweep at 50,000 due leads**: {pages} Query pages ({DUE_SHARDS} shards, {SWEEP_PAGE} keys a "
        f"page, one after another) ≈ {query_wait / 1000:.1f} s + {batches:,} SendMessageBatch calls, "
        f"{SWEEP_SENDERS} in flight ≈ {send_wait / 1000:.1f} s + our CPU at {sweep_mem} MB ≈ "
        f"{sweep_cpu_ms / 1000:.1f} s (measured sweeping {SWEEP_SCALE:,} due leads, × {factor:g}): "
        f"**≈ {sweep_s:.0f} s** of its {t['sweep_timeout']} s. It stops reading 15 s before its timeout; what "
        "is left is still due and queued by the next minute's sweep.",
        f"- **Other ceilings**: SES's account sending rate must allow {DUE / 60:,.0f} mails/s for 50,000 in a "
        "minute (a throttled send is retried in the call, then after 1 min via the due index); the Lambda "
        f"account concurrency must leave {t['concurrency']} for the workers. At {t['concurrency']} workers the "
        f"leads' journey items take ≈ {per_minute / 60 * 3:,.0f} writes/s, spread over 50,000 partitions.",
        "",
    ]


def write(lines: list[str]) -> None:
    text = OUT.read_text() if OUT.exists() else ""
    start = text.find(HEADING)
    if start >= 0:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + "\n".join(lines) + (text[end + 1:] if end >= 0 else "")
    else:  # where run.py puts it: before the observations, else at the end
        at = text.find("## Observations")
        at = at if at >= 0 else len(text)
        text = text[:at].rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + text[at:]
    OUT.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=LEADS, help=f"due leads measured (default {LEADS})")
    parser.add_argument("--write", action="store_true", help=f"write the section into {OUT.relative_to(REPO)}")
    args = parser.parse_args(argv)
    started = time.monotonic()
    lines = report(measure(args.leads), args.leads)
    print("\n".join(lines))
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    if args.write:
        write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
