"""The adbd connection state machine (no sockets): handshake, streams, flow control, close."""

from __future__ import annotations

import pytest

from harness.sim.adbd.connection import (AdbdConnection, Connected, OpenRequested, StreamClosed,
                                         StreamData, StreamWritable)
from harness.sim.adbd.protocol import (A_AUTH, A_CLSE, A_CNXN, A_OKAY, A_OPEN, A_STLS, A_WRTE,
                                       Message, MessageReader, ProtocolError, encode)

BANNER = "device::ro.product.name=sim;ro.product.model=SimEth;ro.product.device=sim;features=shell_v2,cmd"
HOST_CNXN = Message(A_CNXN, 0x01000001, 0x100000, b"host::features=shell_v2,cmd")


def sent(conn: AdbdConnection) -> list[Message]:
    return MessageReader().feed(conn.data_to_send())


def online(max_payload: int = 0x100000) -> AdbdConnection:
    conn = AdbdConnection(BANNER)
    conn.receive(encode(Message(A_CNXN, 0x01000001, max_payload, b"host::")))
    conn.data_to_send()
    return conn


def opened(conn: AdbdConnection, host_id: int = 8) -> int:
    local_id = conn.accept(host_id)
    conn.data_to_send()
    return local_id


def test_cnxn_reply_only_after_the_host_cnxn():
    conn = AdbdConnection(BANNER)
    assert conn.receive(encode(Message(A_OPEN, 5, 0, b"shell:id\0"))) == []
    assert conn.data_to_send() == b""
    events = conn.receive(encode(HOST_CNXN))
    assert events == [Connected("host::features=shell_v2,cmd", 0x100000)]
    assert sent(conn) == [Message(A_CNXN, 0x01000001, 0x100000, BANNER.encode())]


def test_negotiated_maxdata_is_the_smaller_one():
    conn = AdbdConnection(BANNER)
    (event,) = conn.receive(encode(Message(A_CNXN, 0x01000001, 0x40000, b"host::")))
    assert event.max_payload == 0x40000 and conn.max_payload == 0x40000


def test_old_host_gets_checksums_new_host_does_not():
    old = AdbdConnection(BANNER)
    old.receive(encode(Message(A_CNXN, 0x01000000, 4096, b"host::")))
    raw = old.data_to_send()
    assert int.from_bytes(raw[16:20], "little") == sum(BANNER.encode())
    new = AdbdConnection(BANNER)
    new.receive(encode(HOST_CNXN))
    assert new.data_to_send()[16:20] == b"\0\0\0\0"


def test_auth_stls_and_unknown_commands_are_ignored():
    conn = online()
    for command in (A_AUTH, A_STLS, 0x11111111):
        assert conn.receive(encode(Message(command, 1, 0, b"x"))) == []
    assert conn.data_to_send() == b""


def test_open_strips_nuls_and_accept_uses_a_new_nonzero_id():
    conn = online()
    (event,) = conn.receive(encode(Message(A_OPEN, 8, 0, b"shell:echo hi\0")))
    assert event == OpenRequested(8, "shell:echo hi")
    first = conn.accept(8)
    second = conn.accept(11)
    assert first != 0 and second != 0 and first != second
    assert sent(conn) == [Message(A_OKAY, first, 8), Message(A_OKAY, second, 11)]


def test_refuse_sends_clse_zero():
    conn = online()
    conn.refuse(13)
    assert sent(conn) == [Message(A_CLSE, 0, 13)]


def test_every_host_wrte_is_acknowledged():
    conn = online()
    sid = opened(conn)
    events = conn.receive(encode(Message(A_WRTE, 8, sid, b"a")) + encode(Message(A_WRTE, 8, sid, b"b")))
    assert events == [StreamData(sid, b"a"), StreamData(sid, b"b")]
    assert sent(conn) == [Message(A_OKAY, sid, 8)] * 2


def test_only_one_unacknowledged_wrte_per_stream():
    conn = online()
    sid = opened(conn)
    conn.write(sid, b"one")
    conn.write(sid, b"two")
    assert sent(conn) == [Message(A_WRTE, sid, 8, b"one")]
    assert conn.queued(sid) == 3
    assert conn.receive(encode(Message(A_OKAY, 8, sid))) == [StreamWritable(sid)]
    assert sent(conn) == [Message(A_WRTE, sid, 8, b"two")]
    assert conn.queued(sid) == 0


def test_queued_records_are_packed_but_never_split_when_they_fit():
    conn = online(max_payload=20)
    sid = opened(conn)
    conn.write(sid, b"x")                        # in flight
    for record in (b"A" * 8, b"B" * 8, b"C" * 8):
        conn.write(sid, record)
    conn.receive(encode(Message(A_OKAY, 8, sid)))
    conn.receive(encode(Message(A_OKAY, 8, sid)))
    payloads = [m.data for m in sent(conn)]
    assert payloads == [b"x", b"A" * 8 + b"B" * 8, b"C" * 8]


def test_records_larger_than_maxdata_are_split_at_maxdata():
    conn = online(max_payload=4096)
    sid = opened(conn)
    conn.write(sid, bytes(10000))
    sizes = []
    for _ in range(3):
        sizes += [len(m.data) for m in sent(conn)]
        conn.receive(encode(Message(A_OKAY, 8, sid)))
    assert sizes == [4096, 4096, 1808]


def test_close_waits_for_the_last_ack():
    conn = online()
    sid = opened(conn)
    conn.write(sid, b"bye")
    assert conn.close(sid) == []
    assert sent(conn) == [Message(A_WRTE, sid, 8, b"bye")]
    conn.write(sid, b"ignored after close")
    events = conn.receive(encode(Message(A_OKAY, 8, sid)))
    assert StreamClosed(sid, by_host=False) in events
    assert sent(conn) == [Message(A_CLSE, sid, 8)]


def test_close_of_an_idle_stream_is_immediate():
    conn = online()
    sid = opened(conn)
    assert conn.close(sid) == [StreamClosed(sid, by_host=False)]
    assert sent(conn) == [Message(A_CLSE, sid, 8)]


def test_echoed_clse_and_unknown_ids_are_ignored():
    conn = online()
    sid = opened(conn)
    conn.close(sid)
    conn.data_to_send()
    raw = (encode(Message(A_CLSE, 8, sid)) + encode(Message(A_OKAY, 8, sid))
           + encode(Message(A_WRTE, 8, 999, b"x")) + encode(Message(A_CLSE, 8, 0)))
    assert conn.receive(raw) == []
    assert conn.data_to_send() == b""


def test_host_clse_ends_the_stream_and_is_echoed():
    conn = online()
    sid = opened(conn)
    conn.write(sid, b"data")
    conn.data_to_send()
    assert conn.receive(encode(Message(A_CLSE, 8, sid))) == [StreamClosed(sid, by_host=True)]
    assert sent(conn) == [Message(A_CLSE, sid, 8)]
    assert not conn.is_open(sid) and conn.queued(sid) == 0


def test_second_cnxn_resets_every_stream():
    conn = online()
    a, b = opened(conn, 8), opened(conn, 9)
    events = conn.receive(encode(HOST_CNXN))
    assert StreamClosed(a, True) in events and StreamClosed(b, True) in events
    assert [m.command for m in sent(conn)] == [A_CNXN]


def test_payload_over_the_negotiated_maxdata_is_a_protocol_error():
    conn = online(max_payload=4096)
    with pytest.raises(ProtocolError):
        conn.receive(encode(Message(A_WRTE, 8, 1, bytes(4097))))
