"""One restart interface: `Restarter.restart(device) -> RestartResult`, with the timeline of what
happened.

Every method (docker, podman, the virtual device's control channel, `stop; start`, `adb reboot`)
only implements `trigger()`; the follow-up is shared and follows TradeFed/Mobly (anchors.md §8):

1. the transport goes down: waited for when the trigger returns before the device drops (reboot);
   a container restart has already dropped it when the runtime returns;
2. reconnect, for `host:port` devices: `adb disconnect` then `adb connect` until `connected to`
   (devlib's rule: a stale transport would make connect answer "already connected");
3. wait for boot: online, then sys.boot_completed=1;
4. adbd as root again when it was before (a container restart or reboot starts it as shell);
5. read the device clock (for placing its log lines on the timeline);
6. optionally wait for the network (harness.net.connectivity.wait_for_network);
7. read the device clock again (two readings per boot give its rate as well as its offset).

Steps 1-4 share `boot_timeout`, step 6 has `network_timeout`. Each step is a harness action on
the timeline with its duration and outcome. A failing step ends the restart: the result carries
the classified error (BootTimeout, DeviceLost, NetworkTimeout, RuntimeUnavailable, ...) and the
timeline as evidence; `raise_for_error()` raises it with the timeline attached as a note.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import BootTimeout, FailureClass, HarnessError
from harness.net.connectivity import ConnectivityTargets, wait_for_network
from harness.timeline import RunningAction, Timeline, TimelineEvent, TransportWatcher

if TYPE_CHECKING:
    from harness.device import Device
    from harness.logs.logcat import LogcatService
    from harness.profiles import DeviceProfile

_POLL_S = 0.1
_ROOT_PROBE_S = 10.0


class RuntimeUnavailable(HarnessError):
    """The container runtime cannot be used: CLI missing, daemon unreachable, command failed or hung."""
    failure_class = FailureClass.INFRASTRUCTURE


@dataclass(frozen=True)
class RestartSettings:
    boot_timeout: float = 120.0
    network_timeout: float = 60.0
    wait_for_network: bool = True
    targets: ConnectivityTargets | None = None
    interface: str | None = None

    @classmethod
    def from_profile(cls, profile: DeviceProfile) -> RestartSettings:
        return cls(boot_timeout=profile.restart.boot_timeout_s, network_timeout=profile.restart.network_timeout_s,
                   wait_for_network=profile.restart.wait_for_network,
                   targets=profile.network.connectivity_targets(), interface=profile.network.interface)


@dataclass(frozen=True)
class RestartResult:
    method: str
    serial: str
    steps: tuple[TimelineEvent, ...]        # this restart's harness actions, in order
    timeline: Timeline
    error: HarnessError | None = None
    boot_s: float | None = None             # trigger done -> boot completed
    network_s: float | None = None          # boot completed -> network (when waited for)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def failure_class(self) -> FailureClass | None:
        return None if self.error is None else self.error.failure_class

    def raise_for_error(self) -> None:
        if self.error is not None:
            if not getattr(self.error, "__notes__", None):
                self.error.add_note("timeline:\n" + self.timeline.render_text())
            raise self.error

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "serial": self.serial, "ok": self.ok,
                "failure_class": str(self.failure_class) if self.failure_class else None,
                "error": self.error.as_dict() if self.error else None,
                "boot_s": self.boot_s, "network_s": self.network_s,
                "steps": [s.to_dict() for s in self.steps]}


@dataclass
class Steps:
    """The steps of one restart, recorded on the timeline and kept in order (for RestartResult)."""
    timeline: Timeline
    steps: list[TimelineEvent] = field(default_factory=list)

    @contextmanager
    def step(self, text: str) -> Iterator[RunningAction]:
        running = None
        try:
            with self.timeline.action(text) as running:
                yield running
        finally:
            if running is not None and running.event is not None:
                self.steps.append(running.event)


class Budget:
    """The boot timeout shared by the steps from the trigger to boot completed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


