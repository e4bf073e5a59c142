"""netd of one boot: NetworkController state, its binder-like API, netlink broadcasts, logs.

The text protocol (Android <= 9 `CommandListener`, `ndc`) lives in commandlistener.py and calls
the same methods as the binder-like API (Android 10+ `INetd`), so both paths share one
implementation. Every call returns 0 or -errno like the C++ code; failures log the `Netd` E
lines of NetworkController.cpp (e.g. `interface eth0 already assigned to netId 100`).

Facts (AOSP system/netd, redroid-8.1.0 `NetworkController.cpp`, `PhysicalNetwork.cpp`,
`NetlinkHandler.cpp`, `main.cpp`; libsysutils `NetlinkEvent.cpp`):
- netIds: 100..65535 physical, OEM 1..50, local 99, dummy 51 (8.0+); NETID_UNSET = 0;
- addInterfaceToNetwork: ENONET for an unknown netId, EBUSY when the interface is in another
  network, 0 when already in this one;
- modifyRoute: ENONET, ENODEV (interface in no network), ENOENT (in another network);
- destroyNetwork: clearInterfaces() (rules, route flush, rt_tables), drops the default, the
  resolver cache goes too; the first error is returned but everything is attempted;
- broadcasts: `600 Iface linkstate <if> up|down` from IFF_LOWER_UP of every RTM_NEWLINK of a
  non-loopback link, `614 Address updated|removed <a/p> <if> <flags> <scope>`, `616 Route ...`
  only for IPv6 kernel/RA unicast universe routes (netd subscribes to RTMGRP_IPV6_ROUTE only).
"""

from __future__ import annotations

import errno
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal

from harness.sim.android.kernel import (
    IFA_F_PERMANENT, IFF_LOOPBACK, Kernel, KernelError, KernelEvent,
)
from harness.sim.android.routecontroller import (
    FWMARK_PROTECTED, PERMISSION_NONE, PERMISSION_SYSTEM, ROUTE_TABLE_LEGACY_NETWORK,
    ROUTE_TABLE_LEGACY_SYSTEM, ROUTE_TABLE_LOCAL_NETWORK, RouteController, fwmark,
)

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

NETID_UNSET = 0
MIN_NET_ID = 100
MAX_NET_ID = 65535
MIN_OEM_ID = 1
MAX_OEM_ID = 50
DUMMY_NET_ID = 51
LOCAL_NET_ID = 99
FIRST_APPLICATION_UID = 10000

SOCKET_DIR = "/dev/socket"
AID_SYSTEM, AID_INET = 1000, 3003
THREAD_MAIN = "main"
THREAD_COMMANDS = "CommandListener"
THREAD_BINDER = "binder"
THREAD_NETLINK = "NetlinkListener"

Broadcast = Callable[[str], None]


def init_sockets(sdk: int) -> dict[str, int]:
    """netd's `socket NAME stream 0660 root GROUP` lines, name -> group (netd.rc; 4.4 init.rc).
    fwmarkd came with netIds in 5.0; 10 dropped `netd` when ndc and NMS moved to binder."""
    sockets = {"netd": AID_SYSTEM, "dnsproxyd": AID_INET, "mdns": AID_SYSTEM, "fwmarkd": AID_INET}
    if sdk < 21:
        del sockets["fwmarkd"]
    if sdk >= 29:
        del sockets["netd"]
    return sockets


def create_init_sockets(device: "VirtualDevice") -> None:
    for name, group in init_sockets(device.sdk).items():
        device.fs.add_socket(f"{SOCKET_DIR}/{name}", uid=0, gid=group,
                             mtime=int(device.scheduler.wall_clock()))


def unlink_init_sockets(device: "VirtualDevice") -> None:
    """init reaping netd (SocketInfo::Clean); until then a dead netd's socket refuses connections."""
    for name in init_sockets(device.sdk):
        if device.fs.exists(f"{SOCKET_DIR}/{name}"):
            device.fs.remove(f"{SOCKET_DIR}/{name}")


@dataclass
class NetworkState:
    net_id: int
    kind: Literal["physical", "local", "dummy"]
    permission: int = PERMISSION_NONE
    interfaces: set[str] = field(default_factory=set)
    is_default: bool = False
    dns_servers: list[str] = field(default_factory=list)
    dns_domains: list[str] = field(default_factory=list)

    def sorted_interfaces(self) -> list[str]:
        """std::set order, as netd iterates and prints them."""
        return sorted(self.interfaces)


