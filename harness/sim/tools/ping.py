"""`ping`: AOSP external/iputils (SNAPSHOT s20121221) over the kernel model and the world.

The path of a real ping, each step against the model:
1. the name resolves through netd (dnsproxyd): the default network's DNS servers, queried with
   netd's DNS mark; no netd, no default network, no route or an unknown name ->
   `ping: unknown host NAME` (exit 2);
2. a UDP "probe" socket connect()s to the target: libnetd_client asks FwmarkServer to mark it
   (default netId | the uid's permission), so the route lookup runs the policy rules with that
   mark and the caller's uid -> `connect: Network is unreachable` (exit 2) when they end in
   `unreachable`; without netd the fwmarkd socket refuses (`connect: Connection refused`);
3. echo requests go out every interval; the world (or the local stack) answers; lines and the
   statistics follow ping_common.c, exit 0 when a reply came back, 1 otherwise (or when a
   deadline passed with fewer replies than -c).
"""

from __future__ import annotations

import errno
import ipaddress
import math
import re
from dataclasses import dataclass, field

from harness.sim.android.commandlistener import inet_aton
from harness.sim.android.kernel import Kernel, KernelError, strerror
from harness.sim.android.world import LOCAL_TTL, World
from harness.sim.shell.api import Proc, command
from harness.sim.tools.netutil import has_net_admin, kernel_of, netd_of

USAGE = ("Usage: ping [-aAbBdDfhLnOqrRUvV] [-c count] [-i interval] [-I interface]\n"
         "            [-m mark] [-M pmtudisc_option] [-l preload] [-p pattern] [-Q tos]\n"
         "            [-s packetsize] [-S sndbuf] [-t ttl] [-T timestamp_option]\n"
         "            [-w deadline] [-W timeout] [hop1 ...] destination\n")
OPTSTRING_WITH_VALUE = "QIMcwilSpstTWm"
OPTSTRING_FLAGS = "h?VaUdfnqrvLABDObR"
MAXWAIT_SECONDS = 10
MINUSERINTERVAL_MS = 200
DNS_TIMEOUT_SECONDS = 5.0
ETHERNET_OVERHEAD = 14 + 20 + 8        # frame + IPv4 + ICMP headers around the payload
HOSTS = {"localhost": ipaddress.IPv4Address("127.0.0.1")}


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


@dataclass
class PingOptions:
    count: int = 0
    interval_ms: int = 1000
    interval_given: bool = False
    deadline: int = 0
    linger: int = MAXWAIT_SECONDS
    quiet: bool = False
    numeric: bool = False
    datalen: int = 56
    device: str | None = None
    target: str = ""


@dataclass
class Stats:
    transmitted: int = 0
    received: int = 0
    rtts_us: list[int] = field(default_factory=list)

    def finish(self, host: str, elapsed_ms: int) -> str:
        lines = [f"\n--- {host} ping statistics ---\n",
                 f"{self.transmitted} packets transmitted, {self.received} received"]
        if self.transmitted:
            loss = (self.transmitted - self.received) * 100 // self.transmitted
            lines.append(f", {loss}% packet loss, time {elapsed_ms}ms")
        lines.append("\n")
        if self.received:
            n = len(self.rtts_us)
            tsum = sum(self.rtts_us) // n
            tsum2 = sum(r * r for r in self.rtts_us) // n
            tmdev = math.isqrt(max(0, tsum2 - tsum * tsum))
            tmin, tmax = min(self.rtts_us), max(self.rtts_us)
            lines.append("rtt min/avg/max/mdev = " + "/".join(
                f"{v // 1000}.{v % 1000:03d}" for v in (tmin, tsum, tmax, tmdev)) + " ms")
        lines.append("\n")
        return "".join(lines)


def format_time(triptime_us: int) -> str:
    """gather_statistics(): precision shrinks as the round trip grows."""
    if triptime_us >= 100000:
        return f"{triptime_us // 1000}"
    if triptime_us >= 10000:
        return f"{triptime_us // 1000}.{(triptime_us % 1000) // 100:01d}"
    if triptime_us >= 1000:
        return f"{triptime_us // 1000}.{(triptime_us % 1000) // 10:02d}"
    return f"{triptime_us // 1000}.{triptime_us % 1000:03d}"


def _atoi(text: str) -> int:
    match = re.match(r"\s*[+-]?\d+", text)
    return int(match.group()) if match else 0


