"""Pieces shared by the dumpsys parsers: top-level sections and the Java `toString()` renderings
of NetworkInfo, LinkProperties and NetworkCapabilities, read the same way across releases.

LinkProperties lists are `[a,b,]` up to Android 9 and `[ a,b ]` from 10; DNS servers carry
InetAddress's leading `/` from 10 on; NetworkInfo is `[type: Ethernet[], state: CONNECTED/CONNECTED, ...]`
up to 11 and the short `Ethernet CONNECTED extra: ...` inside NetworkAgentInfo from 12.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

from harness.parsers.base import Line, parse_int, parse_ip, parse_ip_interface

_ERROR = re.compile(r"^(?:Can't find service: .*|Permission Denial: .*|Service .* does not exist.*"
                    r"|Error dumping service info.*|.*dumpsys: (?:inaccessible or )?not found"
                    r"|/system/bin/sh: dumpsys: .*)$")


def is_dumpsys_error(text: str) -> bool:
    return bool(_ERROR.match(text.strip()))


@dataclasses.dataclass(frozen=True)
class Section:
    """A top-level block: an unindented header line and the indented/blank lines under it."""

    header: Line
    body: tuple[Line, ...]

    @property
    def name(self) -> str:
        return self.header.text.split(":", 1)[0].strip()


def split_sections(lines: list[Line]) -> tuple[list[Line], list[Section]]:
    """(lines before the first header, sections). A header is any non-blank line that starts
    in column 0; everything indented or blank belongs to the section above it."""
    preamble: list[Line] = []
    sections: list[tuple[Line, list[Line]]] = []
    for line in lines:
        if line.text.strip() and not line.text[0].isspace():
            sections.append((line, []))
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    return preamble, [Section(h, tuple(b)) for h, b in sections]


def _list_items(text: str | None) -> list[str]:
    """`[a,b,]` / `[ a,b ]` / `[/1.1.1.1, /8.8.8.8]` -> ['a', 'b']."""
    if not text:
        return []
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclasses.dataclass(frozen=True)
class NetworkInfoValue:
    type_name: str | None = None
    subtype: str | None = None
    state: str | None = None  # CONNECTED, DISCONNECTED, CONNECTING, ...
    detailed_state: str | None = None  # absent from the short (12+) rendering

    @property
    def connected(self) -> bool:
        return self.state == "CONNECTED"


_NI_LONG = re.compile(r"type: (?P<type>[^\[,]*?)\s*\[(?P<sub>[^\]]*)\][^,]*, state: (?P<state>\w+)/(?P<detail>\w+)")
_NI_SHORT = re.compile(r"^\s*(?P<type>[A-Za-z_][\w-]*)(?:\[(?P<sub>[^\]]*)\])?\s+(?P<state>[A-Z_]+)\b")


def network_info(text: str | None) -> NetworkInfoValue | None:
    """NetworkInfo in either rendering; the line-wrapped `CONNECTED/CONN\\nECTED` of copied logs
    does not occur inside one dumpsys line."""
    if not text:
        return None
    if m := _NI_LONG.search(text):
        return NetworkInfoValue(m["type"] or None, m["sub"] or None, m["state"], m["detail"])
    if m := _NI_SHORT.match(text):
        return NetworkInfoValue(m["type"], m["sub"] or None, m["state"], None)
    return None


@dataclasses.dataclass(frozen=True)
class LinkPropertiesValue:
    interface: str | None = None
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...] = ()
    dns_servers: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = ()
    routes: tuple[str, ...] = ()  # as printed: "0.0.0.0/0 -> 172.17.0.1 eth0"
    domains: str | None = None
    mtu: int | None = None

    @property
    def ipv4_addresses(self) -> tuple[ipaddress.IPv4Interface, ...]:
        return tuple(a for a in self.addresses if isinstance(a, ipaddress.IPv4Interface))

    @property
    def has_default_route(self) -> bool:
        return any(r.startswith(("0.0.0.0/0 ", "::/0 ")) for r in self.routes)


_LP_INTERFACE = re.compile(r"InterfaceName: (?P<v>[^\s{}]+)")
_LP_ADDRESSES = re.compile(r"LinkAddresses: \[(?P<v>[^\]]*)\]")
_LP_DNS = re.compile(r"DnsAddresses: \[(?P<v>[^\]]*)\]")
_LP_ROUTES = re.compile(r"Routes: \[(?P<v>[^\]]*)\]")
_LP_DOMAINS = re.compile(r"Domains: (?P<v>\S+)")
_LP_MTU = re.compile(r"MTU: (?P<v>\d+)")


def _group(regex: re.Pattern[str], text: str) -> str | None:
    m = regex.search(text)
    return m["v"] if m else None


def link_properties(text: str | None) -> LinkPropertiesValue | None:
    if not text or ("InterfaceName" not in text and "LinkAddresses" not in text):
        return None
    addresses = [parse_ip_interface(a.split()[0]) for a in _list_items(_group(_LP_ADDRESSES, text))]
    dns = [parse_ip(d) for d in _list_items(_group(_LP_DNS, text))]
    return LinkPropertiesValue(
        interface=_group(_LP_INTERFACE, text), addresses=tuple(a for a in addresses if a is not None),
        dns_servers=tuple(d for d in dns if d is not None), routes=tuple(_list_items(_group(_LP_ROUTES, text))),
        domains=_group(_LP_DOMAINS, text), mtu=parse_int(_group(_LP_MTU, text)))


_TRANSPORTS = re.compile(r"Transports: (?P<v>[A-Z_|]+)")
_CAPABILITIES = re.compile(r"Capabilities: (?P<v>[A-Z_&]+)")


def transports(text: str | None) -> frozenset[str]:
    value = _group(_TRANSPORTS, text or "")
    return frozenset(value.split("|")) if value else frozenset()


def capabilities(text: str | None) -> frozenset[str]:
    value = _group(_CAPABILITIES, text or "")
    return frozenset(value.split("&")) if value else frozenset()
