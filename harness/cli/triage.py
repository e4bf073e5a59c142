"""`harness triage FILE`: which known regressions does a logcat dump or bugreport show?

Exit status: 0 when no known signature matched, 1 when at least one did (a known regression or
known infrastructure problem is in the log), 2 when the input or the signature registry cannot
be read (one error line on stderr).

FILE may be `-` (stdin), plain text, gzip (`.gz`, detected by content) or a bugreport zip (its
largest `.txt` member is scanned).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from harness.logs.triage import TriageResult

EXIT_CLEAN, EXIT_KNOWN, EXIT_ERROR = 0, 1, 2
_SHOWN_CHARS = 240          # of each evidence line in the text output
_GZIP_MAGIC, _ZIP_MAGIC = b"\x1f\x8b", b"PK\x03\x04"


class InputError(Exception):
    pass


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "triage", help="match known regression signatures in a logcat dump or bugreport",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE", help="logcat dump or bugreport (.txt, .gz, .zip), - for stdin")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--android", metavar="VERSION",
                        help="only signatures and forms that exist on this Android version (e.g. 8.1)")
    parser.add_argument("--signatures", metavar="DIR", type=Path,
                        help="signature directory (default: $HARNESS_SIGNATURES or signatures/)")
    parser.add_argument("--jobs", metavar="N", type=_positive_int,
                        help="processes that scan a plain file (default: one per CPU, each with at least 32 MB)")
    parser.set_defaults(func=run)
    return parser


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _open_input(name: str, stack: ExitStack) -> IO[bytes]:
    """A binary stream of the log text, decompressed when needed. InputError when unreadable."""
    try:
        raw = sys.stdin.buffer if name == "-" else stack.enter_context(open(name, "rb"))
        head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
        if head.startswith(_GZIP_MAGIC):
            import gzip             # here: plain logs, the common case, never need it
            return stack.enter_context(gzip.GzipFile(fileobj=raw))
        if head.startswith(_ZIP_MAGIC):
            return _largest_text_member(name, raw, stack)
        return raw
    except OSError as e:
        raise InputError(f"cannot read {name}: {e.strerror or e}") from None


def _largest_text_member(name: str, raw: IO[bytes], stack: ExitStack) -> IO[bytes]:
    """A bugreport zip's main text: its largest `.txt` member."""
    import zipfile
    try:
        archive = stack.enter_context(zipfile.ZipFile(raw))
        texts = [i for i in archive.infolist() if i.filename.endswith(".txt")]
        if not texts:
            raise InputError(f"{name}: zip archive has no .txt member (expected a bugreport)")
        return stack.enter_context(archive.open(max(texts, key=lambda i: i.file_size)))
    except zipfile.BadZipFile as e:
        raise InputError(f"cannot read {name}: bad zip archive: {e}") from None


def _print_text(result: TriageResult, out: IO[str]) -> None:
    for finding in result.findings:
        print(finding.verdict, file=out)
        for ev in finding.evidence:
            text = ev.text if len(ev.text) <= _SHOWN_CHARS else ev.text[:_SHOWN_CHARS] + "..."
            print(f"    line {ev.line} ({ev.role} {ev.pattern}): {text}", file=out)
    size = f"{result.lines_scanned} lines, {result.bytes_scanned / 1e6:.1f} MB"
    if result.known:
        print(f"{len(result.findings)} known finding(s) ({', '.join(result.signature_ids())}) in {size}", file=out)
    else:
        print(f"no known signature matched ({size})", file=out)


def run(args: argparse.Namespace) -> int:
    # Imported here: `harness` imports every subcommand module to build its parser.
    from harness.logs.signatures import load_registry
    from harness.logs.triage import triage_file

    try:
        registry = load_registry(args.signatures)
        with ExitStack() as stack:
            result = triage_file(_open_input(args.file, stack), registry, android=args.android,
                                 workers=args.jobs)
    except (InputError, ValueError) as e:     # ValueError: a bad --android, a ConfigError (registry)
        print(f"harness triage: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    if result.problem:
        print(f"harness triage: warning: {result.problem}", file=sys.stderr)
    if args.json:
        import json
        print(json.dumps(result.as_dict(), indent=2))
    else:
        _print_text(result, sys.stdout)
    return EXIT_KNOWN if result.known else EXIT_CLEAN


def main(argv: list[str] | None = None) -> int:
    """Run this subcommand alone (`python -m harness.cli.triage FILE`)."""
    parser = argparse.ArgumentParser(prog="harness")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["triage", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
