"""`make bench`: speed and cost of Leadflow, measured (not a timed test).

    python -m tests.bench.run [--leads 300] [--profiled 60] [--runs 5] [--no-write]

1. AWS requests per operation (DynamoDB by kind, request units, transaction items; SQS, SES,
   EventBridge): operations.py, the real handlers on in-process moto.
2. Cold-start import time per Lambda function: coldstart.py, fresh interpreters; and what the
   first invocation adds: firstcall.py.
3. CPU per lead of capture -> qualify -> score -> route, ours vs moto's: pipeline.py.
4. The AWS cost of 10,000 leads through the funnel in eu-central-1: cost.py.
5. GraphQL: DynamoDB requests of a page of 50 leads with nested lists, the refused attack: graphql_cost.py.
6. The local stack with real volumes: capture and lead(id) on an empty stack vs one with 100,000
   stored leads, and a burst of 50 concurrent captures: volume.py.

Prints the report and writes it to docs/benchmarks.md (with the machine and the command).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "benchmarks.md"


def machine() -> dict[str, str]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("boto3", "pynamodb", "moto", "strawberry-graphql", "aws-lambda-powertools", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "-"
    return {
        "cores": str(os.cpu_count()), "cpu": model or "unknown", "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 0.1 else f"${usd:,.4f}"


def qty(value: float) -> str:
    if value == 0:
        return "0"
    if value < 10:
        return f"{value:,.3g}"
    return f"{value:,.0f}"


# ------------------------------------------------------------------------------ sections

def _follow(op, function: str) -> str:
    """What an operation's outbox records made one stream consumer do (its invocations)."""
    invoked = op.caused(function)
    if not invoked:
        return ""
    parts = []
    ddb = sum(f.log.dynamodb for f in invoked)
    if ddb:
        wru = sum(f.log.wru for f in invoked)
        parts.append(f"{ddb} DDB, {wru:g} WRU")
    sqs = sum(f.log.sqs_messages for f in invoked)
    if sqs:
        parts.append(f"SQS {sqs}")
    events = sum(f.log.events_put for f in invoked)
    if events:
        parts.append(f"EvB {events}")
    cpu = sum(f.cpu_ours_s for f in invoked) * 1000
    calls = f"{len(invoked)}× " if len(invoked) > 1 else ""
    return calls + (", ".join(parts) or "nothing") + f"; {cpu:.1f} ms"


