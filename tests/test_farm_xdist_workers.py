"""xdist workers and their devices: the embedded default (`-n 2` starts two virtual devices),
`-n auto` from a farm's usable devices, a crashed worker's replacement, a worker left without a
device, and Ctrl-C (what was written stays, nothing is left running)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time

from farm_helpers import CLOCK_SCALE, FIXED_PROFILE, clean_env, junit_cases, run_pytest, two_host_farm

from harness.farm.lease import check_log, read_log

EMBEDDED = ["--profile", FIXED_PROFILE, "--sim-clock-scale", str(CLOCK_SCALE)]


def refused(serial: str) -> bool:
    host, port = serial.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def write_tests(tmp_path, body: str):
    work = tmp_path / "run"
    work.mkdir()
    (work / "test_devices.py").write_text(textwrap.dedent(body))
    return work


def test_embedded_default_starts_one_virtual_device_per_worker_and_stops_them(tmp_path):
    work = write_tests(tmp_path, """
        import os, pathlib, pytest

        @pytest.mark.parametrize("n", range(6))
        def test_device(device, n):
            assert device.run("echo hi").text == "hi"
            line = f"{os.environ['PYTEST_XDIST_WORKER']} {device.serial} {device.host}:{device.port}\\n"
            with open(pathlib.Path(__file__).with_name("seen"), "a") as seen:
                seen.write(line)
    """)
    log = tmp_path / "leases.jsonl"
    run = run_pytest(["-n", "2", "-q", "--lease-log", str(log), *EMBEDDED], cwd=work)
    assert run.returncode == 0, run.stdout[-4000:]
    seen = {tuple(line.split()) for line in (work / "seen").read_text().splitlines()}
    devices = {serial for _, serial, _ in seen}
    assert len(devices) == 2 and len({server for _, _, server in seen}) == 1
    assert len({(worker, serial) for worker, serial, _ in seen}) == 2, "a worker used two devices"
    assert check_log(read_log(log)) == []
    assert all(refused(serial) for serial in devices), "a virtual device outlived the run"


def test_n_auto_is_the_number_of_usable_devices_of_the_farm(tmp_path):
    work = write_tests(tmp_path, """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_device(device, n):
            assert device.run("true").ok
    """)
    log = tmp_path / "leases.jsonl"
    with two_host_farm(tmp_path, 3) as lab:
        text = lab.path.read_text() + f'exclude: ["{lab.farm.serials[2]}"]\n'
        lab.path.write_text(text)
        run = run_pytest(["-n", "auto", "-v", "--farm", str(lab.path), "--lease-log", str(log)], cwd=work)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "created: 2/2 workers" in run.stdout
    leased = {e["device"].split("@")[0] for e in read_log(log) if e["event"] == "lease"}
    assert leased == set(lab.farm.serials[:2])


def test_the_controller_repairs_a_crashed_workers_device_and_the_replacement_gets_it_back(tmp_path):
    work = write_tests(tmp_path, """
        import os, signal, pytest

        def test_a_first(device):
            assert device.run("true").ok

        @pytest.mark.needs_root
        def test_b_crash(device):
            device.run("ip link set eth0 down", check=True)
            os.kill(os.getpid(), signal.SIGKILL)

        def test_c_after(device):
            assert "state UP" in device.run("ip link show eth0").stdout
    """)
    log, junit = tmp_path / "leases.jsonl", tmp_path / "junit.xml"
    run = run_pytest(["-n", "1", "--lease-log", str(log), "--junitxml", str(junit),
                      *EMBEDDED], cwd=work)
    assert run.returncode == 1, run.stdout[-4000:]
    outcomes = {name: case.outcome for name, case in junit_cases(junit).items()}
    assert outcomes == {"test_a_first": "passed", "test_b_crash": "failure", "test_c_after": "passed"}
    entries = read_log(log)
    leases = [e for e in entries if e["event"] == "lease"]
    # The controller (usually first: the replacement still starts) leases the dead worker's
    # device, finds eth0 down and brings it up; the replacement worker gets the device back.
    holders = [e["holder"].split("/")[0] for e in leases]
    assert holders in (["gw0", "controller", "gw1"], ["gw0", "gw1"]), holders
    assert len({e["device"] for e in leases}) == 1 and "died holding it" in leases[1]["check"]
    recovery = next(e for e in entries if e["event"] == "recovery")
    assert recovery["holder"] == leases[1]["holder"] and recovery["recovered"]
    assert len(recovery["steps"]) == 1 and recovery["steps"][0].startswith("restore network: ok")
    assert all(lease["check"] is None for lease in leases[2:])
    assert check_log(entries) == []


def test_a_worker_left_without_a_device_is_shut_down_and_the_others_run_the_rest(tmp_path):
    work = write_tests(tmp_path, """
        import time, pytest

        def test_break_my_device(device, device_pool):
            device_pool.embedded.farm.control("fault", serial=device.serial,
                                              set={"transport_drop": {"after_bytes": 0}})
            device.run("true", timeout=5)

        @pytest.mark.parametrize("n", range(12))
        def test_device(device, n):
            time.sleep(0.2)
            assert device.run("true").ok
    """)
    log, junit = tmp_path / "leases.jsonl", tmp_path / "junit.xml"
    with two_host_farm(tmp_path, 2, recovery_budget_s=6.0, wait_s=1.0) as lab:
        run = run_pytest(["-n", "2", "--farm", str(lab.path), "--lease-log", str(log), "--junitxml", str(junit)],
                         cwd=work)
    assert run.returncode == 1, run.stdout[-4000:]
    cases = junit_cases(junit)
    assert cases["test_break_my_device"].properties["failure_class"] == "device-lost"
    no_device = [name for name, case in cases.items() if "NoDeviceAvailable" in case.message]
    passed = [name for name, case in cases.items() if case.outcome == "passed"]
    assert len(passed) + len(no_device) == 12 and len(passed) >= 8, run.stdout[-4000:]
    summary = json.loads((tmp_path / "farm-summary.json").read_text())
    assert len(summary["quarantined"]) == 1


def test_ctrl_c_keeps_the_reports_and_the_lease_log_and_stops_the_devices(tmp_path):
    work = write_tests(tmp_path, """
        import os, pathlib, time, pytest

        @pytest.mark.parametrize("n", range(4))
        def test_quick(device, n):
            with open(pathlib.Path(__file__).with_name("serials"), "a") as seen:
                seen.write(device.serial + "\\n")

        def test_slow(device):
            time.sleep(120)
    """)
    log, junit, allure = tmp_path / "leases.jsonl", tmp_path / "junit.xml", tmp_path / "allure"
    controller = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
                                   "--lease-log", str(log), "--junitxml", str(junit), "--alluredir", str(allure),
                                   *EMBEDDED], cwd=work, env=clean_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while sum(e["event"] == "test" for e in read_log(log)) < 5:
            assert time.monotonic() < deadline and controller.poll() is None, "the tests did not start"
            time.sleep(0.2)
        time.sleep(1.0)                 # test_slow is sleeping now, the others have finished
        controller.send_signal(signal.SIGINT)
        output, _ = controller.communicate(timeout=60)
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait()
    assert controller.returncode == 2, output[-3000:]
    # pytest's junitxml leaves the interrupted test as a nameless <testcase>: only its setup was reported.
    cases = {name: case for name, case in junit_cases(junit).items() if name}
    assert {name for name, case in cases.items() if case.outcome == "passed"} == {f"test_quick[{n}]" for n in range(4)}
    assert {r["name"] for r in map(json.loads, (p.read_text() for p in allure.glob("*-result.json")))} >= \
        {f"test_quick[{n}]" for n in range(4)}
    entries = read_log(log)
    assert check_log(entries) == []
    assert "android device farm" in output and (tmp_path / "farm-summary.json").exists()
    serials = set((work / "serials").read_text().split())
    assert serials and all(refused(serial) for serial in serials), "a virtual device outlived Ctrl-C"
