"""cat, ls, mkdir, rm, touch on the device's file system (toybox formats and messages)."""

from __future__ import annotations

import errno
import posixpath
import re
import stat as st
import time

from harness.sim.fs import FsError, Node, normalize
from harness.sim.shell.api import Proc, command
from harness.sim.shell.commands.common import (UsageError, emit, file_error, parse_options, raw,
                                               usage_error)
from harness.sim.shell.fsaccess import check_creatable, check_listable, read_file
from harness.sim.shell.jobs import user_name


@command("cat")
async def cat(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "uv")
    except UsageError as err:
        return usage_error(proc, err)
    status = 0
    for name in opts.operands or ["-"]:
        if name == "-":
            while chunk := await proc.stdin.read():
                await emit(proc, chunk)
            continue
        try:
            await emit(proc, read_file(proc.device.fs, name, uid=proc.uid, cwd=proc.cwd))
        except FsError as err:
            file_error(proc, err)
            status = 1
    return status


@command("mkdir")
async def mkdir(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "pv", with_value="mZ")
    except UsageError as err:
        return usage_error(proc, err)
    if not opts.operands:
        return usage_error(proc, UsageError("Need 1 argument"))
    mode = int(opts.value("m") or "755", 8) if (opts.value("m") or "").isdigit() else 0o755
    fs = proc.device.fs
    status = 0
    for name in opts.operands:
        path = normalize(name, proc.cwd)
        try:
            if fs.exists(path):
                if opts.has("p") and fs.isdir(path):
                    continue
                raise FsError(errno.EEXIST, name)
            parent = posixpath.dirname(path)
            if not fs.exists(parent) and not opts.has("p"):
                raise FsError(errno.ENOENT, name)
            fs.check_writable(path, proc.uid)
            node = fs.mkdir(path, mode=mode, parents=True)
            node.uid = proc.uid
        except FsError as err:
            proc.err(f"mkdir: '{name}': {err.strerror}\n")
            status = 1
    return status


@command("rm")
async def rm(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "fiRrv")
    except UsageError as err:
        return usage_error(proc, err)
    if not opts.operands and not opts.has("f"):
        return usage_error(proc, UsageError("Needs 1 argument"))
    recursive = opts.has("r") or opts.has("R")
    status = 0
    for name in opts.operands:
        try:
            _remove(proc, name, normalize(name, proc.cwd), recursive)
        except FsError as err:
            if not (opts.has("f") and err.code == errno.ENOENT):
                proc.err(f"rm: {err.path}: {err.strerror}\n")
                status = 1
    return status


def _remove(proc: Proc, name: str, path: str, recursive: bool) -> None:
    fs = proc.device.fs
    if not fs.exists(path):
        raise FsError(errno.ENOENT, name)
    if fs.isdir(path):
        if not recursive:
            raise FsError(errno.EISDIR, name)
        check_listable(path, proc.uid)
        for child in fs.listdir(path):
            _remove(proc, f"{name.rstrip('/')}/{child}", f"{path.rstrip('/')}/{child}", True)
    try:
        fs.check_writable(path, proc.uid)
    except FsError as err:
        raise FsError(err.code, name) from None
    fs.remove(path)


@command("touch")
async def touch(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "acmh", with_value="dtr")
    except UsageError as err:
        return usage_error(proc, err)
    if not opts.operands:
        return usage_error(proc, UsageError("Need 1 argument"))
    fs = proc.device.fs
    now = int(proc.device.scheduler.wall_clock())
    status = 0
    for name in opts.operands:
        path = normalize(name, proc.cwd)
        try:
            if fs.exists(path):
                fs.check_writable(path, proc.uid)
                fs.node(path).mtime = now
            elif not opts.has("c"):
                full = check_creatable(fs, name, uid=proc.uid, cwd=proc.cwd)
                fs.write(full, b"", mtime=now, uid=proc.uid)
        except FsError as err:
            proc.err(f"touch: '{name}': {err.strerror}\n")
            status = 1
    return status


