"""IpManager (8.x) / IpClient (9+) with its DhcpClient, one state machine thread each.

States as in IpManager-8.x: Stopped -> (CMD_START) Started -> Running -> (CMD_STOP or lost
provisioning) Stopping -> Stopped. Entering Stopped runs `stopAllIP()`: `interface ipv6 <if>
disable` and `interface clearaddrs <if>`; that includes the Stopped state a new instance starts
in. Addresses are learnt the way IpManager learns them: netd's `614 Address updated|removed`
broadcasts through NetworkManagementService's observers (NetlinkTracker), then a message to
this thread. Provisioned means "has an IPv4 address" (IpManager.isProvisioned); losing it
while Running is LOST_PROVISIONING: `onProvisioningFailure`, then Stopping.

The two-IpManager hazard (android-net.md §2.2, [INF] from IpManager-8.x): `shutdown()` only
queues CMD_STOP; a Running instance reaches Stopped, and runs stopAllIP(), only once its
DhcpClient has quit, `ipmanager_shutdown_ms` later. 8.1's Ethernet service starts the next
IpManager at once, so the old one's stopAllIP() can clear the new one's address after it
provisioned: the new one loses provisioning and the cycle repeats. 9+ waits for the shutdown
(`await_shutdown()`), which closes that hazard.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from harness.sim.android.handler import Blocking, Event, Looper
from harness.sim.android.netobjects import LinkProperties, RouteInfo, StaticIpConfiguration
from harness.sim.android.nms import JavaException, NetworkObserver
from harness.sim.android.world import World

if TYPE_CHECKING:
    from harness.sim.android.system_server import SystemServer

DHCP_FIRST_TIMEOUT_S = 2.0
DHCP_MAX_TIMEOUT_S = 128.0


class IpCallback(Protocol):
    def on_provisioning_success(self, lp: LinkProperties) -> None: ...
    def on_provisioning_failure(self, lp: LinkProperties) -> None: ...
    def on_link_properties_change(self, lp: LinkProperties) -> None: ...


@dataclass(frozen=True)
class ProvisioningConfiguration:
    static: StaticIpConfiguration | None = None
    timeout_ms: int = 0

    def __str__(self) -> str:
        return ("ProvisioningConfiguration{mEnableIPv4: true, mEnableIPv6: true, "
                "mUsingIpReachabilityMonitor: true, mRequestedPreDhcpActionMs: 0, "
                f"mStaticIpConfig: {self.static if self.static else 'null'}, mApfCapabilities: null, "
                f"mProvisioningTimeoutMs: {self.timeout_ms}, mIPv6AddrGenMode: 2}}")


@dataclass
class SharedLog:
    """IpManager's SharedLog (`dumpsys ethernet`)."""
    records: list[tuple[float, str]] = field(default_factory=list)

    def log(self, time: float, text: str) -> None:
        self.records.append((time, text))
        del self.records[:-500]


