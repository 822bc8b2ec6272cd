"""`leadflow search rebuild`: write the search index items of every stored lead.

    leadflow search rebuild [--aws | --stack-file FILE]

For leads stored before the search index existed (or imported with `leadflow import leads`, which
writes leads in bulk without their search items) and after a change of the tokenising rules in
leadflow/domain/search.py. A Scan of the leads table: a batch command, never a request path. Items
are put, so running it twice does no harm; items of words a lead no longer has stay until its next
change (searchLeads checks every candidate against the lead itself, so they find nothing).
"""

from __future__ import annotations

import argparse

from leadflow.cli._aws import add_target_arguments, connect


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("search", help="the search index of searchLeads: rebuild it")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    rebuild = actions.add_parser("rebuild", help="write the search items of every stored lead")
    add_target_arguments(rebuild)
    rebuild.set_defaults(func=run_rebuild)


def run_rebuild(args: argparse.Namespace) -> int:
    connect(args)
    from leadflow.store.search import rebuild

    print(f"search index: items written for {rebuild():,} leads")
    return 0
