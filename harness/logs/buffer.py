"""A bounded, thread-safe record of one device's log lines, with positions, queries and waits.

Every line gets a position (0, 1, 2, ... for the whole life of the buffer); `mark()` is the
position the next line will get, so `excerpt(since=mark)` is "everything logged after the mark".
Markers (gap, reboot, resumed, lost, overflow) are lines too, so an excerpt never hides that
lines may be missing. Waits are event-driven: a condition variable is notified on every append.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from harness.logs.records import parse_line, seconds_of
from harness.logs.sequence import PatternLike, SequenceMatcher, compile_patterns
from harness.parsers.logcat import LogEntry

DEFAULT_CAPACITY = 200_000
_SHOWN_ON_TIMEOUT = 20        # last lines quoted in a wait_for timeout


@dataclass(frozen=True)
class LogLine:
    position: int
    text: str
    entry: LogEntry | None           # None for non-logcat text and markers
    seconds: float | None            # device time on the records.seconds_of axis
    marker: str | None = None        # "gap", "reboot", "resumed", "lost", "overflow"

    @property
    def tag(self) -> str | None:
        return self.entry.tag if self.entry else None

    @property
    def level(self) -> str | None:
        return self.entry.priority if self.entry else None

    @property
    def message(self) -> str:
        return self.entry.message if self.entry else self.text

    @property
    def timestamp(self) -> str | None:
        return self.entry.time.text if self.entry and self.entry.time else None


Since = int | str | float | None   # a mark (position), a printed device time, or seconds


class LogcatTimeout(AssertionError):
    """The expected lines did not appear in time. An AssertionError: the device did not log
    what the test expects (the stream itself failing is reported as a marker, not hidden)."""


class LogBuffer:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be a positive number of lines, got {capacity!r}")
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._next = 0
        self._cond = threading.Condition()
        self._closed = False

    # -- writing ------------------------------------------------------------------------------
    def append(self, text: str) -> LogLine:
        entry = parse_line(text)
        return self._append(text, entry, seconds_of(entry.time) if entry else None, None)

    def append_marker(self, marker: str, text: str, seconds: float | None = None) -> LogLine:
        return self._append(f"--- {marker}: {text} ---", None, seconds, marker)

    def _append(self, text: str, entry: LogEntry | None, seconds: float | None, marker: str | None) -> LogLine:
        with self._cond:
            line = LogLine(self._next, text, entry, seconds, marker)
            self._lines.append(line)
            self._next += 1
            self._cond.notify_all()
            return line

    def close(self) -> None:
        """No more lines will come: waits return (or time out) at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- reading ------------------------------------------------------------------------------
    def mark(self) -> int:
        with self._cond:
            return self._next

    def __len__(self) -> int:
        with self._cond:
            return len(self._lines)

    def _start(self, since: Since) -> int:
        """Position of the first line at or after `since` (caller holds the lock)."""
        if since is None:
            return self._lines[0].position if self._lines else self._next
        if isinstance(since, int) and not isinstance(since, bool):
            return since
        seconds = since if isinstance(since, float) else _parse_time(since)
        for line in self._lines:
            if line.seconds is not None and line.seconds >= seconds:
                return line.position
        return self._next

    def _slice(self, start: int, until: Since = None) -> list[LogLine]:
        first = self._lines[0].position if self._lines else self._next
        out: list[LogLine] = []
        if start < first:
            out.append(LogLine(start, f"--- overflow: {first - start} line(s) dropped from the host "
                                      f"buffer (capacity {self._lines.maxlen}) ---", None, None, "overflow"))
        end = self._next if until is None else self._start(until)
        out.extend(self._lines[i] for i in range(max(0, start - first), max(0, end - first)))
        return out

    def excerpt(self, since: Since = None, until: Since = None) -> list[LogLine]:
        """Lines from `since` (mark, device time "MM-DD HH:MM:SS.mmm" or seconds) up to `until`."""
        with self._cond:
            return self._slice(self._start(since), until)

    def text(self, since: Since = None, until: Since = None) -> str:
        return "".join(line.text + "\n" for line in self.excerpt(since, until))

    def lines(self, since: Since = None, *, tag: str | None = None, level: str | None = None,
              pattern: PatternLike | None = None) -> list[LogLine]:
        """Logcat lines since `since` with this tag, at this level or above, whose line matches."""
        regex = compile_patterns(pattern)[0] if pattern is not None else None
        minimum = _LEVELS.index(level) if level is not None else 0
        return [line for line in self.excerpt(since)
                if line.entry is not None
                and (tag is None or line.tag == tag)
                and (level is None or (line.level in _LEVELS and _LEVELS.index(line.level) >= minimum))
                and (regex is None or regex.search(line.text))]

    # -- waiting and asserting ----------------------------------------------------------------
    def wait_for(self, patterns: PatternLike | Iterable[PatternLike], timeout: float, *,
                 in_order: bool = True, since: Since = None) -> list[LogLine]:
        """Block until the patterns have matched lines logged since `since` (default: now).

        Returns the matched lines (one per pattern). LogcatTimeout names what matched, what
        did not, and quotes the last lines seen."""
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        matcher = SequenceMatcher(patterns, in_order)
        deadline = time.monotonic() + timeout
        with self._cond:
            position = self._next if since is None else self._start(since)
            while True:
                for line in self._slice(position):
                    position = line.position + 1
                    if matcher.feed(line):
                        return list(matcher.matched)   # type: ignore[arg-type]
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    break
                self._cond.wait(left)
            seen = self._slice(max(0, position - _SHOWN_ON_TIMEOUT))
        why = "the log stream was closed" if self._closed else f"{timeout:g}s passed"
        raise LogcatTimeout(f"expected log lines did not appear ({why}):\n{matcher.describe()}\n"
                            f"last lines seen:\n" + "\n".join(f"  {line.text}" for line in seen))

    def assert_sequence(self, patterns: Iterable[PatternLike], *, within: float | None = None,
                        since: Since = None) -> list[LogLine]:
        """The patterns match recorded lines in this order (and the first to the last match took
        at most `within` device seconds). Returns the matched lines; AssertionError otherwise."""
        matcher = SequenceMatcher(patterns, in_order=True)
        if not matcher.feed_all(self.excerpt(since)):
            raise AssertionError(f"log sequence incomplete; first missing step: "
                                 f"{matcher.missing()[0]!r}\n{matcher.describe()}")
        matched: list[LogLine] = list(matcher.matched)   # type: ignore[arg-type]
        if within is not None:
            first, last = matched[0].seconds, matched[-1].seconds
            if first is None or last is None:
                raise AssertionError("log sequence has lines without device time; cannot check 'within'")
            if last - first > within:
                raise AssertionError(f"log sequence took {last - first:.3f}s, more than {within:g}s:\n"
                                     f"{matcher.describe()}")
        return matched


_LEVELS = "VDIWEFA"


def _parse_time(text: str) -> float:
    entry = parse_line(f"{text}     0     0 I since: x")
    value = seconds_of(entry.time) if entry else None
    if value is None:
        raise ValueError(f"expected a device time like '04-30 09:25:47.894', got {text!r}")
    return value
