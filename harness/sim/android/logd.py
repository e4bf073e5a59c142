"""logd: the ring buffers behind logcat (main, radio, events, system, crash).

Each buffer has a byte budget (Android's default 256 KiB); writing past it prunes the oldest
records of that buffer, as logd does. Records carry a global sequence number, so a reader can
follow new records in order and tell when records it had not read yet were pruned (the ring
buffer wrapped past it). Readers wait on an asyncio future that `write()` resolves: no polling.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from array import array
from collections import deque
from dataclasses import dataclass
from typing import Iterable

# log_id_t order (liblog): it is also the order `-b all` lists buffers in.
BUFFERS = ("main", "radio", "events", "system", "crash")
DEFAULT_BUFFERS = ("main", "system", "crash")
DEFAULT_SIZE = 256 * 1024
LOGGER_ENTRY_MAX_LEN = 5 * 1024
LOGGER_ENTRY_MAX_PAYLOAD = 4068

PRIORITY_LETTERS = {2: "V", 3: "D", 4: "I", 5: "W", 6: "E", 7: "F", 8: "S"}
PRIORITY_VALUES = {letter: value for value, letter in PRIORITY_LETTERS.items()}
_PRUNED_MEMORY = 100_000      # how many pruned sequence numbers logd remembers for readers


def format_log_time(wall: float, *, year: bool = False, usec: bool = False) -> str:
    """logprint's timeBuf: `%m-%d %H:%M:%S` (or with `%Y-`) and `.mmm` (`.uuuuuu`); device TZ is UTC."""
    micros = round(wall * 1_000_000)
    seconds, fraction = divmod(micros, 1_000_000)
    prefix = time.strftime("%Y-%m-%d %H:%M:%S" if year else "%m-%d %H:%M:%S", time.gmtime(seconds))
    return f"{prefix}.{fraction:06d}" if usec else f"{prefix}.{fraction // 1000:03d}"


def priority_value(priority: str | int) -> int:
    if isinstance(priority, int):
        if priority not in PRIORITY_LETTERS:
            raise ValueError(f"log priority must be 2..8, not {priority}")
        return priority
    value = PRIORITY_VALUES.get(priority.upper())
    if value is None:
        raise ValueError(f"log priority must be one of V D I W E F S, not {priority!r}")
    return value


@dataclass(frozen=True, slots=True)      # slots: a full device log is ~7600 records
class LogRecord:
    seq: int
    buffer: str
    time: float          # device time (seconds since the device's scheduler epoch)
    pid: int
    tid: int
    uid: int
    priority: int
    tag: str
    message: str

    @property
    def size(self) -> int:
        """What logd charges to the buffer: priority byte, tag and message with their NULs."""
        return 1 + len(self.tag.encode()) + 1 + len(self.message.encode()) + 1

    @property
    def letter(self) -> str:
        return PRIORITY_LETTERS[self.priority]


class _Ring:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: deque[LogRecord] = deque()
        self.used = 0
        # Ascending sequence numbers of pruned records, 8 bytes each (a deque of ints costs 40):
        # the last _PRUNED_MEMORY of them, trimmed in batches.
        self.pruned = array("q")

    def append(self, record: LogRecord) -> None:
        self.records.append(record)
        self.used += record.size
        self.prune()

    def prune(self) -> None:
        """Drop the oldest records until the buffer fits its capacity (one record always stays)."""
        while self.used > self.capacity and len(self.records) > 1:
            old = self.records.popleft()
            self.used -= old.size
            self.pruned.append(old.seq)
        if len(self.pruned) > _PRUNED_MEMORY + _PRUNED_MEMORY // 8:
            del self.pruned[:len(self.pruned) - _PRUNED_MEMORY]

    def clear(self) -> None:
        self.records.clear()
        self.used = 0

    def pruned_after(self, seq: int) -> int:
        return len(self.pruned) - bisect.bisect_right(self.pruned, seq)


