"""What a run did with the farm, from the lease log and the devices' states: per device its state
at the end (a quarantined one with the reason), its tests, holders, health problems and
recoveries; the worker crashes and retries; and whether the log proves that no device was ever
held by two holders at once. Printed at the end of the run and written as JSON (atomically)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.farm.inventory import Inventory
from harness.farm.lease import QUARANTINED, DeviceState, check_log
from harness.reporting.files import write_atomic


@dataclass(frozen=True)
class DeviceSummary:
    id: str
    state: str
    reason: str | None
    tests: int
    holders: tuple[str, ...]
    health_problems: int
    recoveries: int
    capabilities: tuple[str, ...] = ()
    went_offline: int = 0                # transport events (track-devices) to a state other than device


@dataclass(frozen=True)
class FarmSummary:
    farm: str
    log: str
    devices: tuple[DeviceSummary, ...]
    violations: tuple[str, ...]
    crashes: tuple[str, ...] = ()
    retries: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)     # discovery problems

    @property
    def quarantined(self) -> list[DeviceSummary]:
        return [d for d in self.devices if d.state == QUARANTINED]

    def lines(self) -> list[str]:
        leases = "no device held by two holders at once" if not self.violations else \
            f"{len(self.violations)} VIOLATIONS of one holder per device"
        out = [f"farm {self.farm}: {len(self.devices)} devices, {sum(d.tests for d in self.devices)} device tests, "
               f"{leases} (lease log {self.log})"]
        for d in self.devices:
            state = d.state.upper() if d.state == QUARANTINED else d.state
            extra = [f"{d.recoveries} recoveries"] if d.recoveries else []
            extra += [f"{d.health_problems} failed health checks"] if d.health_problems else []
            extra += [f"transport lost {d.went_offline} times"] if d.went_offline else []
            out.append(f"  {d.id}: {state}, {d.tests} tests by {', '.join(d.holders) or 'nobody'}"
                       + (f", {', '.join(extra)}" if extra else "") + (f": {d.reason}" if d.reason else ""))
        out += [f"  quarantined: {d.id}: {d.reason}" for d in self.quarantined]
        out += [f"  worker crash: {c}" for c in self.crashes]
        out += [f"  retried: {r}" for r in self.retries]
        out += [f"  violation: {v}" for v in self.violations]
        out += [f"  discovery: {p}" for p in self.problems]
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["quarantined"] = [d.id for d in self.quarantined]
        return data

    def write(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_json(), indent=2))


def summarize(inventory: Inventory, states: dict[str, DeviceState], entries: list[dict[str, Any]],
              log: Path) -> FarmSummary:
    devices = []
    for device in inventory.devices:
        mine = [e for e in entries if e.get("device") == device.id]
        state = states.get(device.id)
        devices.append(DeviceSummary(
            id=device.id, state=state.state if state else ("unusable" if not device.usable else "available"),
            reason=(state.reason if state and state.state == QUARANTINED else None) or
                   (None if device.usable else device.problem or "excluded"),
            tests=sum(1 for e in mine if e["event"] == "test"),
            holders=tuple(dict.fromkeys(e["holder"] for e in mine if e["event"] == "lease")),
            health_problems=sum(1 for e in mine if e["event"] == "health" and not e.get("ok")),
            recoveries=sum(1 for e in mine if e["event"] == "recovery"),
            capabilities=device.capabilities,
            went_offline=sum(1 for e in mine if e["event"] == "transport" and e.get("state") != "device")))
    crashes = tuple(f"{e.get('worker')}: {e.get('error')}" for e in entries if e["event"] == "worker_crash")
    retries = tuple(f"{e.get('test')} ({e.get('why')})" for e in entries if e["event"] == "retry")
    return FarmSummary(inventory.name, str(log), tuple(devices), tuple(check_log(entries)), crashes, retries,
                       inventory.problems)
