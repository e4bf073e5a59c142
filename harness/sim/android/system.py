"""The Android system of one boot (placeholder until the network model lands).

`boot()` plays init's sequence on the device scheduler; `shutdown()` cancels whatever is pending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sim.clock import Timer

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice


class AndroidSystem:
    def __init__(self, device: "VirtualDevice") -> None:
        self.device = device
        self._timers: list[Timer] = []

    def _at(self, delay_ms: float, fn, *args) -> None:
        self._timers.append(self.device.scheduler.call_later(delay_ms / 1000.0, fn, *args))

    def boot(self) -> None:
        dev = self.device
        dev.processes.spawn("init", pid=1)
        dev.processes.spawn("ueventd", pid=78)
        dev.processes.spawn("logd", uid="logd", pid=98)
        dev.processes.spawn("adbd", uid="shell", pid=121)
        boot = dev.profile.sim.boot
        self._at(boot.adbd_ms, dev.adbd_started)
        self._at(boot.boot_completed_ms, self._boot_completed)

    def _boot_completed(self) -> None:
        self.device.props.set("sys.boot_completed", "1")
        self.device.props.set("dev.bootcomplete", "1")

    def log(self, process: str, priority: str, tag: str, message: str, *,
            thread: str = "main", buffer: str = "main") -> None:
        """Placeholder: logd arrives with the network model."""

    def shutdown(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