# ---- ls ----------------------------------------------------------------------------------------
def _mode_string(mode: int) -> str:
    kind = ("d" if st.S_ISDIR(mode) else "l" if st.S_ISLNK(mode) else "c" if st.S_ISCHR(mode)
            else "s" if st.S_ISSOCK(mode) else "-")
    bits = "".join(flag if mode & mask else "-" for flag, mask in (
        ("r", 0o400), ("w", 0o200), ("x", 0o100), ("r", 0o40), ("w", 0o20), ("x", 0o10),
        ("r", 0o4), ("w", 0o2), ("x", 0o1)))
    return kind + bits


def _blocks(node: Node) -> int:
    """1 KiB blocks as `total` counts them (ext4: 4 KiB allocation units)."""
    size = 4096 if node.is_dir else len(node.content())
    return -(-size // 4096) * 4


class _Entry:
    def __init__(self, name: str, node: Node) -> None:
        self.name = name
        self.node = node
        self.size = 4096 if node.is_dir else len(node.content())


@command("ls")
async def ls(proc: Proc) -> int:
    """toybox ls as it prints when stdout is not a terminal (one name per line)."""
    try:
        opts = parse_options(proc.args, "1aAdlnrtSRFCx")
    except UsageError as err:
        return usage_error(proc, err)
    fs = proc.device.fs
    long = opts.has("l") or opts.has("n")
    status = 0
    files: list[_Entry] = []
    dirs: list[tuple[str, str]] = []
    for name in opts.operands or ["."]:
        path = normalize(name, proc.cwd)
        if not fs.exists(path):
            proc.err(f"ls: {name}: No such file or directory\n")
            status = 1
        elif fs.isdir(path) and not opts.has("d"):
            dirs.append((name, path))
        else:
            files.append(_Entry(name, fs.node(path)))
    out: list[str] = []
    if files:
        out.extend(_format(_sorted(files, opts), opts, long))
    for index, (name, path) in enumerate(sorted(dirs)):
        try:
            check_listable(path, proc.uid)
            entries = _directory_entries(fs, path, opts)
        except FsError as err:
            proc.err(f"ls: {name}: {err.strerror}\n")
            status = 1
            continue
        if len(dirs) + len(files) > 1:
            if out or index:
                out.append("")
            out.append(f"{name}:")
        if long:
            out.append(f"total {sum(_blocks(e.node) for e in entries)}")
        out.extend(_format(_sorted(entries, opts), opts, long))
    await emit(proc, raw("".join(line + "\n" for line in out)))
    return status


def _directory_entries(fs, path: str, opts) -> list[_Entry]:
    entries = [_Entry(n, fs.node(f"{path.rstrip('/')}/{n}")) for n in fs.listdir(path)]
    if opts.has("a"):
        parent = posixpath.dirname(path.rstrip("/")) or "/"
        entries += [_Entry(".", fs.node(path)), _Entry("..", fs.node(parent))]
    elif not opts.has("A"):
        entries = [e for e in entries if not e.name.startswith(".")]
    return entries


def _sorted(entries: list[_Entry], opts) -> list[_Entry]:
    if opts.has("t"):
        entries = sorted(entries, key=lambda e: (-e.node.mtime, e.name))
    elif opts.has("S"):
        entries = sorted(entries, key=lambda e: (-e.size, e.name))
    else:
        entries = sorted(entries, key=lambda e: e.name)
    return entries[::-1] if opts.has("r") else entries


def _format(entries: list[_Entry], opts, long: bool) -> list[str]:
    suffix = (lambda e: "/" if e.node.is_dir else "") if opts.has("F") else (lambda e: "")
    if not long:
        return [e.name + suffix(e) for e in entries]
    numeric = opts.has("n")
    owners = [str(e.node.uid) if numeric else user_name(e.node.uid) for e in entries]
    groups = [str(e.node.group) if numeric else user_name(e.node.group) for e in entries]
    links = [str(2 if e.node.is_dir else 1) for e in entries]
    sizes = [str(e.size) for e in entries]
    w_link = max(map(len, links), default=1)
    w_user = max(map(len, owners), default=1)
    w_group = max(map(len, groups), default=1)
    w_size = max(map(len, sizes), default=1)
    lines = []
    for entry, owner, group, link, size in zip(entries, owners, groups, links, sizes):
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.node.mtime))
        lines.append(f"{_mode_string(entry.node.mode)} {link:>{w_link}} {owner:<{w_user}} "
                     f"{group:<{w_group}} {size:>{w_size}} {when} {entry.name}{suffix(entry)}")
    return lines


