"""Restart the Android framework inside the device: `stop; start` as root.

init stops zygote (and system_server with it), surfaceflinger and netd, then starts them again;
adbd keeps running, so the transport stays up. sys.boot_completed stays 1 through it (nothing
resets it), so the new framework is recognised the way TradeFed recognises a soft restart: by a
new system_server pid.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from harness.container.base import Budget, Restarter, RestartSettings, Steps
from harness.errors import BootTimeout, CommandTimeout, DeviceUnavailable
from harness.timeline import RunningAction

if TYPE_CHECKING:
    from harness.device import Device

COMMAND = "stop; start"
COMMAND_TIMEOUT = 30.0
_POLL_S = 0.25
_TOYBOX_PS_SDK = 26        # toybox ps (8.0+) lists only the session's processes without -A


def system_server_pid(device: Device, timeout: float = 10.0) -> int | None:
    """system_server's pid from `ps` (USER PID PPID ... NAME, toolbox and toybox alike)."""
    result = device.run("ps -A" if device.build.sdk >= _TOYBOX_PS_SDK else "ps", timeout=timeout)
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[-1] == "system_server" and fields[1].isdigit():
            return int(fields[1])
    return None


class FrameworkRestarter(Restarter):
    method = "framework"
    drops_transport = False

    def __init__(self, settings: RestartSettings | None = None) -> None:
        super().__init__(settings)
        self._old_pid: int | None = None         # system_server before the restart in progress

    def describe(self, device: Device) -> str:
        return f"adb shell {COMMAND} (as root)"

    def trigger(self, device: Device, step: RunningAction) -> None:
        device.root()
        self._old_pid = system_server_pid(device)
        step.note(f"system_server pid before: {self._old_pid}")
        device.run(COMMAND, timeout=COMMAND_TIMEOUT, check=True)

    def _await_boot(self, device: Device, run: Steps, budget: Budget) -> None:
        with run.step("wait for a new system_server") as step:
            step.note(f"system_server pid now: {self._wait_for_new_system_server(device, budget)}")
        super()._await_boot(device, run, budget)

    def _wait_for_new_system_server(self, device: Device, budget: Budget) -> int:
        while True:
            try:
                pid = system_server_pid(device, timeout=max(1.0, min(10.0, budget.left())))
            except (DeviceUnavailable, CommandTimeout):
                pid = None
            if pid is not None and pid != self._old_pid:
                return pid
            if budget.left() <= 0:
                raise BootTimeout(f"no new system_server on {device.serial} within {budget.seconds:g}s of "
                                  f"`{COMMAND}` (before: {self._old_pid}, now: {pid})",
                                  serial=device.serial, command=COMMAND)
            time.sleep(_POLL_S)
