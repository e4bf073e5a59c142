"""mksh builtins that need the shell's own state (variables, cwd, jobs, control flow).

Builtins that need no shell state (echo, test, kill, true...) are ordinary registered commands
that the interpreter runs in-process (execution.IN_PROCESS). Error texts follow mksh's
bi_errorf: `/system/bin/sh: <builtin>: <message>`.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from typing import TYPE_CHECKING

from harness.sim.fs import normalize
from harness.sim.shell.control import FunctionReturn, LoopControl, ShellExit
from harness.sim.shell.execution import IN_PROCESS, command_path
from harness.sim.shell.fsaccess import read_file
from harness.sim.shell.parser import NAME_RE, Parser, ShellSyntaxError

if TYPE_CHECKING:
    from harness.sim.shell.interpreter import IO, Shell, ShellBuiltin

SH = "/system/bin/sh"
SHELL_BUILTINS: dict[str, "ShellBuiltin"] = {}
# POSIX special builtins: their assignments stay, their errors end a non-interactive shell.
SPECIAL_BUILTINS = frozenset({":", ".", "break", "continue", "eval", "exec", "exit", "export",
                              "readonly", "return", "set", "shift", "trap", "unset"})


def builtin(*names: str):
    def register(fn):
        for name in names:
            SHELL_BUILTINS[name] = fn
        return fn
    return register


def _error(io: "IO", name: str, message: str) -> int:
    io.err(f"{SH}: {name}: {message}\n")
    return 1


def _number(io: "IO", name: str, text: str) -> int | None:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    _error(io, name, f"{text}: bad number")
    return None


@builtin(":")
async def _colon(shell: "Shell", argv: list[str], io: "IO") -> int:
    return 0


@builtin("exit", "return")
async def _exit(shell: "Shell", argv: list[str], io: "IO") -> int:
    status = shell.status
    if len(argv) > 1:
        number = _number(io, argv[0], argv[1])
        status = 1 if number is None else number & 0xFF
    if argv[0] == "return" and shell.local_frames:
        raise FunctionReturn(status)
    raise ShellExit(status)


@builtin("break", "continue")
async def _loop_control(shell: "Shell", argv: list[str], io: "IO") -> int:
    levels = 1
    if len(argv) > 1:
        number = _number(io, argv[0], argv[1])
        if number is None or number < 1:
            return 1
        levels = number
    raise LoopControl(argv[0], levels)


@builtin("cd")
async def _cd(shell: "Shell", argv: list[str], io: "IO") -> int:
    args = [a for a in argv[1:] if a not in ("-L", "-P")]
    target = args[0] if args else shell.get_var("HOME") or "/"
    if target == "-":
        target = shell.get_var("OLDPWD") or shell.cwd
        io.out(target + "\n")
    path = normalize(target, shell.cwd)
    fs = shell.device.fs
    if not fs.exists(path):
        return _error(io, "cd", f"{target}: No such file or directory")
    if not fs.isdir(path):
        return _error(io, "cd", f"{target}: Not a directory")
    shell.set_var("OLDPWD", shell.cwd)
    shell.cwd = path
    shell.set_var("PWD", path)
    return 0


@builtin("export", "readonly")
async def _export(shell: "Shell", argv: list[str], io: "IO") -> int:
    names = [a for a in argv[1:] if a != "-p"]
    if not names:
        for name in sorted(shell.exported):
            if name in shell.vars:
                io.out(f"{argv[0]} {name}={_quote(shell.vars[name])}\n")
        return 0
    for item in names:
        name, eq, value = item.partition("=")
        if not NAME_RE.fullmatch(name):
            _error(io, argv[0], f"{name}: is not an identifier")
            raise ShellExit(1)
        if eq:
            shell.set_var(name, value)
        if argv[0] == "export":
            shell.exported.add(name)
    return 0


@builtin("local", "typeset")
async def _local(shell: "Shell", argv: list[str], io: "IO") -> int:
    frame = shell.local_frames[-1] if shell.local_frames else None
    for item in argv[1:]:
        if item.startswith("-"):
            continue
        name, eq, value = item.partition("=")
        if frame is not None and name not in frame:
            frame[name] = shell.get_var(name)
        if eq:
            shell.set_var(name, value)
    return 0


@builtin("unset")
async def _unset(shell: "Shell", argv: list[str], io: "IO") -> int:
    functions = "-f" in argv[1:]
    for name in argv[1:]:
        if name.startswith("-"):
            continue
        if functions:
            shell.functions.pop(name, None)
        else:
            shell.unset_var(name)
            shell.exported.discard(name)
    return 0


_OPTION_NAMES = {"errexit": "e", "nounset": "u", "xtrace": "x", "noglob": "f"}


@builtin("set")
async def _set(shell: "Shell", argv: list[str], io: "IO") -> int:
    args = argv[1:]
    if not args:
        for name in sorted(shell.vars):
            io.out(f"{name}={_quote(shell.vars[name])}\n")
        return 0
    while args:
        arg = args[0]
        if arg == "--":
            shell.positional = args[1:]
            return 0
        if arg in ("-o", "+o") and len(args) > 1:
            flag = _OPTION_NAMES.get(args[1])
            if flag is None:
                return _error(io, "set", f"{args[1]}: bad option")
            (shell.options.add if arg == "-o" else shell.options.discard)(flag)
            args = args[2:]
            continue
        if arg[:1] in "-+" and len(arg) > 1:
            for flag in arg[1:]:
                (shell.options.add if arg[0] == "-" else shell.options.discard)(flag)
            args = args[1:]
            continue
        shell.positional = args
        return 0
    return 0


@builtin("shift")
async def _shift(shell: "Shell", argv: list[str], io: "IO") -> int:
    count = 1
    if len(argv) > 1:
        number = _number(io, "shift", argv[1])
        if number is None:
            return 1
        count = number
    if count > len(shell.positional):
        return _error(io, "shift", f"{count}: bad number")
    shell.positional = shell.positional[count:]
    return 0


@builtin("eval")
async def _eval(shell: "Shell", argv: list[str], io: "IO") -> int:
    return await _run_source(shell, " ".join(argv[1:]), io)


async def _run_source(shell: "Shell", text: str, io: "IO") -> int:
    parser = Parser(text)
    status = 0
    while True:
        try:
            line = parser.next_line()
        except ShellSyntaxError as err:
            io.err(f"{SH}: {err}\n")
            raise ShellExit(1) from None
        if line is None:
            return status
        status = await shell.run_sequence(line, io)


@builtin(".", "source")
async def _source(shell: "Shell", argv: list[str], io: "IO") -> int:
    from harness.sim.fs import FsError
    if len(argv) < 2:
        return _error(io, argv[0], "missing argument")
    try:
        text = read_file(shell.device.fs, argv[1], uid=shell.uid, cwd=shell.cwd)
    except FsError as err:
        return _error(io, argv[0], f"{argv[1]}: {err.strerror}")
    saved = shell.positional
    if len(argv) > 2:
        shell.positional = argv[2:]
    try:
        return await _run_source(shell, text.decode("utf-8", "surrogateescape"), io)
    finally:
        shell.positional = saved


@builtin("exec")
async def _exec(shell: "Shell", argv: list[str], io: "IO") -> int:
    if len(argv) == 1:
        return 0
    raise ShellExit(await shell.run_external(argv[1:], io))


@builtin("read")
async def _read(shell: "Shell", argv: list[str], io: "IO") -> int:
    args = argv[1:]
    raw = False
    while args and args[0].startswith("-") and args[0] != "-":
        option = args.pop(0)
        if option == "-r":
            raw = True
        elif option == "-p" and args:
            io.err(args.pop(0))
    names = args or ["REPLY"]
    line = await io.stdin.readline()
    if not line:
        for name in names:
            shell.set_var(name, "")
        return 1
    text = line.decode("utf-8", "surrogateescape").rstrip("\n")
    if not raw:
        text = re.sub(r"\\(.)", r"\1", text)
    ifs = shell.get_var("IFS")
    separators = " \t\n" if ifs is None else ifs
    fields = _split_for_read(text, separators, len(names))
    for name, value in zip(names, fields + [""] * (len(names) - len(fields))):
        shell.set_var(name, value)
    return 0


def _split_for_read(text: str, separators: str, count: int) -> list[str]:
    if not separators:
        return [text]
    white = "".join(c for c in separators if c in " \t\n")
    text = text.strip(white) if white else text
    if not text:
        return []
    pattern = "[" + re.escape(separators) + "]+"
    return re.split(pattern, text, maxsplit=count - 1) if count > 1 else [text]


@builtin("wait")
async def _wait(shell: "Shell", argv: list[str], io: "IO") -> int:
    wanted = [int(a) for a in argv[1:] if a.isdigit()]
    jobs = [j for j in shell.jobs if not wanted or j.pid in wanted]
    status = 0
    for job in jobs:
        if job.task is not None:
            await asyncio.shield(asyncio.wait({job.task}))
            status = 128 + job.killed_by if job.killed_by else 0
    shell.jobs = [j for j in shell.jobs if j.task is not None and not j.task.done()]
    return status


@builtin("command")
async def _command(shell: "Shell", argv: list[str], io: "IO") -> int:
    args = argv[1:]
    if args and args[0] in ("-v", "-V"):
        verbose = args[0] == "-V"
        status = 0
        for name in args[1:]:
            found = describe(shell, name)
            if found is None:
                status = 1
                if verbose:
                    io.err(f"{SH}: {name}: not found\n")
            elif verbose:
                io.out(f"{name} is {found[1]}\n")
            else:
                io.out((found[2] or name) + "\n")
        return status
    if not args:
        return 0
    if args[0] in SHELL_BUILTINS:
        return await SHELL_BUILTINS[args[0]](shell, args, io)
    return await shell.run_external(args, io)


@builtin("type", "whence")
async def _type(shell: "Shell", argv: list[str], io: "IO") -> int:
    status = 0
    for name in argv[1:]:
        found = describe(shell, name)
        if found is None:
            io.out(f"{name} not found\n")
            status = 1
        else:
            io.out(f"{name} is {found[1]}\n")
    return status


def describe(shell: "Shell", name: str) -> tuple[str, str, str | None] | None:
    """What a name runs as: (kind, mksh's description, path) or None when nothing runs."""
    if name in shell.functions:
        return "function", "a function", None
    if name in SHELL_BUILTINS or name in IN_PROCESS:
        special = "special " if name in SPECIAL_BUILTINS else ""
        return "builtin", f"a {special}shell builtin", None
    path = command_path(shell.device, name)
    if path is None:
        return None
    return "path", path if "/" in name else f"a tracked alias for {path}", path


@builtin("let")
async def _let(shell: "Shell", argv: list[str], io: "IO") -> int:
    """`let expr...` and `(( expr ))`: status 0 when the last value is not zero."""
    from harness.sim.shell.arith import ArithError, evaluate
    value = 0
    for expression in argv[1:]:
        try:
            value = evaluate(expression, shell.get_var, shell.set_var)
        except ArithError as err:
            io.err(f"{SH}: {err}\n")
            return 2
    return 0 if value else 1


@builtin("trap", "alias", "unalias", "ulimit", "umask")
async def _accepted(shell: "Shell", argv: list[str], io: "IO") -> int:
    """Accepted and ignored: nothing on the virtual device depends on them."""
    return 0


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9_./:,+=@%-]*", value) else shlex.quote(value)
