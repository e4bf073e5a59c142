"""One TCP connection of the virtual adbd: moves bytes between the socket, the pure
`AdbdConnection` state machine and the service tasks. No protocol rule lives here."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import TYPE_CHECKING

from harness.sim.adbd.connection import (AdbdConnection, Connected, Event, OpenRequested,
                                         StreamClosed, StreamData, StreamWritable)
from harness.sim.adbd.protocol import ProtocolError
from harness.sim.adbd.services import resolve
from harness.sim.adbd.stream import AfterClose, Service
from harness.sim.shell.api import Input

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

log = logging.getLogger("harness.sim.adbd")

READ_SIZE = 256 * 1024


class _Stream:
    """A ServiceStream bound to one adb stream of a session."""

    def __init__(self, session: "Session", local_id: int, drop_after: int | None = None) -> None:
        self._session = session
        self.local_id = local_id
        self.inbound = Input()
        self.task: asyncio.Task | None = None
        self.after_close: AfterClose | None = None
        self.closed = False
        self._writable = asyncio.Event()
        self.command = ""                    # the service, for the fault's evidence
        self._drop_after = drop_after        # fault: the connection drops once this much was written
        self._written = 0

    @property
    def max_payload(self) -> int:
        return self._session.conn.max_payload

    def write(self, record: bytes) -> None:
        self._session.conn.write(self.local_id, record)
        self._session.flush()
        self._written += len(record)
        if self._drop_after is not None and self._written >= self._drop_after:
            self._session.drop_for_fault(self.command, f"after {self._written} bytes of output")

    async def drain(self) -> None:
        # Keep about one WRTE queued behind the one in flight: enough to stream at full speed.
        conn = self._session.conn
        while conn.queued(self.local_id) > conn.max_payload:
            self._writable.clear()
            await self._writable.wait()

    def wake(self) -> None:
        self._writable.set()


class Session:
    def __init__(self, device: "VirtualDevice", sock: socket.socket) -> None:
        self.device = device
        self._sock = sock
        self.conn = AdbdConnection(device.banner())
        self._writer: asyncio.StreamWriter | None = None
        self._streams: dict[int, _Stream] = {}
        self._closed = False
        self._delayed: deque[tuple[float, bytes]] = deque()    # fault latency: (due, data) in order
        self._delay_timer: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        try:
            reader, self._writer = await asyncio.open_connection(sock=self._sock)
            while not self._closed:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                try:
                    events = self.conn.receive(data)
                except ProtocolError as exc:
                    log.warning("adbd %s: closing connection: %s", self.device.index, exc)
                    break
                self._handle(events)
                self.flush()
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Drop the TCP connection (CLSEs already queued are flushed first); stop every service."""
        self._closed = True
        if self._delay_timer is not None:
            self._delay_timer.cancel()
            self._delay_timer = None
        self._delayed.clear()
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()
        if self._writer is not None:
            self._writer.close()         # idempotent; also covers a close() during the open
        else:
            self._sock.close()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        delay = self.device.faults.send_delay_s()
        if data and (delay or self._delayed):
            loop = asyncio.get_running_loop()
            self._delayed.append((loop.time() + delay, data))
            if self._delay_timer is None:
                self._delay_timer = loop.call_at(self._delayed[0][0], self._send_delayed)
            return
        self._send(data)

    def _send(self, data: bytes) -> None:
        if data and self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def _send_delayed(self) -> None:
        """Send what is due, in the order it was queued (a slow device reorders nothing)."""
        loop = asyncio.get_running_loop()
        self._delay_timer = None
        while self._delayed and self._delayed[0][0] <= loop.time():
            self._send(self._delayed.popleft()[1])
        if self._delayed:
            self._delay_timer = loop.call_at(self._delayed[0][0], self._send_delayed)

    def drop_for_fault(self, service: str, when: str) -> None:
        """The transport-drop fault: the TCP connection goes away in the middle of a command."""
        if self._closed:
            return
        self.device.faults.record("transport_drop", f"TCP connection dropped {when}: {service!r}")
        self.close()

    # -- events ---------------------------------------------------------------------------
    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, OpenRequested):
                self._open(event)
            elif isinstance(event, StreamData):
                stream = self._streams.get(event.local_id)
                if stream is not None:
                    stream.inbound.feed(event.data)
            elif isinstance(event, StreamWritable):
                stream = self._streams.get(event.local_id)
                if stream is not None:
                    stream.wake()
            elif isinstance(event, StreamClosed):
                self._on_closed(event)
            elif isinstance(event, Connected):
                log.debug("adbd %s: host connected, maxdata %d", self.device.index, event.max_payload)

    def _open(self, event: OpenRequested) -> None:
        service = resolve(event.service, self.device)
        if service is None:
            log.info("adbd %s: refusing service %r", self.device.index, event.service)
            self.conn.refuse(event.host_id)
            return
        local_id = self.conn.accept(event.host_id)
        drop_after = None
        if event.service.startswith(("shell", "exec:")):
            drop_after = self.device.faults.drop_after()
        stream = _Stream(self, local_id, drop_after)
        stream.command = event.service
        self._streams[local_id] = stream
        stream.task = asyncio.get_running_loop().create_task(self._run_service(stream, service))
        if drop_after == 0:
            asyncio.get_running_loop().call_soon(self.drop_for_fault, event.service,
                                                 "at the start of the command")

    def _on_closed(self, event: StreamClosed) -> None:
        stream = self._streams.pop(event.local_id, None)
        if stream is None:
            return
        stream.closed = True
        if event.by_host and stream.task is not None:
            stream.task.cancel()
        if stream.after_close is not None:
            self._after(stream.after_close)

    def _after(self, hook: AfterClose) -> None:
        # Runs once our CLSE is in the socket's buffer; hooks may drop this very connection.
        self.flush()
        asyncio.get_running_loop().call_soon(hook)

    async def _run_service(self, stream: _Stream, service: Service) -> None:
        try:
            hook = await service(stream)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("adbd %s: service failed", self.device.index)
            hook = None
        if stream.closed:
            if hook is not None:
                self._after(hook)
            return
        stream.after_close = hook
        self._handle(self.conn.close(stream.local_id))
        self.flush()
