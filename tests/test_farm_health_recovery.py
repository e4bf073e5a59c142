"""The health check between tests and the stepwise recovery (harness.farm.health, .recovery),
on virtual devices through the real adb server, with faults from the farm's control channel."""

from __future__ import annotations

import time

import pytest
from farm_helpers import CLOCK_SCALE, FIXED_PROFILE

from harness.container import RestartSettings
from harness.container.sim import SimRestarter
from harness.embedded import EmbeddedDevices
from harness.farm.health import Baseline, HealthCheck, Problem, parse_ps
from harness.farm.recovery import Recovery

WAIT_S = 20.0
BUDGET_S = 9.0


@pytest.fixture(scope="module")
def lab():
    with EmbeddedDevices(FIXED_PROFILE, count=4, clock_scale=CLOCK_SCALE) as lab:
        devices = lab.devices(default_timeout=10.0)
        for device in devices:
            device.wait_for_boot(30.0)
            device.root()
        yield lab, devices


def checker(device) -> HealthCheck:
    return HealthCheck(device, interface="eth0", shell_timeout=3.0, settle_s=1.5)


def recovery(lab, device, check: HealthCheck) -> Recovery:
    def restarter(timeout: float) -> SimRestarter:
        settings = RestartSettings(boot_timeout=timeout, network_timeout=timeout, interface="eth0")
        return SimRestarter(lab.farm, settings)
    return Recovery(device, check, BUDGET_S, restarter=restarter,
                    evidence=lambda: [e["detail"] for e in lab.farm.control("faults", serial=device.serial)["events"]])


def test_ps_of_toybox_and_of_the_old_toolbox():
    toybox = ["  PID NAME                       ", "    1 init", "  125 netd", "  248 system_server", " 4085 ps"]
    assert parse_ps(toybox, ("system_server", "netd")) == {"netd": 125, "system_server": 248}
    toolbox = ["USER     PID   PPID  VSIZE  RSS     WCHAN    PC         NAME",
               "root      1     0     8904   788   c00bc7d8 0804a6e4 S /init",
               "root      96    1     9324   1760  ffffffff b7604c16 S /system/bin/netd",
               "system    389   95    1032456 61368 ffffffff b75f7c16 S system_server"]
    assert parse_ps(toolbox, ("system_server", "netd")) == {"system_server": 389}
    assert parse_ps([], ("netd",)) == {} and parse_ps(["garbage"], ("netd",)) == {}


def test_a_healthy_device_passes_and_its_baseline_survives_json(lab):
    device = lab[1][0]
    check = checker(device)
    baseline = check.baseline()
    assert set(baseline.pids) == {"system_server", "netd"}
    assert "eth0" in baseline.network.section_data["links"]
    again = Baseline.from_json(baseline.to_json())
    assert again == baseline
    report = check.check(again)
    assert report.ok and report.render() == f"{device.serial}: healthy"


def test_eth0_left_down_is_found_and_brought_back_up(lab):
    device = lab[1][1]
    check = checker(device)
    baseline = check.baseline()
    device.run("ip link set eth0 down", check=True)
    report = check.check(baseline)
    assert report.reachable and [kind for kind, _ in report.problems] == [Problem.NETWORK]
    assert "~ eth0: up flags=BROADCAST,LOWER_UP,MULTICAST,UP" in report.problems[0][1]
    result = recovery(lab[0], device, check).run(baseline, report)
    assert result.recovered, result.render()
    assert [(s.name, s.ok, s.detail) for s in result.steps] == [("restore network", True, "brought up eth0")]
    assert check.check(baseline).ok


def test_an_unexpected_netd_restart_is_reported_and_an_expected_one_becomes_the_baseline(lab):
    device = lab[1][2]
    check = checker(device)
    baseline = check.baseline()
    lab[0].farm.control("netd_crash", serial=device.serial)
    deadline = time.monotonic() + WAIT_S
    while (report := check.check(baseline)).pids.get("netd") in (None, baseline.pids["netd"]):
        assert time.monotonic() < deadline, report.render()
        time.sleep(0.2)
    assert f"netd restarted (pid {baseline.pids['netd']} -> {report.pids['netd']}) though the test was not " \
           "expected to restart the device" in report.render()
    assert not any("netd" in text for kind, text in check.check(baseline, expect_restart=True).problems
                   if kind == Problem.RESTARTED)
    # On 8.1 the restarted netd has no networks and ConnectivityService does not add them again:
    # the device's rules and routes are gone until the container restarts.
    assert "network differs from the baseline: [rules]; - 10500: from all oif eth0" in report.render()
    result = recovery(lab[0], device, check).run(baseline, report)
    assert result.recovered, result.render()
    assert [(s.name, s.ok) for s in result.steps] == [("wait for boot", True), ("restart container", True)]
    assert result.evidence == (f"netd (pid {baseline.pids['netd']}) killed with signal 9",)
    assert check.check(result.baseline).ok


def test_a_device_that_keeps_dropping_is_not_recovered_and_says_why(lab):
    device = lab[1][3]
    check = checker(device)
    baseline = check.baseline()
    lab[0].farm.control("fault", serial=device.serial, set={"transport_drop": {"after_bytes": 0}})
    try:
        report = check.check(baseline)
        assert not report.reachable and report.problems[0][0] == Problem.UNREACHABLE
        result = recovery(lab[0], device, check).run(baseline, report)
        assert not result.recovered
        assert [s.name for s in result.steps] == ["reconnect", "wait for boot", "restart container"]
        assert not result.steps[1].ok and not result.steps[2].ok
        assert any(line.startswith("TCP connection dropped at the start of the command") for line in result.evidence)
        assert "NOT recovered: quarantine" in result.render()
    finally:
        lab[0].farm.control("fault", serial=device.serial, clear=True)
    result = recovery(lab[0], device, check).run(baseline, check.check(baseline))
    assert result.recovered, result.render()
