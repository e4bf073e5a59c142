"""Restart a virtual device through its farm's control channel (the farm plays the container
runtime): `SimFarm.control("restart", serial=..., down_s=...)`. The reply comes once the device
is down; it boots again after `down_s` device seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.container.base import Restarter, RestartSettings, RuntimeUnavailable
from harness.sim.farm import FarmError
from harness.timeline import RunningAction

if TYPE_CHECKING:
    from harness.device import Device
    from harness.sim.farm import SimFarm

CONTROL_TIMEOUT = 10.0


class SimRestarter(Restarter):
    method = "sim"

    def __init__(self, farm: SimFarm, settings: RestartSettings | None = None, *, down_s: float = 0.5) -> None:
        super().__init__(settings)
        if not 0 <= down_s <= 3600:
            raise ValueError(f"down_s must be between 0 and 3600 seconds, got {down_s!r}")
        self.farm = farm
        self.down_s = down_s

    def describe(self, device: Device) -> str:
        return f"virtual device control: restart {device.serial} (down {self.down_s:g}s)"

    def trigger(self, device: Device, step: RunningAction) -> None:
        try:
            self.farm.control("restart", serial=device.serial, down_s=self.down_s, timeout=CONTROL_TIMEOUT)
        except FarmError as e:
            raise RuntimeUnavailable(f"virtual device farm refused the restart: {e}", serial=device.serial,
                                     command="control restart") from None
