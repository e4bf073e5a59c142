"""iproute2 `ip addr` / `ip link`, `ip route` and `ip rule` output, old and new renderings.

Covered: trailing spaces (iproute2 <= 4.x ends every field with one), `@ifN`/`@NONE` link
suffixes, `-o` one-line output (records joined by a backslash), `-s` statistics, fwmarks printed
`0x0/0xffff` (old) or `0/0xffff` (new `%#llx`), `[detached]` interfaces, route types
(`unreachable`, `local`, `broadcast`, ...), flags such as `linkdown`/`onlink`, multipath
`nexthop` lines and the `cache` line of `ip route get`.
Tool errors (`Error: argument "eth0" is wrong: table id value is invalid`,
`Device "eth9" does not exist.`, `RTNETLINK answers: ...`) are returned in `errors`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from harness.parsers.base import (Line, ParseResult, frozen_map, normalize_mac, parse_hex, parse_int,
                                  parse_ip, parse_ip_interface, parse_network, split_lines)

IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

_ERROR = re.compile(r"^(?:Error: .*|RTNETLINK answers: .*|Device \".*\" does not exist\.?|Cannot find device .*"
                    r"|Object \".*\" is unknown.*|Command \".*\" is unknown.*|ip: .*|Dump terminated"
                    r"|.*: (?:inaccessible or )?not found|Usage: ip .*)$")


def _is_error(text: str) -> bool:
    return bool(_ERROR.match(text))


def _one_line_records(lines: list[Line]) -> Iterator[tuple[Line, Line]]:
    """`ip -o` joins a record's lines with '\\'; give them back as separate lines, each with the
    input line it came from (what is kept when a part cannot be parsed)."""
    for line in lines:
        if "\\" not in line.text:
            yield line, line
            continue
        parts = re.split(r"\\\s*", line.text)
        yield Line(line.number, parts[0]), line
        for part in parts[1:]:
            if part.strip():
                yield Line(line.number, "    " + part), line


def _keep(unparsed: list[Line], source: Line) -> None:
    if not unparsed or unparsed[-1] is not source:
        unparsed.append(source)


def _keyword_values(tokens: list[str], with_value: set[str], bare: set[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """Split `key value` pairs and bare flag words; unknown tokens are returned in order."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    unknown: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in with_value and i + 1 < len(tokens):
            values[token] = tokens[i + 1]
            i += 2
        elif token in bare:
            flags.add(token)
            i += 1
        else:
            unknown.append(token)
            i += 1
    return values, flags, unknown


# ---------------------------------------------------------------------------------------------
# ip addr / ip link

_LINK_HEADER = re.compile(r"^(?P<index>\d+):\s+(?P<name>[^\s:@]+)(?:@(?P<parent>[^\s:]+))?:\s+<(?P<flags>[^>]*)>(?P<rest>.*)$")
_ONELINE_ADDR = re.compile(r"^(?P<index>\d+):\s+(?P<name>[^\s:@]+)(?:@(?P<parent>\S+?))?:?\s+(?P<rest>(?:inet6?|link/\S+)\s.*|link/\S+)$")
_LINK_LAYER = re.compile(r"^\s*link/(?P<type>\S+)(?:\s+(?P<address>\S+))?(?:\s+(?:brd|peer)\s+(?P<brd>\S+))?(?P<rest>.*)$")
_INET = re.compile(r"^\s*(?P<family>inet6?)\s+(?P<address>\S+)(?:\s+peer\s+(?P<peer>\S+))?(?P<rest>.*)$")
_BRIEF = re.compile(r"^(?P<name>[^\s@:]+)(?:@(?P<parent>\S+))?\s+"
                    r"(?P<state>UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT|NOTPRESENT|TESTING)(?:\s+(?P<rest>.*))?$")
_LIFETIME = re.compile(r"^\s*valid_lft\s+(?P<valid>\S+)\s+preferred_lft\s+(?P<preferred>\S+)\s*$")
_STATS_HEADER = re.compile(r"^\s*(?P<dir>RX|TX)(?P<errors>\s+errors)?:\s+(?P<names>[a-z_ ]+?)\s*$")
_NUMBERS = re.compile(r"^\s*\d+(?:\s+\d+)*\s*$")

