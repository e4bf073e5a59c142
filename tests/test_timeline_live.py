"""Timeline sources against a virtual device through the real adb server: the track-devices
watcher sees the transport go and come back, and the device clock reading places the device's
log lines on the host clock."""

from __future__ import annotations

import time

import pytest

from harness.adb_server import AdbServer
from harness.device import Device
from harness.logs.logcat import LogcatService
from harness.sim.farm import SimFarm
from harness.timeline import ADB, LOGCAT, ClockSync, Timeline, TransportWatcher

PROFILE = "sim-android-8.1-fixed"
CLOCK_SCALE = 0.2


@pytest.fixture(scope="module")
def adb_server():
    with AdbServer.start() as server:
        yield server


@pytest.fixture(scope="module")
def farm():
    with SimFarm(PROFILE, count=1, clock_scale=CLOCK_SCALE) as farm:
        yield farm


@pytest.fixture(scope="module")
def device(adb_server, farm):
    serial = farm.serials[0]
    adb_server.connect(serial, timeout=15)
    device = Device(serial, adb_server)
    device.wait_for_boot(timeout=60)
    return device


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_clock_reading_of_a_virtual_device(device):
    before = time.time()
    sync = ClockSync.measure(device)
    after = time.time()
    assert before <= sync.host_time <= after
    assert sync.utc_offset_s == 0                      # the virtual device's zone is UTC
    assert sync.uncertainty_s < 5                      # toybox date has %N
    assert sync.device_time > 1_000_000_000


def test_watcher_records_the_transport_going_and_coming_back(adb_server, farm, device):
    timeline = Timeline(device.serial)
    with TransportWatcher(adb_server.host, adb_server.port, timeline, serials={device.serial}).start():
        farm.control("restart", serial=device.serial, down_s=0.2)
        wait_until(lambda: any(e.text == f"{device.serial} offline" for e in timeline.events()))
        device.wait_for_boot(timeout=60)
    states = [e.text.removeprefix(device.serial + " ") for e in timeline.events() if e.source == ADB]
    assert states[0] == "device (when watching began)"
    assert states[1] == "offline"
    assert states[-1] == "device"
    assert all(not s.startswith("track-devices") for s in states), states


def test_watcher_ignores_other_serials(adb_server, device):
    timeline = Timeline()
    with TransportWatcher(adb_server.host, adb_server.port, timeline, serials={"127.0.0.1:1"}).start():
        pass
    assert [e.text for e in timeline.events()] == ["127.0.0.1:1 absent (when watching began)"]


def test_watcher_records_a_dead_adb_server_and_stops_promptly():
    dead = AdbServer.start()
    dead.stop()
    timeline = Timeline()
    watcher = TransportWatcher(dead.host, dead.port, timeline).start()
    time.sleep(2.5)                                     # two more failed attempts: not recorded again
    watcher.stop()
    (event,) = timeline.events()
    assert event.text.startswith(f"track-devices on {dead.host}:{dead.port} ended: ")
    assert event.text.endswith("; retrying every second")


def test_device_log_lines_land_between_the_actions_that_caused_them(device):
    timeline = Timeline(device.serial)
    with LogcatService(device, start_from="now") as logcat:
        timeline.follow_logcat(logcat)
        timeline.sync_clock(device, logcat)
        with timeline.action("adb root (adbd logs that it restarts)"):
            mark = logcat.mark()
            device.root()
            logcat.wait_for(r"adbd restarting as root", timeout=20, since=mark)
        with timeline.action("after"):
            pass
        events = timeline.events()
    probe = next(e for e in events if e.source == LOGCAT and "adbd restarting as root" in e.text)
    action, after = (e for e in events if e.source == "harness")
    # placed by the measured offset: within the action, up to the reading's uncertainty
    slack = timeline.clock_syncs[0].uncertainty_s + 0.002
    assert action.time - slack <= probe.time <= after.time + slack
