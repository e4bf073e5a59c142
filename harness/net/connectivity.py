"""The layered connectivity check: which layer of the Ethernet stack is broken, with evidence.

Layers, bottom up (anchors.md §7.4; android-net.md §2.7 detectors):

  LINK             the interface is administratively up and has carrier (LOWER_UP / RUNNING)
  ADDRESS          it holds an IPv4 address
  NETD_MEMBERSHIP  netd has it in a network: `ip rule` has `oif <if>`/`lookup <if>` rules and
                   `ip route show table <if>` works (`table id value is invalid` = in no network)
  DEFAULT_NETWORK  ConnectivityService has an active default network, and it is this interface's
  DNS              net.dns1 (or the interface's/default network's DNS servers) is set
  REACHABILITY     ping the gateway, then a target from the profile
  NAME_RESOLUTION  ping a host name (`unknown host` = resolution failed)

`check()` runs them in order and returns a `Verdict` that names the first failing layer with the
commands it ran and their output, and lists every layer's result. A layer that does not apply to
a device (e.g. NETD_MEMBERSHIP before Android 5.0) or lacks what it needs (no target given) is
SKIPPED with the reason, never PASSED. `wait_for_network()` repeats the check until it passes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from harness.device import CommandResult, Device
from harness.errors import CommandTimeout, DeviceUnavailable, HarnessError
from harness.logs.buffer import LogcatTimeout
from harness.net import validate
from harness.net.capabilities import DeviceCapabilities, capabilities
from harness.net.commands import InterfaceState, Query, dns_properties, output_of
from harness.net.errors import InvalidNetValue, NetworkTimeout, ToolUnavailable
from harness.parsers.getprop import parse_getprop
from harness.parsers.ping import PingResult, parse_ping

if TYPE_CHECKING:
    from harness.logs.logcat import LogcatService

PING_WAIT_S = 1
PING_TIMEOUT = 10.0
# ConnectivityService lines that mean "the network picture just changed": worth checking again.
NETWORK_EVENT = re.compile(r"ConnectivityService: .*(?:Switching to new default network|EVENT_NETWORK_INFO_CHANGED"
                           r"|Adding iface|validation passed|Setting DNS servers for network)")
_POLL_FIRST_S, _POLL_MAX_S = 0.25, 2.0


class ConnectivityLayer(StrEnum):
    LINK = "link"
    ADDRESS = "address"
    NETD_MEMBERSHIP = "netd-membership"
    DEFAULT_NETWORK = "default-network"
    DNS = "dns"
    REACHABILITY = "reachability"
    NAME_RESOLUTION = "name-resolution"


LAYERS = tuple(ConnectivityLayer)


class LayerStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"        # does not apply here, or nothing to check it with: never a pass
    NOT_RUN = "not-run"        # a lower layer failed and the check stopped there


@dataclass(frozen=True)
class CommandRecord:
    """One command a layer ran, as evidence."""

    command: str
    exit_status: int
    stdout: str
    stderr: str

    @classmethod
    def of(cls, result: CommandResult) -> CommandRecord:
        return cls(result.cmd, result.exit_status, result.stdout, result.stderr)

    def render(self) -> str:
        out = (self.stdout + self.stderr).rstrip("\n")
        return f"$ {self.command}   (exit {self.exit_status})" + ("\n" + out if out else "")


@dataclass(frozen=True)
class LayerResult:
    layer: ConnectivityLayer
    status: LayerStatus
    summary: str
    evidence: tuple[CommandRecord, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status is LayerStatus.PASSED

    @property
    def failed(self) -> bool:
        return self.status is LayerStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {"layer": str(self.layer), "status": str(self.status), "summary": self.summary,
                "evidence": [vars(e) for e in self.evidence]}


@dataclass(frozen=True)
class Verdict:
    serial: str
    interface: str | None
    layers: tuple[LayerResult, ...]

    @property
    def ok(self) -> bool:
        """No layer failed (skipped layers are not failures, and not passes either)."""
        return not any(r.failed for r in self.layers)

    @property
    def first_failure(self) -> LayerResult | None:
        return next((r for r in self.layers if r.failed), None)

    @property
    def failing_layer(self) -> ConnectivityLayer | None:
        failure = self.first_failure
        return failure.layer if failure else None

    def result(self, layer: ConnectivityLayer) -> LayerResult:
        return next(r for r in self.layers if r.layer is layer)

    def status(self, layer: ConnectivityLayer) -> LayerStatus:
        return self.result(layer).status

    def headline(self) -> str:
        failure = self.first_failure
        if failure is None:
            return f"{self.serial}: network OK on {self.interface}"
        return f"{self.serial}: no network on {self.interface}: {failure.layer} failed: {failure.summary}"

    def render(self) -> str:
        lines = [self.headline()]
        lines.extend(f"  {r.layer:<16} {r.status:<8} {r.summary}" for r in self.layers)
        failure = self.first_failure
        if failure is not None and failure.evidence:
            lines.append(f"evidence for {failure.layer}:")
            lines.extend("  " + line for e in failure.evidence for line in e.render().splitlines())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "interface": self.interface, "ok": self.ok,
                "failing_layer": str(self.failing_layer) if self.failing_layer else None,
                "layers": [r.to_dict() for r in self.layers]}


@dataclass(frozen=True)
class ConnectivityTargets:
    """What to reach: the gateway (found from the routes when None), IP targets, a host name."""

    gateway: str | None = None
    hosts: tuple[str, ...] = ()
    hostname: str | None = None

    def __post_init__(self) -> None:
        if self.gateway is not None:
            validate.ipv4_address(self.gateway, "gateway")
        for host in self.hosts:
            validate.hostname_or_ipv4(host)
        if self.hostname is not None:
            validate.hostname_or_ipv4(self.hostname)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ConnectivityTargets:
        """From a profile's `network` keys: gateway, targets (IPv4 addresses to ping), hostname."""
        data = dict(data or {})
        unknown = set(data) - {"gateway", "targets", "hostname"}
        if unknown:
            raise InvalidNetValue(f"unknown connectivity target keys {sorted(unknown)}: "
                                  "expected gateway, targets, hostname")
        hosts = data.get("targets") or ()
        return cls(gateway=data.get("gateway"), hosts=(hosts,) if isinstance(hosts, str) else tuple(hosts),
                   hostname=data.get("hostname"))


