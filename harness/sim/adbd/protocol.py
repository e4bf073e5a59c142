"""The adb transport message codec (pure, sans-IO): 24-byte headers plus payload.

Layout (all little-endian u32): command, arg0, arg1, data_length, data_check, magic, where
magic = command ^ 0xffffffff and data_check is the unsigned byte sum of the payload (receivers
have ignored it since protocol version 0x01000001; see shared/reference/adb-protocol.md 1.1-1.3).
`MessageReader` turns an arbitrary split of the byte stream back into messages and refuses a
stream that breaks the framing, as adbd's `check_header` does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453

COMMAND_NAMES = {A_SYNC: "SYNC", A_CNXN: "CNXN", A_AUTH: "AUTH", A_OPEN: "OPEN",
                 A_OKAY: "OKAY", A_CLSE: "CLSE", A_WRTE: "WRTE", A_STLS: "STLS"}

A_VERSION_MIN = 0x01000000
A_VERSION_SKIP_CHECKSUM = 0x01000001
A_VERSION = 0x01000001

MAX_PAYLOAD_V1 = 4096          # CNXN/AUTH payloads: sent before maxdata is known
MAX_PAYLOAD = 1024 * 1024      # adbd's MAX_PAYLOAD since 2017; also the hard limit of any reader

HEADER = struct.Struct("<6I")
HEADER_SIZE = HEADER.size      # 24


class ProtocolError(Exception):
    """The peer broke the transport framing; the TCP connection must be closed."""


@dataclass(frozen=True)
class Message:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command, f"{self.command:08x}")

    def __repr__(self) -> str:
        data = self.data if len(self.data) <= 40 else self.data[:40] + b"..."
        return f"Message({self.name}, {self.arg0:#x}, {self.arg1:#x}, {data!r})"


def checksum(data: bytes) -> int:
    return sum(data) & 0xFFFFFFFF


def encode(message: Message, *, with_checksum: bool = True) -> bytes:
    """Header + payload. `with_checksum=False` sends data_check 0, as adbd does once the
    negotiated version is >= A_VERSION_SKIP_CHECKSUM."""
    data = message.data
    check = checksum(data) if with_checksum else 0
    header = HEADER.pack(message.command, message.arg0, message.arg1, len(data), check,
                         message.command ^ 0xFFFFFFFF)
    return header + data


def connect_message(banner: str, max_payload: int = MAX_PAYLOAD) -> Message:
    """The device's CNXN: our version, our maxdata and the banner (at most 4096 bytes)."""
    payload = banner.encode()
    if len(payload) > MAX_PAYLOAD_V1:
        raise ValueError(f"CNXN banner is {len(payload)} bytes, expected at most {MAX_PAYLOAD_V1}")
    return Message(A_CNXN, A_VERSION, max_payload, payload)


class MessageReader:
    """Incremental decoder: `feed(bytes) -> [Message]`, for any split of the stream.

    `max_payload` is the largest payload accepted; the session lowers it to the negotiated
    value after CNXN. A bad magic or an oversized payload raises ProtocolError, after which
    the reader must not be used again.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self._header: tuple[int, int, int, int] | None = None   # command, arg0, arg1, length

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        messages: list[Message] = []
        while True:
            if self._header is None:
                if len(self._buf) < HEADER_SIZE:
                    return messages
                command, arg0, arg1, length, _check, magic = HEADER.unpack_from(self._buf)
                if magic != command ^ 0xFFFFFFFF:
                    raise ProtocolError(f"bad magic {magic:#010x} for command {command:#010x}")
                if length > min(self.max_payload, MAX_PAYLOAD):
                    raise ProtocolError(f"payload of {length} bytes exceeds max payload "
                                        f"{min(self.max_payload, MAX_PAYLOAD)}")
                del self._buf[:HEADER_SIZE]
                self._header = (command, arg0, arg1, length)
            command, arg0, arg1, length = self._header
            if len(self._buf) < length:
                return messages
            payload = bytes(self._buf[:length])
            del self._buf[:length]
            self._header = None
            messages.append(Message(command, arg0, arg1, payload))
