"""`netcfg` (Android <= 5.1) interface listing.

4.1+ prints `"%-8s %s  %40s/%-4d0x%08x %s"`: name, `UP  `/`DOWN`, address/prefix, flags, MAC.
Older releases printed the netmask as a second dotted address instead of `/prefix`, and may omit
the MAC. Fields are read as whitespace-separated tokens, so both forms (and copies whose padding
was collapsed) parse alike.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

from harness.parsers.base import (Line, ParseResult, normalize_mac, parse_hex, parse_ip,
                                  split_lines)

_ERROR = re.compile(r"^(?:usage: netcfg.*|action '.*' failed.*|no such action '.*'|Cannot perform .*"
                    r"|/system/bin/sh: netcfg: .*|.*netcfg: (?:not found|inaccessible or not found))$")

IFF_UP = 0x1


@dataclasses.dataclass(frozen=True)
class NetcfgInterface:
    name: str
    line: int
    up: bool
    address: ipaddress.IPv4Interface
    flags: int
    mac: str | None = None

    @property
    def has_address(self) -> bool:
        return not self.address.ip.is_unspecified


@dataclasses.dataclass(frozen=True)
class NetcfgResult(ParseResult):
    interfaces: tuple[NetcfgInterface, ...] = ()
    errors: tuple[str, ...] = ()

    def get(self, name: str) -> NetcfgInterface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def summary_lines(self) -> list[str]:
        out = [f"{i.name}: {'UP' if i.up else 'DOWN'} {i.address} flags=0x{i.flags:08x} mac={i.mac or '-'}"
               for i in self.interfaces]
        out.extend(f"error: {e}" for e in self.errors)
        return out


def _address(tokens: list[str]) -> tuple[ipaddress.IPv4Interface, list[str]] | None:
    """The address in `a.b.c.d/len` or `a.b.c.d mask` form, and the tokens after it."""
    if not tokens:
        return None
    if "/" in tokens[0]:
        try:
            return ipaddress.IPv4Interface(tokens[0]), tokens[1:]
        except ValueError:
            return None
    addr, mask = parse_ip(tokens[0]), parse_ip(tokens[1]) if len(tokens) > 1 else None
    if isinstance(addr, ipaddress.IPv4Address) and isinstance(mask, ipaddress.IPv4Address):
        try:
            return ipaddress.IPv4Interface(f"{addr}/{mask}"), tokens[2:]
        except ValueError:
            return None
    return None


def _interface(line: Line) -> NetcfgInterface | None:
    tokens = line.text.split()
    if len(tokens) < 4 or tokens[1] not in ("UP", "DOWN"):
        return None
    parsed = _address(tokens[2:])
    if parsed is None:
        return None
    address, rest = parsed
    if not rest or not rest[0].lower().startswith("0x") or (flags := parse_hex(rest[0])) is None:
        return None
    if len(rest) > 2:
        return None
    mac = normalize_mac(rest[1]) if len(rest) == 2 else None
    if len(rest) == 2 and mac is None:
        return None
    return NetcfgInterface(name=tokens[0], line=line.number, up=tokens[1] == "UP",
                           address=address, flags=flags, mac=mac)


def parse_netcfg(text: str | bytes | None) -> NetcfgResult:
    interfaces: list[NetcfgInterface] = []
    errors: list[str] = []
    unparsed: list[Line] = []
    for line in split_lines(text):
        stripped = line.text.strip()
        if not stripped:
            continue
        if (iface := _interface(line)) is not None:
            interfaces.append(iface)
        elif _ERROR.match(stripped):
            errors.append(stripped)
        else:
            unparsed.append(line)
    return NetcfgResult(interfaces=tuple(interfaces), errors=tuple(errors), unparsed=tuple(unparsed))
