"""Find the few lines worth a regex in a large log, fast: the candidate lines.

Candidates are (1) every line that contains a primary anchor (literal text every primary
pattern's match contains) and (2) every line with a companion anchor lying wholly inside the
windows around the primary lines: the union of [s - CONTEXT_BYTES, s + CONTEXT_BYTES) over the
byte offsets s where primary lines start (companions are only wanted near a primary, and
searching for them everywhere would cost a pass over the input per anchor). Line numbers count
"\\n"; a last line without one counts too.

This module scans a stream (pipes, decompressors, text in memory); `filescan` gives the same
candidates for a regular file by random access, in parallel. Anchors never contain "\\n"
(`signature_specs` refuses them), so an anchor never spans two lines and input can be cut at
any line end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from harness.logs.memmem import Find, finder

CHUNK_SIZE = 4 << 20       # bytes read at a time
CONTEXT_BYTES = 512 << 10  # around a primary line: seconds of even a busy log (~5000 lines)
MEMMEM_MIN_CHUNK = 1 << 20  # memmem (read_chunks' buffers) repays importing ctypes from one such chunk


@dataclass(frozen=True)
class RawLine:
    number: int           # 1-based
    data: bytes           # without the line ending


def whole_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Regroup blocks into chunks that end at a line end (the last one may not): each block's
    unfinished last line is carried to the next. A line longer than a block stays whole."""
    carry = b""
    for block in blocks:
        if not block:
            continue
        data = carry + block if carry else block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        if cut == len(data):
            carry = b""
            yield data
        else:
            carry = data[cut:]
            yield data[:cut]
    if carry:
        yield carry


def read_chunks(read_into: Callable[[memoryview], int | None]) -> Iterator[tuple[bytearray, int]]:
    """(buffer, end) chunks read straight into fresh buffers: buffer[:end] ends at a line end
    (the last chunk may not). Only the unfinished last line is copied, to the next buffer."""
    carry = b""
    while True:
        buf = bytearray(len(carry) + CHUNK_SIZE)
        buf[:len(carry)] = carry
        total = len(carry)
        view = memoryview(buf)
        while total < len(buf) and (n := read_into(view[total:]) or 0):
            total += n                        # pipes and decompressors hand over less per call
        view.release()
        if total == len(carry):
            if carry:
                yield buf, total
            return
        cut = buf.rfind(b"\n", 0, total) + 1
        if cut == 0:                          # a line longer than a chunk: keep reading it
            carry = bytes(buf[:total])
            continue
        yield buf, cut
        carry = bytes(buf[cut:total])


def line_starts(data: bytes | bytearray, anchors: Iterable[bytes], begin: int = 0, stop: int | None = None,
                find: Find | None = None) -> set[int]:
    """Start offsets of the lines holding an anchor wholly inside data[begin:stop]. `find`
    searches data for an anchor like data.find (the default) does."""
    stop = len(data) if stop is None else stop
    find = find or data.find
    starts: set[int] = set()
    for anchor in anchors:
        pos = find(anchor, begin, stop)
        while pos != -1:
            starts.add(data.rfind(b"\n", 0, pos) + 1)
            end = data.find(b"\n", pos)
            if end == -1:
                break
            pos = find(anchor, end, stop)        # the rest of this line is already a candidate
    return starts


def lines_at(data: bytes | bytearray, end: int, first_line: int, starts: Iterable[int]) -> Iterator[RawLine]:
    """The lines starting at `starts` of data[:end], which begins with line number `first_line`."""
    line, previous = first_line, 0
    for start in sorted(starts):
        line += data.count(b"\n", previous, start)
        previous = start
        stop = data.find(b"\n", start, end)
        text = bytes(data[start:end] if stop == -1 else data[start:stop])
        yield RawLine(line, text.removesuffix(b"\r"))


@dataclass(frozen=True)
class _Chunk:
    offset: int                      # of data[0] in the input
    data: bytes | bytearray          # only data[:end] belongs to the chunk
    end: int
    first_line: int                  # number of its first line


