"""`harness parse KIND FILE [--json]`: parse saved device output with the harness's parsers.

Prints a readable summary, or with --json the full typed result (lines that could not be
parsed are listed, with their line numbers, in both). Exit status: 0 when the file was parsed
(whatever it contained), 2 for an unknown KIND or an unreadable FILE (one error line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO

from harness.parsers import PARSERS, parser_for

EXIT_OK, EXIT_ERROR = 0, 2


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    kinds = ", ".join(PARSERS)
    parser = subparsers.add_parser(
        "parse", help="parse saved output of ifconfig, ip, ping, logcat, dumpsys, ... into typed data",
        description=__doc__ + f"\nKINDS: {kinds}", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", metavar="KIND", help=f"what FILE holds, one of: {kinds}")
    parser.add_argument("file", metavar="FILE", help="the saved output, - for stdin")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)
    return parser


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as f:
        return f.read()


def _write(text: str, out: IO[str]) -> None:
    """Print even where stdout cannot encode what a device printed (U+FFFD from binary input)."""
    encoding = getattr(out, "encoding", None) or "utf-8"
    print(text.encode(encoding, "backslashreplace").decode(encoding), file=out)


def run(args: argparse.Namespace) -> int:
    parse = parser_for(args.kind)
    if parse is None:
        print(f"harness parse: unknown kind {args.kind!r} (expected one of: {', '.join(PARSERS)})", file=sys.stderr)
        return EXIT_ERROR
    try:
        data = _read(args.file)
    except OSError as e:
        print(f"harness parse: cannot read {args.file}: {e.strerror or e} "
              "(expected a readable file, or - for stdin)", file=sys.stderr)
        return EXIT_ERROR
    result = parse(data)
    if args.json:
        _write(json.dumps(result.to_dict(), indent=2), sys.stdout)
    else:
        _write(result.summary() or "(nothing recognised)", sys.stdout)
    return EXIT_OK
