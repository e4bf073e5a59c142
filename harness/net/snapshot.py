"""Network-state snapshots and their differences (anchors.md §7.2).

`take_snapshot()` reads, without changing anything: every interface's flags and addresses, the
IPv4 policy rules, each routing table named in /data/misc/net/rt_tables plus main, the networks
ConnectivityService tracks (netId, interface, state) and its default network, and the DNS/DHCP
properties. What cannot be read (no `ip`, not root, no dumpsys) is listed in `unreadable` with
the reason, and left out of comparisons.

`diff(a, b)` compares two snapshots section by section. netd and ConnectivityService give a
network a new netId each time it comes back, so `ignore_net_ids=True` names networks by their
interface instead (`net[eth0]`) in networks, the default network and fwmark rules: a device whose
link went down and up again then compares equal to its old self.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.device import Device
from harness.errors import CommandTimeout
from harness.net.capabilities import DeviceCapabilities, capabilities
from harness.net.commands import InterfaceState, Query, output_of
from harness.net.errors import ToolUnavailable
from harness.parsers.getprop import parse_getprop
from harness.parsers.ip import IpRule

SECTIONS = ("links", "ipv4_addresses", "ipv6_addresses", "rules", "rt_tables", "routes", "networks", "default_network", "properties")
NET_ID_MASK = 0xFFFF          # fwmark bits 0-15 carry the netId (netd include/Fwmark.h)


@dataclass(frozen=True)
class NetworkEntry:
    """One network as ConnectivityService lists it."""

    interface: str | None
    transports: tuple[str, ...]
    state: str | None
    validated: bool

    def render(self) -> str:
        return (f"{self.interface or '-'} {'|'.join(self.transports) or '-'} {self.state or '-'}"
                + (" validated" if self.validated else ""))


@dataclass(frozen=True)
class NetworkSnapshot:
    serial: str
    taken_at: float                                     # host time.time()
    interfaces: Mapping[str, InterfaceState] = field(default_factory=dict)
    rules: tuple[IpRule, ...] = ()
    rt_tables: Mapping[str, int] = field(default_factory=dict)
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)     # table -> route lines
    networks: Mapping[int, NetworkEntry] = field(default_factory=dict)      # netId -> network
    default_net_id: int | None = None
    properties: Mapping[str, str] = field(default_factory=dict)             # non-empty net.dns*, dhcp.*, net.<if>.*
    unreadable: Mapping[str, str] = field(default_factory=dict)             # section -> why not

    def net_labels(self) -> dict[int, str]:
        """netId -> `net[<iface>]` for the networks that name their interface."""
        return {net_id: f"net[{n.interface}]" for net_id, n in self.networks.items() if n.interface}

    def sections(self, *, ignore_net_ids: bool = False) -> dict[str, dict[str, str]]:
        """Every readable section as entry -> value (value "" for set-like sections)."""
        labels = self.net_labels() if ignore_net_ids else {}

        def net(net_id: int | None) -> str:
            return "none" if net_id is None else labels.get(net_id, str(net_id))

        out: dict[str, dict[str, str]] = {
            "links": {name: _link_text(s) for name, s in self.interfaces.items()},
            "ipv4_addresses": {f"{name} {a}": "" for name, s in self.interfaces.items() for a in s.ipv4},
            # IPv6 apart: link-local addresses come and go with the framework's IPv6 toggling.
            "ipv6_addresses": {f"{name} {a}": "" for name, s in self.interfaces.items() for a in s.ipv6},
            "rules": {_rule_text(r, labels): "" for r in self.rules},
            "rt_tables": {name: str(table_id) for name, table_id in self.rt_tables.items()},
            "routes": {f"table {table}: {line}": "" for table, lines in self.routes.items() for line in lines},
            "networks": {net(net_id): n.render() for net_id, n in self.networks.items()},
            "default_network": {"default": net(self.default_net_id)},
            "properties": dict(self.properties),
        }
        for section in self.unreadable:
            out.pop(section, None)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "taken_at": self.taken_at, "sections": self.sections(),
                "unreadable": dict(self.unreadable)}

    def render(self) -> str:
        lines = [f"network snapshot of {self.serial}"]
        for name, entries in self.sections().items():
            lines.append(f"[{name}]")
            lines.extend(f"  {k}" + (f" = {v}" if v else "") for k, v in entries.items())
        lines.extend(f"[{name}] not read: {why}" for name, why in self.unreadable.items())
        return "\n".join(lines)


@dataclass(frozen=True)
class SectionDiff:
    section: str
    added: Mapping[str, str] = field(default_factory=dict)
    removed: Mapping[str, str] = field(default_factory=dict)
    changed: Mapping[str, tuple[str, str]] = field(default_factory=dict)     # entry -> (before, after)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def render(self) -> list[str]:
        lines = [f"[{self.section}]"]
        lines.extend(f"  - {k}" + (f" = {v}" if v else "") for k, v in self.removed.items())
        lines.extend(f"  + {k}" + (f" = {v}" if v else "") for k, v in self.added.items())
        lines.extend(f"  ~ {k}: {old} -> {new}" for k, (old, new) in self.changed.items())
        return lines


@dataclass(frozen=True)
class SnapshotDiff:
    sections: tuple[SectionDiff, ...] = ()             # only the sections that differ
    not_compared: Mapping[str, str] = field(default_factory=dict)   # section -> why

    def __bool__(self) -> bool:
        return bool(self.sections)

    @property
    def empty(self) -> bool:
        return not self.sections

    def section(self, name: str) -> SectionDiff | None:
        return next((s for s in self.sections if s.section == name), None)

    def render(self) -> str:
        lines = ["no differences"] if self.empty else [line for s in self.sections for line in s.render()]
        lines.extend(f"[{name}] not compared: {why}" for name, why in self.not_compared.items())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"empty": self.empty,
                "sections": {s.section: {"added": dict(s.added), "removed": dict(s.removed),
                                         "changed": {k: list(v) for k, v in s.changed.items()}}
                             for s in self.sections},
                "not_compared": dict(self.not_compared)}


def diff(a: NetworkSnapshot, b: NetworkSnapshot, *, ignore_net_ids: bool = False,
         sections: tuple[str, ...] = SECTIONS) -> SnapshotDiff:
    """What changed from `a` to `b`, per section (empty when equal)."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown snapshot sections {sorted(unknown)}: expected some of {SECTIONS}")
    before, after = a.sections(ignore_net_ids=ignore_net_ids), b.sections(ignore_net_ids=ignore_net_ids)
    results: list[SectionDiff] = []
    not_compared: dict[str, str] = {}
    for name in sections:
        if name not in before or name not in after:
            not_compared[name] = a.unreadable.get(name) or b.unreadable.get(name) or "not read"
            continue
        old, new = before[name], after[name]
        section = SectionDiff(
            name,
            added={k: v for k, v in new.items() if k not in old},
            removed={k: v for k, v in old.items() if k not in new},
            changed={k: (old[k], new[k]) for k in old if k in new and old[k] != new[k]})
        if section:
            results.append(section)
    return SnapshotDiff(tuple(results), MappingProxyType(not_compared))


