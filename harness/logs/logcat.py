"""LogcatService: one device's logcat, streamed in the background into a LogBuffer.

A thread reads `logcat -v threadtime -b ...` through the adb server (adbutils streaming, on a
client that never starts an adb server of its own). When the stream ends (transport drop,
container restart, reboot) it waits for the device with a bounded backoff, then resumes with
`-T '<last device time seen>'` like ACTS's keep-alive and Mobly's resume (anchors.md sections 1
and 2). `-T` repeats the lines at that time: they are dropped as duplicates (same timestamp,
pid, tid, level, tag and message). Whether anything was lost is decided on the first resumed line:

* it repeats a line already seen: the stream is continuous ("resumed" marker only);
* otherwise, if the boot id changed: "reboot" marker (the old boot's unread tail is gone);
* otherwise, if the ring buffer may have wrapped (`logcat -g`) or the boot id is unknown:
  "gap" marker. Lines are never lost silently.

If the device does not come back within `reconnect_timeout`, a "lost" marker ends the stream.
Queries (`mark`, `excerpt`, `lines`, `wait_for`, `assert_sequence`) are the buffer's.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import adbutils

from harness.adb_server import PrivateAdbClient
from harness.device import Device
from harness.errors import HarnessError
from harness.logs.buffer import DEFAULT_CAPACITY, LogBuffer, LogLine, Since
from harness.logs.records import parse_line, seconds_of
from harness.logs.sequence import PatternLike

DEFAULT_BUFFERS = ("main", "system", "crash")
RECONNECT_TIMEOUT = 120.0      # how long a dropped device may take to come back
_PROBE_TIMEOUT = 5.0
_BACKOFF_FIRST, _BACKOFF_MAX = 0.2, 2.0
_WAIT_STEP = 2.0               # bound of one blocking reconnect attempt, so stop() stays prompt
_WRAP_FRACTION = 0.9           # a ring this full may have dropped its oldest lines
_BUFFER_NAME = re.compile(r"^[a-z]+$")
_STAMP = re.compile(r"^(\d{4}-)?\d\d-\d\d \d\d:\d\d:\d\d\.\d{3,9}$")   # safe inside '...'
# `logcat -g`: "main: ring buffer is 256 KiB (12 KiB consumed), ..." (older: "256Kb (12Kb consumed)")
_RING = re.compile(r"^(?P<buffer>\w+): ring buffer is (?P<size>[\d.]+) ?(?P<su>[KMG]?i?B|[KMG]?b) "
                   r"\((?P<used>[\d.]+) ?(?P<uu>[KMG]?i?B|[KMG]?b) consumed\)", re.M)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _bytes(amount: str, unit: str) -> float:
    return float(amount) * _UNITS[unit[:1].upper() if unit[:1].upper() in "KMG" else ""]


def ring_may_have_wrapped(text: str) -> bool:
    """From `logcat -g` output: could any buffer have dropped old lines? True when unsure."""
    rings = list(_RING.finditer(text))
    if not rings:
        return True
    return any(_bytes(m["used"], m["uu"]) >= _WRAP_FRACTION * _bytes(m["size"], m["su"]) for m in rings)


@dataclass(frozen=True)
class _Resume:
    """What we knew when the stream dropped, to judge the first resumed line."""
    stamp: str
    seconds: float
    seen: frozenset[tuple]
    boot_changed: bool | None       # None: boot id unknown
    may_wrap: bool
    down_for: float


class LogcatService:
    def __init__(self, device: Device, *, buffers: Iterable[str] = DEFAULT_BUFFERS,
                 capacity: int = DEFAULT_CAPACITY, start_from: str = "all",
                 reconnect_timeout: float = RECONNECT_TIMEOUT) -> None:
        self.buffers = tuple(buffers)
        if not self.buffers or not all(_BUFFER_NAME.match(b) for b in self.buffers):
            raise ValueError(f"buffers must be logcat buffer names like 'main', got {self.buffers!r}")
        if start_from not in ("all", "now"):
            raise ValueError(f"start_from must be 'all' (the device's whole ring) or 'now', got {start_from!r}")
        self.device = device
        self.buffer = LogBuffer(capacity)
        self.start_from = start_from
        self.reconnect_timeout = reconnect_timeout
        self.reconnects = 0
        self.state = "new"                    # running, reconnecting, lost, stopped
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: adbutils.AdbConnection | None = None
        self._conn_lock = threading.Lock()
        self._last_stamp: str | None = None
        self._last_seconds: float | None = None
        self._seen_at_last: set[tuple] = set()
        self._boot_id: str | None = None
        self._resume: _Resume | None = None   # set until the first resumed line is judged
        self._repeats: _Resume | None = None  # after it: drop repeats until past the resume time

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> LogcatService:
        if self._thread is not None:
            raise RuntimeError("LogcatService already started")
        self._boot_id = self._probe_boot_id()
        self.state = "running"
        self._thread = threading.Thread(target=self._run, name=f"logcat-{self.device.serial}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop streaming and wake every waiter; never blocks longer than `timeout`."""
        self._stop.set()
        self._close_stream()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped"
        self.buffer.close()

    def __enter__(self) -> LogcatService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queries (the buffer's) ----------------------------------------------------------------
    def mark(self) -> int:
        return self.buffer.mark()

    def excerpt(self, since: Since = None, until: Since = None) -> list[LogLine]:
        return self.buffer.excerpt(since, until)

    def lines(self, since: Since = None, **filters) -> list[LogLine]:
        return self.buffer.lines(since, **filters)

    def wait_for(self, patterns: PatternLike | Iterable[PatternLike], timeout: float, *,
                 in_order: bool = True, since: Since = None) -> list[LogLine]:
        return self.buffer.wait_for(patterns, timeout, in_order=in_order, since=since)

    def assert_sequence(self, patterns: Iterable[PatternLike], *, within: float | None = None,
                        since: Since = None) -> list[LogLine]:
        return self.buffer.assert_sequence(patterns, within=within, since=since)

    # -- the reader thread ---------------------------------------------------------------------
    def _command(self) -> str:
        cmd = "logcat -v threadtime " + " ".join(f"-b {b}" for b in self.buffers)
        if self._last_stamp is not None:
            if not _STAMP.match(self._last_stamp):
                raise ValueError(f"unexpected logcat time {self._last_stamp!r}")
            return f"{cmd} -T '{self._last_stamp}'"
        return cmd if self.start_from == "all" else f"{cmd} -T 1"

    def _run(self) -> None:
        try:
            self._stream_until_stopped()
        except Exception as e:                # a bug must not end the capture silently
            self.state = "lost"
            self.buffer.append_marker("lost", f"logcat reader failed: {type(e).__name__}: {e}")
            self.buffer.close()

    def _stream_until_stopped(self) -> None:
        dropped_at: float | None = None
        backoff = _BACKOFF_FIRST
        while not self._stop.is_set():
            if dropped_at is not None:
                if not self._wait_for_device(dropped_at):
                    break
                self._prepare_resume(dropped_at)
            try:
                conn = PrivateAdbClient(self.device.host, self.device.port).device(
                    self.device.serial).shell(self._command(), stream=True, timeout=None)
            except (adbutils.AdbError, OSError):
                dropped_at = dropped_at or time.monotonic()
                self._stop.wait(backoff)
                backoff = min(2 * backoff, _BACKOFF_MAX)
                continue
            with self._conn_lock:
                self._conn = conn
            if self._stop.is_set():
                break
            self.state = "running"
            got_lines = self._pump(conn)
            self._close_stream()
            if self._stop.is_set():
                break
            self.state = "reconnecting"
            dropped_at = time.monotonic()
            self.reconnects += 1
            if not got_lines:                 # logcat ended at once (logd not up yet): slow down
                self._stop.wait(backoff)
                backoff = min(2 * backoff, _BACKOFF_MAX)
            else:
                backoff = _BACKOFF_FIRST

    def _pump(self, conn: adbutils.AdbConnection) -> bool:
        pending = b""
        got = False
        while not self._stop.is_set():
            try:
                data = conn.conn.recv(65536)
            except (OSError, adbutils.AdbError):
                break
            if not data:
                break
            pending += data
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                got = self._accept(raw.decode("utf-8", errors="replace").removesuffix("\r")) or got
        return got

    def _accept(self, text: str) -> bool:
        if not text.strip() or text.startswith("--------- "):
            return False                      # logcat's buffer separators repeat on every resume
        entry = parse_line(text)
        seconds = seconds_of(entry.time) if entry and entry.time else None
        key = (entry.time.text, entry.pid, entry.tid, entry.priority, entry.tag, entry.message) \
            if entry and entry.time else None
        if self._resume is not None:
            self._repeats = self._resume
            if self._judge_resume(key, seconds):
                return True                   # the first resumed line repeats one already seen
        if self._repeats is not None:
            if seconds is not None and seconds > self._repeats.seconds:
                self._repeats = None
            elif key in self._repeats.seen:
                return True                   # more repeats of the lines at the resume time
        if seconds is not None and key is not None:
            if self._last_seconds is None or seconds > self._last_seconds:
                self._last_stamp, self._last_seconds = entry.time.text, seconds
                self._seen_at_last = {key}
            elif entry.time.text == self._last_stamp:
                self._seen_at_last.add(key)
        self.buffer.append(text)
        return True

    def _judge_resume(self, key: tuple | None, seconds: float | None) -> bool:
        """Decide on the first line after a resume; True when that line is a duplicate."""
        resume, self._resume = self._resume, None
        assert resume is not None
        if key is not None and key in resume.seen:
            self.buffer.append_marker("resumed", f"stream continuous after {resume.down_for:.1f}s "
                                                 f"(from {resume.stamp})", resume.seconds)
            return True
        if resume.boot_changed:
            self.buffer.append_marker("reboot", f"device booted again while the stream was down "
                                                f"({resume.down_for:.1f}s); lines the old boot logged "
                                                f"after {resume.stamp} are lost", resume.seconds)
        elif resume.boot_changed is None or resume.may_wrap or (seconds is not None and seconds < resume.seconds):
            self.buffer.append_marker("gap", f"lines after {resume.stamp} may be missing (stream down "
                                             f"{resume.down_for:.1f}s, continuity not proven)", resume.seconds)
        else:
            self.buffer.append_marker("resumed", f"stream resumed after {resume.down_for:.1f}s "
                                                 f"(from {resume.stamp})", resume.seconds)
        return False

    def _prepare_resume(self, dropped_at: float) -> None:
        if self._last_stamp is None or self._last_seconds is None:
            return
        boot_id = self._probe_boot_id()
        changed = None if boot_id is None or self._boot_id is None else boot_id != self._boot_id
        self._boot_id = boot_id or self._boot_id
        self._resume = _Resume(self._last_stamp, self._last_seconds, frozenset(self._seen_at_last),
                               changed, self._probe_may_wrap(), time.monotonic() - dropped_at)

    def _wait_for_device(self, dropped_at: float) -> bool:
        backoff = _BACKOFF_FIRST
        while not self._stop.is_set():
            left = self.reconnect_timeout - (time.monotonic() - dropped_at)
            if left <= 0:
                self.state = "lost"
                self.buffer.append_marker("lost", f"device did not come back within "
                                                  f"{self.reconnect_timeout:g}s; logcat stopped")
                self.buffer.close()
                return False
            try:
                # Only a transport that is really down gets reconnected: a disconnect/connect
                # cycle would break the commands other threads are running on the device.
                if self.device.state(timeout=min(_WAIT_STEP, left)) != "device":
                    self.device.reconnect(timeout=min(_WAIT_STEP, left))
                return True
            except HarnessError:
                self._stop.wait(min(backoff, max(0.0, left)))
                backoff = min(2 * backoff, _BACKOFF_MAX)
        return False

    def _probe_boot_id(self) -> str | None:
        try:
            result = self.device.run("cat /proc/sys/kernel/random/boot_id", timeout=_PROBE_TIMEOUT)
        except HarnessError:
            return None
        text = result.stdout.strip()
        return text if result.ok and re.fullmatch(r"[0-9a-f-]{16,64}", text) else None

    def _probe_may_wrap(self) -> bool:
        cmd = "logcat -g " + " ".join(f"-b {b}" for b in self.buffers)
        try:
            result = self.device.run(cmd, timeout=_PROBE_TIMEOUT)
        except HarnessError:
            return True
        return ring_may_have_wrapped(result.stdout) if result.ok else True

    def _close_stream(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.conn.shutdown(socket.SHUT_RDWR)     # wakes a recv blocked in the reader thread
        except (OSError, adbutils.AdbError):
            pass
        try:
            conn.close()
        except (OSError, adbutils.AdbError):
            pass
