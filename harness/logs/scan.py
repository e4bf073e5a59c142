"""Find the few lines worth a regex in a large log, fast.

The input is read in large binary chunks. Each chunk is searched with `bytes.find` for the primary
anchors (literal text every primary pattern's match contains); companion anchors are searched only
within CONTEXT_BYTES of a primary hit, which may reach into the neighbouring chunks (companions
are only wanted near a primary). Line numbers come from counting newlines per chunk. Nothing is decoded or
parsed except the candidate lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

CHUNK_SIZE = 4 << 20       # bytes read at a time; about the size of a chunk
CONTEXT_BYTES = 512 << 10  # around a primary hit: seconds of even a busy log (~5000 lines)


@dataclass(frozen=True)
class RawLine:
    number: int           # 1-based
    data: bytes           # without the line ending


@dataclass
class _Chunk:
    data: bytes | bytearray          # only data[:end] belongs to the chunk
    end: int
    first_line: int                  # number of its first line
    primary_hits: list[int] = field(default_factory=list)   # line starts


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


def _line_starts(data: bytes | bytearray, anchors: Iterable[bytes], begin: int = 0, stop: int | None = None) -> set[int]:
    """Start offsets of the lines holding an anchor at an offset in [begin, stop)."""
    stop = len(data) if stop is None else stop
    starts: set[int] = set()
    for anchor in anchors:
        pos = data.find(anchor, begin, stop)
        while pos != -1:
            starts.add(data.rfind(b"\n", 0, pos) + 1)
            end = data.find(b"\n", pos)
            if end == -1:
                break
            pos = data.find(anchor, end, stop)   # the rest of this line is already a candidate
    return starts


def _lines_at(chunk: _Chunk, starts: set[int]) -> Iterator[RawLine]:
    data = chunk.data
    line = chunk.first_line
    previous = 0
    for start in sorted(starts):
        line += data.count(b"\n", previous, start)
        previous = start
        end = data.find(b"\n", start, chunk.end)
        text = bytes(data[start:chunk.end] if end == -1 else data[start:end])
        yield RawLine(line, text.removesuffix(b"\r"))


class CandidateScanner:
    """Feeds chunks through; collects candidate lines in line order, without duplicates."""

    def __init__(self, primary_anchors: Iterable[bytes], companion_anchors: Iterable[bytes]) -> None:
        self.primary_anchors = tuple(primary_anchors)
        self.companion_anchors = tuple(companion_anchors)
        self.lines = 0
        self.bytes = 0
        self._previous: _Chunk | None = None
        self._current: _Chunk | None = None      # waits for the next chunk, its companion context
        self._found: dict[int, RawLine] = {}

    def feed(self, data: bytes | bytearray, end: int | None = None) -> None:
        """One chunk: data[:end] (default: all of it), which ends at a line end unless last."""
        end = len(data) if end is None else end
        if end == 0:
            return
        chunk = _Chunk(data, end, self.lines + 1)
        self.lines += data.count(b"\n", 0, end) + (0 if data[end - 1] == 0x0A else 1)
        self.bytes += end
        starts = _line_starts(data, self.primary_anchors, 0, end)
        if starts:
            chunk.primary_hits = sorted(starts)
            self._take(chunk, starts)
        if self._current is not None:
            self._companions_near(self._previous, self._current, chunk)
        self._previous, self._current = self._current, chunk

    def finish(self) -> list[RawLine]:
        if self._current is not None:
            self._companions_near(self._previous, self._current, None)
        self._previous = self._current = None
        return [self._found[n] for n in sorted(self._found)]

    def _companions_near(self, before: _Chunk | None, chunk: _Chunk, after: _Chunk | None) -> None:
        """Companion lines within CONTEXT_BYTES of each primary hit of `chunk`."""
        for hit in chunk.primary_hits:
            begin, stop = hit - CONTEXT_BYTES, hit + CONTEXT_BYTES
            self._take(chunk, _line_starts(chunk.data, self.companion_anchors, max(0, begin), min(stop, chunk.end)))
            if begin < 0 and before is not None:
                self._take(before, _line_starts(before.data, self.companion_anchors,
                                                max(0, before.end + begin), before.end))
            if stop > chunk.end and after is not None:
                self._take(after, _line_starts(after.data, self.companion_anchors, 0,
                                               min(after.end, stop - chunk.end)))

    def _take(self, chunk: _Chunk, starts: set[int]) -> None:
        for line in _lines_at(chunk, starts):
            self._found.setdefault(line.number, line)
