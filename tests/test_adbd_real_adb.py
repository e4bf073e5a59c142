"""The virtual devices driven by the REAL adb server (bundled in adbutils) and real adbutils.

One farm of 8 devices and one private adb server per module. Tests that change a device's state
(root, restart, files) each use their own device, so the order of tests does not matter.
"""

from __future__ import annotations

import importlib.util
import os
import re

import adbutils
import pytest
from adbutils import AdbError

from harness.adb_server import AdbServer
from harness.sim.farm import SimFarm

TIMEOUT = 30.0
needs_shell = pytest.mark.skipif(importlib.util.find_spec("harness.sim.shell.interpreter") is None,
                                 reason="the shell interpreter has not landed yet")

# Device roles (indexes into farm.serials)
GENERAL, TRANSFER, ROOT, RESTART, REFUSED, STATE_A, STATE_B, ADBUTILS = range(8)
REBOOT = REFUSED       # refused-service checks leave no state behind


@pytest.fixture(scope="module")
def farm():
    with SimFarm(count=8) as farm:
        yield farm


@pytest.fixture(scope="module")
def adb(farm):
    with AdbServer.start() as server:
        for serial in farm.serials:
            assert server.connect(serial, timeout=TIMEOUT) == f"connected to {serial}"
        yield server


@pytest.fixture(scope="module")
def client(adb) -> adbutils.AdbClient:
    return adb.client(socket_timeout=TIMEOUT)


def require_tools(adb, serial_: str, *probes: str) -> None:
    """Skip while a tool the test relies on is not implemented on the virtual device yet (the
    tools are written in parallel); each probe is a harmless command line using one tool."""
    for probe in probes:
        done = adb.cli("-s", serial_, "shell", probe, timeout=TIMEOUT)
        missing = re.fullmatch(r"/system/bin/sh: (\S+): not found\n", done.stderr)
        if missing:
            pytest.skip(f"{missing.group(1)} is not implemented on the virtual device yet")


def serial(farm, role: int) -> str:
    return farm.serials[role]


def status(farm, serial_: str) -> dict:
    (entry,) = [d for d in farm.control("status")["devices"] if d["serial"] == serial_]
    return entry


# -- listing ------------------------------------------------------------------------------------
def test_adb_devices_l_lists_every_device_with_product_model_device(farm, adb):
    done = adb.cli("devices", "-l", timeout=TIMEOUT)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "List of devices attached"
    for s in farm.serials:
        pattern = (re.escape(s) + r"\s+device product:redroid_x86_64 model:redroid8_x86_64 "
                   r"device:redroid_x86_64 transport_id:\d+")
        assert any(re.fullmatch(pattern, line) for line in lines), (s, lines)


def test_adbutils_device_list_and_already_connected(farm, adb, client):
    assert sorted(d.serial for d in client.device_list()) == sorted(farm.serials)
    s = serial(farm, GENERAL)
    assert adb.connect(s) == f"already connected to {s}"
    assert client.device(s).get_state() == "device"
    assert client.device(s).get_features().split(",") == ["shell_v2", "cmd"]


# -- shell (needs the interpreter) --------------------------------------------------------------
@needs_shell
def test_adb_shell_exit_status(farm, adb):
    done = adb.cli("-s", serial(farm, GENERAL), "shell", "exit 3", timeout=TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "")


