"""The runner: stop conditions (pure), and against virtual devices a device killed in the middle
of a run is reconnected within its bound, then excluded with the reason, while the other devices
finish the plan."""

from __future__ import annotations

import threading

import pytest

from harness.logs.signatures import load_registry
from harness.repro.outcome import IterationRecord, Outcome
from harness.repro.runner import Group, RunState, StopPlan, run
from harness.repro.choices import Timing
from harness.repro.target import settings_for, virtual_target


def test_a_lost_device_is_excluded_and_the_others_go_on(tmp_path):
    target = virtual_target("sim-android-8.1-fixed", 3, clock_scale=0.25)
    try:
        settings = settings_for(target, "container", Timing(boot_timeout=4.0), load_registry(), tmp_path)
        group = Group("", target.profile.name, target.sessions, settings)
        victim = target.sessions[0].serial
        killed = threading.Event()

        def kill_after_first(group: Group, record) -> None:
            if record.serial == victim and not killed.is_set():
                killed.set()
                target.lab.farm.control("kill", serial=victim)

        state = run([group], StopPlan(iterations=12), on_record=kill_after_first)
    finally:
        target.stop()
    records = group.records
    assert len(records) == 12 and state.aborted is None
    lost = [r for r in records if r.serial == victim and r.outcome in (Outcome.DEVICE_LOST, Outcome.BOOT_TIMEOUT)]
    assert len(lost) == 1 and lost[0].artifacts, [(r.serial, r.outcome) for r in records]
    assert lost[0].error is not None and lost[0].error["serial"] == victim
    victim_session = next(s for s in target.sessions if s.serial == victim)
    assert victim_session.excluded and victim_session.excluded.startswith("lost: did not come back within 4s")
    others = [r for r in records if r.serial != victim]
    assert len(others) == 10 and all(r.outcome is Outcome.OK for r in others)
    assert not any(s.excluded for s in target.sessions if s.serial != victim)


def _group(name: str = "") -> Group:
    return Group(name, "sim-android-8.1-buggy", [], settings=None)     # claim() never reads the settings


def _record(index: int, outcome: Outcome) -> IterationRecord:
    return IterationRecord(index=index, serial="127.0.0.1:40001", group="", method="container", outcome=outcome,
                           started_at=0.0, duration_s=1.0)


def test_iterations_limit_is_per_group_and_numbers_are_run_wide():
    a, b = _group("A"), _group("B")
    state = RunState([a, b], StopPlan(iterations=2))
    assert [state.claim(a), state.claim(b), state.claim(a), state.claim(b)] == [1, 2, 3, 4]
    assert state.claim(a) is None and state.claim(b) is None
    assert state.stop_reason == "group A: 2 iterations reached; group B: 2 iterations reached"


def test_reproductions_limit_stops_new_iterations():
    group = _group()
    state = RunState([group], StopPlan(iterations=10, reproductions=1))
    assert state.claim(group) == 1
    state.add(group, _record(1, Outcome.OK))
    assert state.claim(group) == 2
    state.add(group, _record(2, Outcome.KNOWN_REGRESSION))
    assert state.claim(group) is None and state.stop_reason == "1 reproductions reached"


def test_duration_limit_and_stop_request():
    group = _group()
    assert RunState([group], StopPlan(duration_s=1e-9)).claim(group) is None
    state = RunState([group], StopPlan(iterations=5))
    state.request_stop("interrupted (Ctrl-C)")
    assert state.claim(group) is None and state.stop_reason == "interrupted (Ctrl-C)"


def test_a_plan_needs_a_limit():
    with pytest.raises(ValueError, match="a run needs a limit"):
        StopPlan()
