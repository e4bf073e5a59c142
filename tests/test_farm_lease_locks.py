"""Leases (harness.farm.lease): one holder per device across threads and processes, freed by the
kernel when a holder dies, quarantine, groups, and the log that proves it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from harness.farm.inventory import FarmDevice, LeaseUnit
from harness.farm.lease import (AVAILABLE, LEASED, QUARANTINED, LeaseLog, LeasePool, NoDeviceAvailable,
                                check_log, read_log)

SERVER = "127.0.0.1:5037"


def unit(*serials: str) -> LeaseUnit:
    devices = tuple(FarmDevice(s, SERVER, "device") for s in serials)
    return LeaseUnit(devices[0].id if len(devices) == 1 else "group-" + "-".join(serials), devices)


def pool(tmp_path: Path, units: list[LeaseUnit], run: str = "run-1") -> LeasePool:
    return LeasePool(tmp_path / "leases", units, LeaseLog(tmp_path / "leases.jsonl", run))


def test_two_holders_never_get_the_same_device_and_a_third_waits_then_gets_a_clear_error(tmp_path):
    units = [unit("A"), unit("B")]
    first = pool(tmp_path, units).acquire("gw0", prefer="A@" + SERVER)
    second = pool(tmp_path, units).acquire("gw1", prefer="A@" + SERVER)
    assert first.device_ids == ("A@" + SERVER,) and second.device_ids == ("B@" + SERVER,)
    with pytest.raises(NoDeviceAvailable, match=r"^gw2: no device free within 0.3s \(A@127.0.0.1:5037 leased by gw0, "
                                                r"B@127.0.0.1:5037 leased by gw1\)$"):
        pool(tmp_path, units).acquire("gw2", wait_s=0.3)
    first.release()
    third = pool(tmp_path, units).acquire("gw2", wait_s=0.3)
    assert third.device_ids == ("A@" + SERVER,) and third.checks == {}
    assert pool(tmp_path, units).state("A@" + SERVER).holder == "gw2"
    second.release()
    third.release()
    entries = read_log(tmp_path / "leases.jsonl")
    assert [(e["event"], e["holder"]) for e in entries] == [
        ("lease", "gw0"), ("lease", "gw1"), ("release", "gw0"), ("lease", "gw2"), ("release", "gw1"),
        ("release", "gw2")]
    assert check_log(entries) == []


def test_a_holder_that_dies_frees_its_device_and_the_next_holder_is_told_to_check_it(tmp_path):
    child = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_farm_lease_locks import pool, unit
        from pathlib import Path
        lease = pool(Path({str(tmp_path)!r}), [unit("A")]).acquire("gw7")
        lease.record_test("t.py::test_dies")
        os._exit(3)          # no release: the kernel drops the lock
    """)
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    state = pool(tmp_path, [unit("A")]).state("A@" + SERVER)
    assert (state.state, state.holder) == (LEASED, "gw7")
    lease = pool(tmp_path, [unit("A")]).acquire("gw8", wait_s=1.0)
    assert lease.checks == {"A@" + SERVER: f"its holder gw7 (pid {state.pid}) died holding it"}
    lease.release()
    entries = read_log(tmp_path / "leases.jsonl")
    assert [(e["event"], e["holder"]) for e in entries] == [
        ("lease", "gw7"), ("test", "gw7"), ("release", "gw7"), ("lease", "gw8"), ("release", "gw8")]
    assert entries[2]["holder_died"] and entries[2]["reason"].startswith(f"holder died (pid {state.pid} on ")
    assert check_log(entries) == []


def test_quarantine_keeps_a_device_out_for_the_run_and_the_next_run_checks_it(tmp_path):
    units = [unit("A")]
    lease = pool(tmp_path, units).acquire("gw0")
    lease.set_state("A@" + SERVER, "recovering", "adb state is offline")
    lease.release(states={"A@" + SERVER: QUARANTINED}, reason="recovery failed")
    with pytest.raises(NoDeviceAvailable, match=r"A@127.0.0.1:5037 quarantined"):
        pool(tmp_path, units).acquire("gw1", wait_s=0.3)
    later = pool(tmp_path, units, run="run-2").acquire("gw0", wait_s=0.3)
    assert later.checks == {"A@" + SERVER: "quarantined by an earlier run: recovery failed"}
    later.release()
    assert pool(tmp_path, units, run="run-2").state("A@" + SERVER).state == AVAILABLE


def test_a_group_is_leased_whole_and_only_when_every_member_is_free(tmp_path):
    group = unit("A", "B")
    lease = pool(tmp_path, [group]).acquire("gw0")
    assert lease.device_ids == ("A@" + SERVER, "B@" + SERVER)
    with pytest.raises(NoDeviceAvailable):
        pool(tmp_path, [group]).acquire("gw1", wait_s=0.2)
    lease.release()
    assert pool(tmp_path, [group]).acquire("gw1", wait_s=0.2).device_ids == lease.device_ids


def test_avoid_skips_a_device_the_holder_just_gave_up(tmp_path):
    units = [unit("A"), unit("B")]
    lease = pool(tmp_path, units).acquire("gw0", prefer="A@" + SERVER, avoid=["A@" + SERVER])
    assert lease.device_ids == ("B@" + SERVER,)


def test_many_threads_and_processes_never_share_a_device(tmp_path):
    script = textwrap.dedent(f"""
        import sys, threading, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_farm_lease_locks import pool, unit
        from pathlib import Path
        units = [unit("A"), unit("B"), unit("C")]
        def hold(name):
            for round in range(8):
                lease = pool(Path({str(tmp_path)!r}), units).acquire(name, wait_s=30)
                lease.record_test(f"t.py::test_{{round}}")
                time.sleep(0.002)
                lease.release()
        threads = [threading.Thread(target=hold, args=(f"p{{sys.argv[1]}}-t{{i}}",)) for i in range(3)]
        for t in threads: t.start()
        for t in threads: t.join()
    """)
    children = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(3)]
    for child in children:
        assert child.wait(timeout=120) == 0
    entries = read_log(tmp_path / "leases.jsonl")
    assert len([e for e in entries if e["event"] == "lease"]) == 3 * 3 * 8
    assert check_log(entries) == []


def test_check_log_finds_a_device_held_twice_and_a_test_on_a_device_not_held():
    entries = [{"event": "lease", "device": "A", "holder": "gw0"},
               {"event": "lease", "device": "A", "holder": "gw1"},
               {"event": "test", "device": "B", "holder": "gw2", "test": "t.py::test_x"},
               {"event": "release", "device": "A", "holder": "gw3"}]
    assert check_log(entries) == ["entry 2: A leased to gw1 while gw0 held it",
                                  "entry 3: B test t.py::test_x ran by gw2, but its holder was None",
                                  "entry 4: A released by gw3, but its holder was gw1"]


def test_log_lines_are_whole_json_objects_even_from_concurrent_writers(tmp_path):
    log = LeaseLog(tmp_path / "log.jsonl", "run")

    def write(n: int) -> None:
        for i in range(200):
            log.append("test", device=f"D{n}", holder=f"h{n}", test="x" * 500 + str(i))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 800 and all(json.loads(line)["run"] == "run" for line in lines)
