"""The `harness` command line: one subcommand per module of this package.

A module `harness/cli/<name>.py` exposes `add_parser(subparsers)`, which adds its parser and
sets its handler with `parser.set_defaults(func=handler)`; `handler(args) -> int` returns the
exit status. Modules are discovered, so a new subcommand touches no other file. When the command line names a
subcommand, only that module is imported: `harness triage` must not pay for the simulator,
adbutils or scipy at start-up.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:          # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def subcommand_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or one with just the subcommand `only` (same behaviour, faster start)."""
    parser = _Parser(
        prog="harness", description="Test Android's network stack over adb; reproduce the eth0 EBUSY start-up race.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in ([only] if only else subcommand_names()):
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "add_parser"):
            module.add_parser(subparsers)
    return parser


def _named_subcommand(argv: list[str]) -> str | None:
    first = next((a for a in argv if not a.startswith("-")), None)
    if argv and argv[0].startswith("-"):
        return None            # `harness --help`, `harness -x`: the full parser answers
    return first if first in subcommand_names() else None


def main(argv: list[str] | None = None) -> int:
    import sys
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_named_subcommand(argv)).parse_args(argv)
    from harness.signals import terminate_like_ctrl_c
    terminate_like_ctrl_c()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
