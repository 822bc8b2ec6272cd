"""`leadflow metrics reconcile`: recount the funnel counters from the lead histories.

    leadflow metrics reconcile [--from 2026-01-01 --to 2026-12-31]

Reads every stage change in the HistoryTable (a Scan: a batch command, never a
request path), replays it through the same `counter_updates` the transitions use,
and compares the result with the stored counter items. Prints every drift and
exits 1 if there is any. With --from/--to only periods lying entirely inside the
range are compared (the histories are always replayed in full).
"""

from __future__ import annotations

import argparse
import sys

from leadflow.cli._aws import add_target_arguments, connect

MAX_SHOWN = 50


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("metrics", help="controlling metrics: reconcile the counters")
    kinds = parser.add_subparsers(dest="kind", metavar="ACTION", required=True)
    reconcile = kinds.add_parser("reconcile", help="recount the counters from the histories and report drift")
    reconcile.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="compare periods from this day")
    reconcile.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="compare periods up to this day")
    reconcile.add_argument("--all", dest="show_all", action="store_true", help="print every drift, not 50")
    add_target_arguments(reconcile)
    reconcile.set_defaults(func=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    from leadflow.domain.errors import DomainError

    connect(args)
    from leadflow.services import controlling

    try:
        start = controlling.parse_day(args.start, "--from") if args.start else None
        end = controlling.parse_day(args.end, "--to") if args.end else None
    except DomainError as exc:
        print(f"leadflow metrics reconcile: error: {exc.message}", file=sys.stderr)
        return 2
    report = controlling.reconcile(start, end)
    print(f"recounted {report.transitions} stage changes of {report.leads} leads; "
          f"compared {report.compared_items} counter items")
    if report.approximate:
        print(f"note: {report.approximate} stage changes recorded no dimensions; recounted with the lead's "
              "current source/campaign/owner", file=sys.stderr)
    if report.ok:
        print("drift: none")
        return 0
    print(f"drift: {len(report.drift)} counter values differ (expected = recounted, actual = stored)")
    shown = report.drift if args.show_all else report.drift[:MAX_SHOWN]
    for d in shown:
        print(f"  {d.pk}  {d.sk}  {d.attribute}: expected {d.expected}, actual {d.actual} "
              f"({d.actual - d.expected:+d})")
    if len(shown) < len(report.drift):
        print(f"  ... and {len(report.drift) - len(shown)} more (--all shows them)")
    return 1