@needs_shell
def test_adb_shell_keeps_stdout_and_stderr_apart(farm, adb):
    s = serial(farm, GENERAL)
    require_tools(adb, s, "echo probe")
    done = adb.cli("-s", s, "shell", "echo out; echo err >&2", timeout=TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")


@needs_shell
def test_adb_shell_stdin_reaches_the_command_and_eof_ends_it(farm, adb):
    s = serial(farm, GENERAL)
    require_tools(adb, s, "cat /dev/null")
    data = bytes(range(256)) * 64 + b"end\n"
    done = adb.cli("-s", s, "shell", "cat", input=data, text=False, timeout=TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (0, data, b"")


@needs_shell
def test_unknown_command_is_not_found_with_127(farm, adb, client):
    s = serial(farm, GENERAL)
    done = adb.cli("-s", s, "shell", "nosuchcmd", timeout=TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (127, "", "/system/bin/sh: nosuchcmd: not found\n")
    result = client.device(s).shell2("nosuchcmd", v2=True)
    assert result.returncode == 127 and result.stderr == "/system/bin/sh: nosuchcmd: not found\n"


@needs_shell
def test_adbutils_shell_and_shell2(farm, adb, client):
    require_tools(adb, serial(farm, GENERAL), "echo probe", "false")
    d = client.device(serial(farm, GENERAL))
    assert d.shell("echo hi") == "hi"
    v1 = d.shell2("echo out; false")                 # v1: `; echo X4EXIT:$?` marker
    assert (v1.returncode, v1.output) == (1, "out\n")
    v2 = d.shell2("echo a; echo b >&2; exit 4", v2=True)
    assert (v2.returncode, v2.stdout, v2.stderr) == (4, "a\n", "b\n")


# -- sync -----------------------------------------------------------------------------------------
def test_adb_push_then_pull_5mb_round_trips(farm, adb, client, tmp_path):
    s = serial(farm, TRANSFER)
    payload = os.urandom(5 * 1024 * 1024)
    src, back = tmp_path / "big.bin", tmp_path / "back.bin"
    src.write_bytes(payload)
    pushed = adb.cli("-s", s, "push", str(src), "/data/local/tmp/big.bin", timeout=120)
    assert pushed.returncode == 0, pushed.stderr
    assert "1 file pushed, 0 skipped." in pushed.stdout + pushed.stderr
    pulled = adb.cli("-s", s, "pull", "/data/local/tmp/big.bin", str(back), timeout=120)
    assert pulled.returncode == 0, pulled.stderr
    assert back.read_bytes() == payload
    info = client.device(s).sync.stat("/data/local/tmp/big.bin")
    assert info.size == len(payload) and info.mode == 0o100666


def test_adb_push_to_a_read_only_path_fails(farm, adb, tmp_path):
    src = tmp_path / "x"
    src.write_bytes(b"x")
    done = adb.cli("-s", serial(farm, TRANSFER), "push", str(src), "/system/bin/x", timeout=TIMEOUT)
    assert done.returncode == 1
    assert "couldn't create file: Read-only file system" in done.stderr


def test_adbutils_sync_push_stat_exists_list_pull(farm, client, tmp_path):
    d = client.device(serial(farm, ADBUTILS))
    d.sync.push(b"hello sync\n", "/data/local/tmp/hello.txt")
    info = d.sync.stat("/data/local/tmp/hello.txt")
    assert info.size == 11 and info.mode == 0o100777          # adbutils pushes 0755 -> 0777
    assert d.sync.exists("/data/local/tmp/hello.txt")
    assert not d.sync.exists("/data/local/tmp/missing")
    assert d.sync.stat("/data/local/tmp/missing").mode == 0
    assert "hello.txt" in [e.path for e in d.sync.list("/data/local/tmp")]
    assert d.sync.read_bytes("/data/local/tmp/hello.txt") == b"hello sync\n"
    d.sync.pull("/data/local/tmp/hello.txt", str(tmp_path / "h.txt"))
    assert (tmp_path / "h.txt").read_bytes() == b"hello sync\n"
    with pytest.raises(AdbError, match="No such file or directory"):
        d.sync.read_bytes("/data/local/tmp/missing")


# -- root -----------------------------------------------------------------------------------------
def test_adb_root_drops_the_device_and_brings_it_back(farm, adb, client):
    s = serial(farm, ROOT)
    done = adb.cli("-s", s, "root", timeout=TIMEOUT)
    assert (done.returncode, done.stdout) == (0, "restarting adbd as root\n"), done.stderr
    assert status(farm, s)["adbd_root"] is True
    assert client.device(s).root() == "adbd is already running as root\n"


@needs_shell
def test_adb_shell_id_after_root_is_uid_0(farm, adb):
    s = serial(farm, ROOT)
    require_tools(adb, s, "id")
    adb.cli("-s", s, "root", timeout=TIMEOUT)
    done = adb.cli("-s", s, "shell", "id", timeout=TIMEOUT)
    assert done.returncode == 0 and done.stdout.startswith("uid=0(root) gid=0(root)")


# -- errors and reconnection ------------------------------------------------------------------------
def test_refused_service_is_adberror_closed(farm, client):
    d = client.device(serial(farm, REFUSED))
    for service in ("framebuffer:", "jdwp:1234"):
        with d.open_transport() as conn:
            conn.send_command(service)
            with pytest.raises(AdbError, match="^closed$"):
                conn.check_okay()


def test_adb_reconnects_after_a_container_restart(farm, adb, client):
    s = serial(farm, RESTART)
    d = client.device(s)
    d.sync.push(b"survives /data", "/data/local/tmp/keep")
    farm.control("restart", serial=s, down_s=0.5)
    assert adb.cli("-s", s, "wait-for-disconnect", timeout=TIMEOUT).returncode == 0
    assert adb.cli("-s", s, "wait-for-device", timeout=TIMEOUT).returncode == 0
    assert d.sync.read_bytes("/data/local/tmp/keep") == b"survives /data"
    assert status(farm, s)["boot_count"] == 2


def test_adb_reboot_drops_the_device_and_it_boots_again(farm, adb):
    s = serial(farm, REBOOT)
    boots = status(farm, s)["boot_count"]
    done = adb.cli("-s", s, "reboot", timeout=TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert adb.cli("-s", s, "wait-for-disconnect", timeout=TIMEOUT).returncode == 0
    assert adb.cli("-s", s, "wait-for-device", timeout=TIMEOUT).returncode == 0
    assert status(farm, s)["boot_count"] == boots + 1


def test_adb_install_streams_the_apk_over_exec_cmd(farm, adb, tmp_path):
    apk = tmp_path / "app.apk"
    apk.write_bytes(os.urandom(300_000))
    done = adb.cli("-s", serial(farm, TRANSFER), "install", "-r", str(apk), timeout=TIMEOUT)
    assert (done.returncode, done.stdout) == (0, "Performing Streamed Install\nSuccess\n"), done.stderr


# -- many devices, independent state ----------------------------------------------------------------
def test_devices_have_independent_file_systems(farm, client):
    a, b = client.device(serial(farm, STATE_A)), client.device(serial(farm, STATE_B))
    a.sync.push(b"only on a", "/data/local/tmp/mine")
    assert a.sync.exists("/data/local/tmp/mine")
    assert not b.sync.exists("/data/local/tmp/mine")


@needs_shell
def test_setprop_on_one_device_is_not_seen_on_another(farm, adb, client):
    require_tools(adb, serial(farm, STATE_A), "getprop ro.build.id", "setprop debug.harness.probe 1")
    a, b = client.device(serial(farm, STATE_A)), client.device(serial(farm, STATE_B))
    a.shell("setprop debug.harness.mark on-a")
    assert a.shell("getprop debug.harness.mark") == "on-a"
    assert b.shell("getprop debug.harness.mark") == ""
