"""system_server of one zygote life: NMS, ConnectivityService, the Ethernet service, app load.

Start-up (times from `sim.boot`, relative to system_server's start):

    nms_connect_ms     NetworkManagementService connects to netd; ConnectivityService and
                       EthernetService are constructed right after
    ethernet_start_ms  PHASE_SYSTEM_SERVICES_READY: the Ethernet service starts tracking eth0
    system_ready_ms    ActivityManager's systemReady: NMS prepares netd (`strict enable`,
                       `firewall enable blacklist`), CS gets EVENT_SYSTEM_READY, apps start and
                       register `app_requests` network callbacks over `app_requests_window_ms`:
                       the start-up backlog on CS's queue

A killed system_server (framework stop, crash) takes every thread with it: nothing it queued
runs any more, but netd and the kernel keep what it programmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sim.android.connectivity import ConnectivityService
from harness.sim.android.ethernet import EthernetService
from harness.sim.android.handler import Blocking, Looper
from harness.sim.android.legacy import LegacyConnectivityService
from harness.sim.android.netobjects import LinkProperties
from harness.sim.android.nms import JavaException, NetworkManagementService
from harness.sim.android.world import World

if TYPE_CHECKING:
    from harness.sim.android.system import AndroidSystem

NDC_RETRY_S = 5.0          # NativeDaemonConnector reconnects every 5 s
FIRST_APP_UID = 10010


class SystemServer:
    def __init__(self, system: "AndroidSystem") -> None:
        self.system = system
        self.alive = True
        self.ready = False
        self.main = Looper(system, "system_server", "main")
        self.nms = NetworkManagementService(system)
        self.state_machines = 0          # IpManager/IpClient instances created so far
        self.cs: ConnectivityService | LegacyConnectivityService | None = None
        self.ethernet: EthernetService | None = None     # 5.0+; KitKat's tracker lives in CS

    # -- start-up -------------------------------------------------------------------------------
    def start(self) -> None:
        boot = self.system.boot_model
        rng = self.system.rng
        self.system.log("system_server", "I", "SystemServer", "Entered the Android system server!",
                        buffer="system")
        self.system.at(boot.nms_connect_ms.sample(rng), self._connect_nms)
        self.system.at(boot.ethernet_start_ms.sample(rng), self._start_ethernet)
        self.system.at(boot.system_ready_ms.sample(rng), self._system_ready)

    def _connect_nms(self) -> None:
        if not self.alive:
            return
        if self.system.netd is None:
            self.system.at(NDC_RETRY_S, self._connect_nms)
            return
        self.nms.connect()
        if self.system.sdk < 21:
            self.cs = LegacyConnectivityService(self)
            return
        self.cs = ConnectivityService(self)
        self.ethernet = EthernetService(self)

    def _start_ethernet(self) -> None:
        if not self.alive or self.system.sdk < 21:
            return
        if self.ethernet is None:               # still waiting for netd
            self.system.at(NDC_RETRY_S, self._start_ethernet)
            return
        self.ethernet.start()

    def _system_ready(self) -> None:
        if not self.alive:
            return
        if self.cs is None:
            self.system.at(NDC_RETRY_S, self._system_ready)
            return
        self.main.post(self._prepare_native_daemon, what="NMS.systemReady")
        if isinstance(self.cs, ConnectivityService):
            self.cs.system_ready()
            self._start_apps()
        self.ready = True
        self.system.system_server_ready()

    def _prepare_native_daemon(self) -> Blocking:
        try:
            yield from self.nms.prepare_native_daemon()
        except JavaException as err:
            self.system.log("system_server", "E", NetworkManagementService.TAG, f"prepareNativeDaemon: {err}",
                            buffer="system")

    def _start_apps(self) -> None:
        boot = self.system.boot_model
        rng = self.system.rng
        window = boot.app_requests_window_ms.sample(rng)
        default_slots = set(rng.sample(range(boot.app_requests), min(boot.app_default_requests, boot.app_requests)))
        for index in range(boot.app_requests):
            kind = "TRACK_DEFAULT" if index in default_slots else "LISTEN"
            uid = FIRST_APP_UID + index
            self.system.at(rng.uniform(0.0, window), self._app_request, kind, uid)

    def _app_request(self, kind: str, uid: int) -> None:
        if self.alive and isinstance(self.cs, ConnectivityService):
            self.cs.register_app_request(kind, uid, self.system.alloc_tid())

    # -- netd coming and going --------------------------------------------------------------------
    def netd_started(self) -> None:
        """netd is back: the connector's next retry connects and NMS prepares it again."""
        if self.nms.connected or not self.alive:
            return
        self.system.at(self.system.rng.uniform(0.0, NDC_RETRY_S), self._reconnect)

    def _reconnect(self) -> None:
        if not self.alive or self.system.netd is None:
            return
        self.nms.connect()
        if self.ready:
            self.main.post(self._prepare_native_daemon, what="prepareNativeDaemon")

    def netd_lost(self) -> None:
        self.nms.disconnected()

    # -- death ---------------------------------------------------------------------------------------
    def kill(self) -> None:
        self.alive = False
        self.main.quit()
        if self.ethernet is not None:
            self.ethernet.kill()
        if self.cs is not None:
            self.cs.kill()
        self.nms.kill()

    # -- what NetworkMonitor's probe finds ------------------------------------------------------------
    def network_usable(self, net_id: int, lp: LinkProperties) -> bool:
        """Whether a validation probe on network `net_id` gets through: netd must have an
        interface in it, the link must be up, and the gateway must answer."""
        netd = self.system.netd
        kernel = self.system.kernel
        if netd is None or kernel is None or not netd.running:
            return False
        network = netd.networks.get(net_id)
        if network is None or not network.interfaces:
            return False
        world = World.of(self.system.device)
        for iface in network.interfaces:
            link = kernel.links.get(iface)
            address = link.primary_ipv4() if link is not None else None
            if link is not None and link.lower_up and address is not None and world.on_bridge(address.ip):
                return any(r.has_gateway for r in lp.routes)
        return False
