"""`dumpsys ethernet`: which interfaces the Ethernet service tracks and in what state.

8.x (single interface): `Network Requested:`, `Tracking interface: eth0` / `Not tracking any
interface`, `MAC address:`, `Link state: up|down`, `NetworkInfo:`, `LinkProperties:`,
`NetworkAgent:`, and `Stored Ethernet configuration:` with `IP assignment:`.
9+ (EthernetTracker): `Ethernet State:` (13+), `Ethernet interface name filter:`, `IP Configurations:`
(`eth0: IP assignment: STATIC`), and per interface `eth0:NetworkInterfaceState{ iface: eth0, up: true,
hwAddress: ..., networkAgent: ..., ipClient: ...,linkProperties: {...}}`.
The IpClient/IpManager and Handler dumps nested under their headers are skipped; other lines
(vendor additions) are returned as unparsed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from harness.parsers.base import Line, ParseResult, frozen_map, normalize_mac, split_lines
from harness.parsers.dumpsys_common import (LinkPropertiesValue, NetworkInfoValue, is_dumpsys_error,
                                            link_properties, network_info)

_KEY_VALUE = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?):\s?(?P<value>.*?)\s*$")
_IFACE_STATE = re.compile(r"^\s*(?P<name>[^\s:]+):\s*NetworkInterfaceState\s*\{(?P<body>.*)\}?\s*$")
_IP_CONFIG = re.compile(r"^\s*(?P<name>[^\s:]+): IP assignment: (?P<assignment>\w+)")
_STATE_FIELD = re.compile(r"(?:^|,)\s*(?P<key>refCount|iface|up|hwAddress|networkAgent|ipClient|score)"
                          r":\s*(?P<value>[^,]*)")
# Headers followed by another component's dump, indented deeper.
_NESTED_DUMP = re.compile(r"^\s*(?:IpManager:|Handler:|\S+:\s*NetworkInterfaceState\s*\{.*)\s*$")
# Lines whose shape is known but whose content this parser does not need.
_KNOWN_NOISE = re.compile(r"^\s*(?:Proxy settings: .*|Static configuration: .*|IpClient is null"
                          r"|Current Ethernet state:\s*|EthernetTracker|EthernetNetworkFactory"
                          r"|IP Configurations:|Network Capabilities:|Listeners: \d+|Tethered interface requests: \d+"
                          r"|Stored Ethernet configuration:\s*|Handler:\s*"
                          r"|\{\S+ - .*\})$")  # the last: NetworkFactory.toString()


@dataclasses.dataclass(frozen=True)
class EthernetInterface:
    name: str
    line: int
    link_up: bool | None = None
    mac: str | None = None
    has_network_agent: bool | None = None
    has_ip_client: bool | None = None
    ip_assignment: str | None = None  # DHCP | STATIC | UNASSIGNED
    info: NetworkInfoValue | None = None
    link: LinkPropertiesValue | None = None


@dataclasses.dataclass(frozen=True)
class DumpsysEthernetResult(ParseResult):
    interfaces: tuple[EthernetInterface, ...] = ()
    tracking: bool | None = None  # False on "Not tracking any interface"
    network_requested: bool | None = None  # 8.x
    enabled: bool | None = None  # 13+ "Ethernet State: enabled|disabled"
    interface_filter: str | None = None
    settings: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)
    errors: tuple[str, ...] = ()

    def get(self, name: str) -> EthernetInterface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def summary_lines(self) -> list[str]:
        out = [f"tracking: {self.tracking}  network requested: {self.network_requested}  enabled: {self.enabled}"]
        for i in self.interfaces:
            out.append(f"{i.name}: link={'up' if i.link_up else 'down' if i.link_up is False else '-'} "
                       f"mac={i.mac or '-'} ip={i.ip_assignment or '-'} agent={i.has_network_agent} "
                       f"state={i.info.state if i.info else '-'}")
        out.extend(f"error: {e}" for e in self.errors)
        return out


def _bool(text: str | None) -> bool | None:
    return {"true": True, "false": False, "up": True, "down": False,
            "enabled": True, "disabled": False}.get((text or "").strip().lower())


def _present(text: str | None) -> bool | None:
    """`null` means absent; anything else (an object's toString) means present."""
    if text is None:
        return None
    return text.strip() not in ("", "null")


class _Collector:
    def __init__(self) -> None:
        self.order: list[str] = []
        self.values: dict[str, dict[str, Any]] = {}

    def update(self, name: str, line: int, **values: object) -> None:
        if name not in self.values:
            self.order.append(name)
            self.values[name] = {"name": name, "line": line}
        self.values[name].update({k: v for k, v in values.items() if v is not None})

    def build(self) -> tuple[EthernetInterface, ...]:
        return tuple(EthernetInterface(**self.values[n]) for n in self.order)


def parse_dumpsys_ethernet(text: str | bytes | None) -> DumpsysEthernetResult:
    collector = _Collector()
    result: dict[str, Any] = {}
    settings: dict[str, str] = {}
    errors: list[str] = []
    unparsed: list[Line] = []
    current: str | None = None  # 8.x: the interface named by "Tracking interface:"
    nested_indent: int | None = None  # inside an IpClient/IpManager/Handler dump deeper than this
    for line in split_lines(text):
        stripped = line.text.strip()
        if not stripped:
            continue
        indent = len(line.text) - len(line.text.lstrip())
        if nested_indent is not None and indent > nested_indent:
            continue
        nested_indent = indent if _NESTED_DUMP.match(line.text) else None
        if is_dumpsys_error(stripped):
            errors.append(stripped)
            continue
        if stripped == "Tracking interfaces:":  # 9+: the NetworkInterfaceState lines follow
            result.setdefault("tracking", False)
            continue
        if m := _IFACE_STATE.match(line.text):
            result["tracking"] = True
            fields = {f["key"]: f["value"].strip() for f in _STATE_FIELD.finditer(m["body"])}
            lp_text = m["body"].split("linkProperties:", 1)[1] if "linkProperties:" in m["body"] else None
            ni_text = m["body"].split("networkInfo:", 1)[1] if "networkInfo:" in m["body"] else None
            collector.update(m["name"], line.number, link_up=_bool(fields.get("up")),
                             mac=normalize_mac(fields.get("hwAddress")),
                             has_network_agent=_present(fields.get("networkAgent")),
                             has_ip_client=_present(fields.get("ipClient")),
                             info=network_info(ni_text), link=link_properties(lp_text))
            continue
        if m := _IP_CONFIG.match(line.text):
            collector.update(m["name"], line.number, ip_assignment=m["assignment"])
            continue
        if stripped == "Not tracking any interface":
            result["tracking"] = False
            continue
        if _KNOWN_NOISE.match(line.text):
            continue
        m = _KEY_VALUE.match(line.text)
        if m is None or not _key_value(m["key"], m["value"], line, collector, result, settings, current):
            unparsed.append(line)
            continue
        if m["key"] == "Tracking interface":
            current = m["value"]
    return DumpsysEthernetResult(interfaces=collector.build(), settings=frozen_map(settings), errors=tuple(errors),
                                 unparsed=tuple(unparsed), **result)


def _key_value(key: str, value: str, line: Line, collector: _Collector, result: dict[str, Any],
               settings: dict[str, str], current: str | None) -> bool:
    """Apply one `Key: value` line; False when the key means nothing here."""
    if key == "Tracking interface":
        result["tracking"] = True
        collector.update(value, line.number)
    elif key == "Network Requested":
        result["network_requested"] = _bool(value)
    elif key == "Ethernet State":
        result["enabled"] = _bool(value)
    elif key == "Ethernet interface name filter":
        result["interface_filter"] = value
    elif key in ("Default interface", "Interface used for tethering", "Default interface mode",
                 "Tethering interface mode"):
        settings[key] = value
    elif key == "IP assignment":  # 8.x "Stored Ethernet configuration"
        settings["Stored IP assignment"] = value
        if current is not None:
            collector.update(current, line.number, ip_assignment=value)
    elif current is None:
        # 8.x prints these even when no interface is tracked; they describe no interface then.
        return key in ("NetworkInfo", "LinkProperties", "NetworkAgent")
    elif key == "MAC address":
        collector.update(current, line.number, mac=normalize_mac(value))
    elif key == "Link state":
        collector.update(current, line.number, link_up=_bool(value))
    elif key == "NetworkInfo":
        collector.update(current, line.number, info=network_info(value))
    elif key == "LinkProperties":
        collector.update(current, line.number, link=link_properties(value))
    elif key == "NetworkAgent":
        collector.update(current, line.number, has_network_agent=_present(value))
    elif key == "IpManager":
        collector.update(current, line.number, has_ip_client=True)
    else:
        return False
    return True

