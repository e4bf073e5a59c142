"""Processes the shell starts (each `sh`, each command it runs, background jobs).

They live beside the model's process table (device.processes) rather than in it, so that
adb activity never shifts the pids the Android model hands out. `ps` shows both tables and
`kill` reaches both. A process belongs to one boot: after a reboot it is gone.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

FIRST_SHELL_PID = 4000      # above what the model's boot hands out; like a device up a while


@dataclass(eq=False)
class ShellProcess:
    pid: int
    ppid: int
    name: str
    uid: int
    boot: int
    task: asyncio.Task | None = None
    killed_by: int | None = None           # the signal that ended it, if any

    @property
    def user(self) -> str:
        return user_name(self.uid)

    def kill(self, signal: int) -> None:
        """Deliver a fatal signal: the task running the process is cancelled. A shell that
        signals itself (`kill $$`) is not cancelled mid-command: it dies at its next step."""
        self.killed_by = signal
        if self.task is not None and not self.task.done() and self.task is not asyncio.current_task():
            self.task.cancel()


class ShellProcessTable:
    def __init__(self, device: "VirtualDevice") -> None:
        self._device = weakref.ref(device)
        self._by_pid: dict[int, ShellProcess] = {}
        self._next_pid = FIRST_SHELL_PID

    def spawn(self, name: str, *, uid: int, ppid: int,
              task: asyncio.Task | None = None) -> ShellProcess:
        device = self._device()
        assert device is not None
        pid = self._allocate(device)
        proc = ShellProcess(pid, ppid, name, uid, device.boot_count, task)
        self._by_pid[pid] = proc
        return proc

    def _allocate(self, device: "VirtualDevice") -> int:
        while self._next_pid in self._by_pid or device.processes.get(self._next_pid) is not None:
            self._next_pid += 1
        pid = self._next_pid
        self._next_pid += 1
        return pid

    def exit(self, proc: ShellProcess) -> None:
        self._by_pid.pop(proc.pid, None)

    def get(self, pid: int) -> ShellProcess | None:
        proc = self._by_pid.get(pid)
        return proc if proc is not None and self._current(proc) else None

    def all(self) -> list[ShellProcess]:
        return [p for p in sorted(self._by_pid.values(), key=lambda p: p.pid) if self._current(p)]

    def _current(self, proc: ShellProcess) -> bool:
        device = self._device()
        return device is not None and device.android is not None and proc.boot == device.boot_count


_TABLES: "weakref.WeakKeyDictionary[VirtualDevice, ShellProcessTable]" = weakref.WeakKeyDictionary()


def shell_processes(device: "VirtualDevice") -> ShellProcessTable:
    table = _TABLES.get(device)
    if table is None:
        table = _TABLES[device] = ShellProcessTable(device)
    return table


# Android's fixed uids (system/core/include/private/android_filesystem_config.h).
AID_NAMES = {0: "root", 1000: "system", 1001: "radio", 1002: "bluetooth", 1004: "input",
             1007: "log", 1010: "wifi", 1011: "adb", 1013: "media", 1015: "sdcard_rw",
             1021: "gps", 1028: "sdcard_r", 1036: "logd", 1078: "ext_data_rw",
             1079: "ext_obb_rw", 2000: "shell", 3001: "net_bt_admin", 3002: "net_bt",
             3003: "inet", 3004: "net_raw", 3005: "net_admin", 3006: "net_bw_stats",
             3009: "readproc", 3011: "uhid", 9999: "nobody"}
AID_BY_NAME = {name: uid for uid, name in AID_NAMES.items()}


def user_name(uid: int) -> str:
    if uid in AID_NAMES:
        return AID_NAMES[uid]
    if uid >= 10000:
        return f"u{uid // 100000}_a{uid % 100000 - 10000}"
    return str(uid)
