"""adbd's side of one TCP connection as a pure state machine (sans-IO, like h11).

The asyncio server feeds received bytes to `receive()` and writes `data_to_send()` to the socket;
services queue output with `write()` and end with `close()`. The rules of the transport
(adb-protocol.md sections 1.4-1.7 and 5) live here, so they are tested without sockets:

- nothing is answered before the host's CNXN; our CNXN replies to it (a second CNXN resets the
  link: every stream is closed and the handshake is redone);
- OPEN is answered by `accept()` (OKAY with a new nonzero id) or `refuse()` (CLSE(0, host id));
- every host WRTE is acknowledged with OKAY at once;
- at most one of our WRTEs per stream is unacknowledged; the rest waits in a queue and is
  packed into WRTEs of at most the negotiated max payload without splitting a queued record
  that fits in one (sync replies must arrive whole);
- our CLSE goes out only after the last WRTE is acknowledged; CLSE/OKAY/WRTE for unknown ids are
  ignored (the host echoes our CLSE); a host CLSE ends the stream and is echoed, as adbd does.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from harness.sim.adbd.protocol import (A_CLSE, A_CNXN, A_OKAY, A_OPEN, A_VERSION,
                                       A_VERSION_SKIP_CHECKSUM, A_WRTE, MAX_PAYLOAD, Message,
                                       MessageReader, connect_message, encode)


# -- events -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Connected:
    """The host's CNXN arrived and ours was queued; `max_payload` is the negotiated maxdata."""
    host_banner: str
    max_payload: int


@dataclass(frozen=True)
class OpenRequested:
    """The host wants `service`; answer with accept(host_id) or refuse(host_id)."""
    host_id: int
    service: str


@dataclass(frozen=True)
class StreamData:
    local_id: int
    data: bytes


@dataclass(frozen=True)
class StreamWritable:
    """The host acknowledged a WRTE of this stream: its queue shrank."""
    local_id: int


@dataclass(frozen=True)
class StreamClosed:
    local_id: int
    by_host: bool        # True: host CLSE (or reset); False: our CLSE went out after close()


Event = Connected | OpenRequested | StreamData | StreamWritable | StreamClosed


@dataclass
class _Stream:
    local_id: int
    remote_id: int
    queue: deque[bytes] = field(default_factory=deque)
    queued: int = 0
    awaiting_ack: bool = False
    closing: bool = False


class AdbdConnection:
    def __init__(self, banner: str, *, max_payload: int = MAX_PAYLOAD) -> None:
        self.banner = banner
        self.own_max_payload = max_payload
        self.max_payload = max_payload          # negotiated after CNXN
        self.version = A_VERSION
        self.online = False
        self._reader = MessageReader(MAX_PAYLOAD)
        self._out = bytearray()
        self._streams: dict[int, _Stream] = {}
        self._ids = itertools.count(1)
        self._events: list[Event] = []

    # -- input ----------------------------------------------------------------------------
    def receive(self, data: bytes) -> list[Event]:
        """Feed bytes from the socket; raises ProtocolError when the framing is broken."""
        for message in self._reader.feed(data):
            self._handle(message)
        return self._take_events()

    def _handle(self, m: Message) -> None:
        if m.command == A_CNXN:
            self._on_connect(m)
        elif not self.online:
            return                                  # anything before CNXN is ignored
        elif m.command == A_OPEN:
            if m.arg0 != 0:
                self._events.append(OpenRequested(m.arg0, m.data.rstrip(b"\0").decode(
                    "utf-8", "surrogateescape")))
        elif m.command == A_WRTE:
            stream = self._streams.get(m.arg1)
            if stream is not None:
                self._send(Message(A_OKAY, stream.local_id, stream.remote_id))
                self._events.append(StreamData(stream.local_id, m.data))
        elif m.command == A_OKAY:
            stream = self._streams.get(m.arg1)
            if stream is not None and stream.awaiting_ack:
                stream.awaiting_ack = False
                self._pump(stream)
                self._events.append(StreamWritable(stream.local_id))
        elif m.command == A_CLSE:
            stream = self._streams.pop(m.arg1, None)
            if stream is not None:
                self._send(Message(A_CLSE, stream.local_id, stream.remote_id))
                self._events.append(StreamClosed(stream.local_id, by_host=True))
        # AUTH (never requested), STLS, SYNC and unknown commands are dropped, as the host does.

    def _on_connect(self, m: Message) -> None:
        for local_id in list(self._streams):
            del self._streams[local_id]
            self._events.append(StreamClosed(local_id, by_host=True))
        self.version = min(m.arg0, A_VERSION)
        self.max_payload = max(1, min(m.arg1, self.own_max_payload))
        self._reader.max_payload = self.max_payload
        self.online = True
        self._send(connect_message(self.banner, self.own_max_payload))
        host_banner = m.data.rstrip(b"\0").decode("utf-8", "replace")
        self._events.append(Connected(host_banner, self.max_payload))

    # -- streams --------------------------------------------------------------------------
    def accept(self, host_id: int) -> int:
        local_id = next(self._ids)
        self._streams[local_id] = _Stream(local_id, host_id)
        self._send(Message(A_OKAY, local_id, host_id))
        return local_id

    def refuse(self, host_id: int) -> None:
        self._send(Message(A_CLSE, 0, host_id))

    def is_open(self, local_id: int) -> bool:
        stream = self._streams.get(local_id)
        return stream is not None and not stream.closing

    def write(self, local_id: int, record: bytes) -> None:
        """Queue one record; a record that fits in one WRTE is never split. Ignored once the
        stream is closed or closing."""
        stream = self._streams.get(local_id)
        if stream is None or stream.closing or not record:
            return
        stream.queue.append(record)
        stream.queued += len(record)
        self._pump(stream)

    def queued(self, local_id: int) -> int:
        """Bytes of this stream not yet handed to the host (0 for a closed stream)."""
        stream = self._streams.get(local_id)
        return 0 if stream is None else stream.queued

    def close(self, local_id: int) -> list[Event]:
        """End the stream: CLSE as soon as every queued byte was acknowledged."""
        stream = self._streams.get(local_id)
        if stream is not None and not stream.closing:
            stream.closing = True
            self._pump(stream)
        return self._take_events()

    def _pump(self, stream: _Stream) -> None:
        if stream.awaiting_ack:
            return
        if stream.queue:
            payload = self._next_payload(stream)
            self._send(Message(A_WRTE, stream.local_id, stream.remote_id, payload))
            stream.awaiting_ack = True
        elif stream.closing:
            del self._streams[stream.local_id]
            self._send(Message(A_CLSE, stream.local_id, stream.remote_id))
            self._events.append(StreamClosed(stream.local_id, by_host=False))

    def _next_payload(self, stream: _Stream) -> bytes:
        limit = self.max_payload
        first = stream.queue.popleft()
        if len(first) > limit:
            stream.queue.appendleft(first[limit:])
            first = first[:limit]
        parts = [first]
        size = len(first)
        while stream.queue and size + len(stream.queue[0]) <= limit:
            record = stream.queue.popleft()
            parts.append(record)
            size += len(record)
        stream.queued -= size
        return b"".join(parts)

    # -- output ---------------------------------------------------------------------------
    def _send(self, message: Message) -> None:
        self._out += encode(message, with_checksum=self.version < A_VERSION_SKIP_CHECKSUM)

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def _take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events