def parse_options(proc: Proc, args: list[str]) -> PingOptions:
    """getopt(COMMON_OPTSTR "bRT:") with the checks of common_options()."""
    opts = PingOptions()
    operands: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "--":
            operands.extend(args)
            break
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        i = 1
        while i < len(arg):
            flag = arg[i]
            i += 1
            if flag in OPTSTRING_WITH_VALUE:
                value = arg[i:] if i < len(arg) else (args.pop(0) if args else None)
                if value is None:
                    proc.err(f"ping: option requires an argument -- {flag}\n{USAGE}")
                    raise _Exit(2)
                _apply_value(proc, opts, flag, value)
                break
            if flag not in OPTSTRING_FLAGS:
                proc.err(f"ping: invalid option -- {flag}\n{USAGE}")
                raise _Exit(2)
            if flag in "h?":
                proc.err(USAGE)
                raise _Exit(2)
            if flag == "V":
                proc.out("ping utility, iputils-sss20121221\n")
                raise _Exit(0)
            opts.quiet |= flag == "q"
            opts.numeric |= flag == "n"
    if len(operands) != 1:
        proc.err(USAGE)
        raise _Exit(2)
    opts.target = operands[0]
    return opts


def _apply_value(proc: Proc, opts: PingOptions, flag: str, value: str) -> None:
    def bad(message: str) -> _Exit:
        proc.err(message)
        return _Exit(2)

    if flag == "c":
        opts.count = _atoi(value)
        if opts.count <= 0:
            raise bad("ping: bad number of packets to transmit.\n")
    elif flag == "i":
        try:
            seconds = float(value)
        except ValueError:
            raise bad("ping: bad timing interval\n") from None
        if not math.isfinite(seconds) or seconds < 0 or seconds >= 2147483.647 - 1:
            raise bad("ping: bad timing interval\n")
        opts.interval_ms = int(seconds * 1000)
        opts.interval_given = True
    elif flag == "w":
        opts.deadline = _atoi(value)
        if opts.deadline < 0:
            raise bad("ping: bad wait time.\n")
    elif flag == "W":
        opts.linger = _atoi(value)
        if opts.linger < 0 or opts.linger > 2147:
            raise bad("ping: bad linger time.\n")
    elif flag == "s":
        opts.datalen = _atoi(value)
        if opts.datalen < 0:
            raise bad(f"ping: illegal negative packet size {opts.datalen}.\n")
    elif flag == "I":
        if inet_aton(value) is None:
            opts.device = value


# ---------------------------------------------------------------------------------------------
# resolution and routing
# ---------------------------------------------------------------------------------------------
async def resolve(proc: Proc, kernel: Kernel, world: World, name: str) -> ipaddress.IPv4Address | None:
    """gethostbyname() through netd's resolver on the default network."""
    if name.lower() in HOSTS:
        return HOSTS[name.lower()]
    netd = netd_of(proc)
    if netd is None:
        return None
    net_id, mark = netd.dns_mark()
    for server_text in netd.dns_servers(net_id):
        server = ipaddress.ip_address(server_text)
        if server.version != 4:
            continue
        try:
            route = kernel.route_lookup(server, uid=0, mark=mark)
        except KernelError:
            continue
        link = kernel.links.get(route.dev)
        answered = (link is not None and link.lower_up and not route.is_local
                    and world.on_bridge(route.src) and world.is_dns_server(server))
        if not answered:
            await proc.sleep(DNS_TIMEOUT_SECONDS)
            continue
        answer = world.ping(server, source=route.src, via_gateway=route.route.gateway is not None)
        await proc.sleep((answer.rtt_ms if answer else 10.0) / 1000.0)
        return world.resolve(name, server)
    return None


def _host_label(world: World, address: ipaddress.IPv4Address, numeric: bool) -> str:
    if numeric:
        return str(address)
    name = world.reverse(address)
    return f"{name} ({address})" if name else str(address)


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
@command("ping")
async def ping(proc: Proc) -> int:
    try:
        return await _ping(proc)
    except _Exit as done:
        return done.status


async def _ping(proc: Proc) -> int:
    opts = parse_options(proc, list(proc.args))
    kernel = kernel_of(proc)
    if kernel is None:
        proc.err("ping: icmp open socket: Operation not permitted\n")
        return 2
    world = World.of(proc.device)
    numeric_target = inet_aton(opts.target)
    if numeric_target is not None:
        target = ipaddress.IPv4Address(numeric_target)
        opts.numeric = True
    else:
        resolved = await resolve(proc, kernel, world, opts.target)
        if resolved is None:
            proc.err(f"ping: unknown host {opts.target}\n")
            return 2
        target = resolved
    if opts.device is not None:
        if not has_net_admin(proc):
            proc.err(f"ping: SO_BINDTODEVICE: {strerror(errno.EPERM)}\n")
            return 2
        if opts.device not in kernel.links:
            proc.err(f"ping: SO_BINDTODEVICE: {strerror(errno.ENODEV)}\n")
            return 2
    netd = netd_of(proc)
    if netd is None:
        proc.err(f"connect: {strerror(errno.ECONNREFUSED)}\n")      # fwmarkd is gone
        return 2
    try:
        probe = kernel.route_lookup(target, uid=proc.uid, mark=netd.connect_mark(proc.uid),
                                    oif=opts.device)
    except KernelError as err:
        proc.err(f"connect: {strerror(err.errno)}\n")
        return 2
    if probe.route.type == "broadcast":
        proc.err("Do you want to ping broadcast? Then -b\n")
        return 2
    if opts.datalen > 0xFFFF - 8 - 20:
        proc.err(f"Error: packet size {opts.datalen} is too large. Maximum is {0xFFFF - 28}\n")
        return 2
    proc.out(f"PING {opts.target} ({target}) ")
    if opts.device is not None:
        proc.out(f"from {probe.src} {opts.device}: ")
    proc.out(f"{opts.datalen}({opts.datalen + 28}) bytes of data.\n")
    if proc.uid != 0 and opts.interval_ms < MINUSERINTERVAL_MS:
        proc.err(f"ping: cannot flood; minimal interval, allowed for user, is {MINUSERINTERVAL_MS}ms\n")
        return 2
    await proc.stdout.drain()
    return await _main_loop(proc, kernel, world, opts, target)


