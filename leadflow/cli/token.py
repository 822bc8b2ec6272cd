"""`leadflow token --role ROLE [--user ID]`: print a bearer token the local stack accepts.

Tokens are signed with the dev secret shared with `leadflow dev`
(.leadflow/dev-secret in the repository root, or $LEADFLOW_DEV_SECRET).
Reps and managers must be members of the sales team (the routing rules: the active
version of the running stack, else config/routing.yaml); `--list` shows them.
"""

from __future__ import annotations

import argparse
import sys

ROLES = ("marketing", "sales_rep", "sales_manager", "finance", "admin")  # = infra.auth.ROLES (tested)
TEAM_ROLES = ("sales_rep", "sales_manager")


def register(subparsers: argparse._SubParsersAction) -> None:
    from leadflow.cli._aws import add_target_arguments

    parser = subparsers.add_parser("token", help="print a bearer token for the local stack",
                                   description="Print a JWT the local stack's authorizer accepts.")
    parser.add_argument("--role", required=True, choices=ROLES, help="the caller's role (claim cognito:groups)")
    parser.add_argument("--user", default=None, help="user id (claim sub); reps and managers: an id from the "
                                                     "routing rules (default: the first), others: <role>-1")
    parser.add_argument("--list", action="store_true", help="list the valid users of a team role and exit")
    parser.add_argument("--days", type=float, default=30, help="validity in days (default 30)")
    add_target_arguments(parser)
    parser.set_defaults(func=run)


def team_members(args: argparse.Namespace) -> tuple[tuple[str, ...], str]:
    """(ids that may sign in with the team role, where they come from)."""
    from pathlib import Path

    stack_file = Path(args.stack_file)
    if not stack_file.is_file():
        from infra.auth import repo_root

        stack_file = repo_root() / args.stack_file
    if stack_file.is_file():
        try:
            from leadflow.cli._aws import connect
            from leadflow.services.routing import team_members as active_members

            connect(argparse.Namespace(aws=False, stack_file=str(stack_file)))
            return active_members(args.role) or (), "the running stack's routing rules"
        except Exception as exc:  # a stale state file: the stack is gone
            print(f"leadflow token: the local stack in {stack_file} did not answer ({type(exc).__name__}); "
                  "using config/routing.yaml", file=sys.stderr)
    from leadflow.domain.routing import RoutingRules
    from leadflow.services.config import load_file

    return RoutingRules.from_dict(load_file("routing")).member_ids(args.role) or (), "config/routing.yaml"


def run(args: argparse.Namespace) -> int:
    from infra.auth import issue_token

    user = args.user
    if args.role in TEAM_ROLES:
        members, source = team_members(args)
        if args.list:
            print("\n".join(members))
            return 0
        user = user or (members[0] if members else None)
        if user not in members:
            print(f"leadflow token: error: {user!r} is not a {args.role} in {source}; "
                  f"known: {', '.join(members) or '(none)'}", file=sys.stderr)
            return 2
    elif args.list:
        print(f"leadflow token: error: {args.role} is not a team role; any --user id is accepted", file=sys.stderr)
        return 2
    print(issue_token(args.role, user, ttl_seconds=int(args.days * 86400)))
    return 0
