"""The virtual device's /system/bin/sh: runs a command line as mksh would for `sh -c`.

Entry point: `run_command_line(device, cmdline, stdin, stdout, stderr, uid=...)` (what adbd calls).
Commands run as processes of their own (execution.py); pipeline stages run concurrently and
stream through `streams.Pipe`; waiting is always device time (`Proc.sleep`); cancellation (the
client went away) propagates to every foreground child.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

from harness.sim.fs import FsError, normalize
from harness.sim.shell.api import BufferOutput, Input, Output, Proc
from harness.sim.shell.control import FunctionReturn, LoopControl, ShellExit
from harness.sim.shell.execution import (IN_PROCESS, SH, SIGPIPE_STATUS, find_command,
                                         guarded, install_commands, load_commands,
                                         not_found_message, run_proc)
from harness.sim.shell.expand import ExpansionError, expand_pattern, expand_word, expand_words
from harness.sim.shell.jobs import ShellProcess, shell_processes, user_name
from harness.sim.shell.nodes import (AndOr, Case, Command, For, FunctionDef, Group, If,
                                     ListItem, Pipeline, Redirect, Sequence, SimpleCommand,
                                     Subshell, While)
from harness.sim.shell.parser import Parser, ShellSyntaxError, parse_lines
from harness.sim.shell import patterns
from harness.sim.shell.redirects import BadDescriptor, open_redirect
from harness.sim.shell.streams import BrokenPipe, NullOutput, Pipe, SessionOutput, empty_input

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

log = logging.getLogger(__name__)

Stream = Input | Output


# ==== entry point ================================================================================
async def run_command_line(device: "VirtualDevice", cmdline: str, stdin: Input, stdout: Output,
                           stderr: Output, *, uid: int) -> int:
    """Run `cmdline` as `/system/bin/sh -c cmdline` (an empty one: a login shell on stdin)."""
    load_commands()
    install_commands(device)
    out, err = SessionOutput(stdout), SessionOutput(stderr)
    table = shell_processes(device)
    adbd = device.processes.find("adbd")
    me = table.spawn("sh", uid=uid, ppid=adbd.pid if adbd else 1, task=asyncio.current_task())
    shell = Shell(device, uid=uid, env=session_environment(device, uid), pid=me.pid)
    io = IO({0: stdin, 1: out, 2: err})
    status = 0
    try:
        if cmdline.strip():
            status = await shell.run_text(cmdline, io)
        else:
            status = await shell.run_interactive(io)
    except asyncio.CancelledError:
        if me.killed_by is None:          # the client went away: let adbd see it
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    finally:
        out.closed = err.closed = True
        table.exit(me)
    return status if me.killed_by is None else 128 + me.killed_by   # `kill` hit this shell


@dataclass(frozen=True)
class CapturedRun:
    status: int
    stdout: str
    stderr: str


async def run_captured(device: "VirtualDevice", cmdline: str, *, uid: int = 2000,
                       stdin: bytes = b"") -> CapturedRun:
    """Run a command line with stdout and stderr collected apart (tests, control channel)."""
    out, err = BufferOutput(), BufferOutput()
    status = await run_command_line(device, cmdline, Input.of(stdin), out, err, uid=uid)
    return CapturedRun(status, bytes(out.data).decode("utf-8", "replace"),
                       bytes(err.data).decode("utf-8", "replace"))


def session_environment(device: "VirtualDevice", uid: int) -> dict[str, str]:
    """The environment adbd gives its shell (init.environ.rc plus adbd's user variables)."""
    user = user_name(uid)
    if device.sdk >= 29:
        path = ("/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:"
                "/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin")
    else:
        path = "/sbin:/system/sbin:/system/bin:/system/xbin:/vendor/bin:/vendor/xbin"
    return {
        "PATH": path,
        "ANDROID_ROOT": "/system",
        "ANDROID_DATA": "/data",
        "ANDROID_STORAGE": "/storage",
        "EXTERNAL_STORAGE": "/sdcard",
        "ASEC_MOUNTPOINT": "/mnt/asec",
        "ANDROID_ASSETS": "/system/app",
        "HOME": "/",
        "LOGNAME": user,
        "SHELL": SH,
        "USER": user,
        "TMPDIR": "/data/local/tmp",
    }


async def run_shell_proc(proc: Proc, text: str | None, *, arg0: str = SH,
                         args: list[str] | None = None, options: str = "") -> int:
    """`sh -c text` (or a script's text) as the process `proc`; None reads commands from stdin."""
    shell = Shell(proc.device, uid=proc.uid, env=dict(proc.env), pid=proc.pid, cwd=proc.cwd,
                  arg0=arg0, positional=list(args or []))
    shell.options.update(options)
    io = IO({0: proc.stdin, 1: proc.stdout, 2: proc.stderr})
    if text is None:
        return await shell.run_script_stream(io)
    return await shell.run_text(text, io)


@dataclass
class IO:
    """The open file descriptors of a command (0, 1, 2 and any other a redirection made)."""
    fds: dict[int, Stream]

    @property
    def stdin(self) -> Input:
        stream = self.fds.get(0)
        return stream if isinstance(stream, Input) else empty_input()

    @property
    def stdout(self) -> Output:
        return self._output(1)

    @property
    def stderr(self) -> Output:
        return self._output(2)

    def _output(self, fd: int) -> Output:
        stream = self.fds.get(fd)
        return NullOutput() if stream is None or isinstance(stream, Input) else stream

    def copy(self) -> "IO":
        return IO(dict(self.fds))

    def err(self, text: str) -> None:
        self.stderr.write(text.encode("utf-8", "surrogateescape"))

    def out(self, text: str) -> None:
        self.stdout.write(text.encode("utf-8", "surrogateescape"))


ShellBuiltin = Callable[["Shell", list[str], IO], Awaitable[int]]


# ==== the shell ==================================================================================
class Shell:
    def __init__(self, device: "VirtualDevice", *, uid: int, env: dict[str, str], pid: int,
                 cwd: str = "/", arg0: str = SH, positional: list[str] | None = None) -> None:
        self.device = device
        self.uid = uid
        self.pid = pid
        self.cwd = cwd
        self.arg0 = arg0
        self.positional = list(positional or [])
        self.vars: dict[str, str] = dict(env)
        self.exported: set[str] = set(env)
        self.vars.setdefault("IFS", " \t\n")
        self.vars["PWD"] = cwd
        self.vars["PPID"] = str(self._parent_pid())
        self.functions: dict[str, Command] = {}
        self.options: set[str] = set()
        self.status = 0
        self.last_background_pid: int | None = None
        self.jobs: list[ShellProcess] = []
        self.boot = device.boot_count
        self._random: random.Random | None = None     # $RANDOM, seeded by the pid when first read
        self.local_frames: list[dict[str, str | None]] = []
        self._condition_depth = 0
        self._substitution_status: int | None = None
        self._checkpoints = 0

    def _parent_pid(self) -> int:
        me = shell_processes(self.device).get(self.pid)
        return me.ppid if me is not None else 1

    def subshell(self) -> "Shell":
        """A copy that can change nothing of this shell ( `( )`, pipeline stages, `$( )`)."""
        sub = Shell.__new__(Shell)
        sub.__dict__.update(self.__dict__)
        sub.vars = dict(self.vars)
        sub.exported = set(self.exported)
        sub.positional = list(self.positional)
        sub.functions = dict(self.functions)
        sub.options = set(self.options)
        sub.jobs = []
        sub.local_frames = []
        sub._substitution_status = None
        return sub

    # -- variables ------------------------------------------------------------------------------
    def get_var(self, name: str) -> str | None:
        return self.vars.get(name)

    def set_var(self, name: str, value: str) -> None:
        self.vars[name] = value

    def unset_var(self, name: str) -> None:
        self.vars.pop(name, None)

    def option(self, flag: str) -> bool:
        return flag in self.options

    def param(self, name: str) -> str | None:
        """The value of $name (None when unset)."""
        if name == "?":
            return str(self.status)
        if name == "$":
            return str(self.pid)
        if name == "#":
            return str(len(self.positional))
        if name in ("@", "*"):
            return (self.vars.get("IFS", " ")[:1] if name == "*" else " ").join(self.positional)
        if name == "!":
            return str(self.last_background_pid) if self.last_background_pid else ""
        if name == "-":
            return "".join(sorted(self.options)) + "h"
        if name.isdigit():
            index = int(name)
            if index == 0:
                return self.arg0
            return self.positional[index - 1] if index <= len(self.positional) else None
        if name == "RANDOM":
            if self._random is None:
                self._random = random.Random(self.pid)
            return str(self._random.randrange(32768))
        if name == "SECONDS":
            return str(int(self.device.uptime()))
        return self.vars.get(name)

    def environment(self, overrides: list[tuple[str, str]] = ()) -> dict[str, str]:
        env = {name: self.vars[name] for name in self.vars if name in self.exported}
        env.update(overrides)
        return env

    # -- running text ---------------------------------------------------------------------------
    async def run_text(self, text: str, io: IO) -> int:
        """`sh -c text`: one line at a time; a syntax error ends the shell with status 1 once
        the lines before it have run."""
        lines, syntax_error = parse_lines(text)
        try:
            for line in lines:
                await self.run_sequence(line, io)
        except ShellExit as done:
            return done.status
        if syntax_error is not None:
            io.err(f"{SH}: {syntax_error}\n")
            return 1
        return self.status

    async def run_script_stream(self, io: IO) -> int:
        """`sh` with commands on stdin (`adb shell` + a script piped in, `su` without command)."""
        return await self._read_eval_loop(io, prompt=False)

    async def run_interactive(self, io: IO) -> int:
        """An interactive `adb shell`: prompts like Android's mkshrc, reads lines from stdin."""
        return await self._read_eval_loop(io, prompt=True)

    async def _read_eval_loop(self, io: IO, *, prompt: bool) -> int:
        pending = ""
        try:
            while True:
                if prompt and not pending:
                    io.err(self.prompt())
                line = await io.stdin.readline()
                if not line:
                    if pending.strip():
                        await self._run_chunk(pending, io)
                    return self.status
                pending += line.decode("utf-8", "surrogateescape")
                if await self._run_chunk(pending, io, partial_ok=True):
                    pending = ""
        except ShellExit as done:
            return done.status

    async def _run_chunk(self, text: str, io: IO, *, partial_ok: bool = False) -> bool:
        """Run `text` if it is complete; False when more lines are needed (open quote, if...)."""
        parser = Parser(text)
        lines: list[Sequence] = []
        try:
            while (line := parser.next_line()) is not None:
                lines.append(line)
        except ShellSyntaxError as err:
            message = str(err)
            if partial_ok and ("unmatched" in message or "EOF" in message
                               or "closing quote" in message or "unclosed" in message):
                return False
            io.err(f"{SH}: {message}\n")
            self.status = 1
            return True
        for line in lines:
            await self.run_sequence(line, io)
        return True

    def prompt(self) -> str:
        host = self.device.props.get("ro.product.device") or "localhost"
        status = f"{self.status}|" if self.status else ""
        return f"{status}{host}:{self.cwd} {'#' if self.uid == 0 else '$'} "

    # -- lists ----------------------------------------------------------------------------------
    async def run_sequence(self, seq: Sequence, io: IO) -> int:
        for item in seq.items:
            if item.background:
                self._start_background(item, io)
                self.status = 0
            else:
                self.status = await self.run_and_or(item.command, io)
        return self.status

    async def run_and_or(self, node: AndOr, io: IO) -> int:
        steps = [("", node.first), *node.rest]
        status = 0
        last_ran = 0
        for index, (op, pipeline) in enumerate(steps):
            if op == "&&" and status != 0 or op == "||" and status == 0:
                continue
            is_last = index == len(steps) - 1
            if not is_last:
                self._condition_depth += 1
            try:
                status = await self.run_pipeline(pipeline, io)
            finally:
                if not is_last:
                    self._condition_depth -= 1
            self.status = status
            last_ran = index
        last = steps[last_ran][1]
        if (status != 0 and self.option("e") and self._condition_depth == 0
                and last_ran == len(steps) - 1 and not last.negated):
            raise ShellExit(status)
        return status

    async def run_pipeline(self, pipeline: Pipeline, io: IO) -> int:
        commands = pipeline.commands
        if pipeline.negated:
            self._condition_depth += 1
        try:
            if len(commands) == 1:
                status = await self.run_command(commands[0], io)
            else:
                status = await self._run_stages(commands, io)
        finally:
            if pipeline.negated:
                self._condition_depth -= 1
        return (0 if status else 1) if pipeline.negated else status

    async def _run_stages(self, commands: tuple[Command, ...], io: IO) -> int:
        pipes = [Pipe() for _ in commands[1:]]

        async def stage(index: int, command: Command) -> int:
            stage_io = io.copy()
            if index > 0:
                stage_io.fds[0] = pipes[index - 1].reader
            if index < len(pipes):
                stage_io.fds[1] = pipes[index].writer
            try:
                return await self.subshell().run_isolated(command, stage_io)
            finally:
                if index < len(pipes):
                    pipes[index].close_writer()
                if index > 0:
                    pipes[index - 1].close_reader()

        tasks = [asyncio.ensure_future(stage(i, c)) for i, c in enumerate(commands)]
        try:
            statuses = await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
        return statuses[-1]

    async def run_isolated(self, command: Command, io: IO) -> int:
        """Run a command in this (sub)shell as a process of its own: exit only ends it."""
        try:
            return await self.run_command(command, io)
        except ShellExit as done:
            return done.status
        except (LoopControl, FunctionReturn):
            return self.status
        except BrokenPipe:
            return SIGPIPE_STATUS

    def _start_background(self, item: ListItem, io: IO) -> None:
        table = shell_processes(self.device)
        first = item.command.first.commands[0]
        name = "sh"
        if isinstance(first, SimpleCommand) and first.words and first.words[0].plain:
            name = posixpath.basename(first.words[0].plain)
        record = table.spawn(name, uid=self.uid, ppid=self.pid)
        job_io = io.copy()
        job_io.fds[0] = empty_input()            # non-interactive: background stdin is /dev/null
        sub = self.subshell()
        sub.pid = record.pid

        async def job() -> None:
            try:
                await sub.run_and_or(item.command, job_io)
            except (ShellExit, LoopControl, FunctionReturn, BrokenPipe):
                pass
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("background job failed")
            finally:
                table.exit(record)

        record.task = asyncio.ensure_future(job())
        self.jobs.append(record)
        self.last_background_pid = record.pid

    # -- commands -------------------------------------------------------------------------------
    async def run_command(self, command: Command, io: IO) -> int:
        try:
            if isinstance(command, SimpleCommand):
                return await self.run_simple(command, io)
            if isinstance(command, FunctionDef):
                self.functions[command.name] = command.body
                return 0
            redirected = await self.apply_redirects(command.redirects, io)
            if redirected is None:
                return 1
            if isinstance(command, Group):
                return await self.run_sequence(command.body, redirected)
            if isinstance(command, Subshell):
                sub = self.subshell()
                try:
                    return await sub.run_sequence(command.body, redirected)
                except ShellExit as done:
                    return done.status
            if isinstance(command, If):
                return await self._run_if(command, redirected)
            if isinstance(command, While):
                return await self._run_while(command, redirected)
            if isinstance(command, For):
                return await self._run_for(command, redirected)
            if isinstance(command, Case):
                return await self._run_case(command, redirected)
            raise TypeError(f"unknown command node {command!r}")
        except ExpansionError as err:
            io.err(f"{SH}: {err}\n")
            raise ShellExit(1) from None

    async def _condition(self, seq: Sequence, io: IO) -> int:
        self._condition_depth += 1
        try:
            return await self.run_sequence(seq, io)
        finally:
            self._condition_depth -= 1

    async def _run_if(self, node: If, io: IO) -> int:
        for cond, body in node.clauses:
            if await self._condition(cond, io) == 0:
                return await self.run_sequence(body, io)
        if node.orelse is not None:
            return await self.run_sequence(node.orelse, io)
        return 0

    async def _run_while(self, node: While, io: IO) -> int:
        status = 0
        while True:
            await self.checkpoint()
            cond = await self._condition(node.cond, io)
            if (cond == 0) == node.until:
                return status
            try:
                status = await self.run_sequence(node.body, io)
            except LoopControl as ctl:
                if ctl.levels > 1:
                    ctl.levels -= 1
                    raise
                if ctl.kind == "break":
                    return self.status
                status = self.status

    async def _run_for(self, node: For, io: IO) -> int:
        items = list(self.positional) if node.items is None else await expand_words(self, node.items, io)
        status = 0
        for value in items:
            await self.checkpoint()
            self.set_var(node.var, value)
            try:
                status = await self.run_sequence(node.body, io)
            except LoopControl as ctl:
                if ctl.levels > 1:
                    ctl.levels -= 1
                    raise
                if ctl.kind == "break":
                    return self.status
                status = self.status
        return status

    async def _run_case(self, node: Case, io: IO) -> int:
        subject = await expand_word(self, node.subject, io)
        falling = False
        status = 0
        for item in node.items:
            if not falling:
                for pattern in item.patterns:
                    if patterns.matches(await expand_pattern(self, pattern, io), subject):
                        falling = True
                        break
            if falling:
                status = await self.run_sequence(item.body, io) if item.body else 0
                if not item.fallthrough:
                    return status
        return status

    async def checkpoint(self) -> None:
        """Between commands: let other devices and sessions run; die with a rebooted device
        or of a signal this shell sent itself. The first command of a shell runs in the loop
        turn the shell started in (that turn was fresh already): a one-command line such as
        `true` then ends in one step, and its output leaves with the stream's OKAY."""
        self._checkpoints += 1
        if self._checkpoints > 1:
            await asyncio.sleep(0)
        if self.device.boot_count != self.boot or self.device.android is None:
            raise ShellExit(128 + 9)
        me = shell_processes(self.device).get(self.pid)
        if me is not None and me.killed_by is not None:
            raise ShellExit(128 + me.killed_by)

    async def run_simple(self, command: SimpleCommand, io: IO) -> int:
        await self.checkpoint()
        self._substitution_status = None
        if command.words and command.words[0].plain == "[[":
            return await self._run_double_bracket(command, io)
        words = await expand_words(self, command.words, io)
        assigns = [(a.name, await expand_word(self, a.value, io)) for a in command.assigns]
        if not words:
            for name, value in assigns:
                self.set_var(name, value)
            redirected = await self.apply_redirects(command.redirects, io)
            if redirected is None:
                return 1
            return self._substitution_status or 0
        if self.option("x"):
            io.err("+ " + " ".join(words) + "\n")
        redirected = await self.apply_redirects(command.redirects, io)
        if redirected is None:
            return 1
        if words == ["exec"]:            # `exec >file 2>&1`: the redirections stay for good
            io.fds.clear()
            io.fds.update(redirected.fds)
            return 0
        return await self.execute(words, redirected, assigns)

    async def execute(self, argv: list[str], io: IO, assigns: list[tuple[str, str]] = ()) -> int:
        """Run one expanded command: function, shell builtin or a command of the registry."""
        from harness.sim.shell.builtins import SHELL_BUILTINS, SPECIAL_BUILTINS
        name = argv[0]
        builtin = SHELL_BUILTINS.get(name)
        if builtin is not None and name in SPECIAL_BUILTINS:
            for var, value in assigns:
                self.set_var(var, value)
            return await builtin(self, argv, io)
        if name in self.functions:
            for var, value in assigns:
                self.set_var(var, value)
            return await self.call_function(name, argv[1:], io)
        if builtin is not None:
            return await builtin(self, argv, io)
        spec = find_command(self.device, name)
        if spec is not None and name in IN_PROCESS:
            proc = Proc(list(argv), io.stdin, io.stdout, io.stderr, self.device,
                        self.environment(assigns), self.uid, self.cwd, self.pid)
            return await guarded(spec.run, proc, own_process=False)
        return await self.run_external(argv, io, assigns)

    async def call_function(self, name: str, args: list[str], io: IO) -> int:
        saved = self.positional
        self.positional = list(args)
        self.local_frames.append({})
        try:
            return await self.run_command(self.functions[name], io)
        except FunctionReturn as ret:
            return ret.status
        finally:
            self.positional = saved
            for var, old in self.local_frames.pop().items():
                if old is None:
                    self.unset_var(var)
                else:
                    self.set_var(var, old)

    async def run_external(self, argv: list[str], io: IO, assigns: list[tuple[str, str]] = ()) -> int:
        spec = find_command(self.device, argv[0])
        if spec is None:
            return await self._run_path(argv, io, assigns)
        proc = Proc(list(argv), io.stdin, io.stdout, io.stderr, self.device,
                    self.environment(assigns), self.uid, self.cwd)
        return await run_proc(spec.run, proc, ppid=self.pid)

    async def _run_path(self, argv: list[str], io: IO, assigns: list[tuple[str, str]]) -> int:
        """A name that is no registered command: a script file on the device, or not found."""
        name = argv[0]
        path = normalize(name, self.cwd)
        stat = self.device.fs.stat(path) if "/" in name else None
        if stat is None or self.device.fs.isdir(path):
            io.err(not_found_message(self.device, name))
            return 127
        if not stat[0] & 0o111:
            io.err(f"{SH}: {name}: can't execute: Permission denied\n")
            return 126
        text = self.device.fs.read(path).decode("utf-8", "surrogateescape")
        proc = Proc([name, *argv[1:]], io.stdin, io.stdout, io.stderr, self.device,
                    self.environment(assigns), self.uid, self.cwd)
        return await run_proc(lambda p: run_shell_proc(p, text, arg0=name, args=argv[1:]), proc,
                              ppid=self.pid)

    async def _run_double_bracket(self, command: SimpleCommand, io: IO) -> int:
        from harness.sim.shell.testexpr import evaluate_double_bracket
        args = [await expand_word(self, w, io) for w in command.words[1:]]
        if args and args[-1] == "]]":
            args.pop()
        return evaluate_double_bracket(self, args, io)

    async def command_substitution(self, body: Sequence, io: IO) -> str:
        sub = self.subshell()
        buffer = BufferOutput()
        sub_io = io.copy()
        sub_io.fds[1] = buffer
        try:
            status = await sub.run_sequence(body, sub_io)
        except ShellExit as done:
            status = done.status
        except (LoopControl, FunctionReturn):
            status = sub.status
        self._substitution_status = status
        return bytes(buffer.data).decode("utf-8", "surrogateescape").rstrip("\n")

    # -- redirections ---------------------------------------------------------------------------
    async def apply_redirects(self, redirects: tuple[Redirect, ...], io: IO) -> IO | None:
        """The descriptors after `redirects`; None (message printed) when one fails."""
        if not redirects:
            return io
        result = io.copy()
        for redirect in redirects:
            if redirect.op == "<<":
                assert redirect.heredoc is not None
                body = redirect.heredoc.word
                text = body.parts[0].text if redirect.heredoc.literal and body.parts else \
                    await expand_word(self, body, io)
                result.fds[redirect.fd] = Input.of(text.encode("utf-8", "surrogateescape"))
                continue
            target = await expand_word(self, redirect.target, io)
            try:
                open_redirect(result.fds, redirect.op, redirect.fd, target,
                              fs=self.device.fs, cwd=self.cwd, uid=self.uid)
            except FsError as err:
                verb = "open" if redirect.op in ("<", "<>") else "create"
                io.err(f"{SH}: can't {verb} {target}: {err.strerror}\n")
                return None
            except BadDescriptor as err:
                io.err(f"{SH}: {err}\n")
                return None
        return result
