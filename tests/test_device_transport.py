"""TransportConnections against a scripted stand-in for the adb server: the spare connection is
used when the server answered OKAY and kept it open, and replaced (before any command is sent
on it) when the server failed it, closed it, or it belongs to another process."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import pytest
from adbutils.errors import AdbConnectionError, AdbError

from harness import adb_host
from harness.adb_host import Deadline, TransportConnections
from harness.adb_server import free_loopback_port

SERIAL = "127.0.0.1:6520"
TRANSPORT = f"host:transport:{SERIAL}"


@dataclass
class _Connection:
    requests: list[str] = field(default_factory=list)
    closed_by_client: threading.Event = field(default_factory=threading.Event)


class FakeAdbServer:
    """Answers each request with `answers[request]` (default OKAY); `close_after` closes the
    connection right after answering that request, as the server does when a transport drops."""

    def __init__(self) -> None:
        self.answers: dict[str, bytes] = {}
        self.close_after: set[str] = set()
        self.connections: list[_Connection] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            record = _Connection()
            self.connections.append(record)
            worker = threading.Thread(target=self._serve, args=(sock, record), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, sock: socket.socket, record: _Connection) -> None:
        sock.settimeout(5.0)
        with sock:
            while True:
                size = _read(sock, 4)
                if not size:
                    record.closed_by_client.set()
                    return
                request = _read(sock, int(size, 16)).decode()
                record.requests.append(request)
                sock.sendall(self.answers.get(request, b"OKAY"))
                if request in self.close_after:
                    return

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5.0)
        self._listener.close()


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except ConnectionResetError:        # closed with our answer unread: a reset, not a FIN
            return b""
        if not chunk:
            return data
        data += chunk
    return data


@pytest.fixture
def server():
    fake = FakeAdbServer()
    yield fake
    fake.stop()


@pytest.fixture
def transport(server):
    connections = TransportConnections("127.0.0.1", server.port, SERIAL)
    yield connections
    connections.drop_spare()


def _use(transport: TransportConnections, service: str) -> None:
    with transport.open(Deadline(5.0)) as conn:
        conn.request(service)


def _wait_for(condition, what: str) -> None:
    deadline = Deadline(5.0)
    while not condition():
        if deadline.left() == 0:
            raise AssertionError(f"gave up waiting for {what}")
        deadline.sleep(0.01)


def test_a_sound_spare_carries_the_next_command(server, transport):
    _use(transport, "shell,v2,raw:one")
    transport.prepare_spare(Deadline(5.0))
    _use(transport, "shell,v2,raw:two")
    assert [c.requests for c in server.connections] == [[TRANSPORT, "shell,v2,raw:one"],
                                                       [TRANSPORT, "shell,v2,raw:two"]]


def test_a_spare_the_server_failed_is_replaced_before_the_command(server, transport):
    server.answers[TRANSPORT] = b"FAIL000edevice offline"
    transport.prepare_spare(Deadline(5.0))
    _wait_for(lambda: len(server.connections) == 1 and server.connections[0].requests, "the spare's request")
    server.answers[TRANSPORT] = b"OKAY"                 # the device is back
    _use(transport, "shell,v2,raw:id")
    assert [c.requests for c in server.connections] == [[TRANSPORT], [TRANSPORT, "shell,v2,raw:id"]]


def test_a_spare_the_server_closed_is_replaced_before_the_command(server, transport):
    server.close_after.add(TRANSPORT)                   # its transport went away after the OKAY
    transport.prepare_spare(Deadline(5.0))
    _wait_for(lambda: len(server.connections) == 1 and server.connections[0].requests, "the spare's request")
    server.close_after.clear()
    _use(transport, "shell,v2,raw:id")
    assert [c.requests for c in server.connections] == [[TRANSPORT], [TRANSPORT, "shell,v2,raw:id"]]


def test_a_spare_opened_by_another_process_is_not_shared(server, transport, monkeypatch):
    transport.prepare_spare(Deadline(5.0))
    monkeypatch.setattr(adb_host.os, "getpid", lambda: -1)   # as in a forked child
    _use(transport, "shell,v2,raw:id")
    assert [c.requests for c in server.connections] == [[TRANSPORT], [TRANSPORT, "shell,v2,raw:id"]]


def test_a_failed_command_request_is_the_caller_s_error(server, transport):
    server.answers["shell,v2,raw:id"] = b"FAIL0006closed"
    with pytest.raises(AdbError, match="closed"):
        _use(transport, "shell,v2,raw:id")


def test_drop_spare_closes_it_and_one_spare_at_most_is_kept(server, transport):
    transport.prepare_spare(Deadline(5.0))
    transport.prepare_spare(Deadline(5.0))
    _wait_for(lambda: server.connections and server.connections[0].requests, "the spare's request")
    transport.drop_spare()
    _wait_for(server.connections[0].closed_by_client.is_set, "the spare to be closed")
    assert len(server.connections) == 1


def test_no_server_no_spare_and_a_clear_error():
    transport = TransportConnections("127.0.0.1", free_loopback_port(), SERIAL)
    transport.prepare_spare(Deadline(5.0))             # best effort: silent
    with pytest.raises(AdbConnectionError):
        transport.open(Deadline(5.0))
