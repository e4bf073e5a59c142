"""Device leases: one holder per device at a time, across threads, processes and xdist workers.

Each device has a lock file and a state file in the lease directory. Holding the lock
(`fcntl.flock`, exclusive) is holding the lease: the kernel releases it when the holder's process
dies, however it dies, so a crashed xdist worker never keeps its device. The state file, written
(atomically) only by the lock's holder, says what the device is:

    available     free, healthy when it was released
    leased        held; found by a new holder, it means the previous one died holding it
    recovering    held by someone repairing it; found by a new holder: the repair was cut short
    quarantined   recovery failed; not leased again in this run (another run re-checks it)

A new holder that finds a device leased or recovering (its holder died), or quarantined by
another run, gets `Lease.checks` naming why: the device must pass the health check (or be
recovered) before anything else runs on it. That is how a device left broken by a crashed worker
is repaired before its next test.

Every lease, release and state change is appended to the lease log (JSON lines, one `write()` of
one line under an exclusive lock on the log, so lines never interleave, even across processes):
`check_log()` proves from it that no device was ever held by two holders at once. Log lines of a
device are written while holding that device's lock, so their order in the file is the order in
which they happened. flock is advisory and per host: all holders must be harness processes on
the same machine (over NFS it needs working locks).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import FailureClass, HarnessError
from harness.farm.inventory import LeaseUnit

AVAILABLE, LEASED, RECOVERING, QUARANTINED = "available", "leased", "recovering", "quarantined"
STATES = (AVAILABLE, LEASED, RECOVERING, QUARANTINED)
POLL_S = 0.2


class NoDeviceAvailable(HarnessError):
    """No lease unit could be leased in time: all held, quarantined or none usable."""
    failure_class = FailureClass.INFRASTRUCTURE


# -- the log ------------------------------------------------------------------------------------

class LeaseLog:
    """Append-only JSON lines; each line is one `write()` under an exclusive lock on the file."""

    def __init__(self, path: Path, run: str) -> None:
        self.path = path
        self.run = run
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {"time": round(time.time(), 6), "run": self.run, "event": event, **fields}
        line = (json.dumps(entry, sort_keys=False) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(errno.EIO, f"short write to the lease log {self.path}")
        finally:
            os.close(fd)          # closing releases the flock
        return entry


def read_log(path: Path, run: str | None = None) -> list[dict[str, Any]]:
    """The log's entries (of one run when given). A torn last line (a crash mid-write cannot
    produce one, but a full disk can) is skipped."""
    entries = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if run is None or entry.get("run") == run:
            entries.append(entry)
    return entries


def check_log(entries: Iterable[dict[str, Any]]) -> list[str]:
    """Violations of "one holder per device at a time": a lease of a held device, a release or
    a test by someone who does not hold the device. Empty: the log proves exclusivity."""
    holders: dict[str, str] = {}
    problems = []
    for number, entry in enumerate(entries, 1):
        device, holder, event = entry.get("device"), entry.get("holder"), entry.get("event")
        if device is None or event not in ("lease", "release", "test"):
            continue
        current = holders.get(device)
        if event == "release" and entry.get("holder_died") and current is None:
            continue              # the dead holder leased it before this part of the log (an earlier run)
        if event == "lease":
            if current is not None:
                problems.append(f"entry {number}: {device} leased to {holder} while {current} held it")
            holders[device] = holder
        elif current != holder:
            what = f"test {entry.get('test')} ran" if event == "test" else "released"
            problems.append(f"entry {number}: {device} {what} by {holder}, but its holder was {current}")
        elif event == "release":
            del holders[device]
    return problems


# -- state files ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceState:
    state: str = AVAILABLE
    holder: str | None = None
    pid: int | None = None
    host: str | None = None
    run: str | None = None
    since: float = 0.0
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "holder": self.holder, "pid": self.pid, "host": self.host, "run": self.run,
                "since": self.since, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceState:
        state = data.get("state")
        return cls(state=state if state in STATES else AVAILABLE, holder=data.get("holder"), pid=data.get("pid"),
                   host=data.get("host"), run=data.get("run"), since=float(data.get("since") or 0.0),
                   reason=data.get("reason"))


def _file_stem(device_id: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", device_id)[:80]
    return f"{readable}-{hashlib.sha1(device_id.encode()).hexdigest()[:8]}"


def state_path(directory: Path, device_id: str, suffix: str = ".json") -> Path:
    """The device's file in a lease directory: `.lock`, `.json` (state), `.baseline.json`."""
    return directory / (_file_stem(device_id) + suffix)


def read_state(directory: Path, device_id: str) -> DeviceState:
    """A device's state as its last holder wrote it (no lock needed: writes are atomic renames)."""
    try:
        return DeviceState.from_dict(json.loads(state_path(directory, device_id).read_text(encoding="utf-8")))
    except (FileNotFoundError, ValueError):
        return DeviceState()


def write_json(path: Path, data: dict[str, Any]) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- leases ---------------------------------------------------------------------------------------