_LINK_KEYS = {"mtu", "qdisc", "master", "state", "mode", "group", "qlen", "link-netnsid", "link-netns", "netns"}
_ADDR_KEYS = {"brd", "scope", "metric", "proto"}
_ADDR_FLAGS = {"secondary", "dynamic", "deprecated", "tentative", "dadfailed", "noprefixroute", "mngtmpaddr",
               "temporary", "permanent", "home", "nodad", "optimistic", "stable-privacy", "autojoin", "primary"}


def _lifetime(text: str | None) -> int | None:
    """Seconds; None for `forever` (or anything unreadable)."""
    if text is None or text == "forever":
        return None
    return parse_int(text.removesuffix("sec"))


@dataclasses.dataclass(frozen=True)
class IpAddress:
    family: str  # inet | inet6
    address: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    line: int
    peer: ipaddress.IPv4Interface | ipaddress.IPv6Interface | None = None
    broadcast: IpAddr | None = None
    scope: str | None = None
    label: str | None = None
    flags: frozenset[str] = frozenset()
    valid_lft: int | None = None  # seconds; None = forever or not printed
    preferred_lft: int | None = None


@dataclasses.dataclass(frozen=True)
class IpLink:
    index: int | None  # None in `ip -br` output, which prints no index
    name: str
    line: int
    parent: str | None = None  # the `@if5` / `@NONE` suffix, without '@'
    flags: frozenset[str] = frozenset()
    mtu: int | None = None
    qdisc: str | None = None
    state: str | None = None
    master: str | None = None
    qlen: int | None = None
    link_type: str | None = None  # ether, loopback, none, ipip, ...
    mac: str | None = None
    broadcast_mac: str | None = None
    addresses: tuple[IpAddress, ...] = ()
    stats: Mapping[str, int] = dataclasses.field(default_factory=frozen_map)
    attributes: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)

    @property
    def is_up(self) -> bool:
        return "UP" in self.flags

    @property
    def has_carrier(self) -> bool:
        return "LOWER_UP" in self.flags and "NO-CARRIER" not in self.flags

    def ipv4(self) -> list[ipaddress.IPv4Interface]:
        return [a.address for a in self.addresses if isinstance(a.address, ipaddress.IPv4Interface)]

    def ipv6(self) -> list[ipaddress.IPv6Interface]:
        return [a.address for a in self.addresses if isinstance(a.address, ipaddress.IPv6Interface)]


@dataclasses.dataclass(frozen=True)
class IpAddrResult(ParseResult):
    links: tuple[IpLink, ...] = ()
    errors: tuple[str, ...] = ()

    def get(self, name: str) -> IpLink | None:
        return next((link for link in self.links if link.name == name), None)

    def summary_lines(self) -> list[str]:
        out = []
        for link in self.links:
            name = link.name + (f"@{link.parent}" if link.parent else "")
            out.append(f"{link.index if link.index is not None else '-'}: {name} state={link.state or '-'} flags={','.join(sorted(link.flags)) or '-'} "
                       f"mtu={link.mtu if link.mtu is not None else '-'} mac={link.mac or '-'}")
            out.extend(f"    {a.family} {a.address} scope={a.scope or '-'}"
                       + (f" flags={','.join(sorted(a.flags))}" if a.flags else "") for a in link.addresses)
        out.extend(f"error: {e}" for e in self.errors)
        return out


