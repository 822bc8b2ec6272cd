"""`leadflow export metrics`: the funnel counters as CSV for finance and BI.

    leadflow export metrics --from 2026-01-01 --to 2026-12-31 --group-by campaign --out funnel.csv

The file holds exactly the numbers of the GraphQL `funnel` query (and of `metricsCsv`,
which returns the same text): rows for the whole range (period "total") first, then
one row per period, group and stage. Reads only counter items, never leads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leadflow.cli._aws import add_target_arguments, connect

GROUP_BY = ("none", "source", "campaign", "last_campaign", "owner")
GRAINS = ("day", "week", "month")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="export aggregates (funnel metrics as CSV)")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    metrics = kinds.add_parser("metrics", help="funnel metrics per period, group and stage as CSV",
                               description="Per stage: entered, moved on, conversion, drop-off, time in stage "
                                           "(median, p90), SLA, amounts, top reasons. Same numbers as the "
                                           "GraphQL funnel query.")
    metrics.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first day")
    metrics.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last day (inclusive)")
    metrics.add_argument("--group-by", default="none", choices=GROUP_BY, help="group rows by (default: none)")
    metrics.add_argument("--grain", choices=GRAINS,
                         help="period length (default: month beyond 62 days, week beyond 14, else day)")
    metrics.add_argument("--top-reasons", type=int, default=5, help="reasons listed per side exit (default 5)")
    metrics.add_argument("--out", required=True, help="CSV file to write ('-' for stdout)")
    add_target_arguments(metrics)
    metrics.set_defaults(func=run_metrics)


def run_metrics(args: argparse.Namespace) -> int:
    from leadflow.domain.errors import DomainError

    connect(args)
    from leadflow.services import controlling

    try:
        start = controlling.parse_day(args.start, "--from")
        end = controlling.parse_day(args.end, "--to")
        text = controlling.metrics_csv(start, end, args.group_by, args.grain, max(0, min(args.top_reasons, 20)))
    except DomainError as exc:
        print(f"leadflow export metrics: error: {exc.message}", file=sys.stderr)
        return 2
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8", newline="")
    rows = text.count("\n") - 1
    print(f"wrote {rows} rows to {out}", file=sys.stderr)
    return 0
