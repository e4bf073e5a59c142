"""echo, printf, true, false, test/[, sleep, seq, basename, dirname, pwd, env, nohup, timeout,
which, sh: the commands every script uses."""

from __future__ import annotations

import asyncio
import posixpath
import re

from harness.sim.shell.api import Proc, command
from harness.sim.shell.execution import CommandNotFound, command_path, exec_command
from harness.sim.shell.commands.common import (UsageError, emit, parse_options, raw, text,
                                               usage_error)
from harness.sim.shell.testexpr import TestContext, TestError, run_test

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n",
                   "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _echo_unescape(arg: str) -> tuple[str, bool]:
    """mksh echo's backslash sequences; returns (text, keep the trailing newline?)."""
    out: list[str] = []
    newline = True
    i = 0
    while i < len(arg):
        ch = arg[i]
        i += 1
        if ch != "\\" or i >= len(arg):
            out.append(ch)
            continue
        esc = arg[i]
        i += 1
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
        elif esc == "c":
            newline = False
        elif esc == "0":
            match = re.match(r"[0-7]{0,3}", arg[i:])
            digits = match.group() if match else ""
            out.append(chr(int(digits or "0", 8) & 0xFF))
            i += len(digits)
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            match = re.match(r"[0-9A-Fa-f]{1,%d}" % width, arg[i:])
            if not match:
                out.append("\\" + esc)
                continue
            out.append(chr(int(match.group(), 16)))
            i += len(match.group())
        else:
            out.append("\\" + esc)
    return "".join(out), newline


@command("echo")
async def echo(proc: Proc) -> int:
    """mksh's echo: -n/-e/-E only when an argument is made of those letters; escapes on."""
    args = proc.args
    expand, newline = True, True
    while args and re.fullmatch(r"-[neE]+", args[0]):
        for flag in args[0][1:]:
            if flag == "n":
                newline = False
            else:
                expand = flag == "e"
        args = args[1:]
    out = " ".join(args)
    if expand:
        out, keep = _echo_unescape(out)
        newline = newline and keep
    await emit(proc, raw(out + ("\n" if newline else "")))
    return 0


@command("true")
async def true(proc: Proc) -> int:
    return 0


@command("false")
async def false(proc: Proc) -> int:
    return 1


@command("test", "[")
async def test(proc: Proc) -> int:
    args = proc.args
    if proc.name == "[":
        if not args or args[-1] != "]":
            proc.err("/system/bin/sh: [: missing ]\n")
            return 2
        args = args[:-1]
    ctx = TestContext(proc.device.fs, proc.uid, proc.cwd, proc.env.get)
    try:
        return 0 if run_test(ctx, args) else 1
    except TestError as err:
        proc.err(f"/system/bin/sh: {proc.name}: {err}\n")
        return 2


def parse_duration(value: str) -> float:
    """toybox time arguments: 1, 0.5, 2m, 1h, 1d."""
    match = re.fullmatch(r"(\d*\.?\d*)([smhd]?)", value)
    if not match or match.group(1) in ("", "."):
        raise ValueError(value)
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


@command("sleep")
async def sleep(proc: Proc) -> int:
    if not proc.args:
        proc.err("sleep: Need 1 argument\n")
        return 1
    try:
        seconds = sum(parse_duration(a) for a in proc.args)
    except ValueError as bad:
        proc.err(f"sleep: Not a number '{bad}'\n")
        return 1
    await proc.sleep(seconds)
    return 0


@command("pwd")
async def pwd(proc: Proc) -> int:
    await emit(proc, raw(proc.cwd + "\n"))
    return 0


@command("basename")
async def basename(proc: Proc) -> int:
    if not proc.args:
        return usage_error(proc, UsageError("Need 1 argument"))
    name = proc.args[0].rstrip("/") or "/"
    base = posixpath.basename(name) or "/"
    suffix = proc.args[1] if len(proc.args) > 1 else ""
    if suffix and base != suffix and base.endswith(suffix):
        base = base[:-len(suffix)]
    await emit(proc, raw(base + "\n"))
    return 0


@command("dirname")
async def dirname(proc: Proc) -> int:
    if not proc.args:
        return usage_error(proc, UsageError("Need 1 argument"))
    path = proc.args[0].rstrip("/") or "/"
    parent = posixpath.dirname(path).rstrip("/") or ("/" if path.startswith("/") else ".")
    await emit(proc, raw(parent + "\n"))
    return 0


