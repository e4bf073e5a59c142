"""Reboot the device the way `adb reboot` does: open adbd's `reboot:` service (adbd runs it with
its own rights, so it works on user builds where the shell's `reboot` is refused).

The service answers and closes, and the device drops the transport a moment later: the
follow-up waits to see it go down before waiting for the boot (TradeFed, Mobly PR #984).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import adbutils

from harness.adb_server import PrivateAdbClient
from harness.container.base import Restarter
from harness.errors import ADB_EXCEPTIONS, from_exception
from harness.timeline import RunningAction

if TYPE_CHECKING:
    from harness.device import Device

SERVICE = "reboot:"
SERVICE_TIMEOUT = 10.0


class RebootRestarter(Restarter):
    method = "reboot"
    returns_before_drop = True

    def describe(self, device: Device) -> str:
        return f"adb -s {device.serial} reboot"

    def trigger(self, device: Device, step: RunningAction) -> None:
        client = PrivateAdbClient(device.host, device.port, socket_timeout=SERVICE_TIMEOUT)
        try:
            conn = adbutils.AdbDevice(client, device.serial).open_transport(timeout=SERVICE_TIMEOUT)
            try:
                conn.send_command(SERVICE)
                conn.check_okay()
                try:
                    step.note(str(conn.read_until_close()).strip())
                except ADB_EXCEPTIONS:
                    step.note("(the device went down before the service closed)")
            finally:
                conn.close()
        except ADB_EXCEPTIONS as e:
            raise from_exception(e, serial=device.serial, command=SERVICE) from None
