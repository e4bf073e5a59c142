"""One ordered timeline per device run: harness actions, adb transport events and device log lines.

Nothing else merges these (anchors.md §7.6), and for a start-up race it is the main debugging
artifact: "docker restart took 1.2 s, the transport went offline, came back 9 s later, and 40 ms
before boot_completed ConnectivityService logged EBUSY".

Sources, all placed on the host's wall clock (seconds since the epoch):

* harness actions: `with timeline.action("docker restart redroid8"):` records start, end and
  outcome ("ok", or the error class and message; the error is re-raised);
* adb transport events: `TransportWatcher` follows `host:track-devices` on the device's adb
  server in a background thread and stamps each state change with the host time;
* device log lines from a LogcatService excerpt. They carry the device's local time without a
  year, so `ClockSync.measure(device)` reads `date '+%s.%N %z'` once per boot and notes the
  host time around it; a line's device time plus the measured offset gives its host time (with
  two readings in a boot, the line through them, for a device clock running at another rate).
  A line without a usable time (a marker) takes the time of the line before it.

`render_text()` gives one line per event (host time, source, text); `to_dict()` the same as data.
"""

from __future__ import annotations

import bisect
import datetime
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import adbutils

from harness.adb_server import PrivateAdbClient
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.device import Device
    from harness.logs.buffer import LogLine
    from harness.logs.logcat import LogcatService

HARNESS, ADB, LOGCAT = "harness", "adb", "logcat"
DATE_COMMAND = "date '+%s.%N %z'"
# toybox prints "1714469147.894123456 +0000"; toolbox date (4.4) has no %N and prints "N".
_DATE_OUTPUT = re.compile(r"^(?P<s>\d{9,11})(?:\.(?P<frac>\d{1,9}))?\S*(?:\s+(?P<z>[+-]\d{4}))?\s*$")
_EPOCH = datetime.datetime(1970, 1, 1)
_HALF_YEAR_S = 183 * 86400
_DETAIL_SHOWN = 240
_RETRY_S = 1.0


@dataclass(frozen=True)
class TimelineEvent:
    time: float                       # host wall clock, seconds since the epoch
    source: str                       # harness | adb | logcat
    text: str
    end: float | None = None          # harness actions: when it finished (None: still running)
    outcome: str | None = None        # harness actions: "ok" or "<ErrorClass>: message"
    detail: str = ""                  # harness actions: what they printed or noted
    approximate: bool = False         # log lines placed by their neighbour, not their own time

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.time

    def render(self) -> str:
        text = self.text
        if self.source == HARNESS:
            text += f" [{self.outcome or 'running'}" + (f" after {self.duration:.3f}s]" if self.end else "]")
            if self.detail:
                detail = " | ".join(line for line in self.detail.splitlines() if line.strip())
                text += ": " + (detail if len(detail) <= _DETAIL_SHOWN else detail[:_DETAIL_SHOWN] + "...")
        return f"{format_time(self.time)}{'~' if self.approximate else ' '} {self.source:<7} {text}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time_text"] = format_time(self.time)
        data["duration"] = self.duration
        return data


