"""`ping` output from iputils (Android's /system/bin/ping), toybox and busybox (and BSD-style).

* header: `PING h (ip) 56(84) bytes of data.` (iputils), `Ping h (ip): 56(84) bytes.` (toybox),
  `PING h (ip): 56 data bytes` (busybox/BSD), `PING ::1(::1) 56 data bytes` (old ping6);
* replies: `64 bytes from X: icmp_seq=1 ttl=117 time=10.2 ms` (busybox: `seq=0`), `(DUP!)`;
* ICMP errors: `From 10.0.0.1: icmp_seq=1 Destination Host Unreachable` (old: with ':', new without);
* statistics: `N packets transmitted, M [packets ]received[, +D duplicates][, +E errors], L% packet loss[, time Tms]`
  and `rtt min/avg/max/mdev = ...` or `round-trip min/avg/max[/stddev] = ...`;
* fatal errors: `connect: Network is unreachable`, `ping: unknown host X`, `ping: sendto: ...`, ...
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any

from harness.parsers.base import Line, ParseResult, parse_float, parse_int, parse_ip, split_lines

IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

_HEADER = re.compile(
    r"^(?P<word>PING|Ping)\s+(?P<host>\S+?)\s*\((?P<ip>[^)]*)\)(?:\s+from\s+\S+(?:\s+\S+)?)?(?P<colon>:?)\s+"
    r"(?:(?P<size>\d+)\((?P<total>\d+)\) bytes(?: of data)?\.?|(?P<dsize>\d+) data bytes)\s*$")
_REPLY = re.compile(
    r"^(?P<size>\d+) bytes from (?P<from>.+?):\s+(?:icmp_)?seq=(?P<seq>\d+)(?:\s+ttl=(?P<ttl>\d+))?"
    r"(?:\s+time[=<](?P<time>[\d.]+)\s*ms)?(?P<tail>.*)$")
_ICMP_ERROR = re.compile(r"^From (?P<from>\S+?):?\s+(?:icmp_seq|seq)=(?P<seq>\d+)\s+(?P<message>.+)$")
_NO_ANSWER = re.compile(r"^no answer yet for icmp_seq=(?P<seq>\d+)$")
_STATS_TITLE = re.compile(r"^--- (?P<host>.+) ping statistics ---$")
_STATS = re.compile(
    r"^(?P<tx>\d+) packets transmitted, (?P<rx>\d+)(?: packets)? received"
    r"(?:, \+(?P<dup>\d+) duplicates)?(?:, \+(?P<corrupt>\d+) corrupted)?(?:, \+(?P<err>\d+) errors)?"
    r"(?:, (?P<loss>[\d.]+)% packet loss)?(?:, time (?P<time>\d+)ms)?(?P<tail>.*)$")
_PIPE = re.compile(r"^pipe \d+$")  # iputils, alone on its line when nothing was received
_RTT = re.compile(r"^(?:rtt|round-trip) (?P<names>[a-z/]+) = (?P<values>[\d./]+) ms(?P<tail>.*)$")
_FATAL = re.compile(r"^(?:ping6?: .+|connect: .+|socket: .+|bind: .+|setuid: .+|seteuid: .+"
                    r"|/system/bin/sh: ping6?: .+|Usage: ping.*|usage: ping.*)$")

# What a failed run means, by the words of its error; order matters (first match wins).
_FAILURE_KINDS = (
    ("network_unreachable", ("Network is unreachable",)),  # before the ICMP "... Unreachable" kinds
    ("unknown_host", ("unknown host", "bad address", "Name or service not known", "No address associated",
                      "Temporary failure in name resolution", "Unknown host", "nodename nor servname")),
    ("permission_denied", ("Operation not permitted", "Permission denied")),
    # An ICMP "Destination Host/Net/Port Unreachable" or "... Prohibited" came back from a hop.
    ("host_unreachable", ("Unreachable", "Prohibited", "No route to host")),
)


@dataclasses.dataclass(frozen=True)
class PingReply:
    line: int
    size: int
    source: str  # as printed: "8.8.8.8" or "dns.google (8.8.8.8)"
    address: IpAddr | None
    seq: int
    ttl: int | None = None
    time_ms: float | None = None
    duplicate: bool = False


@dataclasses.dataclass(frozen=True)
class PingIcmpError:
    line: int
    source: str
    seq: int
    message: str  # e.g. "Destination Host Unreachable"


@dataclasses.dataclass(frozen=True)
class PingStatistics:
    transmitted: int
    received: int
    duplicates: int = 0
    errors: int = 0
    loss_percent: float | None = None
    time_ms: int | None = None


@dataclasses.dataclass(frozen=True)
class PingRtt:
    min_ms: float
    avg_ms: float
    max_ms: float
    mdev_ms: float | None = None  # iputils mdev or BSD stddev; busybox/toybox print none


@dataclasses.dataclass(frozen=True)
class PingResult(ParseResult):
    implementation: str | None = None  # iputils | toybox | busybox (busybox also covers BSD)
    host: str | None = None
    address: IpAddr | None = None
    payload_size: int | None = None
    replies: tuple[PingReply, ...] = ()
    icmp_errors: tuple[PingIcmpError, ...] = ()
    unanswered_seqs: tuple[int, ...] = ()
    statistics: PingStatistics | None = None
    rtt: PingRtt | None = None
    errors: tuple[str, ...] = ()

    @property
    def received(self) -> int:
        if self.statistics is not None:
            return self.statistics.received
        return len({r.seq for r in self.replies if not r.duplicate})

    @property
    def reachable(self) -> bool:
        return self.received > 0

    @property
    def failure(self) -> str | None:
        """None when a reply came back; otherwise why not:
        network_unreachable | unknown_host | permission_denied | host_unreachable | no_reply | no_output."""
        if self.reachable:
            return None
        texts = [t.lower() for t in list(self.errors) + [e.message for e in self.icmp_errors]]
        for kind, needles in _FAILURE_KINDS:
            if any(n.lower() in t for t in texts for n in needles):
                return kind
        if self.statistics is not None or self.host is not None:
            return "no_reply"
        return "no_output"

    def summary_lines(self) -> list[str]:
        out = [f"target: {self.host or '-'} ({self.address or '-'}) implementation={self.implementation or '-'}"]
        out.extend(f"reply seq={r.seq} ttl={r.ttl} time={r.time_ms} ms" + (" DUP" if r.duplicate else "")
                   for r in self.replies)
        out.extend(f"icmp error seq={e.seq} from {e.source}: {e.message}" for e in self.icmp_errors)
        if self.statistics:
            s = self.statistics
            out.append(f"statistics: {s.transmitted} sent, {s.received} received, loss={s.loss_percent}%")
        if self.rtt:
            out.append(f"rtt: min={self.rtt.min_ms} avg={self.rtt.avg_ms} max={self.rtt.max_ms} mdev={self.rtt.mdev_ms}")
        out.extend(f"error: {e}" for e in self.errors)
        out.append(f"verdict: {'reachable' if self.reachable else self.failure}")
        return out


def _reply_address(source: str) -> IpAddr | None:
    """`8.8.8.8` or `dns.google (8.8.8.8)` -> the address."""
    inner = re.search(r"\(([^)]+)\)", source)
    return parse_ip(inner.group(1) if inner else source)


def parse_ping(text: str | bytes | None) -> PingResult:
    header: dict[str, Any] = {}
    statistics: PingStatistics | None = None
    rtt: PingRtt | None = None
    replies: list[PingReply] = []
    icmp_errors: list[PingIcmpError] = []
    unanswered: list[int] = []
    errors: list[str] = []
    unparsed: list[Line] = []
    for line in split_lines(text):
        # Some pings print '\r' progress text; the last segment is what the terminal shows.
        stripped = line.text.split("\r")[-1].strip()
        if not stripped or stripped == "^C":
            continue
        if m := _HEADER.match(stripped):
            header = dict(host=m["host"], address=parse_ip(m["ip"]), payload_size=parse_int(m["size"] or m["dsize"]),
                          implementation=_implementation(m))
        elif m := _REPLY.match(stripped):
            replies.append(PingReply(
                line=line.number, size=int(m["size"]), source=m["from"], address=_reply_address(m["from"]),
                seq=int(m["seq"]), ttl=parse_int(m["ttl"]), time_ms=parse_float(m["time"]),
                duplicate="DUP!" in m["tail"]))
        elif m := _ICMP_ERROR.match(stripped):
            icmp_errors.append(PingIcmpError(line.number, m["from"], int(m["seq"]), m["message"].strip()))
        elif m := _NO_ANSWER.match(stripped):
            unanswered.append(int(m["seq"]))
        elif _STATS_TITLE.match(stripped) or _PIPE.match(stripped):
            continue
        elif m := _STATS.match(stripped):
            statistics = PingStatistics(
                transmitted=int(m["tx"]), received=int(m["rx"]), duplicates=int(m["dup"] or 0),
                errors=int(m["err"] or 0), loss_percent=parse_float(m["loss"]), time_ms=parse_int(m["time"]))
        elif (m := _RTT.match(stripped)) and (parsed_rtt := _rtt(m)) is not None:
            rtt = parsed_rtt
        elif _FATAL.match(stripped):
            errors.append(stripped)
        else:
            unparsed.append(line)
    return PingResult(**header, statistics=statistics, rtt=rtt, replies=tuple(replies),
                      icmp_errors=tuple(icmp_errors), unanswered_seqs=tuple(unanswered), errors=tuple(errors),
                      unparsed=tuple(unparsed))


def _implementation(header: re.Match[str]) -> str:
    """Each ping's header differs: toybox `Ping`, iputils `56(84) bytes` (old ping6: no colon
    before `56 data bytes`), busybox/BSD `: 56 data bytes`."""
    if header["word"] == "Ping":
        return "toybox"
    if header["total"] or not header["colon"]:
        return "iputils"
    return "busybox"


def _rtt(m: re.Match[str]) -> PingRtt | None:
    names = m["names"].split("/")
    values = [parse_float(v) for v in m["values"].split("/")]
    if len(names) != len(values) or len(values) < 3:
        return None
    by_name = {n: v for n, v in zip(names, values) if v is not None}
    if not {"min", "avg", "max"} <= by_name.keys():
        return None
    return PingRtt(min_ms=by_name["min"], avg_ms=by_name["avg"], max_ms=by_name["max"],
                   mdev_ms=by_name.get("mdev", by_name.get("stddev")))
