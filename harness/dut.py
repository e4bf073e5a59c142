"""The device under test as a test sees it: plain objects the fixtures hand out (harness.fixtures),
usable without pytest too.

    net = probe_device(device, profile)           # DeviceNet: probed tools + the profile's expectations
    window = LogcatWindow(service, registry, net.caps.release)   # the log since a mark, with findings
    recorder = SnapshotRecorder(device, "eth0")   # network before; diff / restored_diff later
    connectivity = Connectivity(net, service, window)
    verdict = connectivity.wait(30)               # layered verdict; ends early on a known regression
    restarts = Restarts(net, facts, farm, service, connectivity)
    restarts("container"); restarts.ensure_network()
    start = start_session(net, facts, farm, service, registry)   # a settled device, past a start-up race
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.container import RestartResult, RestartSettings, restarter_for
from harness.container.framework import FrameworkRestarter
from harness.container.reboot import RebootRestarter
from harness.device import Device
from harness.errors import BadConfiguration, RootUnavailable
from harness.logs.logcat import LogcatService
from harness.logs.sequence import PatternLike
from harness.logs.triage import TriageResult, triage
from harness.markers import RESTART_KINDS, DeviceFacts
from harness.net import (ConnectivityTargets, DeviceCapabilities, NetCommands, NetworkSnapshot, NetworkTimeout,
                         RestoreFailed, SnapshotDiff, Verdict, capabilities, check, diff, take_snapshot,
                         wait_for_network)
from harness.net.connectivity import LAYERS, ConnectivityLayer
from harness.net.snapshot import SECTIONS
from harness.profiles import DeviceProfile

if TYPE_CHECKING:
    from harness.container import Restarter
    from harness.logs.buffer import LogLine
    from harness.logs.signatures import Registry
    from harness.sim.farm import SimFarm

DEFAULT_NETWORK_TIMEOUT = 60.0      # no profile: how long a network may take to come back
WAIT_SLICE_S = 2.0                  # Connectivity.wait looks at the log between checks this often
KNOWN_FAILURE_GRACE_S = 5.0         # a known regression logged and still no network this long after: give up
SNAPSHOT_SETTLE_S = 10.0            # after restores, the framework may still be re-applying its state
RESTORE_RESTARTS = 5                # restarts ensure_network may spend to bring the network back
VALIDATION_WAIT_S = 10.0            # a settled network: ConnectivityService has validated it (or this passed)
# What "restored" compares. Not IPv6 addresses: on 8.x the IpManager stopped by a link flap may
# disable IPv6 after its successor enabled it (AOSP 36fd22b), so a flap can cost eth0 its
# link-local address for good; the suites test IPv4 Ethernet.
RESTORE_SECTIONS = tuple(s for s in SECTIONS if s != "ipv6_addresses")
_METHOD_KIND = {"docker": "container", "podman": "container", "sim": "container",
                "framework": "framework", "reboot": "reboot"}


@dataclass(frozen=True)
class DeviceNet:
    """The device's network tooling (probed) and what its profile expects of its network."""

    device: Device
    caps: DeviceCapabilities
    profile: DeviceProfile | None

    @property
    def commands(self) -> NetCommands:
        return self.caps.commands

    @property
    def interface(self) -> str | None:
        return self.caps.interface

    @property
    def targets(self) -> ConnectivityTargets:
        return self.profile.network.connectivity_targets() if self.profile else ConnectivityTargets()

    @property
    def network_timeout(self) -> float:
        """How long the network may take to come back after a restart."""
        return self.profile.restart.network_timeout_s if self.profile else DEFAULT_NETWORK_TIMEOUT

    @property
    def network_bound(self) -> float:
        """How soon a healthy device has its network: the profile's expectation, else its timeout."""
        expected = self.profile.network.expected_within_s if self.profile else None
        return expected or self.network_timeout

    @property
    def expected_dns(self) -> tuple[str, ...]:
        return tuple(self.profile.network.dns) if self.profile else ()


