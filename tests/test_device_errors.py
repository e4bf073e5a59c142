"""The error taxonomy: every exception adbutils really raises (adb-protocol.md 4.3) maps to one class."""

from __future__ import annotations

import socket
import struct

import pytest
from adbutils.errors import AdbConnectionError, AdbError, AdbTimeout

from harness import errors
from harness.errors import FailureClass


def _struct_error() -> struct.error:
    try:
        struct.unpack("<III", b"")
    except struct.error as e:
        return e
    raise AssertionError("unreachable")


def _int_parse_error() -> ValueError:
    try:
        int(b"0\nlate stderr\n")
    except ValueError as e:
        return e
    raise AssertionError("unreachable")


CASES = [
    # (exception as adbutils raises it, expected class, expected failure class)
    (AdbError("device offline"), errors.DeviceOffline, FailureClass.DEVICE_LOST),
    (AdbError("device '127.0.0.1:6520' not found"), errors.DeviceNotFound, FailureClass.DEVICE_LOST),
    (AdbError("no such device '127.0.0.1:6521'"), errors.DeviceNotFound, FailureClass.DEVICE_LOST),
    (AdbError("closed"), errors.DeviceLost, FailureClass.DEVICE_LOST),
    (AdbError("device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set\nTry 'adb kill-server'"),
     errors.DeviceUnauthorized, FailureClass.INFRASTRUCTURE),
    (AdbError("shell output invalid", "echo hi; echo X4EXIT:$?", b"partial output\n"),
     errors.DeviceLost, FailureClass.DEVICE_LOST),
    (AdbError(""), errors.DeviceLost, FailureClass.DEVICE_LOST),                     # sync.push on a drop
    (AdbError("Invalid sync cmd", ""), errors.DeviceLost, FailureClass.DEVICE_LOST),  # sync.read_bytes
    (AdbError("more than one device/emulator"), errors.BadConfiguration, FailureClass.BAD_CONFIGURATION),
    (AdbError("connection closed"), errors.AdbServerError, FailureClass.INFRASTRUCTURE),
    (AdbError("Unknown data: b'HTTP'"), errors.AdbServerError, FailureClass.INFRASTRUCTURE),
    (AdbError("something new"), errors.HarnessError, FailureClass.INFRASTRUCTURE),
    (AdbTimeout("adb read timeout"), errors.CommandTimeout, FailureClass.TIMEOUT),
    (AdbTimeout("adb recv timeout"), errors.CommandTimeout, FailureClass.TIMEOUT),
    (AdbTimeout("connect to adb server timeout"), errors.AdbServerError, FailureClass.INFRASTRUCTURE),
    (AdbConnectionError("connect to adb server failed: [Errno 111] Connection refused"),
     errors.AdbServerError, FailureClass.INFRASTRUCTURE),
    (EOFError("Expected 5 bytes, got 0"), errors.DeviceLost, FailureClass.DEVICE_LOST),
    (ConnectionResetError(104, "Connection reset by peer"), errors.DeviceLost, FailureClass.DEVICE_LOST),
    (BrokenPipeError(32, "Broken pipe"), errors.DeviceLost, FailureClass.DEVICE_LOST),
    (socket.timeout("timed out"), errors.CommandTimeout, FailureClass.TIMEOUT),
    (TimeoutError("timed out"), errors.CommandTimeout, FailureClass.TIMEOUT),
    (ConnectionRefusedError(111, "Connection refused"), errors.AdbServerError, FailureClass.INFRASTRUCTURE),
    (_struct_error(), errors.DeviceLost, FailureClass.DEVICE_LOST),
    (AssertionError(), errors.DeviceLost, FailureClass.DEVICE_LOST),               # sync.stat on a drop
    (_int_parse_error(), errors.ShellProtocolError, FailureClass.INFRASTRUCTURE),
    (OSError(101, "Network is unreachable"), errors.AdbServerError, FailureClass.INFRASTRUCTURE),
]


@pytest.mark.parametrize("exc, kind, failure_class", CASES, ids=lambda v: repr(v)[:50])
def test_every_adbutils_exception_maps_to_one_class(exc, kind, failure_class):
    err = errors.from_exception(exc, serial="127.0.0.1:6520", command="ip link")
    assert type(err) is kind
    assert err.failure_class == failure_class
    assert err.evidence.serial == "127.0.0.1:6520"
    assert err.evidence.command == "ip link"
    assert err.evidence.cause == f"{type(exc).__name__}: {exc}"


def test_not_found_text_is_not_mistaken_for_offline():
    err = errors.from_exception(AdbError("device 'emulator-5554' not found"))
    assert isinstance(err, errors.DeviceNotFound)
    assert not isinstance(err, errors.DeviceOffline)


def test_evidence_is_shown_in_the_message_and_kept_whole():
    long_out = "x" * 5000
    err = errors.CommandTimeout("command did not finish in 1.0s", serial="s1", command="sleep 100",
                                stdout=long_out, elapsed=1.0)
    text = str(err)
    assert text.splitlines()[0] == "command did not finish in 1.0s"
    assert "  serial: s1" in text and "  command: sleep 100" in text and "  elapsed: 1.000s" in text
    assert len(text) < 3000                       # the message shows the tail only ...
    assert err.evidence.stdout == long_out        # ... the evidence keeps everything


def test_with_evidence_adds_fields_and_keeps_class():
    err = errors.from_exception(AdbError("device offline"), serial="s1")
    more = err.with_evidence(elapsed=0.5, device_state="offline")
    assert type(more) is errors.DeviceOffline
    assert (more.evidence.serial, more.evidence.elapsed, more.evidence.device_state) == ("s1", 0.5, "offline")


def test_from_exception_passes_harness_errors_through():
    original = errors.CommandFailed("exit 3", serial="s1", exit_status=3)
    assert errors.from_exception(original) is original
    assert errors.from_exception(original, elapsed=1.5).evidence.elapsed == 1.5


def test_as_dict_names_class_and_failure_class():
    err = errors.BootTimeout("sys.boot_completed never became 1", serial="s1", elapsed=60.0)
    d = err.as_dict()
    assert d["error"] == "BootTimeout"
    assert d["failure_class"] == "timeout"
    assert d["serial"] == "s1" and d["elapsed"] == 60.0


def test_hierarchy_lets_callers_catch_by_meaning():
    assert issubclass(errors.BootTimeout, errors.CommandTimeout)
    for kind in (errors.DeviceNotFound, errors.DeviceOffline, errors.DeviceLost, errors.DeviceUnauthorized):
        assert issubclass(kind, errors.DeviceUnavailable)
    for kind in (errors.CommandFailed, errors.RootUnavailable, errors.AdbServerError, errors.BadConfiguration):
        assert issubclass(kind, errors.HarnessError)
