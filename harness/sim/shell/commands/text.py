"""grep, head, tail, wc, sort, uniq, cut, tr, sed, xargs (toybox behaviour and formats).

Filters that read stdin read it line by line as it arrives and write each result at once, so
`logcat | grep X` streams; `head` and `grep -q` stop reading early, which ends the writer with
SIGPIPE exactly like on a device.
"""

from __future__ import annotations

import re
import shlex
import string

from harness.sim.fs import FsError
from harness.sim.shell.api import Proc, command
from harness.sim.shell.execution import CommandNotFound, exec_command
from harness.sim.shell.commands.common import (Options, UsageError, emit, file_error, lines_of,
                                               parse_options, raw, read_input, text, usage_error)

_POSIX_CLASSES = {
    "alpha": string.ascii_letters, "digit": string.digits,
    "alnum": string.ascii_letters + string.digits, "upper": string.ascii_uppercase,
    "lower": string.ascii_lowercase, "space": " \t\n\r\f\v", "blank": " \t",
    "punct": string.punctuation, "xdigit": string.hexdigits,
    "print": "".join(map(chr, range(32, 127))), "graph": "".join(map(chr, range(33, 127))),
    "cntrl": "".join(map(chr, range(32))) + "\x7f",
}


def posix_regex(pattern: str, extended: bool) -> str:
    """A POSIX BRE/ERE as a Python regex (classes like [[:digit:]], BRE's \\( \\) \\{ \\})."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "[":
            end, body = _bracket(pattern, i)
            if end < 0:
                out.append(r"\[")
                i += 1
                continue
            out.append(body)
            i = end + 1
            continue
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if not extended and nxt in "(){}|+?":
                out.append(nxt)
            elif nxt in "<>":
                out.append(r"\b")
            else:
                out.append("\\" + nxt)
            i += 2
            continue
        if not extended and ch in "(){}|+?":
            out.append("\\" + ch)
        elif ch == "*" and (not out or out[-1] in ("^", "(", "|")):
            out.append(r"\*")        # a leading * is literal
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[int, str]:
    i = start + 1
    parts = ["["]
    if i < len(pattern) and pattern[i] in "^!":
        parts.append("^")
        i += 1
    first = True
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]" and not first:
            parts.append("]")
            return i, "".join(parts)
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i)
            if end > 0 and pattern[i + 2:end] in _POSIX_CLASSES:
                parts.append(re.escape(_POSIX_CLASSES[pattern[i + 2:end]]))
                i = end + 2
                first = False
                continue
        parts.append("\\" + ch if ch in "\\[]^" else ch)
        i += 1
        first = False
    return -1, ""


# ---- grep ---------------------------------------------------------------------------------------
@command("grep", "egrep", "fgrep")
async def grep(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "EFHhcilnoqsvwxrzab", with_value="mABC",
                             repeated="ef")
    except UsageError as err:
        return usage_error(proc, err, 2)
    if proc.name == "egrep":
        opts.flags["E"] = True
    if proc.name == "fgrep":
        opts.flags["F"] = True
    patterns = list(opts.values("e"))
    operands = list(opts.operands)
    for name in opts.values("f"):
        try:
            patterns.extend(text(await read_input(proc, name)).splitlines())
        except FsError as err:
            file_error(proc, err)
            return 2
    if not patterns:
        if not operands:
            return usage_error(proc, UsageError("Need 1 argument"), 2)
        patterns.append(operands.pop(0))
    try:
        matcher = _Matcher(patterns, opts)
    except re.error:
        proc.err(f"grep: bad regex '{patterns[0]}'\n")
        return 2
    files = operands or ["-"]
    show_name = (len(files) > 1 or opts.has("H")) and not opts.has("h")
    limit = int(opts.value("m") or 0)
    found = False
    error = False
    for name in files:
        label = "(standard input)" if name == "-" else name
        count = 0
        line_no = 0
        try:
            async for line in lines_of(proc, name):
                line_no += 1
                body = text(line).rstrip("\n")
                hits = matcher.matches(body)
                if not hits:
                    continue
                found = True
                count += 1
                if opts.has("q"):
                    return 0
                if opts.has("l"):
                    await emit(proc, raw(label + "\n"))
                    break
                if not opts.has("c"):
                    prefix = (f"{label}:" if show_name else "") + (f"{line_no}:" if opts.has("n") else "")
                    if opts.has("o") and not opts.has("v"):
                        out = "".join(f"{prefix}{hit}\n" for hit in hits if hit)
                    else:
                        out = f"{prefix}{body}\n"
                    await emit(proc, raw(out))
                if limit and count >= limit:
                    break
        except FsError as err:
            if not opts.has("s"):
                file_error(proc, err)
            error = True
            continue
        if opts.has("c"):
            await emit(proc, raw(f"{label + ':' if show_name else ''}{count}\n"))
    if error and not found:
        return 2
    return 0 if found else 1


class _Matcher:
    def __init__(self, patterns: list[str], opts: Options) -> None:
        self.opts = opts
        flags = re.IGNORECASE if opts.has("i") else 0
        sources = []
        for pattern in patterns:
            source = re.escape(pattern) if opts.has("F") else posix_regex(pattern, opts.has("E"))
            if opts.has("w"):
                source = rf"(?<![A-Za-z0-9_])(?:{source})(?![A-Za-z0-9_])"
            if opts.has("x"):
                source = rf"^(?:{source})$"
            sources.append(f"(?:{source})")
        self.regex = re.compile("|".join(sources), flags)

    def matches(self, line: str) -> list[str]:
        """What matched (empty when the line is not selected); -v selects non-matching lines."""
        hits = [m.group() for m in self.regex.finditer(line)]
        if self.opts.has("v"):
            return [] if hits else [line]
        return hits


# ---- head / tail ----------------------------------------------------------------------------
def _count_option(args: list[str]) -> list[str]:
    """`head -5` means `head -n 5`."""
    return [f"-n{a[1:]}" if re.fullmatch(r"-\d+", a) else a for a in args]


@command("head")
async def head(proc: Proc) -> int:
    try:
        opts = parse_options(_count_option(proc.args), "qv", with_value="nc")
    except UsageError as err:
        return usage_error(proc, err)
    lines = int(opts.value("n") or 10)
    status = 0
    files = opts.operands or ["-"]
    for index, name in enumerate(files):
        if len(files) > 1:
            await emit(proc, raw(("\n" if index else "") + f"==> {name} <==\n"))
        try:
            if opts.value("c") is not None:
                data = await read_input(proc, name)
                await emit(proc, data[:int(opts.value("c") or 0)])
                continue
            seen = 0
            if lines <= 0:
                continue
            async for line in lines_of(proc, name):
                await emit(proc, line)
                seen += 1
                if seen >= lines:
                    break
        except FsError as err:
            file_error(proc, err)
            status = 1
    return status


@command("tail")
async def tail(proc: Proc) -> int:
    try:
        opts = parse_options(_count_option(proc.args), "fqv", with_value="nc")
    except UsageError as err:
        return usage_error(proc, err)
    count = opts.value("n") or "10"
    status = 0
    for name in opts.operands or ["-"]:
        try:
            data = await read_input(proc, name)
        except FsError as err:
            file_error(proc, err)
            status = 1
            continue
        if opts.value("c") is not None:
            await emit(proc, data[-int(opts.value("c") or 0):] if opts.value("c") != "0" else b"")
            continue
        lines = data.splitlines(keepends=True)
        if count.startswith("+"):
            selected = lines[max(int(count[1:]) - 1, 0):]
        else:
            n = abs(int(count))
            selected = lines[-n:] if n else []
        await emit(proc, b"".join(selected))
    return status


# ---- wc -------------------------------------------------------------------------------------
@command("wc")
async def wc(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "lwcm")
    except UsageError as err:
        return usage_error(proc, err)
    chosen = [f for f in "lwcm" if opts.has(f)] or ["l", "w", "c"]
    order = [f for f in "lwcm" if f in chosen]
    width = 0 if len(order) == 1 else 7
    totals = dict.fromkeys(order, 0)
    status = 0
    names = opts.operands or ["-"]
    out: list[str] = []
    for name in names:
        try:
            data = await read_input(proc, name)
        except FsError as err:
            file_error(proc, err)
            status = 1
            continue
        counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data),
                  "m": len(text(data))}
        for f in order:
            totals[f] += counts[f]
        out.append(_wc_line(order, counts, width, name if opts.operands else None))
    if len(names) > 1:
        out.append(_wc_line(order, totals, width, "total"))
    await emit(proc, raw("".join(out)))
    return status


def _wc_line(order: list[str], counts: dict[str, int], width: int, name: str | None) -> str:
    line = " ".join(f"{counts[f]:>{width}}" for f in order)
    return line + (f" {name}" if name is not None else "") + "\n"


# ---- sort / uniq / cut / tr -------------------------------------------------------------------
@command("sort")
async def sort(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "nrufbs", with_value="kto")
    except UsageError as err:
        return usage_error(proc, err)
    lines: list[str] = []
    for name in opts.operands or ["-"]:
        try:
            lines.extend(text(await read_input(proc, name)).splitlines())
        except FsError as err:
            file_error(proc, err)
            return 2
    separator = opts.value("t")
    field = int((opts.value("k") or "0").split(",")[0].split(".")[0] or 0)

    def key_text(line: str) -> str:
        if not field:
            return line
        parts = line.split(separator) if separator else line.split()
        return (separator or " ").join(parts[field - 1:]) if len(parts) >= field else ""

    def key(line: str):
        value = key_text(line)
        if opts.has("f"):
            value = value.upper()
        if opts.has("n"):
            match = re.match(r"\s*(-?\d+(?:\.\d*)?)", value)
            return (float(match.group(1)) if match else 0.0, line)
        return (value, line)

    ordered = sorted(lines, key=key, reverse=opts.has("r"))
    if opts.has("u"):
        unique: list[str] = []
        for line in ordered:
            if not unique or key(unique[-1])[0] != key(line)[0]:
                unique.append(line)
        ordered = unique
    await emit(proc, raw("".join(line + "\n" for line in ordered)))
    return 0


@command("uniq")
async def uniq(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "cdui", with_value="fs")
    except UsageError as err:
        return usage_error(proc, err)
    name = opts.operands[0] if opts.operands else "-"
    try:
        lines = text(await read_input(proc, name)).splitlines()
    except FsError as err:
        file_error(proc, err)
        return 1
    groups: list[list[str]] = []
    for line in lines:
        same = groups and (groups[-1][0].lower() == line.lower() if opts.has("i")
                           else groups[-1][0] == line)
        if same:
            groups[-1].append(line)
        else:
            groups.append([line])
    out = []
    for group in groups:
        if opts.has("d") and len(group) < 2 or opts.has("u") and len(group) > 1:
            continue
        out.append((f"{len(group):7d} " if opts.has("c") else "") + group[0] + "\n")
    await emit(proc, raw("".join(out)))
    return 0


def _ranges(spec: str) -> list[tuple[int, int]]:
    ranges = []
    for item in spec.split(","):
        start, dash, end = item.partition("-")
        low = int(start) if start else 1
        high = (int(end) if end else 1 << 30) if dash else low
        ranges.append((low, high))
    return ranges


@command("cut")
async def cut(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "sn", with_value="dfcb")
    except UsageError as err:
        return usage_error(proc, err)
    spec = opts.value("f") or opts.value("c") or opts.value("b")
    if spec is None:
        proc.err("cut: Needs -fcb\n")
        return 1
    try:
        ranges = _ranges(spec)
    except ValueError:
        proc.err(f"cut: bad list '{spec}'\n")
        return 1
    delimiter = opts.value("d", "\t") or "\t"

    def wanted(index: int) -> bool:
        return any(low <= index <= high for low, high in ranges)

    status = 0
    for name in opts.operands or ["-"]:
        try:
            async for line in lines_of(proc, name):
                body = text(line).rstrip("\n")
                if opts.value("f") is not None:
                    if delimiter not in body:
                        if opts.has("s"):
                            continue
                        result = body
                    else:
                        fields = body.split(delimiter)
                        result = delimiter.join(f for i, f in enumerate(fields, 1) if wanted(i))
                else:
                    result = "".join(c for i, c in enumerate(body, 1) if wanted(i))
                await emit(proc, raw(result + "\n"))
        except FsError as err:
            file_error(proc, err)
            status = 1
    return status


def _tr_set(spec: str) -> str:
    """A tr SET: classes ([:upper:]), ranges (a-z) and backslash escapes, expanded."""
    for name, chars in _POSIX_CLASSES.items():
        spec = spec.replace(f"[:{name}:]", chars.replace("\\", "\\\\").replace("-", "\\-"))
    out: list[str] = []
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == "\\" and i + 1 < len(spec):
            out.append({"n": "\n", "t": "\t"}.get(spec[i + 1], spec[i + 1]))
            i += 2
        elif i + 2 < len(spec) and spec[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(ch), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@command("tr")
async def tr(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "cdst")
    except UsageError as err:
        return usage_error(proc, err)
    if not opts.operands:
        return usage_error(proc, UsageError("Need 1 argument"))
    source = _tr_set(opts.operands[0])
    target = _tr_set(opts.operands[1]) if len(opts.operands) > 1 else ""
    data = text(await proc.stdin.read_all())
    if opts.has("d"):
        data = "".join(c for c in data if c not in source)
    elif target:
        target = target + target[-1] * max(0, len(source) - len(target))
        data = data.translate(str.maketrans(source, target[:len(source)]))
    if opts.has("s"):
        squeeze = target or source
        data = re.sub("([" + re.escape(squeeze) + "])\\1+", r"\1", data) if squeeze else data
    await emit(proc, raw(data))
    return 0


# ---- sed (s///, p, d with line/regex addresses) -----------------------------------------------
class _SedCommand:
    def __init__(self, address: tuple[str, str] | None, verb: str, regex=None,
                 replacement: str = "", flags: str = "") -> None:
        self.address = address
        self.verb = verb
        self.regex = regex
        self.replacement = replacement
        self.flags = flags


def _sed_parse(script: str, extended: bool) -> list[_SedCommand]:
    commands: list[_SedCommand] = []
    i = 0
    while i < len(script):
        while i < len(script) and script[i] in " \t\n;":
            i += 1
        if i >= len(script):
            break
        address = None
        if script[i].isdigit():
            match = re.match(r"\d+", script[i:])
            assert match
            address = ("line", match.group())
            i += len(match.group())
        elif script[i] == "$":
            address = ("last", "")
            i += 1
        elif script[i] == "/":
            end = _sed_delimited(script, i + 1, "/")
            address = ("regex", script[i + 1:end])
            i = end + 1
        verb = script[i] if i < len(script) else ""
        i += 1
        if verb == "s":
            delim = script[i]
            end1 = _sed_delimited(script, i + 1, delim)
            end2 = _sed_delimited(script, end1 + 1, delim)
            pattern, replacement = script[i + 1:end1], script[end1 + 1:end2]
            match = re.match(r"[gpI0-9]*", script[end2 + 1:])
            flags = match.group() if match else ""
            i = end2 + 1 + len(flags)
            regex = re.compile(posix_regex(pattern, extended), re.IGNORECASE if "I" in flags else 0)
            commands.append(_SedCommand(address, "s", regex, replacement, flags))
        elif verb in ("p", "d"):
            commands.append(_SedCommand(address, verb))
        else:
            raise ValueError(f"Unknown command '{verb}'")
    return commands


def _sed_delimited(script: str, start: int, delim: str) -> int:
    i = start
    while i < len(script):
        if script[i] == "\\":
            i += 2
            continue
        if script[i] == delim:
            return i
        i += 1
    raise ValueError("unterminated command")


def _sed_replacement(replacement: str, match: re.Match) -> str:
    out: list[str] = []
    i = 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "\\" and i + 1 < len(replacement):
            nxt = replacement[i + 1]
            out.append(match.group(int(nxt)) or "" if nxt.isdigit() else {"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        elif ch == "&":
            out.append(match.group())
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _sed_run(commands: list[_SedCommand], lines: list[str], quiet: bool) -> str:
    out: list[str] = []
    for number, line in enumerate(lines, 1):
        last = number == len(lines)
        deleted = False
        for cmd in commands:
            if cmd.address is not None:
                kind, value = cmd.address
                if kind == "line" and number != int(value) or kind == "last" and not last or \
                        kind == "regex" and not re.search(posix_regex(value, False), line):
                    continue
            if cmd.verb == "d":
                deleted = True
                break
            if cmd.verb == "p":
                out.append(line + "\n")
            elif cmd.verb == "s":
                count = 0 if "g" in cmd.flags else 1
                new, n = cmd.regex.subn(lambda m: _sed_replacement(cmd.replacement, m), line, count)
                line = new
                if n and "p" in cmd.flags:
                    out.append(line + "\n")
        if not deleted and not quiet:
            out.append(line + "\n")
    return "".join(out)


@command("sed")
async def sed(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "nErsi", repeated="ef")
    except UsageError as err:
        return usage_error(proc, err)
    scripts = list(opts.values("e"))
    operands = list(opts.operands)
    if not scripts:
        if not operands:
            return usage_error(proc, UsageError("Need 1 argument"))
        scripts.append(operands.pop(0))
    try:
        commands = _sed_parse("\n".join(scripts), opts.has("E") or opts.has("r"))
    except (ValueError, re.error, IndexError) as err:
        proc.err(f"sed: {err}\n")
        return 1
    status = 0
    for name in operands or ["-"]:
        try:
            data = text(await read_input(proc, name))
        except FsError as err:
            file_error(proc, err)
            status = 1
            continue
        result = _sed_run(commands, data.splitlines(), opts.has("n"))
        if opts.has("i") and name != "-":
            try:
                proc.device.fs.check_writable(name if name.startswith("/") else f"{proc.cwd}/{name}", proc.uid)
                from harness.sim.fs import normalize
                proc.device.fs.write(normalize(name, proc.cwd), raw(result), uid=proc.uid)
            except FsError as err:
                file_error(proc, err)
                status = 1
        else:
            await emit(proc, raw(result))
    return status


# ---- tee ---------------------------------------------------------------------------------------
@command("tee")
async def tee(proc: Proc) -> int:
    from harness.sim.shell.redirects import open_output
    try:
        opts = parse_options(proc.args, "ai")
    except UsageError as err:
        return usage_error(proc, err)
    outputs = []
    status = 0
    for name in opts.operands:
        try:
            outputs.append(open_output(proc.device.fs, name, cwd=proc.cwd, uid=proc.uid,
                                       append=opts.has("a")))
        except FsError as err:
            proc.err(f"tee: {name}: {err.strerror}\n")
            status = 1
    while chunk := await proc.stdin.read():
        for output in outputs:
            output.write(chunk)
        await emit(proc, chunk)
    return status


# ---- xargs -------------------------------------------------------------------------------------
@command("xargs")
async def xargs(proc: Proc) -> int:
    from harness.sim.shell.streams import empty_input
    try:
        opts = parse_options(proc.args, "0prtx", with_value="nsLEI", anywhere=False)
    except UsageError as err:
        return usage_error(proc, err)
    base = opts.operands or ["echo"]
    data = text(await proc.stdin.read_all())
    if opts.has("0"):
        items = [item for item in data.split("\0") if item]
    else:
        try:
            items = shlex.split(data)
        except ValueError:
            items = data.split()
    if not items and opts.has("r"):
        return 0
    per_call = int(opts.value("n") or 0) or max(len(items), 1)
    status = 0
    for start in range(0, max(len(items), 1), per_call):
        argv = base + items[start:start + per_call]
        try:
            code = await exec_command(proc, argv, stdin=empty_input())
        except CommandNotFound:
            proc.err(f"xargs: exec {argv[0]}: No such file or directory\n")
            return 127
        if code == 255:
            return 124
        if code:
            status = 123
    return status