def section_requests(ops) -> list[str]:
    lines = ["## 1. AWS requests per operation, and what each causes", "",
             "Each operation on fresh leads (twice; the requests must agree), by the real handler with the",
             "events AWS delivers, on in-process moto provisioned from template.yaml. **DynamoDB** counts",
             "requests in a warm container",
             "whose rule-set cache (60 s) is filled; **+cfg** is how many more a container makes after that",
             "cache expired (one GetItem per rule set: the active-version pointer; 2 per rule set once admins",
             "publish versions). **kinds** lists the requests, `TransactWriteItems[n]` with its n items.",
             "**RRU/WRU** are the request units DynamoDB on-demand bills (size-based; transactional writes 2x",
             "per KB; **idx** = WRU of global-secondary-index maintenance, included in WRU). **CPU** is our",
             "code + libraries on this machine (moto excluded), the lower of two runs; **CPU cfg** the same after the",
             "rule-set cache expired (re-reading and re-parsing the shipped YAML rule sets).", "",
             "**What it causes.** No operation sends its events or work itself: each committed change writes",
             "its follow-ups to the OutboxTable in its own transaction (`Outbox` in *kinds*), and the outbox's",
             "DynamoDB stream invokes two consumers through Lambda event source mappings. Right after each",
             "operation they run on the records it wrote, one batch each (at 10,000 leads a month a batching",
             "window holds the records of one operation; section 4), and their invocations are counted as the",
             "operation's: **→ Relay** (RelayFunction: SQS work messages to the intake/engagement/routing queues",
             "and EventBridge events) and **→ Counters** (CountersFunction: the funnel counters, one write per",
             "counter key per batch plus its checkpoint), each with its CPU. Reading the stream (GetRecords) is",
             "the event source mapping's work, free on AWS and not counted; each consumer *invocation* is billed",
             "(section 4). **caused** = the operation's Lambda invocations, DynamoDB requests and WRU including",
             "its consumers. The work a relay sends is the next row: qualification is two invocations of",
             "QualifyFunction (**qualify 1**: the verdict, committed with the message for **qualify 2**: after",
             "the verdict, the consent ledger, the DOI mail, the journey, the rescore request), and a score that",
             "makes an MQL is followed by its routing.", ""]
    rows = []
    for name, op in ops.warm.items():
        s = op.log.summary()
        cold = ops.cold.get(name)
        extra = (cold.log.dynamodb - op.log.dynamodb) if cold else 0
        kinds = ", ".join(f"{k}×{n}" if n > 1 else k for k, n in s["kinds"].items()) or "–"
        caused = op.caused_log()
        rows.append([name, op.function.removesuffix("Function"), str(s["dynamodb"]), f"+{extra}" if extra else "",
                     kinds, f"{s['rru']:g}", f"{s['wru']:g}", f"{s['gsi_wru']:g}" if s["gsi_wru"] else "",
                     str(op.log.sqs_messages or ""), str(s["ses"] or ""), str(op.log.events_put or ""),
                     f"{op.cpu_ours_s * 1000:.1f}", f"{cold.cpu_ours_s * 1000:.1f}" if cold else "",
                     _follow(op, "RelayFunction"), _follow(op, "CountersFunction"),
                     f"{1 + len(op.follow_ups)} / {caused.dynamodb} / {caused.wru:g}"])
    lines += table(["operation", "function", "DynamoDB", "+cfg", "kinds", "RRU", "WRU", "idx", "SQS", "SES",
                    "EvB", "CPU ms", "CPU ms cfg", "→ Relay", "→ Counters", "caused: invocations / DDB / WRU"],
                   rows, "llrrlrrrrrrrrllr")
    one, none = ops.warm.get("nurture sweep: 1 due lead (queued)"), ops.warm.get("nurture sweep: nothing due")
    worker = ops.warm.get("nurture worker: 1 lead (welcome email)")
    if one and none and worker:
        lines += ["", f"Nurture step per due lead (email) = sweep with one due lead − empty sweep "
                      f"({one.log.dynamodb - none.log.dynamodb} DynamoDB requests, 1 SendMessageBatch for up to 10 "
                      f"leads) + its worker: **{worker.log.dynamodb} DynamoDB requests**, "
                      f"{worker.log.rru:g} RRU, {worker.log.wru:g} WRU, {worker.log.count('ses')} mail."]
    if ops.notes:
        lines += ["", "Notes: " + "; ".join(dict.fromkeys(ops.notes))]
    return [*lines, ""]


def section_coldstart(cold, runs: int, first=None, baseline=None) -> list[str]:
    lines = ["## 2. Cold-start import time per function", "",
             "Each function's artifact as `sam build` ships it (scripts/build_function.py, what",
             "`make build-<LogicalId>` runs), imported by a fresh interpreter of the runtime's Python",
             "(`-I -S`: nothing of the dev venv) with sys.path = [artifact, the runtime's boto3] + the standard",
             "library: `python -X importtime -c \"import <handler module>\"` with the function's environment from",
             "template.yaml (placeholder resource names, Lambda variables, X-Ray tracing on as deployed), median of",
             f"{runs} runs; the interpreter's own start-up is not included. **× boto3** = that median over the",
             "median of a bare `import boto3` from the same runtime directory, measured in the same run"
             + (f" (**{baseline.median_ms:.0f} ms**)" if baseline else "") + ". **MB** = the artifact unzipped.",
             "Heaviest packages by their own (self) import time in the median run. This is the import only: what",
             "a handler does lazily on its first invocation comes on top (second table).", ""]
    rows = []
    for c in cold:
        if c.error:
            rows.append([c.function, c.handler, str(c.memory_mb), f"{c.size_mb:.1f}", "error", "", c.error, ""])
            continue
        heavy = ", ".join(f"{p} {ms:.0f}" for p, ms in c.heaviest)
        ratio = f"{c.median_ms / baseline.median_ms:.2f}" if baseline else ""
        rows.append([c.function, c.handler, str(c.memory_mb), f"{c.size_mb:.1f}",
                     f"**{c.median_ms:.0f}** ({min(c.runs_ms):.0f}–{max(c.runs_ms):.0f})", ratio, heavy,
                     ", ".join(n for n in c.notable if n not in ("botocore", "boto3", "dateutil"))])
    lines += table(["function", "handler", "memory MB", "artifact MB", "import ms (min–max)", "× boto3",
                    "heaviest packages (ms)", "notable libraries"], rows, "llrrrrll")
    if first:
        lines += ["", "**The first invocation** (firstcall.py): a fresh interpreter per function imports the handler",
                  "and invokes it twice (two leads) against moto in server mode running in the parent process, so",
                  "the child's CPU excludes moto. *extra* = first − second invocation: creating the botocore",
                  "clients, reading rule sets, modules imported inside functions (listed). One run each.", ""]
        rows = []
        for f in first:
            if f.error:
                rows.append([f.function, "error", f.error[:80], "", "", ""])
                continue
            lazy = [p for p in f.lazy_packages if p not in BORING]
            rows.append([f.function, f"{f.import_ms:.0f}", f"{f.first_ms:.0f}", f"{f.second_ms:.0f}",
                         f"**+{f.extra_ms:.0f}**", ", ".join(lazy) or "–"])
        lines += table(["function", "import CPU ms", "1st call CPU ms", "2nd call CPU ms", "extra", "imported lazily"],
                       rows, "lrrrrl")
    return [*lines, ""]