# -- taking a snapshot ----------------------------------------------------------------------------

class _Reader:
    def __init__(self, device: Device, caps: DeviceCapabilities) -> None:
        self.device = device
        self.caps = caps
        self.unreadable: dict[str, str] = {}

    def query(self, section: str, query: Query[Any]) -> Any | None:
        """The parsed output, or None (and a note) when the command failed."""
        try:
            result = self.device.run(query.command, timeout=query.timeout)
        except CommandTimeout as e:       # a lost device is not a section we "could not read": raise
            self.unreadable.setdefault(section, f"`{query.command}`: {e.message}")
            return None
        if not result.ok:
            first = output_of(result).strip().splitlines()[:1]
            self.unreadable.setdefault(section, f"`{query.command}` exited {result.exit_status}"
                                       + (f": {first[0]}" if first else ""))
            return None
        return query.parse(result)

    def skip(self, section: str, why: str) -> None:
        self.unreadable.setdefault(section, why)


def take_snapshot(device: Device, *, interface: str | None = None) -> NetworkSnapshot:
    caps = capabilities(device)
    reader = _Reader(device, caps)
    interfaces = _read_interfaces(reader)
    rules, tables, routes = _read_routing(reader)
    networks, default_net_id = _read_networks(reader)
    properties = _read_properties(reader, interface or caps.interface)
    return NetworkSnapshot(
        serial=device.serial, taken_at=time.time(), interfaces=MappingProxyType(dict(interfaces)),
        rules=rules, rt_tables=MappingProxyType(dict(tables)), routes=MappingProxyType(routes),
        networks=MappingProxyType(networks), default_net_id=default_net_id,
        properties=MappingProxyType(properties), unreadable=MappingProxyType(reader.unreadable))


def _read_interfaces(reader: _Reader) -> Mapping[str, InterfaceState]:
    interfaces: Mapping[str, InterfaceState] = {}
    try:
        interfaces = reader.query("links", reader.caps.commands.interfaces()) or {}
    except ToolUnavailable as e:            # e.g. only the toolbox ifconfig, which cannot list
        reader.skip("links", e.message)
    if "links" in reader.unreadable:
        for section in ("ipv4_addresses", "ipv6_addresses"):
            reader.skip(section, reader.unreadable["links"])
    return interfaces


