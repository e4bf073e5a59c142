"""id, whoami, getprop, setprop, date, uptime, ps, kill, su, start, stop, reboot.

Formats are toybox's as Android 8+ ships them (toybox 0.7.x), the property rules Android's:
`ro.*` is write-once and the shell user may set only the few prefixes SELinux grants it.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass

from harness.sim.shell.api import Proc, command
from harness.sim.shell.execution import CommandNotFound, exec_command
from harness.sim.shell.commands.common import UsageError, emit, parse_options, raw, usage_error
from harness.sim.shell.jobs import AID_BY_NAME, AID_NAMES, shell_processes, user_name

SH = "/system/bin/sh"
PROP_VALUE_MAX = 92
# Prefixes uid 2000 may set on 8.x (property_contexts + shell.te: debug_prop, log_tag_prop,
# powerctl_prop, ctl_bugreport_prop, ...). Everything else is an SELinux denial.
SHELL_SETTABLE_PROPS = ("debug.", "persist.debug.", "log.tag", "persist.log.tag", "dumpstate.",
                        "ctl.bugreport", "sys.powerctl", "service.adb.tcp.port")
MAIN_SERVICES = ("netd", "surfaceflinger", "zygote", "zygote_secondary")   # toybox start/stop
REBOOT_DELAY = 0.05          # device seconds: the exit status reaches the client first


# ---- identity ---------------------------------------------------------------------------------
def supplementary_groups(sdk: int) -> list[int]:
    """adbd's extra groups for its shell (drop_privileges), as getgroups() sorts them."""
    groups = [1004, 1007, 1011, 1015, 1028, 3001, 3002, 3003, 3006, 3009]
    if sdk >= 26:
        groups.append(3011)                  # uhid
    if sdk >= 30:
        groups += [1078, 1079]               # ext_data_rw, ext_obb_rw
    return sorted(groups)


def selinux_context(uid: int) -> str:
    return "u:r:su:s0" if uid == 0 else "u:r:shell:s0" if uid == 2000 else "u:r:untrusted_app:s0"


@command("id")
async def id_(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "nGgruZ")
    except UsageError as err:
        return usage_error(proc, err)
    if opts.operands:
        name = opts.operands[0]
        uid = AID_BY_NAME.get(name, int(name) if name.isdigit() else -1)
        if uid < 0:
            proc.err(f"id: no such user '{name}'\n")
            return 1
    else:
        uid = proc.uid
    names = opts.has("n")

    def show(number: int) -> str:
        return user_name(number) if names else str(number)

    groups = supplementary_groups(proc.device.sdk)
    if opts.has("u"):
        out = show(uid)
    elif opts.has("g"):
        out = show(uid)
    elif opts.has("G"):
        out = " ".join(show(g) for g in [uid, *groups])
    elif opts.has("Z"):
        out = selinux_context(uid)
    else:
        who = f"{uid}({user_name(uid)})"
        listed = ",".join(f"{g}({AID_NAMES[g]})" for g in [uid, *groups] if g in AID_NAMES)
        out = f"uid={who} gid={who} groups={listed} context={selinux_context(uid)}"
    await emit(proc, raw(out + "\n"))
    return 0


@command("whoami")
async def whoami(proc: Proc) -> int:
    await emit(proc, raw(user_name(proc.uid) + "\n"))
    return 0


# ---- properties -------------------------------------------------------------------------------
@command("getprop")
async def getprop(proc: Proc) -> int:
    args = proc.args
    props = proc.device.props
    if not args:
        await emit(proc, raw("".join(f"[{k}]: [{v}]\n" for k, v in props.items())))
        return 0
    value = props.get(args[0])
    if not value:
        value = args[1] if len(args) > 1 else ""
    await emit(proc, raw(value + "\n"))
    return 0


def _setprop_problem(name: str, value: str) -> str | None:
    """toybox setprop repeats init's checks before asking (8.x texts)."""
    if len(value.encode()) >= PROP_VALUE_MAX:
        return f"value '{value}' too long; try '{value.encode()[:PROP_VALUE_MAX - 1].decode(errors='ignore')}'"
    if name.startswith(".") or name.endswith("."):
        return "property names must not start or end with '.'"
    if ".." in name:
        return "'..' is not allowed in a property name"
    bad = next((c for c in name if not (c.isalnum() or c in ":@_.-")), None)
    if bad is not None:
        return f"invalid character '{bad}' in name '{name}'"
    return None


