"""The `harness` command line: one subcommand per module of this package.

A module `harness/cli/<name>.py` exposes `add_parser(subparsers)`, which adds its parser and
sets its handler with `parser.set_defaults(func=handler)`; `handler(args) -> int` returns the
exit status. Modules are discovered, so a new subcommand touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:          # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harness", description="Test Android's network stack over adb; reproduce the eth0 EBUSY start-up race.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        if hasattr(module, "add_parser"):
            module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