def _read_routing(reader: _Reader) -> tuple[tuple[IpRule, ...], Mapping[str, int], dict[str, tuple[str, ...]]]:
    """`ip rule`, netd's table names, and the routes of main and of every named table."""
    caps, commands = reader.caps, reader.caps.commands
    if not caps.netd_networks:
        reader.skip("rt_tables", f"no netd routing tables before Android 5.0 (this is {caps.release})")
    if not caps.has("ip"):
        for section in ("rules", "rt_tables", "routes"):
            reader.skip(section, "the device has no ip")
        return (), {}, {}
    parsed_rules = reader.query("rules", commands.rules())
    tables: Mapping[str, int] = (reader.query("rt_tables", commands.rt_tables()) or {}) if caps.netd_networks else {}
    routes: dict[str, tuple[str, ...]] = {}
    for table in ["main", *(name for name in tables if name != "main")]:
        parsed = reader.query("routes", commands.table_routes(table))
        if parsed is not None:
            # The parser's one-line rendering of each route: stable across iproute2 spacing.
            routes[table] = tuple(line for line in parsed.summary_lines() if not line.startswith("error: "))
    return (parsed_rules.rules if parsed_rules is not None else ()), tables, routes


def _read_networks(reader: _Reader) -> tuple[dict[int, NetworkEntry], int | None]:
    """ConnectivityService's networks and default network (`dumpsys connectivity`)."""
    networks: dict[int, NetworkEntry] = {}
    default_net_id: int | None = None
    if not reader.caps.has("dumpsys"):
        reader.skip("networks", "the device has no dumpsys")
    elif (dump := reader.query("networks", reader.caps.commands.connectivity_dump())) is not None:
        if dump.errors:
            reader.skip("networks", f"`dumpsys connectivity`: {dump.errors[0]}")
        for n in dump.networks:
            if n.net_id is not None:
                networks[n.net_id] = NetworkEntry(n.interface, tuple(sorted(n.transports)),
                                                  n.info.state if n.info else None, n.validated)
        default_net_id = dump.default_net_id
        if dump.default_network_line is None:
            reader.skip("default_network", "`dumpsys connectivity` of this version names no default network")
    if "networks" in reader.unreadable:
        reader.skip("default_network", reader.unreadable["networks"])
    return networks, default_net_id


def _read_properties(reader: _Reader, iface: str | None) -> dict[str, str]:
    props = reader.query("properties", reader.caps.commands.properties())
    if props is None:
        return {}
    # An empty property reads like an absent one, and Android cannot delete a property.
    return {k: v for k, v in parse_getprop(props.stdout).properties.items() if v and _is_network_property(k, iface)}


def _is_network_property(name: str, iface: str | None) -> bool:
    if name.startswith(("net.dns", "dhcp.")):
        return True
    return iface is not None and name.startswith(f"net.{iface}.")


def _link_text(state: InterfaceState) -> str:
    flags = ",".join(sorted(state.flags)) or "-"
    return f"{'up' if state.up else 'down'} flags={flags} mtu={state.mtu or '-'} mac={state.mac or '-'}"


def _rule_text(rule: IpRule, labels: Mapping[int, str]) -> str:
    """One rule in iproute2's words; a fwmark that selects a known netId shows its label."""
    parts = [f"{rule.priority}:", "not" if rule.invert else "", f"from {rule.source}",
             f"to {rule.destination}" if rule.destination else "", _fwmark(rule, labels),
             f"iif {rule.iif}" if rule.iif else "", f"oif {rule.oif}" if rule.oif else "",
             f"uidrange {rule.uid_range[0]}-{rule.uid_range[1]}" if rule.uid_range else "",
             f"lookup {rule.table}" if rule.table else (f"goto {rule.goto}" if rule.action == "goto" else rule.action)]
    return " ".join(p for p in parts if p)


def _fwmark(rule: IpRule, labels: Mapping[int, str]) -> str:
    if rule.fwmark is None:
        return ""
    mask = rule.fwmask if rule.fwmask is not None else 0xFFFFFFFF
    net_id = rule.fwmark & NET_ID_MASK
    if labels and mask & NET_ID_MASK == NET_ID_MASK and net_id in labels:
        return f"fwmark {labels[net_id]}|0x{rule.fwmark & ~NET_ID_MASK:x}/0x{mask:x}"
    return f"fwmark 0x{rule.fwmark:x}/0x{mask:x}"
