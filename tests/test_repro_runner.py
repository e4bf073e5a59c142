"""The runner against virtual devices: a device killed in the middle of a run is reconnected
within its bound, then excluded with the reason, while the other devices finish the plan."""

from __future__ import annotations

import threading

from harness.logs.signatures import load_registry
from harness.repro.outcome import Outcome
from harness.repro.runner import Group, StopPlan, run
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
