"""Device: one Android device behind an adb server, where every call has a deadline.

`run()` speaks the adb host protocol itself: one connection to the adb server per command,
switched to the device's transport (`host:transport:SERIAL`), then `shell,v2,raw:CMD`; it sends
close-stdin, so a command that reads stdin gets EOF, and reads the stream with the time left as
the socket timeout, so the deadline bounds the whole call, not each recv (adbutils' timeouts are
per recv). On the deadline it closes the stream, which makes adbd stop the command (SIGHUP).
The connection for the next command is opened while the device works on this one
(harness.adb_host.TransportConnections: a stale one is recognised before anything is sent on it),
which takes a connect and a round trip to the server off each command's critical path.

Why not one long-lived `sh` per device fed commands on stdin (measured, bench/README.md): on
the virtual device it is slower (the wrapper each command needs, a subshell, `eval` and two end
markers, costs more than the stream it saves), and on a real device it changes what a command
sees: mksh reading a script from stdin prefixes errors with `<stdin>[N]:` and shares `$$`/`$0`,
a background job keeps writing into the next command's output, and on close adbd SIGHUPs only
the session's shell (shell_service.cpp), so a timed-out command would keep running.

It never restarts a dead adb server behind the user's back (adbutils runs `adb start-server`,
on 5037 unless the environment names a port): a dead server is an infrastructure error.
File transfer uses adbutils' sync (through harness.adb_server's client that never starts a
server) with a socket timeout, in a worker thread with a deadline.
"""

from __future__ import annotations

import re
import shlex
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from functools import cached_property
from os import PathLike
from typing import Any, Callable, Iterable, Literal, TypeVar

import adbutils

from harness.adb_host import Deadline, HostConnection, TransportConnections
from harness.adb_server import AdbServer, PrivateAdbClient
from harness.errors import (ADB_EXCEPTIONS, AdbServerError, BootTimeout, CommandFailed, CommandTimeout,
                            DeviceLost, DeviceNotFound, DeviceUnauthorized, DeviceUnavailable, HarnessError,
                            RootUnavailable, ShellProtocolError, from_exception)
from harness.parsers.getprop import parse_getprop

DEFAULT_TIMEOUT = 30.0       # a shell command (getprop, ip, ndc, dumpsys)
TRANSFER_TIMEOUT = 180.0     # push / pull
BOOT_TIMEOUT = 120.0         # reboot or container restart until sys.boot_completed=1
ROOT_TIMEOUT = 30.0          # `adb root`: adbd restarts, the transport drops and comes back

_POLL_S = 0.1                # how often waits look at the adb server's device list
_RECONNECT_AFTER_S = 1.0     # offline this long: reconnect a TCP device ourselves (server retries every 3 s)
_ROOT_DROP_WAIT_S = 3.0      # how long a "restarting" adbd may take to drop the transport
_PROBE_S = 2.0               # diagnosis after a failure (what state is the device in?)
_MAX_COMMAND_BYTES = 60000   # the host protocol's 4-hex-digit length, with room for our wrapping
_CLOSE_STDIN = b"\x04\x00\x00\x00\x00"   # shell v2 packet: id 4 (close-stdin), length 0

_TCP_SERIAL = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$")
_PROP_NAME = re.compile(r"^[A-Za-z0-9_.:@-]+$")
_SU_FORMS = ("su 0 sh -c {}", "su -c {}")   # AOSP userdebug su / SuperSU-Magisk style

ShellProtocol = Literal["auto", "v2", "v1"]
T = TypeVar("T")


@dataclass(frozen=True)
class CommandResult:
    cmd: str
    exit_status: int
    stdout: str
    stderr: str               # always "" on devices without shell_v2 (v1 merges it into stdout)
    duration: float
    serial: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def text(self) -> str:
        """stdout without its trailing newline(s), as `adb shell` prints it."""
        return self.stdout.rstrip()


