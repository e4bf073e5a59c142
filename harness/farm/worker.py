"""A test process's side of the farm: its lease, and the device's health between tests.

Registered as a pytest plugin by `harness.farm.register_worker()` when the process leases from a
farm (an xdist worker of a farm run, at configure time; a single process with --farm). It

- leases one unit (one device, or a declared group) and holds it for the session: the session's
  fixtures (logcat, probed capabilities) stay valid; a unit whose previous holder died, or that
  another run quarantined, is health-checked (and recovered) before its first test;
- after every test that used a device: the health check against the device's baseline
  (harness.farm.health); on a problem, stepwise recovery (harness.farm.recovery) within the
  farm's budget; a device that does not recover is quarantined and the process leases another
  unit, rebuilding the session's device fixtures for it; with none left it stops taking tests
  (the xdist controller shuts it down, so its tests go to workers that have a device);
- a test that changed what it should have restored (network, framework pids) gets a teardown
  error saying what, and the device is repaired for the next test;
- a test failing with an infrastructure-class error (device-lost, timeout, infrastructure) gets
  the device's fault evidence (the virtual device's fault events) in its report, and is retried
  once, on another device when one is free, when marked `@pytest.mark.retry_on_infra`: the first
  attempt stays in the reports (RERUN in the terminal, a retry in Allure, user property
  `retried_after` in JUnit);
- writes every lease, release, state change, test, health problem and recovery to the lease log.

The xdist controller uses the same class, unregistered, to repair a crashed worker's devices
(`repair()`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.runner import runtestprotocol

from harness.container import RestartSettings, restarter_for
from harness.container.docker import DockerRestarter
from harness.container.podman import PodmanRestarter
from harness.device import Device
from harness.errors import FailureClass, HarnessError
from harness.farm.health import Baseline, HealthCheck, HealthReport, Problem
from harness.farm.inventory import FarmDevice, Inventory
from harness.farm.lease import QUARANTINED, Lease, LeaseLog, LeasePool, NoDeviceAvailable, state_path, write_json
from harness.farm.recovery import Recovery, RecoveryResult
from harness.farm.run import RunFiles
from harness.farm.spec import DEFAULT_RECOVERY_BUDGET_S, DEFAULT_SHELL_TIMEOUT_S
from harness.profiles import ContainerSpec, DeviceProfile, load_profile
from harness.reporting.classify import LABEL_ATTRIBUTE

if TYPE_CHECKING:
    from harness.container import Restarter
    from harness.plugin import DevicePool
    from harness.sim.farm import SimFarm

PLUGIN_NAME = "android_harness_farm_worker"
RETRY_MARKER = "retry_on_infra"
INFRA_CLASSES = (str(FailureClass.DEVICE_LOST), str(FailureClass.TIMEOUT), str(FailureClass.INFRASTRUCTURE))
DEVICELESS_PROPERTY = "farm_no_device"           # the controller shuts down a worker that reports it
RETRIED_PROPERTY = "retried_after"
EVIDENCE_PROPERTY = "fault_evidence"
HEALTH_SECTION = "farm health check"
FAULT_EVENTS_SHOWN = 10
EVIDENCE_SLACK_S = 1.0            # fault events this long before the test started still count
SWAP_FOR_RETRY_WAIT_S = 0.0       # a retry takes a free device at once, else stays on the recovered one
_REPAIR_POLL_S = 0.2
_FAILED = pytest.StashKey[bool]()
_CHECKED = pytest.StashKey[bool]()
_STARTED = pytest.StashKey[float]()           # time.monotonic() when the test's setup began
_DEVICES = pytest.StashKey[tuple[str, ...]]()  # the devices the test got
_HEALTH = pytest.StashKey[list[str]]()


class DeviceUnhealthy(HarnessError):
    """After a test, the device was not as before it (network left changed, framework restarted
    without the test being marked `restarts`); the harness repaired it for the next test."""
    failure_class = FailureClass.INFRASTRUCTURE


@dataclass
class _Held:
    """One leased device and what the health check needs to know about it."""
    farm: FarmDevice
    device: Device
    profile: DeviceProfile | None
    checker: HealthCheck
    baseline: Baseline


class LeasedDevices:
    """What the plugin's DevicePool keeps in its `embedded` slot for a leased unit: `farm` (the
    virtual-device farm's control channel, for the `restart` fixture) and `stop()` (release)."""

    def __init__(self, worker: FarmWorker) -> None:
        self.worker = worker

    @property
    def farm(self) -> SimFarm | None:
        held = self.worker.held
        return self.worker.sim_farm(held[0].farm) if held else None

    def stop(self) -> None:
        self.worker.release()


