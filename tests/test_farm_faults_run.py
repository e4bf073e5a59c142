"""A farm run with faults injected while it runs (through the virtual devices' control channel,
by the tests themselves, so the moment is exact): one device drops its transport on every
command, one hangs a command, one worker is killed after taking eth0 down, and one test loses
its device once and is marked safe to retry.

The run ends within its time bound; the affected tests are infrastructure failures carrying the
fault's evidence; every other test passes; the device that keeps dropping is quarantined and
named in the summary; JUnit and Allure hold a result for every test; the device the killed
worker left with eth0 down is found by the health check and repaired before its next test."""

from __future__ import annotations

import json
import textwrap

from farm_helpers import allure_results, junit_cases, run_pytest, two_host_farm

from harness.farm.lease import check_log, read_log

TESTS = textwrap.dedent('''
    import os, pathlib, signal, time
    import pytest

    FIRST_ATTEMPT = pathlib.Path(__file__).with_name("first-attempt")


    def control(device_pool, op, device, **args):
        return device_pool.embedded.farm.control(op, serial=device.serial, **args)


    @pytest.mark.parametrize("n", range(10))
    def test_plain(device, n):
        assert device.run(f"echo {n}").text == str(n)
        time.sleep(0.2)
        assert "eth0" in device.run("ip -o link show").stdout


    def test_device_drops_its_transport(device, device_pool):
        control(device_pool, "fault", device, set={"transport_drop": {"after_bytes": 0}})
        device.run("ip -o addr show", timeout=5)


    def test_device_hangs_a_command(device, device_pool):
        control(device_pool, "fault", device, set={"hang": {"command": "getprop harness.hang*"}})
        device.run("getprop harness.hang.probe", timeout=2)


    @pytest.mark.needs_root
    def test_worker_killed_with_eth0_down(device):
        device.run("ip link set eth0 down", check=True)
        os.kill(os.getpid(), signal.SIGKILL)


    @pytest.mark.retry_on_infra
    def test_retried_after_losing_its_device(device, device_pool):
        if not FIRST_ATTEMPT.exists():
            FIRST_ATTEMPT.write_text(device.serial)
            control(device_pool, "fault", device, set={"transport_drop": {"after_bytes": 0}})
            try:
                device.run("echo first", timeout=5)
            finally:
                control(device_pool, "fault", device, clear=True)
        assert device.run("echo second").text == "second"
''')


def test_faults_during_a_run_are_infrastructure_failures_and_every_result_is_kept(tmp_path):
    work = tmp_path / "run"
    work.mkdir()
    (work / "test_faults.py").write_text(TESTS)
    junit, log, allure = tmp_path / "junit.xml", tmp_path / "leases.jsonl", tmp_path / "allure"
    with two_host_farm(tmp_path, 5) as lab:
        run = run_pytest(["-n", "4", "-q", "--farm", str(lab.path), "--lease-log", str(log),
                          "--junitxml", str(junit), "--alluredir", str(allure)], cwd=work)
        device_id = {serial: lab.device_id(serial) for serial in lab.farm.serials}
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-6000:]

    cases = junit_cases(junit)
    assert len(cases) == 14
    plain = [c for name, c in cases.items() if name.startswith("test_plain")]
    assert len(plain) == 10 and all(c.outcome == "passed" for c in plain), output[-6000:]

    dropped = cases["test_device_drops_its_transport"]
    assert dropped.outcome == "failure" and dropped.properties["failure_class"] == "device-lost"
    assert "fault transport_drop" in dropped.properties["fault_evidence"]
    hung = cases["test_device_hangs_a_command"]
    assert hung.outcome == "failure" and hung.properties["failure_class"] == "timeout"
    assert "command never returns: 'getprop harness.hang.probe'" in hung.properties["fault_evidence"]
    killed = cases["test_worker_killed_with_eth0_down"]
    assert killed.outcome == "failure" and "crashed while running" in killed.message
    retried = cases["test_retried_after_losing_its_device"]
    assert retried.outcome == "passed" and retried.properties["retried_after"].startswith("device-lost on ")
    assert "1 rerun" in run.stdout

    results = allure_results(allure)
    assert {r["name"] for r in results} == set(cases)
    crash = next(r for r in results if r["name"] == "test_worker_killed_with_eth0_down")
    assert crash["status"] == "broken" and {"name": "tag", "value": "worker-crash"} in crash["labels"]
    attempts = sorted(r["status"] for r in results if r["name"] == "test_retried_after_losing_its_device")
    assert attempts == ["broken", "passed"]

    # The device that keeps dropping is quarantined, and the summary names it.
    quarantined = device_id[dropped.properties["device"]]
    summary = json.loads((tmp_path / "farm-summary.json").read_text())
    assert summary["quarantined"] == [quarantined]
    assert f"quarantined: {quarantined}: recovery failed" in run.stdout

    entries = read_log(log)
    assert check_log(entries) == []
    # The killed worker's device: its next holder found eth0 down and brought it up before any test.
    broken = device_id[killed.properties["device"]]
    mine = [e for e in entries if e.get("device") == broken]
    crashed_at = next(i for i, e in enumerate(mine)
                      if e["event"] == "test" and e["test"].endswith("test_worker_killed_with_eth0_down"))
    after_crash = mine[crashed_at + 1:]
    events = [e["event"] for e in after_crash]
    assert events[:3] == ["release", "lease", "health"], events
    assert after_crash[0]["holder_died"] and "died holding it" in after_crash[1]["check"]
    assert any("eth0: up" in problem and "-> down" in problem for problem in after_crash[2]["problems"])
    repaired = events.index("recovery")
    assert after_crash[repaired]["recovered"] and after_crash[repaired]["steps"][0].startswith("restore network: ok")
    assert all(i > repaired for i, event in enumerate(events) if event == "test")
