"""Where AWS-touching commands (import, export, metrics) send their requests.

Against a running local stack by default: `leadflow dev` writes
`.leadflow/stack.json` (its emulator endpoint and resource names). `--aws`
uses the real AWS account of the current credentials and the table names in
the environment instead.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

STATE_FILE = Path(".leadflow") / "stack.json"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--aws", action="store_true",
                        help="use the real AWS account (credentials and table names from the environment)")
    parser.add_argument("--stack-file", default=str(STATE_FILE),
                        help="state file of the local stack to use (default: %(default)s)")


def connect(args: argparse.Namespace) -> None:
    """Point boto3 and PynamoDB at the chosen target before any model is used."""
    if getattr(args, "aws", False):
        return
    path = Path(args.stack_file)
    if not path.is_file():
        raise SystemExit(f"no local stack found ({path} is missing): start one with `make dev`, "
                         "or pass --aws to use a real AWS account")
    state = json.loads(path.read_text())
    os.environ.update({k: str(v) for k, v in state["env"].items()})
    os.environ["AWS_ENDPOINT_URL"] = state["endpoint"]
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    from leadflow.settings import get_settings

    get_settings.cache_clear()