@dataclass
class Lease:
    """A held unit. `checks`: why its devices must be health-checked before use (device id ->
    reasons; empty when every device was released healthy)."""

    pool: LeasePool
    unit: LeaseUnit
    holder: str
    _fds: dict[str, int]
    checks: dict[str, str] = field(default_factory=dict)
    released: bool = False

    @property
    def device_ids(self) -> tuple[str, ...]:
        return self.unit.ids

    def set_state(self, device_id: str, state: str, reason: str | None = None) -> None:
        """Record a state change of a held device (recovering, quarantined, leased again)."""
        self._require_held(device_id)
        self.pool._write_state(device_id, DeviceState(state, self.holder, os.getpid(), socket.gethostname(),
                                                      self.pool.run, time.time(), reason))
        self.pool.log.append("state", device=device_id, holder=self.holder, state=state, reason=reason)

    def record_test(self, test: str) -> None:
        """A test is about to run on the unit's devices: the log ties it to this holder."""
        for device_id in self.device_ids:
            self.pool.log.append("test", device=device_id, holder=self.holder, test=test)

    def release(self, states: dict[str, str] | None = None, reason: str | None = None) -> None:
        """Give the devices back: `available` unless `states` says otherwise (quarantined)."""
        if self.released:
            return
        self.released = True
        states = states or {}
        try:
            for device_id in self.device_ids:
                state = states.get(device_id, AVAILABLE)
                self.pool._write_state(device_id, DeviceState(state, None, None, None, self.pool.run, time.time(),
                                                              reason if state != AVAILABLE else None))
                self.pool.log.append("release", device=device_id, holder=self.holder, state=state,
                                     reason=reason if state != AVAILABLE else None)
        finally:
            for fd in self._fds.values():
                os.close(fd)          # the lock goes with the descriptor
            self._fds.clear()

    def _require_held(self, device_id: str) -> None:
        if self.released or device_id not in self._fds:
            raise RuntimeError(f"{self.holder} does not hold {device_id}")


class LeasePool:
    def __init__(self, directory: Path, units: Sequence[LeaseUnit], log: LeaseLog) -> None:
        self.directory = directory
        self.units = list(units)
        self.log = log
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def run(self) -> str:
        return self.log.run

    def state(self, device_id: str) -> DeviceState:
        return read_state(self.directory, device_id)

    def states(self) -> dict[str, DeviceState]:
        return {device_id: self.state(device_id) for unit in self.units for device_id in unit.ids}

    def acquire(self, holder: str, *, prefer: str | None = None, wait_s: float = 60.0,
                avoid: Iterable[str] = ()) -> Lease:
        """Lease one unit (the preferred one first when free); NoDeviceAvailable after `wait_s`.
        `avoid`: device ids not to take (e.g. the one the holder just quarantined)."""
        avoided = set(avoid)
        candidates = [u for u in self.units if not avoided & set(u.ids)]
        deadline = time.monotonic() + wait_s
        while True:
            for unit in _preference_order(candidates, prefer, holder):
                lease = self._try(unit, holder)
                if lease is not None:
                    return lease
            if time.monotonic() >= deadline:
                raise NoDeviceAvailable(self._why_none(candidates, holder, wait_s))
            time.sleep(POLL_S)

    def try_acquire(self, unit_name: str, holder: str) -> Lease | None:
        """That unit, if it is free now (one attempt)."""
        unit = next((u for u in self.units if u.name == unit_name), None)
        return self._try(unit, holder) if unit is not None else None

    def _try(self, unit: LeaseUnit, holder: str) -> Lease | None:
        fds: dict[str, int] = {}
        try:
            for device_id in sorted(unit.ids):            # one order for everyone: no deadlock on groups
                fd = os.open(self._path(device_id, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise
                fds[device_id] = fd
        except BlockingIOError:
            for fd in fds.values():
                os.close(fd)
            return None
        found = {device_id: self.state(device_id) for device_id in unit.ids}
        if any(s.state == QUARANTINED and s.run == self.run for s in found.values()):
            for fd in fds.values():
                os.close(fd)
            return None
        lease = Lease(self, unit, holder, fds)
        for device_id, previous in found.items():
            reason = _check_reason(previous, self.run)
            if previous.state in (LEASED, RECOVERING):
                self.log.append("release", device=device_id, holder=previous.holder, state=previous.state,
                                holder_died=True, previous_run=previous.run if previous.run != self.run else None,
                                reason=f"holder died (pid {previous.pid} on {previous.host}); found by {holder}")
            if reason:
                lease.checks[device_id] = reason
            self._write_state(device_id, DeviceState(LEASED, holder, os.getpid(), socket.gethostname(), self.run,
                                                     time.time(), None))
            self.log.append("lease", device=device_id, holder=holder, unit=unit.name, pid=os.getpid(),
                            check=reason)
        return lease

    def _why_none(self, candidates: list[LeaseUnit], holder: str, wait_s: float) -> str:
        if not candidates:
            return f"{holder}: the farm has no usable device to lease"
        states = self.states()
        described = ", ".join(f"{d} {states[d].state}" + (f" by {states[d].holder}" if states[d].holder else "")
                              for u in candidates for d in u.ids)
        return f"{holder}: no device free within {wait_s:g}s ({described})"

    def _path(self, device_id: str, suffix: str) -> Path:
        return state_path(self.directory, device_id, suffix)

    def _write_state(self, device_id: str, state: DeviceState) -> None:
        write_json(self._path(device_id, ".json"), state.as_dict())


def _check_reason(previous: DeviceState, run: str) -> str | None:
    if previous.state == LEASED:
        return f"its holder {previous.holder} (pid {previous.pid}) died holding it"
    if previous.state == RECOVERING:
        return f"its recovery by {previous.holder} (pid {previous.pid}) was cut short"
    if previous.state == QUARANTINED:
        return f"quarantined by an earlier run: {previous.reason}"
    return None


def _preference_order(units: list[LeaseUnit], prefer: str | None, holder: str) -> list[LeaseUnit]:
    """The preferred unit first, then the others starting at a place that depends on the holder,
    so that holders starting together try different units first."""
    if not units:
        return []
    start = int(hashlib.sha1(holder.encode()).hexdigest(), 16) % len(units)
    ordered = units[start:] + units[:start]
    preferred = [u for u in ordered if prefer is not None and (u.name == prefer or prefer in u.ids)]
    return preferred + [u for u in ordered if u not in preferred]
