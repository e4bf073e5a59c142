"""Android 4.4: ConnectivityService with NetworkStateTrackers, EthernetDataTracker and dhcpcd.

KitKat has no netd networks (netd has no `network` command) and no NetworkAgents. The
EthernetDataTracker (created by ConnectivityService) finds the interface through NMS, brings it
up and, when the link is up, runs DHCP on a thread: `NetworkUtils.runDhcp()` starts the
`dhcpcd_eth0` service (`ctl.start`), dhcpcd configures the interface itself (address, the
connected route and `default via <gateway>` in table main), and its run-hooks publish
`dhcp.eth0.*`; the tracker then reports CONNECTED to ConnectivityService
(`EVENT_STATE_CHANGED`), which sets the DNS servers (`resolver setifdns`, `resolver
setdefaultif`) and `net.dns1..`. A link going down stops dhcpcd and clears the addresses.
Nothing here can race on netIds: the eth0 EBUSY failure does not exist on 4.4.

Simplification: KK ConnectivityService also re-adds the routes through `interface route add`
in netd; the model keeps the routes dhcpcd installed in main, which are the ones that count.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Callable

from harness.sim.android.handler import Blocking, Looper
from harness.sim.android.kernel import RT_TABLE_MAIN, KernelError, Route
from harness.sim.android.nms import JavaException, NetworkObserver
from harness.sim.android.world import World

if TYPE_CHECKING:
    from harness.sim.android.system_server import SystemServer

TAG = "ConnectivityService"
TRACKER_TAG = "Ethernet"
TYPE_NAME = "ETHERNET"
IFACE_REGEX = r"eth\d"


def kitkat_network_info(detailed: str, state: str, extra: str | None, available: bool) -> str:
    """NetworkInfo.toString() of KitKat."""
    return (f"[type: {TYPE_NAME}[], state: {state}/{detailed}, reason: (unspecified), "
            f"extra: {extra or '(none)'}, roaming: false, failover: false, isAvailable: "
            f"{'true' if available else 'false'}, isConnectedToProvisioningNetwork: false]")


class EthernetDataTracker(NetworkObserver):
    def __init__(self, cs: "LegacyConnectivityService") -> None:
        self.cs = cs
        self.server = cs.server
        self.system = cs.system
        self.looper = Looper(self.system, "system_server", "EthernetDataTracker")
        self.iface = ""
        self.hw_addr: str | None = None
        self.link_up = False
        self.detailed = "IDLE"
        self.state = "UNKNOWN"
        self.available = False
        self.lease: dict[str, str] = {}
        self._dhcp_generation = 0

    def info(self) -> str:
        return kitkat_network_info(self.detailed, self.state, self.hw_addr, self.available)

    def _set_state(self, detailed: str, state: str) -> None:
        self.detailed, self.state = detailed, state

    def start_monitoring(self) -> Blocking:
        nms = self.server.nms
        try:
            for iface in (yield from nms.list_interfaces()):
                if re.fullmatch(IFACE_REGEX, iface):
                    self.iface = iface
                    yield from nms.set_interface_up(iface)
                    config = yield from nms.get_interface_config(iface)
                    self.link_up = config.has_flag("up")
                    self.hw_addr = config.hardware_address
                    self._stop_dhcp()
                    self.reconnect()
                    break
        except JavaException as err:
            self.looper.log("E", TRACKER_TAG, f"Could not get list of interfaces {err}")
        nms.register_observer(self)

    def reconnect(self) -> None:
        if self.link_up:
            self._run_dhcp()

    def disconnect(self) -> Blocking:
        self._stop_dhcp()
        self.available = False
        self._set_state("DISCONNECTED", "DISCONNECTED")
        self.cs.post_state_changed(self.info())
        try:
            yield from self.server.nms.clear_interface_addresses(self.iface)
        except JavaException as err:
            self.looper.log("E", TRACKER_TAG, f"Failed to clear addresses or disable ipv6{err}")

    # -- NMS observer -------------------------------------------------------------------------
    def interface_link_state_changed(self, iface: str, up: bool) -> None:
        if iface == self.iface:
            self.looper.post_from_other_thread(self._link_changed, up, what="interfaceLinkStateChanged")

    def _link_changed(self, up: bool) -> Blocking:
        self.looper.log("D", TRACKER_TAG, f"Interface {self.iface} link {'up' if up else 'down'}")
        self.link_up = up
        self.available = up
        if up:
            self.reconnect()
        else:
            yield from self.disconnect()

    # -- DHCP (NetworkUtils.runDhcp on its own thread; dhcpcd does the work) ---------------------
    def _run_dhcp(self) -> None:
        self._dhcp_generation += 1
        generation = self._dhcp_generation
        self._set_state("OBTAINING_IPADDR", "CONNECTING")
        dhcpcd = Dhcpcd(self.system, self.iface, self.hw_addr or "")
        dhcpcd.start(lambda lease: self.looper.post_from_other_thread(
            self._dhcp_done, generation, lease, what="dhcpThread"))

    def _stop_dhcp(self) -> None:
        """NetworkUtils.stopDhcp() (libnetutils dhcp_stop): `ctl.stop dhcpcd_<if>`, then
        `dhcp.<if>.result=failed`."""
        self._dhcp_generation += 1
        self.system.stop_dhcpcd(self.iface)
        self.system.device.props.set(f"dhcp.{self.iface}.result", "failed")

    def _dhcp_done(self, generation: int, lease: dict[str, str] | None) -> None:
        if generation != self._dhcp_generation:
            return
        if lease is None:
            self.looper.log("E", TRACKER_TAG, "DHCP request error:Timed out waiting for DHCP to finish")
            return
        self.lease = lease
        self.available = True
        self._set_state("CONNECTED", "CONNECTED")
        self.cs.post_state_changed(self.info(), lease)


class Dhcpcd:
    """dhcpcd 5.5.6 as `dhcpcd_<if>` runs it: configure the interface, publish dhcp.<if>.*."""

    def __init__(self, system, iface: str, mac: str) -> None:
        self.system = system
        self.iface = iface
        self.mac = mac

    def log(self, message: str) -> None:
        self.system.log("dhcpcd", "I", "dhcpcd", message)

    def start(self, done: Callable[[dict[str, str] | None], None]) -> None:
        system = self.system
        props = system.device.props
        props.set(f"dhcp.{self.iface}.result", "")
        system.start_dhcpcd(self.iface)
        pid = system.process("dhcpcd").pid
        self.log("version 5.5.6 starting")
        self.log(f"{self.iface}: using ClientID 01:{self.mac}")
        self.log(f"{self.iface}: executing `/system/etc/dhcpcd/dhcpcd-run-hooks', reason PREINIT")
        props.set(f"dhcp.{self.iface}.reason", "PREINIT")        # 95-configured, every reason
        self.log(f"{self.iface}: broadcasting for a lease")
        xid = f"0x{system.rng.getrandbits(32):08x}"
        self.log(f"{self.iface}: sending DISCOVER (xid {xid}), next in {system.rng.uniform(3.0, 5.0):.2f} seconds")
        total = system.sample("dhcpcd_ms")
        system.at(total, self._bound, xid, pid, done)

    def _bound(self, xid: str, pid: int, done: Callable[[dict[str, str] | None], None]) -> None:
        system = self.system
        if system.device.processes.get(pid) is None:
            return                              # this dhcpcd was stopped meanwhile
        kernel = system.kernel
        link = kernel.links.get(self.iface) if kernel is not None else None
        lease = World.of(system.device).dhcp_offer(self.mac) if link is not None and link.lower_up else None
        if lease is None or kernel is None:
            done(None)
            return
        ip, server = lease.address, lease.server
        self.log(f"{self.iface}: offered {ip.ip} from {server}")
        self.log(f"{self.iface}: sending REQUEST (xid {xid}), next in {system.rng.uniform(3.0, 5.0):.2f} seconds")
        self.log(f"{self.iface}: acknowledged {ip.ip} from {server}")
        self.log(f"{self.iface}: leased {ip.ip} for {lease.lease_seconds} seconds")
        self.log(f"{self.iface}: adding IP address {ip}")
        if ip not in link.ipv4:
            kernel.add_address(self.iface, ip)
        self.log(f"{self.iface}: adding route to {ip.network}")
        self.log(f"{self.iface}: adding default route via {lease.gateway}")
        try:
            kernel.add_route(RT_TABLE_MAIN, Route(ipaddress.ip_network("0.0.0.0/0"), dev=self.iface,
                                                  gateway=lease.gateway))
        except KernelError:
            pass                                # docker's default route is already there
        self.log(f"{self.iface}: writing lease `/data/misc/dhcp/dhcpcd-{self.iface}.lease'")
        self.log(f"{self.iface}: executing `/system/etc/dhcpcd/dhcpcd-run-hooks', reason BOUND")
        # The run-hooks in name order: 20-dns.conf clears dns1..4, sets one per server and the
        # domain; 95-configured sets the reason, the lease (mask dotted, as dhcp_utils parses
        # it; empty options stay empty) and finally result=ok, which dhcp_do_request waits for.
        values = {f"dns{slot}": "" for slot in range(1, 5)}
        values.update({f"dns{slot}": str(dns) for slot, dns in enumerate(lease.dns[:4], start=1)})
        values.update({"domain": "", "reason": "BOUND", "ipaddress": str(ip.ip),
                       "gateway": str(lease.gateway), "mask": str(ip.network.netmask),
                       "leasetime": str(lease.lease_seconds), "server": str(server),
                       "vendorInfo": "", "mtu": "", "result": "ok"})
        props = system.device.props
        for key, value in values.items():
            props.set(f"dhcp.{self.iface}.{key}", value)
        done(values)


class LegacyConnectivityService:
    """KitKat ConnectivityService: trackers post EVENT_STATE_CHANGED to its handler."""

    def __init__(self, server: "SystemServer") -> None:
        self.server = server
        self.system = server.system
        self.looper = Looper(self.system, "system_server", "ConnectivityServiceThread",
                             self.system.timing.cs_message_ms)
        self.alive = True
        self.active_type: str | None = None
        self.num_dns_entries = 0
        self.tracker = EthernetDataTracker(self)
        self.log("ConnectivityService starting up", thread="main")
        self.tracker.looper.post(self.tracker.start_monitoring, what="startMonitoring")

    def log(self, message: str, thread: str = "ConnectivityServiceThread") -> None:
        self.system.log("system_server", "D", TAG, message, thread=thread, buffer="system")

    def post_state_changed(self, info: str, lease: dict[str, str] | None = None) -> None:
        self.looper.post_from_other_thread(self._state_changed, info, lease, what="EVENT_STATE_CHANGED")

    def _state_changed(self, info: str, lease: dict[str, str] | None) -> Blocking:
        tracker = self.tracker
        self.log(f"ConnectivityChange for {TYPE_NAME}: {tracker.state}/{tracker.detailed}")
        if tracker.state == "DISCONNECTED":
            if self.active_type == TYPE_NAME:
                self.active_type = None
            return
        if tracker.state != "CONNECTED" or lease is None:
            return
        self.active_type = TYPE_NAME
        dns = [lease[k] for k in ("dns1", "dns2", "dns3", "dns4") if lease.get(k)]
        nms = self.server.nms
        try:
            yield from nms.execute("resolver", "setifdns", tracker.iface, "", *dns)
            yield from nms.execute("resolver", "setdefaultif", tracker.iface)
        except JavaException as err:
            self.system.log("system_server", "E", TAG, f"exception setting default dns interface: {err}",
                            thread="ConnectivityServiceThread", buffer="system")
        props = self.system.device.props
        changed = False
        for slot, server in enumerate(dns, start=1):
            if not changed and props.get(f"net.dns{slot}") == server:
                continue
            self.log(f"adding dns {server} for {TYPE_NAME}")
            props.set(f"net.dns{slot}", server)
            changed = True
        for slot in range(len(dns) + 1, self.num_dns_entries + 1):
            props.set(f"net.dns{slot}", "")
            changed = True
        self.num_dns_entries = len(dns)
        if changed:
            self._bump_dns(props)

    @staticmethod
    def _bump_dns(props) -> None:
        """bumpDns(): net.dnschange counts DNS changes (tells the resolver to reread them)."""
        current = props.get("net.dnschange")
        props.set("net.dnschange", str(int(current) + 1 if current.isdigit() else 1))

    def kill(self) -> None:
        self.alive = False
        self.looper.quit()
        self.tracker.looper.quit()

    def dump(self, wall_clock: Callable[[float], str], short: bool = False) -> str:
        tracker = self.tracker
        lines = [f"NetworkStateTracker for {TYPE_NAME}:", f"  {tracker.info()}", "",
                 f"Active network: {self.active_type or 'none'}", ""]
        return "\n".join(lines) + "\n"
