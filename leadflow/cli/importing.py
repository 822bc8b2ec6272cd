"""`leadflow import customers FILE.csv`: existing customers and key accounts from the CRM.
`leadflow import leads FILE.csv --mapping FILE.yaml`: historical leads with their outcomes
(training data for predictive scoring; counted in controlling when a created-at column is mapped)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from leadflow.cli._aws import add_target_arguments, connect


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import", help="load customers (and historical leads) into Leadflow")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    customers = kinds.add_parser("customers", help="existing customers and key accounts with their owners")
    customers.add_argument("file", help="CSV with columns company, domain, country, owner, key_account, "
                                        "account_id, contact_first_name, contact_last_name, contact_email, "
                                        "contact_phone")
    add_target_arguments(customers)
    customers.set_defaults(func=run_customers)

    leads = kinds.add_parser(
        "leads", help="historical leads with their outcomes (won/lost), e.g. for predictive scoring",
        description="Import closed historical leads from a CSV. The mapping (YAML) names the id column, "
                    "the outcome column and its won/lost values, optional order/created-at/closed-at "
                    "columns, Leadflow fields and ignored (leaky) columns; every other column is kept "
                    "as a raw attribute. Example: config/import/x-education.yaml.")
    leads.add_argument("file", type=Path, help="CSV with a header row")
    leads.add_argument("--mapping", required=True, type=Path, help="mapping YAML")
    leads.add_argument("--dry-run", action="store_true", help="check the mapping and rows, write nothing")
    add_target_arguments(leads)
    leads.set_defaults(func=run_leads)


def run_customers(args: argparse.Namespace) -> int:
    connect(args)
    from leadflow.services.customers import import_customers

    with open(args.file, newline="", encoding="utf-8-sig") as handle:
        summary = import_customers(csv.DictReader(handle))
    for error in summary.errors:
        print(error, file=sys.stderr)
    print(f"{summary.accounts} accounts ({summary.key_accounts} key accounts), {summary.contacts} contacts "
          f"imported; {len(summary.errors)} rows refused ({summary.unknown_owners} with an owner who is not a rep)")
    return 1 if summary.errors else 0


def _fail(message: str) -> int:
    print(f"leadflow import leads: error: {message}", file=sys.stderr)
    return 2


def run_leads(args: argparse.Namespace) -> int:
    from leadflow.services.lead_import import InvalidImport, import_leads, load_mapping

    try:
        mapping = load_mapping(args.mapping)
    except InvalidImport as exc:
        return _fail(exc.message)
    if not args.file.is_file():
        return _fail(f"CSV file not found: {args.file}")
    if not args.dry_run:
        connect(args)
    try:
        with args.file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            if not header:
                return _fail(f"{args.file} has no header row")
            summary = import_leads(reader, header, mapping, file_name=args.file.name, dry_run=args.dry_run,
                                   progress=lambda message: print(f"[import] {message}", file=sys.stderr))
    except InvalidImport as exc:
        return _fail(exc.message)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    for error in summary.errors:
        print(error, file=sys.stderr)
    verb = "would import" if args.dry_run else "imported"
    counted = ("counted in controlling in their historical periods" if summary.counted
               else "not counted in controlling (no created_at column mapped)")
    print(f"{summary.imported} leads {verb} ({summary.won} won, {summary.lost} lost) from {summary.rows} rows; "
          f"{summary.already_imported} already imported, {len(summary.errors)} rows refused; {counted}; "
          f"{summary.seconds:.1f}s")
    return 1 if summary.errors else 0
