"""The framework's network value objects and their Java `toString()` renderings.

These strings end up in logcat and dumpsys exactly as Android prints them (O/R era; see
android-net.md §3.2): NetworkInfo, LinkAddress/RouteInfo/LinkProperties, NetworkCapabilities,
NetworkRequest, StaticIpConfiguration, IpConfiguration, Network handles.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Iterable

# android.net.NetworkInfo.DetailedState -> State (NetworkInfo.stateMap)
_STATE_OF = {
    "IDLE": "DISCONNECTED", "SCANNING": "DISCONNECTED", "CONNECTING": "CONNECTING",
    "AUTHENTICATING": "CONNECTING", "OBTAINING_IPADDR": "CONNECTING", "CONNECTED": "CONNECTED",
    "SUSPENDED": "SUSPENDED", "DISCONNECTING": "DISCONNECTING", "DISCONNECTED": "DISCONNECTED",
    "FAILED": "DISCONNECTED", "BLOCKED": "DISCONNECTED",
}
TYPE_ETHERNET = 9
HANDLE_MAGIC = 0xCAFED00D
TCP_BUFFER_SIZES_ETHERNET = "524288,1048576,3145728,524288,1048576,2097152"


@dataclass(frozen=True)
class NetworkInfo:
    type_name: str = "Ethernet"
    subtype_name: str = ""
    detailed_state: str = "IDLE"
    state: str = "UNKNOWN"           # a new NetworkInfo is UNKNOWN/IDLE until setDetailedState()
    reason: str | None = None
    extra: str | None = None
    available: bool = False
    failover: bool = False
    roaming: bool = False
    type: int = TYPE_ETHERNET

    def with_state(self, detailed: str, reason: str | None = None,
                   extra: str | None = None) -> "NetworkInfo":
        """setDetailedState(detailed, reason, extra)."""
        if detailed not in _STATE_OF:
            raise ValueError(f"unknown DetailedState {detailed}")
        return replace(self, detailed_state=detailed, state=_STATE_OF[detailed], reason=reason, extra=extra)

    def __str__(self) -> str:
        return (f"[type: {self.type_name}[{self.subtype_name}], state: {self.state}/{self.detailed_state}, "
                f"reason: {self.reason or '(unspecified)'}, extra: {self.extra or '(none)'}, "
                f"failover: {_b(self.failover)}, available: {_b(self.available)}, roaming: {_b(self.roaming)}]")


def _b(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class RouteInfo:
    destination: ipaddress.IPv4Network | ipaddress.IPv6Network
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    interface: str

    @property
    def has_gateway(self) -> bool:
        return self.gateway is not None and not self.gateway.is_unspecified

    @property
    def family(self) -> int:
        return self.destination.version

    def __str__(self) -> str:
        gateway = self.gateway
        if gateway is None:
            gateway = ipaddress.ip_address("0.0.0.0" if self.family == 4 else "::")
        return f"{self.destination} -> {gateway} {self.interface}"

    @classmethod
    def connected(cls, address: ipaddress.IPv4Interface | ipaddress.IPv6Interface, iface: str) -> "RouteInfo":
        return cls(address.network, None, iface)


@dataclass(frozen=True)
class LinkProperties:
    interface: str | None = None
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...] = ()
    routes: tuple[RouteInfo, ...] = ()
    dns: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = ()
    domains: str | None = None
    mtu: int = 0
    tcp_buffer_sizes: str | None = None

    @property
    def has_ipv4_address(self) -> bool:
        return any(a.version == 4 for a in self.addresses)

    def ensure_directly_connected_routes(self) -> "LinkProperties":
        """LinkProperties.ensureDirectlyConnectedRoutes(): a connected route per address."""
        routes = list(self.routes)
        for address in self.addresses:
            route = RouteInfo.connected(address, self.interface or "")
            if all(r.destination != route.destination for r in routes):
                routes.append(route)
        return replace(self, routes=tuple(routes))

    def __str__(self) -> str:
        iface = f"InterfaceName: {self.interface} " if self.interface else ""
        addresses = "LinkAddresses: [" + "".join(f"{a}," for a in self.addresses) + "] "
        routes = " Routes: [" + "".join(f"{r}," for r in self.routes) + "] "
        dns = "DnsAddresses: [" + "".join(f"{d}," for d in self.dns) + "] "
        domains = f"Domains: {self.domains if self.domains is not None else 'null'}"
        mtu = f" MTU: {self.mtu}"
        tcp = f" TcpBufferSizes: {self.tcp_buffer_sizes}" if self.tcp_buffer_sizes else ""
        return "{" + iface + addresses + routes + dns + domains + mtu + tcp + "}"


def dns_list(servers: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> str:
    """Collection<InetAddress>.toString(): `[/8.8.8.8]`."""
    return "[" + ", ".join(f"/{s}" for s in servers) + "]"


# NetworkCapabilities bits (O): name by bit number, printed in bit order.
CAPABILITY_NAMES = {
    0: "MMS", 1: "SUPL", 2: "DUN", 3: "FOTA", 4: "IMS", 5: "CBS", 6: "WIFI_P2P", 7: "IA",
    8: "RCS", 9: "XCAP", 10: "EIMS", 11: "NOT_METERED", 12: "INTERNET", 13: "NOT_RESTRICTED",
    14: "TRUSTED", 15: "NOT_VPN", 16: "VALIDATED", 17: "CAPTIVE_PORTAL", 18: "NOT_ROAMING",
    19: "FOREGROUND", 20: "NOT_CONGESTED", 21: "NOT_SUSPENDED",
}
CAP = {name: bit for bit, name in CAPABILITY_NAMES.items()}
DEFAULT_CAPABILITIES = frozenset({CAP["NOT_RESTRICTED"], CAP["TRUSTED"], CAP["NOT_VPN"]})


@dataclass(frozen=True)
class NetworkCapabilities:
    transports: tuple[str, ...] = ()
    capabilities: frozenset[int] = DEFAULT_CAPABILITIES
    up_kbps: int = 0
    down_kbps: int = 0

    def with_cap(self, name: str, present: bool = True) -> "NetworkCapabilities":
        caps = set(self.capabilities)
        (caps.add if present else caps.discard)(CAP[name])
        return replace(self, capabilities=frozenset(caps))

    def has(self, name: str) -> bool:
        return CAP[name] in self.capabilities

    def satisfies(self, request: "NetworkCapabilities") -> bool:
        """Does a network with these capabilities satisfy a request for `request`?"""
        requestable = request.capabilities - {CAP["VALIDATED"], CAP["CAPTIVE_PORTAL"], CAP["FOREGROUND"]}
        transports_ok = not request.transports or bool(set(request.transports) & set(self.transports))
        return transports_ok and requestable <= self.capabilities

    def __str__(self) -> str:
        transports = f" Transports: {'|'.join(self.transports)}" if self.transports else ""
        caps = "&".join(CAPABILITY_NAMES[b] for b in sorted(self.capabilities))
        capabilities = f" Capabilities: {caps}" if caps else ""
        up = f" LinkUpBandwidth>={self.up_kbps}Kbps" if self.up_kbps else ""
        down = f" LinkDnBandwidth>={self.down_kbps}Kbps" if self.down_kbps else ""
        return "[" + transports + capabilities + up + down + "]"


def ethernet_capabilities(sdk: int) -> NetworkCapabilities:
    """What the Ethernet factory advertises (8.1 initNetworkCapabilities; 9+ adds NOT_METERED...)."""
    caps = NetworkCapabilities(transports=("ETHERNET",), up_kbps=100_000, down_kbps=100_000)
    caps = caps.with_cap("INTERNET").with_cap("NOT_ROAMING")
    if sdk >= 28:
        caps = caps.with_cap("NOT_METERED").with_cap("NOT_CONGESTED")
    if sdk >= 29:
        caps = caps.with_cap("NOT_SUSPENDED")
    return caps


@dataclass(frozen=True)
class NetworkRequest:
    request_id: int
    type: str                  # REQUEST | LISTEN | TRACK_DEFAULT | BACKGROUND_REQUEST
    capabilities: NetworkCapabilities = field(
        default_factory=lambda: NetworkCapabilities().with_cap("INTERNET"))
    legacy_type: int = -1

    @property
    def is_listen(self) -> bool:
        return self.type == "LISTEN"

    def __str__(self) -> str:
        legacy = f", legacyType={self.legacy_type}" if self.legacy_type != -1 else ""
        return f"NetworkRequest [ {self.type} id={self.request_id}{legacy}, {self.capabilities} ]"


def network_handle(net_id: int) -> int:
    """Network.getNetworkHandle()."""
    return 0 if net_id == 0 else (net_id << 32) | HANDLE_MAGIC


@dataclass(frozen=True)
class StaticIpConfiguration:
    address: ipaddress.IPv4Interface
    gateway: ipaddress.IPv4Address | None
    dns: tuple[ipaddress.IPv4Address, ...]
    domains: str | None = None

    def routes(self, iface: str) -> tuple[RouteInfo, ...]:
        """StaticIpConfiguration.getRoutes(): connected route, then the default route."""
        routes = [RouteInfo.connected(self.address, iface)]
        if self.gateway is not None:
            if self.gateway not in self.address.network:
                routes.append(RouteInfo(ipaddress.ip_network(f"{self.gateway}/32"), None, iface))
            routes.append(RouteInfo(ipaddress.ip_network("0.0.0.0/0"), self.gateway, iface))
        return tuple(routes)

    def __str__(self) -> str:
        gateway = f"{self.gateway} " if self.gateway else ""
        dns = "".join(f" {d}" for d in self.dns)
        return f"IP address {self.address} Gateway {gateway} DNS servers: [{dns} ] Domains {self.domains or ''}"


@dataclass(frozen=True)
class IpConfiguration:
    assignment: str = "DHCP"             # DHCP | STATIC | UNASSIGNED
    static: StaticIpConfiguration | None = None
    proxy: str = "NONE"

    def __str__(self) -> str:
        text = f"IP assignment: {self.assignment}\n"
        if self.assignment == "STATIC" and self.static is not None:
            text += f"Static configuration: {self.static}\n"
        return text + f"Proxy settings: {self.proxy}\n"
