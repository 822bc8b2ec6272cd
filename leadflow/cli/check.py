"""`leadflow check FILE`: the plausibility verdict for every record of a list.

For trade-fair scans, imports and bought lists: the same engine as the
capture pipeline (`leadflow.domain.plausibility.check`), no AWS needed.

Input: JSONL, one `{"id": ..., "input": {capture fields}}` per line (a flat
object of capture fields works too), or CSV whose columns are the capture
field names plus `id` (`interests` separated by ";"). `-` reads stdin.
Output: one JSONL line per record, in input order:
`{"id", "verdict", "reasons": [{code, field, message, severity}]}`; a line
that cannot be read gives `{"id", "verdict": null, "error": ...}` instead.
On stderr: a progress bar (on a terminal, or for long files) and a summary.
Exit code: 0, or 1 when some lines could not be read, 2 when the file cannot.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

LONG_FILE = 2000  # records; above this a progress bar is shown even when stderr is not a terminal
LIST_FIELDS = ("interests",)
CONSENT_COLUMNS = {"consent.purposes": "purposes", "consentPurposes": "purposes",
                   "consent.textVersion": "textVersion", "consentTextVersion": "textVersion"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="check a list of submissions for plausibility (JSONL or CSV)",
        description="Print the plausibility verdict of every record as JSONL, in input order.",
    )
    parser.add_argument("file", help="JSONL or CSV file, or - for stdin")
    parser.add_argument("--format", choices=("auto", "jsonl", "csv"), default="auto",
                        help="input format (default: by file extension, else by content)")
    parser.add_argument("--out", "-o", default=None, help="write the JSONL here instead of stdout")
    parser.add_argument("--rules", default=None, help="a plausibility YAML instead of config/plausibility.yaml")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress bar on stderr (auto: on a terminal or for long files)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    parser.set_defaults(func=run)


# ------------------------------------------------------------------------------------------
# Reading records
# ------------------------------------------------------------------------------------------


@dataclass
class Record:
    id: Any
    input: dict[str, Any] | None = None
    label: str | None = None
    error: str | None = None


def detect_format(path: str, first_chunk: str) -> str:
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "jsonl" if first_chunk.lstrip().startswith("{") else "csv"


def jsonl_records(lines: Iterator[str]) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Record(id=f"line {number}", error=f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield Record(id=f"line {number}", error="each line must be a JSON object")
            continue
        record_id = obj.get("id", f"line {number}")
        submission = obj.get("input", obj)
        if not isinstance(submission, dict):
            yield Record(id=record_id, error="`input` must be an object of capture fields")
            continue
        if submission is obj:
            submission = {k: v for k, v in obj.items() if k not in ("id", "label")}
        yield Record(id=record_id, input=submission, label=obj.get("label"))


def _csv_delimiter(header_line: str) -> str:
    """Excel in Germany writes ';', others ','; tabs for .tsv."""
    return max((",", ";", "\t"), key=header_line.count)


def csv_row_to_submission(row: dict[str, str | None]) -> dict[str, Any]:
    submission: dict[str, Any] = {}
    consent: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or value is None or value == "":
            continue  # extra cells without a header, empty cells
        column = column.strip()
        if column in ("id", "label"):
            continue
        if column in CONSENT_COLUMNS:
            key = CONSENT_COLUMNS[column]
            consent[key] = [p.strip() for p in value.split(";") if p.strip()] if key == "purposes" else value
        elif column in LIST_FIELDS:
            submission[column] = [item.strip() for item in value.split(";") if item.strip()]
        else:
            submission[column] = value
    if consent:
        submission["consent"] = consent
    return submission


def csv_records(lines: Iterator[str]) -> Iterator[Record]:
    lines = iter(lines)
    header = next(lines, "")
    if not header.strip():
        return
    reader = csv.DictReader(_chain([header], lines), delimiter=_csv_delimiter(header))
    for number, row in enumerate(reader, start=2):
        if None in row:
            yield Record(id=row.get("id") or f"row {number}", error="more cells than columns")
            continue
        yield Record(id=row.get("id") or f"row {number}", input=csv_row_to_submission(row), label=row.get("label"))


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def open_input(path: str) -> TextIO:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def count_lines(path: str) -> int | None:
    """Total for the progress bar: a fast byte count (a CSV field with a line break
    makes it an estimate, which is fine for a bar)."""
    if path == "-":
        return None
    count = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


# ------------------------------------------------------------------------------------------
# Progress and summary
# ------------------------------------------------------------------------------------------


class Progress:
    """A one-line bar redrawn in place on a terminal, a line every 10% elsewhere."""

    def __init__(self, total: int | None, stream: TextIO, enabled: bool):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.tty = enabled and stream.isatty()
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._last_decile = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self.stream.write("\r" + self._line(done, now))
                self.stream.flush()
        elif self.total:
            decile = min(10, done * 10 // max(self.total, 1))
            if decile > self._last_decile:
                self._last_decile = decile
                self.stream.write(self._line(done, now) + "\n")

    def finish(self, done: int) -> None:
        if self.tty:
            self.stream.write("\r" + self._line(done, time.perf_counter()) + "\n")
            self.stream.flush()

    def _line(self, done: int, now: float) -> str:
        rate = done / max(now - self.started, 1e-9)
        if not self.total:
            return f"checked {done} records ({rate:,.0f}/s)"
        share = min(1.0, done / self.total)
        bar = "#" * int(share * 30)
        return f"[{bar:<30}] {done}/{self.total} {share:4.0%} ({rate:,.0f} records/s)"


@dataclass
class Summary:
    verdicts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    by_label: dict[str, Counter] = field(default_factory=dict)
    errors: int = 0

    def add(self, record: Record, verdict: dict[str, Any] | None) -> None:
        if verdict is None:
            self.errors += 1
            return
        self.verdicts[verdict["verdict"]] += 1
        self.reasons.update({reason["code"] for reason in verdict["reasons"]})
        if record.label:
            self.by_label.setdefault(str(record.label), Counter())[verdict["verdict"]] += 1

    @property
    def checked(self) -> int:
        return sum(self.verdicts.values())

    def render(self, seconds: float) -> str:
        total = self.checked + self.errors
        rate = total / max(seconds, 1e-9)
        lines = [f"checked {total} records in {seconds:.2f} s ({rate:,.0f} records/s)"]
        for verdict in ("plausible", "needs_review", "implausible"):
            count = self.verdicts.get(verdict, 0)
            lines.append(f"  {verdict:<13}{count:>8}  {count / max(self.checked, 1):6.1%}")
        if self.errors:
            lines.append(f"  {'unreadable':<13}{self.errors:>8}")
        if self.reasons:
            top = ", ".join(f"{code} {n}" for code, n in self.reasons.most_common(8))
            lines.append(f"top reasons: {top}")
        for label, counts in sorted(self.by_label.items()):
            n = sum(counts.values())
            shares = "  ".join(f"{v} {counts.get(v, 0) / n:.1%}" for v in ("plausible", "needs_review", "implausible"))
            lines.append(f"label {label} ({n}): {shares}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------


def verdict_line(record: Record, verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        payload = {"id": record.id, "verdict": None, "reasons": [], "error": record.error}
    else:
        payload = {"id": record.id, "verdict": verdict["verdict"], "reasons": verdict["reasons"]}
    return json.dumps(payload, ensure_ascii=False, default=str)


def _load_rules(path: str | None):
    from pathlib import Path

    from leadflow.domain.plausibility import load_default_rules, load_rules_file

    return load_rules_file(Path(path)) if path else load_default_rules()


def check_records(records: Iterator[Record], out: TextIO, progress: Progress, rules) -> Summary:
    from leadflow.domain.plausibility import check

    summary = Summary()
    done = 0
    for record in records:
        verdict = None
        if record.error is None:
            try:
                verdict = check(record.input, rules).to_dict()
            except Exception as exc:  # noqa: BLE001 - one broken record must not stop a list of thousands
                record.error = f"check failed: {type(exc).__name__}: {exc}"
        out.write(verdict_line(record, verdict) + "\n")
        summary.add(record, verdict)
        done += 1
        progress.update(done)
    progress.finish(done)
    return summary


def run(args: argparse.Namespace) -> int:
    try:
        source = open_input(args.file)
    except OSError as exc:
        print(f"leadflow check: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        rules = _load_rules(args.rules)
    except (OSError, ValueError) as exc:
        print(f"leadflow check: bad rules file: {exc}", file=sys.stderr)
        return 2
    with source:
        first = source.readline()
        fmt = args.format if args.format != "auto" else detect_format(args.file, first)
        lines = _chain([first], source)
        records = jsonl_records(lines) if fmt == "jsonl" else csv_records(lines)
        total = count_lines(args.file)
        show = not args.quiet and (
            args.progress == "always"
            or (args.progress == "auto" and (sys.stderr.isatty() or (total or 0) >= LONG_FILE))
        )
        progress = Progress(total, sys.stderr, show)
        started = time.perf_counter()
        try:
            with contextlib.ExitStack() as stack:
                out = stack.enter_context(open(args.out, "w", encoding="utf-8")) if args.out else sys.stdout
                summary = check_records(records, out, progress, rules)
        except BrokenPipeError:  # `leadflow check big.jsonl | head`: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if not args.quiet:
        print(summary.render(time.perf_counter() - started), file=sys.stderr)
    return 1 if summary.errors else 0