def probe_device(device: Device, profile: DeviceProfile | None) -> DeviceNet:
    """Root the device when its profile allows (the suites change interfaces and talk to netd),
    then probe its tools; a device that cannot be rooted is probed as it is."""
    if profile is None or profile.has("root"):
        try:
            device.root()
        except RootUnavailable:
            pass
    interface = profile.network.interface if profile else None
    return DeviceNet(device, capabilities(device, interface=interface, refresh=True), profile)


def restart_kinds(net: DeviceNet, farm: SimFarm | None) -> tuple[dict[str, str], dict[str, str]]:
    """(kind -> method, kind -> why not) for the restart kinds container, framework, reboot."""
    profile = net.profile
    methods: dict[str, str] = {}
    problems: dict[str, str] = {}
    if profile is None:
        problems["container"] = "no device profile names its container: give --profile"
    elif profile.restart_method in ("docker", "podman"):
        methods["container"] = profile.restart_method
    elif profile.container is not None:
        methods["container"] = profile.container.runtime
    elif profile.kind == "sim" and farm is not None:
        methods["container"] = "sim"
    elif profile.kind == "sim":
        problems["container"] = "the virtual device's control channel is unknown (device given with --serial)"
    else:
        problems["container"] = f"profile {profile.name} has no container section (runtime, name)"
    if net.caps.root:
        methods["framework"] = "framework"
    else:
        problems["framework"] = "`stop; start` needs root, which the device does not give"
    if profile is None or profile.has("reboot"):
        methods["reboot"] = "reboot"
    else:
        problems["reboot"] = f"profile {profile.name} does not declare the reboot capability"
    return methods, problems


class LogcatWindow:
    """The session's logcat seen from one test: everything since the test's mark by default."""

    def __init__(self, service: LogcatService, registry: Registry, android: str, mark: int | None = None) -> None:
        self.service = service
        self.registry = registry
        self.android = android
        self.mark = service.mark() if mark is None else mark

    def mark_now(self) -> int:
        return self.service.mark()

    def excerpt(self, since: int | None = None) -> list[LogLine]:
        return self.service.excerpt(self.mark if since is None else since)

    def text(self, since: int | None = None) -> str:
        return "".join(line.text + "\n" for line in self.excerpt(since))

    def lines(self, since: int | None = None, **filters: Any) -> list[LogLine]:
        return self.service.lines(self.mark if since is None else since, **filters)

    def wait_for(self, patterns: PatternLike | Iterable[PatternLike], timeout: float, *, in_order: bool = True,
                 since: int | None = None) -> list[LogLine]:
        return self.service.wait_for(patterns, timeout, in_order=in_order, since=self.mark if since is None else since)

    def assert_sequence(self, patterns: Iterable[PatternLike], *, within: float | None = None,
                        since: int | None = None) -> list[LogLine]:
        return self.service.assert_sequence(patterns, within=within, since=self.mark if since is None else since)

    def findings(self, since: int | None = None) -> TriageResult:
        """Known regressions in the excerpt."""
        return triage([line.text for line in self.excerpt(since)], self.registry, android=self.android)


class SnapshotRecorder:
    """The network before the test; `take()` for more; `diff()` against the first."""

    def __init__(self, device: Device, interface: str | None, before: NetworkSnapshot | None = None) -> None:
        self.device = device
        self.interface = interface
        self.taken: list[NetworkSnapshot] = [before] if before is not None else []
        self.before = before if before is not None else self.take()

    def take(self) -> NetworkSnapshot:
        snapshot = take_snapshot(self.device, interface=self.interface)
        self.taken.append(snapshot)
        return snapshot

    def diff(self, after: NetworkSnapshot | None = None, sections: tuple[str, ...] = SECTIONS) -> SnapshotDiff:
        """What changed since before the test (netIds named by their interface: a network that
        came back under a new netId is the same network)."""
        return diff(self.before, after if after is not None else self.take(), ignore_net_ids=True,
                    sections=sections)

    def restored_diff(self, timeout: float = SNAPSHOT_SETTLE_S) -> SnapshotDiff:
        """What is not as before (RESTORE_SECTIONS) once nothing is, or after `timeout`: the
        framework may still be putting its state back after a restore."""
        deadline = time.monotonic() + timeout
        while True:
            changes = self.diff(sections=RESTORE_SECTIONS)
            if changes.empty or time.monotonic() >= deadline:
                return changes
            time.sleep(0.5)