BORING = {"encodings", "stringprep", "mmap", "pickle", "runpy", "concurrent", "multiprocessing", "leadflow",
          "gettext", "ctypes", "cython_runtime", "fractions", "sysconfig", "unicodedata", "zoneinfo", "email",
          "idna", "markupsafe", "annotated_types", "typing_inspection", "pydantic_core", "s3transfer"}


def section_pipeline(p) -> list[str]:
    lines = ["## 3. CPU per lead: capture → qualify → score → route, and the stream consumers", "",
             f"{p.leads} distinct plausible leads (each asks for a quote, so each becomes an MQL at its first score",
             "and is routed; every second one gave email consent, so the second step of its qualification renders",
             "and sends the double opt-in mail), one SQS message per invocation; after each step the outbox stream's",
             "consumers (relay, counters) run on the records it wrote, one batch each, timed as steps of their own",
             "(their wall time includes reading the stream). `time.process_time()` around each handler;",
             "moto's share is measured inside moto's request handling and taken out. **ours** is what a Lambda",
             "would spend on CPU (our code, the libraries, botocore building, signing and parsing requests);",
             "not included: TLS and sockets of real HTTPS calls, and waiting for AWS.", ""]
    rows = []
    for step, s in p.steps.items():
        n = max(1, s.calls)
        rows.append([step, str(s.calls), f"**{1000 * s.ours_s / n:.1f}**", f"{s.median_ms:.1f}",
                     f"{1000 * s.moto_s / n:.1f}", f"{1000 * s.wall_s / n:.1f}"])
    total_ours = p.ours_ms_per_lead()
    rows.append(["**per lead**", str(p.leads), f"**{total_ours:.1f}**",
                 f"{sum(s.median_ms * s.calls for s in p.steps.values()) / max(1, p.leads):.1f}",
                 f"{p.moto_ms_per_lead():.1f}",
                 f"{1000 * sum(s.wall_s for s in p.steps.values()) / p.leads:.1f}"])
    lines += table(["step", "invocations", "ours ms (mean)", "ours ms (median)", "moto ms (excluded)",
                    "wall ms (in-process)"], rows)
    lines += ["", f"Routed: {p.routed} of {p.leads} leads."]
    if p.by_package:
        lines += ["", f"Where *our* CPU goes (cProfile on {p.profiled_leads} more leads, paused while moto works; "
                      "self time by package, shares applied to the unprofiled ms/lead):", ""]
        rows = [[pkg, f"{share:.1%}", f"{share * total_ours:.1f}"] for pkg, share in p.by_package.items()
                if share >= 0.005]
        lines += table(["package", "share", "ms / lead"], rows)
        if p.hotspots:
            lines += ["", "Hottest functions of our own code (self time, share of ours):", ""]
            lines += [f"- `{where}` {share:.1%}" for where, share in p.hotspots[:6]]
    return [*lines, ""]


def _goal(usd: float, goal: float) -> str:
    return f"goal ≤ {money(goal)}: " + ("**met**" if usd <= goal else f"**missed** by {money(usd - goal)}")


def _biggest(lines) -> str:
    return ", ".join(f"{line.component} {money(line.usd)}" for line in lines)


