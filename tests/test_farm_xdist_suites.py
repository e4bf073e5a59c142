"""The QA suites on a farm: `pytest suites/ -n 4` on four virtual devices behind two adb servers
(two ports standing in for two hosts). Everything passes, every test's device is recorded, and
the lease log proves that no device was ever leased to two workers at once."""

from __future__ import annotations

import json
from collections import Counter

from farm_helpers import REPO, junit_cases, run_pytest, two_host_farm

from harness.farm.lease import check_log, read_log


def test_suites_pass_on_four_devices_behind_two_adb_servers_each_device_held_by_one_worker(tmp_path):
    junit, log, allure = tmp_path / "junit.xml", tmp_path / "leases.jsonl", tmp_path / "allure"
    with two_host_farm(tmp_path, 4) as lab:
        run = run_pytest(["suites/", "-n", "4", "--farm", str(lab.path), "--lease-log", str(log),
                          "--junitxml", str(junit), "--alluredir", str(allure), "-q"], cwd=REPO)
        ids = {lab.device_id(serial) for serial in lab.farm.serials}
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]

    cases = junit_cases(junit)
    ran = {name: case for name, case in cases.items() if case.outcome != "skipped"}
    assert ran and all(case.outcome == "passed" for case in ran.values())
    serial_of = {name: case.properties["device"] for name, case in ran.items()}
    assert set(serial_of.values()) <= {i.split("@")[0] for i in ids}

    entries = read_log(log)
    assert check_log(entries) == []
    holders_of = {}
    for entry in entries:
        if entry["event"] == "lease":
            holders_of.setdefault(entry["device"], set()).add(entry["holder"].split("/")[0])
    assert set(holders_of) <= ids and len(holders_of) >= 2
    workers = Counter(w for holders in holders_of.values() for w in holders)
    assert all(count == 1 for count in workers.values()), f"a worker held several devices: {holders_of}"
    # The lease log ties each test to the device its worker held; JUnit names the same device.
    tested = {e["test"].rsplit("::", 1)[1]: e["device"] for e in entries if e["event"] == "test"}
    for name, serial in serial_of.items():
        assert tested[name].split("@")[0] == serial, name
    assert {tested[name] for name in serial_of} & {i for i in ids if i.endswith(lab.servers[0].address)}
    assert {tested[name] for name in serial_of} & {i for i in ids if i.endswith(lab.servers[1].address)}

    summary = json.loads((tmp_path / "farm-summary.json").read_text())
    assert summary["quarantined"] == [] and summary["violations"] == []
    assert "no device held by two holders at once" in run.stdout
