"""Devices in parallel: one worker thread per device, shared stop conditions, live progress.

Each group (one for a plain run, A and B for a comparison) has its own iteration and
reproduction limits; the duration limit is shared. A worker claims an iteration number before it
starts one, so `--iterations N` runs exactly N (fewer only when every device of the group is
excluded); iterations in flight when a limit is reached still finish. One device's failure never
stops another: a lost device is reconnected within its boot bound, and excluded with the reason
when it does not come back (or fails MAX_INFRA_IN_A_ROW iterations in a row). A dead adb server
(RunAborted) stops every worker: the run is an infrastructure failure.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.errors import HarnessError, RootUnavailable
from harness.repro.loop import RunAborted, check_server, recover, run_iteration
from harness.repro.network import await_network
from harness.repro.outcome import IterationRecord
from harness.repro.session import DeviceSession, IterationSettings, error_text
from harness.repro.stimulus import FlapStimulus
from harness.timeline import ClockSync

MAX_INFRA_IN_A_ROW = 3
JOIN_POLL_S = 0.2
INTERRUPT_GRACE_S = 30.0    # Ctrl-C: iterations in flight may finish (their reports are kept)


@dataclass(frozen=True)
class StopPlan:
    iterations: int | None = None       # per group
    reproductions: int | None = None    # per group
    duration_s: float | None = None     # whole run

    def __post_init__(self) -> None:
        if self.iterations is None and self.reproductions is None and self.duration_s is None:
            raise ValueError("a run needs a limit: iterations, reproductions or duration")


@dataclass
class Group:
    name: str                           # "" for a plain run, "A" / "B" when comparing
    profile: str
    sessions: list[DeviceSession]
    settings: IterationSettings
    claimed: int = 0
    records: list[IterationRecord] = field(default_factory=list)

    @property
    def reproductions(self) -> int:
        return sum(1 for r in self.records if r.reproduced)


class RunState:
    """What the workers share; every method is thread-safe."""

    def __init__(self, groups: list[Group], plan: StopPlan,
                 on_record: Callable[[Group, IterationRecord], None] | None = None) -> None:
        self.groups = groups
        self.plan = plan
        self.on_record = on_record
        self.started = time.monotonic()
        self.stop_reason: str | None = None
        self.aborted: RunAborted | None = None
        self.stopping = False
        self._next_index = 0
        self._lock = threading.Lock()

    def claim(self, group: Group) -> int | None:
        with self._lock:
            if self.aborted is not None or self.stopping:
                return None
            if self.plan.duration_s is not None and time.monotonic() - self.started >= self.plan.duration_s:
                self.stop_reason = self.stop_reason or f"duration of {self.plan.duration_s:g}s reached"
                return None
            if self.plan.iterations is not None and group.claimed >= self.plan.iterations:
                self._group_done(group, f"{self.plan.iterations} iterations")
                return None
            if self.plan.reproductions is not None and group.reproductions >= self.plan.reproductions:
                self._group_done(group, f"{self.plan.reproductions} reproductions")
                return None
            group.claimed += 1
            self._next_index += 1
            return self._next_index

    def _group_done(self, group: Group, what: str) -> None:
        if self.stop_reason is None or len(self.groups) > 1:
            label = f"group {group.name}: " if group.name else ""
            reason = f"{label}{what} reached"
            if self.stop_reason is None:
                self.stop_reason = reason
            elif reason not in self.stop_reason:
                self.stop_reason += "; " + reason

    def add(self, group: Group, record: IterationRecord) -> None:
        with self._lock:
            group.records.append(record)
        if self.on_record is not None:
            self.on_record(group, record)

    def request_stop(self, reason: str) -> None:
        with self._lock:
            self.stopping = True
            self.stop_reason = reason

    def abort(self, error: RunAborted) -> None:
        with self._lock:
            if self.aborted is None:
                self.aborted = error
                self.stop_reason = f"infrastructure failure: {error}"


def run(groups: list[Group], plan: StopPlan,
        on_record: Callable[[Group, IterationRecord], None] | None = None) -> RunState:
    """Run every device of every group until the plan says stop; returns the shared state."""
    state = RunState(groups, plan, on_record)
    threads = [threading.Thread(target=_worker, args=(state, group, session), daemon=True,
                                name=f"repro-{session.serial}")
               for group in groups for session in group.sessions if session.excluded is None]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):      # short joins: Ctrl-C reaches the main thread
            for thread in threads:
                thread.join(JOIN_POLL_S)
    except KeyboardInterrupt:
        state.request_stop("interrupted (Ctrl-C)")
        deadline = time.monotonic() + INTERRUPT_GRACE_S
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    if state.stop_reason is None:
        state.stop_reason = "every device was excluded" if all(
            s.excluded for g in groups for s in g.sessions) else "done"
    for group in groups:
        group.records.sort(key=lambda r: r.index)
    return state


def _worker(state: RunState, group: Group, session: DeviceSession) -> None:
    settings = group.settings
    try:
        why = prepare(session, settings)
        if why is not None:
            session.exclude(why)
            return
        infra_in_a_row = 0
        while session.excluded is None and (index := state.claim(group)) is not None:
            record = run_iteration(session, settings, index)
            state.add(group, record)
            if record.outcome.is_trial:
                infra_in_a_row = 0
                if record.outcome.is_failure and settings.needs_network_first:
                    why = recover(session, settings)
                    if why is not None:
                        session.exclude(why)
                continue
            infra_in_a_row += 1
            why = revive(session, settings)
            if why is None and infra_in_a_row >= MAX_INFRA_IN_A_ROW:
                why = f"{infra_in_a_row} iterations in a row ended in {record.outcome}: {record.reason}"
            if why is not None:
                session.exclude(why)
    except RunAborted as e:
        state.abort(e)
    except Exception as e:          # a harness bug on one device must not take the others down
        session.exclude(f"internal error: {type(e).__name__}: {e}\n{traceback.format_exc()}")


def needs_root(settings: IterationSettings) -> bool:
    """Flaps and `stop; start` need root; restarts do not (and re-rooting after each one costs
    an adbd restart)."""
    return isinstance(settings.stimulus, FlapStimulus) or settings.stimulus.method == "framework"


def prepare(session: DeviceSession, settings: IterationSettings) -> str | None:
    """Booted, root when the stimulus needs it, streams open, network up before link flaps.
    Returns why the device cannot take part (it is then excluded), or None."""
    device = session.device
    try:
        device.wait_for_boot(timeout=settings.boot_timeout_s)
        if needs_root(settings):
            try:
                device.root()
            except RootUnavailable as e:
                return f"{settings.stimulus.method} needs root: {e.message}"
        session.open()
        assert session.logcat is not None
        session.last_sync = ClockSync.measure(device, log_mark=session.logcat.mark())
    except HarnessError as e:
        check_server(device, e)
        return f"not ready: {error_text(e)}"
    if settings.needs_network_first:
        return recover_if_needed(session, settings)
    return None


def recover_if_needed(session: DeviceSession, settings: IterationSettings) -> str | None:
    assert session.logcat is not None
    wait = await_network(session.device, session.logcat, session.logcat.mark(),
                         bound_s=settings.network_bound_s, settle_s=settings.settle_s,
                         registry=settings.registry, targets=settings.targets, interface=settings.interface,
                         android=session.android)
    return None if wait.up else recover(session, settings)


def revive(session: DeviceSession, settings: IterationSettings) -> str | None:
    """After a lost device or a boot timeout: reconnect and wait for the boot, within the boot
    bound. Returns why it did not come back, or None."""
    device = session.device
    try:
        device.reconnect(timeout=settings.boot_timeout_s)
        device.wait_for_boot(timeout=settings.boot_timeout_s)
        if needs_root(settings):
            device.root()
    except RootUnavailable:
        pass                                # the next iteration's stimulus tells whether it matters
    except HarnessError as e:
        check_server(device, e)
        return f"lost: did not come back within {settings.boot_timeout_s:g}s ({error_text(e)})"
    if settings.needs_network_first:
        return recover_if_needed(session, settings)
    return None

