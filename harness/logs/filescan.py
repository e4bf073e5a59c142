"""The candidate lines of a regular file, by random access and in parallel.

The same candidates as `scan.CandidateScanner` (its docstring says which lines), in three steps:

1. The file is cut at line starts into one range per worker. Each range is read in line-aligned
   chunks into one reused buffer (fresh buffers cost page faults: 0.10 s instead of 0.03 s per
   200 MB) and searched for the primary anchors (memmem: about 0.5 ms per MB and anchor). The
   workers are forked children (this process scans the first range) that send the offsets of
   their primary lines back through a pipe.
2. Meanwhile `newlines` counts the newlines of fixed segments of the file (in `wc -l` when it
   can, else here afterwards); a primary line's number is its segment's count plus a count from
   there.
3. The windows around the primary lines are merged and read again for the companion anchors,
   numbered from the primary lines' numbers.

A worker (or wc) that fails, or is not done within a time proportional to the input, is stopped
and its work done here instead: the result never depends on the helpers.
"""

from __future__ import annotations

import marshal
import os
import select
import signal
import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.logs import memmem
from harness.logs.memmem import finder
from harness.logs.newlines import (WC_MIN_BYTES, FileChangedError, WcCounter, count_between, segment_bounds,
                                   wc_available)
from harness.logs.scan import CHUNK_SIZE, CONTEXT_BYTES, RawLine, line_starts, lines_at

MEMMEM_MIN_BYTES = 4 << 20     # from here memmem's speed pays for importing ctypes
MIN_RANGE_BYTES = 32 << 20     # a worker saves ~10 ms from here on; its fork and pipe cost ~2 ms
MAX_WORKERS = 8
WORKER_TIME_FLOOR = 10.0       # seconds a helper (worker, wc) may take, plus...
WORKER_SECONDS_PER_BYTE = 1 / (10 << 20)   # ...10 MB/s, 100 times slower than a worker searches
_SEARCH_BLOCK = 64 << 10        # read size when looking for a line end


@dataclass(frozen=True)
class FileScan:
    lines: list[RawLine]        # the candidates, in line order
    line_count: int
    byte_count: int


def default_workers(size: int) -> int:
    """Workers worth using for `size` bytes here: one per CPU we may run on, each with at least
    MIN_RANGE_BYTES; one when this process cannot fork safely (other threads running)."""
    if not hasattr(os, "fork") or ("threading" in sys.modules and sys.modules["threading"].active_count() > 1):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, MAX_WORKERS, size // MIN_RANGE_BYTES))


def scan_file(fd: int, primary_anchors: Sequence[bytes], companion_anchors: Sequence[bytes], *,
              start: int = 0, workers: int = 1, context: int = CONTEXT_BYTES,
              chunk_size: int = CHUNK_SIZE, use_wc: bool | None = None) -> FileScan:
    """The candidates of the regular file open as `fd`, from offset `start` to its end.
    `use_wc`: count newlines with wc (default: when it is available and the input is large).

    OSError (FileChangedError when it shrinks) when the file cannot be read to its end."""
    size = os.fstat(fd).st_size
    if size <= start:
        return FileScan([], 0, 0)
    bounds = _range_bounds(fd, start, size, workers)
    segments = segment_bounds(start, size)
    timeout = WORKER_TIME_FLOOR + size * WORKER_SECONDS_PER_BYTE
    if use_wc is None:
        use_wc = size - start >= WC_MIN_BYTES and wc_available()
    offsets, counts = _primary_lines(fd, list(zip(bounds, bounds[1:])), tuple(primary_anchors), chunk_size,
                                     segments, use_wc, timeout)
    buffer = bytearray(chunk_size)
    if counts is None:
        counts = [count_between(fd, begin, stop, buffer) for begin, stop in zip(segments, segments[1:])]
    hits = _numbered(fd, offsets, segments, counts, buffer)
    unfinished = os.pread(fd, 1, size - 1) != b"\n"
    found: dict[int, RawLine] = {}
    companions, fast = tuple(companion_anchors), size - start >= MEMMEM_MIN_BYTES
    for begin, stop, inside in _windows(hits, context, start, size):
        for line in _window_lines(fd, begin, stop, inside, companions, start, size, buffer, fast):
            found.setdefault(line.number, line)
    return FileScan([found[n] for n in sorted(found)], sum(counts) + unfinished, size - start)


