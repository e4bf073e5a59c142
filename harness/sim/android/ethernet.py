"""The Ethernet service: EthernetServiceImpl + EthernetNetworkFactory (android-net.md §2.1-§2.5).

Android 8.1 (`EthernetNetworkFactory81`, from redroid's 8.1 source): one tracked interface,
everything on the "EthernetServiceThread" handler. `onIpLayerStopped()` runs `stopIpManager()`
(old IpManager shut down without waiting, agent sent DISCONNECTED) and then at once
`maybeStartIpManager()`: nothing waits for ConnectivityService to destroy the old network.

`ethernet_fix: true` is the incident note's fix: after stopping, no IpManager starts (neither
after a provisioning loss, nor on link up, nor when startIpManager()'s own stopIpManager() just
disconnected an agent) until every NetworkAgent this factory disconnected has been told by
ConnectivityService that its channel is gone (`NetworkAgent channel lost`). CS queues its own
CMD_CHANNEL_DISCONNECTED, which destroys the old network, at that same moment, so the next
agent's registration always reaches CS's queue after the destroy.

Android 11 (`EthernetTracker11` + `NetworkInterfaceState`): `stop()` waits for the IpClient to
shut down and unregisters the agent; `updateLinkState()` ignores repeated states.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from harness.sim.android.agent import NetworkAgent, NetworkFactory
from harness.sim.android.handler import Blocking, Looper
from harness.sim.android.ipmanager import IpManager, ProvisioningConfiguration
from harness.sim.android.logd import format_log_time
from harness.sim.android.netobjects import (
    TCP_BUFFER_SIZES_ETHERNET, IpConfiguration, LinkProperties, NetworkInfo, StaticIpConfiguration,
    ethernet_capabilities,
)
from harness.sim.android.nms import InterfaceConfiguration, JavaException, NetworkObserver

if TYPE_CHECKING:
    from harness.sim.android.system_server import SystemServer

NETWORK_TYPE = "Ethernet"
NETWORK_SCORE = 70
THREAD = "EthernetServiceThread"
IFACE_REGEX = r"eth\d"


class _IpCallback:
    """IpManager.Callback of one IpManager: every callback is posted to the Ethernet thread."""

    def __init__(self, looper: Looper, started: Any, stopped: Any, changed: Any) -> None:
        self._looper = looper
        self._started, self._stopped, self._changed = started, stopped, changed

    def on_provisioning_success(self, lp: LinkProperties) -> None:
        self._looper.post_from_other_thread(self._started, lp, what="onIpLayerStarted")

    def on_provisioning_failure(self, lp: LinkProperties) -> None:
        self._looper.post_from_other_thread(self._stopped, lp, what="onIpLayerStopped")

    def on_link_properties_change(self, lp: LinkProperties) -> None:
        self._looper.post_from_other_thread(self._changed, lp, what="updateLinkProperties")


class EthernetService:
    """EthernetService + EthernetServiceImpl: logs, stored configuration, the handler thread."""

    def __init__(self, server: "SystemServer") -> None:
        self.server = server
        self.system = server.system
        log = self.system.log
        log("system_server", "I", "EthernetService", "Registering service ethernet")
        log("system_server", "I", "EthernetServiceImpl", "Creating EthernetConfigStore")
        self.ip_config = self._read_config()
        log("system_server", "I", "EthernetServiceImpl", f"Read stored IP configuration: {self.ip_config}")
        self.looper: Looper | None = None
        self.tracker: EthernetNetworkFactory81 | EthernetTracker11 | None = None

    def _read_config(self) -> IpConfiguration:
        net = self.system.profile.network
        if net.ip_mode == "static":
            static = StaticIpConfiguration(ipaddress.IPv4Interface(net.address),
                                           ipaddress.IPv4Address(net.gateway),
                                           tuple(ipaddress.IPv4Address(d) for d in net.dns))
            return IpConfiguration("STATIC", static)
        self.system.log("system_server", "W", "EthernetConfigStore", "No Ethernet configuration found. Using default.")
        return IpConfiguration("DHCP")

    def start(self) -> None:
        """PHASE_SYSTEM_SERVICES_READY: EthernetServiceImpl.start()."""
        self.system.log("system_server", "I", "EthernetServiceImpl", "Starting Ethernet service")
        self.looper = Looper(self.system, "system_server", THREAD, self.system.timing.enf_message_ms)
        if self.system.sdk >= 28:
            self.tracker = EthernetTracker11(self.server, self.looper, self.ip_config)
        else:
            self.tracker = EthernetNetworkFactory81(self.server, self.looper, self.ip_config,
                                                    fix=self.system.profile.sim.ethernet_fix)
        self.tracker.start()

    def kill(self) -> None:
        if self.looper is not None:
            self.looper.quit()
        if self.tracker is not None:
            self.tracker.kill()

    def dump(self) -> str:
        lines = ["Current Ethernet state: "]
        if self.tracker is not None:
            lines += ["  " + line if line else "  " for line in self.tracker.dump_lines()]
        lines.append("")
        lines.append("Stored Ethernet configuration: ")
        lines += ["  " + line for line in str(self.ip_config).split("\n")]
        lines.append("Handler:")
        lines += ["  " + line for line in self._handler_dump()]
        return "\n".join(lines) + "\n"

    def _handler_dump(self) -> list[str]:
        uptime_ms = int(self.system.device.uptime() * 1000)
        if self.looper is None:
            return []
        queued = list(self.looper.queue)
        out = [f"EthernetServiceImplHandler (android.os.Handler) {{{_hash(id(self.looper))}}} @ {uptime_ms}",
               f"EthernetServiceImpl  Looper (EthernetServiceThread, tid 28) {{{_hash(id(self))}}}"]
        for index, message in enumerate(queued):
            out.append(f"EthernetServiceImpl    Message {index}: {{ when=0 callback={message.what} }}")
        out.append(f"EthernetServiceImpl    (Total messages: {len(queued)}, polling={_b(not queued)}, quitting=false)")
        return out


def _hash(value: int) -> str:
    return format((value * 2654435761) & 0xFFFFFFF, "x")


def _b(value: bool) -> str:
    return "true" if value else "false"


# ---------------------------------------------------------------------------------------------
# Android 8.0/8.1
# ---------------------------------------------------------------------------------------------
class EthernetNetworkFactory81(NetworkObserver):
    TAG = "EthernetNetworkFactory"

    def __init__(self, server: "SystemServer", looper: Looper, ip_config: IpConfiguration, *, fix: bool) -> None:
        self.server = server
        self.system = server.system
        self.looper = looper
        self.ip_config = ip_config
        self.fix = fix
        self.caps = ethernet_capabilities(self.system.sdk)
        self.iface = ""
        self.hw_addr: str | None = None
        self.link_up = False
        self.network_requested = False
        self.ip_manager: IpManager | None = None
        self.agent: NetworkAgent | None = None
        self.awaiting_teardown: list[NetworkAgent] = []      # fix only
        self.lp = LinkProperties()
        self.info = NetworkInfo()
        self.factory = NetworkFactory(looper, NETWORK_TYPE, self.caps, NETWORK_SCORE,
                                      self._start_network, self._stop_network)
        self._clear_info()

    def log(self, priority: str, message: str) -> None:
        self.looper.log(priority, self.TAG, message)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.server.cs.register_network_factory(self.factory)
        self.server.nms.register_observer(self)
        self.looper.post(self.track_first_available_interface, what="trackFirstAvailableInterface")

    def kill(self) -> None:
        if self.ip_manager is not None:
            self.ip_manager.looper.quit()

    def _start_network(self) -> Any:
        if not self.network_requested:
            self.network_requested = True
            return self.maybe_start_ip_manager()
        return None

    def _stop_network(self) -> None:
        self.network_requested = False
        self.stop_ip_manager()

    def _clear_info(self) -> None:
        self.lp = LinkProperties()
        self.info = NetworkInfo(extra=self.hw_addr, available=self.tracking)

    @property
    def tracking(self) -> bool:
        return bool(self.iface)

    # -- NMS observer (NMS's thread) ---------------------------------------------------------------
    def interface_link_state_changed(self, iface: str, up: bool) -> None:
        self.looper.post_from_other_thread(self.update_interface_state, iface, up, what="interfaceLinkStateChanged")

    def interface_added(self, iface: str) -> None:
        self.looper.post_from_other_thread(self.maybe_track_interface, iface, what="interfaceAdded")

    def interface_removed(self, iface: str) -> None:
        self.looper.post_from_other_thread(self._interface_removed, iface, what="interfaceRemoved")

    # -- interface tracking (Ethernet thread) ------------------------------------------------------
    def track_first_available_interface(self) -> Blocking:
        nms = self.server.nms
        try:
            ifaces = yield from nms.list_interfaces()
            for iface in ifaces:
                if (yield from self.maybe_track_interface(iface)):
                    config = yield from nms.get_interface_config(iface)
                    if config.has_flag("running"):
                        yield from self.update_interface_state(iface, True)
                    break
        except JavaException as err:
            self.log("E", f"Could not get list of interfaces {err}")

    def maybe_track_interface(self, iface: str) -> Blocking:
        if not re.fullmatch(IFACE_REGEX, iface) or self.tracking:
            return False
        self.log("D", f"Started tracking interface {iface}")
        yield from self._set_interface_up(iface)
        return True

    def _set_interface_up(self, iface: str) -> Blocking:
        nms = self.server.nms
        try:
            yield from nms.set_interface_up(iface)
            config: InterfaceConfiguration = yield from nms.get_interface_config(iface)
            if not self.tracking:
                self._set_interface_info(iface, config.hardware_address)
            else:
                self.log("E", f"Interface unexpectedly changed from {iface} to {self.iface}")
        except JavaException as err:
            self.log("E", f"Error upping interface {self.iface}: {err}")

    def _interface_removed(self, iface: str) -> Blocking:
        if iface != self.iface:
            return
        self.log("D", f"Stopped tracking interface {iface}")
        self._set_interface_info("", None)
        self.stop_ip_manager()
        yield from self.track_first_available_interface()

    def _set_interface_info(self, iface: str, hw_addr: str | None) -> None:
        self.iface, self.hw_addr = iface, hw_addr
        self.info = replace(self.info, extra=hw_addr, available=self.tracking)

    def update_interface_state(self, iface: str, up: bool) -> Blocking:
        if iface != self.iface:
            return
        self.log("D", f"updateInterface: {iface} link {'up' if up else 'down'}")
        self.link_up = up
        if up:
            yield from self.maybe_start_ip_manager()
        else:
            self.stop_ip_manager()

    # -- IP layer ----------------------------------------------------------------------------------
    def stop_ip_manager(self) -> None:
        if self.ip_manager is not None:
            self.ip_manager.shutdown()
            self.ip_manager = None
        self.info = self.info.with_state("DISCONNECTED", None, self.hw_addr)
        if self.agent is not None:
            self._update_agent()
            if self.fix:
                self.awaiting_teardown.append(self.agent)
            self.agent = None
        self._clear_info()

    def _update_agent(self) -> None:
        agent = self.agent
        if agent is None:
            return
        self.log("I", f"Updating mNetworkAgent with: {self.caps}, {self.info}, {self.lp}")
        agent.send_network_capabilities(self.caps)
        agent.send_network_info(self.info)
        agent.send_link_properties(self.lp)
        agent.send_network_score(NETWORK_SCORE if self.link_up else 0)

    def maybe_start_ip_manager(self) -> Blocking:
        if not (self.network_requested and self.ip_manager is None and self.tracking):
            return
        if self.awaiting_teardown:
            ids = ", ".join(str(a.net_id) for a in self.awaiting_teardown)
            self.log("D", f"maybeStartIpManager: waiting for the teardown of network {ids}")
            return
        yield from self.start_ip_manager()

    def start_ip_manager(self) -> Blocking:
        self.log("D", f"starting IpManager({self.iface}): mNetworkInfo={self.info}")
        config = self.ip_config
        if config.assignment == "STATIC" and config.static is not None:
            if not (yield from self._set_static_ip_address(config.static)):
                return
            static = config.static
            lp = LinkProperties(self.iface, (static.address,), static.routes(self.iface), static.dns)
            self.on_ip_layer_started(lp)
            return
        self.info = self.info.with_state("OBTAINING_IPADDR", None, self.hw_addr)
        callback = _IpCallback(self.looper, self.on_ip_layer_started, self.on_ip_layer_stopped,
                               self.update_link_properties)
        self.stop_ip_manager()
        if self.awaiting_teardown:      # fix: that stop just disconnected an agent; wait for it
            self.log("D", "startIpManager: waiting for the teardown of network "
                          f"{self.awaiting_teardown[-1].net_id}")
            return
        self.ip_manager = IpManager(self.server, self.iface, callback)
        self.ip_manager.set_tcp_buffer_sizes(TCP_BUFFER_SIZES_ETHERNET)
        self.ip_manager.start_provisioning(ProvisioningConfiguration())

    def _set_static_ip_address(self, static: StaticIpConfiguration) -> Blocking:
        nms = self.server.nms
        try:
            self.log("I", f"Applying static IPv4 configuration to {self.iface}: {static}")
            config = yield from nms.get_interface_config(self.iface)
            yield from nms.set_interface_config(self.iface, str(static.address.ip),
                                                static.address.network.prefixlen, list(config.flags))
            return True
        except JavaException as err:
            self.log("E", f"Setting static IP address failed: {err.message}")
            return False

    def on_ip_layer_started(self, lp: LinkProperties) -> None:
        if self.agent is not None:
            self.log("E", "Already have a NetworkAgent - aborting new request")
            self.stop_ip_manager()
            return
        self.lp = lp
        self.info = self.info.with_state("CONNECTED", None, self.hw_addr)
        self.agent = NetworkAgent(self.looper, self.server.cs, NETWORK_TYPE, self.info, self.caps,
                                  self.lp, NETWORK_SCORE, self._unwanted)

    def on_ip_layer_stopped(self, lp: LinkProperties) -> Blocking:
        self.stop_ip_manager()
        yield from self.maybe_start_ip_manager()

    def update_link_properties(self, lp: LinkProperties) -> None:
        self.lp = lp
        if self.agent is not None:
            self.agent.send_link_properties(lp)

    def _unwanted(self, agent: NetworkAgent) -> Blocking | None:
        if agent is self.agent:
            self.stop_ip_manager()
        elif self.agent is not None:
            self.log("D", "Ignoring unwanted as we have a more modern instance")
        if agent in self.awaiting_teardown:
            self.awaiting_teardown.remove(agent)
            if not self.awaiting_teardown:
                self.log("D", f"NetworkAgent of network {agent.net_id} torn down")
                return self.maybe_start_ip_manager()
        return None

    # -- dumpsys ethernet ------------------------------------------------------------------------------
    def dump_lines(self) -> list[str]:
        lines = [f"Network Requested: {_b(self.network_requested)}"]
        if self.tracking:
            lines += [f"Tracking interface: {self.iface}", f"  MAC address: {self.hw_addr}",
                      f"  Link state: {'up' if self.link_up else 'down'}"]
        else:
            lines.append("Not tracking any interface")
        lines.append("")
        lines.append(f"NetworkInfo: {self.info}")
        lines.append(f"LinkProperties: {self.lp}")
        agent = f"com.android.server.ethernet.EthernetNetworkFactory$1@{_hash(id(self.agent))}" if self.agent else "null"
        lines.append(f"NetworkAgent: {agent}")
        if self.ip_manager is not None:
            lines.append("IpManager:")
            lines += ["  " + line if line else "  " for line in ip_manager_dump(self.ip_manager)]
        return lines


def ip_manager_dump(ipm: IpManager) -> list[str]:
    """IpManager.dump(): APF, configuration, the StateMachine's SharedLog, packet log."""
    wall = ipm.system.device.scheduler.wall_clock
    lines = [f"{ipm.tag} APF dump:"]
    lines.append("  No active ApfFilter; " + ("IpManager not yet started." if ipm.config is None
                                              else "Hardware does not support APF."))
    lines += ["", f"{ipm.tag} current ProvisioningConfiguration:",
              f"  {ipm.config if ipm.config is not None else 'N/A'}", "",
              f"{ipm.tag} StateMachine dump:"]
    lines += [f"  {format_log_time(wall(t))} - {text}" for t, text in ipm.shared_log.records]
    lines += ["", f"{ipm.tag} connectivity packet log:", "", "Debug with python and scapy via:",
              "shell$ python", ">>> from scapy import all as scapy",
              '>>> scapy.Ether("<paste_hex_string>".decode("hex")).show2()', ""]
    return lines


