"""The `leadflow` command.

Each sub-command lives in its own module under `leadflow.cli` and exposes
`register(subparsers)`; modules are imported only for the command that runs,
so `leadflow token` does not pay for numpy or moto.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module under leadflow.cli that registers it
COMMANDS = {
    "dev": "dev",
    "token": "token",
    "check": "check",
    "import": "importing",
    "scoring": "scoring",
    "export": "export",
    "metrics": "metrics",
    "search": "search",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadflow", description="Leadflow lead management")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=f"(run `leadflow {name} -h`)")
            continue
        try:
            module = importlib.import_module(f"leadflow.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"leadflow.cli.{module_name}":
                raise
            continue  # a command module that is not installed (e.g. dev tools in a Lambda package)
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
