"""The pure codecs of the virtual adbd: transport messages, shell v2 packets, sync requests."""

from __future__ import annotations

import struct

import pytest

from harness.sim.adbd import shell_protocol as sp
from harness.sim.adbd import sync_protocol as sync
from harness.sim.adbd.protocol import (A_CLSE, A_CNXN, A_OKAY, A_OPEN, A_WRTE, HEADER_SIZE,
                                       Message, MessageReader, ProtocolError, connect_message,
                                       encode)

BANNER = ("device::ro.product.name=sim;ro.product.model=SimEth;ro.product.device=sim;"
          "features=shell_v2,cmd")


# -- transport messages -----------------------------------------------------------------------
def test_device_cnxn_matches_the_observed_bytes():
    # adb-protocol.md 1.8: the device CNXN of a 256K device, checksum 0
    raw = encode(connect_message(BANNER, 0x40000), with_checksum=False)
    assert raw[:24] == bytes.fromhex("434e584e 01000001 00000400 5f000000 00000000 bcb1a7b1")
    assert raw[24:] == BANNER.encode()


def test_checksum_is_the_byte_sum():
    raw = encode(Message(A_WRTE, 1, 2, b"\xff\x01\x02"))
    assert struct.unpack_from("<I", raw, 16)[0] == 0x102


def test_open_refusal_bytes():
    # CLSE(0, 0xd) as adbd sends it when refusing an OPEN
    raw = encode(Message(A_CLSE, 0, 0xD), with_checksum=False)
    assert raw == bytes.fromhex("434c5345 00000000 0d000000 00000000 00000000 bcb3acba")


def test_banner_over_4096_bytes_is_rejected():
    with pytest.raises(ValueError, match="at most 4096"):
        connect_message("device::" + "x" * 5000)


def test_reader_round_trips_byte_by_byte():
    messages = [Message(A_OPEN, 8, 0, b"shell:echo hi\0"), Message(A_OKAY, 8, 1),
                Message(A_WRTE, 8, 1, bytes(range(256)) * 10)]
    stream = b"".join(encode(m) for m in messages)
    reader = MessageReader()
    got = []
    for i in range(len(stream)):
        got += reader.feed(stream[i:i + 1])
    assert got == messages


def test_reader_returns_coalesced_messages_in_order():
    messages = [Message(A_OKAY, 1, 2), Message(A_WRTE, 1, 2, b"x"), Message(A_CLSE, 1, 2)]
    assert MessageReader().feed(b"".join(encode(m) for m in messages)) == messages


def test_reader_keeps_a_partial_header_for_later():
    raw = encode(Message(A_WRTE, 3, 4, b"abc"))
    reader = MessageReader()
    assert reader.feed(raw[:HEADER_SIZE - 1]) == []
    assert reader.feed(raw[HEADER_SIZE - 1:HEADER_SIZE + 1]) == []
    assert reader.feed(raw[HEADER_SIZE + 1:]) == [Message(A_WRTE, 3, 4, b"abc")]


def test_reader_rejects_a_bad_magic():
    raw = bytearray(encode(Message(A_OKAY, 1, 2)))
    raw[20] ^= 0xFF
    with pytest.raises(ProtocolError, match="bad magic"):
        MessageReader().feed(bytes(raw))


def test_reader_rejects_an_oversized_payload_from_the_header_alone():
    reader = MessageReader(max_payload=4096)
    header = struct.pack("<6I", A_WRTE, 1, 2, 4097, 0, A_WRTE ^ 0xFFFFFFFF)
    with pytest.raises(ProtocolError, match="4097 bytes exceeds max payload 4096"):
        reader.feed(header)


def test_reader_never_accepts_more_than_1mib():
    header = struct.pack("<6I", A_CNXN, 0, 0, 1024 * 1024 + 1, 0, A_CNXN ^ 0xFFFFFFFF)
    with pytest.raises(ProtocolError):
        MessageReader(max_payload=8 * 1024 * 1024).feed(header)


def test_reader_passes_unknown_commands_through():
    weird = 0x12345678
    raw = struct.pack("<6I", weird, 0, 0, 0, 0, weird ^ 0xFFFFFFFF)
    assert MessageReader().feed(raw) == [Message(weird, 0, 0)]


# -- shell service strings and v2 packets -------------------------------------------------------
@pytest.mark.parametrize("rest, expected", [
    (",v2,TERM=xterm,raw:echo hi", sp.ShellRequest("echo hi", True, False, "xterm")),
    (":echo hi", sp.ShellRequest("echo hi", False, False, "dumb")),
    (":", sp.ShellRequest("", False, True, "dumb")),
    (",v2,TERM=xterm,pty:", sp.ShellRequest("", True, True, "xterm")),
    (",v2,pty:ls", sp.ShellRequest("ls", True, True, "dumb")),
    (",v2,futureflag:a:b", sp.ShellRequest("a:b", True, False, "dumb")),
])
def test_parse_shell_service(rest, expected):
    assert sp.parse_shell_service(rest) == expected