class IpManager(NetworkObserver):
    def __init__(self, server: "SystemServer", iface: str, callback: IpCallback, *,
                 name: str = "IpManager", process: str = "system_server") -> None:
        self.server = server
        self.system = server.system
        self.nms = server.nms
        self.iface = iface
        self.callback = callback
        self.tag = f"{name}.{iface}"
        server.state_machines += 1          # each instance runs on a thread of its own
        self.looper = Looper(self.system, process, f"{self.tag}#{server.state_machines}",
                             self.system.timing.ipmanager_message_ms)
        self.state = "init"
        self.addresses: list[str] = []                      # NetlinkTracker's view
        self.v6_routes: list[RouteInfo] = []
        self.lp = LinkProperties(interface=iface)
        self.dhcp: StaticIpConfiguration | None = None
        self.tcp_buffer_sizes: str | None = None
        self.config: ProvisioningConfiguration | None = None
        self.shared_log = SharedLog()
        self.stopped = Event()                              # set once the thread has quit
        self._quit_requested = False
        self._dhcp_generation = 0
        self.nms.register_observer(self)
        self.looper.post(self._init, what="SM_INIT")

    # -- API (called from the owner's thread) -------------------------------------------------
    def set_tcp_buffer_sizes(self, sizes: str) -> None:
        self.looper.post_from_other_thread(self._set_tcp, sizes, what="CMD_UPDATE_TCP_BUFFER_SIZES")

    def start_provisioning(self, config: ProvisioningConfiguration) -> None:
        self.looper.post_from_other_thread(self._cmd_start, config, what="CMD_START")

    def shutdown(self) -> None:
        """stop() + quit(): the thread quits once the machine has reached Stopped."""
        self._quit_requested = True
        self.looper.post_from_other_thread(self._cmd_stop, what="CMD_STOP")

    def await_shutdown(self) -> Blocking:
        """9+: block the calling thread until this instance has quit."""
        yield self.stopped

    # -- logging ------------------------------------------------------------------------------
    def _record(self, text: str) -> None:
        self.shared_log.log(self.system.now(), text)

    def _log_error(self, text: str) -> None:
        self.looper.log("E", self.tag, f"ERROR {text}")
        self._record(f"ERROR {text}")

    def _ifindex(self) -> int:
        kernel = self.system.kernel
        link = kernel.links.get(self.iface) if kernel is not None else None
        return link.ifindex if link is not None else -1

    def _record_message(self, what: str, obj: object, state_in: str) -> None:
        self._record(f"{what} {self.iface}/{self._ifindex()} 0 0 {obj} "
                     f"[rcvd_in={state_in}, proc_in={state_in}]")

    # -- NetlinkTracker (NMS observer, runs on NMS's thread) ------------------------------------
    def address_updated(self, iface: str, address: str) -> None:
        if iface == self.iface and address not in self.addresses:
            self.addresses.append(address)
            self.looper.post_from_other_thread(self._netlink_changed, what="EVENT_NETLINK_LINKPROPERTIES_CHANGED")

    def address_removed(self, iface: str, address: str) -> None:
        if iface == self.iface and address in self.addresses:
            self.addresses.remove(address)
            self.looper.post_from_other_thread(self._netlink_changed, what="EVENT_NETLINK_LINKPROPERTIES_CHANGED")

    def route_updated(self, iface: str, destination: str, gateway: str | None) -> None:
        if iface != self.iface:
            return
        route = RouteInfo(ipaddress.ip_network(destination), ipaddress.ip_address(gateway) if gateway else None, iface)
        if route not in self.v6_routes:
            self.v6_routes.append(route)
            self.looper.post_from_other_thread(self._netlink_changed, what="EVENT_NETLINK_LINKPROPERTIES_CHANGED")

    def route_removed(self, iface: str, destination: str, gateway: str | None) -> None:
        if iface != self.iface:
            return
        route = RouteInfo(ipaddress.ip_network(destination), ipaddress.ip_address(gateway) if gateway else None, iface)
        if route in self.v6_routes:
            self.v6_routes.remove(route)
            self.looper.post_from_other_thread(self._netlink_changed, what="EVENT_NETLINK_LINKPROPERTIES_CHANGED")

    # -- LinkProperties -------------------------------------------------------------------------
    def _assemble(self) -> LinkProperties:
        addresses = tuple(ipaddress.ip_interface(a) for a in self.addresses)
        routes = list(self.v6_routes)
        dns: tuple = ()
        domains = None
        if self.dhcp is not None:
            routes += [r for r in self.dhcp.routes(self.iface) if r not in routes]
            has_v4 = any(a.version == 4 for a in addresses)
            # addAllReachableDnsServers(): IPv4 servers need an IPv4 address and a route
            dns = tuple(d for d in self.dhcp.dns if has_v4 and any(d in r.destination for r in routes))
            domains = self.dhcp.domains
        return LinkProperties(self.iface, addresses, tuple(routes), dns, domains, 0,
                              self.tcp_buffer_sizes or None)

    def _set_link_properties(self, new: LinkProperties) -> str:
        was, now = self.lp.has_ipv4_address, new.has_ipv4_address
        self.lp = new
        if was and not now:
            return "LOST_PROVISIONING"
        if not was and now:
            return "GAINED_PROVISIONING"
        return "STILL_PROVISIONED" if now else "STILL_NOT_PROVISIONED"

    def _dispatch(self, delta: str, lp: LinkProperties) -> None:
        if delta == "GAINED_PROVISIONING":
            self.callback.on_provisioning_success(lp)
            self._record(f"INVOKE onProvisioningSuccess({{{lp}}})")
        elif delta == "LOST_PROVISIONING":
            self.callback.on_provisioning_failure(lp)
            self._record(f"INVOKE onProvisioningFailure({{{lp}}})")
        else:
            self.callback.on_link_properties_change(lp)
            self._record(f"INVOKE onLinkPropertiesChange({{{lp}}})")

    def _handle_lp_update(self, send_callbacks: bool) -> bool:
        new = self._assemble()
        if new == self.lp:
            return True
        delta = self._set_link_properties(new)
        if send_callbacks:
            self._dispatch(delta, new)
        return delta != "LOST_PROVISIONING"

    def _reset_link_properties(self) -> None:
        self.addresses.clear()
        self.v6_routes.clear()
        self.config = None
        self.dhcp = None
        self.tcp_buffer_sizes = None
        self.lp = LinkProperties(interface=self.iface)

    # -- state machine (this thread) ---------------------------------------------------------------
    def _init(self) -> Blocking:
        yield self.system.sample("ipmanager_start_ms")      # the thread starts
        yield from self._enter_stopped()

    def _enter_stopped(self) -> Blocking:
        self.state = "stopped"
        yield from self._stop_all_ip()
        self._reset_link_properties()
        if self._quit_requested:
            self._quit()

    def _quit(self) -> None:
        self.state = "quit"
        self.nms.unregister_observer(self)
        self._record("INVOKE onQuit()")
        self.looper.quit()
        self.stopped.set()

    def _stop_all_ip(self) -> Blocking:
        try:
            yield from self.nms.enable_ipv6(self.iface, False)
        except JavaException as err:
            self._log_error(f"Failed to disable IPv6: {err}")
        try:
            yield from self.nms.clear_interface_addresses(self.iface)
        except JavaException as err:
            self._log_error(f"Failed to clear addresses: {err}")

    def _set_tcp(self, sizes: str) -> None:
        self.tcp_buffer_sizes = sizes
        self._handle_lp_update(send_callbacks=self.state == "running")

    def _cmd_start(self, config: ProvisioningConfiguration) -> Blocking:
        self._record_message("CMD_START", config, self._state_name())
        if self.state != "stopped":
            self._log_error("ALERT: START received in StartedState. Please fix caller.")
            return
        self.config = config
        self.state = "started"
        if self._ready_to_proceed():
            yield from self._enter_running()
        else:
            yield from self._stop_all_ip()

    def _ready_to_proceed(self) -> bool:
        return not self.lp.has_ipv4_address

    def _cmd_stop(self) -> Blocking:
        self._record_message("CMD_STOP", "null", self._state_name())
        if self.state == "stopped":
            if self._quit_requested:
                self._quit()
        elif self.state in ("started", "running"):
            yield from self._enter_stopping()

    def _enter_stopping(self) -> Blocking:
        had_dhcp = self.state == "running" and self.config is not None and self.config.static is None
        self._exit_running()
        self.state = "stopping"
        if had_dhcp:     # wait for the DhcpClient to quit (CMD_ON_QUIT)
            self.looper.post(self._dhcp_quit, what="CMD_ON_QUIT", delay=self.system.sample("ipmanager_shutdown_ms"))
        else:
            yield from self._enter_stopped()

    def _dhcp_quit(self) -> Blocking:
        if self.state == "stopping":
            yield from self._enter_stopped()

    def _exit_running(self) -> None:
        if self.state == "running" and self.dhcp_running:
            self.looper.log("D", "DhcpClient", "Receive thread stopped")
        self._dhcp_generation += 1
        if self.state == "running":
            self._reset_link_properties()

    @property
    def dhcp_running(self) -> bool:
        return self.config is not None and self.config.static is None

    def _state_name(self) -> str:
        return {"init": "StoppedState", "stopped": "StoppedState", "started": "StartedState",
                "running": "RunningState", "stopping": "StoppingState", "quit": "QuittingState"}[self.state]

    def _netlink_changed(self) -> Blocking:
        if self.state == "running":
            if not self._handle_lp_update(send_callbacks=True):
                yield from self._enter_stopping()
        elif self.state == "started":
            self._handle_lp_update(send_callbacks=False)
            if self._ready_to_proceed():
                yield from self._enter_running()
        elif self.state in ("stopped", "stopping"):
            self._handle_lp_update(send_callbacks=False)

    def _enter_running(self) -> Blocking:
        self.state = "running"
        try:
            yield from self.nms.set_ipv6_privacy_extensions(self.iface, True)
            yield from self.nms.enable_ipv6(self.iface, True)
        except JavaException as err:
            self._log_error(f"Unable to change interface settings: {err}")
        assert self.config is not None
        if self.config.static is not None:
            if (yield from self._set_ipv4_address(self.config.static.address)):
                self._handle_ipv4_success(self.config.static)
            return
        self._dhcp_generation += 1
        self._dhcp_discover(self._dhcp_generation, DHCP_FIRST_TIMEOUT_S)

    # -- DhcpClient (same thread) -------------------------------------------------------------------
    def _dhcp_discover(self, generation: int, timeout: float) -> None:
        if generation != self._dhcp_generation:
            return
        self.looper.log("D", "DhcpClient", "Broadcasting DHCPDISCOVER")
        kernel = self.system.kernel
        link = kernel.links.get(self.iface) if kernel is not None else None
        lease = World.of(self.system.device).dhcp_offer(link.mac) if link is not None and link.lower_up else None
        total = self.system.sample("dhcp_ms")
        if lease is None or total > timeout:
            self.looper.post(self._dhcp_discover, generation, min(timeout * 2, DHCP_MAX_TIMEOUT_S),
                             what="DHCP_TIMEOUT", delay=timeout)
            return
        offer_at = total * self.system.timing.dhcp_offer_fraction
        config = StaticIpConfiguration(lease.address, lease.gateway, lease.dns)
        self.looper.post(self._dhcp_offer, generation, config, total - offer_at, what="DHCP_OFFER", delay=offer_at)

    def _dhcp_offer(self, generation: int, config: StaticIpConfiguration, ack_after: float) -> None:
        if generation != self._dhcp_generation:
            return
        self.looper.log("D", "DhcpClient", f"Got pending lease: {_dhcp_results(config)}")
        self.looper.log("D", "DhcpClient", f"Broadcasting DHCPREQUEST ciaddr=0.0.0.0 "
                                           f"request={config.address.ip} serverid={config.gateway}")
        self.looper.post(self._dhcp_ack, generation, config, what="DHCP_ACK", delay=ack_after)

    def _dhcp_ack(self, generation: int, config: StaticIpConfiguration) -> Blocking:
        if generation != self._dhcp_generation:
            return
        self.looper.log("D", "DhcpClient", f"Confirmed lease: {_dhcp_results(config)}")
        if (yield from self._set_ipv4_address(config.address)):
            self._handle_ipv4_success(config)
        else:
            self._log_error("Failed to set IPv4 address.")
            self._dispatch("LOST_PROVISIONING", self.lp)
            yield from self._enter_stopping()

    def _set_ipv4_address(self, address: ipaddress.IPv4Interface) -> Blocking:
        try:
            yield from self.nms.set_interface_config(self.iface, str(address.ip), address.network.prefixlen, [])
        except JavaException as err:
            self._log_error(f"IPv4 configuration failed: {err}")
            return False
        return True

    def _handle_ipv4_success(self, config: StaticIpConfiguration) -> None:
        self.dhcp = config
        new = self._assemble()
        delta = self._set_link_properties(new)
        self._record(f"INVOKE onNewDhcpResults({{{_dhcp_results(config)}}})")
        self._dispatch(delta, new)


def _dhcp_results(config: StaticIpConfiguration) -> str:
    """DhcpResults.toString()."""
    return f"{config} DHCP server /{config.gateway} Vendor info null lease 86400 seconds"
