"""ping parser: iputils, toybox, busybox and BSD output, errors and verdicts."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from harness.parsers.ping import parse_ping

DATA = Path(__file__).parent / "data" / "parsers" / "ping"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_reference_healthy():
    result = parse_ping(read("iputils_healthy.txt"))
    assert (result.implementation, result.host, result.payload_size) == ("iputils", "8.8.8.8", 56)
    assert result.address == ipaddress.IPv4Address("8.8.8.8")
    (reply,) = result.replies
    assert (reply.size, reply.seq, reply.ttl, reply.time_ms) == (64, 1, 117, 10.2)
    stats = result.statistics
    assert stats is not None and (stats.transmitted, stats.received, stats.loss_percent, stats.time_ms) == (1, 1, 0.0, 0)
    assert result.rtt is not None and (result.rtt.min_ms, result.rtt.mdev_ms) == (10.213, 0.0)
    assert result.reachable and result.failure is None and result.unparsed == ()


def test_reference_no_reply_and_unreachable():
    silent = parse_ping(read("iputils_no_reply.txt"))
    assert silent.statistics is not None and silent.statistics.loss_percent == 100.0 and silent.rtt is None
    assert silent.failure == "no_reply"
    unreachable = parse_ping(read("iputils_network_unreachable.txt"))
    assert unreachable.errors == ("connect: Network is unreachable",)
    assert unreachable.failure == "network_unreachable" and unreachable.host is None


def test_unknown_host_forms():
    assert parse_ping(read("iputils_unknown_host.txt")).failure == "unknown_host"
    assert parse_ping(read("busybox_bad_address.txt")).failure == "unknown_host"
    assert parse_ping("ping: www.example.invalid: No address associated with hostname\n").failure == "unknown_host"


@pytest.mark.parametrize("name, received, avg", [
    ("iputils_android_phone.txt", 1, 6.604),
    ("iputils_android_emulator_hostname.txt", 5, 8.392),
    ("iputils_android_slow.txt", 3, 119.311),
    ("iputils_new_names.txt", 1, 10.213),
    ("ping6_old_header.txt", 1, 0.040),
])
def test_real_iputils_runs(name, received, avg):
    result = parse_ping(read(name))
    assert result.implementation == "iputils" and result.unparsed == ()
    assert result.statistics is not None and result.statistics.received == received
    assert result.rtt is not None and result.rtt.avg_ms == avg and result.reachable


def test_hostname_target_and_named_reply_source():
    result = parse_ping(read("iputils_android_emulator_hostname.txt"))
    assert result.host == "google.com" and result.address == ipaddress.IPv4Address("172.217.14.110")
    assert [r.time_ms for r in result.replies] == [4.83, 16.5, 6.15, 9.43, 5.02]
    named = parse_ping(read("iputils_new_names.txt"))
    assert named.replies[0].source == "dns.google (8.8.8.8)" and named.replies[0].address == ipaddress.IPv4Address("8.8.8.8")
    slow = parse_ping(read("iputils_android_slow.txt"))
    assert [r.time_ms for r in slow.replies] == [134.0, 119.0, 103.0]


def test_icmp_errors_both_renderings_and_pipe():
    result = parse_ping(read("iputils_host_unreachable.txt"))
    assert [(e.seq, e.source, e.message) for e in result.icmp_errors] == [
        (1, "192.168.1.10", "Destination Host Unreachable"), (2, "192.168.1.10", "Destination Host Unreachable")]
    assert result.unanswered_seqs == (3,)
    assert result.statistics is not None and result.statistics.errors == 2
    assert result.failure == "host_unreachable" and result.unparsed == ()


def test_duplicates_and_sendmsg_error():
    dup = parse_ping(read("iputils_duplicates.txt"))
    assert [r.duplicate for r in dup.replies] == [False, True]
    assert dup.statistics is not None and dup.statistics.duplicates == 1 and dup.received == 1
    send = parse_ping(read("iputils_sendmsg_error.txt"))
    assert send.errors == ("ping: sendmsg: Network is unreachable",) and send.failure == "network_unreachable"


def test_busybox_toybox_bsd():
    busybox = parse_ping(read("busybox_localhost.txt"))
    assert busybox.implementation == "busybox" and [r.seq for r in busybox.replies] == [0, 1]
    assert busybox.rtt is not None and busybox.rtt.mdev_ms is None and busybox.rtt.max_ms == 1.398
    assert busybox.statistics is not None and busybox.statistics.received == 2 and busybox.unparsed == ()
    toybox = parse_ping(read("toybox_healthy.txt"))
    assert toybox.implementation == "toybox" and toybox.payload_size == 56
    assert [r.time_ms for r in toybox.replies] == [10.0, 11.0]
    assert toybox.rtt is not None and (toybox.rtt.min_ms, toybox.rtt.avg_ms, toybox.rtt.max_ms) == (10, 10, 11)
    bsd = parse_ping(read("bsd_stddev.txt"))
    assert bsd.rtt is not None and bsd.rtt.mdev_ms == 0.0 and bsd.reachable
    assert bsd.statistics is not None and bsd.statistics.loss_percent == 0.0


def test_nothing_printed():
    assert parse_ping("").failure == "no_output"


def test_icmp_net_unreachable_from_a_router():
    result = parse_ping("PING 10.9.9.9 (10.9.9.9) 56(84) bytes of data.\n"
                        "From 10.0.2.2 icmp_seq=1 Destination Net Unreachable\n")
    assert result.failure == "host_unreachable" and result.icmp_errors[0].message == "Destination Net Unreachable"


def test_lowercase_permission_error_and_windows_line_ends():
    assert parse_ping("ping: permission denied (are you root?)\n").failure == "permission_denied"
    result = parse_ping(read("iputils_healthy.txt").replace("\n", "\r\r\n"))
    assert result.reachable and result.unparsed == ()
