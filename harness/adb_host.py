"""The adb host protocol as `Device` speaks it: a deadline for a whole call, one connection to the
adb server, and a spare connection per device already switched to its transport.

A command costs one connection to the adb server: connect, `host:transport:SERIAL` (a round trip
to the server), then the service request (a round trip to the device). `TransportConnections`
keeps one connection ready ahead of the next command: connected, with `host:transport:SERIAL`
already sent. The next command then only reads the server's answer (long since there) and sends
its service request; the spare for the command after it is opened while the device works.
Nothing on the device changes: every command is still its own stream and its own `sh -c`, so
exit status, separate stdout/stderr, stopping on close and state isolation are adbd's own.

Why a spare can be trusted, or recognised as stale before anything is sent on it:
- When a transport goes away (device offline, reboot, container restart, adbd restarting for
  `adb root`, `adb disconnect`), the adb server closes every client connection bound to it
  (adb's `close_all_sockets()`, run when a transport goes offline; observed with adb 36: a spare
  made before a container restart reads `OKAY` then end of stream).
- A spare opened while the device was offline or unknown holds the server's `FAIL`.
So a spare is used only if it holds exactly `OKAY` and no end of stream; otherwise it is dropped
and a fresh connection does the whole exchange (which reports the device's current state). That
retry happens before the command was sent, so it can never run a command twice.

Every receive asks for an immediate ACK (TCP_QUICKACK, Linux only; the kernel resets it, hence
per receive): on a connection that had gone quiet and then turned interactive, the server's
second small record of an exchange was measured waiting 40 ms for our delayed ACK (Nagle
meeting delayed ACK on the loopback hop).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from typing import Any

import adbutils
from adbutils.errors import AdbConnectionError

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
_SPARE_CONNECT_S = 1.0       # at most this long opening a spare (the server answered a moment ago)
_OKAY = b"OKAY"


class Deadline:
    def __init__(self, budget: float, parent: Deadline | None = None) -> None:
        self.budget = budget
        self.start = time.monotonic()
        self.end = self.start + budget if parent is None else min(parent.end, self.start + budget)

    def remaining(self) -> float:
        """Seconds left; socket.timeout once the deadline has passed (mapped to CommandTimeout)."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        return left

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self.remaining()))


def encode_request(text: str) -> bytes:
    """A host request as the adb server reads it: 4 hex digits of length, then the text."""
    data = text.encode("utf-8")
    return b"%04x" % len(data) + data


class HostConnection:
    """One connection to the adb server: requests (`%04x` + text), OKAY/FAIL replies, raw stream."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline
        self._pending = b""          # read past a reply, kept for the next read

    @classmethod
    def open(cls, host: str, port: int, deadline: Deadline) -> HostConnection:
        try:
            sock = socket.create_connection((host, port), timeout=deadline.remaining())
        except socket.timeout:
            raise
        except OSError as e:
            raise AdbConnectionError(f"connect to adb server {host}:{port} failed: {e}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, deadline)

    def __enter__(self) -> HostConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def send(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.remaining())
        self._sock.sendall(data)

    def request(self, text: str) -> None:
        self.send(encode_request(text))
        self.read_status()

    def read_status(self) -> None:
        """The server's answer to a request: OKAY, or AdbError with the text of its FAIL."""
        status = self._read_exact(4)
        if status == b"FAIL":
            raise adbutils.AdbError(self.read_block())
        if status != _OKAY:
            raise adbutils.AdbError(f"Unknown data: {status!r}")

    def read_block(self) -> str:
        size = self._read_exact(4)
        return self._read_exact(int(size, 16)).decode("utf-8", errors="replace")

    def recv(self) -> bytes:
        """Whatever arrives next (b"" at EOF), within the deadline."""
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        self._sock.settimeout(self._deadline.remaining())
        if _QUICKACK is not None:
            self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        return self._sock.recv(65536)

    def read_to_eof(self) -> bytes:
        chunks = []
        while chunk := self.recv():
            chunks.append(chunk)
        return b"".join(chunks)

    def holds_only_okay(self) -> bool:
        """For a spare: the server answered OKAY and has neither closed nor sent anything since."""
        answer = b""
        while len(answer) < len(_OKAY):
            chunk = self.recv()
            if not chunk:
                return False
            answer += chunk
        if answer != _OKAY:                   # FAIL and its message, or more than OKAY
            return False
        readable, _, _ = select.select([self._sock], [], [], 0)
        return not readable                   # readable now: the end of stream

    def _read_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.recv()
            if not chunk:
                raise adbutils.AdbError("connection closed") if not buf else EOFError(
                    f"Expected {n} bytes, got {len(buf)}")
            buf += chunk
        buf, self._pending = buf[:n], buf[n:]
        return buf


class TransportConnections:
    """Connections to one device's transport, with one spare kept ready (see the module doc).
    Thread-safe: each caller gets its own connection; only the spare is shared."""

    def __init__(self, host: str, port: int, serial: str) -> None:
        self.host, self.port, self.serial = host, port, serial
        self._transport_request = encode_request(f"host:transport:{serial}")
        self._lock = threading.Lock()
        self._spare: socket.socket | None = None
        self._spare_pid = 0                   # a forked child must not share its parent's spare
        self._resolved: tuple[socket.AddressFamily, Any] | None = None

    def open(self, deadline: Deadline) -> HostConnection:
        """A connection switched to the device's transport: the spare if it is sound, else a new one."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and self._spare_pid != os.getpid():
            spare.close()                     # this process's copy only: the parent keeps its own
            spare = None
        if spare is not None:
            conn = HostConnection(spare, deadline)
            try:
                if _is_sound(conn):
                    return conn
            except BaseException:
                conn.close()
                raise
            conn.close()
        conn = HostConnection.open(self.host, self.port, deadline)
        try:
            conn.send(self._transport_request)
            conn.read_status()
        except BaseException:
            conn.close()
            raise
        return conn

    def prepare_spare(self, deadline: Deadline) -> None:
        """Open the spare for the next command, if there is none, without waiting for the server's
        answer. Best effort: a failure here is left for the next command to meet and report."""
        with self._lock:
            if self._spare is not None:
                return
        timeout = min(deadline.left(), _SPARE_CONNECT_S)
        if timeout <= 0:
            return
        try:
            family, address = self._address()
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            return
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(self._transport_request)
        except OSError:
            sock.close()
            return
        with self._lock:
            if self._spare is None:
                self._spare, self._spare_pid, sock = sock, os.getpid(), None
        if sock is not None:                  # another thread was quicker
            sock.close()

    def _address(self) -> tuple[socket.AddressFamily, Any]:
        """The server's address, resolved once (a spare per command must not pay a lookup)."""
        if self._resolved is None:
            family, _, _, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0]
            self._resolved = (family, address)
        return self._resolved

    def drop_spare(self) -> None:
        """The transport changed (reboot, reconnect, root) or the device is closed."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()


def _is_sound(spare: HostConnection) -> bool:
    """A reset spare is as stale as a closed one; the deadline passing is the caller's timeout."""
    try:
        return spare.holds_only_okay()
    except socket.timeout:
        raise
    except OSError:
        return False
