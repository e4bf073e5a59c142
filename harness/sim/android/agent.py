"""The network-provider side of ConnectivityService: NetworkAgent and NetworkFactory.

Both live on their owner's handler thread (the Ethernet service's). A NetworkAgent registers
over binder (its netId comes back at once, the registration is handled later on CS's queue)
and then talks to CS over an AsyncChannel: until CS's CMD_CHANNEL_FULL_CONNECTION arrives its
messages wait in a pre-connected queue, then they go out in order. When CS disconnects the
channel the agent logs `NetworkAgent channel lost` and calls `unwanted()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from harness.sim.android.handler import Looper
from harness.sim.android.netobjects import LinkProperties, NetworkCapabilities, NetworkInfo, NetworkRequest

if TYPE_CHECKING:
    from harness.sim.android.connectivity import ConnectivityService


class NetworkAgent:
    def __init__(self, looper: Looper, cs: "ConnectivityService", log_tag: str, info: NetworkInfo,
                 nc: NetworkCapabilities, lp: LinkProperties, score: int,
                 unwanted: Callable[["NetworkAgent"], Any]) -> None:
        self.looper = looper
        self.cs = cs
        self.log_tag = log_tag
        self.connected = False
        self.lost = False
        self._queue: list[tuple[str, Any]] = []
        self._unwanted = unwanted
        self.info = info
        self.net_id = cs.register_network_agent(self, info, lp, nc, score, caller_thread=looper.thread)

    def log(self, message: str) -> None:
        self.looper.log("D", self.log_tag, f"NetworkAgent: {message}")

    # -- outgoing -----------------------------------------------------------------------------
    def _send(self, what: str, payload: Any) -> None:
        if self.lost:
            return
        if self.connected:
            self.cs.agent_message(self, what, payload)
        else:
            self._queue.append((what, payload))

    def send_network_info(self, info: NetworkInfo) -> None:
        self._send("EVENT_NETWORK_INFO_CHANGED", info)

    def send_link_properties(self, lp: LinkProperties) -> None:
        self._send("EVENT_NETWORK_PROPERTIES_CHANGED", lp)

    def send_network_capabilities(self, nc: NetworkCapabilities) -> None:
        self._send("EVENT_NETWORK_CAPABILITIES_CHANGED", nc)

    def send_network_score(self, score: int) -> None:
        self._send("EVENT_NETWORK_SCORE_CHANGED", score)

    # -- R's NetworkAgent API: registered CONNECTING, then markConnected()/unregister() ----------
    def mark_connected(self) -> None:
        self.info = self.info.with_state("CONNECTED", None, self.info.extra)
        self.send_network_info(self.info)

    def unregister(self) -> None:
        self.info = self.info.with_state("DISCONNECTED", None, None)
        self.send_network_info(self.info)

    # -- incoming (on the owner's thread) ---------------------------------------------------------
    def on_full_connection(self) -> None:
        if self.connected or self.lost:
            return
        self.connected = True
        queued, self._queue = self._queue, []
        for what, payload in queued:
            self.cs.agent_message(self, what, payload)

    def on_channel_disconnected(self) -> Any:
        """CMD_CHANNEL_DISCONNECTED: CS is done with this agent; `unwanted()` may block."""
        self.log("NetworkAgent channel lost")
        self.lost = True
        self.connected = False
        self._queue.clear()
        return self._unwanted(self)

    def __repr__(self) -> str:
        return f"NetworkAgent(netId={self.net_id})"


class NetworkFactory:
    """android.net.NetworkFactory: asks its owner to start a network for requests it can beat."""

    def __init__(self, looper: Looper, name: str, capability_filter: NetworkCapabilities, score: int,
                 start_network: Callable[[], Any], stop_network: Callable[[], Any]) -> None:
        self.looper = looper
        self.name = name
        self.filter = capability_filter
        self.score = score
        self._start = start_network
        self._stop = stop_network
        self.requests: dict[int, list[Any]] = {}      # id -> [request, score, requested]
        self.ref_count = 0

    def request_network(self, request: NetworkRequest, score: int) -> None:
        """CMD_REQUEST_NETWORK from CS (any thread): handled on the factory's looper."""
        self.looper.post_from_other_thread(self._handle_add_request, request, score,
                                           what="CMD_REQUEST_NETWORK")

    def _handle_add_request(self, request: NetworkRequest, score: int) -> Any:
        entry = self.requests.get(request.request_id)
        if entry is None:
            self.looper.log("D", self.name, f"got request {request} with score {score}")
            entry = [request, score, False]
            self.requests[request.request_id] = entry
        else:
            entry[1] = score
        satisfied = self.filter.satisfies(request.capabilities)
        if not entry[2] and score < self.score and satisfied:
            entry[2] = True
            self.ref_count += 1
            if self.ref_count == 1:
                return self._start()          # may block the owner's thread (a generator)
        elif entry[2] and (score > self.score or not satisfied):
            entry[2] = False
            self.ref_count -= 1
            if self.ref_count == 0:
                return self._stop()
        return None