class _LinkBuilder:
    def __init__(self, index: int | None, name: str, line: int, parent: str | None):
        self.values: dict[str, Any] = {"index": index, "name": name, "line": line, "parent": parent}
        self.addresses: list[dict[str, Any]] = []
        self.stats: dict[str, int] = {}
        self.attributes: dict[str, str] = {}
        self.pending_stats: tuple[str, list[str]] | None = None

    def header(self, flags: str, rest: str) -> None:
        values, _, unknown = _keyword_values(rest.split(), _LINK_KEYS, set())
        self.values.update(flags=frozenset(f for f in flags.split(",") if f), mtu=parse_int(values.pop("mtu", None)),
                           qdisc=values.pop("qdisc", None), state=values.pop("state", None),
                           master=values.pop("master", None), qlen=parse_int(values.pop("qlen", None)))
        self.attributes.update(values)
        if unknown:
            self.attributes["other"] = " ".join(unknown)

    def body(self, line: Line) -> bool:
        text = line.text
        if self.pending_stats is not None:
            direction, names = self.pending_stats
            self.pending_stats = None
            if _NUMBERS.match(text):
                for name, value in zip(names, text.split()):
                    self.stats[f"{direction}_{name}"] = int(value)
                return True
        if m := _STATS_HEADER.match(text):
            direction = m["dir"].lower() + ("_errors" if m["errors"] else "")
            self.pending_stats = (direction, m["names"].split())
            return True
        if m := _LINK_LAYER.match(text):
            self.values.update(link_type=m["type"], mac=normalize_mac(m["address"]),
                               broadcast_mac=normalize_mac(m["brd"]))
            values, _, _ = _keyword_values(m["rest"].split(), _LINK_KEYS, set())
            self.attributes.update(values)
            return True
        if m := _INET.match(text):
            return self._address(m, line.number)
        if m := _LIFETIME.match(text):
            if not self.addresses:
                return False
            self.addresses[-1].update(valid_lft=_lifetime(m["valid"]), preferred_lft=_lifetime(m["preferred"]))
            return True
        if text.strip().startswith("altname "):
            self.attributes.setdefault("altname", text.split()[1])
            return True
        return False

    def brief(self, state: str, rest: str, number: int) -> None:
        """`ip -br addr` (addresses) or `ip -br link` (MAC and <FLAGS>) after the state column."""
        self.values["state"] = state
        for token in rest.split():
            if token.startswith("<") and token.endswith(">"):
                self.values["flags"] = frozenset(f for f in token[1:-1].split(",") if f)
            elif (mac := normalize_mac(token)) is not None:
                self.values["mac"] = mac
            elif (address := parse_ip_interface(token)) is not None:
                family = "inet" if isinstance(address, ipaddress.IPv4Interface) else "inet6"
                self.addresses.append(dict(family=family, address=address, line=number))

    def _address(self, m: re.Match[str], number: int) -> bool:
        address = parse_ip_interface(m["address"])
        if address is None:
            return False
        values, flags, unknown = _keyword_values(m["rest"].split(), _ADDR_KEYS, _ADDR_FLAGS)
        self.addresses.append(dict(
            family=m["family"], address=address, line=number, peer=parse_ip_interface(m["peer"]),
            broadcast=parse_ip(values.get("brd")), scope=values.get("scope"), flags=frozenset(flags),
            label=unknown[-1] if unknown else None))
        return True

    def build(self) -> IpLink:
        return IpLink(**self.values, addresses=tuple(IpAddress(**a) for a in self.addresses),
                      stats=frozen_map(self.stats), attributes=frozen_map(self.attributes))


def parse_ip_addr(text: str | bytes | None) -> IpAddrResult:
    """`ip addr` / `ip link` (also `-o`, `-s`, `-br`, `-4`/`-6`, `show dev X`)."""
    builders: list[_LinkBuilder] = []
    by_index: dict[tuple[int, str], _LinkBuilder] = {}
    errors: list[str] = []
    unparsed: list[Line] = []
    current: _LinkBuilder | None = None

    def builder(index: int | None, name: str, number: int, parent: str | None) -> _LinkBuilder:
        key = (index, name)
        if key not in by_index:
            by_index[key] = _LinkBuilder(index, name, number, parent)
            builders.append(by_index[key])
        return by_index[key]

    for line, source in _one_line_records(split_lines(text)):
        stripped = line.text.strip()
        if not stripped:
            continue
        if m := _LINK_HEADER.match(stripped):
            current = builder(int(m["index"]), m["name"], line.number, m["parent"])
            current.header(m["flags"], m["rest"])
            continue
        if m := _ONELINE_ADDR.match(stripped):
            current = builder(int(m["index"]), m["name"], line.number, m["parent"])
            if current.body(Line(line.number, "    " + m["rest"])):
                continue
        if _is_error(stripped):
            errors.append(stripped)
            continue
        if current is not None and current.body(line):
            continue
        if not line.text[0].isspace() and (m := _BRIEF.match(stripped)):
            current = None
            builder(None, m["name"], line.number, m["parent"]).brief(m["state"], m["rest"] or "", line.number)
            continue
        _keep(unparsed, source)
    return IpAddrResult(links=tuple(b.build() for b in builders), errors=tuple(errors), unparsed=tuple(unparsed))