class Logd:
    """The log daemon of one boot."""

    def __init__(self, sizes: dict[str, int] | None = None) -> None:
        sizes = sizes or {}
        unknown = set(sizes) - set(BUFFERS)
        if unknown:
            raise ValueError(f"unknown log buffer(s) {sorted(unknown)}; expected {', '.join(BUFFERS)}")
        self._rings = {name: _Ring(sizes.get(name, DEFAULT_SIZE)) for name in BUFFERS}
        self._seq = 0
        self._waiters: list[asyncio.Future[None]] = []
        self.closed = False

    # -- writers ------------------------------------------------------------------------------
    def write(self, buffer: str, *, time: float, pid: int, tid: int, uid: int,
              priority: str | int, tag: str, message: str) -> LogRecord:
        ring = self._ring(buffer)
        payload = message.encode()[:LOGGER_ENTRY_MAX_PAYLOAD].decode(errors="ignore")
        self._seq += 1
        record = LogRecord(self._seq, buffer, time, pid, tid, uid, priority_value(priority), tag, payload)
        ring.append(record)
        self._wake()
        return record

    def clear(self, buffer: str) -> None:
        self._ring(buffer).clear()

    def set_size(self, buffer: str, size: int) -> None:
        ring = self._ring(buffer)
        ring.capacity = size
        ring.prune()

    # -- readers ------------------------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        return self._seq

    def capacity(self, buffer: str) -> int:
        return self._ring(buffer).capacity

    def consumed(self, buffer: str) -> int:
        return self._ring(buffer).used

    def records(self, buffers: Iterable[str], after_seq: int = 0) -> list[LogRecord]:
        """Records of `buffers` newer than `after_seq`, oldest first."""
        chosen = [self._ring(name).records for name in buffers]
        merged = [r for records in chosen for r in records if r.seq > after_seq]
        merged.sort(key=lambda r: r.seq)
        return merged

    def dropped_after(self, buffers: Iterable[str], seq: int) -> int:
        """How many records newer than `seq` were pruned before anyone could read them."""
        return sum(self._ring(name).pruned_after(seq) for name in buffers)

    def reader(self, buffers: Iterable[str], after_seq: int = 0) -> "LogReader":
        return LogReader(self, tuple(buffers), after_seq)

    def close(self) -> None:
        """logd exits: its readers get end-of-file."""
        self.closed = True
        self._wake()

    async def wait_newer(self, seq: int) -> None:
        """Return once a record newer than `seq` exists (in any buffer) or logd has gone."""
        while self._seq <= seq and not self.closed:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future
            finally:
                if future in self._waiters:
                    self._waiters.remove(future)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _ring(self, buffer: str) -> _Ring:
        ring = self._rings.get(buffer)
        if ring is None:
            raise ValueError(f"unknown log buffer {buffer!r}; expected one of {', '.join(BUFFERS)}")
        return ring


class LogReader:
    """A position in the log that follows new records of some buffers."""

    def __init__(self, logd: Logd, buffers: tuple[str, ...], after_seq: int) -> None:
        self.logd = logd
        self.buffers = buffers
        self.position = after_seq
        self.dropped = 0          # records pruned before this reader got to them

    def read(self) -> list[LogRecord]:
        """Everything new since the last read (may be empty); counts what was pruned meanwhile."""
        self.dropped += self.logd.dropped_after(self.buffers, self.position)
        records = self.logd.records(self.buffers, self.position)
        self.position = max(self.position, self.logd.last_seq)
        return records

    @property
    def wrapped(self) -> bool:
        return self.dropped > 0

    async def next_batch(self) -> list[LogRecord]:
        """Wait until at least one new record of these buffers exists, then return all of them;
        EOFError once logd has gone (logcat's `read: unexpected EOF!`)."""
        while True:
            records = self.read()
            if records:
                return records
            if self.logd.closed:
                raise EOFError("logd closed the log socket")
            await self.logd.wait_newer(self.position)
