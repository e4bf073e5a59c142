"""One logcat line as the logs package uses it: the parser's entry plus a comparable time.

Parsing is `harness.parsers.logcat`'s job; this module only adapts its result to per-line use
and turns printed timestamps into seconds for time windows.
"""

from __future__ import annotations

import datetime

from harness.parsers.logcat import LogEntry, LogTime, parse_logcat

_YEAR_WHEN_UNPRINTED = 2000   # a leap year, so that 02-29 stamps stay valid


def parse_line(text: str) -> LogEntry | None:
    """The logcat entry on one line, or None when the line is not a logcat line."""
    entries = parse_logcat(text).entries
    return entries[0] if entries else None


def seconds_of(time: LogTime | None) -> float | None:
    """Seconds on one comparable axis: since 1970 for epoch stamps, otherwise since the start of
    a fixed reference calendar (threadtime prints no year; windows that cross New Year's Eve are
    not handled). None when the stamp has no usable time."""
    if time is None:
        return None
    if time.seconds is not None:
        return time.seconds + time.nanosecond / 1e9
    if None in (time.month, time.day, time.hour, time.minute, time.second):
        return None
    try:
        day = datetime.date(time.year or _YEAR_WHEN_UNPRINTED, time.month, time.day).toordinal()
    except ValueError:
        return None
    return day * 86400.0 + time.hour * 3600 + time.minute * 60 + time.second + time.nanosecond / 1e9
