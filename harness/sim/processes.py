"""The virtual device's process table: stable pids/tids per process, as `ps` and logcat show."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Process:
    pid: int
    name: str
    uid: str = "root"
    ppid: int = 1
    threads: dict[str, int] = field(default_factory=dict)   # thread name -> tid

    def tid(self, thread: str = "main") -> int:
        return self.pid if thread == "main" else self.threads.setdefault(thread, self.pid + 1 + len(self.threads))


class ProcessTable:
    def __init__(self) -> None:
        self._by_pid: dict[int, Process] = {}
        self._next_pid = 1

    def spawn(self, name: str, *, uid: str = "root", ppid: int = 1, pid: int | None = None,
              threads: dict[str, int] | None = None) -> Process:
        if pid is None:
            pid = self._next_pid
        self._next_pid = max(self._next_pid, pid + 1 + len(threads or {}) + 16)
        proc = Process(pid, name, uid, ppid, dict(threads or {}))
        self._by_pid[pid] = proc
        return proc

    def kill(self, pid: int) -> Process | None:
        return self._by_pid.pop(pid, None)

    def find(self, name: str) -> Process | None:
        return next((p for p in self._by_pid.values() if p.name == name), None)

    def get(self, pid: int) -> Process | None:
        return self._by_pid.get(pid)

    def all(self) -> list[Process]:
        return sorted(self._by_pid.values(), key=lambda p: p.pid)

    def clear(self) -> None:
        self._by_pid.clear()
        self._next_pid = 1
