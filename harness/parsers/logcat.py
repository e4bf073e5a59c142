"""`logcat` output in the formats liblog's logprint prints, plus two common host-side copies.

Device formats (`-v FORMAT`): threadtime (default), time, brief, tag, process, thread, long;
modifiers year, usec/nsec, zone, uid, epoch/monotonic and color. Host copies seen in published
logs: Eclipse/DDMS (`03-01 00:25:08.789: D/Tag(1106): msg`, read as `time`) and old Android
Studio (`2020-05-17 10:00:00.123 2121-2601/system_process E/Tag: msg`, format `studio`).
Buffer separators (`--------- beginning of main`, `--------- switch to system`) set the buffer of
the entries that follow. Anything else (raw messages, logcat's own errors) is kept as unparsed.
"""

from __future__ import annotations

import dataclasses
import datetime
import re

from harness.parsers.base import Line, ParseResult, split_lines

PRIORITIES = "VDIWEFAS"  # S is "silent", A the "assert" level logprint prints for F on old releases
_LEVEL = r"(?P<level>[VDIWEFAS])"
_TIME = (r"(?:(?:(?P<year>\d{4})-)?(?P<month>\d\d)-(?P<day>\d\d)\s+(?P<clock>\d\d:\d\d:\d\d)"
         r"|\s*(?P<seconds>-?\d+))\.(?P<frac>\d{3}|\d{6}|\d{9})(?:\s+(?P<zone>[+-]\d{4}))?")
_UID = r"(?P<uid>[A-Za-z_][\w.]{0,15}|\d+)"  # a short user name or a number
_MESSAGE = r"(?:: (?P<msg>.*)|:)$"  # copies often lose the space after an empty message's colon

_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("threadtime", re.compile(
        rf"^{_TIME}\s+(?:{_UID}\s+)?(?P<pid>\d+)\s+(?P<tid>\d+)\s+{_LEVEL}\s(?P<tag>.*?)\s*{_MESSAGE}")),
    ("time", re.compile(
        rf"^{_TIME}:?\s+{_LEVEL}/(?P<tag>.*?)\s*\(\s*(?:{_UID}:)?\s*(?P<pid>\d+)\){_MESSAGE}")),
    ("studio", re.compile(
        r"^(?:(?P<date>\d{4}-\d\d-\d\d)\s+(?P<clock>\d\d:\d\d:\d\d)\.(?P<frac>\d{3})\s+)?"
        rf"(?P<pid>\d+)-(?P<tid>\d+)/(?P<process>\S+)\s+{_LEVEL}/(?P<tag>.*?){_MESSAGE}")),
    ("brief", re.compile(rf"^{_LEVEL}/(?P<tag>.*?)\s*\(\s*(?:{_UID}:)?\s*(?P<pid>\d+)\){_MESSAGE}")),
    ("thread", re.compile(rf"^{_LEVEL}\(\s*(?:{_UID}:)?\s*(?P<pid>\d+):\s*(?P<tid>\d+)\) (?P<msg>.*)$")),
    ("process", re.compile(rf"^{_LEVEL}\(\s*(?:{_UID}:)?\s*(?P<pid>\d+)\) (?P<msg>.*)  \((?P<tag>.*)\)$")),
    ("tag", re.compile(rf"^{_LEVEL}/(?P<tag>.*?)\s*{_MESSAGE}")),
)
_LONG_HEADER = re.compile(
    rf"^\[ {_TIME}\s+(?:{_UID}:\s*)?(?P<pid>\d+):\s*(?P<tid>\d+)\s+{_LEVEL}/(?P<tag>.*?)\s*\]$")
_SEPARATOR = re.compile(r"^-{9} (?P<kind>beginning of|switch to) (?P<buffer>\S+)\s*$")


