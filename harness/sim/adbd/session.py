"""One TCP connection of the virtual adbd: moves bytes between the socket, the pure
`AdbdConnection` state machine and the service tasks. No protocol rule lives here.

The socket is read by an asyncio Protocol (received bytes are handled in the callback that got
them, not a loop turn later in a reader task), and what the state machine queues is sent once
per event-loop turn: a command's OKAY, its output and its exit packet leave in one segment when
they are ready together, so the adb server wakes once for them instead of once per record.
Sends that must precede something else (a fault's drop, a hook that closes the connection)
flush at once."""

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
        self._written += len(record)
        if self._drop_after is not None and self._written >= self._drop_after:
            self._session.flush()
            self._session.drop_for_fault(self.command, f"after {self._written} bytes of output")
        else:
            self._session.flush_soon()

    async def drain(self) -> None:
        # Keep about one WRTE queued behind the one in flight: enough to stream at full speed.
        conn = self._session.conn
        while conn.queued(self.local_id) > conn.max_payload:
            self._writable.clear()
            await self._writable.wait()

    def wake(self) -> None:
        self._writable.set()


class _SocketProtocol(asyncio.Protocol):
    def __init__(self, session: "Session") -> None:
        self._session = session

    def data_received(self, data: bytes) -> None:
        self._session.receive(data)

    def eof_received(self) -> bool:
        self._session.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._session.close()


class Session:
    def __init__(self, device: "VirtualDevice", sock: socket.socket) -> None:
        self.device = device
        self._sock = sock
        self.conn = AdbdConnection(device.banner())
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._closed = False
        self._ended: asyncio.Future[None] | None = None
        self._flush_pending = False
        self._delayed: deque[tuple[float, bytes]] = deque()    # fault latency: (due, data) in order
        self._delay_timer: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        """Serve the connection until it closes (either side)."""
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        try:
            self._transport, _ = await loop.connect_accepted_socket(
                lambda: _SocketProtocol(self), sock=self._sock)
        except (ConnectionError, OSError):
            self.close()
            return
        if self._closed:                     # closed while the transport was being set up
            self._transport.close()
            return
        await self._ended

    def receive(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            events = self.conn.receive(data)
        except ProtocolError as exc:
            log.warning("adbd %s: closing connection: %s", self.device.index, exc)
            self.close()
            return
        self._handle(events)
        self.flush_soon()

    def close(self) -> None:
        """Drop the TCP connection (what is already queued goes out first); stop every service."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        if self._delay_timer is not None:
            self._delay_timer.cancel()
            self._delay_timer = None
        self._delayed.clear()
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()
        if self._transport is not None:
            self._transport.close()      # sends what it buffered, then closes
        else:
            self._sock.close()
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    def flush_soon(self) -> None:
        """Send what is queued at the end of this loop turn, together with what else it queues."""
        if not self._flush_pending and not self._closed:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_pending = False
        self.flush()

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
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

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
        loop = asyncio.get_running_loop()
        if drop_after == 0:                  # scheduled first: it runs before the service starts
            loop.call_soon(self.drop_for_fault, event.service, "at the start of the command")
        stream.task = loop.create_task(self._run_service(stream, service))

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
        self.flush_soon()
