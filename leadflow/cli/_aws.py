"""Where AWS-touching commands (import, export, metrics) send their requests.

Against a running local stack by default, from any directory: `leadflow dev`
writes its state (emulator endpoint, resource names, process id) to a per-user
directory, `$LEADFLOW_STATE_DIR`, else `$XDG_RUNTIME_DIR/leadflow`, else
`~/.cache/leadflow`, one file per port (`stack-8000.json`), and removes it on
exit. The commands use the one stack running; with several, the one on `$PORT`
or `--stack-file`. `--aws` uses the real AWS account of the current credentials
and the table names in the environment instead.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def state_dir() -> Path:
    """Per user, not per checkout: the CLI finds a running stack from any directory."""
    override = os.environ.get("LEADFLOW_STATE_DIR")
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "leadflow" if runtime else Path.home() / ".cache" / "leadflow"


def stack_file(port: int) -> Path:
    return state_dir() / f"stack-{port}.json"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--aws", action="store_true",
                        help="use the real AWS account (credentials and table names from the environment)")
    parser.add_argument("--stack-file", default=None,
                        help="state file of the local stack to use (default: the one `leadflow dev` running "
                             f"for this user, in {state_dir()})")


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, though not ours
        return True
    return True


def running_stacks() -> dict[Path, dict]:
    """The state files of stacks whose process still runs; files of stacks that died are removed."""
    found: dict[Path, dict] = {}
    for path in sorted(state_dir().glob("stack-*.json")):
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if _alive(state.get("pid")):
            found[path] = state
        else:
            path.unlink(missing_ok=True)  # killed without cleaning up (kill -9, a crash)
    return found


def find_stack_file() -> Path:
    stacks = running_stacks()
    port = os.environ.get("PORT", "")
    if port.isdigit() and stack_file(int(port)) in stacks:
        return stack_file(int(port))
    if len(stacks) == 1:
        return next(iter(stacks))
    if not stacks:
        raise SystemExit(f"no local stack running (nothing in {state_dir()}): start one with `make dev`, "
                         "or pass --aws to use a real AWS account")
    ports = ", ".join(str(s.get("port") or p.stem.removeprefix("stack-")) for p, s in stacks.items())
    raise SystemExit(f"several local stacks run (ports {ports}): set PORT=<port> or pass "
                     f"--stack-file {state_dir()}/stack-<port>.json")


def connect(args: argparse.Namespace) -> None:
    """Point boto3 and PynamoDB at the chosen target before any model is used."""
    if getattr(args, "aws", False):
        return
    path = Path(args.stack_file) if getattr(args, "stack_file", None) else find_stack_file()
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
