"""The harness's private adb server helper (harness.adb_server) against virtual devices."""

from __future__ import annotations

import socket

import pytest
from adbutils.errors import AdbConnectionError

from harness.adb_server import AdbServer, AdbServerError, free_loopback_port, parse_address
from harness.sim.farm import SimFarm


@pytest.fixture(scope="module")
def farm():
    with SimFarm(count=2) as farm:
        yield farm


@pytest.fixture(scope="module")
def server():
    with AdbServer.start() as server:
        yield server


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except ConnectionRefusedError:
        return False


def test_private_server_answers_and_stop_kills_only_it():
    server = AdbServer.start()
    attached = AdbServer.attach(server.address)
    assert server.owned and not attached.owned
    assert server.version() >= 41
    attached.stop()                                   # not ours: still running
    assert attached.version() == server.version()
    server.stop()
    assert not listening(server.port)
    server.stop()                                     # idempotent


def test_connect_retries_refused_connections_until_the_device_listens(farm, server):
    serial = farm.serials[0]
    farm.control("restart", serial=serial, down_s=1.0)
    assert server.connect(serial, timeout=20) == f"connected to {serial}"
    assert server.connect(serial) == f"already connected to {serial}"
    assert server.disconnect(serial) == f"disconnected {serial}"
    assert "no such device" in server.disconnect(serial)


def test_connect_failure_carries_the_server_text(farm, server):
    serial = farm.serials[1]
    farm.control("kill", serial=serial)
    with pytest.raises(AdbServerError, match=f"failed to connect to '{serial}': Connection refused"):
        server.connect(serial, timeout=1)


def test_cli_and_env_point_at_the_private_server(server):
    done = server.cli("version", timeout=30)
    assert done.returncode == 0 and "Android Debug Bridge version" in done.stdout
    env = server.env()
    assert env["ANDROID_ADB_SERVER_PORT"] == str(server.port)
    assert env["ADB_SERVER_SOCKET"] == f"tcp:127.0.0.1:{server.port}"
    assert server.cli("devices", timeout=30).stdout.startswith("List of devices attached\n")


def test_client_never_starts_a_server_of_its_own():
    port = free_loopback_port()
    with pytest.raises(AdbConnectionError):
        AdbServer.attach(f"127.0.0.1:{port}").client().device_list()
    assert not listening(port)


def test_bad_addresses_and_the_default_port_are_refused():
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("localhost")
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("host:99999")
    with pytest.raises(ValueError, match="5037"):
        AdbServer.start(port=5037)
