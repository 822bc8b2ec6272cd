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

Prints a markdown section; `--write` puts it into docs/benchmarks.md (replacing its own section).
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
KEYS_PER_QUERY_PAGE_BYTES = 1_000_000  # a Query page ends at 1 MB (or at the page size)


def template_numbers() -> dict[str, int]:
    from infra.template import load_wiring

    wiring = load_wiring(parameters={"Stage": "prod"})
    mapping = next(r["Properties"] for r in wiring.resources_of_type("AWS::Lambda::EventSourceMapping").values()
                   if "NurtureQueue" in str(r["Properties"]["EventSourceArn"]))
    worker = wiring.resources["NurtureWorkerFunction"]["Properties"]
    return {"concurrency": int(mapping["ScalingConfig"]["MaximumConcurrency"]), "batch": int(mapping["BatchSize"]),
            "memory": int(worker.get("MemorySize", 128)), "timeout": int(worker.get("Timeout", 3)),
            "sweep_timeout": wiring.functions["NurtureSweepFunction"].timeout}


def confirm_doi(stack, i: int) -> str:
    """Lead i captured, qualified (its DOI mail sent) and confirmed: its welcome mail is due."""
    from functions.qualify import handler as qualify
    from tests.bench.operations import links, mails_to, track

    body = harness.lead_body(i, consent=True, tag="fan")
    lead_id = harness.capture(body)
    harness.deliver(qualify, [m["Body"] for m in harness.receive(stack, "IntakeQueue")])
    doi = next(m for m in mails_to(body["email"]) if "/consent/confirm" in m.html)
    assert track("POST", next(u for u in links(doi) if "/consent/confirm" in u))["statusCode"] == 200
    return lead_id


def measure(leads: int) -> dict[str, OpResult]:
    """{"worker": one batch of 10 (the cheapest of the batches), "sweep": the sweep of all `leads`}."""
    from functions.nurture_sweep import handler as sweep
    from functions.nurture_worker import handler as worker
    from tests.bench.operations import drain_nurture
    from tests.helpers import LambdaContext

    ops: dict[str, OpResult] = {}
    with harness.moto_stack() as stack:
        import functions.common  # noqa: F401  (the logger exists before it is silenced)

        silence_function_logs()
        with redirect_stdout(SINK):
            warm = [confirm_doi(stack, i) for i in range(10)]  # imports, clients, caches: not recorded
            sweep({"source": "aws.events"}, LambdaContext())
            drain_nurture(stack)
            assert len(warm) == 10
            for i in range(leads):
                confirm_doi(stack, 1000 + i)
            # one sender thread while measured: moto's CPU clock cannot tell overlapping threads apart
            from leadflow.services import nurture

            senders, nurture.SWEEP_SENDERS = nurture.SWEEP_SENDERS, 1
            rec = Recorder(ops, cold_config=False)
            summary = rec("sweep", "NurtureSweepFunction", lambda: sweep({"source": "aws.events"}, LambdaContext()))
            nurture.SWEEP_SENDERS = senders
            assert summary["enqueued"] == leads, summary
            batches = 0
            while bodies := [m["Body"] for m in harness.receive(stack, "NurtureQueue")]:
                rec("worker", "NurtureWorkerFunction", lambda b=bodies: harness.deliver(worker, b))
                batches += 1
            assert batches >= 1
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
    sweep = ops["sweep"]
    kinds = {**sweep.log.kinds(), "SendMessageBatch": sweep.log.count("sqs", "SendMessageBatch")}
    # 50,000 keys: a keys-only item of the due index is ~100 bytes, so the page size ends each page
    pages = math.ceil(DUE / SWEEP_PAGE) + DUE_SHARDS
    query_ms = next(latency_ms(c) for c in sweep.log.calls if c.operation == "Query")
    batch_ms = 8.0  # SendMessageBatch: cost.py's SendMessage latency
    sweep_ms = pages * query_ms + math.ceil(DUE / 10) * batch_ms / SWEEP_SENDERS
    sweep_cpu_ms = sweep.cpu_ours_s * 1000 * max(1.0, LAMBDA_VCPU_MB / 512) * DUE / leads
    minutes = DUE / per_minute
    return [
        HEADING, "",
        f"Measured by `python -m tests.bench.fanout --leads {leads}` (the real handlers on in-process moto; "
        "AWS latencies from cost.py's model).", "",
        f"- **Per-lead worker (welcome mail)**: {len(worker.log.calls) / per_batch:.1f} AWS requests per lead "
        f"({', '.join(f'{k}×{n / per_batch:g}' for k, n in sorted(worker.log.kinds().items()))}); "
        f"{cpu_ms / per_batch:.1f} ms our CPU at {t['memory']} MB + {wait_ms / per_batch:.0f} ms waiting for AWS "
        f"= **{lead_ms:.0f} ms per lead** (batches of {t['batch']}, the cheapest of the measured batches).",
        f"- **Workers in parallel**: MaximumConcurrency {t['concurrency']} → {t['concurrency']} × 60,000 ms / "
        f"{lead_ms:.0f} ms = **{per_minute:,.0f} due steps per minute**; 50,000 due leads are sent in "
        f"**{minutes:.1f} min** (goal: 1 min).",
        f"- **The sweep at 50,000 due leads**: {pages} Query pages ({DUE_SHARDS} shards, {SWEEP_PAGE} keys a "
        f"page) ≈ {pages * query_ms / 1000:.1f} s + {math.ceil(DUE / 10):,} SendMessageBatch calls, "
        f"{SWEEP_SENDERS} in flight ≈ {math.ceil(DUE / 10) * batch_ms / SWEEP_SENDERS / 1000:.1f} s + our CPU "
        f"≈ {sweep_cpu_ms / 1000:.1f} s: **≈ {(sweep_ms + sweep_cpu_ms) / 1000:.0f} s** of its "
        f"{t['sweep_timeout']} s (it stops reading 15 s before; the rest is queued by the next minute's sweep). "
        f"Measured with {leads} due leads: {dict(sorted(kinds.items()))}.",
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
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    OUT.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=40, help="due leads measured (default 40: 4 worker batches)")
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
