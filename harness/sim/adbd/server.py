"""The virtual device's adbd listener: one loopback TCP port per device, a fresh `Session` per
accepted connection, and the device's `TransportControl`.

The port is chosen once (never in 5555-5585, which the adb server probes as emulators) and kept
for the device's life: while adbd is down the socket is closed so connects are refused, and it
is bound again on the same port when adbd comes back. Before the first boot brings adbd up, the
port is held by a bound socket that does not listen (connects are refused as well).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from harness.sim.adbd.session import Session

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

log = logging.getLogger("harness.sim.adbd")

EMULATOR_PORTS = range(5555, 5586)
REBIND_RETRY_S = 0.25       # host seconds between attempts when the port is briefly unavailable
BACKLOG = 64


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # rebind over TIME_WAIT
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def reserve_port(host: str, port: int = 0) -> socket.socket:
    """A bound, not yet listening socket on `port`, or on a free port outside 5555-5585."""
    if port:
        if port in EMULATOR_PORTS:
            raise ValueError(f"port {port} is in 5555-5585, which the adb server scans for emulators")
        return _bound_socket(host, port)
    rejected = []
    try:
        for _ in range(64):
            sock = _bound_socket(host, 0)
            if sock.getsockname()[1] not in EMULATOR_PORTS:
                return sock
            rejected.append(sock)            # keep it bound so the next try gets another port
        raise OSError("no free port outside 5555-5585")
    finally:
        for sock in rejected:
            sock.close()


class AdbdServer:
    """adbd of one virtual device. Create it first and hand it to the device as its transport
    (`VirtualDevice(..., transport=server)`, then `server.attach(device)`), or use
    `serve_device()` for a device that already exists."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.device: "VirtualDevice | None" = None
        self.host = host
        self._loop = asyncio.get_running_loop()
        self._sock: socket.socket | None = reserve_port(host, port)
        self.port: int = self._sock.getsockname()[1]
        self._listening = False
        self._wants_listening = False        # asked before attach(): applied by attach()
        self._retry: asyncio.TimerHandle | None = None
        self._sessions: set[Session] = set()
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    def attach(self, device: "VirtualDevice") -> None:
        self.device = device
        device.transport = self
        if self._wants_listening:
            self._listen()

    @property
    def serial(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def listening(self) -> bool:
        return self._listening

    # -- TransportControl -------------------------------------------------------------------
    def set_listening(self, listening: bool) -> None:
        if self._closed:
            return
        self._wants_listening = listening
        if listening:
            self._listen()
        else:
            self._stop_listening()

    def drop_all(self) -> None:
        for session in list(self._sessions):
            session.close()

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop for good: nothing listens, every connection drops, the port is released."""
        self._stop_listening()
        self.drop_all()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._closed = True

    async def wait_closed(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    # -- internals ------------------------------------------------------------------------------
    def _listen(self) -> None:
        if self._listening or self.device is None:
            return
        if self._sock is None:
            try:
                self._sock = _bound_socket(self.host, self.port)
            except OSError as exc:
                log.warning("adbd %s: cannot bind yet (%s), retrying", self.serial, exc)
                if self._retry is None:
                    self._retry = self._loop.call_later(REBIND_RETRY_S, self._retry_listen)
                return
        self._sock.listen(BACKLOG)
        self._loop.add_reader(self._sock.fileno(), self._accept)
        self._listening = True

    def _retry_listen(self) -> None:
        self._retry = None
        self._listen()

    def _stop_listening(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if not self._listening:
            return
        assert self._sock is not None
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()                   # pending connects in the backlog are reset
        self._sock = None
        self._listening = False

    def _accept(self) -> None:
        assert self._sock is not None
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("adbd %s: accept failed: %s", self.serial, exc)
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # small OKAYs go out now
            assert self.device is not None, "listening only once attached"
            session = Session(self.device, conn)
            self._sessions.add(session)
            task = self._loop.create_task(self._serve(session))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, session: Session) -> None:
        try:
            await session.run()
        finally:
            self._sessions.discard(session)


def serve_device(device: "VirtualDevice", host: str = "127.0.0.1", port: int = 0) -> AdbdServer:
    """Attach an adbd to an existing device (call inside the running loop)."""
    server = AdbdServer(host, port)
    server.attach(device)
    return server
