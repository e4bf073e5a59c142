"""What the reports say about devices: which device a test ran on, and each device's build.

The accessor to the device plugin (harness.plugin) for reporting. It reads the session's pool
through the plugin's public `POOL` stash key and never acquires devices itself: a run whose
tests touch no device reports none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pytest

from harness.device import Device
from harness.errors import HarnessError
from harness.plugin import POOL, DevicePool

UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReportedDevice:
    """One device as environment.properties shows it (plain strings: it crosses to the xdist
    controller as JSON)."""

    serial: str
    profile: str
    model: str
    release: str
    sdk: str
    fingerprint: str

    @classmethod
    def of(cls, device: Device) -> ReportedDevice:
        try:
            build = device.build     # read once when the pool was acquired, cached since
        except HarnessError:
            return cls(device.serial, device.profile or "none", UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
        return cls(device.serial, device.profile or "none", build.model, build.release, str(build.sdk),
                   build.fingerprint)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportedDevice:
        return cls(**{name: str(data[name]) for name in cls.__dataclass_fields__})


def serials_of_test(item: pytest.Item) -> tuple[str, ...]:
    """Serials of the devices the test got from the harness fixtures (`device`, `device_pool`);
    empty for a test that uses neither (or a project's own fixture of that name)."""
    funcargs = getattr(item, "funcargs", {})
    device = funcargs.get("device")
    if isinstance(device, Device):
        return (device.serial,)
    pool = funcargs.get("device_pool")
    if isinstance(pool, DevicePool):
        return tuple(d.serial for d in pool.devices)
    return ()


def session_devices(config: pytest.Config) -> list[ReportedDevice]:
    """The devices this process acquired (none if no test needed one)."""
    pool = config.stash.get(POOL, None)
    if not isinstance(pool, DevicePool):
        return []
    return [ReportedDevice.of(device) for device in pool.devices]


def merge(devices: list[ReportedDevice]) -> list[ReportedDevice]:
    """One entry per serial (xdist workers may report the same device), ordered by serial."""
    return sorted({d.serial: d for d in devices}.values(), key=lambda d: d.serial)


WORKER_OUTPUT_KEY = "harness_devices"    # in xdist's workeroutput


def publish_to_controller(config: pytest.Config) -> None:
    """On an xdist worker: hand this worker's devices to the controller (sent at the end of
    the worker's session; a crashed worker sends nothing, its replacement reports its own)."""
    config.workeroutput[WORKER_OUTPUT_KEY] = [f.as_dict() for f in session_devices(config)]  # type: ignore[attr-defined]


class XdistDevices:
    """Controller plugin, registered only with xdist (its hook is xdist's): the workers' devices."""

    def __init__(self) -> None:
        self.devices: list[ReportedDevice] = []

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        self.devices.extend(ReportedDevice.from_dict(d) for d in output.get(WORKER_OUTPUT_KEY, []))