@command("seq")
async def seq(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "w", with_value="sf")
    except UsageError as err:
        return usage_error(proc, err)
    numbers = opts.operands
    if not 1 <= len(numbers) <= 3:
        return usage_error(proc, UsageError("Need 1 argument" if not numbers else "Max 3 arguments"))
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        proc.err("seq: Not a number\n")
        return 1
    first, step, last = (1.0, 1.0, values[0]) if len(values) == 1 else \
        (values[0], 1.0, values[1]) if len(values) == 2 else tuple(values)
    integral = all(re.fullmatch(r"-?\d+", n) for n in numbers)
    separator = opts.value("s", "\n") or ""
    out: list[str] = []
    value, count = first, 0
    while (step > 0 and value <= last) or (step < 0 and value >= last):
        out.append(str(int(value)) if integral else f"{value:g}")
        count += 1
        value = first + count * step
        if step == 0:
            break
    if out:
        await emit(proc, raw(separator.join(out) + "\n"))
    return 0


@command("printf")
async def printf(proc: Proc) -> int:
    if not proc.args:
        return usage_error(proc, UsageError("Need 1 argument"))
    fmt, args = proc.args[0], proc.args[1:]
    out: list[str] = []
    status = 0
    while True:
        consumed, status_now, stop = _printf_once(proc, fmt, args, out)
        status = status or status_now
        args = args[consumed:]
        if stop or not args or consumed == 0:
            break
    await emit(proc, raw("".join(out)))
    return status


_SPEC_RE = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXeEfgGcsb%])")


def _printf_once(proc: Proc, fmt: str, args: list[str], out: list[str]) -> tuple[int, int, bool]:
    used = 0
    status = 0
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "\\":
            decoded, length, stop = _printf_escape(fmt, i)
            out.append(decoded)
            i += length
            if stop:
                return used, status, True
            continue
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        match = _SPEC_RE.match(fmt, i)
        if not match:
            out.append(ch)
            i += 1
            continue
        i = match.end()
        flags, width, precision, conv = match.groups()
        if conv == "%":
            out.append("%")
            continue

        def next_arg() -> str:
            nonlocal used
            value = args[used] if used < len(args) else ""
            used += 1
            return value

        if width == "*":
            width = next_arg() or "0"
        if precision == "*":
            precision = next_arg() or "0"
        arg = next_arg()
        spec = "%" + flags + (width or "") + (f".{precision}" if precision is not None else "")
        if conv in "sb":
            value = _echo_unescape(arg)[0] if conv == "b" else arg
            out.append((spec + "s") % value)
        elif conv == "c":
            out.append((spec + "s") % arg[:1])
        elif conv in "eEfgG":
            try:
                out.append((spec + conv) % float(arg or 0))
            except ValueError:
                proc.err(f"printf: invalid number '{arg}'\n")
                out.append((spec + conv) % 0.0)
                status = 1
        else:
            try:
                number = int(arg, 0) if arg.strip() else 0
            except ValueError:
                if arg[:1] in "'\"" and len(arg) > 1:
                    number = ord(arg[1])
                else:
                    proc.err(f"printf: invalid number '{arg}'\n")
                    number, status = 0, 1
            out.append((spec + ("d" if conv in "iu" else conv)) % number)
    return used, status, False


def _printf_escape(fmt: str, i: int) -> tuple[str, int, bool]:
    """A backslash sequence of a printf format: (text, length consumed, stop output?)."""
    if i + 1 >= len(fmt):
        return "\\", 1, False
    esc = fmt[i + 1]
    if esc == "c":
        return "", 2, True
    if esc in _SIMPLE_ESCAPES or esc == '"':
        return _SIMPLE_ESCAPES.get(esc, esc), 2, False
    match = re.match(r"0?[0-7]{1,3}", fmt[i + 1:])
    if match:
        return chr(int(match.group(), 8) & 0xFF), 1 + len(match.group()), False
    return "\\" + esc, 2, False


