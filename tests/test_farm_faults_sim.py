"""Faults of the virtual device (harness/sim/faults.py), switched through the farm's control
channel and from profiles, seen through the real adb server as a farm host would see them."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from harness.device import Device
from harness.embedded import EmbeddedDevices
from harness.errors import CommandTimeout, DeviceUnavailable
from harness.sim.farm import FarmError

PROFILE = "sim-android-8.1-fixed"
CLOCK_SCALE = 0.25
WAIT_S = 20.0
LINES = "for n in $(seq 1 1000); do echo line-$n; done"     # one write per line


@pytest.fixture(scope="module")
def lab():
    with EmbeddedDevices(PROFILE, count=6, clock_scale=CLOCK_SCALE) as lab:
        devices = lab.devices(default_timeout=10.0)
        for device in devices:
            device.wait_for_boot(30.0)
        yield lab, devices


def control(lab, op: str, device: Device, **args):
    return lab[0].farm.control(op, serial=device.serial, **args)


def wait_until(predicate, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def fault_events(lab, device: Device, fault: str) -> list[dict]:
    return [e for e in control(lab, "faults", device)["events"] if e["fault"] == fault]


def test_transport_drop_at_command_start_loses_the_device_until_cleared(lab):
    device = lab[1][0]
    control(lab, "fault", device, set={"transport_drop": {"after_bytes": 0}})
    try:
        with pytest.raises(DeviceUnavailable):
            device.run("echo hi", timeout=5.0)
        (event, *_) = fault_events(lab, device, "transport_drop")
        assert event["detail"] == "TCP connection dropped at the start of the command: 'shell,v2,raw:echo hi'"
        assert control(lab, "faults", device)["settings"] == {"transport_drop": {"after_bytes": 0}}
    finally:
        control(lab, "fault", device, clear=True)
    device.reconnect(timeout=WAIT_S)
    assert device.run("echo hi").text == "hi"
    assert control(lab, "faults", device)["settings"] == {}


def test_transport_drop_after_some_output_keeps_the_partial_output_as_evidence(lab):
    device = lab[1][1]
    control(lab, "fault", device, set={"transport_drop": {"after_bytes": 2000}})
    try:
        with pytest.raises(DeviceUnavailable) as lost:
            device.run(LINES, timeout=5.0)
    finally:
        control(lab, "fault", device, clear=True)
    partial, complete = lost.value.evidence.stdout, "".join(f"line-{n}\n" for n in range(1, 1001))
    assert partial and complete.startswith(partial) and len(partial) < len(complete)
    (event,) = fault_events(lab, device, "transport_drop")
    assert re.fullmatch(rf"TCP connection dropped after \d+ bytes of output: 'shell,v2,raw:{re.escape(LINES)}'",
                        event["detail"]), event["detail"]
    device.reconnect(timeout=WAIT_S)


def test_transport_drop_probability_drops_some_commands_and_not_others(lab):
    device = lab[1][2]
    control(lab, "fault", device, set={"transport_drop": {"after_bytes": 0, "probability": 0.5}})
    outcomes = []
    try:
        for _ in range(16):
            try:
                device.run("true", timeout=5.0)
                outcomes.append("ok")
            except DeviceUnavailable:
                outcomes.append("dropped")
                device.reconnect(timeout=WAIT_S)
    finally:
        control(lab, "fault", device, clear=True)
    assert "ok" in outcomes and "dropped" in outcomes, outcomes
    assert control(lab, "faults", device)["counts"]["transport_drop"] == outcomes.count("dropped")


def test_hanging_command_times_out_while_the_shell_still_answers(lab):
    device = lab[1][3]
    control(lab, "fault", device, set={"hang": {"command": "dumpsys *"}})
    try:
        with pytest.raises(CommandTimeout):
            device.run("dumpsys connectivity", timeout=1.0)
        assert device.run("true", timeout=5.0).ok
        (event,) = fault_events(lab, device, "hang")
        assert event["detail"] == "command never returns: 'dumpsys connectivity'"
    finally:
        control(lab, "fault", device, clear=True)
    assert device.run("dumpsys connectivity", timeout=10.0).ok


def test_slow_device_delivers_everything_in_order(lab):
    device = lab[1][4]
    control(lab, "fault", device, set={"latency_ms": 40})
    try:
        assert device.run("seq 1 3000", timeout=20.0).stdout == "".join(f"{n}\n" for n in range(1, 3001))
        assert control(lab, "faults", device)["settings"] == {"latency_ms": 40.0}
    finally:
        control(lab, "fault", device, clear=True)


def _pid(device: Device, name: str) -> int | None:
    for line in device.run("ps -A -o PID,NAME").stdout.splitlines()[1:]:
        pid, _, process = line.strip().partition(" ")
        if process.strip() == name:
            return int(pid)
    return None


def test_netd_crash_is_restarted_by_init_with_a_new_pid(lab):
    device = lab[1][5]
    before = _pid(device, "netd")
    control(lab, "netd_crash", device)
    (event,) = fault_events(lab, device, "netd_crash")
    assert event["detail"] == f"netd (pid {before}) killed with signal 9"
    wait_until(lambda: _pid(device, "netd") not in (None, before), "init to restart netd")
    assert device.getprop("init.svc.netd") == "running"


def test_adbd_restart_drops_the_transport_and_it_comes_back(lab):
    device = lab[1][5]
    control(lab, "adbd_restart", device)
    assert fault_events(lab, device, "adbd_restart")
    device.reconnect(timeout=WAIT_S)
    assert device.run("echo back").text == "back"


def test_log_flood_wraps_the_ring_buffer(lab):
    device = lab[1][4]
    first = device.run("logcat -d -b main").stdout.splitlines()[1]
    control(lab, "log_flood", device, lines=20000, buffer="main")
    lines = device.run("logcat -d -b main", timeout=20.0).stdout.splitlines()
    assert first not in lines, "the oldest record survived 20000 new ones in a 256 KiB ring"
    assert lines[-1].endswith("FaultFlood: flood record 20000 of 20000")
    with pytest.raises(FarmError, match="buffer must be one of main, radio, events, system, crash, got 'nope'"):
        control(lab, "log_flood", device, buffer="nope")


def test_spontaneous_reboot_after_a_delay(lab):
    device = lab[1][3]
    boots = {d["serial"]: d["boot_count"] for d in lab[0].farm.control("status")["devices"]}
    control(lab, "reboot_after", device, delay_s=0.5)
    wait_until(lambda: {d["serial"]: d["boot_count"] for d in lab[0].farm.control("status")["devices"]}
               [device.serial] == boots[device.serial] + 1, "the reboot")
    device.wait_for_boot(WAIT_S)
    assert fault_events(lab, device, "reboot")[0]["detail"] == "spontaneous reboot"


def test_bad_fault_settings_are_refused_with_the_reason(lab):
    device = lab[1][0]
    with pytest.raises(FarmError, match=r"bad fault settings: transport_drop.probability: Input should be less "
                                        r"than or equal to 1"):
        control(lab, "fault", device, set={"transport_drop": {"probability": 2}})
    with pytest.raises(FarmError, match=r"bad fault settings: explode: Extra inputs are not permitted"):
        control(lab, "fault", device, set={"explode": True})
    with pytest.raises(FarmError, match=r'expected \{"set": \{fault settings\}\} or \{"clear": true\}'):
        control(lab, "fault", device)


def test_profile_faults_a_device_that_never_finishes_booting(tmp_path: Path):
    source = Path(__file__).resolve().parents[1] / "device_profiles" / f"{PROFILE}.yaml"
    text = source.read_text().replace(f"name: {PROFILE}", "name: never-boots")
    assert "\nsim:\n" in text
    text = text.replace("\nsim:\n", "\nsim:\n  faults: {boot_hang: true}\n", 1)
    profile = tmp_path / "never-boots.yaml"
    profile.write_text(text)
    with EmbeddedDevices(str(profile), clock_scale=CLOCK_SCALE) as lab:
        (device,) = lab.devices()
        wait_until(lambda: device.state() == "device", "adbd")
        time.sleep(1.0)        # well past the profile's 1.5 s (device time) boot
        assert device.run("getprop sys.boot_completed").text == ""
        events = lab.farm.control("faults", serial=device.serial)["events"]
        assert [e["fault"] for e in events] == ["boot_hang"]


# -- timed faults from a profile, in virtual time ---------------------------------------------------

def _booted_with(faults: dict, until: float):
    from model_helpers import FIXED, boot, profile_with

    from harness.sim.faults import FaultSettings
    return boot(profile_with(FIXED, faults=FaultSettings.model_validate(faults)), until=until)


def test_profile_faults_fire_once_at_their_device_time():
    device = _booted_with({"reboot_after_s": 3.0, "netd_crash_after_s": 2.0, "adbd_restart_after_s": 1.0}, 2.5)
    assert [e.fault for e in device.faults.events] == ["adbd_restart", "netd_crash"]
    assert device.boot_count == 1
    device.scheduler.run_until(10.0)
    assert [(e.fault, e.time) for e in device.faults.events] == [
        ("adbd_restart", 1.0), ("netd_crash", 2.0), ("reboot", 3.0)]
    assert device.boot_count == 2 and device.faults.counts == {"adbd_restart": 1, "netd_crash": 1, "reboot": 1}
    assert device.props.get("sys.boot_completed") == "1"


def test_profile_log_flood_wraps_the_main_buffer():
    device = _booted_with({"log_flood": {"lines": 20000, "buffer": "main", "after_s": 1.0}}, 0.9)
    first = device.android.logd.records(("main",))[0]
    device.scheduler.run_until(1.1)
    kept = device.android.logd.records(("main",))
    assert first.seq not in {r.seq for r in kept}
    flood = [r.message for r in kept if r.tag == "FaultFlood"]
    assert flood[-1] == "flood record 20000 of 20000" and 0 < len(flood) < 20000   # it wrapped over itself too


def test_transport_drops_are_drawn_from_the_device_seed():
    settings = {"transport_drop": {"after_bytes": 10, "probability": 0.5}}
    one, same, other = (_booted_with(settings, 0.1) for _ in range(3))
    other.faults.rng.seed("another device")
    draws = [[d.faults.drop_after() for _ in range(40)] for d in (one, same, other)]
    assert draws[0] == draws[1] != draws[2]
    assert set(draws[0]) == {None, 10}
