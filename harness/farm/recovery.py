"""Stepwise recovery of an unhealthy device, within a time budget (TradeFed's WaitDeviceRecovery,
anchors.md §3): each step only when it can help, the health check again after each, stop at the
first healthy result.

    1. reconnect       TCP devices that are not reachable: `adb disconnect` + `adb connect`
    2. wait for boot   online, then sys.boot_completed=1
    3. restore network reachable, booted, but interfaces left down: `ip link set IFACE up` as root
    4. restart         the device's container (the farm's container host, else the profile's
                       restarter); adb root again when it was root
    -> quarantine      the caller's decision when every step failed (`RecoveryResult.recovered`)

New pids after a recovery (a restart) become the baseline's. Every step is recorded with its
outcome and duration, and so is the evidence the device gives about why (`evidence` callback: the
virtual device's fault events, for instance): the report of the test that lost the device and the
farm summary show them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.container import Restarter
from harness.device import Device
from harness.errors import HarnessError, RootUnavailable
from harness.farm.health import Baseline, HealthCheck, HealthReport, Problem
from harness.net import validate

STEP_CAP_S = 60.0             # a single step never takes more than this, whatever the budget
_ROOT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class RecoveryStep:
    name: str
    ok: bool
    seconds: float
    detail: str = ""

    def render(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'failed'} after {self.seconds:.1f}s" + \
            (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class RecoveryResult:
    serial: str
    recovered: bool
    before: HealthReport
    after: HealthReport
    steps: tuple[RecoveryStep, ...]
    baseline: Baseline                       # with the pids after recovery
    evidence: tuple[str, ...] = ()           # what the device (or its farm) says happened

    def render(self) -> str:
        lines = [f"health before: {self.before.render()}"]
        lines += [f"  step {step.render()}" for step in self.steps] or ["  (no step could help)"]
        lines.append(f"health after: {self.after.render()}")
        lines.append("recovered" if self.recovered else "NOT recovered: quarantine")
        if self.evidence:
            lines.append("evidence:")
            lines += [f"  {line}" for line in self.evidence]
        return "\n".join(lines)


@dataclass
class Recovery:
    device: Device
    checker: HealthCheck
    budget_s: float
    # The device's restarter for a time limit (None: it cannot be restarted, e.g. no container).
    restarter: Callable[[float], Restarter | None] = lambda timeout: None
    was_root: bool = True                    # give adbd root again after a restart
    evidence: Callable[[], list[str]] | None = None
    steps: list[RecoveryStep] = field(default_factory=list)

    def run(self, baseline: Baseline, report: HealthReport, *, expect_restart: bool = False) -> RecoveryResult:
        deadline = time.monotonic() + self.budget_s
        current = report
        plan: list[tuple[str, Callable[[float], str]]] = []
        if self.device.is_tcp:
            plan.append(("reconnect", self._reconnect))
        plan += [("wait for boot", self._wait_for_boot), ("restore network", lambda _: self._restore(current)),
                 ("restart container", self._restart)]
        accept_pids = expect_restart
        for position, (name, action) in enumerate(plan):
            if current.ok or time.monotonic() >= deadline:
                break
            if not self._useful(name, current):
                continue
            # A step may use its share of what is left, so that the later ones still get theirs.
            later = sum(1 for other, _ in plan[position + 1:] if self._useful(other, current))
            left = min(STEP_CAP_S, (deadline - time.monotonic()) / (1 + later))
            self._step(name, lambda: action(left))
            accept_pids = accept_pids or name in ("wait for boot", "restart container")
            current = self.checker.check(baseline, expect_restart=accept_pids)
        recovered = current.ok
        if recovered and current.pids:
            baseline = baseline.with_pids(current.pids)
        return RecoveryResult(self.device.serial, recovered, report, current, tuple(self.steps), baseline,
                              tuple(self._evidence()))

    def _useful(self, step: str, report: HealthReport) -> bool:
        if step == "reconnect":
            return not report.reachable
        if step == "wait for boot":
            return not report.reachable or report.has(Problem.RESTARTED)
        if step == "restore network":
            return report.reachable and report.has(Problem.NETWORK) and bool(self._downed_links(report))
        return self.restarter(STEP_CAP_S) is not None

    def _step(self, name: str, action: Callable[[], str]) -> None:
        started = time.monotonic()
        try:
            detail, ok = action(), True
        except HarnessError as e:
            detail, ok = f"{type(e).__name__}: {e.message}", False
        self.steps.append(RecoveryStep(name, ok, time.monotonic() - started, detail))

    # -- the steps --------------------------------------------------------------------------------
    def _reconnect(self, timeout: float) -> str:
        self.device.reconnect(timeout=timeout)
        return f"{self.device.serial} online"

    def _wait_for_boot(self, timeout: float) -> str:
        self.device.wait_for_boot(timeout=timeout)
        return "sys.boot_completed=1"

    def _restore(self, report: HealthReport) -> str:
        links = self._downed_links(report)
        self._root()
        for link in links:
            self.device.run(validate.shell_line("ip", "link", "set", link, "up"), check=True,
                            timeout=self.checker.shell_timeout)
        return "brought up " + ", ".join(links)

    def _restart(self, timeout: float) -> str:
        restarter = self.restarter(timeout)
        assert restarter is not None, "planned only for a device that can be restarted"
        result = restarter.restart(self.device)
        result.raise_for_error()
        if self.was_root:
            self._root()
        return f"{result.method} restart, booted in {result.boot_s or 0:.1f}s"

    def _root(self) -> None:
        try:
            self.device.root(timeout=_ROOT_TIMEOUT_S)
        except RootUnavailable:
            pass                  # the checks will say what root would have fixed

    @staticmethod
    def _downed_links(report: HealthReport) -> list[str]:
        """Interfaces that were up in the baseline and are down now."""
        section = report.network_diff.section("links") if report.network_diff is not None else None
        if section is None:
            return []
        return sorted(name for name, (old, new) in section.changed.items()
                      if old.startswith("up ") and new.startswith("down "))

    def _evidence(self) -> list[str]:
        if self.evidence is None:
            return []
        try:
            return self.evidence()
        except Exception as e:        # evidence is a bonus: its absence must not hide the recovery
            return [f"evidence unavailable: {type(e).__name__}: {e}"]
