"""The device's Linux network layer: links, addresses, routing tables, policy rules, events.

One `Kernel` per boot. A fresh kernel is what docker set up before Android boots (redroid):
`lo` (ifindex 1) and the profile's veth (`4: eth0@if5`), both up with carrier, the interface
address with its connected route, `default via <gateway>` in `main`, and the kernel's default
rules `0 local`, `32766 main`, `32767 default`.

What follows Linux (4.x era) because tools and netd observe it:
- adding an IPv4 address to an up link adds its `local`/`broadcast` routes (table local) and
  its connected route (table main, `proto kernel scope link src A`); lo's prefix goes to local;
- removing an address removes those routes; removing the last IPv4 address of a link removes
  every IPv4 route through that link in every table (fib_disable_ip);
- bringing a link down removes every route through it from every table and its IPv6
  addresses (IPv4 addresses stay); bringing it up re-adds the kernel routes of its addresses;
- a link without carrier keeps its routes, flagged `linkdown`; IPv6 link-local needs carrier;
- a gateway route needs a link-scope route to its gateway (same table first, then a policy
  lookup as uid 0), else ENETUNREACH; routes through a down link fail with ENETDOWN;
- every flag change sends an RTM_NEWLINK (`link` event), no dedup of identical states.

Errors are `KernelError(errno)`; `strerror()` gives bionic's texts.
"""

from __future__ import annotations

import errno
import ipaddress
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterable, Literal, Union

if TYPE_CHECKING:
    from harness.sim.clock import Scheduler, Timer
    from harness.sim.device import VirtualDevice

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# net/if.h flags
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_POINTOPOINT = 0x10
IFF_RUNNING = 0x40
IFF_NOARP = 0x80
IFF_MULTICAST = 0x1000
IFF_LOWER_UP = 0x10000

# linux/if_addr.h
IFA_F_SECONDARY = 0x01
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80

RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RT_SCOPE_HOST = 254
SCOPE_NAMES = {RT_SCOPE_UNIVERSE: "global", RT_SCOPE_LINK: "link", RT_SCOPE_HOST: "host"}

RT_TABLE_DEFAULT = 253
RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255

LOOPBACK_MTU = 65536
DAD_SECONDS = 1.0          # IPv6 duplicate address detection before `tentative` clears
LINKWATCH_SECONDS = 0.001  # linkwatch's deferred RTM_NEWLINK after an open

_BIONIC_STRERROR = {
    0: "Success",
    errno.EPERM: "Operation not permitted",
    errno.ENOENT: "No such file or directory",
    errno.ESRCH: "No such process",
    errno.EIO: "I/O error",
    errno.EACCES: "Permission denied",
    errno.EBUSY: "Device or resource busy",
    errno.EEXIST: "File exists",
    errno.ENODEV: "No such device",
    errno.EINVAL: "Invalid argument",
    errno.ERANGE: "Result not representable",
    errno.ENONET: "Machine is not on the network",
    errno.EADDRNOTAVAIL: "Cannot assign requested address",
    errno.ENETDOWN: "Network is down",
    errno.ENETUNREACH: "Network is unreachable",
    errno.EHOSTUNREACH: "No route to host",
    errno.ECONNREFUSED: "Connection refused",
    errno.ECONNRESET: "Connection reset by peer",
    errno.EREMOTEIO: "Remote I/O error",
    errno.EAFNOSUPPORT: "Address family not supported by protocol",
    errno.ENAMETOOLONG: "File name too long",
    errno.ENOBUFS: "No buffer space available",
}


def strerror(code: int) -> str:
    """bionic's strerror() text (same table as aosp bionic `_errdefs.h`)."""
    return _BIONIC_STRERROR.get(code) or os.strerror(code)