class FarmWorker:
    def __init__(self, config: pytest.Config, files: RunFiles, holder: str, prefer: int | None = None) -> None:
        self.config = config
        self.files = files
        self.holder = holder
        self.prefer = prefer
        self.log = LeaseLog(files.log, files.run)
        self.inventory: Inventory | None = None
        self.pool: LeasePool | None = None
        self.lease: Lease | None = None
        self.held: list[_Held] = []
        self._sim_farms: dict[str, SimFarm] = {}

    # -- leasing ------------------------------------------------------------------------------------
    def open(self) -> DevicePool:
        """Lease a unit and prepare it; NoDeviceAvailable when none can be had in time."""
        self._load_pool()
        assert self.pool is not None
        units = self.pool.units
        prefer = units[self.prefer % len(units)].name if units and self.prefer is not None else None
        return self._lease_ready_unit(prefer=prefer, avoid=(), wait_s=self.files.wait_s)

    def repair(self, holder_prefix: str, wait_s: float) -> None:
        """Health-check (and recover, or quarantine) the units a dead holder held: the xdist
        controller does it for a crashed worker's devices, so they are repaired even when no
        test is left to lease them. A unit someone else leased first is theirs to check."""
        try:
            self._load_pool()
        except HarnessError as e:
            self.log.append("repair", holder=self.holder, of=holder_prefix, error=e.message)
            return
        assert self.pool is not None
        for unit in self.pool.units:
            deadline = time.monotonic() + wait_s
            while any((self.pool.state(d).holder or "").startswith(holder_prefix) for d in unit.ids):
                lease = self.pool.try_acquire(unit.name, self.holder)
                if lease is not None:
                    if not self._adopt(lease):
                        self.release()
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(_REPAIR_POLL_S)

    def _load_pool(self) -> None:
        if self.pool is None:
            self.inventory = self.files.inventory()
            self.pool = LeasePool(self.files.directory, self.inventory.units(), self.log)

    def _lease_ready_unit(self, *, prefer: str | None, avoid: tuple[str, ...], wait_s: float) -> DevicePool:
        assert self.pool is not None
        avoided = set(avoid)
        while True:
            lease = self.pool.acquire(self.holder, prefer=prefer, wait_s=wait_s, avoid=avoided)
            quarantined = self._adopt(lease)
            if not quarantined:
                return self._device_pool()
            avoided |= set(quarantined)
            prefer = None

    def _adopt(self, lease: Lease) -> list[str]:
        """Make a fresh lease the held one once its devices are ready; the devices that are not
        (quarantined with the lease given back) otherwise."""
        quarantined = self._prepare(lease)
        if quarantined:
            lease.release(states={d: QUARANTINED for d in quarantined},
                          reason="failed its health check when leased and did not recover")
            return quarantined
        self.lease = lease
        return []

    def _prepare(self, lease: Lease) -> list[str]:
        """Devices of the unit that stay unhealthy (empty: the unit is ready, self.held set)."""
        self.held = []
        quarantined = []
        for farm_device in lease.unit.devices:
            profile = load_profile(farm_device.profile) if farm_device.profile else None
            device = farm_device.device()
            try:
                if profile is None or profile.has("root"):
                    device.root()
                device.build           # read once now, as the plugin does: reports use it after release
            except HarnessError:
                pass                   # the health check says whether the device answers at all
            checker = HealthCheck(device, interface=profile.network.interface if profile else None,
                                  shell_timeout=self._health_setting("shell_timeout_s"),
                                  targets=profile.network.connectivity_targets() if profile else None)
            stored = self._stored_baseline(farm_device.id)
            if stored is None:
                try:
                    stored = checker.baseline(network_wait_s=self._network_wait(profile))
                except HarnessError as e:
                    self.log.append("health", device=farm_device.id, holder=self.holder, ok=False, why="baseline",
                                    problems=[f"{type(e).__name__}: {e.message}"])
                    quarantined.append(farm_device.id)
                    continue
                self._store_baseline(farm_device.id, stored)
            held = _Held(farm_device, device, profile, checker, stored)
            reason = lease.checks.get(farm_device.id)
            if reason is not None:
                report = checker.check(held.baseline)
                self._log_health(held, report, why=reason)
                if not report.ok and not self._recover(held, report, lease, expect_restart=False).recovered:
                    quarantined.append(farm_device.id)
                    continue
            self.held.append(held)
        return quarantined

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """The session's fixtures are torn down: give the devices back before the summary."""
        self.release()

    def release(self) -> None:
        lease, self.lease = self.lease, None
        if lease is not None:
            lease.release()
        self.held = []

    def _device_pool(self) -> DevicePool:
        from harness.plugin import DevicePool
        header = [f"android device {h.device.serial} on {h.farm.server}: {h.farm.model}, Android {h.farm.release}, "
                  f"profile {h.farm.profile or 'none'}, leased by {self.holder}" for h in self.held]
        return DevicePool([h.device for h in self.held], embedded=LeasedDevices(self), header=header)

    # -- between tests --------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        item.stash[_STARTED] = time.monotonic()
        try:
            return (yield)
        finally:
            if self.lease is not None and _uses_devices(item):
                self.lease.record_test(item.nodeid)
                item.stash[_DEVICES] = tuple(h.farm.id for h in self.held)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        try:
            return (yield)
        except BaseException:
            self._after_test(item, raise_problems=False)
            raise
        finally:
            if not item.stash.get(_CHECKED, False):
                self._after_test(item, raise_problems=True)

    def _after_test(self, item: pytest.Item, *, raise_problems: bool) -> None:
        """The health check after a device test; recovery, quarantine and swap when needed.
        DeviceUnhealthy when a passing test left the device changed (and nothing else failed)."""
        item.stash[_CHECKED] = True
        if self.lease is None or not _uses_devices(item):
            return
        expect_restart = item.get_closest_marker("restarts") is not None
        notes: list[str] = []
        left_behind: list[str] = []
        for held in list(self.held):
            report = held.checker.check(held.baseline, expect_restart=expect_restart)
            if report.ok:
                if expect_restart and report.pids:
                    held.baseline = held.baseline.with_pids(report.pids)
                continue
            self._log_health(held, report, why=f"after {item.nodeid}")
            result = self._recover(held, report, self.lease, expect_restart=expect_restart, item=item)
            notes.append(result.render())
            if not result.recovered:
                self._quarantine_and_swap(item, held, result, notes)
                break
            if report.reachable and not item.stash.get(_FAILED, False):
                left_behind += [text for kind, text in report.problems if kind != Problem.UNREACHABLE]
        if notes:
            item.stash[_HEALTH] = notes
        if left_behind and raise_problems:
            raise DeviceUnhealthy("the test left the device changed (repaired for the next test): "
                                  + "; ".join(left_behind))

    def _log_health(self, held: _Held, report: HealthReport, *, why: str) -> None:
        self.log.append("health", device=held.farm.id, holder=self.holder, ok=report.ok, why=why,
                        problems=[text for _, text in report.problems])

    def _recover(self, held: _Held, report: HealthReport, lease: Lease, *, expect_restart: bool,
                 item: pytest.Item | None = None) -> RecoveryResult:
        lease.set_state(held.farm.id, "recovering", report.render())
        budget = self._health_setting("recovery_budget_s")
        recovery = Recovery(held.device, held.checker, budget, restarter=lambda timeout: self._restarter(held, timeout),
                            was_root=held.profile is None or held.profile.has("root"),
                            evidence=lambda: self.fault_evidence(held.farm, item))
        result = recovery.run(held.baseline, report, expect_restart=expect_restart)
        held.baseline = result.baseline
        self.log.append("recovery", device=held.farm.id, holder=self.holder, recovered=result.recovered,
                        steps=[s.render() for s in result.steps], evidence=list(result.evidence))
        if result.recovered:
            lease.set_state(held.farm.id, "leased", "recovered: " + ", ".join(s.name for s in result.steps if s.ok))
        return result

    def _quarantine_and_swap(self, item: pytest.Item, held: _Held, result: RecoveryResult, notes: list[str]) -> None:
        """Give the unit back with the broken device quarantined, lease another, and make the
        session's device fixtures start again on it."""
        from harness.plugin import POOL
        assert self.lease is not None
        broken = held.farm.id
        self.lease.release(states={broken: QUARANTINED}, reason="recovery failed: " + result.after.render())
        self.lease, self.held = None, []
        try:
            pool: Any = self._lease_ready_unit(prefer=None, avoid=(broken,), wait_s=self.files.wait_s)
            self.config.add_cleanup(pool.close)
            notes.append(f"{broken} quarantined; now on {', '.join(h.farm.id for h in self.held)}")
        except NoDeviceAvailable as e:
            pool = e
            notes.append(f"{broken} quarantined; no other device: {e.message}")
        self.config.stash[POOL] = pool
        notes += _restart_session_fixtures(item)

    # -- retries -------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        if item.get_closest_marker(RETRY_MARKER) is None:
            return None
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        lease_before = self.lease
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        failure = next((r for r in reports if r.failed and getattr(r, LABEL_ATTRIBUTE, None) in INFRA_CLASSES), None)
        if failure is not None and self.lease is not None:
            first_devices = ", ".join(item.stash.get(_DEVICES, ())) or "its device"
            # Reported up to the failure, which becomes a rerun: a teardown report would make
            # junitxml close the test case as if it had passed (pytest-rerunfailures does the same).
            for report in reports[:reports.index(failure) + 1]:
                if report.failed:
                    report.outcome = "rerun"  # type: ignore[assignment]
                item.ihook.pytest_runtest_logreport(report=report)
            item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
            if self.lease is lease_before:          # still on the first device: move if another is free
                self._swap_for_retry(item)
            _forget_failed_fixtures(item)
            for key in (_FAILED, _CHECKED, _HEALTH):
                if key in item.stash:
                    del item.stash[key]
            why = f"{getattr(failure, LABEL_ATTRIBUTE)} on {first_devices} ({failure.when}): {_first_line(failure)}"
            self.log.append("retry", test=item.nodeid, holder=self.holder, why=why)
            item.user_properties.append((RETRIED_PROPERTY, why))
            item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _swap_for_retry(self, item: pytest.Item) -> None:
        """Move to another free unit for the retry when there is one (the recovered device goes
        back to the pool); otherwise the retry runs on the recovered device."""
        from harness.plugin import POOL
        if self.pool is None or self.lease is None or len(self.pool.units) < 2:
            return
        current = self.lease
        try:
            other = self.pool.acquire(self.holder, wait_s=SWAP_FOR_RETRY_WAIT_S, avoid=current.device_ids)
        except NoDeviceAvailable:
            return
        current.release()
        self.lease, self.held = None, []
        pool: Any
        if self._adopt(other):
            pool = self._lease_ready_unit(prefer=None, avoid=other.device_ids, wait_s=self.files.wait_s)
        else:
            pool = self._device_pool()
        self.config.add_cleanup(pool.close)
        self.config.stash[POOL] = pool
        _restart_session_fixtures(item)

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        if report.outcome == "rerun":
            return "rerun", "R", "RERUN"
        return None

    # -- reports --------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        report: pytest.TestReport = yield
        if report.failed and report.when in ("setup", "call"):
            item.stash[_FAILED] = True
        error = call.excinfo.value if call.excinfo is not None else None
        if report.failed and isinstance(error, HarnessError) and str(error.failure_class) in INFRA_CLASSES \
                and self.held and not isinstance(error, DeviceUnhealthy):
            evidence = [line for held in self.held for line in self.fault_evidence(held.farm, item)]
            if evidence:
                report.sections.append(("fault evidence", "\n".join(evidence)))
                report.user_properties.append((EVIDENCE_PROPERTY, " | ".join(evidence[-3:])))
                item.user_properties.append((EVIDENCE_PROPERTY, " | ".join(evidence[-3:])))
                error.add_note("fault evidence:\n" + "\n".join(evidence))
        if isinstance(error, NoDeviceAvailable):
            report.user_properties.append((DEVICELESS_PROPERTY, self.holder))
        if report.when == "teardown" and (notes := item.stash.get(_HEALTH, None)):
            report.sections.append((HEALTH_SECTION, "\n\n".join(notes)))
        return report

    def fault_evidence(self, device: FarmDevice, item: pytest.Item | None = None) -> list[str]:
        """The virtual device's fault events since `item` started (the latest ones without an
        item); nothing for devices that are not virtual."""
        farm = self.sim_farm(device)
        if farm is None:
            return []
        from harness.sim.farm import FarmError
        try:
            answer = farm.control("faults", serial=device.serial, timeout=5.0)
        except FarmError as e:
            return [f"fault events of {device.serial} unavailable: {e}"]
        events = answer.get("events", [])
        started = item.stash.get(_STARTED, None) if item is not None else None
        if started is not None:
            window = time.monotonic() - started + EVIDENCE_SLACK_S
            events = [e for e in events if e.get("host_age_s", 0.0) <= window]
        counts = ", ".join(f"{name} x{count}" for name, count in sorted(answer.get("counts", {}).items()))
        return [f"{device.serial} fault {e['fault']} at device time {e['time']:.3f}s: {e['detail']}"
                for e in events[-FAULT_EVENTS_SHOWN:]] + \
            ([f"{device.serial} faults since it started: {counts}"] if counts and events else [])

    # -- helpers --------------------------------------------------------------------------------
    def sim_farm(self, device: FarmDevice) -> SimFarm | None:
        container = device.container
        if container is None or container.runtime != "sim" or container.control is None:
            return None
        if container.control not in self._sim_farms:
            from harness.sim.farm import SimFarm
            host, port = container.control.rsplit(":", 1)
            self._sim_farms[container.control] = SimFarm.attach(host, int(port))
        return self._sim_farms[container.control]

    def _restarter(self, held: _Held, timeout: float) -> Restarter | None:
        """The farm's container host for the device, else its profile's container method; its
        boot and network waits within `timeout`."""
        profile = held.profile
        settings = RestartSettings.from_profile(profile) if profile else RestartSettings(wait_for_network=False)
        settings = replace(settings, boot_timeout=min(settings.boot_timeout, timeout),
                           network_timeout=min(settings.network_timeout, timeout))
        container = held.farm.container
        if container is not None and container.runtime == "sim":
            from harness.container.sim import SimRestarter
            return SimRestarter(self.sim_farm(held.farm), settings)   # type: ignore[arg-type]
        if container is not None and container.name:
            spec = ContainerSpec(runtime=container.runtime, name=container.name, host=container.url)  # type: ignore[arg-type]
            return (DockerRestarter if container.runtime == "docker" else PodmanRestarter)(spec, settings)
        if profile is not None and profile.restart_method in ("docker", "podman") and profile.container is not None:
            return restarter_for(profile, settings=settings)
        return None

    def _health_setting(self, name: str) -> float:
        assert self.inventory is not None
        return float(self.inventory.settings.get("health", {}).get(name) or _HEALTH_DEFAULTS[name])

    @staticmethod
    def _network_wait(profile: DeviceProfile | None) -> float:
        if profile is None:
            return 30.0
        return profile.network.expected_within_s or profile.restart.network_timeout_s

    def _baseline_path(self, device_id: str) -> Path:
        return state_path(self.files.directory, device_id, ".baseline.json")

    def _stored_baseline(self, device_id: str) -> Baseline | None:
        """This run's baseline of the device (taken by its first healthy holder)."""
        try:
            data = json.loads(self._baseline_path(device_id).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return Baseline.from_json(data["baseline"]) if data.get("run") == self.files.run else None

    def _store_baseline(self, device_id: str, baseline: Baseline) -> None:
        write_json(self._baseline_path(device_id), {"run": self.files.run, "baseline": baseline.to_json()})


_HEALTH_DEFAULTS = {"shell_timeout_s": DEFAULT_SHELL_TIMEOUT_S, "recovery_budget_s": DEFAULT_RECOVERY_BUDGET_S}


def _uses_devices(item: pytest.Item) -> bool:
    from harness.fixtures import uses_harness_devices
    return uses_harness_devices(item)


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = str(crash.message) if crash is not None else str(report.longrepr or "")
    return text.splitlines()[0] if text else ""


def _restart_session_fixtures(item: pytest.Item) -> list[str]:
    """Tear down everything set up for this session (pytest's private SetupState, the way
    pytest-rerunfailures reaches it), so the next test sets up its session fixtures again, on
    the new device. Teardown errors concern the device given up: they are noted, not raised."""
    try:
        item.session._setupstate.teardown_exact(None)
    except Exception as e:            # one error, or an ExceptionGroup of the old device's finalizers
        return [f"session fixtures of the previous device ended with: {type(e).__name__}: {e}".splitlines()[0]]
    return []


def _forget_failed_fixtures(item: pytest.Item) -> None:
    """Fixtures that failed in the first attempt are set up again for the retry."""
    info = getattr(item, "_fixtureinfo", None)
    for definitions in getattr(info, "name2fixturedefs", {}).values():
        for definition in definitions:
            cached = getattr(definition, "cached_result", None)
            if cached is not None and cached[2] is not None:
                definition.cached_result = None
                getattr(definition, "_finalizers", []).clear()


def worker_holder() -> str:
    """How the lease log names this process: the xdist worker id (or `main`) and the pid."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}/{os.getpid()}"