def may_set_property(uid: int, name: str) -> bool:
    return uid == 0 or name.startswith(SHELL_SETTABLE_PROPS)


@command("setprop")
async def setprop(proc: Proc) -> int:
    if len(proc.args) != 2:
        return usage_error(proc, UsageError("Need 2 arguments" if len(proc.args) < 2
                                            else "Max 2 arguments"))
    name, value = proc.args
    problem = _setprop_problem(name, value)
    if problem is not None:
        proc.err(f"setprop: {problem}\n")
        return 1
    props = proc.device.props
    if not may_set_property(proc.uid, name) or not props.set(name, value):
        proc.err(f"setprop: failed to set property '{name}' to '{value}'\n")
        return 1
    return 0


# ---- time -------------------------------------------------------------------------------------
def strftime_device(fmt: str, when: float) -> str:
    """strftime in the device's zone (UTC) with toybox's %N (%3N...) nanoseconds."""
    seconds = int(when)
    nanos = int(round((when - seconds) * 1e9)) % 1_000_000_000

    def special(match: re.Match) -> str:
        spec = match.group(0)
        if spec == "%%":
            return "%%"
        if spec.endswith("N"):
            width = int(spec[1:-1] or 9)
            return f"{nanos:09d}"[:width]
        return {"%s": str(seconds), "%Z": "UTC", "%z": "+0000"}[spec]

    expanded = re.sub(r"%%|%\d?N|%[sZz]", special, fmt)
    return time.strftime(expanded, time.gmtime(seconds))


@command("date")
async def date(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "u", with_value="rdD")
    except UsageError as err:
        return usage_error(proc, err)
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    for operand in opts.operands:
        if operand.startswith("+"):
            fmt = operand[1:]
        else:
            proc.err("date: cannot set date: Operation not permitted\n")
            return 1
    when = proc.device.scheduler.wall_clock()
    await emit(proc, raw(strftime_device(fmt, when) + "\n"))
    return 0


@command("uptime")
async def uptime(proc: Proc) -> int:
    try:
        opts = parse_options(proc.args, "s")
    except UsageError as err:
        return usage_error(proc, err)
    device = proc.device
    now = device.scheduler.wall_clock()
    up = device.uptime()
    if opts.has("s"):
        await emit(proc, raw(strftime_device("%Y-%m-%d %H:%M:%S", now - up) + "\n"))
        return 0
    minutes_total = int(up) // 60
    days, hours, minutes = minutes_total // 1440, minutes_total // 60 % 24, minutes_total % 60
    out = strftime_device(" %H:%M:%S up ", now)
    if days:
        out += f"{days} day{'s' if days != 1 else ''}, "
    out += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    out += " 0 users,  load average: 0.00, 0.00, 0.00\n"
    await emit(proc, raw(out))
    return 0


# ---- processes -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PsRow:
    user: str
    pid: int
    ppid: int
    vsz: int       # KiB
    rss: int       # KiB
    state: str
    name: str


def _sizes(name: str, pid: int) -> tuple[int, int]:
    """Plausible, stable VSZ/RSS (KiB) for a process the model does not size."""
    if pid == 2 or name.startswith("[") or name.startswith(("kworker", "ksoftirqd", "kthreadd")):
        return 0, 0
    seed = zlib.crc32(name.encode())
    if name in ("zygote", "zygote64", "system_server") or "." in name:
        return 1_500_000 + seed % 600_000, 60_000 + seed % 90_000
    if name in ("sh", "mksh"):
        return 7_800 + seed % 400, 2_000 + seed % 300
    return 10_000 + seed % 40_000, 1_500 + seed % 6_000


def process_rows(proc: Proc, *, include_model: bool) -> list[PsRow]:
    rows = []
    if include_model:
        for p in proc.device.processes.all():
            vsz, rss = _sizes(p.name, p.pid)
            rows.append(PsRow(p.uid, p.pid, p.ppid, vsz, rss, "S", p.name))
    for p in shell_processes(proc.device).all():
        vsz, rss = _sizes(p.name, p.pid)
        state = "R" if p.pid == proc.pid else "S"
        rows.append(PsRow(p.user, p.pid, p.ppid, vsz, rss, state, p.name))
    return sorted(rows, key=lambda r: r.pid)


