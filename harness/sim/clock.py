"""Device time for the virtual device: a discrete-event scheduler.

The Android model (kernel, netd, system_server, IpManager...) never sleeps or reads the host
clock. It schedules callbacks at device times. Events run in (time, insertion) order and, while
an event runs, `now()` is the event's scheduled time. So what happens in a boot depends only on
the profile's latency distributions and its seed, never on how loaded the host is; a busy host
only delays when the outcome becomes visible.

Two drivers share the model code:
- `Scheduler(realtime=False)`: tests drive it with `run_until()` / `run_until_idle()`, so
  hundreds of simulated boots take milliseconds.
- `Scheduler(realtime=True, scale=s)`: an asyncio loop plays events back; device time runs at
  1/s of host speed (s=0.25 makes a 2 s boot take 0.5 s of wall time).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(order=True)
class Timer:
    when: float
    seq: int
    callback: Callable[..., Any] = field(compare=False)
    args: tuple = field(compare=False, default=())
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, *, realtime: bool = False, scale: float = 1.0,
                 epoch: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("clock scale must be > 0")
        self.realtime = realtime
        self.scale = scale
        # Device wall clock at device time 0 (seconds since the Unix epoch).
        self.epoch = time.time() if epoch is None else epoch
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._now = 0.0
        self._dispatching = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_t0 = 0.0
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at: float | None = None
        if realtime:
            self._loop = asyncio.get_running_loop()
            self._loop_t0 = self._loop.time()

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> float:
        """Current device time in seconds. Inside an event: that event's time."""
        if self.realtime and not self._dispatching:
            self._run_due(self._wall_vtime())
            self._now = max(self._now, self._wall_vtime())
        return self._now

    def wall_clock(self, at: float | None = None) -> float:
        """Device wall-clock time (Unix seconds) of device time `at` (default: now)."""
        return self.epoch + (self.now() if at is None else at)

    def _wall_vtime(self) -> float:
        assert self._loop is not None
        return (self._loop.time() - self._loop_t0) / self.scale

    def host_seconds(self, device_seconds: float) -> float:
        """How long `device_seconds` of device time lasts on the host."""
        return device_seconds * self.scale if self.realtime else 0.0

    # -- scheduling ---------------------------------------------------------------------------
    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(max(when, self._now), next(self._seq), callback, args)
        heapq.heappush(self._heap, timer)
        if self.realtime:
            self._arm()
        return timer

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now() + max(0.0, delay), callback, *args)

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_later(0.0, callback, *args)

    async def sleep(self, delay: float) -> None:
        """Wait `delay` device seconds (realtime only): other devices and sessions go on."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_later(delay, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def pending(self) -> int:
        return sum(1 for t in self._heap if not t.cancelled)

    def next_event_time(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None

    # -- drivers ------------------------------------------------------------------------------
    def run_until(self, when: float) -> None:
        """Virtual driver: run every event up to device time `when`."""
        self._run_due(when)
        self._now = max(self._now, when)

    def run_until_idle(self, limit: float = 3600.0) -> None:
        """Virtual driver: run events until none is left or device time passes `limit`."""
        while (t := self.next_event_time()) is not None and t <= limit:
            self._run_due(t)

    def _run_due(self, until: float) -> None:
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._heap and self._heap[0].when <= until:
                timer = heapq.heappop(self._heap)
                if timer.cancelled:
                    continue
                self._now = max(self._now, timer.when)
                timer.callback(*timer.args)
        finally:
            self._dispatching = False

    def _arm(self) -> None:
        nxt = self.next_event_time()
        if nxt is None or (self._wakeup_at is not None and self._wakeup_at <= nxt):
            return
        if self._wakeup is not None:
            self._wakeup.cancel()
        assert self._loop is not None
        self._wakeup_at = nxt
        self._wakeup = self._loop.call_at(self._loop_t0 + nxt * self.scale, self._on_wakeup)

    def _on_wakeup(self) -> None:
        self._wakeup = None
        self._wakeup_at = None
        self._run_due(self._wall_vtime())
        self._arm()

    def close(self) -> None:
        self._heap.clear()
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
            self._wakeup_at = None
