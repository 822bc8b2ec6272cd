"""`leadflow dev`: the whole stack on this machine, wired by template.yaml.

moto in server mode on loopback, every table/queue/DLQ/bus/SES identity of the
template, HTTP on 127.0.0.1:$PORT (API Gateway HTTP API emulation with the JWT
authorizer), SQS pollers and schedule tickers. See docs/local-stack.md.
"""

from __future__ import annotations

import argparse
import os
import sys


def _default_port() -> int:
    value = os.environ.get("PORT", "8000")
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"PORT={value!r} is not a port number") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dev", help="run the local stack (moto + API + queues + schedules)",
                                   description="Run the local stack, wired by template.yaml.")
    parser.add_argument("--port", type=int, default=_default_port(),
                        help="HTTP port on 127.0.0.1 (default $PORT or 8000; 0 picks a free one)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="run schedules N times faster (60: rate(1 minute) fires every second)")
    parser.add_argument("--no-demo", action="store_true", help="do not post the demo leads")
    parser.add_argument("--state-file", default=None, metavar="PATH",
                        help="where `leadflow import/export/metrics` find this stack (default: stack-PORT.json "
                             "in a per-user directory, so they find it from any directory)")
    parser.add_argument("--no-schedules", action="store_true",
                        help="do not tick schedules (POST /dev/schedules/NAME still runs one)")
    parser.add_argument("--visibility-timeout", type=int, default=2, metavar="SECONDS",
                        help="local retry delay of failed queue messages (default 2)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        print("--speed must be > 0", file=sys.stderr)
        return 2
    from infra.local_stack import LocalStack, PortInUseError, catch_signals, configure_logging

    configure_logging()
    wake = catch_signals()  # before start: Ctrl-C during start-up also stops cleanly
    stack = LocalStack(port=args.port, speed=args.speed, schedules=not args.no_schedules,
                       visibility_timeout=args.visibility_timeout)
    try:
        stack.start()
    except PortInUseError as exc:
        print(f"leadflow dev: {exc}", file=sys.stderr)
        return 2
    from pathlib import Path

    from leadflow.cli._aws import stack_file

    state_file = Path(args.state_file) if args.state_file else stack_file(stack.port)
    stack.write_state_file(state_file)
    try:
        from infra import demo

        results = None
        if not args.no_demo and not wake.is_set():
            results = demo.post_demo_leads(stack.base_url, stop=wake)
            try:
                for line in demo.advance_demo_funnel(stack, results, stop=wake):
                    print(f"demo: {line}", flush=True)
            except Exception as exc:  # the demo is a convenience: the stack still serves
                print(f"demo funnel skipped: {exc}", flush=True)
        print(demo.banner(stack, results), flush=True)
        stack.wait(wake)
    finally:
        stack.stop()
        state_file.unlink(missing_ok=True)
    return 0