# -- reading whole lines ----------------------------------------------------------------------

def _line_chunks(fd: int, start: int, stop: int, buffer: bytearray) -> Iterator[tuple[int, bytearray, int]]:
    """(offset, buffer, end): buffer[:end] holds the whole lines of the file from `offset` on,
    up to `stop` (a line start, or the end of the file). The buffer is reused and grows to hold
    a line longer than it: use each chunk before asking for the next."""
    position = start
    while position < stop:
        read = os.preadv(fd, [buffer], position)
        if read < min(len(buffer), stop - position):      # a regular file reads short only at its end
            raise FileChangedError(f"file shrank while being read (at byte {position + read})")
        end = min(read, stop - position)
        if position + end < stop:
            cut = buffer.rfind(b"\n", 0, end) + 1
            if cut == 0:                      # a line longer than the buffer: read it whole
                buffer.extend(bytes(len(buffer)))
                continue
            end = cut
        yield position, buffer, end
        position += end


def _next_line_start(fd: int, position: int, size: int) -> int:
    """The start of the first line that begins after `position` (or the end of the file)."""
    while position < size:
        block = os.pread(fd, _SEARCH_BLOCK, position)
        if not block:
            break
        newline = block.find(b"\n")
        if newline != -1:
            return position + newline + 1
        position += len(block)
    return size


def _line_start(fd: int, position: int, floor: int) -> int:
    """The start of the line that holds `position` (no earlier than `floor`)."""
    while position > floor:
        base = max(floor, position - _SEARCH_BLOCK)
        newline = os.pread(fd, position - base, base).rfind(b"\n")
        if newline != -1:
            return base + newline + 1
        position = base
    return floor


# -- step 1: the primary lines, in parallel ---------------------------------------------------

