"""The harness's fixtures (registered by harness.plugin). Each hands out a harness.dut object.

Session scope (one device under test, the pool's first: device leasing will decide later):
    device_profile    the DeviceProfile of the device (None: a real device given without --profile)
    net               DeviceNet: the probed capabilities (probed as root when the device allows it),
                      NetCommands, the profile's interface, targets and time bounds
    device_facts      what `@pytest.mark.requires` is evaluated against
    logcat_service    one LogcatService for the session (follows restarts)
    signature_registry  the known-regression signatures
    session_start     the device with its network, settled (restarted past a known start-up race)

Function scope (each restores what it changes, even when the test fails):
    logcat            LogcatWindow: the session's log since the test's mark (excerpt, waits, findings)
    snapshot          SnapshotRecorder: network snapshot before the test, `take()`; at the end the
                      network must be as before, or the teardown fails with the differences
                      (eth and restart use it, so it checks what their restores left)
    eth               harness.net.InterfaceControl on the profile's interface, journal restored at teardown
    connectivity      Connectivity: `connectivity()` -> Verdict, `connectivity.wait(timeout)` -> Verdict
    restart           Restarts: `restart("container" | "framework" | "reboot")`; afterwards the network
                      must be back, or the device is restarted again until it is

Every device test also gets, before its other fixtures, its `requires` markers checked (skip with
the reasons) and a logcat mark, and leaves a FailureEvidence for its report (harness.outcome).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import pytest

from harness.dut import (Connectivity, DeviceNet, LogcatWindow, Restarts, SessionStart, SnapshotRecorder,
                         probe_device, restart_kinds, start_session)
from harness.logs.logcat import DEFAULT_BUFFERS, LogcatService
from harness.logs.signatures import load_registry
from harness.markers import DeviceFacts, unmet
from harness.net import InterfaceControl, RestoreFailed
from harness.outcome import EVIDENCE, FailureEvidence
from harness.profiles import DeviceProfile, load_profile

if TYPE_CHECKING:
    from harness.logs.signatures import Registry
    from harness.plugin import DevicePool
    from harness.sim.farm import SimFarm

REQUIREMENTS = pytest.StashKey[dict[str, Any]]()        # parsed `requires`, set at collection
REGISTRY = pytest.StashKey["Registry"]()                # loaded with the device pool
SESSION_NOTES = pytest.StashKey[list[str]]()            # for the terminal summary

CRASH_BUFFER_SDK = 21               # logcat has a crash buffer from Android 5.0
_DEVICE_FIXTURES = ("device", "device_pool")
_OUR_MODULES = ("harness.plugin", __name__)


def uses_harness_devices(item: pytest.Item) -> bool:
    """Whether the test gets its devices from this plugin (not from a fixture of the same name
    that a conftest or test module defines)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in _DEVICE_FIXTURES:
        definitions = info.name2fixturedefs.get(name)
        if definitions and getattr(definitions[-1].func, "__module__", None) in _OUR_MODULES:
            return True
    return False


def evidence_of(item: pytest.Item) -> FailureEvidence:
    return item.stash.setdefault(EVIDENCE, FailureEvidence())


def _farm(pool: DevicePool) -> SimFarm | None:
    return pool.embedded.farm if pool.embedded is not None else None


# -- session ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def device_profile(device_pool: DevicePool) -> DeviceProfile | None:
    """The profile of the device under test (None for a real device given without --profile)."""
    name = device_pool.devices[0].profile
    return load_profile(name) if name else None


@pytest.fixture(scope="session")
def net(device_pool: DevicePool, device_profile: DeviceProfile | None) -> DeviceNet:
    return probe_device(device_pool.devices[0], device_profile)


@pytest.fixture(scope="session")
def device_facts(net: DeviceNet, device_pool: DevicePool) -> DeviceFacts:
    methods, problems = restart_kinds(net, _farm(device_pool))
    return DeviceFacts(net.caps, methods, problems)