def _session_pids(proc: Proc) -> set[int]:
    """The processes of the caller's adb session: its shell and everything under it."""
    table = shell_processes(proc.device)
    by_pid = {p.pid: p for p in table.all()}
    root = proc.pid
    while root in by_pid and by_pid[root].ppid in by_pid:
        root = by_pid[root].ppid
    members = {root}
    changed = True
    while changed:
        changed = False
        for p in by_pid.values():
            if p.ppid in members and p.pid not in members:
                members.add(p.pid)
                changed = True
    return members


# toybox field table: (title, width; negative = left-justified)
PS_FIELDS = {"USER": -12, "PID": 5, "PPID": 5, "VSZ": 7, "VSIZE": 7, "RSS": 6, "WCHAN": -6,
             "ADDR": 12, "S": -1, "NAME": -27, "CMD": -15, "COMM": -27, "ARGS": -27,
             "CMDLINE": -27, "UID": 5, "TID": 5}
ANDROID_DEFAULT_FIELDS = (("USER", -12), ("PID", 5), ("PPID", 5), ("VSZ", 7), ("RSS", 6),
                          ("WCHAN", -10), ("ADDR", 10), ("S", -1), ("NAME", -27))


def _field(row: PsRow, name: str) -> str:
    return {"USER": row.user, "PID": str(row.pid), "PPID": str(row.ppid), "VSZ": str(row.vsz),
            "VSIZE": str(row.vsz), "RSS": str(row.rss), "WCHAN": "0", "ADDR": "0",
            "S": row.state, "NAME": row.name, "CMD": row.name, "COMM": row.name,
            "ARGS": row.name, "CMDLINE": row.name, "TID": str(row.pid),
            "UID": str(AID_BY_NAME.get(row.user, 0))}[name]


def toybox_ps_line(values: list[str], widths: list[int]) -> str:
    """toybox show_ps() when stdout is not a terminal (-w): a too-long field pushes the line
    right and later fields with slack take the overflow back; the last left-justified field
    gets no padding."""
    out: list[str] = []
    extra = 0
    for index, (value, width) in enumerate(zip(values, widths)):
        size = abs(width)
        if len(value) > size:
            extra += len(value) - size
            size = len(value)
        elif extra and len(value) < size:
            unused = min(size - len(value), extra)
            size -= unused
            extra -= unused
        last = index == len(values) - 1
        if last and width < 0:
            out.append(value)
        else:
            out.append(value.ljust(size) if width < 0 else value.rjust(size))
    return " ".join(out)


def toybox_ps_header(fields: list[tuple[str, int]]) -> str:
    return " ".join(title.ljust(-w) if w < 0 else title.rjust(w) for title, w in fields)


@command("ps")
async def ps(proc: Proc) -> int:
    if proc.device.sdk < 26:
        return await _toolbox_ps(proc)
    try:
        opts = parse_options(proc.args, "AaedfLlnTwZ", with_value="oOpPtuUgGsk")
    except UsageError as err:
        return usage_error(proc, err)
    everything = opts.has("A") or opts.has("e")
    rows = process_rows(proc, include_model=True)
    pids = {int(p) for spec in [opts.value("p") or "", *opts.operands]
            for p in spec.split(",") if p.strip().isdigit()}
    if pids:
        rows = [r for r in rows if r.pid in pids]
    elif opts.value("P"):
        parents = {int(p) for p in (opts.value("P") or "").split(",") if p.isdigit()}
        rows = [r for r in rows if r.ppid in parents]
    elif opts.value("u") or opts.value("U"):
        users = set((opts.value("u") or opts.value("U") or "").split(","))
        rows = [r for r in rows if r.user in users or str(AID_BY_NAME.get(r.user)) in users]
    elif not everything:
        session = _session_pids(proc)
        rows = [r for r in rows if r.pid in session]
    fields = list(ANDROID_DEFAULT_FIELDS)
    if opts.value("o"):
        fields = []
        for spec in (opts.value("o") or "").split(","):
            name, _, title = spec.upper().partition("=")
            name = name.split(":")[0]
            if name not in PS_FIELDS:
                proc.err(f"ps: bad -o {spec}\n")
                return 1
            fields.append((name, PS_FIELDS[name]))
    out = [toybox_ps_header(fields)]
    names = [name for name, _ in fields]
    widths = [w for _, w in fields]
    out += [toybox_ps_line([_field(r, n) for n in names], widths) for r in rows]
    await emit(proc, raw("\n".join(out) + "\n"))
    return 0


