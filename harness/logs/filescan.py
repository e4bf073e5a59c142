"""The candidate lines of a regular file, by random access and in parallel.

The same candidates as `scan.CandidateScanner` (its docstring says which lines), in two steps:

1. The file is cut at line starts into one range per worker. Each range is read in line-aligned
   chunks into one reused buffer (fresh buffers cost page faults: 0.10 s instead of 0.03 s per
   200 MB), searched for the primary anchors, and its newlines are counted. The CPU work (about
   1.2 ms per MB and anchor, 0.8 ms per MB of counting) splits across processes: workers are
   forked children (this process scans the first range) that send their hits back by a pipe.
2. The windows around the primary lines are merged and read again for the companion anchors.
   Their line numbers come from the primary lines' numbers, counted from there.

A worker that fails, or is not done within a time proportional to the input, is stopped and its
range scanned here instead: the result never depends on the workers.
"""

from __future__ import annotations

import marshal
import os
import select
import signal
import sys
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.logs.memmem import finder
from harness.logs.scan import CHUNK_SIZE, CONTEXT_BYTES, RawLine, line_starts, lines_at

MEMMEM_MIN_BYTES = 4 << 20     # from here memmem's speed pays for importing ctypes
MIN_RANGE_BYTES = 32 << 20      # a worker's fork and pipe cost about what scanning 1 MB does
MAX_WORKERS = 8
WORKER_TIME_FLOOR = 10.0        # seconds a worker may take, plus...
WORKER_SECONDS_PER_BYTE = 1 / (10 << 20)   # ...10 MB/s, ~50 times slower than a worker runs
_SEARCH_BLOCK = 64 << 10        # read size when looking for a line end


class FileChangedError(OSError):
    """The file became shorter while it was read."""


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
              chunk_size: int = CHUNK_SIZE) -> FileScan:
    """The candidates of the regular file open as `fd`, from offset `start` to its end.

    OSError (FileChangedError when it shrinks) when the file cannot be read to its end."""
    size = os.fstat(fd).st_size
    if size <= start:
        return FileScan([], 0, 0)
    bounds = _range_bounds(fd, start, size, workers)
    ranges = list(zip(bounds, bounds[1:]))
    counts = _scan_ranges(fd, ranges, tuple(primary_anchors), chunk_size,
                          timeout=WORKER_TIME_FLOOR + size * WORKER_SECONDS_PER_BYTE)
    hits: list[tuple[int, int]] = []         # (offset of a primary line, its line number)
    newlines = 0
    for range_newlines, range_hits in counts:
        hits.extend((offset, newlines + before + 1) for offset, before in range_hits)
        newlines += range_newlines
    unfinished = os.pread(fd, 1, size - 1) != b"\n"
    found: dict[int, RawLine] = {}
    buffer = bytearray(chunk_size)
    for begin, stop, inside in _windows(hits, context, start, size):
        for line in _window_lines(fd, begin, stop, inside, tuple(companion_anchors), start, size, buffer):
            found.setdefault(line.number, line)
    return FileScan([found[n] for n in sorted(found)], newlines + unfinished, size - start)


# -- step 1: the ranges -----------------------------------------------------------------------

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


def _range_bounds(fd: int, start: int, size: int, workers: int) -> list[int]:
    bounds = [start]
    for k in range(1, workers):
        bound = _next_line_start(fd, max(start, start + (size - start) * k // workers - 1), size)
        if bounds[-1] < bound < size:
            bounds.append(bound)
    return bounds + [size]


RangeCount = tuple[int, list[tuple[int, int]]]   # newlines; (offset, newlines before it) per primary line


def _scan_range(fd: int, start: int, stop: int, anchors: tuple[bytes, ...], chunk_size: int) -> RangeCount:
    newlines = 0
    hits: list[tuple[int, int]] = []
    fast = stop - start >= MEMMEM_MIN_BYTES
    for offset, data, end in _line_chunks(fd, start, stop, bytearray(chunk_size)):
        starts = line_starts(data, anchors, 0, end, finder(data) if fast else None)
        if starts:
            before, previous = newlines, 0
            for line_start in sorted(starts):
                before += data.count(b"\n", previous, line_start)
                previous = line_start
                hits.append((offset + line_start, before))
        newlines += data.count(b"\n", 0, end)
    return newlines, hits


class _Worker:
    """A forked child scanning one range; its count comes back marshalled through a pipe."""

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

    def count(self, deadline: float) -> RangeCount | None:
        """The worker's count, or None when it failed or did not finish by `deadline`."""
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
            newlines, hits = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        return newlines, hits

    def stop(self) -> None:
        if self.running:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.running = False
        os.close(self.pipe)


def _scan_ranges(fd: int, ranges: list[tuple[int, int]], anchors: tuple[bytes, ...], chunk_size: int,
                 timeout: float) -> list[RangeCount]:
    workers: list[_Worker] = []
    try:
        for start, stop in ranges[1:]:
            try:
                workers.append(_Worker(fd, start, stop, anchors, chunk_size))
            except OSError:
                break                           # no more processes: the rest is scanned here
        counts = [_scan_range(fd, *ranges[0], anchors, chunk_size)]
        deadline = time.monotonic() + timeout
        for index, (start, stop) in enumerate(ranges[1:]):
            count = workers[index].count(deadline) if index < len(workers) else None
            counts.append(count if count is not None else _scan_range(fd, start, stop, anchors, chunk_size))
        return counts
    finally:
        for worker in workers:
            worker.stop()


# -- step 2: the windows ----------------------------------------------------------------------

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
                  start: int, size: int, buffer: bytearray) -> list[RawLine]:
    """The primary lines of one window and its companion lines, numbered from its first primary."""
    primaries = [offset for offset, _ in hits]          # in order
    first_hit, first_hit_number = hits[0]
    lines: list[RawLine] = []                 # numbered from 0 at the window's first line
    newlines, shift = 0, 0
    stop_line = _next_line_start(fd, stop - 1, size)
    for offset, data, end in _line_chunks(fd, _line_start(fd, begin, start), stop_line, buffer):
        starts = line_starts(data, companions, max(begin - offset, 0), min(stop - offset, end))
        starts.update(p - offset for p in primaries[bisect_left(primaries, offset):bisect_left(primaries, offset + end)])
        lines.extend(lines_at(data, end, newlines, starts))
        if offset <= first_hit < offset + end:
            shift = first_hit_number - newlines - data.count(b"\n", 0, first_hit - offset)
        newlines += data.count(b"\n", 0, end)
    return [RawLine(line.number + shift, line.data) for line in lines]