def section_cost(report, prices, latency, storage, stored_leads) -> list[str]:
    from tests.bench.cost import (
        FIXED_GOAL_USD,
        MONTH_SECONDS,
        PLATFORM_LOG_BYTES,
        SQS_LONG_POLL_S,
        SQS_POLLERS,
        VARIABLE_GOAL_USD,
    )

    mix = report.mix
    facts = report.facts
    variable = report.variable_usd_without_ses
    lines = ["## 4. AWS cost of 10,000 leads through the funnel (eu-central-1)", "",
             "From the measured requests and request units of each operation and of the stream consumer",
             "invocations it causes (section 1, the column after the rule-set cache expired: at this volume",
             "invocations are minutes apart), the measured CPU, import times and stored bytes, what template.yaml",
             "declares (memory, schedules, tracing, event source mappings, alarms, X-Ray sampling) and these",
             "assumptions. No free tier is subtracted.", "",
             f"- **Variable, SES excluded: {money(variable)} per {mix.leads:,} leads** ({_goal(variable, VARIABLE_GOAL_USD)}, "
             "issue 12 point 9). Biggest: " + _biggest(report.biggest(report.variable)) + ".",
             f"- **Fixed: {money(report.fixed_usd)} per month** ({_goal(report.fixed_usd, FIXED_GOAL_USD)}, issue 11 "
             "point 10). Biggest: " + _biggest(report.biggest(report.fixed)) + ".", "",
             "**Funnel mix (per month):**", ""]
    lines += table(["parameter", "value", "meaning"], [[k, f"{v:g}", note] for k, v, note in mix.describe()], "lrl")
    windows = "; ".join(
        f"{fn.removesuffix('Function')}: {report.consumer_records.get(fn, 0):,.0f} records a month "
        f"({report.consumer_records.get(fn, 0) / MONTH_SECONDS:.3f}/s), batches of up to {size:,} in a {window:g} s "
        f"window, in which ≈ {report.consumer_records.get(fn, 0) / MONTH_SECONDS * window:.2f} further records arrive"
        for fn, _table, size, window in facts.stream_mappings)
    lines += ["", "**Volumes** (each operation with the stream consumer invocations it causes):", ""]
    lines += table(["operation", "per month", "function", "causes"],
                   [[v.operation, qty(v.per_month), v.function.removesuffix("Function"), v.follow_ups or "–"]
                    for v in report.volumes], "lrll")
    lines += ["", f"**Stream batches** (the assumed batch size). The outbox stream's consumers get (on average) "
                  f"{windows}. So a batch holds the "
                  "records of one operation, as measured in section 1: each counter key of an operation is one write. "
                  "This is the upper bound; when leads come in bursts, batches hold more records and keys they share "
                  "are written once per batch (the hot-items section runs batches of 1,000).", "",
              "**Cost caused by the 10,000 leads:**", ""]
    rows = [[line.component, qty(line.quantity), line.unit, money(line.usd), line.note] for line in report.variable]
    rows.append(["**total, SES excluded**", "", "", f"**{money(variable)}**",
                 f"{money(variable / mix.leads * 1000)} per 1,000 leads; {_goal(variable, VARIABLE_GOAL_USD)}"])
    rows.append(["total with SES", "", "", money(report.variable_usd), ""])
    lines += table(["component", "quantity", "unit", "USD", "note"], rows, "lrlrl")
    lines += ["", "**Fixed per month, whatever the number of leads (schedules, polling, metrics, alarms):**", ""]
    rows = [[line.component, qty(line.quantity), line.unit, money(line.usd), line.note] for line in report.fixed]
    rows.append(["**total**", "", "", f"**{money(report.fixed_usd)}**", _goal(report.fixed_usd, FIXED_GOAL_USD)])
    lines += table(["component", "quantity", "unit", "USD", "note"], rows, "lrlrl")
    total = report.variable_usd + report.fixed_usd
    lines += ["", f"**A month with 10,000 leads: {money(total)}** ({money(report.variable_usd)} for the leads, "
                  f"of which SES {money(report.variable_usd - variable)}, + {money(report.fixed_usd)} fixed)."]
    if report.skipped:
        lines += ["", "Not in the totals: " + "; ".join(report.skipped) + "."]
    lines += ["", "**Lambda per function** (for the leads; scheduled runs in parentheses; **USD** = its requests,",
              "duration, cold starts and the DynamoDB units its invocations use):", ""]
    rows = []
    for fn, st in sorted(report.per_function.items(), key=lambda kv: -kv[1].get("usd", 0.0)):
        calls = st["invocations"] + st["fixed_invocations"]
        avg = st["ms_total"] / calls if calls else 0
        rows.append([fn.removesuffix("Function"), str(int(st["memory"])), qty(st["invocations"]),
                     f"({qty(st['fixed_invocations'])})" if st["fixed_invocations"] else "", f"{avg:.0f}",
                     qty(st["gb_s"] + st["fixed_gb_s"]), qty(st["wru"]), qty(st["rru"]), money(st.get("usd", 0.0))])
    lines += table(["function", "MB", "invocations", "(scheduled)", "avg billed ms", "GB-s", "WRU", "RRU", "USD"],
                   rows)
    lines += ["", "**Stored per lead** (tables + index entries, 100 B overhead per item; outbox items expire after",
              "3 days and checkpoints after theirs, so they are counted here though they do not stay):", ""]
    rows = [[t, str(n), f"{b / max(1, stored_leads) / 1024:.2f}"] for t, (n, b) in sorted(storage.items()) if n]
    lines += table(["table", "items", "KB per lead"], rows)
    lines += ["", "**Prices used:**", ""]
    lines += table(["key", "USD", "per", "what"],
                   [[k, f"{p.usd:g}", f"{p.per:,.0f} {p.unit}", p.source] for k, p in prices.items()], "lrll")
    s = facts.sampling
    lines += ["", "**Other assumptions:** Lambda CPU = 1,769 MB per vCPU, so a 512 MB function runs CPU-bound code",
              f"{1769 / 512:.2f}x slower than one core of this machine (same speed per core assumed); the same",
              "factor for a cold start = median import time + the first invocation's extra CPU (the init phase is",
              "billed since 2025-08-01). Waiting for AWS per request (ms): "
              + ", ".join(f"{s_}:{o} {v:g}" for (s_, o), v in latency.items())
              + "; TransactWriteItems + 0.5 ms per item. Every SQS message costs a send (a SendMessageBatch one",
              "request for up to 10), a receive and a delete (one message per batch at this volume). Lambda's",
              f"idle pollers: {SQS_POLLERS} long polls of {SQS_LONG_POLL_S} s per SQS event source mapping, all the "
              f"time ({len(facts.sqs_mappings)} mappings in template.yaml: "
              + ", ".join(f"{fn.removesuffix('Function')} on {q}" for fn, q in facts.sqs_mappings) + "). "
              f"Stream event source mappings ({len(facts.stream_mappings)}) poll the stream for free; their "
              "invocations and duration are billed like any other. **X-Ray:** "
              f"rule `{s.rule}` ({s.source}): the first {s.reservoir_per_s:g} request(s) each second, then "
              f"{s.fixed_rate:.0%} of the rest, requests spread evenly over the month (the most traces; bursts "
              "give fewer); only functions with `Tracing: Active` start traces (the HTTP API has no X-Ray);",
              "recorded traces are billed, retrieval and scans are not included. To verify on AWS: Lambda documents",
              "that an Active function without an upstream trace header samples \"at a fixed rate\" (1/s + 5 %), and",
              "X-Ray's list of services that apply sampling rules does not name Lambda, so a sampling rule in the",
              "template may not lower what Lambda itself records.",
              f"Logs: the bytes each invocation printed here (Powertools logger at INFO and EMF metrics) + "
              f"{PLATFORM_LOG_BYTES} B of platform lines.", ""]
    return lines