@dataclass(frozen=True)
class InterfaceConfig:
    """`interface getcfg` / INetd.interfaceGetCfg."""
    name: str
    hw_addr: str
    ipv4: str
    prefix_length: int
    flags: tuple[str, ...]

    def render(self) -> str:
        return f"{self.hw_addr} {self.ipv4} {self.prefix_length} {' '.join(self.flags)}"


class Netd:
    def __init__(self, device: "VirtualDevice", kernel: Kernel) -> None:
        self.device = device
        self.kernel = kernel
        self.sdk = device.sdk
        self.running = False
        self.networks: dict[int, NetworkState] = {}
        self.default_net_id = NETID_UNSET
        self.user_permissions: dict[int, int] = {}
        self._orphan_dns: dict[int, tuple[list[str], list[str]]] = {}
        # 4.4's ResolverController: name servers per interface and the default interface
        self.interface_dns: dict[str, list[str]] = {}
        self.default_dns_interface: str | None = None
        self._subscribers: list[Broadcast] = []
        self._close_callbacks: list[Callable[[], None]] = []
        self._unsubscribe_kernel: Callable[[], None] | None = None
        self.routes = RouteController(kernel, self.sdk, log_error=self._log_netd_error,
                                      write_file=self._write_file)
        from harness.sim.android.commandlistener import CommandListener
        self._listener = CommandListener(self)

    # -- process lifecycle ------------------------------------------------------------------------
    @property
    def has_network_controller(self) -> bool:
        """NetworkController/RouteController exist since Android 5.0."""
        return self.sdk >= 21

    @property
    def has_command_listener(self) -> bool:
        """Android 10 removed CommandListener and the `netd` socket; ndc talks binder."""
        return self.sdk <= 28

    def start(self) -> None:
        """main(): log, initialise the controllers (RouteController::Init), listen to netlink."""
        if self.running:
            return
        rng = getattr(self.device.android, "rng", self.device.rng)
        create_init_sockets(self.device)      # init creates them just before it starts netd
        self.log("I", "Netd", "Netd 1.0 starting")
        self.log("D", "TetherController", "Setting IP forward enable = 0")
        for step in ("Creating child chains", "Setting up OEM hooks",
                     "Setting up FirewallController hooks", "Setting up NatController hooks",
                     "Setting up BandwidthController hooks", "Setting up IdletimerController hooks",
                     "Disabling bandwidth control"):
            self.log("I", "Netd", f"{step}: {rng.uniform(0.1, 9.0):.1f}ms")
        if self.has_network_controller:
            self.networks[LOCAL_NET_ID] = NetworkState(LOCAL_NET_ID, "local")
            if self.sdk >= 26:
                self.networks[DUMMY_NET_ID] = NetworkState(DUMMY_NET_ID, "dummy", interfaces={"dummy0"})
            try:
                self.routes.init(LOCAL_NET_ID)
            except KernelError as err:
                self.log("E", "Netd", f"failed to initialize RouteController ({err.strerror})")
            self.log("I", "Netd", f"Initializing RouteController: {rng.uniform(0.5, 3.0):.1f}ms")
        self._unsubscribe_kernel = self.kernel.subscribe(self._on_kernel_event)
        self.running = True
        self.log("I", "Netd", f"Registering NetdNativeService: {rng.uniform(0.5, 2.0):.1f}ms")
        if self.has_command_listener:
            self.log("I", "Netd", f"Starting CommandListener: {rng.uniform(0.1, 1.0):.1f}ms")
        self.log("I", "Netd", f"Netd started in {rng.randint(20, 60)}ms")

    def stop(self) -> None:
        """netd exits (crash or stop): no more commands or broadcasts; kernel state stays."""
        if self._unsubscribe_kernel is not None:
            self._unsubscribe_kernel()
            self._unsubscribe_kernel = None
        self.running = False
        self._subscribers.clear()
        closers, self._close_callbacks = self._close_callbacks, []
        for on_close in closers:
            on_close()

    # -- logging and files -----------------------------------------------------------------------------
    def log(self, priority: str, tag: str, message: str, thread: str = THREAD_MAIN) -> None:
        self.device.log("netd", priority, tag, message, thread=thread)

    def _log_netd_error(self, message: str) -> None:
        self.log("E", "Netd", message, thread=THREAD_COMMANDS)

    def _write_file(self, path: str, data: bytes) -> None:
        self.device.fs.mkdir(path.rsplit("/", 1)[0])
        self.device.fs.write(path, data, mode=0o644, uid=1000,
                             mtime=int(self.device.scheduler.wall_clock()))

    # -- text protocol ------------------------------------------------------------------------------
    def command(self, line: str, client: "object | None" = None) -> list[str]:
        """One NUL-terminated command on the `netd` socket -> its reply lines (Android <= 9)."""
        if not self.has_command_listener:
            raise RuntimeError("Android 10+ netd has no CommandListener: use the binder-like calls")
        return self._listener.dispatch(line, client)

    def ndc_binder(self, argv: list[str]) -> list[str]:
        """What Android 10+ `ndc` prints for argv (NdcDispatcher over binder)."""
        from harness.sim.android.commandlistener import NdcDispatcher
        return NdcDispatcher(self).dispatch(argv)

    # -- unsolicited events ----------------------------------------------------------------------------
    def subscribe(self, callback: Broadcast, *,
                  on_close: Callable[[], None] | None = None) -> Callable[[], None]:
        """Receive every unsolicited line; `on_close` runs if netd goes away first."""
        self._subscribers.append(callback)
        if on_close is not None:
            self._close_callbacks.append(on_close)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
            if on_close is not None and on_close in self._close_callbacks:
                self._close_callbacks.remove(on_close)

        return unsubscribe

    def broadcast(self, line: str) -> None:
        for callback in list(self._subscribers):
            callback(line)

    def _on_kernel_event(self, event: KernelEvent) -> None:
        line = netlink_broadcast(event)
        if line is not None:
            self.broadcast(line)

    # -- NetworkController queries -----------------------------------------------------------------------
    def iface_net(self, interface: str) -> int:
        """getNetworkForInterface(): the netId holding the interface, or NETID_UNSET."""
        for net_id in sorted(self.networks):
            if interface in self.networks[net_id].interfaces:
                return net_id
        return NETID_UNSET

    def permission_for_user(self, uid: int) -> int:
        if uid in self.user_permissions:
            return self.user_permissions[uid]
        return PERMISSION_SYSTEM if uid < FIRST_APPLICATION_UID else PERMISSION_NONE

    def connect_mark(self, uid: int) -> int:
        """The fwmark FwmarkServer puts on a socket at connect() (no VPN modelled)."""
        return fwmark(self.default_net_id, permission=self.permission_for_user(uid))

    def dns_mark(self) -> tuple[int, int]:
        """(netId, fwmark) of a DNS query for an unspecified network (getNetworkForDns);
        4.4 has neither netIds nor marks."""
        if not self.has_network_controller:
            return NETID_UNSET, 0
        net_id = self.default_net_id
        return net_id, fwmark(net_id, permission=PERMISSION_SYSTEM) | FWMARK_PROTECTED

    def dns_servers(self, net_id: int) -> list[str]:
        if not self.has_network_controller:
            return self._kitkat_dns_servers()
        network = self.networks.get(net_id)
        return list(network.dns_servers) if network else []

    def _kitkat_dns_servers(self) -> list[str]:
        """4.4: the default interface's servers (`resolver setifdns` + `setdefaultif`, set by
        ConnectivityService), else bionic's older source, the net.dns1..4 properties."""
        if self.default_dns_interface is not None:
            servers = self.interface_dns.get(self.default_dns_interface, [])
            if servers:
                return list(servers)
        props = self.device.props
        values = [props.get(f"net.dns{slot}") for slot in range(1, 5)]
        return [value for value in values if value]

    def set_interface_dns(self, interface: str, servers: list[str]) -> None:
        """4.4 `resolver setifdns <if> <domains> <servers...>`."""
        self.interface_dns[interface] = list(servers)

    def set_default_dns_interface(self, interface: str) -> None:
        """4.4 `resolver setdefaultif <if>`."""
        self.default_dns_interface = interface

    def _physical(self, net_id: int) -> NetworkState | None:
        network = self.networks.get(net_id)
        return network if network is not None and network.kind == "physical" else None

    def _error(self, message: str, code: int) -> int:
        self._log_netd_error(message)
        return -code

    # -- binder-like API (0 or -errno) ---------------------------------------------------------------------
    def network_create_physical(self, net_id: int, permission: int = PERMISSION_NONE) -> int:
        if not (MIN_NET_ID <= net_id <= MAX_NET_ID or MIN_OEM_ID <= net_id <= MAX_OEM_ID):
            return self._error(f"invalid netId {net_id}", errno.EINVAL)
        if net_id in self.networks:
            return self._error(f"duplicate netId {net_id}", errno.EEXIST)
        network = NetworkState(net_id, "physical", permission)
        servers, domains = self._orphan_dns.pop(net_id, ([], []))
        network.dns_servers, network.dns_domains = servers, domains
        self.networks[net_id] = network
        return 0

    def network_destroy(self, net_id: int) -> int:
        if net_id == LOCAL_NET_ID:
            return self._error("cannot destroy local network", errno.EINVAL)
        network = self.networks.get(net_id)
        if network is None:
            return self._error(f"no such netId {net_id}", errno.ENONET)
        ret = self._clear_interfaces(network)
        if self.default_net_id == net_id:
            err = self._remove_as_default(network)
            if err and not ret:
                self._log_netd_error("inconceivable! removeAsDefault cannot fail on an empty network")
                ret = err
            self.default_net_id = NETID_UNSET
        del self.networks[net_id]
        self._orphan_dns.pop(net_id, None)
        return ret

    def network_add_interface(self, net_id: int, interface: str) -> int:
        network = self.networks.get(net_id)
        if network is None:
            return self._error(f"no such netId {net_id}", errno.ENONET)
        existing = self.iface_net(interface)
        if existing != NETID_UNSET and existing != net_id:
            return self._error(f"interface {interface} already assigned to netId {existing}", errno.EBUSY)
        if interface in network.interfaces:
            return 0
        try:
            if network.kind == "physical":
                self.routes.add_interface_to_physical_network(net_id, interface, network.permission)
                if network.is_default:
                    self.routes.modify_default_network(True, interface, network.permission)
            elif network.kind == "local":
                self.routes.modify_local_network(True, interface)
        except KernelError as err:
            return self._error(f"failed to add interface {interface} to netId {net_id}", err.errno)
        network.interfaces.add(interface)
        return 0

    def network_remove_interface(self, net_id: int, interface: str) -> int:
        network = self.networks.get(net_id)
        if network is None:
            return self._error(f"no such netId {net_id}", errno.ENONET)
        return self._remove_interface(network, interface)

    def _remove_interface(self, network: NetworkState, interface: str) -> int:
        if interface not in network.interfaces:
            return 0
        try:
            if network.kind == "physical":
                if network.is_default:
                    self.routes.modify_default_network(False, interface, network.permission)
                self.routes.remove_interface_from_physical_network(network.net_id, interface,
                                                                  network.permission)
            elif network.kind == "local":
                self.routes.modify_local_network(False, interface)
        except KernelError as err:
            return self._error(f"failed to remove interface {interface} from netId "
                               f"{network.net_id}", err.errno)
        network.interfaces.discard(interface)
        return 0

    def _clear_interfaces(self, network: NetworkState) -> int:
        for interface in network.sorted_interfaces():
            if ret := self._remove_interface(network, interface):
                return ret
        return 0

    def network_add_route(self, net_id: int, interface: str, destination: str,
                          nexthop: str | None = None, *, legacy: bool = False, uid: int = 0) -> int:
        return self._modify_route(True, net_id, interface, destination, nexthop, legacy, uid)

    def network_remove_route(self, net_id: int, interface: str, destination: str,
                             nexthop: str | None = None, *, legacy: bool = False, uid: int = 0) -> int:
        return self._modify_route(False, net_id, interface, destination, nexthop, legacy, uid)

    def _modify_route(self, add: bool, net_id: int, interface: str, destination: str,
                      nexthop: str | None, legacy: bool, uid: int) -> int:
        if net_id not in self.networks:
            return self._error(f"no such netId {net_id}", errno.ENONET)
        existing = self.iface_net(interface)
        if existing == NETID_UNSET:
            return self._error(f"interface {interface} not assigned to any netId", errno.ENODEV)
        if existing != net_id:
            return self._error(f"interface {interface} assigned to netId {existing}, not {net_id}",
                               errno.ENOENT)
        if net_id == LOCAL_NET_ID:
            table: int | None = ROUTE_TABLE_LOCAL_NETWORK
        elif legacy:
            system = self.permission_for_user(uid) & PERMISSION_SYSTEM == PERMISSION_SYSTEM
            table = ROUTE_TABLE_LEGACY_SYSTEM if system else ROUTE_TABLE_LEGACY_NETWORK
        else:
            table = None
        try:
            self.routes.modify_route(add, interface, destination, nexthop or None, table)
        except KernelError as err:
            return -err.errno
        return 0

    def network_set_default(self, net_id: int) -> int:
        if net_id == self.default_net_id:
            return 0
        if net_id != NETID_UNSET:
            network = self.networks.get(net_id)
            if network is None:
                return self._error(f"no such netId {net_id}", errno.ENONET)
            if network.kind != "physical":
                return self._error(f"cannot set default to non-physical network with netId {net_id}",
                                   errno.EINVAL)
            if ret := self._add_as_default(network):
                return ret
        if self.default_net_id != NETID_UNSET:
            previous = self._physical(self.default_net_id)
            if previous is None:
                return self._error("cannot find previously set default network with netId "
                                   f"{self.default_net_id}", errno.ESRCH)
            if ret := self._remove_as_default(previous):
                return ret
        self.default_net_id = net_id
        return 0

    def network_clear_default(self) -> int:
        return self.network_set_default(NETID_UNSET)

    def _add_as_default(self, network: NetworkState) -> int:
        if network.is_default:
            return 0
        for interface in network.sorted_interfaces():
            try:
                self.routes.modify_default_network(True, interface, network.permission)
            except KernelError as err:
                return self._error(f"failed to add interface {interface} to default netId "
                                   f"{network.net_id}", err.errno)
        network.is_default = True
        return 0

    def _remove_as_default(self, network: NetworkState) -> int:
        if not network.is_default:
            return 0
        for interface in network.sorted_interfaces():
            try:
                self.routes.modify_default_network(False, interface, network.permission)
            except KernelError as err:
                return self._error(f"failed to remove interface {interface} from default netId "
                                   f"{network.net_id}", err.errno)
        network.is_default = False
        return 0

    def network_set_permission(self, net_ids: list[int], permission: int) -> int:
        for net_id in net_ids:
            network = self.networks.get(net_id)
            if network is None:
                return self._error(f"no such netId {net_id}", errno.ENONET)
            if network.kind != "physical":
                return self._error("cannot set permissions on non-physical network with netId "
                                   f"{net_id}", errno.EINVAL)
            if permission == network.permission:
                continue
            try:
                for interface in network.sorted_interfaces():
                    self.routes.modify_physical_network_permission(net_id, interface,
                                                                   network.permission, permission)
                if network.is_default:
                    for interface in network.sorted_interfaces():
                        self.routes.modify_default_network(True, interface, permission)
                        self.routes.modify_default_network(False, interface, network.permission)
            except KernelError as err:
                return -err.errno
            network.permission = permission
        return 0

    def set_permission_for_users(self, uids: list[int], permission: int) -> None:
        for uid in uids:
            self.user_permissions[uid] = permission

    def clear_permission_for_users(self, uids: list[int]) -> None:
        for uid in uids:
            self.user_permissions.pop(uid, None)

    def set_resolver_configuration(self, net_id: int, servers: list[str],
                                   domains: list[str] | None = None) -> int:
        """INetd.setResolverConfiguration / `resolver setnetdns`: per-netId DNS servers."""
        for server in servers:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                return -errno.EINVAL
        network = self.networks.get(net_id)
        if network is None:
            self._orphan_dns[net_id] = (list(servers), list(domains or []))
        else:
            network.dns_servers, network.dns_domains = list(servers), list(domains or [])
        return 0

    def clear_resolver_configuration(self, net_id: int) -> int:
        network = self.networks.get(net_id)
        if network is not None:
            network.dns_servers, network.dns_domains = [], []
        self._orphan_dns.pop(net_id, None)
        return 0

    # -- interface calls (InterfaceController / libnetutils ifc_*) --------------------------------------------
    def interface_list(self) -> list[str]:
        """readdir("/sys/class/net") order, dot entries skipped."""
        return [link.name for link in self.kernel.ordered_links()]

    def interface_get_cfg(self, name: str) -> InterfaceConfig:
        """ifc_get_info + ifc_get_hwaddr: KernelError(ENODEV) for a missing interface up to
        Android 9; 10+'s InterfaceController::getCfg ignores failed ioctls and reads zeros."""
        if name not in self.kernel.links and not self.has_command_listener:
            return InterfaceConfig(name, "00:00:00:00:00:00", "0.0.0.0", 0, ("down",))
        link = self.kernel.link(name)
        primary = link.primary_ipv4()
        flags = link.flags
        words = ["up" if flags & 0x1 else "down"]
        for bit, word in ((0x2, "broadcast"), (IFF_LOOPBACK, "loopback"), (0x10, "point-to-point"),
                          (0x40, "running"), (0x1000, "multicast")):
            if flags & bit:
                words.append(word)
        return InterfaceConfig(name, link.mac, str(primary.ip) if primary else "0.0.0.0",
                               primary.network.prefixlen if primary else 0, tuple(words))

    def interface_clear_address(self, name: str) -> None:
        """ifc_set_addr(name, 0): SIOCSIFADDR 0.0.0.0 deletes the primary address."""
        self.kernel.replace_primary_address(name, None)

    def interface_add_address(self, name: str, address: str, prefix_length: int) -> None:
        """ifc_add_address(): RTM_NEWADDR."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise KernelError(errno.EINVAL, address) from None
        self.kernel.link(name)
        if ip.version == 6:
            raise KernelError(errno.EAFNOSUPPORT, address)
        if not 0 <= prefix_length <= 32:
            raise KernelError(errno.EINVAL, str(prefix_length))
        if int(ip) == 0:
            return
        self.kernel.add_address(name, ipaddress.IPv4Interface((ip, prefix_length)))

    def interface_set_up(self, name: str, up: bool) -> None:
        self.kernel.set_admin(name, up)

    def interface_clear_addrs(self, name: str) -> None:
        """ifc_clear_addresses(): every IPv4 and IPv6 address; a missing link is ignored."""
        if name not in self.kernel.links:
            return
        self.kernel.flush_addresses(name)
        self.kernel.clear_ipv6_addresses(name)

    def interface_set_ipv6(self, name: str, enable: bool) -> None:
        if name not in self.kernel.links:
            raise KernelError(errno.ENOENT, name)   # /proc/sys/net/ipv6/conf/<if>/ missing
        self.kernel.set_ipv6_enabled(name, enable)

    def interface_check_exists(self, name: str) -> None:
        if name not in self.kernel.links:
            raise KernelError(errno.ENOENT, name)

    def interface_set_mtu(self, name: str, mtu: str) -> None:
        if name not in self.kernel.links:
            raise KernelError(errno.ENOENT, name)
        try:
            value = int(mtu, 10)
        except ValueError:
            raise KernelError(errno.EINVAL, mtu) from None
        self.kernel.set_mtu(name, value)

    def interface_set_cfg(self, name: str, address: str, prefix_length: int, flags: list[str]) -> None:
        """INetd.interfaceSetCfg (10+ InterfaceController::setCfg): always clears the IPv4
        address first, applies up/down, then ifc_add_address (EINVAL for an empty address)."""
        self.interface_clear_address(name)
        for flag in flags:
            if flag in ("up", "down"):
                self.kernel.set_admin(name, flag == "up")
        self.interface_add_address(name, address, prefix_length)


def netlink_broadcast(event: KernelEvent) -> str | None:
    """NetlinkHandler: the `6xx` line (if any) netd broadcasts for one kernel notification."""
    if event.kind == "link":
        if event.flags & IFF_LOOPBACK:
            return None
        return f"600 Iface linkstate {event.link} {'up' if event.lower_up else 'down'}"
    if event.kind == "link_added":
        return f"600 Iface added {event.link}"
    if event.kind == "link_removed":
        return f"600 Iface removed {event.link}"
    if event.kind in ("addr_added", "addr_removed"):
        action = "updated" if event.kind == "addr_added" else "removed"
        flags = event.flags if event.flags else IFA_F_PERMANENT
        return f"614 Address {action} {event.address} {event.link} {flags} {event.scope}"
    if event.kind in ("route_added", "route_removed"):
        route = event.route
        if (route is None or route.family != 6 or route.proto not in ("kernel", "ra")
                or route.scope != 0 or route.type != "unicast"):
            return None
        action = "updated" if event.kind == "route_added" else "removed"
        via = f" via {route.gateway}" if route.gateway is not None else ""
        dev = f" dev {route.dev}" if route.dev else ""
        return f"616 Route {action} {route.dst}{via}{dev}"
    return None