def format_time(host_time: float) -> str:
    """UTC, millisecond precision: unambiguous in an artifact read on another machine."""
    moment = datetime.datetime.fromtimestamp(host_time, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- the device clock ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ClockSync:
    """One reading of the device clock and the host time it corresponds to."""

    host_time: float                  # host wall clock at the middle of the reading
    device_time: float                # device clock (seconds since the epoch)
    utc_offset_s: int                 # the device's zone: logcat prints local time
    uncertainty_s: float              # half the round trip, plus 1 s when the device has no %N
    log_mark: int | None = None       # logcat buffer position when measured (which boot it is)

    @property
    def offset(self) -> float:
        """host time - device time."""
        return self.host_time - self.device_time

    @classmethod
    def parse(cls, output: str, host_before: float, host_after: float,
              log_mark: int | None = None) -> ClockSync:
        found = _DATE_OUTPUT.match(output.strip())
        if found is None:
            raise ValueError(f"unexpected output of {DATE_COMMAND}: {output!r}")
        frac = found["frac"]
        device_time = int(found["s"]) + (int(frac) / 10 ** len(frac) if frac else 0.0)
        zone = found["z"] or "+0000"
        offset = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
        half_trip = (host_after - host_before) / 2
        return cls(host_time=host_before + half_trip, device_time=device_time, utc_offset_s=offset,
                   uncertainty_s=half_trip + (0.0 if frac else 1.0), log_mark=log_mark)

    @classmethod
    def measure(cls, device: Device, *, log_mark: int | None = None, timeout: float = 10.0,
                clock: Callable[[], float] = time.time) -> ClockSync:
        before = clock()
        result = device.run(DATE_COMMAND, timeout=timeout, check=True)
        after = clock()
        return cls.parse(result.stdout, before, after, log_mark)

    def device_epoch(self, line: LogLine) -> float | None:
        """Device seconds since the epoch of a log line (None when it has no usable time)."""
        stamp = line.entry.time if line.entry is not None else None
        if stamp is not None and stamp.seconds is not None:
            # `-v epoch`; `-v monotonic` (seconds since boot, far below 1e9) cannot be placed
            return stamp.seconds + stamp.nanosecond / 1e9 if stamp.seconds >= 10 ** 9 else None
        if stamp is not None:
            local = stamp.to_datetime(2000)
        elif line.seconds is not None:                                # a marker: the calendar axis
            day, rest = divmod(line.seconds, 86400)
            local = datetime.datetime.fromordinal(int(day)) + datetime.timedelta(seconds=rest)
        else:
            return None
        if local is None:
            return None
        if local.tzinfo is not None:                                  # `-v zone` printed it
            return local.timestamp()
        return self._in_year_nearest(local)

    def _in_year_nearest(self, local: datetime.datetime) -> float | None:
        """threadtime prints no year: take the one that puts the line nearest the reading."""
        reference = self.device_time + self.utc_offset_s
        year = (_EPOCH + datetime.timedelta(seconds=reference)).year
        best: float | None = None
        for candidate in (year - 1, year, year + 1):
            try:
                seconds = (local.replace(year=candidate) - _EPOCH).total_seconds()
            except ValueError:                                        # 02-29 in a common year
                continue
            if abs(seconds - reference) <= _HALF_YEAR_S:
                best = seconds
        return None if best is None else best - self.utc_offset_s

    def to_host(self, device_epoch: float) -> float:
        return device_epoch + self.offset


# -- the timeline ---------------------------------------------------------------------------------

@dataclass
class RunningAction:
    """A harness action in progress (see Timeline.action)."""
    text: str
    start: float
    detail: list[str] = field(default_factory=list)
    event: TimelineEvent | None = None      # the recorded event, once the action has ended

    def note(self, text: str) -> None:
        if text:
            self.detail.append(text)


class Timeline:
    def __init__(self, serial: str | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.serial = serial
        self.clock = clock
        self._lock = threading.Lock()
        self._events: list[TimelineEvent] = []
        self._syncs: list[ClockSync] = []
        self._log_lines: list[LogLine] = []
        self._logcats: list[tuple[LogcatService, int]] = []

    # -- recording -------------------------------------------------------------------------------
    def record(self, source: str, text: str, at: float | None = None) -> TimelineEvent:
        event = TimelineEvent(self.clock() if at is None else at, source, text)
        self._add(event)
        return event

    def transport(self, serial: str, state: str, at: float | None = None) -> TimelineEvent:
        return self.record(ADB, f"{serial} {state}", at)

    @contextmanager
    def action(self, text: str) -> Iterator[RunningAction]:
        """Record a harness action with its start, end and outcome; exceptions pass through."""
        running = RunningAction(text, self.clock())
        outcome = "ok"
        try:
            yield running
        except HarnessError as e:
            outcome = f"{type(e).__name__}: {e.message}"
            raise
        except BaseException as e:
            outcome = f"{type(e).__name__}: {e}".splitlines()[0]
            raise
        finally:
            running.event = TimelineEvent(running.start, HARNESS, text, end=self.clock(), outcome=outcome,
                                          detail="\n".join(running.detail))
            self._add(running.event)

    def _add(self, event: TimelineEvent) -> None:
        with self._lock:
            self._events.append(event)

    def add_clock_sync(self, sync: ClockSync) -> None:
        with self._lock:
            self._syncs.append(sync)

    def sync_clock(self, device: Device, logcat: LogcatService | None = None) -> ClockSync:
        """Measure the device clock now (once per boot) and keep it for placing log lines."""
        sync = ClockSync.measure(device, log_mark=logcat.mark() if logcat is not None else None,
                                 clock=self.clock)
        self.add_clock_sync(sync)
        return sync

    def add_log_lines(self, lines: Iterable[LogLine]) -> None:
        with self._lock:
            self._log_lines.extend(lines)

    def follow_logcat(self, service: LogcatService, since: int | None = None) -> None:
        """Take the service's lines from `since` (default: from now) whenever the timeline is read."""
        with self._lock:
            self._logcats.append((service, service.mark() if since is None else since))

    # -- reading ---------------------------------------------------------------------------------
    @property
    def clock_syncs(self) -> list[ClockSync]:
        with self._lock:
            return list(self._syncs)

    def events(self) -> list[TimelineEvent]:
        """Every event in host-time order (stable: equal times keep the order they came in)."""
        placed, _ = self._placed_log_lines()
        with self._lock:
            events = self._events + placed
        return sorted(events, key=lambda e: e.time)

    def harness_actions(self) -> list[TimelineEvent]:
        return [e for e in self.events() if e.source == HARNESS]

    def _all_log_lines(self) -> list[LogLine]:
        with self._lock:
            lines = list(self._log_lines)
            followed = list(self._logcats)
        for service, since in followed:
            lines.extend(service.excerpt(since))
        return lines

    def _placed_log_lines(self) -> tuple[list[TimelineEvent], int]:
        """(events, how many lines could not be placed: no clock reading, or no time at all)."""
        lines = self._all_log_lines()
        syncs = self.clock_syncs
        if not syncs:
            return [], len(lines)
        boots = _boot_index(lines)
        by_boot: dict[int, list[ClockSync]] = {}
        for sync in syncs:
            by_boot.setdefault(_boot_of_mark(sync.log_mark, lines, boots), []).append(sync)
        events: list[TimelineEvent] = []
        unplaced = 0
        previous: float | None = None
        for line, boot in zip(lines, boots):
            readings = by_boot[min(by_boot, key=lambda b: (abs(b - boot), -b))]
            epoch = readings[-1].device_epoch(line)
            if epoch is not None:
                previous = _to_host(epoch, readings)
                events.append(TimelineEvent(previous, LOGCAT, line.text))
            elif previous is not None:
                events.append(TimelineEvent(previous, LOGCAT, line.text, approximate=True))
            else:
                unplaced += 1
        return events, unplaced

    def render_text(self) -> str:
        """One line per event: host time (UTC), source, text."""
        lines = [event.render() for event in self.events()]
        _, unplaced = self._placed_log_lines()
        if unplaced:
            lines.append(f"({unplaced} device log line(s) not placed: "
                         + ("no device clock reading)" if not self.clock_syncs else "no usable time)"))
        return "\n".join(lines) + ("\n" if lines else "")

    def to_dict(self) -> dict[str, Any]:
        _, unplaced = self._placed_log_lines()
        return {"serial": self.serial, "events": [e.to_dict() for e in self.events()],
                "clock_syncs": [asdict(s) for s in self.clock_syncs], "unplaced_log_lines": unplaced}

    # -- live sources ----------------------------------------------------------------------------
    def watch_transport(self, device: Device) -> TransportWatcher:
        """Start recording the adb server's state changes for this device (stop() the watcher)."""
        return TransportWatcher(device.host, device.port, self, serials={device.serial}).start()


def _to_host(device_epoch: float, readings: list[ClockSync]) -> float:
    """Host time of a device time from one boot's clock readings: their offset, or with two or
    more, the line through the two nearest (a device clock may run at another rate, e.g. a
    virtual device with a fast clock)."""
    if len(readings) == 1:
        return readings[0].to_host(device_epoch)
    ordered = sorted(readings, key=lambda r: r.device_time)
    i = min(max(bisect.bisect(ordered, device_epoch, key=lambda r: r.device_time), 1), len(ordered) - 1)
    a, b = ordered[i - 1], ordered[i]
    if b.device_time - a.device_time <= 0:
        return a.to_host(device_epoch)
    rate = (b.host_time - a.host_time) / (b.device_time - a.device_time)
    return a.host_time + (device_epoch - a.device_time) * rate


def _boot_index(lines: list[LogLine]) -> list[int]:
    """Which boot each line belongs to: LogcatService writes a "reboot" marker between boots,
    stamped with the old boot's last time, so the marker itself still counts as the old boot."""
    boots, boot = [], 0
    for line in lines:
        boots.append(boot)
        if line.marker == "reboot":
            boot += 1
    return boots


def _boot_of_mark(mark: int | None, lines: list[LogLine], boots: list[int]) -> int:
    if mark is None:
        return 0
    boot = 0
    for line, line_boot in zip(lines, boots):
        if line.position >= mark:
            break
        boot = line_boot
    return boot


class TransportWatcher:
    """Records the adb server's device states (`host:track-devices`) on a timeline, in a thread.

    adbutils' track_devices() reports a state change as "absent" plus the new state, in set
    order; this reads the same service through adbutils' connection and diffs per serial, so a
    change is one event. If the server connection ends, that is recorded and it reconnects.
    """

    def __init__(self, host: str, port: int, timeline: Timeline, *, serials: set[str] | None = None) -> None:
        self.host = host
        self.port = port
        self.timeline = timeline
        self.serials = serials
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: adbutils.AdbConnection | None = None
        self._conn_lock = threading.Lock()
        self._ready = threading.Event()

    def start(self, timeout: float = 5.0) -> TransportWatcher:
        """Start, and wait (bounded) until the first listing is recorded so no change is missed."""
        self._thread = threading.Thread(target=self._run, name=f"track-devices-{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._close()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> TransportWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        states: dict[str, str] | None = None        # None until the first listing
        failing = False                              # record a failure once, not every retry
        where = f"{self.host}:{self.port}"
        while not self._stop.is_set():
            try:
                conn = PrivateAdbClient(self.host, self.port).make_connection(timeout=_RETRY_S * 5)
                conn.conn.settimeout(None)            # a listing arrives only on changes
                with self._conn_lock:
                    self._conn = conn
                conn.send_command("host:track-devices")
                conn.check_okay()
                if failing:
                    self.timeline.record(ADB, f"track-devices on {where} resumed")
                    failing = False
                while not self._stop.is_set():
                    states = self._diff(states, conn.read_string_block())
                    self._ready.set()
            except (adbutils.AdbError, OSError, ValueError) as e:
                if self._stop.is_set():
                    break
                if not failing:
                    self.timeline.record(ADB, f"track-devices on {where} ended: {type(e).__name__}: {e}; "
                                              "retrying every second")
                    failing = True
                self._ready.set()
                self._stop.wait(_RETRY_S)
            finally:
                self._close()

    def _diff(self, before: dict[str, str] | None, listing: str) -> dict[str, str]:
        """Record what changed since the last listing (the first one: every watched serial)."""
        now: dict[str, str] = {}
        for line in listing.splitlines():
            serial, sep, state = line.partition("\t")
            if sep and (self.serials is None or serial in self.serials):
                now[serial] = state.strip()
        at = self.timeline.clock()
        if before is None:
            for serial in sorted(set(now) | (self.serials or set())):
                self.timeline.transport(serial, f"{now.get(serial, 'absent')} (when watching began)", at)
            return now
        for serial in sorted(set(before) | set(now)):
            state = now.get(serial, "absent")
            if before.get(serial, "absent") != state:
                self.timeline.transport(serial, state, at)
        return now

    def _close(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.conn.shutdown(socket.SHUT_RDWR)      # wakes the blocked read
        except OSError:
            pass
        conn.close()
