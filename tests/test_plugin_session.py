"""The pytest plugin end to end with pytester: embedded device, header, and clear usage errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest

from harness.adb_server import AdbServer
from harness.embedded import EmbeddedDevices

ENV_NAMES = ("ANDROID_SERIAL", "ANDROID_ADB_SERVER_HOST", "ANDROID_ADB_SERVER_PORT", "HARNESS_PROFILE",
             "ADB_SERVER_SOCKET")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def adb():
    with AdbServer.start() as server:
        yield server


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def test_embedded_device_runs_tests_and_is_stopped_after(pytester):
    ports = pytester.path / "ports"
    pytester.makepyfile(test_echo=f"""
        import pathlib
        import pytest

        def test_echo(device):
            assert device.run("echo hi").text == "hi"
            port = device.serial.rsplit(":", 1)[1]
            pathlib.Path({str(ports)!r}).write_text(f"{{port}} {{device.port}}")

        @pytest.mark.needs_root
        def test_root(device):
            assert device.run("id -u").text == "0"
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "android devices: embedded virtual device (from default)",
        "android adb server: private server, bundled adb (from default)",
        "android profile: sim-android-8.1-buggy (from default)",
        "android device 127.0.0.1:*: redroid8_x86_64, Android 8.1.0 (sdk 27), profile sim-android-8.1-buggy",
    ])
    device_port, server_port = map(int, ports.read_text().split())
    assert not _listening(device_port), "the virtual device outlived the session"
    assert not _listening(server_port), "the private adb server outlived the session"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_the_embedded_device_and_server(pytester, signum):
    ports = pytester.path / "ports"
    pytester.makepyfile(test_hang=f"""
        import pathlib, time

        def test_hang(device):
            port = device.serial.rsplit(":", 1)[1]
            pathlib.Path({str(ports)!r}).write_text(f"{{port}} {{device.port}}")
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=pytester.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (ports.exists() and ports.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "the test never started"
            time.sleep(0.1)
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == pytest.ExitCode.INTERRUPTED
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    device_port, server_port = map(int, ports.read_text().split())
    assert not _listening(device_port) and not _listening(server_port)


def test_no_device_is_started_when_no_test_needs_one(pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "android device " not in result.stdout.str()


def test_a_device_fixture_of_the_project_wins_and_starts_nothing(pytester):
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef device():\n    return 'mine'\n")
    pytester.makepyfile(test_own="def test_own(device):\n    assert device == 'mine'\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "android device " not in result.stdout.str()


@pytest.mark.parametrize("how, expected", [
    (("--profile", "sim-android-8.1-buggy"), "android profile: sim-android-8.1-buggy (from command line)"),
    ("env", "android profile: sim-android-8.1-buggy (from env HARNESS_PROFILE)"),
    ("ini", "android profile: sim-android-8.1-buggy (from ini device_profile)"),
])
def test_header_says_where_the_profile_came_from(pytester, monkeypatch, how, expected):
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    args: tuple[str, ...] = ()
    if how == "env":
        monkeypatch.setenv("HARNESS_PROFILE", "sim-android-8.1-buggy")
    elif how == "ini":
        pytester.makeini("[pytest]\ndevice_profile = sim-android-8.1-buggy\n")
    else:
        args = how
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    result.stdout.fnmatch_lines([expected])


def _usage_error(result) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_malformed_adb_server_is_one_usage_error_line(pytester):
    result = pytester.runpytest("--adb-server", "nonsense")
    assert _usage_error(result) == ("ERROR: --adb-server: expected HOST:PORT of an adb server, "
                                    "like 127.0.0.1:5037, got 'nonsense'")


def test_malformed_profile_is_one_usage_error_line_naming_the_file(pytester):
    bad = pytester.makefile(".yaml", bad_profile="""\
        name: bad-profile
        kind: sim
        android:
          release: "8.1.0"
          sdk: twenty-seven
        product: {name: p, model: m, device: d}
    """)
    line = _usage_error(pytester.runpytest("--profile", str(bad)))
    assert line.startswith(f"ERROR: {bad}:5:")
    assert "android.sdk" in line and "'twenty-seven'" in line


def test_unknown_profile_is_one_usage_error_line(pytester):
    line = _usage_error(pytester.runpytest("--profile", "no-such-profile"))
    assert "'no-such-profile' not found" in line


def test_unknown_serial_is_a_clear_usage_error(pytester, adb):
    pytester.makepyfile(test_echo="def test_echo(device):\n    device.run('true')\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--serial", "no-such-serial",
                                "--adb-server", adb.address)
    assert _usage_error(result) == (f"ERROR: serial 'no-such-serial' (from command line): no such device on "
                                    f"the adb server at {adb.address} (see `adb -P {adb.port} devices`)")


def test_named_tcp_device_is_connected_and_used(pytester):
    with EmbeddedDevices("sim-android-8.1-buggy", clock_scale=0.25) as lab:
        serial, server = lab.serials[0], lab.server
        server.disconnect(serial)                  # a device this server has not seen yet
        pytester.makepyfile(test_named="def test_named(device):\n    assert device.shell('getprop ro.build.version.sdk') == '27'\n")
        result = pytester.runpytest("-p", "no:cacheprovider", "--serial", serial, "--adb-server", server.address)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([
            f"android devices: {serial} (from command line)",
            f"android adb server: {server.address} (from command line)",
            f"android device {serial}: redroid8_x86_64, Android 8.1.0 (sdk 27), profile none",
        ])
        assert f"{serial}\tdevice" in server.cli("devices", timeout=30).stdout   # left connected for the user


def test_markers_are_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.needs_root:*"])
