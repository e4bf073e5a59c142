"""Device through the real adb server (bundled adb) to virtual devices: results, errors, never a hang.

Each destructive test (kill, restart, root) gets its own device of the module's farm, so the
order of tests does not matter.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from harness import errors
from harness.adb_server import free_loopback_port
from harness.device import CommandResult, Device, command_line, is_tcp_serial
from harness.embedded import EmbeddedDevices

PROFILE = "sim-android-8.1-buggy"
_PROFILE_DIR = Path(__file__).resolve().parents[1] / "device_profiles"
TIMEOUT = 20.0
GENERAL, KILLED, RESTARTED, ROOTED, RECONNECTED = range(5)


@pytest.fixture(scope="module")
def lab():
    with EmbeddedDevices(PROFILE, count=5, clock_scale=0.25) as lab:
        yield lab


@pytest.fixture(scope="module")
def devices(lab) -> list[Device]:
    found = lab.devices(default_timeout=TIMEOUT)
    for device in found:
        device.wait_for_boot(timeout=60)
    return found


@pytest.fixture
def device(devices) -> Device:
    return devices[GENERAL]


# -- run --------------------------------------------------------------------------------------

def test_run_separates_stdout_stderr_and_exit_status(device):
    result = device.run("echo out; echo err >&2; exit 3")
    assert isinstance(result, CommandResult)
    assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.cmd == "echo out; echo err >&2; exit 3"
    assert result.serial == device.serial
    assert result.duration > 0
    assert not result.ok


def test_run_success_and_text(device):
    result = device.run("echo hello")
    assert result.ok and result.text == "hello" and result.stderr == ""


def test_list_commands_are_quoted_item_by_item(device):
    result = device.run(["echo", "a  b", "$HOME", "it's"])
    assert result.stdout == "a  b $HOME it's\n"


def test_check_raises_command_failed_with_evidence(device):
    with pytest.raises(errors.CommandFailed) as info:
        device.run("echo partial; echo why >&2; exit 7", check=True)
    evidence = info.value.evidence
    assert info.value.failure_class == errors.FailureClass.PRODUCT
    assert (evidence.exit_status, evidence.stdout, evidence.stderr) == (7, "partial\n", "why\n")
    assert evidence.serial == device.serial and evidence.command.startswith("echo partial")


def test_shell_returns_stdout_text(device):
    assert device.shell("echo one; echo two") == "one\ntwo"


def test_unknown_command_is_a_result_not_an_error(device):
    result = device.run("no_such_tool_here")
    assert result.exit_status == 127
    assert result.stderr == "/system/bin/sh: no_such_tool_here: not found\n"


def test_v1_shell_gets_exit_status_from_the_marker(devices):
    v1 = Device(devices[GENERAL].serial, _server_of(devices), shell_protocol="v1", default_timeout=TIMEOUT)
    result = v1.run("echo out; exit 3")
    assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "")
    assert v1.run("true").exit_status == 0
    assert (v1.run("cat", timeout=5.0).exit_status, v1.run("cat", timeout=5.0).stdout) == (0, "")


def test_a_command_reading_stdin_gets_eof(device):
    assert (device.run("cat", timeout=5.0).exit_status, device.run("cat", timeout=5.0).stdout) == (0, "")
    result = device.run('read line; echo "read status $?, [$line]"', timeout=5.0)
    assert result.stdout == "read status 1, []\n"


def test_nothing_carries_over_from_one_command_to_the_next(device):
    device.run("cd /data/local/tmp; LEFT_OVER=1; export EXPORTED=1; exit 5")
    assert device.run('pwd; echo "${LEFT_OVER:-unset} ${EXPORTED:-unset}"').stdout == "/\nunset unset\n"


def test_threads_share_one_device(device):
    results: dict[int, list[str]] = {}

    def worker(n: int) -> None:
        results[n] = [device.run(f"echo {n}-{i}; echo e{n}-{i} >&2; exit {n}").stdout for i in range(15)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60.0)
    assert not any(thread.is_alive() for thread in threads)
    assert results == {n: [f"{n}-{i}\n" for i in range(15)] for n in range(4)}
    result = device.run("echo after; echo err >&2; exit 2")
    assert (result.exit_status, result.stdout, result.stderr) == (2, "after\n", "err\n")


def test_close_keeps_the_device_usable(devices):
    other = Device(devices[GENERAL].serial, _server_of(devices), default_timeout=TIMEOUT)
    assert other.run("echo one").text == "one"
    other.close()
    assert other.run("echo two").text == "two"
    other.close()


# -- never hang -------------------------------------------------------------------------------

def test_command_that_never_returns_times_out_with_partial_output(device):
    with pytest.raises(errors.CommandTimeout) as info:
        device.run("echo started; sleep 100", timeout=1.0)
    evidence = info.value.evidence
    assert evidence.elapsed < 3.0                    # hang guard, not a timing assertion
    assert evidence.stdout == "started\n"
    assert evidence.command == "echo started; sleep 100"
    assert evidence.device_state == "device"
    assert device.run("echo still here").text == "still here"


def test_a_timed_out_command_is_stopped_on_the_device(device):
    with pytest.raises(errors.CommandTimeout) as info:
        device.run("echo $$; sleep 100", timeout=1.0)
    pid = info.value.evidence.stdout.strip()
    assert pid.isdigit()

    def listed_pids() -> list[str]:
        result = device.run('echo "$$"; ps -A -o PID')
        own, *listing = result.stdout.split()
        assert own in listing                        # ps does list the shell processes
        return listing

    deadline = time.monotonic() + 5.0                # the stream's close reaches adbd just after
    while pid in listed_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in listed_pids()


def test_device_killed_mid_command_is_device_lost(lab, devices):
    victim = devices[KILLED]
    outcome: dict[str, BaseException] = {}

    def long_command() -> None:
        try:
            victim.run("sleep 30", timeout=15.0)
        except BaseException as e:
            outcome["error"] = e

    worker = threading.Thread(target=long_command)
    worker.start()
    try:
        time.sleep(0.5)                              # let the command start on the device
        lab.farm.control("kill", serial=victim.serial)
    finally:
        worker.join(20.0)
    assert not worker.is_alive()
    error = outcome.get("error")
    assert isinstance(error, errors.DeviceLost), error
    assert error.failure_class == errors.FailureClass.DEVICE_LOST
    assert error.evidence.elapsed < 15.0
    assert error.evidence.command == "sleep 30"
    with pytest.raises(errors.DeviceOffline) as offline:      # the server keeps it listed, offline
        victim.run("true", timeout=5.0)
    assert offline.value.evidence.device_state == "offline"


def test_unknown_serial_is_device_not_found(devices):
    ghost = Device("127.0.0.1:1", _server_of(devices), default_timeout=5.0)
    assert ghost.state() == "absent"
    with pytest.raises(errors.DeviceNotFound):
        ghost.run("true")


def test_dead_adb_server_is_infrastructure_and_not_restarted():
    port = free_loopback_port()
    nowhere = Device("127.0.0.1:6520", _Endpoint("127.0.0.1", port), default_timeout=5.0)
    with pytest.raises(errors.AdbServerError) as info:
        nowhere.run("true")
    assert info.value.failure_class == errors.FailureClass.INFRASTRUCTURE
    with pytest.raises(errors.AdbServerError):
        nowhere.state()


# -- properties, root, boot, reconnect ----------------------------------------------------------

def test_getprop_props_and_build(device):
    assert device.getprop("ro.build.version.sdk") == "27"
    props = device.props()
    assert props["ro.product.model"] == "redroid8_x86_64"
    assert device.build.release == "8.1.0" and device.build.sdk == 27
    assert device.build.model == "redroid8_x86_64"
    with pytest.raises(ValueError):
        device.getprop("x; reboot")


def test_root_makes_commands_run_as_uid_0(devices):
    target = devices[ROOTED]
    assert target.run("id -u").text == "2000"
    target.root()
    assert target.is_root()
    assert target.run("id -u").text == "0"
    target.root()                                     # already root: a no-op
    assert target.state() == "device"


def test_root_unavailable_on_a_user_build_without_su(tmp_path):
    user_build = tmp_path / "user-build.yaml"
    profile = (_PROFILE_DIR / f"{PROFILE}.yaml").read_text().replace("build_type: userdebug", "build_type: user")
    user_build.write_text(profile.replace(f"name: {PROFILE}", "name: sim-user-build"))
    with EmbeddedDevices(str(user_build), clock_scale=0.25) as user_lab:
        target = user_lab.devices(default_timeout=TIMEOUT)[0]
        target.wait_for_boot(timeout=60)
        with pytest.raises(errors.RootUnavailable) as info:
            target.root()
        assert "production builds" in info.value.message
        assert info.value.failure_class == errors.FailureClass.BAD_CONFIGURATION
        assert not target.is_root()


def test_wait_for_boot_after_container_restart(lab, devices):
    target = devices[RESTARTED]
    bystander = Device(target.serial, _server_of(devices), default_timeout=TIMEOUT)
    assert bystander.run("echo before").text == "before"    # leaves a connection to the old transport
    lab.farm.control("restart", serial=target.serial, down_s=0.5)
    target.wait_for_boot(timeout=60, expect_restart=True)
    assert target.getprop("sys.boot_completed") == "1"
    assert target.state() == "device"
    assert bystander.run("echo after").text == "after"      # that connection is not used


def test_reconnect_brings_a_tcp_device_back(devices):
    target = devices[RECONNECTED]
    assert target.is_tcp
    target.reconnect(timeout=30)
    assert target.state() == "device"
    assert target.run("echo back").text == "back"


def test_wait_for_boot_times_out_with_evidence_when_the_device_never_goes_down(devices):
    with pytest.raises(errors.BootTimeout) as info:
        devices[GENERAL].wait_for_boot(timeout=1.0, expect_restart=True)
    assert "go down" in info.value.message
    assert info.value.evidence.device_state == "device"


# -- files ------------------------------------------------------------------------------------

def test_push_pull_round_trip(device, tmp_path):
    payload = bytes(range(256)) * 300
    assert device.push(payload, "/data/local/tmp/harness-roundtrip.bin", timeout=TIMEOUT) == len(payload)
    local = tmp_path / "back.bin"
    assert device.pull("/data/local/tmp/harness-roundtrip.bin", local, timeout=TIMEOUT) == len(payload)
    assert local.read_bytes() == payload


def test_pull_of_a_missing_file_fails_clearly(device, tmp_path):
    with pytest.raises(errors.CommandFailed, match="no such file"):
        device.pull("/data/local/tmp/does-not-exist", tmp_path / "x", timeout=TIMEOUT)


# -- pure helpers -----------------------------------------------------------------------------

def test_command_line_quotes_lists_and_rejects_bad_items():
    assert command_line("ip -4 addr") == "ip -4 addr"
    assert command_line(["ndc", "network", "interface", "add", "101", "eth0"]) == "ndc network interface add 101 eth0"
    assert command_line(["echo", "a;b"]) == "echo 'a;b'"
    with pytest.raises(TypeError):
        command_line([])
    with pytest.raises(TypeError):
        command_line(["echo", 3])


def test_tcp_serials():
    assert is_tcp_serial("127.0.0.1:6520") and is_tcp_serial("localhost:5555") and is_tcp_serial("[::1]:5555")
    assert not is_tcp_serial("emulator-5554") and not is_tcp_serial("R58M12ABCDE")


def test_timeouts_must_be_positive_and_commands_fit_the_protocol(device):
    with pytest.raises(ValueError, match="timeout"):
        device.run("true", timeout=0)
    with pytest.raises(ValueError, match="NUL"):
        device.run("echo a\0b")
    with pytest.raises(ValueError, match="at most"):
        device.run("echo " + "x" * 70000)


# -- helpers ----------------------------------------------------------------------------------

class _Endpoint:
    """An adbutils-client-like address with nothing listening behind it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port


def _server_of(devices: list[Device]) -> _Endpoint:
    return _Endpoint(devices[0].host, devices[0].port)

