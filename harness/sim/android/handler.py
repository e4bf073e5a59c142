"""Java threads with a message queue (android.os.Looper/Handler) on the device scheduler.

A `Looper` runs one message at a time, in the order messages arrive (FIFO, like a Handler
with no delayed messages). Handling a message first costs a sample of the looper's latency
distribution; the message's function then runs. A function may be a plain callable or a
generator: a generator `yield`s a delay in seconds whenever the Java code would block (a netd
command on the socket, a binder call) and the looper resumes it after that delay, still busy,
so messages behind it wait, exactly what makes ConnectivityService's queue a bottleneck.

`yield from` composes blocking calls: `reply = yield from nms.execute(...)`. A generator may
also `yield` an `Event`: the thread then blocks until someone sets it (a CountDownLatch, e.g.
Android 9+'s `IpClient.awaitShutdown()`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from harness.sim.android.timing import Latency

if TYPE_CHECKING:
    from harness.sim.android.system import AndroidSystem
    from harness.sim.clock import Timer

Blocking = Generator["float | Event", None, Any]   # yields delays (s) or Events; returns a result


class Event:
    """A one-shot latch a looper thread can block on (`yield event`)."""

    def __init__(self) -> None:
        self.is_set = False
        self._waiters: list[Callable[[], None]] = []

    def set(self) -> None:
        if self.is_set:
            return
        self.is_set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter()

    def on_set(self, waiter: Callable[[], None]) -> None:
        if self.is_set:
            waiter()
        else:
            self._waiters.append(waiter)


@dataclass
class _Message:
    what: str
    fn: Callable[..., Any]
    args: tuple


class Looper:
    def __init__(self, system: "AndroidSystem", process: str, thread: str,
                 cost: Latency | None = None) -> None:
        self.system = system
        self.process = process
        self.thread = thread
        self.cost = cost
        self.queue: deque[_Message] = deque()
        self.current: str | None = None          # `what` of the message being handled
        self._running: Blocking | None = None
        self._timer: "Timer | None" = None
        self._in_flight: list["Timer"] = []
        self._stepping = False
        self.alive = True
        system.loopers.append(self)

    # -- posting ------------------------------------------------------------------------------
    def post(self, fn: Callable[..., Any], *args: Any, what: str = "", delay: float = 0.0) -> None:
        """Queue `fn(*args)`; `delay` is the transit time before it reaches the queue."""
        if not self.alive:
            return
        message = _Message(what or getattr(fn, "__name__", "message"), fn, args)
        if delay > 0:
            timer = self.system.scheduler.call_later(delay, self._arrive, message)
            self._in_flight.append(timer)
        else:
            self._arrive(message)

    def post_from_other_thread(self, fn: Callable[..., Any], *args: Any, what: str = "") -> None:
        """A Handler post from another thread: arrives after the handler-post latency."""
        self.post(fn, *args, what=what, delay=self.system.sample("handler_post_ms"))

    def _arrive(self, message: _Message) -> None:
        if not self.alive:
            return
        self._in_flight = [t for t in self._in_flight if not t.cancelled and t.when > self.system.scheduler.now()]
        self.queue.append(message)
        if self.current is None:
            self._next()

    # -- running ------------------------------------------------------------------------------
    def _next(self) -> None:
        if not self.alive or not self.queue:
            self.current = None
            return
        message = self.queue.popleft()
        self.current = message.what
        delay = self.cost.sample(self.system.rng) if self.cost is not None else 0.0
        self._schedule(delay, self._start, message)

    def _start(self, message: _Message) -> None:
        result = message.fn(*message.args)
        if isinstance(result, Generator):
            self._running = result
            self._resume(None)
        else:
            self._next()

    def _resume(self, _value: Any) -> None:
        running = self._running
        if running is None:
            return
        self._stepping = True
        try:
            step = next(running)
        except StopIteration:
            self._running = None
            self._next()
            return
        finally:
            self._stepping = False
        if isinstance(step, Event):
            def wake() -> None:
                if self._running is running:
                    self._schedule(0.0, self._resume, None)
            step.on_set(wake)
        else:
            self._schedule(max(0.0, float(step)), self._resume, None)

    def _schedule(self, delay: float, fn: Callable[..., None], arg: Any) -> None:
        self._timer = self.system.scheduler.call_later(delay, fn, arg)

    def quit(self) -> None:
        """The thread dies (its process was killed): nothing queued or in flight runs."""
        self.alive = False
        if self._timer is not None:
            self._timer.cancel()
        for timer in self._in_flight:
            timer.cancel()
        if self._running is not None and not self._stepping:   # a thread may quit itself
            self._running.close()
        self._running = None
        self.queue.clear()
        self.current = None

    # -- logging as this thread ---------------------------------------------------------------
    def log(self, priority: str, tag: str, message: str, buffer: str = "main") -> None:
        self.system.log(self.process, priority, tag, message, thread=self.thread, buffer=buffer)
