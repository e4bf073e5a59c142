"""The harness's one error taxonomy.

Every error names its failure class (what a report does with it: a product regression is a bug
to file, a lost device or an infrastructure failure is not) and carries its evidence: the
serial, the command, the partial output, the time spent and the text of the underlying
exception. `from_exception()` maps everything adbutils and the sockets under it really raise
(shared/reference/adb-protocol.md section 4.3) onto these classes.
"""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, ClassVar

from adbutils.errors import AdbConnectionError, AdbError, AdbTimeout


class FailureClass(StrEnum):
    PRODUCT = "product"                     # the device did something wrong: a bug to file
    DEVICE_LOST = "device-lost"             # the device went away (offline, gone, rebooted under us)
    TIMEOUT = "timeout"                     # the device did not answer in time
    INFRASTRUCTURE = "infrastructure"       # adb server, host, transport: not the product's fault
    BAD_CONFIGURATION = "bad-configuration"  # the user asked for something that cannot work


_SHOWN_OUTPUT = 2000   # characters of partial output kept in an error's text (evidence keeps all)


@dataclass(frozen=True)
class Evidence:
    serial: str | None = None
    command: str | None = None
    stdout: str = ""
    stderr: str = ""
    exit_status: int | None = None
    elapsed: float | None = None        # seconds spent before the error
    device_state: str | None = None     # state seen by the adb server after the failure
    cause: str | None = None            # "AdbError: device offline"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = []
        for name in ("serial", "command", "exit_status", "device_state", "cause"):
            value = getattr(self, name)
            if value is not None:
                out.append(f"{name}: {value}")
        if self.elapsed is not None:
            out.append(f"elapsed: {self.elapsed:.3f}s")
        for name in ("stdout", "stderr"):
            text = getattr(self, name)
            if text:
                shown = text if len(text) <= _SHOWN_OUTPUT else "..." + text[-_SHOWN_OUTPUT:]
                out.append(f"{name}: {shown!r}")
        return out