async def _toolbox_ps(proc: Proc) -> int:
    """The old toolbox ps (Android up to 7.x): every process, optional name/pid filter."""
    name_filter = next((a for a in proc.args if not a.startswith("-") and not a.isdigit()), None)
    pid_filter = next((int(a) for a in proc.args if a.isdigit()), None)
    out = ["USER     PID   PPID  VSIZE  RSS     WCHAN    PC         NAME"]
    for r in process_rows(proc, include_model=True):
        if pid_filter is not None and r.pid != pid_filter:
            continue
        if name_filter is not None and not r.name.startswith(name_filter):
            continue
        out.append(f"{r.user:<9} {r.pid:<5} {r.ppid:<5} {r.vsz:<6} {r.rss:<5} "
                   f"{0:08x} {0:08x} {r.state} {r.name}")
    await emit(proc, raw("\n".join(out) + "\n"))
    return 0


SIGNALS = {1: ("HUP", "Hangup"), 2: ("INT", "Interrupt"), 3: ("QUIT", "Quit"),
           4: ("ILL", "Illegal instruction"), 5: ("TRAP", "Trace/breakpoint trap"),
           6: ("ABRT", "Aborted"), 7: ("BUS", "Bus error"),
           8: ("FPE", "Floating point exception"), 9: ("KILL", "Killed"),
           10: ("USR1", "User defined signal 1"), 11: ("SEGV", "Segmentation fault"),
           12: ("USR2", "User defined signal 2"), 13: ("PIPE", "Broken pipe"),
           14: ("ALRM", "Alarm clock"), 15: ("TERM", "Terminated"),
           17: ("CHLD", "Child exited"), 18: ("CONT", "Continued"),
           19: ("STOP", "Stopped (signal)"), 20: ("TSTP", "Stopped")}
SIGNAL_NUMBERS = {name: number for number, (name, _) in SIGNALS.items()}


def _signal_number(spec: str) -> int | None:
    spec = spec.upper().removeprefix("SIG")
    if spec.isdigit():
        return int(spec) if 0 <= int(spec) < 65 else None
    return SIGNAL_NUMBERS.get(spec)


@command("kill")
async def kill(proc: Proc) -> int:
    """mksh's kill builtin (the shell runs it in-process)."""
    args = list(proc.args)
    signal = 15
    if args and args[0] == "-l":
        return await _kill_list(proc, args[1:])
    if args and args[0] == "-s" and len(args) > 1:
        spec = args[1]
        args = args[2:]
    elif args and re.fullmatch(r"-[0-9A-Z].*", args[0]):
        spec = args.pop(0)[1:]
    else:
        spec = None
    if spec is not None:
        number = _signal_number(spec)
        if number is None:
            proc.err(f"{SH}: kill: bad signal '{spec}'\n")
            return 1
        signal = number
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        proc.err("usage:\tkill [-s signame | -signum | -signame] { job | pid | pgrp } ...\n"
                 "\tkill -l [exit_status ...]\n")
        return 1
    status = 0
    for target in args:
        if not re.fullmatch(r"-?\d+", target):
            proc.err(f"{SH}: kill: {target}: arguments must be jobs or process IDs\n")
            status = 1
            continue
        problem = signal_process(proc, int(target), signal)
        if problem:
            proc.err(f"{SH}: kill: {target}: {problem}\n")
            status = 1
    return status


def signal_process(proc: Proc, pid: int, signal: int) -> str | None:
    """Deliver `signal`; the strerror text when it cannot be (None when delivered)."""
    device = proc.device
    shell_proc = shell_processes(device).get(pid)
    if shell_proc is not None:
        if proc.uid != 0 and shell_proc.uid != proc.uid:
            return "Operation not permitted"
        if signal not in (0, 17, 18, 19, 20):
            shell_proc.kill(signal)
        return None
    model_proc = device.processes.get(pid)
    if model_proc is None:
        return "No such process"
    if proc.uid != 0 and model_proc.uid != user_name(proc.uid):
        return "Operation not permitted"
    if signal == 0:
        return None
    android = device.android
    hook = getattr(android, "kill_process", None)
    if hook is not None:
        if not hook(pid, signal):
            return "No such process"
    elif signal not in (17, 18, 19, 20):
        device.processes.kill(pid)
    return None


