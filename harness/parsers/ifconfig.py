"""`ifconfig` output in every shape an Android device may print.

* toybox (Android 6+), busybox and classic net-tools: `eth0      Link encap:Ethernet  HWaddr ...`
  followed by `inet addr:`, `inet6 addr:`, flags/MTU and counter lines;
* toybox `-S` short mode: `eth0      172.17.0.2/16               02:42:ac:11:00:02 fe80::.../64@L`;
* net-tools 2.x (Linux chroots on Android): `eth0: flags=4163<UP,...>  mtu 1500` + `inet ... netmask ...`;
* legacy toolbox (Android <= 5): `eth0: ip 10.0.2.15 mask 255.255.255.0 flags [up broadcast running multicast]`.

Lines are recognised by their keywords, not their indentation, because published copies of this
output often lose leading whitespace.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from harness.parsers.base import (Line, ParseResult, frozen_map, normalize_mac, parse_int,
                                  parse_ip, parse_ip_interface, split_lines)

_CLASSIC_HEADER = re.compile(
    r"^(?P<name>\S+)\s+Link encap:(?P<encap>.+?)(?:\s+HWaddr\s+(?P<hw>\S+))?"
    r"(?:\s+Driver\s+(?P<driver>\S+))?\s*$")
_NETTOOLS2_HEADER = re.compile(r"^(?P<name>\S+?):?\s+flags=(?P<num>\d+)<(?P<flags>[^>]*)>(?:\s+mtu\s+(?P<mtu>\d+))?")
_TOOLBOX_LINE = re.compile(
    r"^(?P<name>\S+): ip (?P<ip>\S+) mask (?P<mask>\S+) flags \[(?P<flags>[^\]]*)\]\s*$")
_SHORT_LINE = re.compile(
    r"^(?P<name>\S+)\s+(?P<ip>\d+\.\d+\.\d+\.\d+)/(?P<plen>\d+)\s+(?P<hw>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})"
    r"(?P<v6>(?:\s+\S+/\d+@\w)*)\s*$")
_CLASSIC_INET = re.compile(r"^\s*inet\s+addr:")
_CLASSIC_INET_FIELD = re.compile(r"(addr|Bcast|P-t-P|Mask):\s*(\S+)")
_CLASSIC_INET6 = re.compile(r"^\s*inet6 addr:\s*(?P<addr>\S+)\s+Scope:\s*(?P<scope>\S+)")
_CLASSIC_FLAGS = re.compile(r"^\s*(?P<flags>.*?)\s*MTU:(?P<mtu>\d+)(?:\s+Metric:(?P<metric>\d+))?")
_COUNTER = re.compile(r"(?:(?P<dir>RX|TX)\s+)?(?P<key>[a-z]+):(?P<value>\d+)")
_EXTRA_FIELD = re.compile(r"(Interrupt|Base address|Memory|DMA chan):(\S+)")
_NT2_INET = re.compile(r"^\s*inet\s+(?P<addr>\d+\.\d+\.\d+\.\d+)(?P<rest>.*)$")
_NT2_INET6 = re.compile(r"^\s*inet6\s+(?P<addr>\S+)\s+prefixlen\s+(?P<plen>\d+)(?:\s+scopeid\s+\S+<(?P<scope>\w+)>)?")
_NT2_LINK = re.compile(r"^\s*(?P<kind>ether|loop|unspec|ppp|infiniband|sit|tunnel)\b(?:\s+(?P<hw>[0-9a-fA-F:-]{11,}))?"
                       r"(?:.*?txqueuelen\s+(?P<qlen>\d+))?(?:.*\((?P<encap>[^)]*)\))?")
_NT2_COUNTERS = re.compile(r"^\s*(?P<dir>RX|TX)\s+(?P<body>(?:packets|errors)\s.*)$")
_NT2_PAIR = re.compile(r"([a-z]+)\s+(\d+)")
_ERROR = re.compile(
    r"^(?:ifconfig: .*|SIOC\w+: .*|Warning: .*|\S+: (?:No such device|Device not found|Permission denied"
    r"|Operation not permitted|error fetching interface information.*))$")

TOYBOX_SCOPES = {"G": "Global", "H": "Host", "L": "Link", "S": "Site", "C": "Compat", "U": "Unknown"}
# The toolbox flag words and the kernel flag names they stand for.
_TOOLBOX_FLAGS = {"point-to-point": "POINTOPOINT"}


@dataclasses.dataclass(frozen=True)
class Inet6Address:
    address: ipaddress.IPv6Interface
    scope: str | None = None


@dataclasses.dataclass(frozen=True)
class IfconfigInterface:
    name: str
    line: int
    style: str  # toybox | short | nettools2 | toolbox ("toybox" also covers busybox/net-tools 1.x)
    link_encap: str | None = None
    mac: str | None = None
    driver: str | None = None
    ipv4_address: ipaddress.IPv4Address | None = None
    ipv4_netmask: ipaddress.IPv4Address | None = None
    broadcast: ipaddress.IPv4Address | None = None
    peer: ipaddress.IPv4Address | None = None
    ipv6: tuple[Inet6Address, ...] = ()
    flags: frozenset[str] = frozenset()
    mtu: int | None = None
    metric: int | None = None
    counters: Mapping[str, int] = dataclasses.field(default_factory=frozen_map)
    extras: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)

    @property
    def is_up(self) -> bool:
        return "UP" in self.flags

    @property
    def is_running(self) -> bool:
        return "RUNNING" in self.flags

    @property
    def ipv4(self) -> ipaddress.IPv4Interface | None:
        """Address with its prefix, when both were printed and the address is set."""
        if self.ipv4_address is None or self.ipv4_netmask is None or self.ipv4_address.is_unspecified:
            return None
        try:
            return ipaddress.IPv4Interface(f"{self.ipv4_address}/{self.ipv4_netmask}")
        except ValueError:
            return None


@dataclasses.dataclass(frozen=True)
class IfconfigResult(ParseResult):
    interfaces: tuple[IfconfigInterface, ...] = ()
    errors: tuple[str, ...] = ()

    def get(self, name: str) -> IfconfigInterface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def summary_lines(self) -> list[str]:
        out = []
        for i in self.interfaces:
            addr = str(i.ipv4) if i.ipv4 else "-"
            v6 = " ".join(str(a.address) for a in i.ipv6)
            out.append(f"{i.name}: {'up' if i.is_up else 'down'} {addr} mac={i.mac or '-'} "
                       f"flags={','.join(sorted(i.flags)) or '-'} mtu={i.mtu if i.mtu is not None else '-'}"
                       + (f" inet6={v6}" if v6 else ""))
        out.extend(f"error: {e}" for e in self.errors)
        return out


class _Builder:
    """Mutable collector for one interface block."""

    def __init__(self, name: str, line: int, style: str):
        self.values: dict[str, Any] = {"name": name, "line": line, "style": style}
        self.ipv6: list[Inet6Address] = []
        self.counters: dict[str, int] = {}
        self.extras: dict[str, str] = {}

    def build(self) -> IfconfigInterface:
        return IfconfigInterface(**self.values, ipv6=tuple(self.ipv6), counters=frozen_map(self.counters),
                                 extras=frozen_map(self.extras))


def _ipv4(text: str | None) -> ipaddress.IPv4Address | None:
    addr = parse_ip(text)
    return addr if isinstance(addr, ipaddress.IPv4Address) else None


def _classic_body(b: _Builder, text: str) -> bool:
    """One body line of the toybox/busybox/net-tools 1.x block; False if it is not one."""
    if _CLASSIC_INET.match(text):
        fields = dict(_CLASSIC_INET_FIELD.findall(text))
        b.values["ipv4_address"] = _ipv4(fields.get("addr"))
        b.values["broadcast"] = _ipv4(fields.get("Bcast"))
        b.values["peer"] = _ipv4(fields.get("P-t-P"))
        b.values["ipv4_netmask"] = _ipv4(fields.get("Mask"))
        return b.values["ipv4_address"] is not None
    if m := _CLASSIC_INET6.match(text):
        addr = parse_ip_interface(m["addr"])
        if not isinstance(addr, ipaddress.IPv6Interface):
            return False
        b.ipv6.append(Inet6Address(addr, m["scope"]))
        return True
    if m := _CLASSIC_FLAGS.match(text):
        words = m["flags"].replace("[NO FLAGS]", "").split()
        b.values["flags"] = frozenset(words)
        b.values["mtu"] = int(m["mtu"])
        b.values["metric"] = parse_int(m["metric"])
        return True
    stripped = text.strip()
    if stripped.startswith(("RX ", "TX ", "collisions:")):
        direction = ""
        found = False
        for m in _COUNTER.finditer(stripped):
            if m["dir"]:
                direction = m["dir"].lower() + "_"
            key = m["key"] if m["key"] in ("collisions", "txqueuelen") else direction + m["key"]
            b.counters[key] = int(m["value"])
            found = True
        return found
    extras = _EXTRA_FIELD.findall(stripped)
    if extras:
        b.extras.update(extras)
        return True
    return False


def _nettools2_body(b: _Builder, text: str) -> bool:
    if m := _NT2_INET.match(text):
        fields = dict(re.findall(r"(netmask|broadcast|destination)\s+(\S+)", m["rest"]))
        b.values["ipv4_address"] = _ipv4(m["addr"])
        b.values["ipv4_netmask"] = _ipv4(fields.get("netmask"))
        b.values["broadcast"] = _ipv4(fields.get("broadcast"))
        b.values["peer"] = _ipv4(fields.get("destination"))
        return True
    if m := _NT2_INET6.match(text):
        addr = parse_ip_interface(f"{m['addr']}/{m['plen']}")
        if not isinstance(addr, ipaddress.IPv6Interface):
            return False
        b.ipv6.append(Inet6Address(addr, m["scope"].capitalize() if m["scope"] else None))
        return True
    if m := _NT2_COUNTERS.match(text):
        prefix = m["dir"].lower() + "_"
        for key, value in _NT2_PAIR.findall(m["body"]):
            b.counters[key if key == "collisions" else prefix + key] = int(value)
        return True
    if m := _NT2_LINK.match(text):
        b.values["mac"] = normalize_mac(m["hw"])
        b.values["link_encap"] = m["encap"]
        if m["qlen"]:
            b.counters["txqueuelen"] = int(m["qlen"])
        return True
    if text.strip().startswith("device "):
        b.extras.update(re.findall(r"(interrupt|memory|base)\s+(\S+)", text))
        return True
    return False


def _toolbox(m: re.Match[str], number: int) -> IfconfigInterface:
    words = [_TOOLBOX_FLAGS.get(w, w.upper()) for w in m["flags"].split()]
    return IfconfigInterface(
        name=m["name"], line=number, style="toolbox", ipv4_address=_ipv4(m["ip"]),
        ipv4_netmask=_ipv4(m["mask"]), flags=frozenset(w for w in words if w != "DOWN"))


def _short(m: re.Match[str], number: int) -> IfconfigInterface:
    ipv6 = []
    for token in m["v6"].split():
        addr, _, scope = token.rpartition("@")
        iface = parse_ip_interface(addr)
        if isinstance(iface, ipaddress.IPv6Interface):
            ipv6.append(Inet6Address(iface, TOYBOX_SCOPES.get(scope, scope)))
    v4 = parse_ip_interface(f"{m['ip']}/{m['plen']}")
    return IfconfigInterface(
        name=m["name"], line=number, style="short", mac=normalize_mac(m["hw"]),
        ipv4_address=_ipv4(m["ip"]), ipv4_netmask=v4.netmask if isinstance(v4, ipaddress.IPv4Interface) else None,
        ipv6=tuple(ipv6), flags=frozenset({"UP"}))  # -S lists only interfaces that are up


def parse_ifconfig(text: str | bytes | None) -> IfconfigResult:
    interfaces: list[IfconfigInterface] = []
    errors: list[str] = []
    unparsed: list[Line] = []
    current: _Builder | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            interfaces.append(current.build())
            current = None

    for line in split_lines(text):
        stripped = line.text.strip()
        if not stripped:
            continue
        if m := _CLASSIC_HEADER.match(line.text):
            close()
            current = _Builder(m["name"], line.number, "toybox")
            current.values.update(link_encap=m["encap"].strip(), mac=normalize_mac(m["hw"]), driver=m["driver"])
            continue
        if (m := _NETTOOLS2_HEADER.match(line.text)) and not line.text[0].isspace():
            close()
            current = _Builder(m["name"], line.number, "nettools2")
            current.values.update(flags=frozenset(f for f in m["flags"].split(",") if f), mtu=parse_int(m["mtu"]))
            continue
        if m := _TOOLBOX_LINE.match(stripped):
            close()
            interfaces.append(_toolbox(m, line.number))
            continue
        if m := _SHORT_LINE.match(stripped):
            close()
            interfaces.append(_short(m, line.number))
            continue
        if _ERROR.match(stripped):
            close()
            errors.append(stripped)
            continue
        body = _nettools2_body if current is not None and current.values["style"] == "nettools2" else _classic_body
        if current is not None and body(current, line.text):
            continue
        unparsed.append(line)
    close()
    return IfconfigResult(interfaces=tuple(interfaces), errors=tuple(errors), unparsed=tuple(unparsed))
