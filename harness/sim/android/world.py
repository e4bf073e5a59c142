"""The network outside the device: the docker bridge, its gateway, DHCP, DNS and remote hosts.

Built from the profile's `network` section; stateless apart from drawing round-trip times
from the device's rng, so any model or tool can make one (`World.of(device)`).
- the bridge subnet is the profile address's network; its gateway answers pings (TTL 64,
  sub-millisecond RTT) and is the DHCP server: it offers the profile's address, gateway and
  DNS servers to the profile's MAC only;
- `reachable` hosts and the addresses of `hostnames` answer pings through the gateway (TTL
  113-119, a per-host base RTT of 5-35 ms with jitter); `hostnames` resolve through the
  profile's DNS servers (or a listed public resolver);
- nothing answers a device that is not on the bridge subnet or whose link is down.
"""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice
    from harness.sim.profile import NetworkSection

DHCP_LEASE_SECONDS = 86400
GATEWAY_TTL = 64
LOCAL_TTL = 64


@dataclass(frozen=True)
class DhcpLease:
    address: ipaddress.IPv4Interface
    gateway: ipaddress.IPv4Address
    dns: tuple[ipaddress.IPv4Address, ...]
    lease_seconds: int
    server: ipaddress.IPv4Address

    @property
    def netmask(self) -> ipaddress.IPv4Address:
        return self.address.network.netmask


@dataclass(frozen=True)
class PingAnswer:
    ttl: int
    rtt_ms: float


class World:
    def __init__(self, network: "NetworkSection", rng) -> None:
        self.network = network
        self.rng = rng
        self.interface = ipaddress.IPv4Interface(network.address)
        self.subnet = self.interface.network
        self.gateway = ipaddress.IPv4Address(network.gateway)
        self.dns = tuple(ipaddress.IPv4Address(a) for a in network.dns)
        self.hostnames = {name.lower(): ipaddress.IPv4Address(a) for name, a in network.hostnames.items()}
        listed = [ipaddress.IPv4Address(a) for a in network.reachable]
        # public resolvers among the listed hosts answer DNS too (8.8.4.4, 1.1.1.1)
        self.dns_capable = frozenset(list(self.dns) + listed)
        # the listed hosts and every host a name resolves to answer pings
        self.reachable = frozenset(listed + list(self.hostnames.values()))

    @classmethod
    def of(cls, device: "VirtualDevice") -> "World":
        return cls(device.profile.network, device.rng)

    # -- DHCP -----------------------------------------------------------------------------------
    def dhcp_offer(self, mac: str) -> DhcpLease | None:
        """The bridge's DHCP server: an offer for the profile's MAC, nothing for others."""
        if mac.lower() != self.network.mac.lower():
            return None
        return DhcpLease(self.interface, self.gateway, self.dns, DHCP_LEASE_SECONDS, self.gateway)

    # -- ICMP ---------------------------------------------------------------------------------------
    def on_bridge(self, source: ipaddress.IPv4Address | None) -> bool:
        return source is not None and source in self.subnet

    def ping(self, dst: ipaddress.IPv4Address, *, source: ipaddress.IPv4Address | None,
             via_gateway: bool) -> PingAnswer | None:
        """Whether an echo request leaving the device on the bridge is answered, and how."""
        if not self.on_bridge(source):
            return None
        if dst == self.gateway:
            return PingAnswer(GATEWAY_TTL, self._jitter(0.06, 0.4))
        if via_gateway and dst in self.reachable:
            return PingAnswer(self._remote_ttl(dst), self._jitter(self._base_rtt_ms(dst), 0.08))
        return None

    def local_rtt_ms(self) -> float:
        """Loopback or own-address echo."""
        return self._jitter(0.045, 0.3)

    def _jitter(self, base_ms: float, spread: float) -> float:
        return base_ms * (1.0 + self.rng.uniform(-spread, spread))

    @staticmethod
    def _remote_ttl(dst: ipaddress.IPv4Address) -> int:
        return 113 + zlib.crc32(dst.packed) % 7

    @staticmethod
    def _base_rtt_ms(dst: ipaddress.IPv4Address) -> float:
        return 5.0 + (zlib.crc32(dst.packed[::-1]) % 3000) / 100.0

    # -- DNS -------------------------------------------------------------------------------------------
    def is_dns_server(self, server: ipaddress.IPv4Address) -> bool:
        return server in self.dns_capable

    def resolve(self, name: str, server: ipaddress.IPv4Address) -> ipaddress.IPv4Address | None:
        if not self.is_dns_server(server):
            return None
        return self.hostnames.get(name.lower().rstrip("."))

    def reverse(self, address: ipaddress.IPv4Address) -> str | None:
        return next((name for name, ip in self.hostnames.items() if ip == address), None)