class _Probe:
    """One check's view of the device: runs each command once, keeps the evidence."""

    def __init__(self, device: Device, caps: DeviceCapabilities, iface: str) -> None:
        self.device = device
        self.caps = caps
        self.iface = iface
        self.commands = caps.commands
        self._results: dict[str, CommandResult] = {}

    def run(self, command: str, timeout: float) -> CommandResult:
        if command not in self._results:
            self._results[command] = self.device.run(command, timeout=timeout)
        return self._results[command]

    def query(self, query: Query[Any]) -> tuple[Any, CommandRecord]:
        result = self.run(query.command, query.timeout)
        return query.parse(result), CommandRecord.of(result)

    def interface(self) -> tuple[InterfaceState | None, CommandRecord]:
        return self.query(self.commands.interface(self.iface))

    def properties(self) -> tuple[Mapping[str, str], CommandRecord]:
        result = self.run("getprop", 15.0)
        return parse_getprop(result.stdout).properties, CommandRecord.of(result)

    def ping(self, target: str) -> tuple[PingResult, CommandRecord]:
        result = self.run(self.commands.ping(target, wait_s=PING_WAIT_S), PING_TIMEOUT)
        return parse_ping(output_of(result)), CommandRecord.of(result)


def _result(layer: ConnectivityLayer, status: LayerStatus, summary: str,
            *evidence: CommandRecord) -> LayerResult:
    return LayerResult(layer, status, summary, tuple(evidence))


def _link(p: _Probe, targets: ConnectivityTargets) -> LayerResult:
    L = ConnectivityLayer.LINK
    state, record = p.interface()
    if state is None:
        return _result(L, LayerStatus.FAILED, f"{p.iface} does not exist", record)
    if not state.up:
        return _result(L, LayerStatus.FAILED, f"{p.iface} is administratively down", record)
    if state.carrier is False:
        return _result(L, LayerStatus.FAILED, f"{p.iface} is up but has no carrier (no LOWER_UP/RUNNING)", record)
    return _result(L, LayerStatus.PASSED, f"{p.iface} is up with carrier ({state.source})", record)


def _address(p: _Probe, targets: ConnectivityTargets) -> LayerResult:
    L = ConnectivityLayer.ADDRESS
    state, record = p.interface()
    if state is None or not state.has_ipv4:
        return _result(L, LayerStatus.FAILED, f"{p.iface} has no IPv4 address", record)
    return _result(L, LayerStatus.PASSED, f"{p.iface} has {', '.join(str(a) for a in state.ipv4)}", record)


