"""LogcatService against a virtual device through the real adb server (SimFarm + AdbServer).

Skipped while the virtual device has no `logcat` (or `log`) command; everything else about the
service is covered offline in test_logs_buffer.py.
"""

from __future__ import annotations

from collections import Counter

import pytest

from harness.adb_server import AdbServer
from harness.device import Device
from harness.logs.logcat import LogcatService
from harness.sim.farm import SimFarm

WAIT = 30.0


@pytest.fixture(scope="module")
def server():
    with AdbServer.start() as server:
        yield server


@pytest.fixture(scope="module")
def farm():
    with SimFarm(count=2) as farm:
        yield farm


def online(farm: SimFarm, server: AdbServer, index: int) -> Device:
    serial = farm.serials[index]
    server.connect(serial, timeout=WAIT)
    device = Device(serial, server)
    device.wait_for_boot(timeout=60)
    for tool in ("logcat -d -t 1", "log -t HarnessProbe probe"):
        if device.run(tool, timeout=10).exit_status == 127:
            pytest.skip(f"the virtual device has no `{tool.split()[0]}` command yet")
    return device


@pytest.fixture
def service(farm, server):
    device = online(farm, server, 0)
    with LogcatService(device, buffers=("main", "system")) as service:
        yield service


def test_lines_arrive_and_excerpts_follow_marks(service):
    device = service.device
    service.wait_for(r"HarnessProbe", timeout=WAIT, since=0)
    mark = service.mark()
    device.run("log -t HarnessTest 'first after mark'", timeout=10, check=True)
    device.run("log -t HarnessTest 'second after mark'", timeout=10, check=True)
    found = service.wait_for([r"HarnessTest\s*: first after mark", r"HarnessTest\s*: second after mark"],
                             timeout=WAIT, since=mark)
    assert [l.tag for l in found] == ["HarnessTest", "HarnessTest"]
    assert found[0].position < found[1].position
    assert all(l.position >= mark for l in service.excerpt(since=mark))
    assert [l.message for l in service.lines(since=mark, tag="HarnessTest")] == ["first after mark",
                                                                               "second after mark"]


def test_container_restart_resumes_without_duplicates_and_reports_the_reboot(farm, server, service):
    device = service.device
    device.run("log -t HarnessTest 'before restart'", timeout=10, check=True)
    service.wait_for(r"HarnessTest\s*: before restart", timeout=WAIT, since=0)
    mark = service.mark()
    farm.control("restart", serial=device.serial, down_s=1.0)
    device.wait_for_boot(timeout=60, expect_restart=True)
    device.run("log -t HarnessTest 'after restart'", timeout=10, check=True)
    service.wait_for(r"HarnessTest\s*: after restart", timeout=WAIT, since=mark)
    markers = [l.marker for l in service.excerpt(since=mark) if l.marker]
    assert markers and markers[0] in ("reboot", "gap")
    assert service.reconnects >= 1
    keys = Counter((l.timestamp, l.entry.pid, l.entry.tid, l.message) for l in service.excerpt() if l.entry)
    assert [k for k, n in keys.items() if n > 1] == []


def test_stop_returns_and_wakes_waiters(farm, server):
    device = online(farm, server, 1)
    service = LogcatService(device).start()
    service.wait_for(r"\S", timeout=WAIT, since=0)
    service.stop(timeout=10)
    assert service.state == "stopped"
    assert not service._thread.is_alive()
    with pytest.raises(AssertionError, match="the log stream was closed"):
        service.wait_for("never", timeout=WAIT)
