"""Helpers shared by the shell's toybox/toolbox commands: option parsing, files, output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator

from harness.sim.fs import FsError
from harness.sim.shell.api import Proc
from harness.sim.shell.fsaccess import read_file

ENCODING = ("utf-8", "surrogateescape")      # bytes <-> str without losing binary data


def text(data: bytes) -> str:
    return data.decode(*ENCODING)


def raw(value: str) -> bytes:
    return value.encode(*ENCODING)


class UsageError(Exception):
    """Bad options: toybox prints `See NAME --help` and the message."""


@dataclass
class Options:
    flags: dict[str, object] = field(default_factory=dict)
    operands: list[str] = field(default_factory=list)

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def value(self, flag: str, default: str | None = None) -> str | None:
        value = self.flags.get(flag, default)
        return value if isinstance(value, str) or value is None else default

    def values(self, flag: str) -> list[str]:
        value = self.flags.get(flag)
        return value if isinstance(value, list) else []


def parse_options(args: list[str], flags: str = "", *, with_value: str = "",
                  repeated: str = "", anywhere: bool = True) -> Options:
    """toybox-style short options: `-abc`, `-n5`, `-n 5`; options may follow operands
    (unless `anywhere` is False); `--` ends options; a lone `-` is an operand."""
    opts = Options()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            opts.operands.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            opts.operands.append(arg)
            if not anywhere:
                opts.operands.extend(args[i:])
                break
            continue
        j = 1
        while j < len(arg):
            c = arg[j]
            j += 1
            if c in with_value or c in repeated:
                if j < len(arg):
                    value = arg[j:]
                elif i < len(args):
                    value = args[i]
                    i += 1
                else:
                    raise UsageError(f"Missing argument to -{c}")
                if c in repeated:
                    opts.flags.setdefault(c, [])
                    opts.flags[c].append(value)      # type: ignore[union-attr]
                else:
                    opts.flags[c] = value
                break
            if c not in flags:
                raise UsageError(f"Unknown option {arg[j - 1:]}")
            opts.flags[c] = True
    return opts


def usage_error(proc: Proc, err: UsageError, status: int = 1) -> int:
    proc.err(f"See {proc.name} --help\n{proc.name}: {err}\n")
    return status


async def emit(proc: Proc, data: bytes) -> None:
    """Write and wait for room (a pipe reader that is slower than us)."""
    proc.stdout.write(data)
    await proc.stdout.drain()


async def read_input(proc: Proc, name: str) -> bytes:
    """All of a file operand (`-` is stdin); FsError as toybox reports it."""
    if name == "-":
        return await proc.stdin.read_all()
    return read_file(proc.device.fs, name, uid=proc.uid, cwd=proc.cwd)


async def lines_of(proc: Proc, name: str) -> AsyncIterator[bytes]:
    """Lines of a file operand; stdin is read as it arrives (streams like `logcat | grep`)."""
    if name == "-":
        while line := await proc.stdin.readline():
            yield line
        return
    data = read_file(proc.device.fs, name, uid=proc.uid, cwd=proc.cwd)
    for line in data.splitlines(keepends=True):
        yield line


def file_error(proc: Proc, err: FsError) -> None:
    proc.err(f"{proc.name}: {err.path}: {err.strerror}\n")