def section_volume(v) -> list[str]:
    lines = ["## 5. The local stack with real volumes", "",
             "`LocalStack` (what `leadflow dev` runs; schedules off) in a fresh process. Each sample: `POST /leads`",
             "over HTTP, then wait until every queue is empty (qualify, score and route have run), then the GraphQL",
             "`lead(id)` with history of that lead, each timed after one warm-up sample. First on the empty",
             f"stack, then after storing {v.stored_leads:,} leads: copies of "
             f"{v.templates} leads that went",
             "through the real pipeline, every item that names the lead (the lead with its index attributes,",
             "history, nurture state, markers, dedup keys, routing record) with a new id and keys of its own",
             f"({v.items_written:,} items, imported straight into moto's tables in {v.fill_s:.0f} s). "
             "Goal: at most 2x the empty stack.", ""]
    rows = []
    for what, label in (("capture", "capture (POST /leads)"), ("lead", "GraphQL lead(id) with history")):
        for key, kind in ((what, "wall"), (what + "_cpu", "CPU")):
            empty, full = v.empty.get(key) or [0.0], v.full.get(key) or [0.0]
            rows.append([label, kind, f"**{v.median('empty', key):.0f}** ({min(empty):.0f}–{max(empty):.0f})",
                         f"**{v.median('full', key):.0f}** ({min(full):.0f}–{max(full):.0f})",
                         f"**{v.ratio(key):.2f}x**"])
    lines += table(["request", "time", f"empty stack ms, median of {v.samples} (min–max)",
                    f"{v.stored_leads:,} leads ms (min–max)", "ratio"], rows, "llrrr")
    lines += ["", "**wall** is what the client waited; **CPU** is the CPU time of the whole stack process (gateway,",
              "function, emulator, client) during the request. The queues are idle when a request starts (only the",
              "qualification a capture triggers may begin before its answer arrives), so CPU is the request's own",
              "work, which other load on this shared machine does not change; wall time it does."]
    b = v.burst
    lost = ", ".join(f"{n} {status}" for status, n in b.statuses.items() if status not in ("200", "202"))
    lines += ["", f"**Burst:** {b.requests} `POST /leads` at the same moment, each on its own connection, against the "
                  f"stack with {v.stored_leads:,} leads: **{b.accepted} accepted, {b.lost} lost**"
                  + (f" ({lost})" if lost else "") + f", in {b.seconds:.1f} s; "
                  f"{b.stored} of the accepted leads found by `lead(id)` afterwards.",
              "", f"The emulator process peaked at {v.rss_mb:,.0f} MB.", ""]
    return lines


