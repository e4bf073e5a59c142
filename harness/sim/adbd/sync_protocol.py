"""The `sync:` file-transfer sub-protocol (pure, sans-IO), v1 layouts only.

Requests are `id[4] | len:u32 LE | path[len]`. After a `SEND` the client streams
`DATA len bytes` blocks and ends with `DONE mtime`. The byte stream is independent of adb WRTE
boundaries: one WRTE may carry SEND+DATA+DONE, or a request may be split over several WRTEs
(adb-protocol.md 3.1). `SyncParser.feed()` yields events in order; DATA payloads are passed on as
they arrive, so a large block is never buffered whole.

Replies are built by the `*_reply` functions; each is one fixed-size record that the service
must send in a single WRTE (adbutils reads them with one bare recv()).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SYNC_DATA_MAX = 64 * 1024
MAX_PATH_LENGTH = 1024

ID_STAT = b"STAT"
ID_LIST = b"LIST"
ID_SEND = b"SEND"
ID_RECV = b"RECV"
ID_QUIT = b"QUIT"
ID_DATA = b"DATA"
ID_DONE = b"DONE"
ID_DENT = b"DENT"
ID_OKAY = b"OKAY"
ID_FAIL = b"FAIL"

_ID_LEN = struct.Struct("<4sI")
_STAT = struct.Struct("<4s3I")
_DENT = struct.Struct("<4s4I")


@dataclass(frozen=True)
class SyncRequest:
    id: bytes            # 4 raw bytes, e.g. b"STAT"
    path: str            # decoded with surrogateescape, so any byte string round-trips

    @property
    def code(self) -> int:
        """The id as adbd prints it in `unknown command %08x` (a little-endian u32)."""
        return int.from_bytes(self.id, "little")


@dataclass(frozen=True)
class SendData:
    data: bytes


@dataclass(frozen=True)
class SendDone:
    mtime: int


@dataclass(frozen=True)
class SyncFailure:
    """The client broke the framing; adbd replies with this FAIL text (if any) and stops."""
    message: str


SyncEvent = SyncRequest | SendData | SendDone | SyncFailure


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode_path(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


class SyncParser:
    """Incremental request parser; after a SyncFailure it ignores everything."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = "request"        # request | send-block | send-data | dead
        self._data_left = 0

    def feed(self, data: bytes) -> list[SyncEvent]:
        self._buf += data
        events: list[SyncEvent] = []
        while self._step(events):
            pass
        return events

    def _step(self, events: list[SyncEvent]) -> bool:
        if self._state == "dead":
            self._buf.clear()
            return False
        if self._state == "send-data":
            if not self._buf:
                return False
            take = min(self._data_left, len(self._buf))
            events.append(SendData(bytes(self._buf[:take])))
            del self._buf[:take]
            self._data_left -= take
            if self._data_left == 0:
                self._state = "send-block"
            return True
        if len(self._buf) < _ID_LEN.size:
            return False
        ident, length = _ID_LEN.unpack_from(self._buf)
        if self._state == "send-block":
            del self._buf[:_ID_LEN.size]
            if ident == ID_DATA:
                self._data_left = length
                self._state = "send-data" if length else "send-block"
            elif ident == ID_DONE:
                events.append(SendDone(length))
                self._state = "request"
            else:
                self._fail(events, "invalid data message")
            return True
        if length > MAX_PATH_LENGTH:
            self._fail(events, "path too long")
            return True
        if len(self._buf) < _ID_LEN.size + length:
            return False
        path = decode_path(bytes(self._buf[_ID_LEN.size:_ID_LEN.size + length]))
        del self._buf[:_ID_LEN.size + length]
        events.append(SyncRequest(ident, path))
        if ident == ID_SEND:
            self._state = "send-block"
        return True

    def _fail(self, events: list[SyncEvent], message: str) -> None:
        events.append(SyncFailure(message))
        self._state = "dead"
        self._buf.clear()


# -- requests (what a client sends; used by tests and tools) --------------------------------------
def request(ident: bytes, path: str) -> bytes:
    raw = encode_path(path)
    return _ID_LEN.pack(ident, len(raw)) + raw


def data_block(chunk: bytes) -> bytes:
    return _ID_LEN.pack(ID_DATA, len(chunk)) + chunk


def done_block(mtime: int) -> bytes:
    return _ID_LEN.pack(ID_DONE, mtime)


# -- replies -----------------------------------------------------------------------------------------
def stat_reply(mode: int, size: int, mtime: int) -> bytes:
    """16 bytes; all zeros for a missing path (adbutils' exists() tests mtime != 0)."""
    return _STAT.pack(ID_STAT, mode & 0xFFFFFFFF, size & 0xFFFFFFFF, mtime & 0xFFFFFFFF)


def dent_reply(mode: int, size: int, mtime: int, name: bytes) -> bytes:
    return _DENT.pack(ID_DENT, mode & 0xFFFFFFFF, size & 0xFFFFFFFF, mtime & 0xFFFFFFFF,
                      len(name)) + name


def list_done_reply() -> bytes:
    """End of a LIST: a whole 20-byte dent with id DONE and zeros."""
    return _DENT.pack(ID_DONE, 0, 0, 0, 0)


def data_reply(chunk: bytes) -> bytes:
    if len(chunk) > SYNC_DATA_MAX:
        raise ValueError(f"sync DATA of {len(chunk)} bytes, expected at most {SYNC_DATA_MAX}")
    return _ID_LEN.pack(ID_DATA, len(chunk)) + chunk


def recv_done_reply() -> bytes:
    return _ID_LEN.pack(ID_DONE, 0)


def okay_reply() -> bytes:
    return _ID_LEN.pack(ID_OKAY, 0)


def fail_reply(message: str) -> bytes:
    raw = message.encode()
    return _ID_LEN.pack(ID_FAIL, len(raw)) + raw
