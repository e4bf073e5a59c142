"""The version-aware command layer: for each job, the command this device understands.

Android has changed its network tools several times: `netcfg` and the toolbox `ifconfig` up to
5.1, toybox `ifconfig` from 6.0, iproute2 `ip` on most builds, `ndc` over netd's text socket up to
9 and over binder from 10. `NetCommands` is built from a device's probed capabilities and
answers every job with either a command line to run (changes) or a `Query` (a command plus the
parser for its output). Nothing here talks to a device, so the choices are unit-testable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from harness.net import validate
from harness.net.errors import InvalidNetValue, ToolUnavailable
from harness.parsers.dumpsys_connectivity import DumpsysConnectivityResult, parse_dumpsys_connectivity
from harness.parsers.dumpsys_ethernet import DumpsysEthernetResult, parse_dumpsys_ethernet
from harness.parsers.ifconfig import IfconfigInterface, parse_ifconfig
from harness.parsers.ip import IpLink, IpRouteResult, IpRuleResult, parse_ip_addr, parse_ip_route, parse_ip_rule
from harness.parsers.netcfg import NetcfgInterface, parse_netcfg

if TYPE_CHECKING:
    from harness.device import CommandResult
    from harness.net.capabilities import DeviceCapabilities

T = TypeVar("T")

RT_TABLES_PATH = "/data/misc/net/rt_tables"
FAST_TIMEOUT = 15.0          # reads and single changes: a healthy device answers in well under a second

# Kernel IFF_* bits as netcfg prints them in hex, by the names ip/ifconfig print.
_IFF_NAMES = {0x1: "UP", 0x2: "BROADCAST", 0x8: "LOOPBACK", 0x10: "POINTOPOINT", 0x40: "RUNNING",
              0x80: "NOARP", 0x100: "PROMISC", 0x1000: "MULTICAST", 0x10000: "LOWER_UP", 0x20000: "DORMANT"}


@dataclass(frozen=True)
class InterfaceState:
    """One interface as any of ip, ifconfig or netcfg reports it."""

    name: str
    up: bool                           # administratively up (IFF_UP)
    carrier: bool | None               # LOWER_UP (ip), RUNNING (ifconfig/netcfg); None if not shown
    ipv4: tuple[ipaddress.IPv4Interface, ...] = ()
    ipv6: tuple[ipaddress.IPv6Interface, ...] = ()
    mac: str | None = None
    mtu: int | None = None
    flags: frozenset[str] = frozenset()
    source: str = "ip"                 # which tool said so

    @property
    def has_ipv4(self) -> bool:
        return any(not a.ip.is_unspecified for a in self.ipv4)


@dataclass(frozen=True)
class Query(Generic[T]):
    """A read-only command and how to turn its result into data."""

    command: str
    parse: Callable[[CommandResult], T] = field(repr=False)
    timeout: float = FAST_TIMEOUT


def output_of(result: CommandResult) -> str:
    """stdout then stderr: parsers recognise tool error lines wherever they were written."""
    return result.stdout + result.stderr


def from_ip_link(link: IpLink) -> InterfaceState:
    return InterfaceState(name=link.name, up=link.is_up, carrier=link.has_carrier, ipv4=tuple(link.ipv4()),
                          ipv6=tuple(link.ipv6()), mac=link.mac, mtu=link.mtu, flags=link.flags, source="ip")


def from_ifconfig(iface: IfconfigInterface) -> InterfaceState:
    ipv4 = (iface.ipv4,) if iface.ipv4 is not None else ()
    return InterfaceState(name=iface.name, up=iface.is_up, carrier=iface.is_running, ipv4=ipv4,
                          ipv6=tuple(a.address for a in iface.ipv6), mac=iface.mac, mtu=iface.mtu,
                          flags=iface.flags, source=f"ifconfig ({iface.style})")


def from_netcfg(iface: NetcfgInterface) -> InterfaceState:
    flags = frozenset(name for bit, name in _IFF_NAMES.items() if iface.flags & bit)
    ipv4 = (iface.address,) if iface.has_address else ()
    return InterfaceState(name=iface.name, up=iface.up, carrier="RUNNING" in flags, ipv4=ipv4,
                          mac=iface.mac, flags=flags, source="netcfg")


def _interfaces_from_ip(result: CommandResult) -> dict[str, InterfaceState]:
    return {link.name: from_ip_link(link) for link in parse_ip_addr(output_of(result)).links}


def _interfaces_from_ifconfig(result: CommandResult) -> dict[str, InterfaceState]:
    return {i.name: from_ifconfig(i) for i in parse_ifconfig(output_of(result)).interfaces}


def _interfaces_from_netcfg(result: CommandResult) -> dict[str, InterfaceState]:
    return {i.name: from_netcfg(i) for i in parse_netcfg(output_of(result)).interfaces}


def _rules(result: CommandResult) -> IpRuleResult:
    return parse_ip_rule(output_of(result))


def _routes(result: CommandResult) -> IpRouteResult:
    return parse_ip_route(output_of(result))


TOYBOX_SDK = 23             # Android 6.0: toybox replaces toolbox (sleep takes fractions of a second)


def _seconds_word(value: float, sdk: int, what: str) -> str:
    """A `sleep` argument. The toolbox sleep before 6.0 reads an integer with strtoul, so "0.5"
    would sleep 0 s there: refuse fractions instead of silently changing the timing."""
    if float(value).is_integer():
        return str(int(value))
    if sdk < TOYBOX_SDK:
        raise InvalidNetValue(f"{what} {value:g} is invalid here: sleep on Android before 6.0 takes whole seconds")
    return f"{value:.3f}".rstrip("0")


class NetCommands:
    """Picks the command for each job from a device's capabilities."""

    def __init__(self, caps: DeviceCapabilities) -> None:
        self.caps = caps

    # -- which tool ---------------------------------------------------------------------------
    @property
    def interface_tool(self) -> str:
        """The tool that reads interface state: ip, ifconfig (toybox, lists all), netcfg, ifconfig (toolbox)."""
        if self.caps.has("ip"):
            return "ip"
        if self.caps.has("ifconfig") and self.caps.ifconfig_style != "toolbox":
            return "ifconfig"
        if self.caps.has("netcfg"):
            return "netcfg"
        if self.caps.has("ifconfig"):
            return "ifconfig"
        raise ToolUnavailable("no tool to read interfaces: the device has none of ip, ifconfig, netcfg")

    @property
    def link_tool(self) -> str:
        for tool in ("ip", "ifconfig", "netcfg"):
            if self.caps.has(tool):
                return tool
        raise ToolUnavailable("no tool to set a link up or down: the device has none of ip, ifconfig, netcfg")

    @property
    def address_tool(self) -> str:
        for tool in ("ip", "ifconfig"):
            if self.caps.has(tool):
                return tool
        raise ToolUnavailable("no tool to set an address: the device has neither ip nor ifconfig")

    @property
    def route_tool(self) -> str:
        for tool in ("ip", "route"):
            if self.caps.has(tool):
                return tool
        raise ToolUnavailable("no tool to change routes: the device has neither ip nor route")

    def _require(self, tool: str, job: str) -> None:
        if not self.caps.has(tool):
            raise ToolUnavailable(f"{job} needs `{tool}`, which this device (Android {self.caps.release}) lacks")

    # -- reading --------------------------------------------------------------------------------
    def interfaces(self) -> Query[dict[str, InterfaceState]]:
        """Every interface with flags and addresses."""
        tool = self.interface_tool
        if tool == "ip":
            return Query("ip addr show", _interfaces_from_ip)
        if tool == "netcfg":
            return Query("netcfg", _interfaces_from_netcfg)
        if self.caps.ifconfig_style == "toolbox":
            raise ToolUnavailable("the toolbox ifconfig cannot list interfaces; name one with interface()")
        return Query("ifconfig -a", _interfaces_from_ifconfig)

    def interface(self, iface: str) -> Query[InterfaceState | None]:
        """One interface, or None when the device says it does not exist."""
        name = validate.interface_name(iface)
        tool = self.interface_tool
        if tool == "ip":
            command, parse = validate.shell_line("ip", "addr", "show", "dev", name), _interfaces_from_ip
        elif tool == "netcfg":
            command, parse = "netcfg", _interfaces_from_netcfg
        else:
            command, parse = validate.shell_line("ifconfig", name), _interfaces_from_ifconfig
        return Query(command, lambda result: parse(result).get(name))

    def rules(self, family: int = 4) -> Query[IpRuleResult]:
        self._require("ip", "reading policy routing rules")
        return Query("ip rule show" if family == 4 else "ip -6 rule show", _rules)

    def table_routes(self, table: str | int) -> Query[IpRouteResult]:
        """Routes of one table by name (as rt_tables names it) or number; a missing table name is
        reported by the parser (`table_missing`), not raised."""
        self._require("ip", "reading routing tables")
        word = str(table) if isinstance(table, int) else validate.interface_name(table)
        return Query(validate.shell_line("ip", "route", "show", "table", word), _routes)

    def rt_tables(self) -> Query[Mapping[str, int]]:
        """netd's table names (name -> id); Android's ip reads them from this file (CONFDIR=/data/misc/net)."""
        return Query(validate.shell_line("cat", RT_TABLES_PATH), lambda result: parse_rt_tables(result.stdout))

    def connectivity_dump(self) -> Query[DumpsysConnectivityResult]:
        """ConnectivityService's view: default network, networks with their interfaces and DNS."""
        self._require("dumpsys", "querying the default network")
        return Query("dumpsys connectivity", lambda result: parse_dumpsys_connectivity(result.stdout), timeout=30.0)

    def ethernet_dump(self) -> Query[DumpsysEthernetResult]:
        """The Ethernet service's view: tracked interfaces, link state, IP assignment."""
        self._require("dumpsys", "reading the Ethernet service state")
        return Query("dumpsys ethernet", lambda result: parse_dumpsys_ethernet(output_of(result)), timeout=30.0)

    def properties(self) -> Query[CommandResult]:
        return Query("getprop", lambda result: result)

    def ping(self, target: str, *, count: int = 1, wait_s: int = 1) -> str:
        """iputils ping: -c packets, -W seconds to wait for each reply."""
        self._require("ping", "ping")
        return validate.shell_line("ping", "-c", count, "-W", wait_s, validate.hostname_or_ipv4(target))

    # -- changes --------------------------------------------------------------------------------
    def link(self, iface: str, up: bool) -> str:
        name, state = validate.interface_name(iface), "up" if up else "down"
        tool = self.link_tool
        if tool == "ip":
            return validate.shell_line("ip", "link", "set", "dev", name, state)
        return validate.shell_line(tool, name, state)

    def flap(self, iface: str, count: int, down_s: float, up_s: float) -> str:
        """`count` down/up cycles in ONE shell command: on-device sleeps keep the timing exact,
        whatever the adb round trip costs. No pause after the last up."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise InvalidNetValue(f"flap count {count!r} is invalid: expected an integer 1-1000")
        down = _seconds_word(validate.seconds(down_s, "flap down time"), self.caps.sdk, "flap down time")
        up = _seconds_word(validate.seconds(up_s, "flap up time"), self.caps.sdk, "flap up time")
        cycle = [f"{self.link(iface, False)}; sleep {down}; {self.link(iface, True)}"]
        return f"; sleep {up}; ".join(cycle * count)

    def set_address(self, iface: str, address: ipaddress.IPv4Interface | str) -> str:
        """Make `address` the interface's only IPv4 address."""
        name, addr = validate.interface_name(iface), validate.ipv4_interface(address)
        if self.address_tool == "ip":
            return (validate.shell_line("ip", "-4", "addr", "flush", "dev", name) + "; "
                    + validate.shell_line("ip", "addr", "add", addr.with_prefixlen, "brd", "+", "dev", name))
        return validate.shell_line("ifconfig", name, str(addr.ip), "netmask", str(addr.netmask))

    def add_address(self, iface: str, address: ipaddress.IPv4Interface | str) -> str:
        name, addr = validate.interface_name(iface), validate.ipv4_interface(address)
        if self.address_tool == "ip":
            return validate.shell_line("ip", "addr", "add", addr.with_prefixlen, "brd", "+", "dev", name)
        return self.set_address(name, addr)      # ifconfig holds one IPv4 address per interface

    def clear_addresses(self, iface: str) -> str:
        name = validate.interface_name(iface)
        if self.address_tool == "ip":
            return validate.shell_line("ip", "-4", "addr", "flush", "dev", name)
        return validate.shell_line("ifconfig", name, "0.0.0.0")

    def route(self, action: str, destination: str, iface: str, gateway: str | None = None) -> str:
        """Add or delete a route in the main table."""
        if action not in ("add", "del"):
            raise InvalidNetValue(f"route action {action!r} is invalid: expected 'add' or 'del'")
        dest, name = validate.ipv4_destination(destination), validate.interface_name(iface)
        gw = validate.ipv4_address(gateway, "gateway") if gateway is not None else None
        if self.route_tool == "ip":
            via = ["via", gw] if gw else []
            return validate.shell_line("ip", "route", action, dest, *via, "dev", name)
        # toybox/toolbox route: `route add default gw G dev IF`, `route add -net N netmask M dev IF`
        target = ["default"] if dest == "default" else ["-net", str(ipaddress.IPv4Network(dest).network_address),
                                                         "netmask", str(ipaddress.IPv4Network(dest).netmask)]
        via = ["gw", gw] if gw else []
        return validate.shell_line("route", action, *target, *via, "dev", name)

    def setprop(self, name: str, value: str) -> str:
        return validate.shell_line("setprop", validate.prop_name(name), validate.prop_value(value))

    def dhcp(self, iface: str) -> str:
        """Ask for a DHCP lease now: only `netcfg <if> dhcp` (Android <= 5.1) does this from a shell."""
        self._require("netcfg", "DHCP from the shell")
        return validate.shell_line("netcfg", validate.interface_name(iface), "dhcp")


def dns_properties(props: Mapping[str, str], iface: str | None = None) -> dict[str, str]:
    """The non-empty DNS properties: net.dns<N> (set by ConnectivityService up to 11) and, on
    releases whose DHCP client sets them, net.<if>.dns<N> and dhcp.<if>.dns<N>."""
    prefixes = ["net.dns"] + ([f"net.{iface}.dns", f"dhcp.{iface}.dns"] if iface else [])
    return {name: value for name, value in sorted(props.items())
            if value and any(name.startswith(p) and name[len(p):].isdigit() for p in prefixes)}


def parse_rt_tables(text: str) -> Mapping[str, int]:
    """`/data/misc/net/rt_tables`: `<id> <name>` per line (netd writes it; comments allowed)."""
    tables: dict[str, int] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 2 and words[0].isdigit():
            tables[words[1]] = int(words[0])
    return tables