class Restarter(ABC):
    method: str = ""
    # True when trigger() returns before the device drops its transport (adb reboot): the
    # follow-up must see it go down first, or the old boot would pass for the new one.
    returns_before_drop: bool = False
    drops_transport: bool = True

    def __init__(self, settings: RestartSettings | None = None) -> None:
        self.settings = settings or RestartSettings()

    @abstractmethod
    def describe(self, device: Device) -> str:
        """The trigger step's text on the timeline, e.g. `docker restart redroid8`."""

    @abstractmethod
    def trigger(self, device: Device, step: RunningAction) -> None:
        """Start the restart; note what the method printed with step.note()."""

    def restart(self, device: Device, *, timeline: Timeline | None = None,
                logcat: LogcatService | None = None) -> RestartResult:
        """Restart and wait for the device (and its network); never raises a HarnessError: the
        result carries it. A timeline made here also records adb transport events and, with a
        LogcatService, the device's log lines."""
        own = timeline is None
        timeline = timeline or Timeline(device.serial)
        watcher: TransportWatcher | None = None
        if own:
            watcher = timeline.watch_transport(device)
            if logcat is not None:
                timeline.follow_logcat(logcat)
        run = Steps(timeline)
        error: HarnessError | None = None
        boot_s = network_s = None
        try:
            was_root = self.drops_transport and self._is_root(device)
            with run.step(self.describe(device)) as step:
                self.trigger(device, step)
            started = time.monotonic()
            self._await_boot(device, run, Budget(self.settings.boot_timeout))
            boot_s = time.monotonic() - started
            if was_root:
                with run.step("adb root again (the restart started adbd as shell)"):
                    device.root()
            self._read_clock(device, run, logcat)
            if self.settings.wait_for_network:
                with run.step(f"wait for network (up to {self.settings.network_timeout:g}s)"):
                    network_s = wait_for_network(device, self.settings.network_timeout, logcat,
                                                 targets=self.settings.targets, interface=self.settings.interface)
            self._read_clock(device, run, logcat)     # a second reading gives the clock's rate
        except HarnessError as e:
            error = e
        finally:
            if watcher is not None:
                watcher.stop()
        return RestartResult(self.method, device.serial, tuple(run.steps), timeline, error, boot_s, network_s)

    def _read_clock(self, device: Device, run: Steps, logcat: LogcatService | None) -> None:
        with run.step("read the device clock") as step:
            try:
                sync = run.timeline.sync_clock(device, logcat)
            except ValueError as e:          # an odd `date`: only the log placement suffers
                step.note(f"unreadable: {e}")
                return
            step.note(f"device clock offset {sync.offset:+.3f}s (+/- {sync.uncertainty_s:.3f}s)")

    def _is_root(self, device: Device) -> bool:
        """Whether adbd runs as root now; a device that does not answer is restarted anyway."""
        try:
            return device.is_root(timeout=_ROOT_PROBE_S)
        except HarnessError:
            return False

    def _await_boot(self, device: Device, run: Steps, budget: Budget) -> None:
        if self.drops_transport and self.returns_before_drop:
            with run.step("wait for the transport to drop") as step:
                step.note(self._wait_for_drop(device, budget))
        if self.drops_transport and device.is_tcp:
            with run.step(f"reconnect {device.serial} (disconnect, then connect)"):
                device.reconnect(timeout=self._left(budget, "reconnect"))
        with run.step("wait for boot (online, sys.boot_completed=1)"):
            device.wait_for_boot(timeout=self._left(budget, "wait for boot"))

    def _wait_for_drop(self, device: Device, budget: Budget) -> str:
        while True:
            state = device.state()
            if state != "device":
                return f"adb state: {state}"
            if budget.left() <= 0:
                raise BootTimeout(f"{device.serial} did not go down within {budget.seconds:g}s of {self.method}",
                                  serial=device.serial, command=self.method, device_state=state)
            time.sleep(_POLL_S)

    def _left(self, budget: Budget, what: str) -> float:
        left = budget.left()
        if left <= 0:
            raise BootTimeout(f"no time left for {what}: the restart used its {budget.seconds:g}s boot budget",
                              command=what)
        return left