# ---------------------------------------------------------------------------------------------
# Android 9-12 (modelled for 11): EthernetTracker + NetworkInterfaceState
# ---------------------------------------------------------------------------------------------
class NetworkInterfaceState:
    def __init__(self, tracker: "EthernetTracker11", iface: str, hw_addr: str) -> None:
        self.tracker = tracker
        self.server = tracker.server
        self.looper = tracker.looper
        self.name = iface
        self.hw_addr = hw_addr
        self.link_up = False
        self.ref_count = 0
        self.ip_client: IpManager | None = None
        self.agent: NetworkAgent | None = None
        self.lp = LinkProperties()
        self._starts = 0

    def log(self, priority: str, message: str) -> None:
        self.looper.log(priority, "EthernetNetworkFactory", message)

    def update_link_state(self, up: bool) -> Blocking:
        if self.link_up == up:
            return False
        self.link_up = up
        yield from self.stop()
        if up:
            self.start()
        return True

    def start(self) -> None:
        if self.ip_client is not None:
            self.log("D", "IpClient already started")
            return
        self.log("D", f"Starting Ethernet IpClient({self.name})")
        self._starts += 1
        generation = self._starts
        callback = _IpCallback(self.looper, lambda lp: self.on_ip_layer_started(lp, generation),
                               lambda lp: self.on_ip_layer_stopped(lp, generation),
                               lambda lp: self.update_link_properties(lp, generation))
        self.ip_client = IpManager(self.server, self.name, callback, name="IpClient",
                                   process="com.android.networkstack.process")
        self.ip_client.set_tcp_buffer_sizes(TCP_BUFFER_SIZES_ETHERNET)
        config = self.tracker.ip_config
        static = config.static if config.assignment == "STATIC" else None
        self.ip_client.start_provisioning(ProvisioningConfiguration(static=static))

    def stop(self) -> Blocking:
        if self.ip_client is not None:
            client, self.ip_client = self.ip_client, None
            client.shutdown()
            yield from client.await_shutdown()
        if self.agent is not None:
            self.agent.unregister()
            self.agent = None
        self.lp = LinkProperties()

    def _current(self, generation: int) -> bool:
        """IpClientCallbacksImpl ignores callbacks of a replaced IpClient."""
        return generation == self._starts and self.ip_client is not None

    def on_ip_layer_started(self, lp: LinkProperties, generation: int) -> Blocking | None:
        if not self._current(generation):
            return None
        if self.agent is not None:
            self.log("E", "Already have a NetworkAgent - aborting new request")
            return self.stop()
        self.lp = lp
        info = NetworkInfo(available=True).with_state("CONNECTING", None, self.hw_addr)
        self.agent = NetworkAgent(self.looper, self.server.cs, NETWORK_TYPE, info, self.tracker.caps,
                                  lp, NETWORK_SCORE, self._unwanted)
        self.agent.mark_connected()
        return None

    def on_ip_layer_stopped(self, lp: LinkProperties, generation: int) -> Blocking:
        if not self._current(generation):
            return
        yield from self.stop()
        kernel = self.server.system.kernel
        if kernel is not None and self.name in kernel.links:
            self.start()

    def update_link_properties(self, lp: LinkProperties, generation: int) -> None:
        if not self._current(generation):
            return
        self.lp = lp
        if self.agent is not None:
            self.agent.send_link_properties(lp)

    def _unwanted(self, agent: NetworkAgent) -> Blocking | None:
        if agent is self.agent:
            return self.stop()
        if self.agent is not None:
            self.log("D", "Ignoring unwanted as we have a more modern instance")
        return None

    def dump_line(self) -> str:
        agent = f"android.net.NetworkAgent@{_hash(id(self.agent))}" if self.agent else "null"
        client = f"android.net.ip.IpClientManager@{_hash(id(self.ip_client))}" if self.ip_client else "null"
        info = NetworkInfo(extra=self.hw_addr, available=True)
        if self.agent is not None:
            info = info.with_state("CONNECTED", None, self.hw_addr)
        return (f"{self.name}:NetworkInterfaceState{{ refCount: {self.ref_count}, iface: {self.name}, "
                f"up: {_b(self.link_up)}, hwAddress: {self.hw_addr}, networkInfo: {info}, "
                f"networkAgent: {agent}, ipClient: {client},linkProperties: {self.lp}}}")


