"""Commands as processes: finding a command, giving it a pid and a task, exec'ing others.

A command of the registry runs as a child task with a pid of its own (so `ps` lists it and `kill`
ends it); SIGPIPE (`BrokenPipe`) ends it with status 141; a tool's crash is reported, never
propagated into adbd.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import weakref
from typing import TYPE_CHECKING, Awaitable, Callable

from harness.sim.fs import normalize
from harness.sim.shell import api
from harness.sim.shell.api import CommandSpec, Input, Proc
from harness.sim.shell.jobs import shell_processes
from harness.sim.shell.streams import BrokenPipe

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

log = logging.getLogger(__name__)

SH = "/system/bin/sh"
SIGPIPE_STATUS = 128 + 13
BIN_DIRS = ("/sbin", "/system/sbin", "/system/bin", "/system/xbin", "/vendor/bin", "/vendor/xbin",
            "/product/bin", "/odm/bin", "/bin")
XBIN_COMMANDS = ("su",)          # installed in /system/xbin rather than /system/bin
# Commands mksh has built in: the shell runs them without a process of their own.
IN_PROCESS = frozenset({"echo", "test", "[", "true", "false", "kill", "pwd"})


_loaded = False


def load_commands() -> None:
    """Import every module that registers commands (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import harness.sim.shell.commands  # noqa: F401  (the shell's own toolbox/toybox)
    try:
        import harness.sim.tools  # noqa: F401  (network tools, written against the same registry)
    except Exception:
        # A broken tool module must not take every shell command down with it: its commands
        # answer "not found" and the error is in the log.
        log.exception("the network tools failed to load")


_installed: "weakref.WeakSet[VirtualDevice]" = weakref.WeakSet()


def install_commands(device: "VirtualDevice") -> None:
    """Give every available command a file in /system/bin (su: /system/xbin) once per device,
    so `ls`, `test -x`, globs and adb sync see what the shell can run."""
    if device in _installed:
        return
    _installed.add(device)
    for name in sorted(api.REGISTRY):
        path = command_path(device, name)
        if path is None or device.fs.exists(path) or not path.startswith(BIN_DIRS):
            continue
        device.fs.mkdir(posixpath.dirname(path))
        device.fs.write(path, b"", mode=0o755, uid=0)


def not_found_message(device: "VirtualDevice", name: str) -> str:
    """mksh R57 (Android 10+) says `inaccessible or not found`; earlier ones `not found`."""
    what = "inaccessible or not found" if device.sdk >= 29 else "not found"
    return f"{SH}: {name}: {what}\n"


class CommandNotFound(Exception):
    pass


def find_command(device: "VirtualDevice", name: str) -> CommandSpec | None:
    """A registered command by name or by its path in a bin directory."""
    if "/" in name:
        directory, base = posixpath.split(normalize(name))
        if directory not in BIN_DIRS or not base:
            return None
        name = base
    return api.lookup(name, device)


def command_path(device: "VirtualDevice", name: str) -> str | None:
    """Where `which`/`command -v` find a registered command."""
    if find_command(device, name) is None:
        return None
    if "/" in name:
        return normalize(name)
    return f"/system/xbin/{name}" if name in XBIN_COMMANDS else f"/system/bin/{name}"


async def run_proc(run: Callable[[Proc], Awaitable[int]], proc: Proc, *, ppid: int) -> int:
    """Run a command as its own process: a child task with a pid, killable with `kill`."""
    table = shell_processes(proc.device)
    record = table.spawn(posixpath.basename(proc.argv[0]) or "sh", uid=proc.uid, ppid=ppid)
    proc.pid = record.pid
    task = asyncio.ensure_future(guarded(run, proc))
    record.task = task
    try:
        status = await task
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if record.killed_by is not None and (me is None or me.cancelling() == 0):
            return 128 + record.killed_by
        raise
    finally:
        table.exit(record)
        if not task.done():
            task.cancel()
    return status if record.killed_by is None else 128 + record.killed_by


async def guarded(run: Callable[[Proc], Awaitable[int]], proc: Proc, *,
                   own_process: bool = True) -> int:
    """Run a command's code; SIGPIPE ends its process (the whole shell for a builtin)."""
    try:
        return await run(proc)
    except BrokenPipe:
        if not own_process:
            raise
        return SIGPIPE_STATUS
    except Exception as exc:           # a tool's bug must not take the device's adbd down
        log.exception("command %r failed", proc.argv)
        try:
            proc.err(f"{proc.name}: {exc}\n")
        except BrokenPipe:
            pass
        return 1


async def exec_command(proc: Proc, argv: list[str], *, uid: int | None = None,
                       env: dict[str, str] | None = None, stdin: Input | None = None) -> int:
    """execvp() for tools that run other tools (su, env, nohup, xargs, timeout).

    Only registered commands can be exec'd (shell builtins cannot, as on a device); raises
    CommandNotFound otherwise.
    """
    spec = find_command(proc.device, argv[0])
    if spec is None:
        raise CommandNotFound(argv[0])
    child = Proc(list(argv), stdin if stdin is not None else proc.stdin, proc.stdout, proc.stderr,
                 proc.device, dict(proc.env if env is None else env),
                 proc.uid if uid is None else uid, proc.cwd)
    return await run_proc(spec.run, child, ppid=proc.pid)
