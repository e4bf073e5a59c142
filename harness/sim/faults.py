"""Faults of a virtual device: what a farm's flaky hardware, adbd and containers do to a test run.

Each device has one `DeviceFaults` (`device.faults`). Its settings come from the profile
(`sim.faults`) and can be replaced at any time through the farm's control channel (`fault` op,
harness/sim/farm.py); one-shot faults are control ops of their own. Every fault that fires leaves
an event (device time, host wall clock, what happened), which the `faults` op returns: the
evidence a harness attaches to the failure it caused.

Switchable faults (settings, `FaultSettings`):

    transport_drop: {after_bytes: N, probability: P}
        the TCP connection of a shell command drops once the command wrote N bytes of output
        (0: as soon as it starts); each command draws against P (seeded: sim.seed, device index)
    hang: {command: GLOB, probability: P}
        a shell command whose command line matches GLOB (fnmatch) never returns; it ends only
        when the host closes its stream
    latency_ms: X
        every batch of adb messages the device sends leaves X ms (device time) late
    boot_hang: true
        the next boots never finish: sys.boot_completed is never set
    reboot_after_s / netd_crash_after_s / adbd_restart_after_s: S
        once, S device seconds after the settings are applied (the profile's: after the first
        boot starts): a spontaneous reboot, netd killed (init restarts it; the framework reacts
        as its Android version does), adbd restarting (every connection drops)
    log_flood: {lines: N, buffer: main, after_s: S}
        once, S device seconds after the settings are applied: N records written to one logd
        buffer at once, so the ring wraps and readers lose what they had not read

Nothing here imports the harness: this is the device side.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

if TYPE_CHECKING:
    from harness.sim.clock import Timer
    from harness.sim.device import VirtualDevice

MAX_EVENTS = 50               # fault events kept per device (the newest)
MAX_DELAY_S = 86400.0
FLOOD_TAG = "FaultFlood"
NETD_KILL_SIGNAL = 9


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransportDrop(_Strict):
    after_bytes: int = Field(default=0, ge=0, le=1 << 30, strict=True)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)


class CommandHang(_Strict):
    command: StrictStr = Field(min_length=1, max_length=200)      # fnmatch glob over the command line
    probability: float = Field(default=1.0, ge=0.0, le=1.0)


class LogFlood(_Strict):
    lines: int = Field(default=5000, ge=1, le=1_000_000, strict=True)
    buffer: Literal["main", "radio", "events", "system", "crash"] = "main"
    after_s: float = Field(default=0.0, ge=0.0, le=MAX_DELAY_S)


class FaultSettings(_Strict):
    """`sim.faults` of a profile, and the `set` object of the `fault` control op."""
    transport_drop: TransportDrop | None = None
    hang: CommandHang | None = None
    latency_ms: float = Field(default=0.0, ge=0.0, le=60_000.0)
    boot_hang: bool = False
    reboot_after_s: float | None = Field(default=None, ge=0.0, le=MAX_DELAY_S)
    netd_crash_after_s: float | None = Field(default=None, ge=0.0, le=MAX_DELAY_S)
    adbd_restart_after_s: float | None = Field(default=None, ge=0.0, le=MAX_DELAY_S)
    log_flood: LogFlood | None = None


@dataclass(frozen=True)
class FaultEvent:
    time: float          # device time
    wall: float          # the device's wall clock (what its logcat lines show)
    fault: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"time": round(self.time, 3), "wall": round(self.wall, 3), "fault": self.fault, "detail": self.detail}


class DeviceFaults:
    def __init__(self, device: VirtualDevice, settings: FaultSettings) -> None:
        self.device = device
        self.settings = settings
        self.rng = random.Random(f"{device.profile.sim.seed}:{device.index}:faults")
        self.events: deque[FaultEvent] = deque(maxlen=MAX_EVENTS)
        self.counts: dict[str, int] = {}
        self._timers: list[Timer] = []
        self._armed = False             # the timed faults of the current settings are scheduled

    # -- settings -----------------------------------------------------------------------------
    def apply(self, settings: FaultSettings) -> None:
        """Replace the settings; their timed faults count from now."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.settings = settings
        self._armed = False
        self.arm()

    def arm(self) -> None:
        """Schedule the timed faults of the settings (once per settings)."""
        if self._armed:
            return
        self._armed = True
        s = self.settings
        for delay, action in ((s.reboot_after_s, self.reboot), (s.netd_crash_after_s, self.crash_netd),
                              (s.adbd_restart_after_s, self.restart_adbd)):
            if delay is not None:
                self._timers.append(self.device.scheduler.call_later(delay, action))
        if s.log_flood is not None:
            flood = s.log_flood
            self._timers.append(self.device.scheduler.call_later(flood.after_s, self.flood_log, flood.lines,
                                                                 flood.buffer))

    def describe(self) -> dict[str, Any]:
        """Settings, counts, and the events with `host_age_s`: how long ago (host seconds) each
        fired, so a harness can keep those of the test that just failed."""
        scheduler = self.device.scheduler
        now = scheduler.now()
        return {"settings": self.settings.model_dump(exclude_unset=True), "counts": dict(self.counts),
                "events": [{**e.as_dict(), "host_age_s": round(scheduler.host_seconds(now - e.time), 3)}
                           for e in self.events]}

    def record(self, fault: str, detail: str) -> None:
        now = self.device.scheduler.now()
        self.events.append(FaultEvent(now, self.device.scheduler.wall_clock(now), fault, detail))
        self.counts[fault] = self.counts.get(fault, 0) + 1

    # -- hooks the device's adbd and shell ask -------------------------------------------------
    def drop_after(self) -> int | None:
        """Bytes of output after which the shell command starting now loses its connection, or None."""
        drop = self.settings.transport_drop
        if drop is None or self.rng.random() >= drop.probability:
            return None
        return drop.after_bytes

    def hangs(self, command: str) -> bool:
        hang = self.settings.hang
        if hang is None or not fnmatch.fnmatchcase(command, hang.command):
            return False
        if self.rng.random() >= hang.probability:
            return False
        self.record("hang", f"command never returns: {command!r}")
        return True

    def send_delay_s(self) -> float:
        """Host seconds the device's next adb messages wait before they leave."""
        latency = self.settings.latency_ms
        return self.device.scheduler.host_seconds(latency / 1000.0) if latency else 0.0

    @property
    def boot_hangs(self) -> bool:
        return self.settings.boot_hang

    # -- one-shot faults ------------------------------------------------------------------------
    def reboot(self) -> None:
        self.record("reboot", "spontaneous reboot")
        self.device.reboot()

    def restart_adbd(self) -> None:
        self.record("adbd_restart", "adbd restarted: every adb connection dropped")
        self.device.restart_adbd(self.device.adbd_root)

    def crash_netd(self) -> bool:
        """netd dies (SIGKILL); init restarts it. False when netd is not running."""
        android = self.device.android
        netd = self.device.processes.find("netd") if android is not None else None
        if android is None or netd is None:
            self.record("netd_crash", "netd is not running: nothing to crash")
            return False
        self.record("netd_crash", f"netd (pid {netd.pid}) killed with signal {NETD_KILL_SIGNAL}")
        android.kill_process(netd.pid, NETD_KILL_SIGNAL)
        return True

    def flood_log(self, lines: int, buffer: str) -> None:
        self.record("log_flood", f"{lines} records written to the {buffer} buffer")
        for number in range(lines):
            self.device.log("logd", "I", FLOOD_TAG, f"flood record {number + 1} of {lines}", buffer=buffer)


async def hang_forever() -> None:
    """A command that never returns: only the host closing the stream (cancellation) ends it."""
    await asyncio.get_running_loop().create_future()