class CandidateScanner:
    """Feeds chunks through; collects the candidate lines in line order, without duplicates.

    Windows that overlap are merged; the open one is searched as far as it cannot change any
    more (up to the last whole line that is in it and read), so only the chunks that a window
    may still reach are kept: memory stays near 2 * context + one chunk whatever the hits.
    """

    def __init__(self, primary_anchors: Iterable[bytes], companion_anchors: Iterable[bytes],
                 context: int = CONTEXT_BYTES) -> None:
        self.primary_anchors = tuple(primary_anchors)
        self.companion_anchors = tuple(companion_anchors)
        self.context = context
        self.lines = 0
        self.bytes = 0
        self._chunks: deque[_Chunk] = deque()
        self._window: list[int] | None = None   # [begin, stop) of the open window
        self._searched = 0                      # the open window is searched up to here
        self._found: dict[int, RawLine] = {}

    def feed(self, data: bytes | bytearray, end: int | None = None) -> None:
        """One chunk: data[:end] (default: all of it), which ends at a line end unless last."""
        end = len(data) if end is None else end
        if end == 0:
            return
        chunk = _Chunk(self.bytes, data, end, self.lines + 1)
        self._chunks.append(chunk)
        self.lines += data.count(b"\n", 0, end) + (0 if data[end - 1] == 0x0A else 1)
        self.bytes += end
        fast = isinstance(data, bytearray) and end >= MEMMEM_MIN_CHUNK
        starts = line_starts(data, self.primary_anchors, 0, end, finder(data) if fast else None)
        if starts:
            self._take(chunk, starts)
            for start in sorted(starts):
                self._open(chunk.offset + start)
        self._search_window(final=False)
        self._release()

    def finish(self) -> list[RawLine]:
        if self._window is not None:
            self._search_window(final=True)
        self._chunks.clear()
        return [self._found[n] for n in sorted(self._found)]

    def _open(self, hit: int) -> None:
        begin, stop = max(0, hit - self.context), hit + self.context
        if self._window is not None and begin <= self._window[1]:
            self._window[1] = stop
            return
        if self._window is not None:
            self._search_window(final=True)  # ends before this hit's window: all of it is read
        self._window, self._searched = [begin, stop], begin

    def _search_window(self, final: bool) -> None:
        """Companion lines in the open window from where the last search stopped: up to its end
        when final, else up to the last line end read that is inside it (the window may grow)."""
        if self._window is None:
            return
        stop = self._window[1]
        if not final and stop > self.bytes:
            stop = self.bytes             # the chunks end at line ends
        elif not final:
            stop = self._line_start_at(stop)
        for chunk in self._chunks:
            begin = max(self._searched - chunk.offset, 0)
            end = min(stop - chunk.offset, chunk.end)
            if begin < end:
                self._take(chunk, line_starts(chunk.data, self.companion_anchors, begin, end))
        self._searched = max(self._searched, stop)
        if final:
            self._window = None

    def _line_start_at(self, offset: int) -> int:
        """Start of the line that holds `offset` (a kept chunk holds it)."""
        for chunk in self._chunks:
            if chunk.offset <= offset < chunk.offset + chunk.end:
                return chunk.offset + chunk.data.rfind(b"\n", 0, offset - chunk.offset) + 1
        return offset

    def _release(self) -> None:
        # Later windows begin at or after (bytes read - context); the open one at `_searched`.
        keep_from = self.bytes - self.context
        if self._window is not None:
            keep_from = min(keep_from, self._searched)
        while self._chunks and self._chunks[0].offset + self._chunks[0].end <= keep_from:
            self._chunks.popleft()

    def _take(self, chunk: _Chunk, starts: set[int]) -> None:
        for line in lines_at(chunk.data, chunk.end, chunk.first_line, starts):
            self._found.setdefault(line.number, line)