def _netd_membership(p: _Probe, targets: ConnectivityTargets) -> LayerResult:
    L = ConnectivityLayer.NETD_MEMBERSHIP
    if not p.caps.netd_networks:
        return _result(L, LayerStatus.SKIPPED, f"netd keeps per-network rules and tables from Android 5.0; "
                       f"this device runs {p.caps.release} (sdk {p.caps.sdk})")
    try:
        rules_query, table_query = p.commands.rules(), p.commands.table_routes(p.iface)
    except ToolUnavailable as e:
        return _result(L, LayerStatus.SKIPPED, e.message)
    rules, rules_record = p.query(rules_query)
    table, table_record = p.query(table_query)
    if table.table_missing:
        return _result(L, LayerStatus.FAILED, f"{p.iface} is in no netd network: `ip route show table {p.iface}` "
                       f"says {table.errors[0]!r}", rules_record, table_record)
    mine = [r for r in rules.rules if r.oif == p.iface or r.table == p.iface]
    if not mine:
        return _result(L, LayerStatus.FAILED, f"`ip rule` has no `oif {p.iface}` or `lookup {p.iface}` rule: "
                       "netd has not added the interface to any network", rules_record, table_record)
    if table.errors:
        return _result(L, LayerStatus.FAILED, f"`ip route show table {p.iface}` failed: {table.errors[0]}",
                       rules_record, table_record)
    return _result(L, LayerStatus.PASSED, f"{len(mine)} rules for {p.iface}; table {p.iface} has "
                   f"{len(table.routes)} routes", rules_record, table_record)


def _default_network(p: _Probe, targets: ConnectivityTargets) -> LayerResult:
    L = ConnectivityLayer.DEFAULT_NETWORK
    try:
        query = p.commands.connectivity_dump()
    except ToolUnavailable as e:
        return _result(L, LayerStatus.SKIPPED, e.message)
    state, record = p.query(query)
    if state.errors:
        return _result(L, LayerStatus.FAILED, f"`dumpsys connectivity` failed: {state.errors[0]}", record)
    if state.default_network_line is None:
        return _result(L, LayerStatus.SKIPPED, "`dumpsys connectivity` of this version names no default network",
                       record)
    if state.default_net_id is None:
        return _result(L, LayerStatus.FAILED, "ConnectivityService has no active default network", record)
    network = state.default_network
    iface = network.interface if network is not None else None
    if iface != p.iface:
        return _result(L, LayerStatus.FAILED, f"the default network {state.default_net_id} is not {p.iface}'s "
                       f"(its interface: {iface or 'unknown'})", record)
    return _result(L, LayerStatus.PASSED, f"default network {state.default_net_id} on {p.iface}", record)


def _dns(p: _Probe, targets: ConnectivityTargets) -> LayerResult:
    L = ConnectivityLayer.DNS
    props, record = p.properties()
    servers = dns_properties(props, p.iface)
    if servers:
        shown = ", ".join(f"{k}={v}" for k, v in servers.items())
        return _result(L, LayerStatus.PASSED, f"DNS servers set: {shown}")
    evidence = [record]
    if p.caps.has("dumpsys"):
        state, dump_record = p.query(p.commands.connectivity_dump())
        evidence.append(dump_record)
        network = state.default_network
        if network is not None and network.link is not None and network.link.dns_servers:
            return _result(L, LayerStatus.PASSED, f"default network {network.net_id} has DNS servers "
                           + ", ".join(str(d) for d in network.link.dns_servers))
    return _result(L, LayerStatus.FAILED, "no DNS server: net.dns1 is empty and the default network lists none",
                   *evidence)


def _gateway(p: _Probe, targets: ConnectivityTargets) -> str | None:
    """The profile's gateway, else the default route's (table <if>, then main)."""
    if targets.gateway:
        return targets.gateway
    if not p.caps.has("ip"):
        return None
    for table in ((p.iface, "main") if p.caps.netd_networks else ("main",)):
        routes, _ = p.query(p.commands.table_routes(table))
        for route in routes.default_routes:
            if route.gateway is not None and route.gateway.version == 4:
                return str(route.gateway)
    return None


def _reachability(p: _Probe, targets: ConnectivityTargets) -> LayerResult:
    L = ConnectivityLayer.REACHABILITY
    if not p.caps.has("ping"):
        return _result(L, LayerStatus.SKIPPED, "the device has no ping")
    gateway = _gateway(p, targets)
    plan = ([("gateway", gateway)] if gateway else []) + [("target", h) for h in targets.hosts]
    if not plan:
        return _result(L, LayerStatus.SKIPPED, "no gateway found and no ping target in the profile")
    evidence: list[CommandRecord] = []
    for role, host in plan:
        ping, record = p.ping(host)
        evidence.append(record)
        if not ping.reachable:
            return _result(L, LayerStatus.FAILED, f"{role} {host} does not answer: {ping.failure}"
                           + (f" ({ping.errors[0]})" if ping.errors else ""), *evidence)
    return _result(L, LayerStatus.PASSED, "answered: " + ", ".join(h for _, h in plan), *evidence)