async def _kill_list(proc: Proc, statuses: list[str]) -> int:
    if statuses:
        out = []
        for status in statuses:
            if not status.isdigit():
                proc.err(f"{SH}: kill: {status}: bad number\n")
                return 1
            number = int(status) - 128 if int(status) > 128 else int(status)
            out.append(SIGNALS.get(number, (str(number), ""))[0])
        await emit(proc, raw("\n".join(out) + "\n"))
        return 0
    lines = [f"{n:2d} {name:<6} {message}" for n, (name, message) in SIGNALS.items()]
    await emit(proc, raw("\n".join(lines) + "\n"))
    return 0


# ---- privilege and services --------------------------------------------------------------------
def _debuggable(device) -> bool:
    return device.profile.product.build_type != "user"


@command("su", available=_debuggable)
async def su(proc: Proc) -> int:
    """AOSP su (`su [WHO [COMMAND...]]`, userdebug/eng builds) plus `su -c CMD` as rooting
    tools' su accept it."""
    from harness.sim.shell.interpreter import run_shell_proc
    if proc.uid not in (0, 2000):
        proc.err("su: not allowed\n")
        return 1
    args = list(proc.args)
    if args and args[0] in ("-h", "--help"):
        proc.err("usage: su [WHO [COMMAND...]]\n\nSwitch to WHO (default 'root') and run the "
                 "given COMMAND (default sh).\n\nWHO is a comma-separated list of user, group, "
                 "and supplementary groups\nin that order.\n\n")
        return 0
    uid = 0
    if args and args[0] == "-c":
        if len(args) < 2:
            proc.err("su: -c: option requires an argument\n")
            return 1
        child = Proc(["sh", "-c", args[1]], proc.stdin, proc.stdout, proc.stderr, proc.device,
                     _su_env(proc.env, 0), 0, proc.cwd, proc.pid)
        return await run_shell_proc(child, args[1], args=args[2:])
    if args:
        who = args.pop(0).split(",")[0]
        if who in AID_BY_NAME:
            uid = AID_BY_NAME[who]
        elif who.isdigit():
            uid = int(who)
        else:
            proc.err(f"su: invalid uid/gid '{who}'\n")
            return 1
    env = _su_env(proc.env, uid)
    if not args:
        child = Proc(["sh"], proc.stdin, proc.stdout, proc.stderr, proc.device, env, uid,
                     proc.cwd, proc.pid)
        return await run_shell_proc(child, None)
    try:
        return await exec_command(proc, args, uid=uid, env=env)
    except CommandNotFound:
        proc.err(f"su: failed to exec {args[0]}: No such file or directory\n")
        return 1


def _su_env(env: dict[str, str], uid: int) -> dict[str, str]:
    env = dict(env)
    env["PATH"] = "/sbin:/system/sbin:/system/bin:/system/xbin:/vendor/bin:/vendor/xbin"
    env.pop("IFS", None)
    env["LOGNAME"] = env["USER"] = user_name(uid)
    return env


async def _start_stop(proc: Proc, start: bool) -> int:
    if proc.uid != 0:
        proc.err(f"{proc.name}: must be root\n")
        return 1
    services = proc.args or (list(MAIN_SERVICES) if start else list(reversed(MAIN_SERVICES)))
    android = proc.device.android
    hook = getattr(android, "start_service" if start else "stop_service", None)
    for service in services:
        if hook is not None:
            hook(service)
        elif not proc.device.props.set("ctl.start" if start else "ctl.stop", service):
            proc.err(f"{proc.name}: failed to set property '{'ctl.start' if start else 'ctl.stop'}' "
                     f"to '{service}'\n")
            return 1
    return 0


@command("start")
async def start(proc: Proc) -> int:
    return await _start_stop(proc, True)


@command("stop")
async def stop(proc: Proc) -> int:
    return await _start_stop(proc, False)


@command("reboot")
async def reboot(proc: Proc) -> int:
    """Android's reboot (any target): the device goes down a moment after the command ends."""
    device = proc.device
    device.scheduler.call_later(REBOOT_DELAY, device.reboot)
    return 0