class Connectivity:
    """The layered check for the test's device: `connectivity()` now, `wait()` until it passes.

    `wait()` gives up early when the test's log shows a known regression and the network is
    still not back KNOWN_FAILURE_GRACE_S later: the race it names does not heal by itself.
    """

    def __init__(self, net: DeviceNet, service: LogcatService, window: LogcatWindow,
                 verdicts: list[Verdict] | None = None) -> None:
        self.net = net
        self.service = service
        self.window = window
        self.verdicts = verdicts if verdicts is not None else []    # every verdict handed out, in order
        self.waited_s: float | None = None          # how long the last successful wait took

    def __call__(self, layers: Iterable[ConnectivityLayer] = LAYERS) -> Verdict:
        return self._record(self.check_now(layers))

    def check_now(self, layers: Iterable[ConnectivityLayer] = LAYERS) -> Verdict:
        """A check that is not recorded."""
        return check(self.net.device, self.net.targets, interface=self.net.interface, layers=tuple(layers))

    def wait(self, timeout: float | None = None, *, since: int | None = None,
             layers: Iterable[ConnectivityLayer] = LAYERS) -> Verdict:
        """The verdict once every layer (of `layers`) passes, or the last failing one after
        `timeout` (default: the profile's bound). `since`: the log mark from which a known
        regression ends the wait early (default: the window's mark)."""
        layers = tuple(layers)
        timeout = self.net.network_bound if timeout is None else timeout
        start = time.monotonic()
        deadline = start + timeout
        known_at: float | None = None
        verdict: Verdict | None = None
        while True:
            left = deadline - time.monotonic()
            try:
                wait_for_network(self.net.device, max(0.1, min(WAIT_SLICE_S, left)), self.service,
                                 targets=self.net.targets, interface=self.net.interface, layers=layers)
                # The full verdict, which must confirm it: a network that was up for a moment
                # (e.g. until a late stopAllIP() of an old IpManager) is not back yet.
                verdict = self.check_now(layers)
                if verdict.ok:
                    self.waited_s = time.monotonic() - start
                    return self._record(verdict)
            except NetworkTimeout as e:
                verdict = e.verdict
            now = time.monotonic()
            if now >= deadline:
                break
            if known_at is None and self.window.findings(since).known:
                known_at = now
            if known_at is not None and now - known_at >= KNOWN_FAILURE_GRACE_S:
                break
        return self._record(verdict) if verdict is not None else self(layers)

    def _record(self, verdict: Verdict) -> Verdict:
        self.verdicts.append(verdict)
        return verdict