@pytest.fixture(scope="session")
def logcat_service(device_pool: DevicePool) -> Iterator[LogcatService]:
    device = device_pool.devices[0]
    buffers = DEFAULT_BUFFERS if device.build.sdk >= CRASH_BUFFER_SDK else ("main", "system")
    service = LogcatService(device, buffers=buffers).start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def signature_registry(pytestconfig: pytest.Config) -> Registry:
    """Loaded with the device pool (a bad signature file stops the run there); else now."""
    if REGISTRY not in pytestconfig.stash:
        pytestconfig.stash[REGISTRY] = load_registry()
    return pytestconfig.stash[REGISTRY]


@pytest.fixture(scope="session")
def session_start(pytestconfig: pytest.Config, net: DeviceNet, device_facts: DeviceFacts, device_pool: DevicePool,
                  logcat_service: LogcatService, signature_registry: Registry,
                  record_testsuite_property: Any) -> SessionStart:
    """The device with its network (harness.dut.start_session); a known regression it came up
    with is noted in the terminal summary and as a JUnit testsuite property."""
    start = start_session(net, device_facts, _farm(device_pool), logcat_service, signature_registry)
    note = start.note(net.device.serial)
    if note is not None:
        pytestconfig.stash.setdefault(SESSION_NOTES, []).append(note)
        record_testsuite_property("session_start", note)
    return start


# -- per test ---------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _android_harness_test(request: pytest.FixtureRequest) -> None:
    """Before a test's own fixtures: skip it when the device lacks what it `requires`; give a
    device test its logcat mark (and with it the evidence for its report)."""
    requirements = request.node.stash.get(REQUIREMENTS, None)
    if requirements:
        reasons = unmet(requirements, request.getfixturevalue("device_facts"))
        if reasons:
            pytest.skip("; ".join(reasons))
    if uses_harness_devices(request.node):
        request.getfixturevalue("logcat")


@pytest.fixture
def logcat(request: pytest.FixtureRequest, logcat_service: LogcatService, signature_registry: Registry,
           device_pool: DevicePool) -> LogcatWindow:
    window = LogcatWindow(logcat_service, signature_registry, device_pool.devices[0].build.release)
    evidence = evidence_of(request.node)
    evidence.android, evidence.registry, evidence.excerpt = window.android, signature_registry, window.excerpt
    return window


@pytest.fixture
def snapshot(request: pytest.FixtureRequest, net: DeviceNet, session_start: SessionStart) -> Iterator[SnapshotRecorder]:
    # session_start: the first snapshot of a session is of a settled device, not one still booting.
    recorder = SnapshotRecorder(net.device, net.interface)
    evidence_of(request.node).snapshot_diff = recorder.diff
    yield recorder
    changes = recorder.restored_diff()          # after eth's and restart's restores: they depend on it
    if not changes.empty:
        raise RestoreFailed(f"the network of {net.device.serial} differs from before the test:\n{changes.render()}",
                            serial=net.device.serial)


@pytest.fixture
def eth(net: DeviceNet, snapshot: SnapshotRecorder) -> Iterator[InterfaceControl]:
    control = InterfaceControl(net.device, net.interface)
    try:
        yield control
    finally:
        control.restore()


@pytest.fixture
def connectivity(request: pytest.FixtureRequest, net: DeviceNet, logcat_service: LogcatService,
                 logcat: LogcatWindow) -> Connectivity:
    evidence = evidence_of(request.node)
    checker = Connectivity(net, logcat_service, logcat, evidence.verdicts)
    evidence.fresh_verdict = checker.check_now
    return checker


@pytest.fixture
def restart(request: pytest.FixtureRequest, net: DeviceNet, device_facts: DeviceFacts, device_pool: DevicePool,
            logcat_service: LogcatService, connectivity: Connectivity,
            snapshot: SnapshotRecorder) -> Iterator[Restarts]:
    restarts = Restarts(net, device_facts, _farm(device_pool), logcat_service, connectivity,
                        evidence_of(request.node).restarts)
    yield restarts
    restarts.restore()
