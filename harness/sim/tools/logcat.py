"""`logcat`: reads logd's ring buffers (system/core logcat/logcat.cpp, 8.1 behaviour), and
`log`, toolbox's writer (`log [-p PRIO] [-t TAG] message...`, priority I and tag `log` by
default, words joined by spaces, usage on stderr with status 255).

- options are parsed like getopt_long ":cdDLt:T:gG:sQf:r:n:v:b:BSpP:m:e:" with argument
  permutation, so filterspecs may come anywhere; `--` ends the options;
- buffers: `-b` repeatable, comma/space lists, `default`, `all`; default main,system,crash;
- with several buffers a `--------- beginning of <buffer>` line precedes the first record read
  from each (before filtering, as logcat does); `-D` adds `--------- switch to <buffer>`;
- filterspecs `TAG[:PRIO]`, `*:S`, `-s`; without filterspecs ANDROID_LOG_TAGS applies;
- `-d` dumps and exits, `-t N|TIME` too; `-T N|TIME` prints the tail then follows; without
  `-d`/`-t` logcat follows new records (waiting on logd, no polling) until the client goes away;
- `-e REGEX` (partial match), `-m N`, `--pid`, `-c/--clear`, `-g`, `-G SIZE`, `-v FORMAT`.

Android 4.4 (no logd): default `brief`, buffers main+system, separators name `/dev/log/<buf>`.
Android 11 prints the `beginning of` separator even for a single buffer and splits `-v`
arguments on commas (9+); other texts follow 8.1's logcat on every release.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass, field

from harness.sim.android.logd import (
    BUFFERS, LOGGER_ENTRY_MAX_LEN, LOGGER_ENTRY_MAX_PAYLOAD, LogRecord,
)
from harness.sim.shell.api import Proc, command
from harness.sim.tools.logcat_format import LineFormat, LogFilter

SHORT_WITH_ARG = set("tTGfrnvbPme")
SHORT_FLAGS = set("cdDLgsQBSp")          # -L/-B/-S: known to logcat, refused by the model
LONG_OPTIONS = {
    "binary": ("B", False), "buffer": ("b", True), "buffer-size": ("g", "optional"),
    "clear": ("c", False), "dividers": ("D", False), "file": ("f", True), "format": ("v", True),
    "grep": ("e", True), "head": ("m", True), "last": ("L", False), "max-count": ("m", True),
    "prune": ("p", "optional"), "regex": ("e", True), "rotate-count": ("n", True),
    "rotate-kbytes": ("r", True), "statistics": ("S", False), "tail": ("t", True),
    "pid": ("pid", True), "print": ("print", False), "wrap": ("wrap", "optional"),
    "debug": ("debug", False), "id": ("id", True), "help": ("help", False),
}
KITKAT_BUFFERS = ("main", "radio", "events", "system")

HELP = """Usage: logcat [options] [filterspecs]
options include:
  -s              Set default filter to silent. Equivalent to filterspec '*:S'
  -f <file>, --file=<file>               Log to file. Default is stdout
  -r <kbytes>, --rotate-kbytes=<kbytes>
                  Rotate log every kbytes. Requires -f option
  -n <count>, --rotate-count=<count>
                  Sets max number of rotated logs to <count>, default 4
  --id=<id>       If the signature id for logging to file changes, then clear
                  the fileset and continue
  -v <format>, --format=<format>
                  Sets log print format verb and adverbs, where <format> is:
                    brief help long process raw tag thread threadtime time
                  and individually flagged modifying adverbs can be added:
                    color descriptive epoch monotonic printable uid
                    usec UTC year zone
  -D, --dividers  Print dividers between each log buffer
  -c, --clear     Clear (flush) the entire log and exit
                  if Log to File specified, clear fileset instead
  -d              Dump the log and then exit (don't block)
  -e <expr>, --regex=<expr>
                  Only print lines where the log message matches <expr>
                  where <expr> is a regular expression
  -m <count>, --max-count=<count>
                  Quit after printing <count> lines. This is meant to be
                  paired with --regex, but will work on its own.
  --print         Paired with --regex and --max-count to let content bypass
                  regex filter but still stop at number of matches.
  -t <count>      Print only the most recent <count> lines (implies -d)
  -t '<time>'     Print most recent lines since specified time (implies -d)
  -T <count>      Print only the most recent <count> lines (does not imply -d)
  -T '<time>'     Print most recent lines since specified time (not imply -d)
                  count is pure numerical, time is 'MM-DD hh:mm:ss.mmm...'
                  'YYYY-MM-DD hh:mm:ss.mmm...' or 'sssss.mmm...' format
  -g, --buffer-size                      Get the size of the ring buffer.
  -G <size>, --buffer-size=<size>
                  Set size of log ring buffer, may suffix with K or M.
  -L, --last      Dump logs from prior to last reboot
  -b <buffer>, --buffer=<buffer>         Request alternate ring buffer, 'main',
                  'system', 'radio', 'events', 'crash', 'default' or 'all'.
                  Multiple -b parameters or comma separated list of buffers are
                  allowed. Buffers interleaved. Default -b main,system,crash.
  -B, --binary    Output the log in binary.
  -S, --statistics                       Output statistics.
  -p, --prune     Print prune white and ~black list. Service is specified as
                  UID, UID/PID or /PID. Weighed for quicker pruning if prefix
                  with ~, otherwise weighed for longevity if unadorned. All
                  other pruning activity is oldest first. Special case ~!
                  represents an automatic quicker pruning for the noisiest
                  UID as determined by the current statistics.
  -P '<list> ...', --prune='<list> ...'
                  Set prune white and ~black list, using same format as
                  listed above. Must be quoted.
  --pid=<pid>     Only prints logs from the given pid.
  --wrap          Sleep for 2 hours or when buffer about to wrap whichever
                  comes first. Improves efficiency of polling by providing
                  an about-to-wrap wakeup.

filterspecs are a series of 
  <tag>[:priority]

where <tag> is a log component tag (or * for all) and priority is:
  V    Verbose (default for <tag>)
  D    Debug (default for '*')
  I    Info
  W    Warn
  E    Error
  F    Fatal
  S    Silent (suppress all output)

'*' by itself means '*:D' and <tag> by itself means <tag>:V.
If no '*' filterspec or -s on command line, all filter defaults to '*:V'.
eg: '*:S <tag>' prints only <tag>, '<tag>:S' suppresses all <tag> log messages.

If not specified on the command line, filterspec is set from ANDROID_LOG_TAGS.

If not specified with -v on command line, format is set from ANDROID_PRINTF_LOG
or defaults to "threadtime"

"""

FORMAT_HELP = """-v <format>, --format=<format> options:
  Sets log print format verb and adverbs, where <format> is:
    brief long process raw tag thread threadtime time
  and individually flagged modifying adverbs can be added:
    color descriptive epoch monotonic printable uid usec UTC year zone

Single format verbs:
  brief      \u2014 Display priority/tag and PID of the process issuing the message.
  long       \u2014 Display all metadata fields, separate messages with blank lines.
  process    \u2014 Display PID only.
  raw        \u2014 Display the raw log message, with no other metadata fields.
  tag        \u2014 Display the priority/tag only.
  threadtime \u2014 Display the date, invocation time, priority, tag, and the PID
               and TID of the thread issuing the message. (the default format).
  time       \u2014 Display the date, invocation time, priority/tag, and PID of the
             process issuing the message.

Adverb modifiers can be used in combination:
  color       \u2014 Display in highlighted color to match priority. i.e. \x1b[38;5;231mVERBOSE
                \x1b[38;5;75mDEBUG \x1b[38;5;40mINFO \x1b[38;5;166mWARNING \x1b[38;5;196mERROR FATAL\x1b[0m
  descriptive \u2014 events logs only, descriptions from event-log-tags database.
  epoch       \u2014 Display time as seconds since Jan 1 1970.
  monotonic   \u2014 Display time as cpu seconds since last boot.
  printable   \u2014 Ensure that any binary logging content is escaped.
  uid         \u2014 If permitted, display the UID or Android ID of logged process.
  usec        \u2014 Display time down the microsecond precision.
  UTC         \u2014 Display time as UTC.
  year        \u2014 Add the year to the displayed time.
  zone        \u2014 Add the local timezone to the displayed time.
  \"<zone>\"    \u2014 Print using this public named timezone (experimental).

"""


class UsageError(Exception):
    """logcat_panic(): message on stderr, maybe followed by help; exit status 1."""

    def __init__(self, message: str, help_text: str = "", status: int = 1) -> None:
        super().__init__(message)
        self.help_text = help_text
        self.status = status


def _help(text: str) -> UsageError:
    """Help asked for (`--help`, `-v help`): printed on stderr, exit status 0."""
    return UsageError("", text, status=0)


@dataclass
class Options:
    buffers: list[str] = field(default_factory=list)
    dump: bool = False
    clear: bool = False
    get_size: bool = False
    set_size: int = 0
    dividers: bool = False
    tail_lines: int = 0
    tail_time: float | None = None
    got_t: bool = False
    regex: re.Pattern[str] | None = None
    max_count: int = 0
    print_anyway: bool = False
    pid: int = 0
    silent: bool = False
    specs: list[str] = field(default_factory=list)
    line_format: LineFormat = field(default_factory=LineFormat)
    format_set: bool = False
    warnings: list[str] = field(default_factory=list)


@command("logcat")
async def logcat(proc: Proc) -> int:
    device = proc.device
    android = device.android
    try:
        options = parse(proc)
    except UsageError as err:
        proc.err(str(err) + err.help_text)
        return err.status
    for warning in options.warnings:
        proc.err(warning)
    log_filter = LogFilter()
    if options.silent:
        log_filter.add_rule("*:s")
    if options.specs:
        for spec in options.specs:
            if not log_filter.add_string(spec):
                proc.err(f"Invalid filter expression '{spec}'\n{HELP}")
                return 1
    elif "ANDROID_LOG_TAGS" in proc.env and not log_filter.add_string(proc.env["ANDROID_LOG_TAGS"]):
        proc.err(f"Invalid filter expression in ANDROID_LOG_TAGS\n{HELP}")
        return 1
    if android is None:
        proc.err(f"Unable to open log device '{options.buffers[0]}'\n")
        return 1
    logd = android.logd
    if options.clear or options.set_size or options.get_size:
        for name in options.buffers:
            if options.clear:
                logd.clear(name)
            if options.set_size:
                logd.set_size(name, options.set_size)
            if options.get_size:
                proc.out(_size_line(device.sdk, name, logd.capacity(name), logd.consumed(name)))
        return 0
    return await _read(proc, options, log_filter)


# -- argument parsing ------------------------------------------------------------------------------
def parse(proc: Proc) -> Options:
    sdk = proc.device.sdk
    options = Options()
    args = list(proc.args)
    if args == ["--help"]:
        raise _help(HELP)
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            options.specs += args[index:]
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if name not in LONG_OPTIONS:
                raise UsageError(f"Unrecognized Option {arg[2:3] or '-'}\n", HELP)
            key, takes = LONG_OPTIONS[name]
            optarg: str | None = value if eq else None
            if takes is True and optarg is None:
                if index >= len(args):
                    raise UsageError(f"Option -{key[0]} needs an argument\n", HELP)
                optarg = args[index]
                index += 1
            _apply(options, key, optarg, proc)
            continue
        if arg.startswith("-") and len(arg) > 1:
            pos = 1
            while pos < len(arg):
                letter = arg[pos]
                pos += 1
                if letter in SHORT_WITH_ARG:
                    if pos < len(arg):
                        optarg = arg[pos:]
                    elif index < len(args):
                        optarg = args[index]
                        index += 1
                    else:
                        raise UsageError(f"Option -{letter} needs an argument\n", HELP)
                    _apply(options, letter, optarg, proc)
                    break
                if letter not in SHORT_FLAGS:
                    raise UsageError(f"Unrecognized Option {letter}\n", HELP)
                _apply(options, letter, None, proc)
            continue
        options.specs.append(arg)
    if options.max_count and options.got_t:
        raise UsageError("Cannot use -m (--max-count) and -t together\n", HELP)
    if not options.buffers:
        options.buffers = list(_default_buffers(sdk))
    if not options.format_set:
        fmt = proc.env.get("ANDROID_PRINTF_LOG")
        if fmt is None or options.line_format.set(fmt) is None:
            if fmt is not None:
                proc.err(f"invalid format in ANDROID_PRINTF_LOG '{fmt}'\n")
            options.line_format.set("threadtime" if sdk >= 24 else "brief")
    return options


def _default_buffers(sdk: int) -> tuple[str, ...]:
    return ("main", "system") if sdk < 21 else ("main", "system", "crash")


def _apply(options: Options, key: str, value: str | None, proc: Proc) -> None:
    sdk = proc.device.sdk
    if key == "s":
        options.silent = True
    elif key == "c":
        options.clear = True
    elif key == "d":
        options.dump = True
    elif key in ("t", "T"):
        assert value is not None
        if key == "t":
            options.got_t = True
            options.dump = True
        _tail(options, key, value, proc.device.scheduler.wall_clock())
    elif key == "D":
        options.dividers = True
    elif key == "e":
        assert value is not None
        try:
            options.regex = re.compile(value)
        except re.error:
            raise UsageError(f"-e \"{value}\" is not a valid regular expression\n") from None
    elif key == "m":
        if value is None or not value.isdigit():
            raise UsageError(f"-m \"{value}\" isn't an integer greater than zero\n")
        options.max_count = int(value)
    elif key == "g":
        if value is None:
            options.get_size = True
        else:
            options.set_size = _size(value)
    elif key == "G":
        assert value is not None
        options.set_size = _size(value)
    elif key == "b":
        assert value is not None
        _buffers(options, value, sdk)
    elif key == "v":
        assert value is not None
        if value in ("help", "--help"):
            raise _help(FORMAT_HELP)
        words = re.split(r"[,:; \t\n\r\f]", value) if sdk >= 28 else [value]
        for word in filter(None, words):
            kind = options.line_format.set(word)
            if kind is None:
                raise UsageError(f"Invalid parameter \"{value}\" to -v\n", FORMAT_HELP)
            options.format_set |= kind
    elif key == "pid":
        if value is None or not value.isdigit() or int(value) < 1:
            raise UsageError(f"pid {value} out of range\n", HELP)
        options.pid = int(value)
    elif key == "print":
        options.print_anyway = True
    elif key == "help":
        raise _help(HELP + FORMAT_HELP)
    elif key in ("wrap", "debug", "id", "Q", "p"):
        pass
    else:       # -f -r -n -B -L -S -P: not modelled by the virtual device
        raise UsageError(f"logcat: option -{key} is not supported by this virtual device\n")


def _tail(options: Options, key: str, value: str, now: float) -> None:
    if value.isdigit():
        options.tail_lines = int(value)
        if options.tail_lines < 1:
            options.warnings.append(f"WARNING: -{key} {value} invalid, setting to 1\n")
            options.tail_lines = 1
        return
    parsed = _parse_time(value, now)
    if parsed is None:
        raise UsageError(f"-{key} \"{value}\" not in time format\n")
    options.tail_time = parsed


_TIME_FORMS = (
    (re.compile(r"(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?"), False),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?"), True),
)


def _parse_time(text: str, now: float) -> float | None:
    """log_time::strptime with `%m-%d %H:%M:%S.%q`, `%Y-%m-%d ...` or `%s.%q` (device TZ UTC);
    the first form takes the device's current year."""
    year_now = time.gmtime(now).tm_year
    for pattern, with_year in reversed(_TIME_FORMS):
        match = pattern.match(text)
        if match is None:
            continue
        parts = match.groups()
        year = int(parts[0]) if with_year else year_now
        month, day, hour, minute, second = (int(p) for p in parts[-6:-1])
        fraction = parts[-1] or "0"
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        return seconds + int(fraction[:9].ljust(9, "0")) / 1e9
    match = re.match(r"(\d+)\.(\d+)", text)
    if match:
        return int(match.group(1)) + int(match.group(2)[:9].ljust(9, "0")) / 1e9
    return None


def _size(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    if not match or int(match.group(1)) == 0:
        raise UsageError("ERROR: -G <num><multiplier>\n")
    return int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]


def _buffers(options: Options, value: str, sdk: int) -> None:
    known = KITKAT_BUFFERS if sdk < 21 else BUFFERS
    for name in filter(None, re.split(r"[,:; \t\n\r\f]", value)):
        if name == "default":
            chosen = _default_buffers(sdk)
        elif name == "all":
            chosen = known
        elif name in known:
            chosen = (name,)
        else:
            raise UsageError(f"unknown buffer {name}\n", HELP)
        for buffer in chosen:
            if buffer not in options.buffers:
                options.buffers.append(buffer)
    options.buffers.sort(key=BUFFERS.index)


def _size_line(sdk: int, name: str, capacity: int, consumed: int) -> str:
    def human(value: int) -> str:
        for unit in ("", "K", "M", "G"):
            if value < 1024 or unit == "G":
                return f"{value}{unit}"
            value //= 1024
        return str(value)
    device = f"/dev/log/{name}" if sdk < 21 else name
    payload = 4076 if sdk < 21 else LOGGER_ENTRY_MAX_PAYLOAD
    return (f"{device}: ring buffer is {human(capacity)}b ({human(consumed)}b consumed), "
            f"max entry is {LOGGER_ENTRY_MAX_LEN}b, max payload is {payload}b\n")


# -- reading -------------------------------------------------------------------------------------------
async def _read(proc: Proc, options: Options, log_filter: LogFilter) -> int:
    device = proc.device
    android = device.android
    assert android is not None
    logd = android.logd
    reader = logd.reader(options.buffers)
    records = [r for r in reader.read() if not options.pid or r.pid == options.pid]
    if options.tail_time is not None:
        epoch = device.scheduler.epoch
        records = [r for r in records if epoch + r.time >= options.tail_time - 1e-9]
    elif options.tail_lines:
        records = records[-options.tail_lines:]
    printer = _Printer(proc, options, log_filter)
    if not printer.emit(records) or options.dump:
        return 0
    while True:
        try:
            batch = await reader.next_batch()
        except EOFError:                        # logd died (stop logd, shutdown)
            proc.err("read: unexpected EOF!\n")
            return 1
        if not printer.emit([r for r in batch if not options.pid or r.pid == options.pid]):
            return 0
        await proc.stdout.drain()


class _Printer:
    def __init__(self, proc: Proc, options: Options, log_filter: LogFilter) -> None:
        self.proc = proc
        self.options = options
        self.filter = log_filter
        self.sdk = proc.device.sdk
        self.multiple = len(options.buffers) > 1 or self.sdk >= 30
        self.last_buffer: str | None = None
        self.started: set[str] = set()
        self.count = 0

    def emit(self, records: list[LogRecord]) -> bool:
        """Print what passes; False once --max-count is reached."""
        scheduler = self.proc.device.scheduler
        out: list[str] = []
        for record in records:
            if self.options.max_count and self.count >= self.options.max_count:
                break
            if record.buffer != self.last_buffer:
                self.last_buffer = record.buffer
                out.append(self._divider(record.buffer))
            if not self.filter.should_print(record.tag, record.priority):
                continue
            regex = self.options.regex
            match = regex is None or regex.search(record.message) is not None
            self.count += match
            if match or self.options.print_anyway:
                boot = self.proc.device.boot_vtime
                out.append(self.options.line_format.render(record, scheduler.wall_clock(record.time),
                                                           record.time - boot))
        if out:
            self.proc.out("".join(out))
        return not (self.options.max_count and self.count >= self.options.max_count)

    def _divider(self, buffer: str) -> str:
        if not self.multiple:
            return ""
        name = f"/dev/log/{buffer}" if self.sdk < 21 else buffer
        if buffer not in self.started:
            self.started.add(buffer)
            return f"--------- beginning of {name}\n"
        return f"--------- switch to {name}\n" if self.options.dividers else ""


# -- log (toolbox log.c) ----------------------------------------------------------------------------
LOG_USAGE = "USAGE: log [-p priorityChar] [-t tag] message\n\tpriorityChar should be one of:\n\t\tv,d,i,w,e\n"


@command("log")
async def log(proc: Proc) -> int:
    from harness.sim.tools.logcat_format import filter_char_to_priority
    args = list(proc.args)
    tag, priority = "log", 4
    while args and args[0].startswith("-") and len(args[0]) > 1:
        option = args.pop(0)
        letter, value = option[1], option[2:]
        if letter not in "tp" or (not value and not args):
            proc.err(LOG_USAGE)
            return 255
        value = value or args.pop(0)
        if letter == "t":
            tag = value
        else:
            parsed = filter_char_to_priority(value[:1])
            if parsed is None or parsed < 2:
                proc.err(LOG_USAGE)
                return 255
            priority = parsed
    if not args:
        proc.err(LOG_USAGE)
        return 255
    android = proc.device.android
    if android is not None and android.logd_running:
        pid = proc.pid or android.alloc_tid()
        android.logd.write("main", time=android.now(), pid=pid, tid=pid, uid=proc.uid,
                           priority=priority, tag=tag, message=" ".join(args)[:4095])
    return 0
