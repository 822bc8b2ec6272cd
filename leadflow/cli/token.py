"""`leadflow token --role ROLE [--user ID]`: print a bearer token the local stack accepts.

Tokens are signed with the dev secret shared with `leadflow dev`
(.leadflow/dev-secret in the repository root, or $LEADFLOW_DEV_SECRET).
"""

from __future__ import annotations

import argparse

ROLES = ("marketing", "sales_rep", "sales_manager", "finance", "admin")  # = infra.auth.ROLES (tested)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("token", help="print a bearer token for the local stack",
                                   description="Print a JWT the local stack's authorizer accepts.")
    parser.add_argument("--role", required=True, choices=ROLES, help="the caller's role (claim custom:role)")
    parser.add_argument("--user", default=None, help="user id (claim sub); default <role>-1")
    parser.add_argument("--days", type=float, default=30, help="validity in days (default 30)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from infra.auth import issue_token

    print(issue_token(args.role, args.user, ttl_seconds=int(args.days * 86400)))
    return 0
