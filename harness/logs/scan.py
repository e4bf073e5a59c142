"""Find the few lines worth a regex in a large log, fast.

The input is read in large binary chunks. Each chunk is searched with `bytes.find` for the primary
anchors (literal text every primary pattern's match contains); only when a chunk holds a primary
hit are the companion anchors searched, in that chunk and its two neighbours (companions are only
wanted near a primary). Line numbers come from counting newlines per chunk. Nothing is decoded or
parsed except the candidate lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

CHUNK_SIZE = 8 << 20


@dataclass(frozen=True)
class RawLine:
    number: int           # 1-based
    data: bytes           # without the line ending


@dataclass
class _Chunk:
    data: bytes
    first_line: int                  # number of its first line
    primary_hits: bool = False
    companions_scanned: bool = False


def whole_lines(blocks: Iterable[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Regroup arbitrary blocks into chunks of about chunk_size that end at a line end
    (the last one may not). A line longer than a chunk stays whole."""
    pending: list[bytes] = []
    size = 0
    for block in blocks:
        if not block:
            continue
        pending.append(block)
        size += len(block)
        if size < chunk_size:
            continue
        data = b"".join(pending)
        cut = data.rfind(b"\n") + 1
        if cut == 0:                       # no line end yet: keep accumulating
            pending, size = [data], len(data)
            continue
        yield data[:cut]
        rest = data[cut:]
        pending, size = ([rest], len(rest)) if rest else ([], 0)
    if size:
        yield b"".join(pending)


def _line_starts(data: bytes, anchors: Iterable[bytes]) -> set[int]:
    starts: set[int] = set()
    for anchor in anchors:
        pos = data.find(anchor)
        while pos != -1:
            starts.add(data.rfind(b"\n", 0, pos) + 1)
            end = data.find(b"\n", pos)
            if end == -1:
                break
            pos = data.find(anchor, end)   # the rest of this line is already a candidate
    return starts


def _lines_at(chunk: _Chunk, starts: set[int]) -> Iterator[RawLine]:
    data = chunk.data
    line = chunk.first_line
    previous = 0
    for start in sorted(starts):
        line += data.count(b"\n", previous, start)
        previous = start
        end = data.find(b"\n", start)
        text = data[start:] if end == -1 else data[start:end]
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

    def feed(self, data: bytes) -> None:
        if not data:
            return
        chunk = _Chunk(data, self.lines + 1)
        self.lines += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        self.bytes += len(data)
        starts = _line_starts(data, self.primary_anchors)
        if starts:
            chunk.primary_hits = True
            self._take(chunk, starts)
        if self._current is not None:
            self._companions_near(self._current, (self._previous, self._current, chunk))
        self._previous, self._current = self._current, chunk

    def finish(self) -> list[RawLine]:
        if self._current is not None:
            self._companions_near(self._current, (self._previous, self._current))
        self._previous = self._current = None
        return [self._found[n] for n in sorted(self._found)]

    def _companions_near(self, chunk: _Chunk, neighbourhood: tuple[_Chunk | None, ...]) -> None:
        if not chunk.primary_hits:
            return
        for near in neighbourhood:
            if near is not None and not near.companions_scanned:
                near.companions_scanned = True
                self._take(near, _line_starts(near.data, self.companion_anchors))

    def _take(self, chunk: _Chunk, starts: set[int]) -> None:
        for line in _lines_at(chunk, starts):
            self._found.setdefault(line.number, line)