parse_ip_link = parse_ip_addr


# ---------------------------------------------------------------------------------------------
# ip route

ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit", "blackhole",
               "nat", "anycast", "xresolve"}
_ROUTE_KEYS = {"dev", "table", "proto", "scope", "src", "metric", "pref", "mtu", "advmss", "rtt", "rttvar",
               "window", "cwnd", "initcwnd", "initrwnd", "hoplimit", "expires", "error", "uid", "from", "tos",
               "realm", "realms", "nhid", "mark", "users", "used", "age", "ipid", "ssthresh", "reordering",
               "rto_min", "quickack", "congctl", "features", "fastopen_no_cookie", "weight", "iif", "oif",
               "dsfield", "as", "encap", "ttl-propagate", "tsage"}
_ROUTE_FLAGS = {"dead", "onlink", "pervasive", "offload", "trap", "notify", "linkdown", "unresolved", "rt_offload",
                "rt_trap", "rt_offload_failed", "cache", "cloned", "ecn", "lock"}


@dataclasses.dataclass(frozen=True)
class NextHop:
    gateway: IpAddr | None = None
    dev: str | None = None
    weight: int | None = None
    flags: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class IpRoute:
    destination: str  # "default" or a normalized CIDR ("10.0.0.1" is printed as "10.0.0.1/32")
    line: int
    type: str = "unicast"
    gateway: IpAddr | None = None
    dev: str | None = None
    table: str | None = None
    proto: str | None = None
    scope: str | None = None
    src: IpAddr | None = None
    metric: int | None = None
    pref: str | None = None
    mtu: int | None = None
    error: int | None = None
    flags: frozenset[str] = frozenset()
    nexthops: tuple[NextHop, ...] = ()
    attributes: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)

    @property
    def is_default(self) -> bool:
        return self.destination in ("default", "0.0.0.0/0", "::/0")

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        return parse_network(self.destination)


