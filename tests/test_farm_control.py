"""The farm child process and its control channel, through the parent API (SimFarm)."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from harness.sim.farm import DEFAULT_PROFILE, FarmError, FarmRuntime, SimFarm, validate_profile
from harness.yamlcheck import ConfigError

TIMEOUT = 15.0


def refused(serial: str) -> bool:
    host, port = serial.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def device_status(farm: SimFarm, serial: str) -> dict:
    (status,) = [d for d in farm.control("status")["devices"] if d["serial"] == serial]
    return status


def wait_status(farm: SimFarm, serial: str, predicate, what: str) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status = device_status(farm, serial)
        if predicate(status):
            return status
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {status}")


@pytest.fixture(scope="module")
def farm():
    with SimFarm(count=3, clock_scale=0.5) as farm:
        yield farm


def test_ready_line_lists_distinct_loopback_ports_outside_the_emulator_range(farm):
    assert [d.index for d in farm.devices] == [0, 1, 2]
    ports = [d.port for d in farm.devices]
    assert len(set(ports)) == 3
    assert all(not 5555 <= p <= 5585 for p in ports)
    assert farm.serials == [f"127.0.0.1:{p}" for p in ports]


def test_status_reports_every_device(farm):
    devices = farm.control("status")["devices"]
    assert [d["serial"] for d in devices] == farm.serials
    for d in devices:
        assert d["alive"] and d["powered"] and d["listening"]
        assert d["boot_count"] == 1 and d["adbd_root"] is False
        assert d["uptime"] >= 0


def test_bad_requests_get_clear_errors(farm):
    with pytest.raises(FarmError, match=r"unknown op 'explode' \(known: kill, reboot, restart, shutdown, status"):
        farm.control("explode")
    with pytest.raises(FarmError, match="unknown serial '1.2.3.4:5'"):
        farm.control("restart", serial="1.2.3.4:5")
    with pytest.raises(FarmError, match="down_s must be a number between 0 and 3600, got 'soon'"):
        farm.control("restart", serial=farm.serials[0], down_s="soon")


def test_restart_drops_tcp_and_boots_again(farm):
    serial = farm.serials[1]
    farm.control("restart", serial=serial, down_s=1.0)
    status = device_status(farm, serial)
    assert not status["listening"] and not status["powered"]
    assert refused(serial)
    status = wait_status(farm, serial, lambda s: s["listening"], "the device to come back")
    assert status["boot_count"] == 2


def test_kill_is_for_good(farm):
    serial = farm.serials[2]
    farm.control("kill", serial=serial)
    status = device_status(farm, serial)
    assert status["alive"] is False and not status["listening"]
    assert refused(serial)
    farm.control("reboot", serial=serial)        # a dead device does not come back
    time.sleep(1.0)
    assert device_status(farm, serial)["listening"] is False


def test_stop_ends_the_child_and_is_idempotent():
    farm = SimFarm(count=1)
    (serial,) = farm.start()
    proc = farm._proc
    farm.stop()
    assert proc.poll() == 0
    assert refused(serial)
    farm.stop()
    with pytest.raises(FarmError, match="not started"):
        farm.control("status")


def test_bad_profile_is_a_config_error_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nkind: sim\nandroid:\n  release: '8.1.0'\n  sdk: 99\n"
                   "product: {name: a, model: b, device: c}\n")
    with pytest.raises(ConfigError, match="sdk"):
        validate_profile(str(bad))
    with pytest.raises(ConfigError, match="not found"):
        SimFarm("no-such-profile").start()


def test_child_failure_is_reported_with_its_stderr():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        farm = SimFarm(control_port=busy.getsockname()[1])
        with pytest.raises(FarmError, match="exited with status 1 before it was ready") as info:
            farm.start()
    assert "error: cannot listen on 127.0.0.1: [Errno 98]" in str(info.value)


def test_invalid_arguments_are_rejected_in_the_parent():
    with pytest.raises(ValueError, match="count"):
        SimFarm(count=0)
    with pytest.raises(ValueError, match="clock_scale"):
        SimFarm(clock_scale=-1)
    with pytest.raises(ValueError, match="host must be an IP address"):
        SimFarm(host="256.1.1.1")


def test_model_errors_are_reported_in_the_ready_line_and_in_status():
    async def main():
        runtime = FarmRuntime(validate_profile(DEFAULT_PROFILE), 1, "127.0.0.1", 1.0)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(runtime.on_loop_error)
        loop.call_soon(lambda: 1 / 0)                   # stands in for a crash in the model
        ready = await runtime.start(0)
        try:
            assert ready["errors"] == ["ZeroDivisionError: division by zero"]
            assert runtime.handle(b'{"op": "status"}')["errors"] == ready["errors"]
        finally:
            await runtime.close()

    asyncio.run(main())


def test_a_farm_reporting_errors_is_refused():
    line = json.dumps({"control": 1, "errors": ["ZeroDivisionError: division by zero"],
                       "devices": [{"serial": "127.0.0.1:2", "port": 2, "index": 0, "listening": False}]})
    with pytest.raises(FarmError, match="failed while starting: ZeroDivisionError: division by zero"):
        SimFarm()._take_ready(line.encode())