# ---- chmod / cp / mv ------------------------------------------------------------------------------
_WHO_BITS = {"u": 0o4700, "g": 0o2070, "o": 0o1007}
_PERM_BITS = {"r": 0o444, "w": 0o222, "x": 0o111}


def parse_mode(spec: str, current: int) -> int:
    """An octal mode or toybox's symbolic one (`u+x`, `go-w`, `a=r`, `+x`, comma lists)."""
    if re.fullmatch(r"[0-7]{1,4}", spec):
        return int(spec, 8)
    mode = current & 0o7777
    for clause in spec.split(","):
        match = re.fullmatch(r"([ugoa]*)([-+=])([rwx]*)", clause)
        if not match:
            raise ValueError(spec)
        who, op, perms = match.groups()
        mask = sum(_WHO_BITS[w] for w in (who.replace("a", "ugo") or "ugo")) & 0o777
        bits = sum(_PERM_BITS[p] for p in perms) & mask
        if op == "+":
            mode |= bits
        elif op == "-":
            mode &= ~bits
        else:
            mode = (mode & ~mask) | bits
    return mode


@command("chmod")
async def chmod(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "Rfv")
    except UsageError as err:
        return usage_error(proc, err)
    if len(opts.operands) < 2:
        return usage_error(proc, UsageError("Need 2 arguments"))
    spec, names = opts.operands[0], opts.operands[1:]
    fs = proc.device.fs
    status = 0
    for name in names:
        path = normalize(name, proc.cwd)
        if not fs.exists(path):
            proc.err(f"chmod: {name}: No such file or directory\n")
            status = 1
            continue
        node = fs.node(path)
        try:
            new_mode = parse_mode(spec, node.mode)
        except ValueError:
            proc.err(f"chmod: bad mode '{spec}'\n")
            return 1
        try:
            fs.check_writable(path, proc.uid)
            if proc.uid != 0 and node.uid != proc.uid:
                raise FsError(errno.EPERM, name)
        except FsError as err:
            message = "Operation not permitted" if err.code in (errno.EPERM, errno.EACCES) else err.strerror
            proc.err(f"chmod: chmod '{name}': {message}\n")
            status = 1
            continue
        node.mode = (node.mode & ~0o7777) | new_mode
    return status


def _copy(proc: Proc, source: str, target: str, *, recursive: bool) -> None:
    fs = proc.device.fs
    src = normalize(source, proc.cwd)
    if not fs.exists(src):
        raise FsError(errno.ENOENT, source)
    dst = normalize(target, proc.cwd)
    if fs.isdir(dst):
        dst = f"{dst.rstrip('/')}/{posixpath.basename(src.rstrip('/'))}"
    if fs.isdir(src):
        if not recursive:
            raise FsError(errno.EISDIR, source)
        check_listable(src, proc.uid)
        if not fs.exists(dst):
            fs.check_writable(dst, proc.uid)
            fs.mkdir(dst).uid = proc.uid
        for child in fs.listdir(src):
            _copy(proc, f"{src}/{child}", dst, recursive=True)
        return
    data = read_file(fs, source, uid=proc.uid, cwd=proc.cwd)
    full = check_creatable(fs, dst, uid=proc.uid)
    fs.write(full, data, mode=fs.node(src).mode & 0o777, uid=proc.uid)


@command("cp", "mv")
async def cp(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "rRapfinvdlsPHLuF")
    except UsageError as err:
        return usage_error(proc, err)
    if len(opts.operands) < 2:
        proc.err(f"{proc.name}: needs 2 args\n")
        return 1
    *sources, target = opts.operands
    fs = proc.device.fs
    if len(sources) > 1 and not fs.isdir(normalize(target, proc.cwd)):
        proc.err(f"{proc.name}: '{target}' not directory\n")
        return 1
    moving = proc.name == "mv"
    status = 0
    for source in sources:
        try:
            _copy(proc, source, target, recursive=moving or opts.has("r") or opts.has("R")
                  or opts.has("a"))
            if moving:
                _remove(proc, source, normalize(source, proc.cwd), True)
        except FsError as err:
            proc.err(f"{proc.name}: '{err.path}': {err.strerror}\n")
            status = 1
    return status
