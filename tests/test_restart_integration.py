"""Every restart method against virtual devices through the real adb server: the virtual
device's control channel, `stop; start`, the reboot service, and docker (a fake CLI on PATH that
plays the runtime by restarting the virtual device through its farm). One adb server and one
farm per module; failures are classified with the timeline as evidence."""

from __future__ import annotations

import textwrap

import pytest

from harness.adb_server import AdbServer
from harness.container import (DockerRestarter, FrameworkRestarter, RebootRestarter, RestartSettings,
                               restarter_for)
from harness.container.framework import system_server_pid
from harness.container.sim import SimRestarter
from harness.device import Device
from harness.errors import BootTimeout, DeviceLost, FailureClass
from harness.profiles import ContainerSpec, load_profile
from harness.sim.farm import SimFarm
from harness.timeline import ADB, HARNESS
from test_restart_runtime_cli import install_fake_cli

PROFILE = "sim-android-8.1-fixed"
CLOCK_SCALE = 0.2
SETTINGS = RestartSettings.from_profile(load_profile(PROFILE))


@pytest.fixture(scope="module")
def adb_server():
    with AdbServer.start() as server:
        yield server


@pytest.fixture(scope="module")
def farm():
    with SimFarm(PROFILE, count=2, clock_scale=CLOCK_SCALE) as farm:
        yield farm


def connect(adb_server: AdbServer, serial: str) -> Device:
    adb_server.connect(serial, timeout=15)
    device = Device(serial, adb_server)
    device.wait_for_boot(timeout=60)
    return device


@pytest.fixture(scope="module")
def device(adb_server, farm):
    device = connect(adb_server, farm.serials[0])
    device.root()
    return device


def boot_count(farm: SimFarm, serial: str) -> int:
    return next(d["boot_count"] for d in farm.control("status")["devices"] if d["serial"] == serial)


def texts(result) -> list[str]:
    return [step.text for step in result.steps]


def assert_all_ok(result) -> None:
    assert result.ok, result.timeline.render_text()
    assert [s.outcome for s in result.steps] == ["ok"] * len(result.steps)


def transport_states(result, serial: str) -> list[str]:
    return [e.text.removeprefix(serial + " ") for e in result.timeline.events() if e.source == ADB]


def test_virtual_device_control_restart(farm, device):
    before = boot_count(farm, device.serial)
    restarter = restarter_for(load_profile(PROFILE), farm=farm, down_s=0.3)
    assert isinstance(restarter, SimRestarter)
    result = restarter.restart(device)
    assert_all_ok(result)
    assert texts(result) == [
        f"virtual device control: restart {device.serial} (down 0.3s)",
        f"reconnect {device.serial} (disconnect, then connect)",
        "wait for boot (online, sys.boot_completed=1)",
        "adb root again (the restart started adbd as shell)",
        "read the device clock",
        "wait for network (up to 60s)",
        "read the device clock",
    ]
    assert boot_count(farm, device.serial) == before + 1
    assert device.is_root()
    assert result.boot_s is not None and result.network_s is not None
    states = transport_states(result, device.serial)
    assert states[0] == "device (when watching began)"
    assert "device" in states[states.index(next(s for s in states[1:] if s != "device")):]   # down, then back
    assert len(result.timeline.clock_syncs) == 2
    assert result.to_dict()["failure_class"] is None


def test_reboot_service_waits_for_the_drop_first(farm, device):
    before = boot_count(farm, device.serial)
    result = RebootRestarter(SETTINGS).restart(device)
    assert_all_ok(result)
    assert texts(result)[:4] == [f"adb -s {device.serial} reboot", "wait for the transport to drop",
                                 f"reconnect {device.serial} (disconnect, then connect)",
                                 "wait for boot (online, sys.boot_completed=1)"]
    assert result.steps[1].detail in ("adb state: offline", "adb state: absent")
    assert boot_count(farm, device.serial) == before + 1