@dataclass(frozen=True)
class BuildInfo:
    model: str
    release: str
    sdk: int
    fingerprint: str
    build_type: str


def command_line(cmd: str | Iterable[str]) -> str:
    """A shell command line: a string is used as written, list items are quoted one by one."""
    if isinstance(cmd, str):
        return cmd
    parts = list(cmd)
    if not parts or not all(isinstance(p, str) for p in parts):
        raise TypeError(f"command must be a string or a non-empty list of strings, got {cmd!r}")
    return shlex.join(parts)


def is_tcp_serial(serial: str) -> bool:
    """`host:port` serials are `adb connect` devices: they can be reconnected."""
    return bool(_TCP_SERIAL.match(serial))


# -- shell output ------------------------------------------------------------------------------

class _ShellV2Decoder:
    """Shell protocol v2 packets (id u8, length u32 LE, payload) -> stdout, stderr, exit status."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.exit_status: int | None = None

    @property
    def done(self) -> bool:
        return self.exit_status is not None

    def feed(self, data: bytes) -> None:
        self._buf += data
        while not self.done and len(self._buf) >= 5:
            length = int.from_bytes(self._buf[1:5], "little")
            if len(self._buf) < 5 + length:
                return
            kind, payload = self._buf[0], bytes(self._buf[5:5 + length])
            del self._buf[:5 + length]
            if kind == 1:
                self.stdout += payload
            elif kind == 2:
                self.stderr += payload
            elif kind == 3:
                self.exit_status = payload[0] if payload else 255

    def finish(self) -> None:
        """End of stream: nothing more to decode (no exit packet means the device went away)."""


class _ShellV1Decoder:
    """Shell v1: merged output, exit status from a marker echoed after the command (`$?`)."""

    def __init__(self, marker: str) -> None:
        self._marker = marker.encode()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.exit_status: int | None = None
        self.done = False               # v1 has no exit packet: read to EOF

    def feed(self, data: bytes) -> None:
        self.stdout += data

    def finish(self) -> None:
        at = self.stdout.rfind(self._marker)
        if at < 0:
            return
        tail = bytes(self.stdout[at + len(self._marker):])
        del self.stdout[at:]
        self.exit_status = int(tail.strip())      # ValueError -> ShellProtocolError


# -- the device ---------------------------------------------------------------------------------

class Device:
    def __init__(self, serial: str, adb: AdbServer | adbutils.AdbClient, *,
                 default_timeout: float = DEFAULT_TIMEOUT, profile: str | None = None,
                 shell_protocol: ShellProtocol = "auto") -> None:
        if not serial or any(c.isspace() for c in serial):
            raise ValueError(f"serial must be a non-empty string without spaces, got {serial!r}")
        if shell_protocol not in ("auto", "v2", "v1"):
            raise ValueError(f"shell_protocol must be 'auto', 'v2' or 'v1', got {shell_protocol!r}")
        self.serial = serial
        self.host, self.port = adb.host, int(adb.port)      # the adb server this device is behind
        self.default_timeout = default_timeout
        self.profile = profile
        self._shell_protocol = shell_protocol
        self._features: frozenset[str] | None = None   # of the current transport connection
        self._su_form: str | None = None               # root through su instead of adbd
        self._transport = TransportConnections(self.host, self.port, serial)
        weakref.finalize(self, self._transport.drop_spare)

    def close(self) -> None:
        """Close the spare connection kept for the next command (a later call opens one again)."""
        self._transport.drop_spare()

    def __repr__(self) -> str:
        return f"Device({self.serial!r}, adb={self.host}:{self.port})"

    @property
    def is_tcp(self) -> bool:
        return is_tcp_serial(self.serial)

    # -- commands ---------------------------------------------------------------------------
    def run(self, cmd: str | Iterable[str], timeout: float | None = None, check: bool = False) -> CommandResult:
        """Run a shell command; the timeout (default_timeout if None) bounds the whole call."""
        result = self._run(command_line(cmd), Deadline(self._budget(timeout)))
        if check and not result.ok:
            raise CommandFailed(f"command exited with status {result.exit_status}", serial=self.serial,
                                command=result.cmd, exit_status=result.exit_status, stdout=result.stdout,
                                stderr=result.stderr, elapsed=result.duration)
        return result

    def shell(self, cmd: str | Iterable[str], timeout: float | None = None, check: bool = True) -> str:
        """stdout of a command (trailing newline stripped); CommandFailed on a non-zero exit."""
        return self.run(cmd, timeout=timeout, check=check).text

    def _budget(self, timeout: float | None) -> float:
        budget = self.default_timeout if timeout is None else timeout
        if not budget > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        return budget

    def _run(self, command: str, deadline: Deadline) -> CommandResult:
        if "\0" in command or len(command.encode()) > _MAX_COMMAND_BYTES:
            raise ValueError(f"command must have no NUL and at most {_MAX_COMMAND_BYTES} bytes "
                             f"(push a script for longer ones), got {len(command.encode())} bytes")
        decoder: _ShellV2Decoder | _ShellV1Decoder = _ShellV2Decoder()
        on_device = command if self._su_form is None else self._su_form.format(shlex.quote(command))
        try:
            if self._uses_shell_v2(deadline):
                service = f"shell,v2,raw:{on_device}"
            else:
                marker = f"__HARNESS_EXIT_{time.monotonic_ns() & 0xFFFFFFFF:08x}__:"
                decoder = _ShellV1Decoder(marker)
                # A subshell, so that `exit N` in the command still reaches the marker; a v1
                # stream's stdin is a pty that cannot be closed, hence /dev/null.
                service = f"shell:({on_device}\n) </dev/null; echo {marker}$?"
            with self._open(service, deadline) as conn:
                if isinstance(decoder, _ShellV2Decoder):
                    conn.send(_CLOSE_STDIN)      # a command reading stdin gets EOF, as `adb shell` gives it
                while not decoder.done and (data := conn.recv()):
                    decoder.feed(data)
            decoder.finish()
        except ADB_EXCEPTIONS as e:
            error = from_exception(e, **self._evidence(command, decoder, deadline))
            if isinstance(error, CommandTimeout):
                error = CommandTimeout(f"command did not finish within {deadline.budget:g}s "
                                       "(stream closed, the device stops the command)", error.evidence)
            elif isinstance(error, ShellProtocolError):
                error = ShellProtocolError("text after the shell v1 exit marker", error.evidence)
            raise self._diagnosed(error) from e
        if decoder.exit_status is None:
            raise self._diagnosed(DeviceLost("shell stream ended without an exit status",
                                             **self._evidence(command, decoder, deadline)))
        return CommandResult(cmd=command, exit_status=decoder.exit_status, stdout=_text(decoder.stdout),
                             stderr=_text(decoder.stderr), duration=deadline.elapsed(), serial=self.serial)

    def _evidence(self, command: str, decoder: Any, deadline: Deadline) -> dict[str, Any]:
        return {"serial": self.serial, "command": command, "stdout": _text(decoder.stdout),
                "stderr": _text(decoder.stderr), "elapsed": deadline.elapsed()}

    def _diagnosed(self, error: HarnessError) -> HarnessError:
        """Add what the adb server says about the device now; a dead server is the real cause."""
        if isinstance(error, AdbServerError):
            return self._server_or_device(error)
        if not isinstance(error, (DeviceUnavailable, CommandTimeout)):
            return error
        if isinstance(error, DeviceUnavailable):
            self._forget_connection()
        try:
            state = self._state(Deadline(_PROBE_S))
        except AdbServerError as e:
            return AdbServerError(f"adb server at {self.host}:{self.port} stopped answering",
                                  error.evidence, cause=e.evidence.cause)
        except HarnessError:
            return error
        return error.with_evidence(device_state=state)

    def _server_or_device(self, error: AdbServerError) -> HarnessError:
        """The server closes a client's connection without a word when the device's transport
        drops under it (a reboot, a container restart). If the server still answers, the device
        went away, not the server."""
        try:
            state = self._state(Deadline(_PROBE_S))
        except HarnessError:
            return error
        self._forget_connection()
        return DeviceLost(f"{self.serial}: the adb server closed the stream; the device is now {state}",
                          error.evidence, device_state=state)

    def _open(self, service: str, deadline: Deadline) -> HostConnection:
        conn = self._transport.open(deadline)
        try:
            conn.request(service)
        except BaseException:
            conn.close()
            raise
        self._transport.prepare_spare(deadline)     # while the device works on this one
        return conn

    def _host_query(self, request: str, deadline: Deadline) -> str:
        with HostConnection.open(self.host, self.port, deadline) as conn:
            conn.request(request)
            return conn.read_block()

    def _uses_shell_v2(self, deadline: Deadline) -> bool:
        if self._shell_protocol != "auto":
            return self._shell_protocol == "v2"
        if self._features is None:
            text = self._host_query(f"host-serial:{self.serial}:features", deadline)
            self._features = frozenset(f for f in text.strip().split(",") if f)
        return "shell_v2" in self._features

    def _forget_connection(self) -> None:
        """The transport dropped: what we cached about it (features) may have changed, and the
        spare connection belongs to the old transport."""
        self._features = None
        self._transport.drop_spare()

    def _call(self, what: str, deadline: Deadline, fn: Callable[[], T]) -> T:
        """Run a host-side step, mapping adbutils/socket exceptions to the taxonomy."""
        try:
            return fn()
        except ADB_EXCEPTIONS as e:
            error = from_exception(e, serial=self.serial, command=what, elapsed=deadline.elapsed())
            raise self._diagnosed(error) from e

    # -- state ------------------------------------------------------------------------------
    def state(self, timeout: float = 5.0) -> str:
        """The adb server's state for this serial: "device", "offline", "unauthorized", ... or "absent"."""
        return self._state(Deadline(timeout))

    def _state(self, deadline: Deadline) -> str:
        try:
            listing = self._host_query("host:devices", deadline)
        except ADB_EXCEPTIONS as e:
            raise from_exception(e, serial=self.serial, command="host:devices",
                                 elapsed=deadline.elapsed()) from e
        for line in listing.splitlines():
            serial, _, state = line.partition("\t")
            if serial == self.serial:
                return state.strip()
        return "absent"

    # -- properties -------------------------------------------------------------------------
    def getprop(self, name: str, timeout: float | None = None) -> str:
        if not _PROP_NAME.match(name):
            raise ValueError(f"property name must match {_PROP_NAME.pattern}, got {name!r}")
        return self.run(["getprop", name], timeout=timeout, check=True).text

    def props(self, timeout: float | None = None) -> dict[str, str]:
        return dict(parse_getprop(self.run("getprop", timeout=timeout, check=True).stdout).properties)

    @cached_property
    def build(self) -> BuildInfo:
        """Model and Android version (read once: a build does not change under a running test)."""
        props = self.props()
        sdk = props.get("ro.build.version.sdk", "")
        return BuildInfo(model=props.get("ro.product.model", ""),
                         release=props.get("ro.build.version.release", ""),
                         sdk=int(sdk) if sdk.isdigit() else 0,
                         fingerprint=props.get("ro.build.fingerprint", ""),
                         build_type=props.get("ro.build.type", ""))

    # -- root -------------------------------------------------------------------------------
    def is_root(self, timeout: float | None = None) -> bool:
        return self._uid(Deadline(self._budget(timeout))) == 0

    def _uid(self, deadline: Deadline) -> int | None:
        result = self._run("id -u", deadline)
        return int(result.text) if result.ok and result.text.isdigit() else None

    def root(self, timeout: float = ROOT_TIMEOUT) -> None:
        """Make later commands run as uid 0: `adb root` (and wait for adbd to come back), else su.

        RootUnavailable when adbd cannot run as root and no form of su gives uid 0.
        """
        deadline = Deadline(timeout)
        answer = ""
        try:
            if self._uid(deadline) == 0:
                return
            answer = self._call("root:", deadline, lambda: self._service_text("root:", deadline))
            if "restarting" in answer:
                self._forget_connection()
                self._wait_until(lambda s: s != "device", Deadline(_ROOT_DROP_WAIT_S, deadline),
                                 give_up_quietly=True)
                self._wait_online(deadline)
            if self._uid(deadline) == 0:
                return
            for form in _SU_FORMS:
                self._su_form = form
                if self._uid(deadline) == 0:
                    return
                self._su_form = None
        except (socket.timeout, CommandTimeout) as e:
            evidence = e.evidence if isinstance(e, HarnessError) else None
            raise CommandTimeout(f"root did not complete within {timeout:g}s", evidence, serial=self.serial,
                                 command="root", elapsed=deadline.elapsed()) from e
        raise RootUnavailable(f"no root on {self.serial}: adbd answered {answer.strip()!r} and su does not "
                              "give uid 0", serial=self.serial, command="root:", elapsed=deadline.elapsed())

    def _service_text(self, service: str, deadline: Deadline) -> str:
        with self._open(service, deadline) as conn:
            return _text(conn.read_to_eof())

    # -- boot, reconnect ----------------------------------------------------------------------
    def wait_for_boot(self, timeout: float = BOOT_TIMEOUT, expect_restart: bool = False) -> None:
        """Wait until the device is online with sys.boot_completed=1.

        expect_restart: the device is about to go down (reboot, container restart): wait for
        the drop first, so that the still-running old boot is not mistaken for the new one.
        """
        deadline = Deadline(timeout)
        stage, last = "the device to go down", ""
        try:
            if expect_restart:
                self._wait_until(lambda s: s != "device", deadline)
                self._forget_connection()
            stage = "the device to come back online"
            self._wait_online(deadline)
            stage = "sys.boot_completed=1"
            while True:
                try:
                    last = self._run("getprop sys.boot_completed", Deadline(5.0, deadline)).text
                except (DeviceUnavailable, CommandTimeout):
                    deadline.remaining()
                    self._wait_online(deadline)
                    continue
                if last == "1":
                    return
                deadline.sleep(4 * _POLL_S)
        except (socket.timeout, CommandTimeout, DeviceLost) as e:
            state = self._probe_state()
            raise BootTimeout(f"{self.serial} did not boot within {timeout:g}s: still waiting for {stage}",
                              serial=self.serial, command="wait_for_boot", elapsed=deadline.elapsed(),
                              device_state=state, stdout=last, cause=f"{type(e).__name__}: {e}".splitlines()[0]) from e

    def reconnect(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Bring the transport back: for host:port devices `adb disconnect` then `adb connect`
        until it answers `connected to`; other devices can only be waited for."""
        deadline = Deadline(timeout)
        self._forget_connection()
        answer = ""
        try:
            if self.is_tcp:
                while not (answer := self._reconnect_once(deadline)).startswith(("connected to",
                                                                                 "already connected to")):
                    deadline.sleep(2 * _POLL_S)
            self._wait_online(deadline)
        except (socket.timeout, CommandTimeout) as e:
            raise DeviceLost(f"{self.serial} did not come back within {timeout:g}s", serial=self.serial,
                             command="reconnect", elapsed=deadline.elapsed(), stdout=answer,
                             device_state=self._probe_state()) from e

    def _reconnect_once(self, deadline: Deadline) -> str:
        """disconnect + connect (devlib's rule: a stale transport makes `connect` say "already")."""
        try:
            self._host_query(f"host:disconnect:{self.serial}", deadline)
        except adbutils.AdbError as e:
            error = from_exception(e, serial=self.serial, command="disconnect")
            if not isinstance(error, DeviceNotFound):      # "no such device": nothing to disconnect
                raise self._diagnosed(error) from e
        answer = self._call("connect", deadline, lambda: self._host_query(f"host:connect:{self.serial}", deadline))
        if answer.startswith("failed to authenticate"):
            raise DeviceUnauthorized(f"{self.serial} refuses this adb server's key", serial=self.serial,
                                     command="connect", stdout=answer)
        return answer

    def _wait_until(self, condition: Callable[[str], bool], deadline: Deadline,
                    give_up_quietly: bool = False) -> str:
        """Poll the server's state until condition(state); socket.timeout at the deadline."""
        while True:
            state = self._state(deadline)
            if condition(state):
                return state
            if give_up_quietly and deadline.left() <= _POLL_S:
                return state
            deadline.sleep(_POLL_S)

    def _wait_online(self, deadline: Deadline) -> None:
        """Until the state is "device"; TCP devices offline or gone for a while get reconnected."""
        down_since: float | None = None
        while True:
            state = self._state(deadline)
            if state == "device":
                return
            if state == "unauthorized":
                raise DeviceUnauthorized(f"{self.serial} refuses this adb server's key", serial=self.serial)
            down_since = down_since or time.monotonic()
            if self.is_tcp and time.monotonic() - down_since >= _RECONNECT_AFTER_S:
                self._reconnect_once(deadline)
            deadline.sleep(_POLL_S)

    def _probe_state(self) -> str | None:
        try:
            return self._state(Deadline(_PROBE_S))
        except HarnessError:
            return None

    # -- files ------------------------------------------------------------------------------
    def push(self, local: str | PathLike[str] | bytes, remote: str, *, mode: int = 0o644,
             timeout: float = TRANSFER_TIMEOUT) -> int:
        """Copy a local file (or bytes) to the device; returns the size sent."""
        return self._sync(f"push {remote}", timeout, lambda sync: sync.push(local, remote, mode=mode))

    def pull(self, remote: str, local: str | PathLike[str], *, timeout: float = TRANSFER_TIMEOUT) -> int:
        """Copy a device file to a local path; returns its size."""
        def pull_file(sync: adbutils.Sync) -> int:
            if sync.stat(remote).mode == 0:
                raise CommandFailed(f"{remote}: no such file on {self.serial}", serial=self.serial,
                                    command=f"pull {remote}")
            return sync.pull_file(remote, local)
        return self._sync(f"pull {remote}", timeout, pull_file)

    def _sync(self, what: str, timeout: float, operation: Callable[[adbutils.Sync], int]) -> int:
        deadline = Deadline(timeout)
        # Every recv bounded by the socket timeout; never starts a server (adbutils would).
        sync = adbutils.AdbDevice(PrivateAdbClient(self.host, self.port, timeout), self.serial).sync
        outcome: dict[str, Any] = {}

        def worker() -> None:
            try:
                outcome["value"] = operation(sync)
            except BaseException as e:            # handed over to the caller's thread
                outcome["error"] = e

        thread = threading.Thread(target=worker, name=f"sync {self.serial}", daemon=True)
        thread.start()
        thread.join(deadline.left())
        if thread.is_alive():
            # The worker's socket timeout ends it later; the caller does not wait for that.
            raise self._diagnosed(CommandTimeout(f"{what} did not finish within {timeout:g}s",
                                                 serial=self.serial, command=what, elapsed=deadline.elapsed()))
        if "error" in outcome:
            e = outcome["error"]
            if isinstance(e, HarnessError):
                raise e
            if isinstance(e, ADB_EXCEPTIONS):
                raise self._diagnosed(from_exception(e, serial=self.serial, command=what,
                                                     elapsed=deadline.elapsed())) from e
            raise e
        return outcome["value"]


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")
