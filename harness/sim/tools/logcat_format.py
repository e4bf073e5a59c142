"""liblog's logprint: filter rules and the line formats of logcat (pure functions).

Formats follow `android_log_formatLogLine()` (system/core liblog/logprint.c, 8.1):

    brief       "%c/%-8.*s(%s%5d): "                 priority/tag(uid pid)
    process     "%c(%s%5d) " ... "  (%.*s)"          message then the tag as a suffix
    tag         "%c/%-8.*s: "
    thread      "%c(%s%5d:%5d) "
    raw         message only
    time        "%s %c/%-8.*s(%s%5d): "
    threadtime  "%s %s%5d %5d %c %-8.*s: "           the default since Android 7
    long        "[ %s %s%5d:%5d %c/%-8.*s ]\\n" message "\\n\\n"

Every line of a multi-line message gets the prefix (except `long`, which wraps the whole
message). Times are `%m-%d %H:%M:%S.mmm` in the device's time zone (UTC on the virtual device),
`year` adds `%Y-`, `usec` gives 6 digits, `zone` appends ` +0000`, `epoch` prints seconds since
1970 in 19 columns, `monotonic` seconds since boot in 6.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from harness.sim.android.logd import PRIORITY_LETTERS, LogRecord

FORMATS = ("brief", "process", "tag", "thread", "raw", "time", "threadtime", "long")
ADVERBS = ("color", "colour", "usec", "nsec", "printable", "UTC", "year", "zone", "epoch",
           "monotonic", "uid", "descriptive")
DEFAULT = 1        # ANDROID_LOG_DEFAULT (a rule's priority was `*`)
VERBOSE, DEBUG, SILENT = 2, 3, 8
_UID_NAMES = {0: "root", 2000: "shell", 1036: "logd", 1001: "radio"}   # getpwuid names of <= 5 chars
_COLORS = {2: 231, 3: 75, 4: 40, 5: 166, 6: 196, 7: 196}   # 256-colour codes of `-v color`


def filter_char_to_priority(char: str) -> int | None:
    """filterCharToPri(): None for ANDROID_LOG_UNKNOWN."""
    c = char.lower()
    if c.isdigit():
        return VERBOSE if int(c) >= SILENT else int(c)
    return {"v": 2, "d": 3, "i": 4, "w": 5, "e": 6, "f": 7, "s": 8, "*": DEFAULT}.get(c)


@dataclass
class LogFilter:
    """AndroidLogFormat's filter part: a global priority and per-tag rules (newest first)."""
    global_priority: int = VERBOSE
    rules: list[tuple[str, int]] = field(default_factory=list)

    def add_rule(self, expression: str) -> bool:
        """android_log_addFilterRule(): False on a malformed rule."""
        tag, colon, rest = expression.partition(":")
        if not tag:
            return False
        priority = DEFAULT
        if colon:
            parsed = filter_char_to_priority(rest[:1]) if rest else None
            if parsed is None:
                return False
            priority = parsed
        if tag == "*":
            self.global_priority = DEBUG if priority == DEFAULT else priority
        else:
            self.rules.insert(0, (tag, VERBOSE if priority == DEFAULT else priority))
        return True

    def add_string(self, spec: str) -> bool:
        """android_log_addFilterString(): rules separated by spaces, tabs or commas."""
        for word in spec.replace("\t", " ").replace(",", " ").split(" "):
            if word and not self.add_rule(word):
                return False
        return True

    def should_print(self, tag: str, priority: int) -> bool:
        for rule_tag, rule_priority in self.rules:
            if rule_tag == tag:
                limit = self.global_priority if rule_priority == DEFAULT else rule_priority
                return priority >= limit
        return priority >= self.global_priority


@dataclass
class LineFormat:
    verb: str = "threadtime"
    adverbs: set[str] = field(default_factory=set)

    def set(self, word: str) -> bool | None:
        """android_log_setPrintFormat(): True for a verb, False for an adverb, None if invalid."""
        if word in FORMATS:
            self.verb = word
            return True
        if word in ADVERBS:
            self.adverbs.add("color" if word == "colour" else word)
            return False
        return None

    def time_text(self, wall: float, uptime: float) -> str:
        micros = round((uptime if "monotonic" in self.adverbs else wall) * 1_000_000)
        seconds, fraction = divmod(micros, 1_000_000)
        if "monotonic" in self.adverbs:
            text = f"{seconds:6d}"
        elif "epoch" in self.adverbs:
            text = f"{seconds:19d}"
        else:
            text = time.strftime("%Y-%m-%d %H:%M:%S" if "year" in self.adverbs else "%m-%d %H:%M:%S",
                                 time.gmtime(seconds))
        if "nsec" in self.adverbs:
            text += f".{fraction * 1000:09d}"
        elif "usec" in self.adverbs:
            text += f".{fraction:06d}"
        else:
            text += f".{fraction // 1000:03d}"
        if "zone" in self.adverbs and not ({"epoch", "monotonic"} & self.adverbs):
            text += " +0000"
        return text

    def _uid(self, uid: int) -> str:
        if "uid" not in self.adverbs:
            return ""
        name = _UID_NAMES.get(uid)
        return f"{name:>5}:" if name else f"{uid:5d}:"

    def render(self, record: LogRecord, wall: float, uptime: float) -> str:
        """The bytes logcat writes for one record (several lines for a multi-line message)."""
        letter = PRIORITY_LETTERS[record.priority]
        tag, pid, tid = record.tag, record.pid, record.tid
        uid = self._uid(record.uid)
        verb = self.verb
        suffix = "\n"
        if verb == "tag":
            prefix = f"{letter}/{tag:<8}: "
        elif verb == "process":
            prefix, suffix = f"{letter}({uid}{pid:5d}) ", f"  ({tag})\n"
        elif verb == "thread":
            prefix = f"{letter}({uid}{pid:5d}:{tid:5d}) "
        elif verb == "raw":
            prefix = ""
        elif verb == "time":
            prefix = f"{self.time_text(wall, uptime)} {letter}/{tag:<8}({uid}{pid:5d}): "
        elif verb == "threadtime":
            prefix = f"{self.time_text(wall, uptime)} {uid.replace(':', ' ')}{pid:5d} {tid:5d} {letter} {tag:<8}: "
        elif verb == "long":
            prefix = f"[ {self.time_text(wall, uptime)} {uid}{pid:5d}:{tid:5d} {letter}/{tag:<8} ]\n"
            suffix = "\n\n"
        else:
            prefix = f"{letter}/{tag:<8}({uid}{pid:5d}): "
        message = _printable(record.message) if "printable" in self.adverbs else record.message
        if "color" in self.adverbs:
            prefix = f"\x1b[38;5;{_COLORS.get(record.priority, 231)}m" + prefix
            suffix = "\x1b[0m" + suffix
        if verb == "long":
            return prefix + message + suffix
        lines = message.split("\n")
        if message.endswith("\n"):
            lines.pop()
        return "".join(prefix + line + suffix for line in (lines or [""]))


def _printable(message: str) -> str:
    out = []
    for char in message:
        if char in "\t\n" or (char.isprintable() and ord(char) >= 0x20):
            out.append(char)
        else:
            out.append(f"\\{ord(char):03o}" if ord(char) < 0x80 else char)
    return "".join(out)