@command("env")
async def env(proc: Proc) -> int:
    args = list(proc.args)
    environment = dict(proc.env)
    while args and args[0].startswith("-") and args[0] != "-":
        option = args.pop(0)
        if option == "-i":
            environment = {}
        elif option == "-u" and args:
            environment.pop(args.pop(0), None)
        elif option == "--":
            break
        else:
            return usage_error(proc, UsageError(f"Unknown option {option[1:]}"))
    while args and "=" in args[0] and not args[0].startswith("="):
        name, _, value = args.pop(0).partition("=")
        environment[name] = value
    if not args:
        await emit(proc, raw("".join(f"{k}={v}\n" for k, v in environment.items())))
        return 0
    try:
        return await exec_command(proc, args, env=environment)
    except CommandNotFound:
        proc.err(f"env: exec {args[0]}: No such file or directory\n")
        return 127


@command("printenv")
async def printenv(proc: Proc) -> int:
    if not proc.args:
        await emit(proc, raw("".join(f"{k}={v}\n" for k, v in proc.env.items())))
        return 0
    values = [proc.env[name] for name in proc.args if name in proc.env]
    await emit(proc, raw("".join(v + "\n" for v in values)))
    return 0 if len(values) == len(proc.args) else 1


@command("nohup")
async def nohup(proc: Proc) -> int:
    if not proc.args:
        return usage_error(proc, UsageError("Need 1 argument"), 127)
    try:
        return await exec_command(proc, proc.args)
    except CommandNotFound:
        proc.err(f"nohup: exec {proc.args[0]}: No such file or directory\n")
        return 127


@command("timeout")
async def timeout(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "v", with_value="ks", anywhere=False)
    except UsageError as err:
        return usage_error(proc, err, 125)
    if len(opts.operands) < 2:
        return usage_error(proc, UsageError("Need 2 arguments"), 125)
    try:
        limit = parse_duration(opts.operands[0])
    except ValueError:
        proc.err(f"timeout: Not a number '{opts.operands[0]}'\n")
        return 125
    child = asyncio.ensure_future(exec_command(proc, opts.operands[1:]))
    timer = asyncio.ensure_future(proc.sleep(limit))
    try:
        done, _ = await asyncio.wait({child, timer}, return_when=asyncio.FIRST_COMPLETED)
        if child in done:
            return child.result()
        child.cancel()
        await asyncio.wait({child})
        return 124
    except CommandNotFound:
        proc.err(f"timeout: exec {opts.operands[1]}: No such file or directory\n")
        return 127
    finally:
        for task in (child, timer):
            if not task.done():
                task.cancel()


@command("which")
async def which(proc: Proc) -> int:
    names = [a for a in proc.args if a != "-a"]
    status = 0
    for name in names:
        path = command_path(proc.device, name)
        if path is None:
            status = 1
        else:
            await emit(proc, raw(path + "\n"))
    return status


@command("sh")
async def sh(proc: Proc) -> int:
    from harness.sim.shell.commands.common import read_input
    from harness.sim.shell.interpreter import run_shell_proc
    from harness.sim.fs import FsError
    args = list(proc.args)
    options = ""
    command_text: str | None = None
    while args and args[0].startswith(("-", "+")) and len(args[0]) > 1:
        flag = args.pop(0)
        if flag == "--":
            break
        if "c" in flag[1:]:
            if not args:
                proc.err("/system/bin/sh: -c: option requires an argument\n")
                return 1
            command_text = args.pop(0)
        options += flag[1:].replace("c", "")
    if command_text is not None:
        arg0 = args.pop(0) if args else proc.name
        return await run_shell_proc(proc, command_text, arg0=arg0, args=args, options=options)
    if args:
        script = args.pop(0)
        try:
            body = text(await read_input(proc, script))
        except FsError as err:
            proc.err(f"/system/bin/sh: {script}: can't open: {err.strerror}\n")
            return 127 if err.code == 2 else 126
        return await run_shell_proc(proc, body, arg0=script, args=args, options=options)
    return await run_shell_proc(proc, None, options=options)


@command("toybox", "toolbox")
async def multiplexer(proc: Proc) -> int:
    """`toybox ls ...` runs the applet; alone, it lists the applets it has."""
    from harness.sim.shell.api import REGISTRY
    if not proc.args:
        names = sorted(n for n, spec in REGISTRY.items() if spec.available(proc.device))
        await emit(proc, raw(" ".join(names) + "\n"))
        return 0
    try:
        return await exec_command(proc, proc.args)
    except CommandNotFound:
        proc.err(f"{proc.args[0]}: no such tool\n")
        return 1