async def _main_loop(proc: Proc, kernel: Kernel, world: World, opts: PingOptions,
                     target: ipaddress.IPv4Address) -> int:
    scheduler = proc.device.scheduler
    rng = proc.device.rng
    stats = Stats()
    start = scheduler.now()
    deadline_at = start + opts.deadline if opts.deadline else None
    interval = opts.interval_ms / 1000.0
    next_send, last_send = start, start
    exit_at: float | None = None
    pending: list[tuple[float, int, int, int]] = []      # arrival, seq, ttl, rtt_us
    from_label = _host_label(world, target, opts.numeric)
    seq = 0
    while not (opts.count and stats.received >= opts.count):
        may_send = not (opts.count and stats.transmitted >= opts.count and not opts.deadline)
        events = [t for t, *_ in pending]
        if may_send:
            events.append(next_send)
        for limit in (exit_at, deadline_at):
            if limit is not None:
                events.append(limit)
        if not events:
            break
        wake = min(events)
        await proc.sleep(max(0.0, wake - scheduler.now()))
        now = wake      # the event's own time: a loaded host must not stretch the statistics
        for arrival in sorted(p for p in pending if p[0] <= now):
            pending.remove(arrival)
            _, reply_seq, ttl, rtt_us = arrival
            stats.received += 1
            stats.rtts_us.append(rtt_us)
            if not opts.quiet:
                proc.out(f"{opts.datalen + 8} bytes from {from_label}: icmp_seq={reply_seq} "
                         f"ttl={ttl} time={format_time(rtt_us)} ms\n")
        if opts.count and stats.received >= opts.count:
            break
        if (exit_at is not None and now >= exit_at) or (deadline_at is not None and now >= deadline_at):
            break
        if may_send and now >= next_send:
            seq += 1
            stats.transmitted += 1
            last_send = now
            reply = _send_echo(proc, kernel, world, opts, target, seq)
            if reply is not None:
                pending.append((now + reply[1] / 1e6, seq, reply[0], reply[1]))
            next_send = now + interval + rng.uniform(0.0001, 0.0012)
            if opts.count and stats.transmitted >= opts.count and not opts.deadline:
                if stats.received:
                    wait = max(2 * max(stats.rtts_us) / 1e6, interval)
                else:
                    wait = float(opts.linger)
                exit_at = now + wait
        await proc.stdout.drain()
    proc.out(stats.finish(opts.target, int((last_send - start) * 1000)))
    if stats.received == 0 or (opts.deadline and stats.received < opts.count):
        return 1
    return 0


def _send_echo(proc: Proc, kernel: Kernel, world: World, opts: PingOptions,
               target: ipaddress.IPv4Address, seq: int) -> tuple[int, int] | None:
    """One echo request from the (unmarked) ICMP socket: (ttl, rtt in µs) or no answer."""
    try:
        route = kernel.route_lookup(target, uid=proc.uid, mark=0, oif=opts.device)
    except KernelError as err:
        if not opts.quiet:
            proc.err(f"ping: sendmsg: {strerror(err.errno)}\n")
        return None
    size = opts.datalen + ETHERNET_OVERHEAD
    if route.is_local or target.is_loopback:
        kernel.count_tx("lo", size)
        kernel.count_rx("lo", size)
        return LOCAL_TTL, max(1, int(world.local_rtt_ms() * 1000))
    link = kernel.links.get(route.dev)
    if link is None or not link.lower_up:
        return None
    kernel.count_tx(link.name, size)
    answer = world.ping(target, source=route.src, via_gateway=route.route.gateway is not None)
    if answer is None:
        return None
    kernel.count_rx(link.name, size)
    return answer.ttl, max(1, int(answer.rtt_ms * 1000))
