"""ConnectivityService: NetworkAgent lifecycle on one FIFO handler queue (android-net.md §2.6).

Everything CS does for networks happens on its handler thread, one message at a time, in the
order messages arrive; each message costs `cs_message_ms` plus the netd calls it makes. That
queue is where the eth0 EBUSY race is decided, with no special case anywhere:

8.x (`sdk` 26-28): an agent going DISCONNECTED only triggers `asyncChannel.disconnect()`; the
network is destroyed later, when CMD_CHANNEL_DISCONNECTED (queued after the channel latency,
behind whatever is already waiting) is handled: log `got DISCONNECTED`, rematch, THEN
`network destroy <old>`. If the next agent's EVENT_REGISTER_NETWORK_AGENT is ahead of that
message, its `network interface add <new> eth0` meets eth0 still in the old network: EBUSY.
Then the old network's destroy takes eth0 out of netd entirely, while CS keeps the new network
connected and default.

11 (`sdk` 30, R): `updateNetworkInfo(DISCONNECTED)` calls `disconnectAndDestroyNetwork()` right
away (CS R-dev), so the old network is gone before any later message runs; netd is reached
over binder and failures read `android.os.ServiceSpecificException: ... (code 16)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from harness.sim.android.handler import Blocking, Looper
from harness.sim.android.netobjects import (
    TYPE_ETHERNET, LinkProperties, NetworkCapabilities, NetworkInfo, NetworkRequest, dns_list,
    network_handle,
)
from harness.sim.android.nms import JavaException

if TYPE_CHECKING:
    from harness.sim.android.ethernet import NetworkAgent, NetworkFactory
    from harness.sim.android.system_server import SystemServer

TAG = "ConnectivityService"
THREAD = "ConnectivityServiceThread"
MIN_NET_ID = 100
MAX_NET_ID = 65535
UNVALIDATED_SCORE_PENALTY = 40
DEFAULT_REQUEST_ID = 1
REEVALUATE_INITIAL_S = 1.0
REEVALUATE_MAX_S = 600.0


@dataclass(eq=False)
class RequestInfo:
    request: NetworkRequest
    uid: int
    pid: int

    def __str__(self) -> str:
        return f"uid/pid:{self.uid}/{self.pid} {self.request}"


@dataclass(eq=False)
class NetworkAgentInfo:
    agent: "NetworkAgent"
    net_id: int
    info: NetworkInfo | None
    lp: LinkProperties
    nc: NetworkCapabilities
    score: int
    sdk: int
    created: bool = False
    ever_connected: bool = False
    ever_validated: bool = False
    last_validated: bool = False
    requests: dict[int, NetworkRequest] = field(default_factory=dict)
    monitor: "NetworkMonitor | None" = None

    def current_score(self, pretend_validated: bool = False) -> int:
        score = self.score
        if not self.last_validated and not pretend_validated:
            score -= UNVALIDATED_SCORE_PENALTY
        return max(score, 0)

    def name(self) -> str:
        info = self.info
        type_name = info.type_name if info else "Ethernet"
        subtype = info.subtype_name if info else ""
        return f"NetworkAgentInfo [{type_name} ({subtype}) - {self.net_id}]"

    def short(self) -> str:
        """toShortString() (R+): `[100 ETHERNET]`."""
        return f"[{self.net_id} {'|'.join(self.nc.transports)}]"

    def label(self) -> str:
        """How CS names the network in its logs for this release."""
        return self.short() if self.sdk >= 30 else self.name()

    def __str__(self) -> str:
        partial = " partialConnectivity{false} acceptPartialConnectivity{false}" if self.sdk >= 29 else ""
        return ("NetworkAgentInfo{ ni{" + str(self.info) + "}  "
                f"network{{{self.net_id}}}  nethandle{{{network_handle(self.net_id)}}}  "
                f"lp{{{self.lp}}}  nc{{{self.nc}}}  Score{{{self.current_score()}}}  "
                f"everValidated{{{_b(self.ever_validated)}}}  lastValidated{{{_b(self.last_validated)}}}  "
                f"created{{{_b(self.created)}}} lingering{{false}} explicitlySelected{{false}} "
                f"acceptUnvalidated{{false}} everCaptivePortalDetected{{false}} "
                f"lastCaptivePortalDetected{{false}}{partial} clat{{null}} }}")


def _b(value: bool) -> str:
    return "true" if value else "false"


class NetworkMonitor:
    """Validation of one network: a probe after `validation_ms`, re-evaluated with back-off."""

    def __init__(self, cs: "ConnectivityService", nai: NetworkAgentInfo) -> None:
        self.cs = cs
        self.nai = nai
        self.delay = REEVALUATE_INITIAL_S
        self.running = False

    def connected(self) -> None:
        self.running = True
        self.cs.system.at(self.cs.system.sample("validation_ms"), self._evaluate)

    def disconnected(self) -> None:
        self.running = False

    def _evaluate(self) -> None:
        if not self.running or not self.cs.alive:
            return
        valid = self.cs.server.network_usable(self.nai.net_id, self.nai.lp)
        self.cs.post(self.cs.handle_network_tested, self.nai, valid, what="EVENT_NETWORK_TESTED")
        if not valid:
            self.cs.system.at(self.delay, self._evaluate)
            self.delay = min(self.delay * 2, REEVALUATE_MAX_S)


class ConnectivityService:
    def __init__(self, server: "SystemServer") -> None:
        self.server = server
        self.system = server.system
        self.sdk = server.system.sdk
        self.looper = Looper(self.system, "system_server", THREAD, self.system.timing.cs_message_ms)
        self.alive = True
        self.next_net_id = MIN_NET_ID
        self.net_ids_in_use: set[int] = set()
        self.agents: dict["NetworkAgent", NetworkAgentInfo] = {}       # mNetworkAgentInfos
        self.networks: dict[int, NetworkAgentInfo] = {}                # mNetworkForNetId
        self.requests: list[RequestInfo] = []
        self.satisfier: dict[int, NetworkAgentInfo] = {}
        self.factories: list["NetworkFactory"] = []
        self.legacy_ethernet: list[NetworkAgentInfo] = []
        self.num_dns_entries = 0
        self.next_request_id = DEFAULT_REQUEST_ID
        self.request_logs: list[tuple[float, str]] = []
        self.validation_logs: list[tuple[float, int, str | None, str]] = []
        self._add_request("REQUEST", NetworkCapabilities().with_cap("INTERNET"), 1000, self.system_pid)
        mobile = NetworkCapabilities(transports=("CELLULAR",)).with_cap("INTERNET")
        self._add_request("BACKGROUND_REQUEST", mobile, 1000, self.system_pid)
        self.log("ConnectivityService starting up", thread="main")

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def system_pid(self) -> int:
        return self.system.process("system_server").pid

    def log(self, message: str, thread: str = THREAD) -> None:
        """Slog.d: system_server's framework logs go to the system buffer."""
        self.system.log("system_server", "D", TAG, message, thread=thread, buffer="system")

    def loge(self, message: str, thread: str = THREAD) -> None:
        self.system.log("system_server", "E", TAG, message, thread=thread, buffer="system")

    def post(self, fn: Callable[..., Any], *args: Any, what: str) -> None:
        """A message from another thread to CS's handler."""
        self.looper.post_from_other_thread(fn, *args, what=what)

    def kill(self) -> None:
        self.alive = False
        self.looper.quit()
        for nai in self.agents.values():
            if nai.monitor:
                nai.monitor.disconnected()

    def _add_request(self, kind: str, caps: NetworkCapabilities, uid: int, pid: int) -> RequestInfo:
        info = RequestInfo(NetworkRequest(self.next_request_id, kind, caps), uid, pid)
        self.next_request_id += 1
        self.requests.append(info)
        self.request_logs.append((self.system.now(), f"REGISTER {info}"))
        del self.request_logs[:-100]
        return info

    def default_network(self) -> NetworkAgentInfo | None:
        return self.satisfier.get(DEFAULT_REQUEST_ID)

    def is_default(self, nai: NetworkAgentInfo) -> bool:
        return self.default_network() is nai

    # -- binder entry points (run on the caller's thread) ---------------------------------------
    def register_network_factory(self, factory: "NetworkFactory") -> None:
        self.post(self._handle_register_factory, factory, what="EVENT_REGISTER_NETWORK_FACTORY")

    def register_network_agent(self, agent: "NetworkAgent", info: NetworkInfo, lp: LinkProperties,
                               nc: NetworkCapabilities, score: int, caller_thread: str) -> int:
        """registerNetworkAgent(): reserve a netId now, handle the registration later."""
        net_id = self._reserve_net_id()
        nai = NetworkAgentInfo(agent, net_id, info, lp.ensure_directly_connected_routes(), nc, score, self.sdk)
        nai.monitor = NetworkMonitor(self, nai)
        self.log(f"registerNetworkAgent {nai}", thread=caller_thread)
        self.post(self._handle_register_agent, nai, what="EVENT_REGISTER_NETWORK_AGENT")
        return net_id

    def register_app_request(self, kind: str, uid: int, pid: int) -> None:
        """An app registers a NetworkCallback / request (boot-time load on the CS thread)."""
        caps = NetworkCapabilities().with_cap("INTERNET")
        what = "EVENT_REGISTER_NETWORK_LISTENER" if kind == "LISTEN" else "EVENT_REGISTER_NETWORK_REQUEST"
        self.post(self._handle_register_request, kind, caps, uid, pid, what=what)

    def system_ready(self) -> None:
        self.post(lambda: None, what="EVENT_SYSTEM_READY")

    def agent_message(self, agent: "NetworkAgent", what: str, payload: Any) -> None:
        """A message sent over a NetworkAgent's AsyncChannel."""
        self.post(self._handle_agent_message, agent, what, payload, what=what)

    def _reserve_net_id(self) -> int:
        for _ in range(MIN_NET_ID, MAX_NET_ID + 1):
            net_id = self.next_net_id
            self.next_net_id = MIN_NET_ID if self.next_net_id >= MAX_NET_ID else self.next_net_id + 1
            if net_id not in self.net_ids_in_use:
                self.net_ids_in_use.add(net_id)
                return net_id
        raise RuntimeError("No free netIds")

    # -- handlers (CS thread) -------------------------------------------------------------------
    def _handle_register_factory(self, factory: "NetworkFactory") -> None:
        self.factories.append(factory)
        for info in self.requests:
            if not info.request.is_listen:
                nai = self.satisfier.get(info.request.request_id)
                factory.request_network(info.request, nai.current_score() if nai else 0)

    def _handle_register_request(self, kind: str, caps: NetworkCapabilities, uid: int, pid: int) -> Blocking:
        yield self.system.sample("cs_request_ms")
        info = self._add_request(kind, caps, uid, pid)
        yield from self._rematch_all()
        if not info.request.is_listen and info.request.request_id not in self.satisfier:
            self._send_score_to_factories(info.request, 0)

    def _handle_register_agent(self, nai: NetworkAgentInfo) -> Blocking:
        self.agents[nai.agent] = nai
        self.networks[nai.net_id] = nai
        self._connect_channel(nai)
        info = nai.info
        assert info is not None
        if self.sdk < 30:
            nai.info = None                  # 8.x: the first transition logs `going from null`
        yield from self._update_network_info(nai, info)

    def _handle_agent_message(self, agent: "NetworkAgent", what: str, payload: Any) -> Blocking:
        nai = self.agents.get(agent)
        if nai is None:
            return                           # from an agent CS already forgot: dropped
        if what == "EVENT_NETWORK_INFO_CHANGED":
            yield from self._update_network_info(nai, payload)
        elif what == "EVENT_NETWORK_PROPERTIES_CHANGED":
            old = nai.lp
            nai.lp = payload.ensure_directly_connected_routes() if payload.interface else payload
            if nai.ever_connected:
                yield from self._update_link_properties(nai, old)
        elif what == "EVENT_NETWORK_SCORE_CHANGED":
            old_score = nai.current_score()
            nai.score = max(payload, 0)
            yield from self._rematch_all(nai, old_score)
            for info in self.requests:
                if self.satisfier.get(info.request.request_id) is nai:
                    self._send_score_to_factories(info.request, nai.current_score())
        elif what == "EVENT_NETWORK_CAPABILITIES_CHANGED":
            managed = {"VALIDATED", "FOREGROUND"}
            caps = payload
            for name in managed:
                caps = caps.with_cap(name, nai.nc.has(name))
            nai.nc = caps

    def _connect_channel(self, nai: NetworkAgentInfo) -> None:
        """asyncChannel.connect(): CMD_CHANNEL_HALF_CONNECTED comes back through CS's queue."""
        def half_connected() -> None:
            if nai.agent in self.agents:
                nai.agent.looper.post_from_other_thread(nai.agent.on_full_connection,
                                                         what="CMD_CHANNEL_FULL_CONNECTION")
        self.looper.post(half_connected, what="CMD_CHANNEL_HALF_CONNECTED",
                         delay=self.system.sample("channel_connect_ms"))

    def _disconnect_channel(self, nai: NetworkAgentInfo) -> None:
        """asyncChannel.disconnect(): CMD_CHANNEL_DISCONNECTED to CS's queue and to the agent."""
        delay = self.system.sample("channel_disconnect_ms")
        self.looper.post(self._handle_channel_disconnected, nai.agent,
                         what="CMD_CHANNEL_DISCONNECTED", delay=delay)
        agent = nai.agent
        self.system.at(delay, lambda: agent.looper.post_from_other_thread(
            agent.on_channel_disconnected, what="CMD_CHANNEL_DISCONNECTED"))

    def _handle_channel_disconnected(self, agent: "NetworkAgent") -> Blocking:
        nai = self.agents.get(agent)
        if nai is not None:                 # a no-op once the network is destroyed
            yield from self._disconnect_and_destroy(nai)

    def handle_network_tested(self, nai: NetworkAgentInfo, valid: bool) -> Blocking:
        if self.networks.get(nai.net_id) is not nai:
            return
        result = "passed" if valid else "failed"
        self.log(f"{nai.label()} validation {result}")
        extra = nai.info.extra if nai.info else None
        self.validation_logs.append((self.system.now(), nai.net_id, extra, f"VALIDATION {result.upper()}"))
        del self.validation_logs[:-100]
        if valid == nai.last_validated:
            return
        old_score = nai.current_score()
        nai.last_validated = valid
        nai.ever_validated |= valid
        nai.nc = nai.nc.with_cap("VALIDATED", valid)
        yield from self._rematch_all(nai, old_score)

    # -- updateNetworkInfo / updateLinkProperties -------------------------------------------------
    def _update_network_info(self, nai: NetworkAgentInfo, info: NetworkInfo) -> Blocking:
        old, nai.info = nai.info, info
        state = info.state
        self.log(f"{nai.label()} EVENT_NETWORK_INFO_CHANGED, going from {old.state if old else 'null'} to {state}")
        if not nai.created and state == "CONNECTED":
            nai.nc = nai.nc.with_cap("FOREGROUND")
            try:
                yield from self.server.nms.create_physical_network(nai.net_id)
            except JavaException as err:
                self.loge(f"Error creating network {nai.net_id}: {err.message}")
                return
            nai.created = True
        if not nai.ever_connected and state == "CONNECTED":
            nai.ever_connected = True
            yield from self._update_link_properties(nai, None)
            assert nai.monitor is not None
            nai.monitor.connected()
            yield from self._rematch_network(nai)
        elif state == "DISCONNECTED":
            self._disconnect_channel(nai)
            if self.sdk >= 30:
                yield from self._disconnect_and_destroy(nai)

    def _update_link_properties(self, nai: NetworkAgentInfo, old: LinkProperties | None) -> Blocking:
        new = nai.lp
        yield from self._update_interfaces(new, old, nai.net_id)
        yield from self._update_routes(new, old, nai.net_id)
        yield from self._update_dnses(new, old, nai.net_id)

    def _update_interfaces(self, new: LinkProperties, old: LinkProperties | None, net_id: int) -> Blocking:
        new_ifaces = [new.interface] if new.interface else []
        old_ifaces = [old.interface] if old is not None and old.interface else []
        nms = self.server.nms
        for iface in new_ifaces:
            if iface in old_ifaces:
                continue
            self.log(f"Adding iface {iface} to network {net_id}")
            try:
                yield from nms.add_interface_to_network(iface, net_id)
            except JavaException as err:
                self.loge(f"Exception adding interface: {err}")

    def _update_routes(self, new: LinkProperties, old: LinkProperties | None, net_id: int) -> Blocking:
        old_routes = set(old.routes) if old is not None else set()
        added = [r for r in new.routes if r not in old_routes]
        call = "networkAddRouteParcel" if self.sdk >= 30 else "addRoute"
        for with_gateway in (False, True):
            for route in added:
                if route.has_gateway != with_gateway:
                    continue
                gateway = str(route.gateway) if route.has_gateway else None
                try:
                    yield from self.server.nms.add_route(net_id, route.interface, str(route.destination), gateway)
                except JavaException as err:
                    family = route.gateway.version if with_gateway and route.gateway else route.family
                    if family == 4:
                        kind = "gateway" if with_gateway else "non-gateway"
                        self.loge(f"Exception in {call} for {kind}: {err}")

    def _update_dnses(self, new: LinkProperties, old: LinkProperties | None, net_id: int) -> Blocking:
        if old is not None and new.dns == old.dns:
            return
        self.log(f"Setting DNS servers for network {net_id} to {dns_list(new.dns)}")
        try:
            yield from self.server.nms.set_dns_configuration_for_network(
                net_id, [str(d) for d in new.dns], new.domains)
        except JavaException as err:
            self.loge(f"Exception in setDnsConfigurationForNetwork: {err}")
        default = self.default_network()
        if default is not None and default.net_id == net_id:
            self._set_dns_properties(new.dns)

    def _set_dns_properties(self, servers: Iterable[Any]) -> None:
        """setDefaultDnsSystemProperties(): net.dns1.., unused higher slots set to ""."""
        if self.sdk >= 31:
            return
        props = self.system.device.props
        last = 0
        for server in servers:
            last += 1
            props.set(f"net.dns{last}", str(server))
        for slot in range(last + 1, self.num_dns_entries + 1):
            props.set(f"net.dns{slot}", "")
        self.num_dns_entries = last

    # -- rematch ---------------------------------------------------------------------------------
    def _rematch_all(self, changed: NetworkAgentInfo | None = None, old_score: int = 0) -> Blocking:
        if changed is not None and old_score < changed.current_score():
            yield from self._rematch_network(changed)
            return
        ordered = sorted(self.agents.values(), key=lambda n: -n.current_score())
        for nai in ordered:
            yield from self._rematch_network(nai)

    def _rematch_network(self, new: NetworkAgentInfo) -> Blocking:
        """rematchNetworkAndRequests(): give `new` every request it serves better."""
        if not new.ever_connected or self.agents.get(new.agent) is not new:
            return
        new_default, old_default = False, None
        score = new.current_score()
        for info in self.requests:
            request = info.request
            if request.is_listen:
                continue
            current = self.satisfier.get(request.request_id)
            satisfies = new.nc.satisfies(request.capabilities)
            if current is new:
                if not satisfies:
                    del self.satisfier[request.request_id]
                    new.requests.pop(request.request_id, None)
                continue
            if satisfies and (current is None or current.current_score() < score):
                if current is not None:
                    current.requests.pop(request.request_id, None)
                self.satisfier[request.request_id] = new
                new.requests[request.request_id] = request
                self._send_score_to_factories(request, score)
                if request.request_id == DEFAULT_REQUEST_ID:
                    new_default, old_default = True, current
        if new_default:
            yield from self._make_default(new)
            if old_default is not None:
                self._legacy_remove(old_default, was_default=True)
            self._legacy_add(new)

    def _make_default(self, nai: NetworkAgentInfo) -> Blocking:
        self.log(f"Switching to new default network: {nai}")
        try:
            yield from self.server.nms.set_default_net_id(nai.net_id)
        except JavaException as err:
            self.loge(f"Exception setting default network :{err}")
        self._set_dns_properties(nai.lp.dns)

    def _send_score_to_factories(self, request: NetworkRequest, score: int) -> None:
        for factory in self.factories:
            factory.request_network(request, score)

    # -- LegacyTypeTracker (TYPE_ETHERNET only) --------------------------------------------------------
    def _legacy_add(self, nai: NetworkAgentInfo) -> None:
        if nai in self.legacy_ethernet:
            return
        self.legacy_ethernet.append(nai)
        is_default = self.is_default(nai)
        if len(self.legacy_ethernet) == 1 or is_default:
            self._log_broadcast(nai, "CONNECTED", is_default)

    def _legacy_remove(self, nai: NetworkAgentInfo, was_default: bool) -> None:
        if nai not in self.legacy_ethernet:
            return
        was_first = self.legacy_ethernet[0] is nai
        self.legacy_ethernet.remove(nai)
        if was_first or was_default:
            self._log_broadcast(nai, "DISCONNECTED", was_default)

    def _log_broadcast(self, nai: NetworkAgentInfo, state: str, is_default: bool) -> None:
        self.log(f"Sending {state} broadcast for type {TYPE_ETHERNET} {nai.label()} "
                 f"isDefaultNetwork={_b(is_default)}")

    # -- teardown ---------------------------------------------------------------------------------------
    def _disconnect_and_destroy(self, nai: NetworkAgentInfo) -> Blocking:
        """handleAsyncChannelDisconnected (8.x) / disconnectAndDestroyNetwork (R)."""
        count = len(nai.requests)
        if self.sdk >= 30:
            self.log(f"{nai.short()} disconnected, was satisfying {count}")
        else:
            self.log(f"{nai.name()} got DISCONNECTED, was satisfying {count}")
        was_default = self.is_default(nai)
        if nai.monitor:
            nai.monitor.disconnected()
        self.agents.pop(nai.agent, None)
        self.networks.pop(nai.net_id, None)
        for request_id in list(nai.requests):
            if self.satisfier.get(request_id) is nai:
                del self.satisfier[request_id]
                request = nai.requests[request_id]
                self._send_score_to_factories(request, 0)
        nai.requests.clear()
        self._legacy_remove(nai, was_default)
        yield from self._rematch_all()
        if nai.created:
            try:
                yield from self.server.nms.remove_network(nai.net_id)
            except JavaException as err:
                self.loge(f"Exception {'destroying' if self.sdk >= 30 else 'removing'} network: {err}")
        self.net_ids_in_use.discard(nai.net_id)

    # -- dumpsys connectivity -----------------------------------------------------------------------------
    def dump(self, wall_clock: Callable[[float], str], short: bool = False) -> str:
        """ConnectivityService.dump() (O shape; R keeps the same sections)."""
        out: list[str] = []
        out.append("NetworkFactories for:" + "".join(f" {f.name}" for f in self.factories))
        out.append("")
        default = self.default_network()
        out.append(f"Active default network: {default.net_id if default else 'none'}")
        out.append("")
        out.append("Current Networks:")
        for nai in self.agents.values():
            out.append(f"  {nai}")
            requests = list(nai.requests.values())
            foreground = sum(r.type in ("REQUEST", "TRACK_DEFAULT") for r in requests)
            background = sum(r.type == "BACKGROUND_REQUEST" for r in requests)
            out.append(f"    Requests: REQUEST:{foreground} LISTEN:0 "
                       f"BACKGROUND_REQUEST:{background} total:{len(requests)}")
            out += [f"      {request}" for request in requests]
            out.append("    Lingered:")
        out.append("")
        out.append("Network Requests:")
        out += [f"  {info}" for info in self.requests]
        out.append("")
        out.append("mLegacyTypeTracker:")
        out.append("  Supported types: 0 1 2 3 4 5 9 10 11 12 14 15")
        out.append("  Current state:")
        for nai in self.legacy_ethernet:
            state = f"{nai.info.state}/{nai.info.detailed_state}" if nai.info else "???/???"
            out.append(f"    {TYPE_ETHERNET} {nai.name()} {state}")
        out += ["", "", "Tethering:", "  Tethering state:", "", "Packet keepalives:", "",
                "Bad Wi-Fi avoidance: unrestricted", ""]
        if short:
            return "\n".join(out) + "\n"
        out.append("mValidationLogs (most recent first):")
        for nai_name, entries in self._validation_by_network():
            out.append(nai_name)
            out += [f"  {wall_clock(when)} - {text}" for when, text in reversed(entries)]
        out.append("")
        out.append("mNetworkRequestInfoLogs (most recent first):")
        out += [f"  {wall_clock(when)} - {text}" for when, text in reversed(self.request_logs)]
        out += ["", "mNetworkInfoBlockingLogs (most recent first):", "",
                "NetTransition WakeLock activity (most recent first):",
                "  total acquisitions: 0", "  total releases: 0", "  cumulative duration: 0.00s",
                "  longest duration: 0.00s"]
        return "\n".join(out) + "\n"

    def _validation_by_network(self) -> list[tuple[str, list[tuple[float, str]]]]:
        grouped: dict[str, list[tuple[float, str]]] = {}
        for when, net_id, extra, text in self.validation_logs:
            grouped.setdefault(f"{net_id} - {extra}", []).append((when, text))
        return list(reversed(grouped.items()))