@dataclasses.dataclass(frozen=True)
class IpRouteResult(ParseResult):
    routes: tuple[IpRoute, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def default_routes(self) -> tuple[IpRoute, ...]:
        return tuple(r for r in self.routes if r.is_default and r.type == "unicast")

    @property
    def table_missing(self) -> bool:
        """`ip route show table X` for a table name that /data/misc/net/rt_tables lacks."""
        return any("table id value is invalid" in e for e in self.errors)

    def summary_lines(self) -> list[str]:
        out = []
        for r in self.routes:
            parts = [r.type if r.type != "unicast" else "", r.destination,
                     f"via {r.gateway}" if r.gateway else "", f"dev {r.dev}" if r.dev else "",
                     f"table {r.table}" if r.table else "", f"proto {r.proto}" if r.proto else "",
                     f"scope {r.scope}" if r.scope else "", f"src {r.src}" if r.src else "",
                     f"metric {r.metric}" if r.metric is not None else "", " ".join(sorted(r.flags))]
            out.append(" ".join(p for p in parts if p))
        out.extend(f"error: {e}" for e in self.errors)
        return out


def _destination(text: str) -> str:
    if text == "default":
        return text
    network = parse_network(text)
    return str(network) if network is not None else text


def _route_tokens(tokens: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Fields of one route (or nexthop) from its tokens, `via [inet|inet6] X` included."""
    fields: dict[str, Any] = {}
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "via" and i + 1 < len(tokens):
            if tokens[i + 1] in ("inet", "inet6") and i + 2 < len(tokens):
                i += 1
            fields["gateway"] = parse_ip(tokens[i + 1])
            i += 2
        else:
            rest.append(tokens[i])
            i += 1
    values, flags, unknown = _keyword_values(rest, _ROUTE_KEYS, _ROUTE_FLAGS)
    fields.update(values=values, flags=flags)
    return fields, unknown


def _route(line: Line) -> IpRoute | None:
    tokens = line.text.split()
    kind = "unicast"
    if tokens and tokens[0] in ROUTE_TYPES:
        kind = tokens.pop(0)
    if not tokens:
        return None
    dst = tokens.pop(0)
    if dst != "default" and parse_network(dst) is None:
        return None
    fields, unknown = _route_tokens(tokens)
    values: dict[str, str] = fields["values"]
    attributes = {k: v for k, v in values.items()
                  if k not in ("dev", "table", "proto", "scope", "src", "metric", "pref", "mtu", "error")}
    if unknown:
        attributes["other"] = " ".join(unknown)
    return IpRoute(
        destination=_destination(dst), line=line.number, type=kind, gateway=fields.get("gateway"),
        dev=values.get("dev"), table=values.get("table"), proto=values.get("proto"), scope=values.get("scope"),
        src=parse_ip(values.get("src")), metric=parse_int(values.get("metric")), pref=values.get("pref"),
        mtu=parse_int(values.get("mtu")), error=parse_int(values.get("error")), flags=frozenset(fields["flags"]),
        attributes=frozen_map(attributes))


def _nexthop(text: str) -> NextHop | None:
    tokens = text.split()
    if not tokens or tokens[0] != "nexthop":
        return None
    fields, _ = _route_tokens(tokens[1:])
    return NextHop(gateway=fields.get("gateway"), dev=fields["values"].get("dev"),
                   weight=parse_int(fields["values"].get("weight")), flags=frozenset(fields["flags"]))


def parse_ip_route(text: str | bytes | None) -> IpRouteResult:
    """`ip route [show|list] [table T]`, `ip -6 route`, `ip route get X`."""
    routes: list[IpRoute] = []
    errors: list[str] = []
    unparsed: list[Line] = []
    for line, source in _one_line_records(split_lines(text)):
        stripped = line.text.strip()
        if not stripped:
            continue
        if routes and (hop := _nexthop(stripped)) is not None:
            routes[-1] = dataclasses.replace(routes[-1], nexthops=routes[-1].nexthops + (hop,))
        elif routes and stripped.split()[0] == "cache":
            last = routes[-1]
            extra, flags, _ = _keyword_values(stripped.split()[1:], _ROUTE_KEYS, _ROUTE_FLAGS)
            routes[-1] = dataclasses.replace(last, flags=last.flags | flags | {"cache"},
                                             attributes=frozen_map({**last.attributes, **extra}))
        elif _is_error(stripped):
            errors.append(stripped)
        elif (route := _route(Line(line.number, stripped))) is not None:
            routes.append(route)
        else:
            _keep(unparsed, source)
    return IpRouteResult(routes=tuple(routes), errors=tuple(errors), unparsed=tuple(unparsed))


# ---------------------------------------------------------------------------------------------
# ip rule

RULE_ACTIONS = {"unreachable", "prohibit", "blackhole", "nop", "masquerade"}
_RULE_KEYS = {"to", "tos", "dsfield", "iif", "oif", "uidrange", "ipproto", "sport", "dport", "tun_id", "lookup",
              "suppress_prefixlength", "suppress_ifgroup", "realms", "map-to", "goto", "proto", "dscp", "flowlabel"}
_RULE_LINE = re.compile(r"^(?P<prio>\d+):\s+(?P<rest>.*)$")


@dataclasses.dataclass(frozen=True)
class IpRule:
    priority: int
    line: int
    source: str = "all"  # "all" or a normalized CIDR
    destination: str | None = None
    invert: bool = False  # `not`
    fwmark: int | None = None
    fwmask: int | None = None  # None when printed without a mask (all bits)
    iif: str | None = None
    oif: str | None = None
    iif_detached: bool = False
    oif_detached: bool = False
    uid_range: tuple[int, int] | None = None
    table: str | None = None  # the `lookup` target, by name or number as printed
    action: str = "lookup"  # lookup | unreachable | prohibit | blackhole | goto | nop | ...
    goto: int | None = None
    l3mdev: bool = False
    attributes: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)


@dataclasses.dataclass(frozen=True)
class IpRuleResult(ParseResult):
    rules: tuple[IpRule, ...] = ()
    errors: tuple[str, ...] = ()

    def lookups(self, table: str) -> tuple[IpRule, ...]:
        return tuple(r for r in self.rules if r.table == table)

    def with_priority(self, priority: int) -> tuple[IpRule, ...]:
        return tuple(r for r in self.rules if r.priority == priority)

    def summary_lines(self) -> list[str]:
        out = []
        for r in self.rules:
            parts = [f"{r.priority}:", "not" if r.invert else "", f"from {r.source}",
                     f"to {r.destination}" if r.destination else "",
                     f"fwmark 0x{r.fwmark:x}" + (f"/0x{r.fwmask:x}" if r.fwmask is not None else "")
                     if r.fwmark is not None else "",
                     f"iif {r.iif}" if r.iif else "", f"oif {r.oif}" if r.oif else "",
                     f"uidrange {r.uid_range[0]}-{r.uid_range[1]}" if r.uid_range else "",
                     f"lookup {r.table}" if r.table else (r.action if r.action != "goto" else f"goto {r.goto}")]
            out.append(" ".join(p for p in parts if p))
        out.extend(f"error: {e}" for e in self.errors)
        return out


def _rule(line: Line, m: re.Match[str]) -> IpRule | None:
    tokens = m["rest"].split()
    fields: dict[str, Any] = {"priority": int(m["prio"]), "line": line.number}
    if tokens[:1] == ["not"]:
        fields["invert"] = True
        tokens.pop(0)
    if len(tokens) < 2 or tokens[0] != "from":
        return None
    fields["source"] = tokens[1] if tokens[1] == "all" else _destination(tokens[1])
    tokens = tokens[2:]
    # `fwmark` and `[detached]` are handled here; the rest are plain `key value` pairs.
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "fwmark" and i + 1 < len(tokens):
            mark, _, mask = tokens[i + 1].partition("/")
            fields["fwmark"], fields["fwmask"] = parse_hex(mark), parse_hex(mask) if mask else None
            i += 2
        elif token in ("iif", "oif") and i + 1 < len(tokens):
            fields[token] = tokens[i + 1]
            i += 2
            if i < len(tokens) and tokens[i] == "[detached]":
                fields[f"{token}_detached"] = True
                i += 1
        elif token == "l3mdev":
            fields["l3mdev"] = True
            i += 1
        else:
            rest.append(token)
            i += 1
    values, actions, unknown = _keyword_values(rest, _RULE_KEYS, RULE_ACTIONS)
    if "to" in values:
        fields["destination"] = _destination(values.pop("to"))
    if "uidrange" in values:
        low, _, high = values.pop("uidrange").partition("-")
        if (lo := parse_int(low)) is not None and (hi := parse_int(high)) is not None:
            fields["uid_range"] = (lo, hi)
    if "lookup" in values:
        fields["table"] = values.pop("lookup")
    if "goto" in values:
        fields["action"], fields["goto"] = "goto", parse_int(values.pop("goto"))
    elif actions:
        fields["action"] = sorted(actions)[0]
    if unknown:
        values["other"] = " ".join(unknown)
    return IpRule(**fields, attributes=frozen_map(values))


def parse_ip_rule(text: str | bytes | None) -> IpRuleResult:
    """`ip rule` / `ip -6 rule` (`ip rule list|show`)."""
    rules: list[IpRule] = []
    errors: list[str] = []
    unparsed: list[Line] = []
    for line in split_lines(text):
        stripped = line.text.strip()
        if not stripped:
            continue
        if (m := _RULE_LINE.match(stripped)) and (rule := _rule(line, m)) is not None:
            rules.append(rule)
        elif _is_error(stripped):
            errors.append(stripped)
        else:
            unparsed.append(line)
    return IpRuleResult(rules=tuple(rules), errors=tuple(errors), unparsed=tuple(unparsed))