class EthernetTracker11(NetworkObserver):
    TAG = "EthernetTracker"

    def __init__(self, server: "SystemServer", looper: Looper, ip_config: IpConfiguration) -> None:
        self.server = server
        self.system = server.system
        self.looper = looper
        self.ip_config = ip_config
        self.caps = ethernet_capabilities(self.system.sdk)
        self.interfaces: dict[str, NetworkInterfaceState] = {}
        self.factory = NetworkFactory(looper, NETWORK_TYPE, self.caps, NETWORK_SCORE,
                                      self._need_network, self._release_network)

    def log(self, priority: str, message: str, tag: str = "EthernetTracker") -> None:
        self.looper.log(priority, tag, message)

    def start(self) -> None:
        self.server.nms.register_observer(self)
        self.server.cs.register_network_factory(self.factory)
        self.looper.post(self._track_available_interfaces, what="trackAvailableInterfaces")

    def kill(self) -> None:
        for state in self.interfaces.values():
            if state.ip_client is not None:
                state.ip_client.looper.quit()

    def _need_network(self) -> None:
        for state in self.interfaces.values():
            state.ref_count += 1
            if state.ref_count == 1 and state.link_up:
                state.start()

    def _release_network(self) -> Blocking:
        for state in self.interfaces.values():
            state.ref_count = max(0, state.ref_count - 1)
            if state.ref_count == 0:
                yield from state.stop()

    # -- NMS observer ------------------------------------------------------------------------------
    def interface_link_state_changed(self, iface: str, up: bool) -> None:
        self.looper.post_from_other_thread(self._link_state_changed, iface, up, what="interfaceLinkStateChanged")

    def interface_added(self, iface: str) -> None:
        self.looper.post_from_other_thread(self._maybe_track_interface, iface, what="interfaceAdded")

    # -- Ethernet thread ---------------------------------------------------------------------------
    def _link_state_changed(self, iface: str, up: bool) -> Blocking:
        self.log("I", f"interfaceLinkStateChanged, iface: {iface}, up: {_b(up)}")
        yield from self._update_interface_state(iface, up)

    def _update_interface_state(self, iface: str, up: bool) -> Blocking:
        state = self.interfaces.get(iface)
        if state is None:
            return
        self.log("D", f"updateInterfaceLinkState, iface: {iface}, up: {_b(up)}", tag="EthernetNetworkFactory")
        yield from state.update_link_state(up)

    def _track_available_interfaces(self) -> Blocking:
        try:
            ifaces = yield from self.server.nms.list_interfaces()
        except JavaException as err:
            self.log("E", f"Could not get list of interfaces {err}")
            return
        for iface in ifaces:
            yield from self._maybe_track_interface(iface)

    def _maybe_track_interface(self, iface: str) -> Blocking:
        self.log("I", f"maybeTrackInterface {iface}")
        if not re.fullmatch(IFACE_REGEX, iface) or iface in self.interfaces:
            return
        nms = self.server.nms
        config: InterfaceConfiguration | None = None
        try:
            yield from nms.set_interface_up(iface)
            config = yield from nms.get_interface_config(iface)
        except JavaException as err:
            self.log("E", f"Error upping interface {iface}: {err}")
        if config is None:
            self.log("E", f"Null interface config for {iface}. Bailing out.")
            return
        self.log("D", f"Started tracking interface {iface}")
        self.log("D", f"addInterface, iface: {iface}, capabilities: {self.caps}", tag="EthernetNetworkFactory")
        state = NetworkInterfaceState(self, iface, config.hardware_address)
        state.ref_count = self.factory.ref_count
        self.interfaces[iface] = state
        if config.has_flag("running"):
            yield from self._update_interface_state(iface, True)

    def dump_lines(self) -> list[str]:
        lines = ["EthernetTracker", f"Ethernet interface name filter: {IFACE_REGEX}", "Listeners: 0",
                 "IP Configurations:"]
        lines += [f"  {name}: {str(self.ip_config).replace(chr(10), ' ').strip()}" for name in self.interfaces]
        lines += ["", "Network Capabilities:"]
        lines += [f"  {name}: {self.caps}" for name in self.interfaces]
        lines += ["", "EthernetNetworkFactory", "Tracking interfaces:"]
        for state in self.interfaces.values():
            lines.append(f"  {state.dump_line()}")
            if state.ip_client is not None:
                lines += ["    " + line if line else "    " for line in ip_manager_dump(state.ip_client)]
            else:
                lines.append("    IpClient is null")
        return lines