class KernelError(OSError):
    """A failed netlink/ioctl request; `.errno` is the positive errno."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, strerror(code))
        self.detail = detail


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inet6Address:
    interface: ipaddress.IPv6Interface
    scope: int
    flags: int = IFA_F_PERMANENT


@dataclass
class Link:
    name: str
    ifindex: int
    mac: str
    mtu: int = 1500
    kind: Literal["veth", "loopback"] = "veth"
    peer_ifindex: int | None = None
    admin_up: bool = False
    carrier: bool = True
    ipv6_enabled: bool = True
    txqueuelen: int = 1000
    ipv4: list[ipaddress.IPv4Interface] = field(default_factory=list)
    ipv6: list[Inet6Address] = field(default_factory=list)
    rx_bytes: int = 0
    rx_packets: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0

    @property
    def is_loopback(self) -> bool:
        return self.kind == "loopback"

    @property
    def lower_up(self) -> bool:
        return self.admin_up and self.carrier

    @property
    def dev_flags(self) -> int:
        """dev->flags as /sys/class/net/X/flags shows them (no RUNNING/LOWER_UP)."""
        base = IFF_LOOPBACK if self.is_loopback else IFF_BROADCAST | IFF_MULTICAST
        return base | (IFF_UP if self.admin_up else 0)

    @property
    def flags(self) -> int:
        """dev_get_flags(): what SIOCGIFFLAGS and RTM_NEWLINK report."""
        flags = self.dev_flags
        if self.lower_up:
            flags |= IFF_RUNNING | IFF_LOWER_UP
        return flags

    @property
    def operstate(self) -> str:
        """IFLA_OPERSTATE name (iproute2 spelling); lo is UNKNOWN while up."""
        if not self.admin_up:
            return "DOWN"
        if self.is_loopback:
            return "UNKNOWN"
        if not self.carrier:
            return "LOWERLAYERDOWN" if self.peer_ifindex else "DOWN"
        return "UP"

    @property
    def ipv6_link_local(self) -> ipaddress.IPv6Interface | None:
        for addr in self.ipv6:
            if addr.scope == RT_SCOPE_LINK:
                return addr.interface
        return None

    def primary_ipv4(self) -> ipaddress.IPv4Interface | None:
        return self.ipv4[0] if self.ipv4 else None

    def is_secondary(self, iface: ipaddress.IPv4Interface) -> bool:
        """Secondary = an earlier address of this link already covers its subnet."""
        for other in self.ipv4:
            if other == iface:
                return False
            if iface.ip in other.network and other.network.prefixlen == iface.network.prefixlen:
                return True
        return False


@dataclass(frozen=True)
class Route:
    dst: IPNetwork
    dev: str | None = None
    gateway: IPAddress | None = None
    proto: str = "boot"            # kernel | static | boot | ra | dhcp
    scope: int = RT_SCOPE_UNIVERSE
    type: str = "unicast"          # unicast | local | broadcast | unreachable | throw | prohibit
    src: IPAddress | None = None
    metric: int | None = None

    @property
    def family(self) -> int:
        return self.dst.version

    def same_key(self, other: "Route") -> bool:
        """Linux's identity of a route inside one table: dst/len, type's class and metric."""
        return (self.dst == other.dst and self.metric == other.metric
                and (self.type == "local") == (other.type == "local")
                and (self.type == "broadcast") == (other.type == "broadcast"))

    def matches(self, query: "Route") -> bool:
        """Whether `query` (a delete request: dst plus optional fields) selects this route."""
        if self.dst != query.dst:
            return False
        if query.gateway is not None and query.gateway != self.gateway:
            return False
        if query.dev is not None and query.dev != self.dev:
            return False
        if query.type != "unicast" and query.type != self.type:
            return False
        return query.metric is None or query.metric == self.metric


@dataclass(frozen=True)
class Rule:
    priority: int
    table: int = 0                       # 0 = no lookup (action rules)
    action: str = "lookup"               # lookup | unreachable | prohibit | blackhole
    fwmark: int = 0
    fwmask: int = 0                      # 0 = no fwmark selector
    iif: str | None = None
    oif: str | None = None
    uidrange: tuple[int, int] | None = None
    family: int = 4

    def matches(self, *, uid: int, mark: int, oif: str | None, iif: str) -> bool:
        if self.fwmask and (mark & self.fwmask) != self.fwmark:
            return False
        if self.uidrange is not None and not self.uidrange[0] <= uid <= self.uidrange[1]:
            return False
        if self.iif is not None and self.iif != iif:
            return False
        return self.oif is None or self.oif == oif

    def selects(self, query: "Rule") -> bool:
        """Whether a delete request selects this rule (defaults and priority -1 are wildcards)."""
        if query.family != self.family:
            return False
        if query.priority >= 0 and query.priority != self.priority:
            return False
        if query.table and query.table != self.table:
            return False
        if query.action != "lookup" and query.action != self.action:
            return False
        if query.fwmask and (query.fwmark, query.fwmask) != (self.fwmark, self.fwmask):
            return False
        for name in ("iif", "oif", "uidrange"):
            wanted = getattr(query, name)
            if wanted is not None and wanted != getattr(self, name):
                return False
        return True


@dataclass(frozen=True)
class RouteResult:
    """Outcome of a policy-routing lookup."""
    route: Route
    table: int
    dev: str
    nexthop: IPAddress          # the gateway, or the destination itself when on-link/local
    src: IPAddress | None

    @property
    def is_local(self) -> bool:
        return self.route.type == "local"


EventKind = Literal["link", "link_added", "link_removed", "addr_added", "addr_removed",
                    "route_added", "route_removed"]


@dataclass(frozen=True)
class KernelEvent:
    """One rtnetlink (or uevent, for link_added/removed) notification."""
    kind: EventKind
    link: str
    ifindex: int
    flags: int = 0                      # link: IFF_* incl. LOWER_UP; addr: IFA_F_*
    address: str | None = None          # "172.17.0.2/16"
    family: int = 4
    scope: int = 0
    route: Route | None = None
    table: int | None = None

    @property
    def lower_up(self) -> bool:
        return bool(self.flags & IFF_LOWER_UP)


Subscriber = Callable[[KernelEvent], None]


def link_local_from_mac(mac: str) -> ipaddress.IPv6Interface:
    """EUI-64 link-local address (fe80::42:acff:fe11:2/64 for 02:42:ac:11:00:02)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    value = (0xfe80 << 112) | int.from_bytes(bytes(eui), "big")
    return ipaddress.IPv6Interface((value, 64))


