"""Is a leased device still fit for the next test? (TradeFed's status checkers, plus the network.)

    checker = HealthCheck(device, interface="eth0", shell_timeout=5)
    baseline = checker.baseline()                 # pids of system_server and netd, network snapshot
    report = checker.check(baseline)              # after a test (expect_restart for `restarts` tests)
    report.ok, report.problems                    # what is wrong, one line each

The checks, cheapest first; an unreachable device stops there:
1. online: the adb server lists it as `device`;
2. the shell answers `true` within a short timeout;
3. boot completed, and system_server and netd run with the baseline's pids (unless the test was
   expected to restart the device: its new pids become the baseline);
4. the network is as in the baseline snapshot: interfaces and their state (eth0 up), IPv4
   addresses, policy rules, routes, ConnectivityService's networks and default network (netIds
   named by interface: a network that came back under a new netId is the same). The framework
   may still be settling after a test (a link flap, a restart), so a difference must persist
   for `settle_s` before it counts.

A baseline is plain data (`to_json`/`from_json`): it is kept in the lease directory, so the next
holder of a device whose worker crashed compares it against what it looked like when healthy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.device import Device
from harness.errors import CommandTimeout, DeviceUnavailable, HarnessError
from harness.net import NetworkTimeout, diff, take_snapshot, wait_for_network
from harness.net.connectivity import ConnectivityTargets
from harness.net.snapshot import NetworkSnapshot, SnapshotDiff

WATCHED_PROCESSES = ("system_server", "netd")
# What "left behind" compares. Not IPv6 (the framework toggles link-local addresses), not DNS
# properties (a DHCP renewal rewrites them), not netd's table names (they follow the interfaces).
NETWORK_SECTIONS = ("links", "ipv4_addresses", "rules", "routes", "networks", "default_network")
DEFAULT_SETTLE_S = 8.0
VALIDATION_WAIT_S = 10.0      # a baseline waits this long at most for validated networks
TOYBOX_PS_SDK = 26            # toybox ps (with -A -o) from Android 8.0; the toolbox ps before
_SETTLE_POLL_S = 0.5


class Problem(StrEnum):
    UNREACHABLE = "unreachable"       # not online, shell silent, or not booted
    RESTARTED = "restarted"           # system_server / netd pids changed
    NETWORK = "network"               # the network differs from the baseline


@dataclass(frozen=True)
class StoredSnapshot:
    """A NetworkSnapshot reduced to what `diff()` compares; survives JSON."""
    serial: str
    section_data: Mapping[str, Mapping[str, str]]
    unreadable: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: NetworkSnapshot) -> StoredSnapshot:
        return cls(snapshot.serial, snapshot.sections(ignore_net_ids=True), dict(snapshot.unreadable))

    def sections(self, *, ignore_net_ids: bool = False) -> dict[str, dict[str, str]]:
        return {name: dict(entries) for name, entries in self.section_data.items()}


@dataclass(frozen=True)
class Baseline:
    pids: Mapping[str, int]
    network: StoredSnapshot
    taken_at: float

    def with_pids(self, pids: Mapping[str, int]) -> Baseline:
        return Baseline(dict(pids), self.network, self.taken_at)

    def to_json(self) -> dict[str, Any]:
        return {"pids": dict(self.pids), "taken_at": self.taken_at,
                "network": {"serial": self.network.serial, "sections": self.network.section_data,
                            "unreadable": dict(self.network.unreadable)}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Baseline:
        network = data["network"]
        return cls({str(k): int(v) for k, v in data["pids"].items()},
                   StoredSnapshot(network["serial"], network["sections"], network.get("unreadable", {})),
                   float(data["taken_at"]))


@dataclass(frozen=True)
class HealthReport:
    serial: str
    problems: tuple[tuple[Problem, str], ...] = ()
    pids: Mapping[str, int] = field(default_factory=dict)
    network_diff: SnapshotDiff | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def has(self, kind: Problem) -> bool:
        return any(k == kind for k, _ in self.problems)

    @property
    def reachable(self) -> bool:
        return not self.has(Problem.UNREACHABLE)

    def render(self) -> str:
        if self.ok:
            return f"{self.serial}: healthy"
        return f"{self.serial}: " + "; ".join(text for _, text in self.problems)


class HealthCheck:
    def __init__(self, device: Device, *, interface: str | None = None, shell_timeout: float = 5.0,
                 settle_s: float = DEFAULT_SETTLE_S, targets: ConnectivityTargets | None = None) -> None:
        self.device = device
        self.interface = interface
        self.shell_timeout = shell_timeout
        self.settle_s = settle_s
        self.targets = targets

    # -- baseline -------------------------------------------------------------------------------
    def baseline(self, network_wait_s: float = 30.0) -> Baseline:
        """The device as it is now, once its network is up (or `network_wait_s` passed), its
        networks validated (or VALIDATION_WAIT_S passed) and two snapshots in a row agree."""
        try:
            wait_for_network(self.device, network_wait_s, None, targets=self.targets, interface=self.interface)
        except NetworkTimeout:
            pass                     # a device without a network is still a baseline: its own
        snapshot = self._settled_snapshot()
        _, pids = self._process_state()
        return Baseline(pids, snapshot, time.time())

    def _settled_snapshot(self) -> StoredSnapshot:
        deadline = time.monotonic() + VALIDATION_WAIT_S
        previous = take_snapshot(self.device, interface=self.interface)
        while time.monotonic() < deadline:
            time.sleep(_SETTLE_POLL_S)
            current = take_snapshot(self.device, interface=self.interface)
            if self._validated(current) and StoredSnapshot.of(current) == StoredSnapshot.of(previous):
                break
            previous = current
        return StoredSnapshot.of(previous)

    def _validated(self, snapshot: NetworkSnapshot) -> bool:
        """ConnectivityService has validated the interface's networks (NetworkMonitor's first
        probe takes a couple of seconds after the network connects)."""
        return all(n.validated for n in snapshot.networks.values() if n.interface == self.interface)

    # -- check ----------------------------------------------------------------------------------
    def check(self, baseline: Baseline, *, expect_restart: bool = False) -> HealthReport:
        serial = self.device.serial
        try:
            state = self.device.state(timeout=self.shell_timeout)
            if state != "device":
                return HealthReport(serial, ((Problem.UNREACHABLE, f"adb state is {state}, not device"),))
            self.device.run("true", timeout=self.shell_timeout, check=True)
            booted, pids = self._process_state()
        except (DeviceUnavailable, CommandTimeout) as e:
            return HealthReport(serial, ((Problem.UNREACHABLE, f"the shell does not answer: {e.message}"),))
        except HarnessError as e:
            return HealthReport(serial, ((Problem.UNREACHABLE, f"{type(e).__name__}: {e.message}"),))
        if not booted:
            return HealthReport(serial, ((Problem.UNREACHABLE, "sys.boot_completed is not 1"),), pids)
        problems: list[tuple[Problem, str]] = []
        for name in WATCHED_PROCESSES:
            before, now = baseline.pids.get(name), pids.get(name)
            if now is None and before is not None:
                problems.append((Problem.RESTARTED, f"{name} is not running (was pid {before})"))
            elif before is not None and now != before and not expect_restart:
                problems.append((Problem.RESTARTED, f"{name} restarted (pid {before} -> {now}) though the test "
                                                    "was not expected to restart the device"))
        try:
            changes = self._network_changes(baseline)
        except (DeviceUnavailable, CommandTimeout) as e:
            return HealthReport(serial, ((Problem.UNREACHABLE, f"lost while reading its network: {e.message}"),),
                                pids)
        if not changes.empty:
            problems.append((Problem.NETWORK, "network differs from the baseline: "
                             + "; ".join(line.strip() for line in changes.render().splitlines())))
        return HealthReport(serial, tuple(problems), pids, changes)

    def _network_changes(self, baseline: Baseline) -> SnapshotDiff:
        """The differences that persist for settle_s (a settling framework gets that long), or at
        once when an interface is not as it was: the framework does not bring links back."""
        deadline = time.monotonic() + self.settle_s
        while True:
            now = StoredSnapshot.of(take_snapshot(self.device, interface=self.interface))
            changes = diff(baseline.network, now, ignore_net_ids=True, sections=NETWORK_SECTIONS)  # type: ignore[arg-type]
            if changes.empty or changes.section("links") is not None or time.monotonic() >= deadline:
                return changes
            time.sleep(_SETTLE_POLL_S)

    def _process_state(self) -> tuple[bool, dict[str, int]]:
        """(boot completed, pid of each watched process that runs), from one shell command."""
        ps = "ps -A -o PID,NAME" if self.device.build.sdk >= TOYBOX_PS_SDK else "ps"
        output = self.device.run(f"getprop sys.boot_completed; {ps}", timeout=self.shell_timeout,
                                 check=True).stdout.splitlines()
        booted = bool(output) and output[0].strip() == "1"
        return booted, parse_ps(output[1:], WATCHED_PROCESSES)


def parse_ps(lines: list[str], names: tuple[str, ...]) -> dict[str, int]:
    """pid of each named process in `ps` output: toybox (`PID NAME` columns) or the toolbox
    ps of Android 7 and older (`USER PID PPID VSIZE RSS WCHAN PC NAME`, rows with an extra state
    column): the pid is in the header's PID column, the name is the last column."""
    if not lines:
        return {}
    header = lines[0].split()
    if "PID" not in header:
        return {}
    column = header.index("PID")
    pids: dict[str, int] = {}
    for line in lines[1:]:
        words = line.split()
        if len(words) > column and words[-1] in names and words[column].isdigit():
            pids.setdefault(words[-1], int(words[column]))
    return pids