@dataclasses.dataclass(frozen=True)
class LogTime:
    """A log timestamp as printed. Calendar fields for the usual formats (no year unless
    `-v year`), `seconds` for `-v epoch` (since 1970) and `-v monotonic` (since boot)."""

    text: str
    nanosecond: int = 0
    year: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    utc_offset: str | None = None
    seconds: int | None = None

    def to_datetime(self, default_year: int) -> datetime.datetime | None:
        """Naive local datetime (aware when `-v zone` printed an offset); None for epoch/monotonic
        stamps or impossible dates."""
        if self.month is None or self.day is None or self.hour is None or self.minute is None or self.second is None:
            return None
        tz = None
        if self.utc_offset:
            sign = -1 if self.utc_offset[0] == "-" else 1
            minutes = int(self.utc_offset[1:3]) * 60 + int(self.utc_offset[3:5])
            tz = datetime.timezone(sign * datetime.timedelta(minutes=minutes))
        try:
            return datetime.datetime(self.year or default_year, self.month, self.day, self.hour, self.minute,
                                     self.second, self.nanosecond // 1000, tzinfo=tz)
        except ValueError:
            return None


@dataclasses.dataclass(frozen=True)
class LogEntry:
    line: int
    format: str
    priority: str
    tag: str
    message: str
    time: LogTime | None = None
    pid: int | None = None
    tid: int | None = None
    uid: str | None = None
    buffer: str | None = None  # from the last `--------- beginning of X` separator
    process: str | None = None  # Android Studio copies name the process


@dataclasses.dataclass(frozen=True)
class LogSeparator:
    line: int
    kind: str  # "beginning of" | "switch to"
    buffer: str


@dataclasses.dataclass(frozen=True)
class LogcatResult(ParseResult):
    entries: tuple[LogEntry, ...] = ()
    separators: tuple[LogSeparator, ...] = ()

    def with_tag(self, tag: str) -> tuple[LogEntry, ...]:
        return tuple(e for e in self.entries if e.tag == tag)

    def matching(self, pattern: str | re.Pattern[str]) -> tuple[LogEntry, ...]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        return tuple(e for e in self.entries if regex.search(e.message))

    def summary_lines(self) -> list[str]:
        formats = sorted({e.format for e in self.entries})
        out = [f"entries: {len(self.entries)} (formats: {', '.join(formats) or '-'})",
               f"buffers: {', '.join(s.buffer for s in self.separators if s.kind == 'beginning of') or '-'}"]
        by_priority: dict[str, int] = {}
        for e in self.entries:
            by_priority[e.priority] = by_priority.get(e.priority, 0) + 1
        out.append("by priority: " + " ".join(f"{p}={by_priority[p]}" for p in PRIORITIES if p in by_priority))
        out.extend(f"{e.line}: {e.priority}/{e.tag}: {e.message}" for e in self.entries
                   if e.priority in "EFA")
        return out


def _time(m: re.Match[str]) -> LogTime | None:
    groups = m.groupdict()
    frac = groups.get("frac")
    if frac is None:
        return None
    nanosecond = int(frac.ljust(9, "0"))
    if groups.get("seconds") is not None:
        return LogTime(text=f"{groups['seconds']}.{frac}", nanosecond=nanosecond, seconds=int(groups["seconds"]))
    clock = groups.get("clock")
    if clock is None:
        return None
    hour, minute, second = (int(x) for x in clock.split(":"))
    if groups.get("date"):
        year, month, day = (int(x) for x in groups["date"].split("-"))
        printed = f"{groups['date']} {clock}.{frac}"
    else:
        year = int(groups["year"]) if groups.get("year") else None
        month, day = int(groups["month"]), int(groups["day"])
        printed = (f"{groups['year']}-" if year else "") + f"{groups['month']}-{groups['day']} {clock}.{frac}"
    zone = groups.get("zone")
    return LogTime(text=printed + (f" {zone}" if zone else ""), nanosecond=nanosecond, year=year, month=month,
                   day=day, hour=hour, minute=minute, second=second, utc_offset=zone)


def _entry(fmt: str, m: re.Match[str], number: int, buffer: str | None) -> LogEntry:
    groups = m.groupdict()
    return LogEntry(
        line=number, format=fmt, priority=groups["level"], tag=(groups.get("tag") or "").rstrip(),
        message=groups.get("msg") or "", time=_time(m), pid=_int(groups.get("pid")), tid=_int(groups.get("tid")),
        uid=groups.get("uid"), buffer=buffer, process=groups.get("process"))


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None


def parse_logcat(text: str | bytes | None) -> LogcatResult:
    entries: list[LogEntry] = []
    separators: list[LogSeparator] = []
    unparsed: list[Line] = []
    buffer: str | None = None
    long_entry: LogEntry | None = None  # `-v long`: header seen, message lines until a blank line
    long_lines: list[str] = []

    def finish_long() -> None:
        nonlocal long_entry
        if long_entry is not None:
            entries.append(dataclasses.replace(long_entry, message="\n".join(long_lines)))
            long_entry = None
            long_lines.clear()

    for line in split_lines(text):
        if long_entry is not None:
            if line.text.strip():
                long_lines.append(line.text)
                continue
            finish_long()
            continue
        if not line.text.strip():
            continue
        if m := _SEPARATOR.match(line.text):
            buffer = m["buffer"]
            separators.append(LogSeparator(line.number, m["kind"], buffer))
            continue
        if m := _LONG_HEADER.match(line.text):
            long_entry = _entry("long", m, line.number, buffer)
            continue
        for fmt, regex in _FORMATS:  # order matters: brief before the looser tag format
            if m := regex.match(line.text):
                entries.append(_entry(fmt, m, line.number, buffer))
                break
        else:
            unparsed.append(line)
    finish_long()
    return LogcatResult(entries=tuple(entries), separators=tuple(separators), unparsed=tuple(unparsed))