# ---------------------------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------------------------
class Kernel:
    def __init__(self, device: "VirtualDevice | None" = None, *,
                 scheduler: "Scheduler | None" = None) -> None:
        self.scheduler = scheduler if scheduler is not None else (device.scheduler if device else None)
        self.links: dict[str, Link] = {}
        self.tables: dict[int, list[Route]] = {RT_TABLE_LOCAL: [], RT_TABLE_MAIN: []}
        self.rules: list[Rule] = []
        self._subscribers: list[Subscriber] = []
        self._timers: list["Timer"] = []
        for family in (4, 6):
            self.rules.append(Rule(0, RT_TABLE_LOCAL, family=family))
            self.rules.append(Rule(32766, RT_TABLE_MAIN, family=family))
        self.rules.append(Rule(32767, RT_TABLE_DEFAULT, family=4))
        if device is not None:
            self._docker_setup(device)

    @classmethod
    def from_profile(cls, device: "VirtualDevice") -> "Kernel":
        return cls(device)

    def _docker_setup(self, device: "VirtualDevice") -> None:
        """Done long before Android boots: nothing is deferred (DAD is over, linkwatch ran)."""
        scheduler, self.scheduler = self.scheduler, None
        try:
            self._docker_links(device)
        finally:
            self.scheduler = scheduler

    def _docker_links(self, device: "VirtualDevice") -> None:
        net = device.profile.network
        self.add_link("lo", 1, "00:00:00:00:00:00", mtu=LOOPBACK_MTU, kind="loopback")
        self.add_address("lo", ipaddress.IPv4Interface("127.0.0.1/8"))
        self.set_admin("lo", True)
        self.add_link(net.interface, 4, net.mac, peer_ifindex=5)
        self.add_address(net.interface, ipaddress.IPv4Interface(net.address))
        self.set_admin(net.interface, True)
        self.add_route(RT_TABLE_MAIN, Route(ipaddress.ip_network("0.0.0.0/0"), dev=net.interface,
                                            gateway=ipaddress.ip_address(net.gateway)))

    def close(self) -> None:
        """The boot is over: cancel deferred kernel work and drop listeners."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._subscribers.clear()

    # -- events -------------------------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: KernelEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        if self.scheduler is None:
            fn()
            return
        self._timers = [t for t in self._timers if not t.cancelled]
        timer = self.scheduler.call_later(delay, fn)
        self._timers.append(timer)

    def _link_event(self, link: Link) -> None:
        self._emit(KernelEvent("link", link.name, link.ifindex, flags=link.flags))

    # -- links --------------------------------------------------------------------------------
    def link(self, name: str) -> Link:
        found = self.links.get(name)
        if found is None:
            raise KernelError(errno.ENODEV, name)
        return found

    def link_by_index(self, ifindex: int) -> Link | None:
        return next((l for l in self.links.values() if l.ifindex == ifindex), None)

    def ordered_links(self) -> list[Link]:
        return sorted(self.links.values(), key=lambda l: l.ifindex)

    def add_link(self, name: str, ifindex: int, mac: str, mtu: int = 1500,
                 kind: Literal["veth", "loopback"] = "veth",
                 peer_ifindex: int | None = None) -> Link:
        if name in self.links or self.link_by_index(ifindex) is not None:
            raise KernelError(errno.EEXIST, name)
        link = Link(name, ifindex, mac.lower(), mtu=mtu, kind=kind, peer_ifindex=peer_ifindex)
        self.links[name] = link
        self._emit(KernelEvent("link_added", name, ifindex, flags=link.flags))
        self._link_event(link)
        return link

    def remove_link(self, name: str) -> None:
        link = self.link(name)
        if link.admin_up:
            self.set_admin(name, False)
        for iface in list(link.ipv4):
            self.remove_address(name, iface)
        del self.links[name]
        self._emit(KernelEvent("link_removed", name, link.ifindex))

    def set_admin(self, name: str, up: bool) -> None:
        """SIOCSIFFLAGS / `ip link set`: IFF_UP on (dev_open) or off (dev_close).

        __dev_notify_flags sends the RTM_NEWLINK before NETDEV_UP/NETDEV_DOWN run, so the
        `link` event comes before the address and route changes they cause."""
        link = self.link(name)
        if link.admin_up == up:
            return
        link.admin_up = up
        self._link_event(link)
        if up:
            for iface in link.ipv4:
                self._add_kernel_routes(link, iface)
            if link.carrier:
                self._ipv6_link_up(link)
                if not link.is_loopback:
                    self._later(LINKWATCH_SECONDS, lambda: self._linkwatch(name))
        else:
            self._drop_ipv6(link)
            self._drop_routes_via(link.name)

    def _linkwatch(self, name: str) -> None:
        link = self.links.get(name)
        if link is not None:
            self._link_event(link)

    def set_carrier(self, name: str, carrier: bool) -> None:
        """The container side: the veth peer went up or down (linkwatch, NETDEV_CHANGE).

        Losing carrier keeps addresses and routes (shown `linkdown`); IPv6 link-local is only
        created once the link has carrier (addrconf_link_ready)."""
        link = self.link(name)
        if link.carrier == carrier:
            return
        link.carrier = carrier
        self._link_event(link)
        if carrier and link.admin_up:
            self._ipv6_link_up(link)

    def set_mtu(self, name: str, mtu: int) -> None:
        link = self.link(name)
        if not 68 <= mtu <= (LOOPBACK_MTU if link.is_loopback else 65535):
            raise KernelError(errno.EINVAL, f"mtu {mtu}")
        if link.mtu != mtu:
            link.mtu = mtu
            self._link_event(link)

    def set_ipv6_enabled(self, name: str, enabled: bool) -> None:
        """/proc/sys/net/ipv6/conf/X/disable_ipv6 (netd `interface ipv6 X enable|disable`)."""
        link = self.link(name)
        if link.ipv6_enabled == enabled:
            return
        link.ipv6_enabled = enabled
        if enabled and link.lower_up:
            self._ipv6_link_up(link)
        elif not enabled:
            self._drop_ipv6(link)

    def count_tx(self, name: str, nbytes: int) -> None:
        link = self.link(name)
        link.tx_packets += 1
        link.tx_bytes += nbytes

    def count_rx(self, name: str, nbytes: int) -> None:
        link = self.link(name)
        link.rx_packets += 1
        link.rx_bytes += nbytes

    # -- IPv6 (link-local only) -----------------------------------------------------------------
    def _ipv6_link_up(self, link: Link) -> None:
        if not link.ipv6_enabled or link.ipv6:
            return
        if link.is_loopback:
            self._add_ipv6(link, Inet6Address(ipaddress.IPv6Interface("::1/128"), RT_SCOPE_HOST))
            return
        address = Inet6Address(link_local_from_mac(link.mac), RT_SCOPE_LINK,
                               IFA_F_PERMANENT | IFA_F_TENTATIVE)
        self._add_ipv6(link, address)
        self._insert_route(RT_TABLE_MAIN, Route(ipaddress.ip_network("fe80::/64"), dev=link.name,
                                                proto="kernel", metric=256))
        self._later(DAD_SECONDS, lambda: self._dad_done(link.name, address))

    def _add_ipv6(self, link: Link, address: Inet6Address) -> None:
        link.ipv6.append(address)
        self._emit(KernelEvent("addr_added", link.name, link.ifindex, flags=address.flags,
                               address=str(address.interface), family=6, scope=address.scope))

    def _dad_done(self, name: str, address: Inet6Address) -> None:
        link = self.links.get(name)
        if link is None or address not in link.ipv6:
            return
        done = replace(address, flags=address.flags & ~IFA_F_TENTATIVE)
        link.ipv6[link.ipv6.index(address)] = done
        self._emit(KernelEvent("addr_added", name, link.ifindex, flags=done.flags,
                               address=str(done.interface), family=6, scope=done.scope))

    def _drop_ipv6(self, link: Link) -> None:
        for address in list(link.ipv6):
            link.ipv6.remove(address)
            self._emit(KernelEvent("addr_removed", link.name, link.ifindex, flags=address.flags,
                                   address=str(address.interface), family=6, scope=address.scope))
        self._drop_routes_via(link.name, family=6)

    def clear_ipv6_addresses(self, name: str) -> None:
        self._drop_ipv6(self.link(name))

    # -- IPv4 addresses -----------------------------------------------------------------------------
    def add_address(self, name: str, iface: ipaddress.IPv4Interface) -> None:
        link = self.link(name)
        for existing in link.ipv4:
            if existing.ip == iface.ip and existing.network.prefixlen == iface.network.prefixlen:
                raise KernelError(errno.EEXIST, str(iface))
        link.ipv4.append(iface)
        self._emit(KernelEvent("addr_added", name, link.ifindex, flags=self._ifa_flags(link, iface),
                               address=str(iface), scope=self._ifa_scope(link, iface)))
        if link.admin_up:
            self._add_kernel_routes(link, iface)

    def remove_address(self, name: str, iface: ipaddress.IPv4Interface) -> None:
        link = self.link(name)
        match = next((a for a in link.ipv4 if a.ip == iface.ip
                      and a.network.prefixlen == iface.network.prefixlen), None)
        if match is None:
            raise KernelError(errno.EADDRNOTAVAIL, str(iface))
        flags, scope = self._ifa_flags(link, match), self._ifa_scope(link, match)
        routes = self._kernel_routes_for(link, match)
        link.ipv4.remove(match)
        self._emit(KernelEvent("addr_removed", name, link.ifindex, flags=flags,
                               address=str(match), scope=scope))
        self._remove_kernel_routes(link, match, routes)
        if not link.ipv4:
            self._drop_routes_via(name, family=4)
        else:
            self._drop_unreachable_gateways(name)

    def flush_addresses(self, name: str) -> None:
        """Every IPv4 address of the link (netd `interface clearaddrs` also clears IPv6)."""
        link = self.link(name)
        for iface in list(reversed(link.ipv4)):
            self.remove_address(name, iface)

    def replace_primary_address(self, name: str, iface: ipaddress.IPv4Interface | None) -> None:
        """SIOCSIFADDR: replace the primary address (None or 0.0.0.0 just deletes it)."""
        link = self.link(name)
        primary = link.primary_ipv4()
        if primary is not None and iface is not None and primary == iface:
            return
        if primary is not None:
            self.remove_address(name, primary)
        if iface is not None and int(iface.ip) != 0:
            self.add_address(name, iface)

    def set_primary_prefix(self, name: str, prefix: int) -> None:
        """SIOCSIFNETMASK: the primary address is deleted and re-inserted with the new mask."""
        link = self.link(name)
        primary = link.primary_ipv4()
        if primary is None:
            raise KernelError(errno.EADDRNOTAVAIL, name)
        if primary.network.prefixlen == prefix:
            return
        self.remove_address(name, primary)
        self.add_address(name, ipaddress.IPv4Interface((primary.ip, prefix)))

    @staticmethod
    def _ifa_scope(link: Link, iface: ipaddress.IPv4Interface) -> int:
        return RT_SCOPE_HOST if iface.ip.is_loopback else RT_SCOPE_UNIVERSE

    @staticmethod
    def _ifa_flags(link: Link, iface: ipaddress.IPv4Interface) -> int:
        return IFA_F_PERMANENT | (IFA_F_SECONDARY if link.is_secondary(iface) else 0)

    def _kernel_routes_for(self, link: Link, iface: ipaddress.IPv4Interface) -> list[tuple[int, Route]]:
        """fib_add_ifaddr(): the routes the kernel derives from one address."""
        ip, net = iface.ip, iface.network
        routes = [(RT_TABLE_LOCAL, Route(ipaddress.ip_network(f"{ip}/32"), dev=link.name,
                                         proto="kernel", scope=RT_SCOPE_HOST, type="local", src=ip))]
        if link.is_secondary(iface):
            return routes
        if net.prefixlen < 32:
            if link.is_loopback:
                routes.append((RT_TABLE_LOCAL, Route(net, dev=link.name, proto="kernel",
                                                     scope=RT_SCOPE_HOST, type="local", src=ip)))
            else:
                routes.append((RT_TABLE_MAIN, Route(net, dev=link.name, proto="kernel",
                                                    scope=RT_SCOPE_LINK, src=ip)))
        if net.prefixlen < 31:
            for bcast in (net.network_address, net.broadcast_address):
                routes.append((RT_TABLE_LOCAL, Route(ipaddress.ip_network(f"{bcast}/32"),
                                                     dev=link.name, proto="kernel",
                                                     scope=RT_SCOPE_LINK, type="broadcast", src=ip)))
        return routes

    def _add_kernel_routes(self, link: Link, iface: ipaddress.IPv4Interface) -> None:
        for table, route in self._kernel_routes_for(link, iface):
            if not any(r.same_key(route) for r in self.tables.get(table, [])):
                self._insert_route(table, route)

    def _remove_kernel_routes(self, link: Link, iface: ipaddress.IPv4Interface,
                              routes: list[tuple[int, Route]]) -> None:
        for table, route in routes:
            if route in self.tables.get(table, []):
                self._remove_route(table, route)
        # routes preferring the removed source address go too (fib_sync_down_addr)
        for table_id, routes in list(self.tables.items()):
            for route in list(routes):
                if route.src == iface.ip and route.dev == link.name:
                    self._remove_route(table_id, route)

    def _drop_unreachable_gateways(self, name: str) -> None:
        for table_id, routes in list(self.tables.items()):
            for route in list(routes):
                if route.dev == name and route.gateway is not None and route.family == 4:
                    if not self._gateway_reachable(table_id, route.gateway, name):
                        self._remove_route(table_id, route)

    def _drop_routes_via(self, name: str, family: int | None = None) -> None:
        for table_id, routes in list(self.tables.items()):
            for route in list(routes):
                if route.dev == name and (family is None or route.family == family):
                    self._remove_route(table_id, route)

    # -- routes -------------------------------------------------------------------------------------
    def table(self, table_id: int) -> list[Route]:
        return list(self.tables.get(table_id, []))

    def add_route(self, table_id: int, route: Route, *, exclusive: bool = True) -> None:
        """RTM_NEWROUTE (NLM_F_CREATE|NLM_F_EXCL): validates like fib_check_nh."""
        if route.family == 6:       # IPv6 routes have no scope; user routes get metric 1024
            route = replace(route, scope=0, metric=1024 if route.metric is None else route.metric)
        if route.type in ("unicast", "local", "broadcast"):
            if route.dev is None and route.gateway is None:
                raise KernelError(errno.EINVAL, "no nexthop")
            dev = route.dev
            if route.gateway is not None:
                if route.gateway.version != route.family:
                    raise KernelError(errno.EINVAL, str(route.gateway))
                dev = self._check_gateway(table_id, route)
                route = replace(route, dev=dev)
            assert dev is not None
            if not self.link(dev).admin_up:
                raise KernelError(errno.ENETDOWN, dev)
        existing = [r for r in self.tables.get(table_id, []) if r.same_key(route)]
        if existing:
            if exclusive:
                raise KernelError(errno.EEXIST, str(route.dst))
            return
        self._insert_route(table_id, route)

    def _check_gateway(self, table_id: int, route: Route) -> str:
        assert route.gateway is not None
        if route.dev is not None:
            self.link(route.dev)
        hit = self._lookup_in_table(table_id, route.gateway, oif=route.dev, min_scope=RT_SCOPE_LINK)
        if hit is None:
            try:
                result = self.route_lookup(route.gateway, uid=0, mark=0, oif=route.dev,
                                           min_scope=RT_SCOPE_LINK)
            except KernelError:
                raise KernelError(errno.ENETUNREACH, str(route.gateway)) from None
            hit = result.route
        if hit.dev is None:
            raise KernelError(errno.EINVAL, str(route.gateway))
        return hit.dev

    def _gateway_reachable(self, table_id: int, gateway: IPAddress, dev: str) -> bool:
        if self._lookup_in_table(table_id, gateway, oif=dev, min_scope=RT_SCOPE_LINK) is not None:
            return True
        try:
            self.route_lookup(gateway, uid=0, mark=0, oif=dev, min_scope=RT_SCOPE_LINK)
        except KernelError:
            return False
        return True

    def del_route(self, table_id: int, query: Route) -> Route:
        """RTM_DELROUTE: the first route matching `query` (ESRCH when none)."""
        for route in self.tables.get(table_id, []):
            if route.matches(query):
                self._remove_route(table_id, route)
                return route
        raise KernelError(errno.ESRCH, str(query.dst))

    def flush_table(self, table_id: int) -> None:
        for route in list(self.tables.get(table_id, [])):
            self._remove_route(table_id, route)

    def _insert_route(self, table_id: int, route: Route) -> None:
        routes = self.tables.setdefault(table_id, [])
        routes.append(route)
        routes.sort(key=_trie_order)
        self._emit(self._route_event("route_added", table_id, route))

    def _remove_route(self, table_id: int, route: Route) -> None:
        routes = self.tables.get(table_id, [])
        if route in routes:
            routes.remove(route)
            if not routes and table_id not in (RT_TABLE_LOCAL, RT_TABLE_MAIN):
                del self.tables[table_id]
            self._emit(self._route_event("route_removed", table_id, route))

    def _route_event(self, kind: EventKind, table_id: int, route: Route) -> KernelEvent:
        link = self.links.get(route.dev or "")
        return KernelEvent(kind, route.dev or "", link.ifindex if link else 0, family=route.family,
                           route=route, table=table_id)

    def route_flags(self, route: Route) -> list[str]:
        """Per-route flags iproute2 prints (`linkdown` when the device has no carrier)."""
        link = self.links.get(route.dev or "")
        if link is not None and link.admin_up and not link.carrier and route.type == "unicast":
            return ["linkdown"]
        return []

    # -- policy rules -------------------------------------------------------------------------------
    def rules_for(self, family: int) -> list[Rule]:
        return [r for r in self.rules if r.family == family]

    def add_rule(self, rule: Rule, *, exclusive: bool = True) -> None:
        if rule.action == "lookup" and not rule.table:
            raise KernelError(errno.EINVAL, "lookup without table")
        if rule.fwmask and rule.fwmark & ~rule.fwmask:
            raise KernelError(errno.EINVAL, "fwmark outside mask")
        if exclusive and rule in self.rules:
            raise KernelError(errno.EEXIST, f"rule {rule.priority}")
        # fib_nl_newrule: after the last rule whose priority is <= the new one
        index = len(self.rules)
        for i, existing in enumerate(self.rules):
            if existing.priority > rule.priority:
                index = i
                break
        self.rules.insert(index, rule)

    def del_rule(self, query: Rule) -> Rule:
        for rule in self.rules:
            if rule.selects(query):
                self.rules.remove(rule)
                return rule
        raise KernelError(errno.ENOENT, f"rule {query.priority}")

    def flush_rules(self, keep: Callable[[Rule], bool]) -> None:
        self.rules = [r for r in self.rules if keep(r)]

    # -- lookups ------------------------------------------------------------------------------------
    def _lookup_in_table(self, table_id: int, dst: IPAddress, *, oif: str | None = None,
                         min_scope: int = RT_SCOPE_UNIVERSE) -> Route | None:
        best: Route | None = None
        for route in self.tables.get(table_id, []):
            if route.family != dst.version or dst not in route.dst:
                continue
            if oif is not None and route.dev is not None and route.dev != oif:
                continue
            if route.scope < min_scope and route.type in ("unicast",):
                continue
            if best is None or route.dst.prefixlen > best.dst.prefixlen:
                best = route
        return best

    def route_lookup(self, dst: IPAddress | str, *, uid: int, mark: int = 0,
                     oif: str | None = None, min_scope: int = RT_SCOPE_UNIVERSE) -> RouteResult:
        """fib_lookup() for a locally generated packet (iif = lo): rules in priority order."""
        address = ipaddress.ip_address(dst) if isinstance(dst, str) else dst
        for rule in self.rules_for(address.version):
            if not rule.matches(uid=uid, mark=mark, oif=oif, iif="lo"):
                continue
            if rule.action == "unreachable":
                raise KernelError(errno.ENETUNREACH, f"rule {rule.priority}")
            if rule.action == "prohibit":
                raise KernelError(errno.EACCES, f"rule {rule.priority}")
            if rule.action == "blackhole":
                raise KernelError(errno.EINVAL, f"rule {rule.priority}")
            route = self._lookup_in_table(rule.table, address, oif=oif, min_scope=min_scope)
            if route is None or route.type == "throw":
                continue
            if route.type == "unreachable":
                raise KernelError(errno.EHOSTUNREACH, str(route.dst))
            if route.type == "prohibit":
                raise KernelError(errno.EACCES, str(route.dst))
            dev = route.dev or "lo"
            nexthop = route.gateway if route.gateway is not None else address
            return RouteResult(route, rule.table, dev, nexthop, self._source_for(route, address))
        raise KernelError(errno.ENETUNREACH, str(address))

    def _source_for(self, route: Route, dst: IPAddress) -> IPAddress | None:
        if route.type == "local":
            return dst
        if route.src is not None:
            return route.src
        link = self.links.get(route.dev or "")
        if link is None:
            return None
        if dst.version == 4:
            primary = link.primary_ipv4()
            return primary.ip if primary else None
        ll = link.ipv6_link_local
        return ll.ip if ll else None

    def addresses(self) -> Iterable[tuple[Link, ipaddress.IPv4Interface]]:
        for link in self.ordered_links():
            for iface in link.ipv4:
                yield link, iface

    def is_local_address(self, address: IPAddress) -> bool:
        if address.is_loopback:
            return True
        return any(iface.ip == address for _, iface in self.addresses()) or any(
            a.interface.ip == address for l in self.links.values() for a in l.ipv6)


def _trie_order(route: Route) -> tuple[int, int, int, int]:
    """Dump order of a table: by destination key, longer prefix first (fib_trie walk)."""
    return (route.family, int(route.dst.network_address), -route.dst.prefixlen,
            route.metric or 0)