def test_shell_service_without_colon_is_refused():
    assert sp.parse_shell_service(",v2") is None


def test_v2_packets_match_the_observed_bytes():
    # adb-protocol.md 2.2 worked example: echo out; echo err >&2; exit 3
    raw = (sp.encode_packet(sp.PacketId.STDOUT, b"out\n") + sp.encode_packet(sp.PacketId.STDERR, b"err\n")
           + sp.exit_packet(3))
    assert raw == bytes.fromhex("01 04000000") + b"out\n" + bytes.fromhex("02 04000000") + b"err\n" \
        + bytes.fromhex("03 01000000 03")


def test_v2_reader_handles_split_and_coalesced_packets():
    stream = (sp.encode_packet(sp.PacketId.STDIN, b"hello") + sp.encode_packet(sp.PacketId.CLOSE_STDIN)
              + sp.encode_packet(sp.PacketId.WINDOW_SIZE_CHANGE, b"24x80,0x0\0"))
    reader = sp.ShellPacketReader()
    got = []
    for i in range(0, len(stream), 3):
        got += reader.feed(stream[i:i + 3])
    assert got == [sp.ShellPacket(0, b"hello"), sp.ShellPacket(4, b""), sp.ShellPacket(5, b"24x80,0x0\0")]
    assert sp.ShellPacketReader().feed(stream) == got


# -- sync ----------------------------------------------------------------------------------------
def test_sync_requests_coalesced_in_one_write():
    # adb push of a small file: SEND + DATA + DONE in one WRTE (adb-protocol.md appendix A)
    stream = (sync.request(sync.ID_STAT, "/data/local/tmp/") + sync.request(sync.ID_SEND, "/data/local/tmp/small.bin,33188")
              + sync.data_block(b"12345") + sync.done_block(1700000000) + sync.request(sync.ID_QUIT, ""))
    assert sync.SyncParser().feed(stream) == [
        sync.SyncRequest(b"STAT", "/data/local/tmp/"),
        sync.SyncRequest(b"SEND", "/data/local/tmp/small.bin,33188"),
        sync.SendData(b"12345"), sync.SendDone(1700000000),
        sync.SyncRequest(b"QUIT", ""),
    ]


def test_sync_send_split_byte_by_byte_keeps_every_data_byte():
    payload = bytes(range(256)) * 300
    stream = (sync.request(sync.ID_SEND, "/data/local/tmp/x,420") + sync.data_block(payload[:40000])
              + sync.data_block(b"") + sync.data_block(payload[40000:]) + sync.done_block(7))
    parser = sync.SyncParser()
    events = []
    for i in range(0, len(stream), 997):
        events += parser.feed(stream[i:i + 997])
    assert events[0] == sync.SyncRequest(b"SEND", "/data/local/tmp/x,420")
    assert events[-1] == sync.SendDone(7)
    assert b"".join(e.data for e in events if isinstance(e, sync.SendData)) == payload


def test_sync_path_too_long_fails_and_stops():
    parser = sync.SyncParser()
    assert parser.feed(struct.pack("<4sI", b"STAT", 1025)) == [sync.SyncFailure("path too long")]
    assert parser.feed(sync.request(sync.ID_STAT, "/")) == []


def test_sync_bad_block_inside_send_fails():
    stream = sync.request(sync.ID_SEND, "/data/local/tmp/x,420") + sync.request(sync.ID_STAT, "/")
    assert sync.SyncParser().feed(stream)[-1] == sync.SyncFailure("invalid data message")


def test_sync_unknown_ids_are_reported_with_their_code():
    (req,) = sync.SyncParser().feed(sync.request(b"XXXX", ""))
    assert f"unknown command {req.code:08x}" == "unknown command 58585858"


def test_sync_non_utf8_paths_round_trip():
    (req,) = sync.SyncParser().feed(struct.pack("<4sI", b"STAT", 3) + b"/\xff\xfe")
    assert sync.encode_path(req.path) == b"/\xff\xfe"


def test_sync_replies_have_the_documented_sizes():
    assert sync.stat_reply(0, 0, 0) == b"STAT" + bytes(12)
    assert sync.list_done_reply() == b"DONE" + bytes(16)
    assert sync.okay_reply() == b"OKAY" + bytes(4)
    assert sync.recv_done_reply() == b"DONE" + bytes(4)
    assert sync.dent_reply(0o40755, 4096, 5, b"tmp") == struct.pack("<4s4I", b"DENT", 0o40755, 4096, 5, 3) + b"tmp"
    assert sync.fail_reply("path too long") == b"FAIL" + struct.pack("<I", 13) + b"path too long"
    with pytest.raises(ValueError):
        sync.data_reply(bytes(sync.SYNC_DATA_MAX + 1))