def _name_resolution(p: _Probe, targets: ConnectivityTargets) -> LayerResult:
    L = ConnectivityLayer.NAME_RESOLUTION
    if targets.hostname is None:
        return _result(L, LayerStatus.SKIPPED, "no host name to resolve in the profile targets")
    if not p.caps.has("ping"):
        return _result(L, LayerStatus.SKIPPED, "the device has no ping")
    ping, record = p.ping(targets.hostname)
    if ping.address is not None:
        return _result(L, LayerStatus.PASSED, f"{targets.hostname} resolved to {ping.address}", record)
    return _result(L, LayerStatus.FAILED, f"{targets.hostname} did not resolve: {ping.failure}"
                   + (f" ({ping.errors[0]})" if ping.errors else ""), record)


_CHECKS: dict[ConnectivityLayer, Callable[[_Probe, ConnectivityTargets], LayerResult]] = {
    ConnectivityLayer.LINK: _link,
    ConnectivityLayer.ADDRESS: _address,
    ConnectivityLayer.NETD_MEMBERSHIP: _netd_membership,
    ConnectivityLayer.DEFAULT_NETWORK: _default_network,
    ConnectivityLayer.DNS: _dns,
    ConnectivityLayer.REACHABILITY: _reachability,
    ConnectivityLayer.NAME_RESOLUTION: _name_resolution,
}


def check(device: Device, targets: ConnectivityTargets | Mapping[str, Any] | None = None, *,
          interface: str | None = None, layers: Iterable[ConnectivityLayer] = LAYERS,
          stop_at_first_failure: bool = False) -> Verdict:
    """Check the layers in order (all of them by default, even after a failure, so the report
    shows the whole picture); `stop_at_first_failure` marks the rest NOT_RUN instead."""
    targets = targets if isinstance(targets, ConnectivityTargets) else ConnectivityTargets.from_mapping(targets)
    caps = capabilities(device, interface=interface)
    iface = interface or caps.interface
    if iface is None:
        raise ToolUnavailable(f"no Ethernet interface found on {device.serial}: give one (interface=...)",
                              serial=device.serial)
    probe = _Probe(device, caps, validate.interface_name(iface))
    wanted = set(layers)
    results: list[LayerResult] = []
    stopped = False
    for layer in LAYERS:
        if layer not in wanted:
            continue
        if stopped:
            results.append(_result(layer, LayerStatus.NOT_RUN, "not checked: a lower layer failed"))
            continue
        result = _CHECKS[layer](probe, targets)
        results.append(result)
        stopped = stop_at_first_failure and result.failed
    return Verdict(device.serial, iface, tuple(results))


def wait_for_network(device: Device, timeout: float, logcat: LogcatService | None = None, *,
                     targets: ConnectivityTargets | Mapping[str, Any] | None = None,
                     interface: str | None = None,
                     layers: Iterable[ConnectivityLayer] = LAYERS) -> float:
    """Seconds until every checked layer passes; NetworkTimeout (with the last verdict) after `timeout`.

    With a LogcatService the wait sleeps until ConnectivityService logs a network change (then
    confirms with a check), waking at least every couple of seconds in case a line was missed;
    without one it polls with a bounded backoff. A device that is down or rebooting counts as
    "no network yet", not as an error, until the deadline.
    """
    validate.seconds(timeout, "timeout")
    layers = tuple(layers)
    start = time.monotonic()
    deadline = start + timeout
    interval = _POLL_FIRST_S
    verdict: Verdict | None = None
    last_error: HarnessError | None = None
    while True:
        mark = logcat.mark() if logcat is not None else None
        try:
            verdict = check(device, targets, interface=interface, layers=layers, stop_at_first_failure=True)
            last_error = None
            if verdict.ok:
                return time.monotonic() - start
        except (DeviceUnavailable, CommandTimeout) as e:
            last_error = e
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if logcat is not None:
            try:
                logcat.wait_for(NETWORK_EVENT, timeout=min(left, _POLL_MAX_S), since=mark)
            except LogcatTimeout:
                pass                  # no event: check anyway, a line may have been missed
        else:
            time.sleep(min(left, interval))
            interval = min(interval * 2, _POLL_MAX_S)
    reason = verdict.headline() if verdict is not None else "no check completed"
    if last_error is not None:
        reason += f"; last error: {last_error.message}"
    raise NetworkTimeout(f"no network on {device.serial} within {timeout:g}s: {reason}", verdict=verdict,
                         serial=device.serial, command="wait_for_network", elapsed=time.monotonic() - start)
