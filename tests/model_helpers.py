"""Shared by the Android-model, logcat and dumpsys tests: boot virtual devices in virtual time,
judge how a boot ended, run one tool as the shell would."""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass

import harness.sim.tools  # noqa: F401  (registers the tools)
from harness.sim.android.logd import LogRecord
from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.profile import SimProfile, load_sim_profile
from harness.sim.shell.api import REGISTRY, BufferOutput, Input, Proc

BUGGY = "sim-android-8.1-buggy"
FIXED = "sim-android-8.1-fixed"
EPOCH = 1777541147.0            # 2026-04-30 09:25:47 UTC: the incident note's clock
SETTLED_S = 5.0                 # every boot of the 8.1 profiles has settled by then
EBUSY_LINE = re.compile(
    r"Exception adding interface: java\.lang\.IllegalStateException: command '(\d+) network "
    r"interface add (\d+) eth0' failed with '400 (\d+) addInterfaceToNetwork\(\) failed "
    r"\(Device or resource busy\)'")


@functools.lru_cache(maxsize=None)
def profile(name: str) -> SimProfile:
    """A profile loaded once (profiles are frozen)."""
    return load_sim_profile(name)


def profile_with(name: str, *, timing: dict | None = None, boot: dict | None = None,
                 **sim: object) -> SimProfile:
    """A profile with some `sim` settings replaced (model_copy keeps the others)."""
    base = profile(name)
    section = base.sim
    changes: dict[str, object] = dict(sim)
    if timing:
        changes["timing"] = section.timing.model_copy(update=timing)
    if boot:
        changes["boot"] = section.boot.model_copy(update=boot)
    return base.model_copy(update={"sim": section.model_copy(update=changes)})


def boot(which: SimProfile | str, index: int = 0, until: float = SETTLED_S) -> VirtualDevice:
    """Power a device on and run its scheduler to `until` device seconds."""
    chosen = profile(which) if isinstance(which, str) else which
    scheduler = Scheduler(realtime=False, epoch=EPOCH)
    device = VirtualDevice(chosen, index=index, scheduler=scheduler)
    scheduler.run_until(until)
    return device


def records(device: VirtualDevice, buffers: tuple[str, ...] = ("main", "system")) -> list[LogRecord]:
    assert device.android is not None
    return device.android.logd.records(buffers)


@dataclass(frozen=True)
class Outcome:
    reproduced: bool          # the last connect met EBUSY: CS default network, eth0 in none
    network_up: bool          # eth0 is in netd's default network, the one CS uses
    default_net_id: int | None
    eth0_net_id: int
    ebusy_lines: tuple[str, ...]


def outcome(device: VirtualDevice) -> Outcome:
    android = device.android
    assert android is not None and android.system_server is not None and android.netd is not None
    default = android.system_server.cs.default_network()
    eth0 = android.netd.iface_net("eth0")
    ebusy = tuple(r.message for r in records(device) if EBUSY_LINE.search(r.message))
    default_id = default.net_id if default is not None else None
    up = default is not None and eth0 == default.net_id == android.netd.default_net_id
    reproduced = default is not None and eth0 == 0 and bool(ebusy)
    return Outcome(reproduced, up, default_id, eth0, ebusy)


def run_tool(device: VirtualDevice, argv: list[str], *, uid: int = 2000,
             env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run one tool to completion: (status, stdout, stderr)."""
    out, err = BufferOutput(), BufferOutput()
    proc = Proc(list(argv), Input.of(b""), out, err, device, dict(env or {}), uid)
    status = asyncio.run(REGISTRY[argv[0]].run(proc))
    return status, out.data.decode(), err.data.decode()