def test_framework_restart_keeps_the_transport(farm, device):
    before = boot_count(farm, device.serial)
    old_pid = system_server_pid(device)
    result = FrameworkRestarter(SETTINGS).restart(device)
    assert_all_ok(result)
    assert texts(result) == ["adb shell stop; start (as root)", "wait for a new system_server",
                             "wait for boot (online, sys.boot_completed=1)", "read the device clock",
                             "wait for network (up to 60s)", "read the device clock"]
    assert result.steps[0].detail == f"system_server pid before: {old_pid}"
    new_pid = int(result.steps[1].detail.removeprefix("system_server pid now: "))
    assert new_pid != old_pid and new_pid == system_server_pid(device)
    assert boot_count(farm, device.serial) == before              # no container restart, no reboot
    assert transport_states(result, device.serial) == ["device (when watching began)"]


def test_docker_cli_restarts_the_container(farm, device, tmp_path, monkeypatch):
    fake = install_fake_cli(tmp_path / "bin", monkeypatch)
    fake.behave(stdout="redroid8\n", control={"port": farm.control_port, "request": {
        "op": "restart", "serial": device.serial, "down_s": 0.3}})
    before = boot_count(farm, device.serial)
    result = DockerRestarter(ContainerSpec(runtime="docker", name="redroid8"), SETTINGS).restart(device)
    assert_all_ok(result)
    assert [c["argv"] for c in fake.calls()] == [["restart", "redroid8"]]
    assert result.steps[0].text == "docker restart redroid8"
    assert result.steps[0].detail == "redroid8"
    assert boot_count(farm, device.serial) == before + 1


def test_a_device_that_never_comes_back_is_lost(adb_server, farm, tmp_path, monkeypatch):
    victim = connect(adb_server, farm.serials[1])
    fake = install_fake_cli(tmp_path / "bin", monkeypatch)
    fake.behave(control={"port": farm.control_port, "request": {"op": "kill", "serial": victim.serial}})
    settings = RestartSettings(boot_timeout=3.0, wait_for_network=False)
    result = DockerRestarter(ContainerSpec(runtime="docker", name="redroid8"), settings).restart(victim)
    assert isinstance(result.error, DeviceLost)
    assert result.failure_class is FailureClass.DEVICE_LOST
    assert [s.outcome.split(":")[0] for s in result.steps] == ["ok", "DeviceLost"]
    assert result.steps[1].text == f"reconnect {victim.serial} (disconnect, then connect)"
    with pytest.raises(DeviceLost) as caught:
        result.raise_for_error()
    (note,) = caught.value.__notes__
    assert note.startswith("timeline:\n") and "docker restart redroid8 [ok after" in note


SLOW_BOOT = """\
    name: sim-slow-boot
    kind: sim
    description: adbd comes up, sys.boot_completed never does (within a test)
    android: {release: "8.1.0", sdk: 27}
    product: {name: redroid_x86_64, model: redroid8_x86_64, device: redroid_x86_64}
    sim:
      boot: {boot_completed_ms: 3600000}
    """


def test_a_device_that_never_completes_its_boot_times_out(adb_server, tmp_path):
    path = tmp_path / "sim-slow-boot.yaml"
    path.write_text(textwrap.dedent(SLOW_BOOT))
    profile = load_profile(path)
    with SimFarm(str(path), count=1, clock_scale=CLOCK_SCALE) as slow:
        adb_server.connect(slow.serials[0], timeout=15)
        device = Device(slow.serials[0], adb_server)
        settings = RestartSettings(boot_timeout=2.0, wait_for_network=False)
        result = restarter_for(profile, farm=slow, settings=settings, down_s=0.1).restart(device)
    assert isinstance(result.error, BootTimeout)
    assert result.failure_class is FailureClass.TIMEOUT
    assert "still waiting for sys.boot_completed=1" in result.error.message
    last = result.steps[-1]
    assert last.text == "wait for boot (online, sys.boot_completed=1)"
    assert last.outcome.startswith("BootTimeout: ")
    assert [e.source for e in result.timeline.events()].count(HARNESS) == len(result.steps)
