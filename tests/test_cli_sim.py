"""`harness sim`: devices the real adb lists, a clean stop on SIGTERM, one-line errors."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from harness.adb_server import AdbServer
from harness.cli import main

READY_LINE = "Ctrl-C or SIGTERM stops them."


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """stdout of proc up to and including the line `marker` (or fail after timeout)."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    text = ""
    while marker not in text:
        left = deadline - time.monotonic()
        assert left > 0, f"harness sim not ready after {timeout}s; output so far:\n{text}"
        readable, _, _ = select.select([fd], [], [], left)
        if readable:
            chunk = os.read(fd, 65536).decode()
            assert chunk, f"harness sim exited early ({proc.wait(5)}):\n{text}{proc.stderr.read().decode()}"
            text += chunk
    return text


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def test_sim_devices_are_listed_by_adb_and_stop_on_sigterm():
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "sim", "--count", "2", "--clock-scale", "0.25"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = _read_until(proc, READY_LINE, timeout=60)
        serials = re.findall(r"^device: (\S+)$", out, re.M)
        server_port = int(re.search(r"^adb server: 127\.0\.0\.1:(\d+) \(private", out, re.M).group(1))
        control_port = int(re.search(r"^control port: 127\.0\.0\.1:(\d+)", out, re.M).group(1))
        assert len(serials) == 2 and server_port != 5037
        assert f"export ANDROID_ADB_SERVER_PORT={server_port}; adb devices -l" in out
        assert f"adb -P {server_port} -s {serials[0]} shell" in out

        listing = AdbServer.attach(f"127.0.0.1:{server_port}").cli("devices", timeout=30)
        assert listing.returncode == 0
        for serial in serials:
            assert f"{serial}\tdevice" in listing.stdout.splitlines()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "harness sim: stopping" in proc.stdout.read().decode()
    for port in [server_port, control_port] + [int(s.rsplit(":", 1)[1]) for s in serials]:
        assert not _listening(port), f"port {port} still open after harness sim stopped"


def test_sim_on_an_existing_server_disconnects_and_leaves_it_running():
    with AdbServer.start() as server:
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "sim", "--adb-server", server.address],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out = _read_until(proc, READY_LINE, timeout=60)
            (serial,) = re.findall(r"^device: (\S+)$", out, re.M)
            assert f"adb server: {server.address} (existing, left running)" in out
            assert f"{serial}\tdevice" in server.cli("devices", timeout=30).stdout.splitlines()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert server.version() > 0
        assert serial not in server.cli("devices", timeout=30).stdout


@pytest.mark.parametrize("argv, expected", [
    (["sim", "--profile", "no-such-profile"], "harness sim: error: profile 'no-such-profile' not found in "),
    (["sim", "--adb-server", "nonsense"],
     "harness sim: error: --adb-server: expected HOST:PORT of an adb server, like 127.0.0.1:5037, got 'nonsense'"),
])
def test_bad_options_give_one_error_line_and_exit_2(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(expected)


@pytest.mark.parametrize("argv", [["sim", "--count", "0"], ["sim", "--clock-scale", "-1"], ["sim", "--seed", "x"]])
def test_bad_values_are_argparse_errors_on_one_line(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("harness sim: error: argument ")


def test_subcommands_are_discovered(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "sim" in capsys.readouterr().out