def _range_bounds(fd: int, start: int, size: int, workers: int) -> list[int]:
    bounds = [start]
    for k in range(1, workers):
        bound = _next_line_start(fd, max(start, start + (size - start) * k // workers - 1), size)
        if bounds[-1] < bound < size:
            bounds.append(bound)
    return bounds + [size]


def _scan_range(fd: int, start: int, stop: int, anchors: tuple[bytes, ...], chunk_size: int) -> list[int]:
    """The offsets of the lines in [start, stop) that hold a primary anchor, in order."""
    offsets: list[int] = []
    fast = stop - start >= MEMMEM_MIN_BYTES
    for offset, data, end in _line_chunks(fd, start, stop, bytearray(chunk_size)):
        starts = line_starts(data, anchors, 0, end, finder(data) if fast else None)
        offsets.extend(offset + line_start for line_start in sorted(starts))
    return offsets


class _Worker:
    """A forked child scanning one range; its offsets come back marshalled through a pipe."""

    def __init__(self, fd: int, start: int, stop: int, anchors: tuple[bytes, ...], chunk_size: int) -> None:
        read_end, write_end = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if self.pid == 0:                      # the child: scan, send, leave without cleanup
            status = 1
            try:
                os.close(read_end)
                with open(write_end, "wb") as pipe:
                    pipe.write(marshal.dumps(_scan_range(fd, start, stop, anchors, chunk_size)))
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self.pipe = read_end
        self.running = True

    def offsets(self, deadline: float) -> list[int] | None:
        """The worker's offsets, or None when it failed or did not finish by `deadline`."""
        data = bytearray()
        while (left := deadline - time.monotonic()) > 0 and select.select([self.pipe], [], [], left)[0]:
            block = os.read(self.pipe, 1 << 20)
            if not block:
                break
            data += block
        else:
            return None                        # out of time: stop() kills it
        _, status = os.waitpid(self.pid, 0)
        self.running = False
        if status != 0:
            return None
        try:
            offsets = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        return offsets if isinstance(offsets, list) else None

    def stop(self) -> None:
        if self.running:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.running = False
        os.close(self.pipe)


def _primary_lines(fd: int, ranges: list[tuple[int, int]], anchors: tuple[bytes, ...], chunk_size: int,
                   segments: list[int], use_wc: bool, timeout: float) -> tuple[list[int], list[int] | None]:
    """(offsets of the primary lines, newlines per segment or None when wc did not count them)."""
    workers: list[_Worker] = []
    counter: WcCounter | None = None
    if any(stop - start >= MEMMEM_MIN_BYTES for start, stop in ranges[1:]):
        memmem.available()     # imports ctypes now: a forked child must not need the import lock
    try:
        for start, stop in ranges[1:]:
            try:
                workers.append(_Worker(fd, start, stop, anchors, chunk_size))
            except OSError:
                break                           # no more processes: the rest is scanned here
        if use_wc:                              # after forking: the workers must not hold its pipes
            try:
                counter = WcCounter(fd, segments)
            except OSError:
                counter = None
        offsets = _scan_range(fd, *ranges[0], anchors, chunk_size)
        deadline = time.monotonic() + timeout
        for index, (start, stop) in enumerate(ranges[1:]):
            found = workers[index].offsets(deadline) if index < len(workers) else None
            offsets.extend(found if found is not None else _scan_range(fd, start, stop, anchors, chunk_size))
        counts = counter.counts(timeout) if counter is not None else None
        return offsets, counts
    finally:
        for worker in workers:
            worker.stop()
        if counter is not None:
            counter.close()


# -- step 2: their line numbers ----------------------------------------------------------------

def _numbered(fd: int, offsets: list[int], segments: list[int], counts: list[int],
              buffer: bytearray) -> list[tuple[int, int]]:
    """(offset, line number) of each line start in `offsets` (in order), from the segments'
    newline counts and a count from the segment's start or the previous offset in it."""
    before_segment = [0]
    for count in counts:
        before_segment.append(before_segment[-1] + count)
    numbered: list[tuple[int, int]] = []
    for offset in offsets:
        index = bisect_right(segments, offset) - 1
        origin, before = segments[index], before_segment[index]
        if numbered and numbered[-1][0] >= origin:        # the previous one is in this segment
            origin, before = numbered[-1][0], numbered[-1][1] - 1
        numbered.append((offset, before + count_between(fd, origin, offset, buffer) + 1))
    return numbered


# -- step 3: the windows ----------------------------------------------------------------------

def _windows(hits: list[tuple[int, int]], context: int, start: int,
             size: int) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(begin, stop, the hits inside) of the merged windows around the primary lines."""
    windows: list[tuple[int, int, list[tuple[int, int]]]] = []
    for hit in hits:
        begin, stop = max(start, hit[0] - context), min(size, hit[0] + context)
        if windows and begin <= windows[-1][1]:
            windows[-1] = (windows[-1][0], stop, windows[-1][2])
            windows[-1][2].append(hit)
        else:
            windows.append((begin, stop, [hit]))
    return windows


def _window_lines(fd: int, begin: int, stop: int, hits: list[tuple[int, int]], companions: tuple[bytes, ...],
                  start: int, size: int, buffer: bytearray, fast: bool) -> list[RawLine]:
    """The primary lines of one window and its companion lines, numbered from its first primary."""
    primaries = [offset for offset, _ in hits]          # in order
    first_hit, first_hit_number = hits[0]
    lines: list[RawLine] = []                 # numbered from 0 at the window's first line
    newlines, shift = 0, 0
    stop_line = _next_line_start(fd, stop - 1, size)
    for offset, data, end in _line_chunks(fd, _line_start(fd, begin, start), stop_line, buffer):
        starts = line_starts(data, companions, max(begin - offset, 0), min(stop - offset, end),
                             finder(data) if fast else None)
        starts.update(p - offset for p in primaries[bisect_left(primaries, offset):bisect_left(primaries, offset + end)])
        lines.extend(lines_at(data, end, newlines, starts))
        if offset <= first_hit < offset + end:
            shift = first_hit_number - newlines - data.count(b"\n", 0, first_hit - offset)
        newlines += data.count(b"\n", 0, end)
    return [RawLine(line.number + shift, line.data) for line in lines]
