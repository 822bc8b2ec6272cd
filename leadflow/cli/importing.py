"""`leadflow import customers FILE.csv`: existing customers and key accounts from the CRM."""

from __future__ import annotations

import argparse
import csv
import sys

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


def run_customers(args: argparse.Namespace) -> int:
    connect(args)
    from leadflow.services.customers import import_customers

    with open(args.file, newline="", encoding="utf-8-sig") as handle:
        summary = import_customers(csv.DictReader(handle))
    for error in summary.errors:
        print(error, file=sys.stderr)
    print(f"{summary.accounts} accounts ({summary.key_accounts} key accounts), {summary.contacts} contacts "
          f"imported; {len(summary.errors)} rows refused")
    return 1 if summary.errors else 0