def observations(ops, pipeline_result) -> list[str]:
    """Facts from the numbers worth a look (generated)."""
    out = []
    rereads = {name: sum(1 for c in op.log.calls if c.operation == "GetItem" and c.tables == ("Leads",))
               for name, op in ops.warm.items()}
    rereads = {name: n for name, n in rereads.items() if n >= 2}
    if rereads:
        out.append("The lead is read more than once in one invocation (GetItem(Leads)): "
                   + "; ".join(f"{name} ×{n}" for name, n in rereads.items()) + ".")
    big = {}
    for name, op in ops.warm.items():
        for c in op.log.calls:
            if c.operation == "TransactWriteItems" and c.items >= 20:
                big[name] = c
    if big:
        sizes = sorted({c.items for c in big.values()})
        wru = sorted({c.wru for c in big.values()})
        out.append(f"A transaction of {sizes[0]}–{sizes[-1]} items ({wru[0]:g}–{wru[-1]:g} WRU) in the "
                   "operation itself: " + ", ".join(big) + ".")
    counted = {name: op.caused("CountersFunction") for name, op in ops.warm.items() if op.caused("CountersFunction")}
    if counted:
        wru = sorted({sum(f.log.wru for f in fs) for fs in counted.values()})
        own = sorted({op.log.wru for name, op in ops.warm.items() if name in counted})
        out.append(f"The counters consumer writes {wru[0]:g}–{wru[-1]:g} WRU for one operation's records (its counter "
                   f"keys, transactional, and the checkpoint) against {own[0]:g}–{own[-1]:g} WRU of the operation "
                   f"itself, for {len(counted)} operations (capture and the stage changes): with batches of one "
                   "operation's records, most of a lead's write units. Records of several operations in one batch "
                   "write a shared counter key once (not measured here at this volume).")
    multi = [name for name, op in ops.warm.items()
             if sum(1 for c in op.log.calls if c.operation == "TransactWriteItems") >= 2]
    if multi:
        out.append("Two transactions in one invocation: " + ", ".join(multi) + ".")
    cfg = {name: ops.cold[name].log.dynamodb - op.log.dynamodb for name, op in ops.warm.items() if name in ops.cold}
    cfg = {k: v for k, v in cfg.items() if v > 0}
    if cfg:
        out.append(f"After the 60 s rule-set cache expires, {len(cfg)} operations re-read rule-set pointers "
                   f"(up to +{max(cfg.values())} GetItem(Config)).")
    slower = {name: (op.cpu_ours_s, ops.cold[name].cpu_ours_s) for name, op in ops.warm.items()
              if name in ops.cold and ops.cold[name].cpu_ours_s - op.cpu_ours_s > 0.02}
    if slower:
        out.append("...and spend more CPU re-reading and re-parsing the shipped YAML rule sets: "
                   + "; ".join(f"{name} {1000 * a:.0f} → {1000 * b:.0f} ms" for name, (a, b) in slower.items()) + ".")
    if pipeline_result and pipeline_result.by_package:
        sdk = pipeline_result.by_package.get("botocore", 0.0) + pipeline_result.by_package.get("pynamodb", 0.0)
        out.append(f"botocore + PynamoDB take {sdk:.0%} of our CPU in the pipeline: fewer requests is also less CPU.")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=300, help="leads through the CPU pipeline (default 300)")
    parser.add_argument("--profiled", type=int, default=60, help="leads of the profiled pass (default 60, 0: none)")
    parser.add_argument("--runs", type=int, default=5, help="cold-start runs per function (default 5)")
    parser.add_argument("--hot-leads", type=int, default=200, help="leads of the hot-item run (default 200)")
    parser.add_argument("--volume", type=int, default=100_000,
                        help="stored leads of the local-stack volume run (default 100000, 0: none)")
    parser.add_argument("--search-leads", type=int, default=100_000,
                        help="stored leads of the search run (default 100000, 0: none)")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {OUT.relative_to(REPO)}")
    args = parser.parse_args(argv)
    command = "python -m tests.bench.run" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()

    from tests.bench import coldstart, cost, firstcall, graphql_cost, operations, pipeline, volume
    from tests.bench.harness import environment

    environment()
    import logging

    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # "unpublished metrics" of its own
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    timings = {}
    print("1/6 requests per operation ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    ops = operations.run()
    timings["requests"] = time.perf_counter() - t
    print("2/6 CPU per lead ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    pipe = pipeline.run(leads=args.leads, profiled=args.profiled)
    timings["pipeline"] = time.perf_counter() - t
    print("3/6 cold-start imports ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    baseline, cold = coldstart.run(runs=args.runs)
    timings["cold starts"] = time.perf_counter() - t
    print("4/6 first invocations ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    first = firstcall.run()
    timings["first calls"] = time.perf_counter() - t
    print("   GraphQL page of leads ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    page = graphql_cost.run()
    timings["graphql page"] = time.perf_counter() - t
    print("5/5 hot items, nurture fan-out, cost ...", file=sys.stderr, flush=True)
    from tests.bench import fanout, hot_items

    t = time.perf_counter()
    hot = hot_items.run(args.hot_leads)
    timings["hot items"] = time.perf_counter() - t
    t = time.perf_counter()
    fanned = fanout.report(fanout.measure(fanout.LEADS), fanout.LEADS)
    timings["fan-out"] = time.perf_counter() - t
    vol = None
    if args.volume:
        print(f"5/6 the local stack with {args.volume:,} leads ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        vol = volume.run(leads=args.volume)
        timings["volume"] = time.perf_counter() - t
        if vol.error:
            print(f"  volume run failed: {vol.error}", file=sys.stderr, flush=True)

    searched = None
    if args.search_leads:
        from tests.bench import search

        print(f"6/6 searchLeads at {args.search_leads:,} leads ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        searched = search.run(leads=args.search_leads)
        timings["search"] = time.perf_counter() - t

    from infra.template import load_wiring

    wiring = load_wiring(parameters={"Stage": "prod"})
    extra = {f.function: f.extra_ms for f in first if not f.error}
    report = cost.estimate(ops.cold, facts=cost.template_facts(wiring),
                           cold_ms={c.function: c.median_ms + extra.get(c.function, 0.0) for c in cold if not c.error},
                           storage_bytes_per_lead=pipe.storage_bytes_per_lead,
                           handlers=[spec.handler for spec in wiring.functions.values()])
    elapsed = time.perf_counter() - started

    info = machine()
    lines = ["# Benchmarks", "",
             "Generated by `make bench` — do not edit by hand; run it again. Speed and cost are measured here,",
             "never asserted in a test.", "",
             f"- command: `{command}` (what `make bench` runs, from the repository root, in `.venv`)",
             f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, took {elapsed:.0f} s "
             f"({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())})",
             f"- machine: {info['cores']} cores ({info['cpu']}), {info['os']}, Python {info['python']}; load average "
             f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (a shared machine inflates wall "
             "times, so the import times and the cold-start cost)",
             f"- packages: {info['packages']}", ""]
    headline = _headline(ops, cold, first, pipe, report, vol)
    headline.append(f"- GraphQL page of {page.leads} leads: {page.console_requests} DynamoDB requests with history and "
                    f"timeline, {page.nested_requests} with every nested list; the 15-alias attack refused in "
                    f"{page.attack_ms:.0f} ms.")
    lines += ["## Headline", "", *headline, ""]
    lines += section_requests(ops)
    lines += section_coldstart(cold, args.runs, first, baseline)
    lines += section_pipeline(pipe)
    lines += section_cost(report, cost.PRICES, cost.LATENCY_MS, pipe.storage, pipe.stored_leads)
    lines += graphql_cost.lines(page)
    lines += hot_items.lines(hot)
    lines += fanned
    if vol is not None:
        lines += section_volume(vol) if not vol.error else ["## 5. The local stack with real volumes", "",
                                                            f"The run failed: {vol.error}", ""]
    if searched is not None:
        from tests.bench import search

        lines += search.section(searched)
    found = observations(ops, pipe)
    if found:
        lines += ["## Observations (generated from the numbers)", ""] + [f"- {o}" for o in found] + [""]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if not args.no_write:
        OUT.write_text(text)
        print(f"written to {OUT.relative_to(REPO)}", file=sys.stderr)
    return 0


def _caused(ops, name: str) -> str:
    op = ops.warm.get(name)
    if op is None:
        return "–"
    parts = [f"{f.function.removesuffix('Function')} {f.log.dynamodb} DynamoDB requests, {f.log.wru:g} WRU"
             if f.log.dynamodb else f"{f.function.removesuffix('Function')} "
             f"{f.log.sqs_messages + f.log.events_put} message(s)" for f in op.follow_ups]
    return "; ".join(parts) or "none"


def _headline(ops, cold, first, pipe, report, vol=None) -> list[str]:
    def ddb(name: str) -> str:
        op = ops.warm.get(name)
        return str(op.log.dynamodb) if op else "–"

    ok = [c for c in cold if not c.error]
    med = statistics.median([c.median_ms for c in ok]) if ok else float("nan")
    slowest = max(ok, key=lambda c: c.median_ms) if ok else None
    firsts = [f for f in first if not f.error]
    heaviest_first = max(firsts, key=lambda f: f.extra_ms) if firsts else None
    from tests.bench.cost import FIXED_GOAL_USD, VARIABLE_GOAL_USD

    variable = report.variable_usd_without_ses
    return [
        f"- DynamoDB requests: capture {ddb('capture (POST /leads)')}, "
        f"qualify {ddb('qualify 1: plausible, email consent (verdict)')} + "
        f"{ddb('qualify 2: after verdict, email consent (DOI mail)')} (verdict + after the verdict), "
        f"score {ddb('score: one engagement event (no stage change)')} "
        f"(MQL-making {ddb('score: event that makes the lead an MQL')}), "
        f"route {ddb('route: assign an MQL to a rep')}, each sales action {ddb('sales: acceptLead (MQL->SAL)')}, "
        f"lead(id) with history {ddb('GraphQL lead(id) with history')}, "
        f"empty nurture sweep {ddb('nurture sweep: nothing due')}; plus the stream consumers each change "
        f"invokes (a stage change: {_caused(ops, 'sales: acceptLead (MQL->SAL)')}).",
        f"- Cold-start import: median {med:.0f} ms across functions"
        + (f", slowest {slowest.function} {slowest.median_ms:.0f} ms" if slowest else "")
        + (f"; the first invocation adds up to {heaviest_first.extra_ms:.0f} ms CPU ({heaviest_first.function})."
           if heaviest_first else "."),
        f"- CPU per lead (capture + two qualify steps + score + route + the stream consumers they invoke, our "
        f"code + libraries, moto excluded): "
        f"**{pipe.ours_ms_per_lead():.1f} ms** on this machine.",
        f"- Variable AWS cost per {report.mix.leads:,} leads, SES excluded: **{money(variable)}** "
        f"({_goal(variable, VARIABLE_GOAL_USD)}); biggest: {_biggest(report.biggest(report.variable))}. "
        f"SES adds {money(report.variable_usd - variable)}.",
        f"- Fixed AWS cost per month: **{money(report.fixed_usd)}** ({_goal(report.fixed_usd, FIXED_GOAL_USD)}); "
        f"biggest: {_biggest(report.biggest(report.fixed))}.",
    ] + ([
        f"- Local stack with {vol.stored_leads:,} stored leads vs empty: capture **{vol.median('full', 'capture'):.0f} ms** "
        f"vs {vol.median('empty', 'capture'):.0f} ms ({vol.ratio('capture'):.2f}x), lead(id) "
        f"**{vol.median('full', 'lead'):.0f} ms** vs {vol.median('empty', 'lead'):.0f} ms ({vol.ratio('lead'):.2f}x); "
        f"a burst of {vol.burst.requests} concurrent captures: {vol.burst.accepted} accepted, {vol.burst.lost} lost.",
    ] if vol is not None and not vol.error else [])


if __name__ == "__main__":
    sys.exit(main())