class Restarts:
    """Restart the device under test by kind; the boot is waited for (and root given back), the
    network is the caller's to check. `restore()` (the fixture's teardown) wants the network
    back after any restart, as far as it worked before the first one: the device is restarted
    again its default way until it is, RESTORE_RESTARTS times at most."""

    def __init__(self, net: DeviceNet, facts: DeviceFacts, farm: SimFarm | None, service: LogcatService,
                 connectivity: Connectivity, results: list[RestartResult] | None = None) -> None:
        self.net = net
        self.facts = facts
        self.farm = farm
        self.service = service
        self.connectivity = connectivity
        self.results = results if results is not None else []        # every restart, in order
        self.last_mark: int | None = None           # the log mark just before the latest restart
        self.before: Verdict | None = None          # the network before the first restart

    @property
    def default_kind(self) -> str:
        method = self.net.profile.restart_method if self.net.profile else None
        kind = _METHOD_KIND.get(method or "", "framework" if self.net.caps.root else "reboot")
        return kind if kind in self.facts.restarts else next(iter(self.facts.restarts), kind)

    def __call__(self, kind: str | None = None) -> RestartResult:
        """Restart ("container", "framework" or "reboot"; default: the profile's method); a restart
        that fails raises its HarnessError. A kind the device cannot do is a BadConfiguration:
        a test declares what it needs with @pytest.mark.requires(restart=...)."""
        kind = kind or self.default_kind
        if kind not in RESTART_KINDS:
            raise ValueError(f"restart kind {kind!r} is invalid: expected one of {', '.join(RESTART_KINDS)}")
        if kind not in self.facts.restarts:
            raise BadConfiguration(f"cannot restart {self.net.device.serial} by {kind}: "
                                   f"{self.facts.restart_problems.get(kind, 'not available')} (declare it with "
                                   f"@pytest.mark.requires(restart={kind!r}) to skip such devices)")
        if self.before is None:
            self.before = self.connectivity.check_now()
        self.last_mark = self.service.mark()
        result = self._restarter(kind).restart(self.net.device, logcat=self.service)
        self.results.append(result)
        result.raise_for_error()
        return result

    def _restarter(self, kind: str) -> Restarter:
        method = self.facts.restarts[kind]
        profile = self.net.profile
        if profile is None:
            settings = RestartSettings(wait_for_network=False, interface=self.net.interface)
            return FrameworkRestarter(settings) if method == "framework" else RebootRestarter(settings)
        settings = dataclasses.replace(RestartSettings.from_profile(profile), wait_for_network=False)
        return restarter_for(profile, method=method, farm=self.farm, settings=settings)

    def restore(self) -> None:
        if not self.results:
            return
        failing = self.before.failing_layer if self.before is not None else None
        # A device whose network was already broken is restarted until it works as far as it did.
        self.ensure_network(layers=LAYERS if failing is None else LAYERS[:LAYERS.index(failing)])

    def ensure_network(self, verdict: Verdict | None = None, attempts: int = RESTORE_RESTARTS,
                       layers: Iterable[ConnectivityLayer] = LAYERS) -> Verdict:
        """The network (its `layers`) back: waited for (unless `verdict` already says it is
        missing), then the device restarted its default way until it is, `attempts` times at most."""
        layers = tuple(layers)
        if verdict is None:
            verdict = self.connectivity.wait(self.net.network_timeout, since=self.last_mark, layers=layers)
        spent = 0
        while not verdict.ok and spent < attempts:
            spent += 1
            self(self.default_kind)
            verdict = self.connectivity.wait(self.net.network_timeout, since=self.last_mark, layers=layers)
        if not verdict.ok:
            raise RestoreFailed(f"{self.net.device.serial} has no network, also after {spent} more restart(s): "
                                f"{verdict.headline()}", serial=self.net.device.serial)
        return verdict


@dataclass(frozen=True)
class SessionStart:
    """The device as the session's tests find it."""

    verdict: Verdict
    snapshot: NetworkSnapshot           # the settled network: what the run must leave behind
    boot_finding: str | None = None     # the known regression the device came up with, when it had no network
    restarts: int = 0                   # restarts spent to get past it

    def note(self, serial: str) -> str | None:
        if self.boot_finding is None:
            return None
        return (f"{serial} had no network at the start of the session ({self.boot_finding}); "
                f"restarted {self.restarts} time(s) before the tests")


def start_session(net: DeviceNet, facts: DeviceFacts, farm: SimFarm | None, service: LogcatService,
                  registry: Registry) -> SessionStart:
    """Wait for the device's network. A device that came up without one and whose log shows a
    known regression (a start-up race) is restarted until it has one, so the tests test what
    they are about; the finding is kept for the report. Then wait (bounded) until
    ConnectivityService has validated the network: a device fresh from boot is still settling."""
    window = LogcatWindow(service, registry, net.caps.release, mark=0)     # everything captured so far
    connectivity = Connectivity(net, service, window)
    verdict = connectivity.wait(net.network_bound)
    finding, restarts = None, 0
    boot = window.findings()
    if not verdict.ok and boot.known and facts.restarts:
        finding = boot.verdicts()[0]
        recovery = Restarts(net, facts, farm, service, connectivity)
        verdict = recovery.ensure_network(verdict)
        restarts = len(recovery.results)
    return SessionStart(verdict, _validated_snapshot(net), finding, restarts)


def _validated_snapshot(net: DeviceNet) -> NetworkSnapshot:
    deadline = time.monotonic() + VALIDATION_WAIT_S
    while True:
        snapshot = take_snapshot(net.device, interface=net.interface)
        pending = [n for n in snapshot.networks.values() if n.interface == net.interface and not n.validated]
        if not pending or time.monotonic() >= deadline:
            return snapshot
        time.sleep(0.5)
