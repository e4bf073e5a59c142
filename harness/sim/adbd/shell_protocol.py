"""Shell service strings and the shell protocol v2 framing (pure, sans-IO).

Service string: `shell[,arg]*:command` with args `v2` (shell protocol), `raw`, `pty` and
`TERM=...`; unknown args are ignored, as adbd does. Default type: pty for an empty (interactive)
command, raw otherwise.

v2 packets inside the stream: `id:u8 | length:u32 LE | payload`, ids below. They may be split
across adb WRTEs or several may share one (adb-protocol.md 2.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

PACKET_HEADER = struct.Struct("<BI")


class PacketId(IntEnum):
    STDIN = 0
    STDOUT = 1
    STDERR = 2
    EXIT = 3
    CLOSE_STDIN = 4
    WINDOW_SIZE_CHANGE = 5
    INVALID = 255


@dataclass(frozen=True)
class ShellPacket:
    id: int
    data: bytes = b""


@dataclass(frozen=True)
class ShellRequest:
    command: str
    shell_protocol: bool = False     # v2: exit status, separate stderr (raw), stdin packets
    pty: bool = False
    term: str = "dumb"


def parse_shell_service(rest: str) -> ShellRequest | None:
    """Parse what follows `shell` in the OPEN payload (`,v2,raw:cmd` or `:cmd`).

    None when there is no `:` (adbd refuses that OPEN).
    """
    args, sep, command = rest.partition(":")
    if not sep:
        return None
    pty = command == ""
    protocol = False
    term = "dumb"
    for arg in args.split(","):
        if arg == "raw":
            pty = False
        elif arg == "pty":
            pty = True
        elif arg == "v2":
            protocol = True
        elif arg.startswith("TERM="):
            term = arg[len("TERM="):]
    return ShellRequest(command, protocol, pty, term)


def encode_packet(packet_id: int, data: bytes = b"") -> bytes:
    return PACKET_HEADER.pack(packet_id, len(data)) + data


def exit_packet(status: int) -> bytes:
    return encode_packet(PacketId.EXIT, bytes([status & 0xFF]))


class ShellPacketReader:
    """Incremental decoder of v2 packets: `feed(bytes) -> [ShellPacket]`."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[ShellPacket]:
        self._buf += data
        packets: list[ShellPacket] = []
        while len(self._buf) >= PACKET_HEADER.size:
            packet_id, length = PACKET_HEADER.unpack_from(self._buf)
            end = PACKET_HEADER.size + length
            if len(self._buf) < end:
                break
            packets.append(ShellPacket(packet_id, bytes(self._buf[PACKET_HEADER.size:end])))
            del self._buf[:end]
        return packets
