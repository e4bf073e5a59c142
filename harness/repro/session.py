"""One device in a reproduction run: its logcat stream, its adb transport watcher, its identity,
and whether it is still in the run (a device lost beyond recovery is excluded with the reason).

`IterationSettings` is what every iteration of a device group shares: the stimulus, how to
recover, the bounds (host seconds: a virtual device's device-time bounds are scaled by its
clock), the connectivity targets and the signature registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.container import Restarter
from harness.device import Device
from harness.errors import HarnessError
from harness.logs.logcat import LogcatService
from harness.logs.signatures import Registry
from harness.net.connectivity import ConnectivityTargets
from harness.profiles import DeviceProfile
from harness.repro.hunt import Sampler
from harness.repro.stimulus import Stimulus
from harness.timeline import ADB, ClockSync, Timeline, TimelineEvent, TransportWatcher


@dataclass(frozen=True)
class IterationSettings:
    stimulus: Stimulus
    recovery: Restarter               # brings a failed device back (container restart of its profile)
    network_bound_s: float            # how long a restarted device may take to get a network
    settle_s: float                   # after a known signature, how long "still no network" is final
    boot_timeout_s: float
    targets: ConnectivityTargets | None
    interface: str | None
    registry: Registry
    run_dir: Path
    sweep: Sampler | None = None      # link flaps: where each iteration's timing comes from
    needs_network_first: bool = False  # link flaps act on a device whose network is up
    recovery_attempts: int = 5


@dataclass
class DeviceSession:
    device: Device
    profile: DeviceProfile
    group: str = ""
    virtual: bool = False
    clock_scale: float = 1.0
    logcat: LogcatService | None = None
    transport: Timeline = field(init=False)
    watcher: TransportWatcher | None = None
    last_sync: ClockSync | None = None
    excluded: str | None = None
    build: dict[str, Any] = field(default_factory=dict)
    iterations: int = 0

    def __post_init__(self) -> None:
        self.transport = Timeline(self.device.serial)

    @property
    def serial(self) -> str:
        return self.device.serial

    @property
    def android(self) -> str | None:
        return self.build.get("release") or None

    def open(self) -> None:
        """Read the build, start the transport watcher and the logcat stream."""
        info = self.device.build
        self.build = {"model": info.model, "release": info.release, "sdk": info.sdk,
                      "fingerprint": info.fingerprint, "build_type": info.build_type}
        self.watcher = self.transport.watch_transport(self.device)
        self.logcat = LogcatService(self.device, start_from="now").start()

    def close(self) -> None:
        if self.logcat is not None:
            self.logcat.stop()
        if self.watcher is not None:
            self.watcher.stop()

    def exclude(self, reason: str) -> None:
        if self.excluded is None:
            self.excluded = reason

    def transport_events(self, start: float, end: float) -> list[TimelineEvent]:
        """adb state changes of this device between two host times."""
        return [e for e in self.transport.events() if e.source == ADB and start <= e.time <= end]

    def describe(self) -> dict[str, Any]:
        return {"serial": self.serial, "group": self.group, "profile": self.profile.name,
                "virtual": self.virtual, "clock_scale": self.clock_scale, "build": dict(self.build),
                "iterations": self.iterations, "excluded": self.excluded}


def error_text(error: HarnessError) -> str:
    return f"{type(error).__name__}: {error.message}"