class HarnessError(Exception):
    failure_class: ClassVar[FailureClass] = FailureClass.INFRASTRUCTURE

    def __init__(self, message: str, evidence: Evidence | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = replace(evidence or Evidence(), **fields)

    def with_evidence(self, **fields: Any) -> HarnessError:
        """The same error with more evidence (fields already known are kept unless given)."""
        return type(self)(self.message, replace(self.evidence, **fields))

    def __str__(self) -> str:
        details = self.evidence.lines()
        return self.message if not details else self.message + "\n  " + "\n  ".join(details)

    def as_dict(self) -> dict[str, Any]:
        """What a report records: the class, its failure class, the message and the evidence."""
        return {"error": type(self).__name__, "failure_class": str(self.failure_class),
                "message": self.message, **self.evidence.as_dict()}


class BadConfiguration(HarnessError):
    """An option, a profile or an environment value that cannot work; the message says which."""
    failure_class = FailureClass.BAD_CONFIGURATION


class AdbServerError(HarnessError):
    """The adb server is unreachable or answered something that is not the adb protocol."""
    failure_class = FailureClass.INFRASTRUCTURE


class ShellProtocolError(HarnessError):
    """The shell's output could not be parsed (e.g. text after the v1 exit marker)."""
    failure_class = FailureClass.INFRASTRUCTURE


class DeviceUnavailable(HarnessError):
    """Base of the errors that mean "the device is not there to talk to"."""
    failure_class = FailureClass.DEVICE_LOST


class DeviceNotFound(DeviceUnavailable):
    """The adb server does not know this serial (never connected, or removed after a drop)."""


class DeviceOffline(DeviceUnavailable):
    """The adb server lists the device, but offline: no command can start."""


class DeviceLost(DeviceUnavailable):
    """The device went away while a command was running (its stream ended without an exit status)."""


class DeviceUnauthorized(DeviceUnavailable):
    """The device refuses this host's adb key: fix the farm's keys, not the product."""
    failure_class = FailureClass.INFRASTRUCTURE


class CommandTimeout(HarnessError):
    """A command or a wait did not finish within its timeout; evidence holds the partial output."""
    failure_class = FailureClass.TIMEOUT


class BootTimeout(CommandTimeout):
    """The device did not go down / come back / report sys.boot_completed=1 in time."""


class CommandFailed(HarnessError):
    """A command run with check=True exited non-zero."""
    failure_class = FailureClass.PRODUCT


class RootUnavailable(HarnessError):
    """Neither adbd as root nor `su` works on this device: a suite that needs root cannot run."""
    failure_class = FailureClass.BAD_CONFIGURATION


_NOT_FOUND = re.compile(r"device '([^']*)' not found|no such device|no devices/emulators found")


def _from_adb_error_text(text: str) -> tuple[type[HarnessError], str]:
    """Error class and message for the text of an AdbError (what the adb server or adbutils said)."""
    if text == "device offline":
        return DeviceOffline, "device offline"
    if _NOT_FOUND.search(text):
        return DeviceNotFound, "device not found by the adb server"
    if text.startswith("device unauthorized"):
        return DeviceUnauthorized, "device unauthorized: it does not accept this adb server's key"
    if text == "closed":
        # The device refused the service, or the transport closed while the OPEN was pending.
        return DeviceLost, "device closed the stream before it opened"
    if text == "shell output invalid":
        return DeviceLost, "shell stream ended before the exit status"
    if text in ("", "Invalid sync cmd", "read chunk missing"):
        return DeviceLost, "file transfer stream ended early"
    if text.startswith("more than one device"):
        return BadConfiguration, "more than one device: name one with a serial"
    if text == "connection closed" or text.startswith("Unknown data"):
        return AdbServerError, "adb server closed the connection or answered out of protocol"
    return HarnessError, f"adb error: {text}"


def from_exception(exc: BaseException, **fields: Any) -> HarnessError:
    """The taxonomy's error for an exception raised by adbutils or the socket under it.

    `fields` are evidence the caller knows (serial, command, partial output, elapsed); the
    exception's own text is added as `cause`.
    """
    if isinstance(exc, HarnessError):
        return exc.with_evidence(**fields) if fields else exc
    fields.setdefault("cause", f"{type(exc).__name__}: {exc}")
    kind: type[HarnessError]
    if isinstance(exc, AdbTimeout):
        text = str(exc)
        if "adb server" in text:
            kind, message = AdbServerError, "adb server did not accept the connection in time"
        else:
            kind, message = CommandTimeout, "no answer before the timeout"
    elif isinstance(exc, AdbConnectionError):
        kind, message = AdbServerError, "adb server unreachable"
    elif isinstance(exc, AdbError):
        text = str(exc.args[0]) if exc.args else ""
        kind, message = _from_adb_error_text(text)
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        kind, message = CommandTimeout, "no answer before the timeout"
    elif isinstance(exc, ConnectionRefusedError):
        kind, message = AdbServerError, "adb server refused the connection"
    elif isinstance(exc, (EOFError, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        kind, message = DeviceLost, "connection dropped in the middle of an exchange"
    elif isinstance(exc, (struct.error, AssertionError)):
        # adbutils' sync code unpacks/asserts on replies that a dropped stream cut short.
        kind, message = DeviceLost, "file transfer reply cut short"
    elif isinstance(exc, ValueError):
        kind, message = ShellProtocolError, "shell output could not be parsed"
    elif isinstance(exc, OSError):
        kind, message = AdbServerError, "socket error talking to the adb server"
    else:
        kind, message = HarnessError, f"unexpected {type(exc).__name__}"
    return kind(message, **fields)


# What adbutils and its sockets raise on the failure paths listed in adb-protocol.md 4.3.
ADB_EXCEPTIONS: tuple[type[BaseException], ...] = (
    AdbError, EOFError, OSError, struct.error, AssertionError, ValueError)
