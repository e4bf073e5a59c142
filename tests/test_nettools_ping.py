"""ping (iputils s20121221): formats, exit codes, and the route decisions netd's rules imply
(android-net.md §1.6 and §4.6)."""

from __future__ import annotations

import asyncio
import re

import pytest

from harness.sim.clock import Scheduler
from harness.sim.tools.ping import Stats, format_time
from nettools_helpers import connect_ethernet, make_device, run_tool

RTT_LINE = re.compile(r"rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms\n")
REPLY = re.compile(r"64 bytes from (?P<from>[^:]+): icmp_seq=(?P<seq>\d+) ttl=(?P<ttl>\d+) time=(?P<time>[\d.]+) ms")


def ping(*argv, uid=2000, setup=None, sdk=None):
    """Run one ping on a fresh device (device time runs 1000x faster than real time)."""
    async def scenario():
        device = make_device(sdk=sdk, scheduler=Scheduler(realtime=True, scale=0.001))
        connect_ethernet(device.android.netd)
        if setup is not None:
            setup(device)
        result = await asyncio.wait_for(run_tool(device, "ping", *argv, uid=uid), timeout=30)
        return device, result

    return asyncio.run(scenario())


def race_end_state(device):
    """What the EBUSY race leaves: default network 101 without eth0, network 100 destroyed."""
    netd = device.android.netd
    netd.network_create_physical(101)
    assert netd.network_add_interface(101, "eth0") < 0
    netd.network_set_default(101)
    netd.network_destroy(100)


def no_default_network(device):
    device.android.netd.network_destroy(100)


@pytest.mark.parametrize("triptime_us, text", [(213, "0.213"), (1234, "1.23"), (10213, "10.2"), (100500, "100")])
def test_time_precision_shrinks_with_the_round_trip(triptime_us, text):
    assert format_time(triptime_us) == text


def test_statistics_block_matches_iputils():
    stats = Stats(transmitted=1, received=1, rtts_us=[10213])
    assert stats.finish("8.8.8.8", 0) == (
        "\n--- 8.8.8.8 ping statistics ---\n"
        "1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"
        "rtt min/avg/max/mdev = 10.213/10.213/10.213/0.000 ms\n")
    lost = Stats(transmitted=3, received=0)
    assert lost.finish("h", 2003) == "\n--- h ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2003ms\n\n"


def test_healthy_ping_replies_and_counts_traffic():
    device, (status, out, err) = ping("-c", "1", "-W", "1", "8.8.8.8")
    assert status == 0 and err == ""
    lines = out.splitlines(keepends=True)
    assert lines[0] == "PING 8.8.8.8 (8.8.8.8) 56(84) bytes of data.\n"
    match = REPLY.fullmatch(lines[1].rstrip("\n"))
    assert match and match["from"] == "8.8.8.8" and match["seq"] == "1" and 113 <= int(match["ttl"]) <= 119
    assert lines[2:5] == ["\n", "--- 8.8.8.8 ping statistics ---\n",
                          "1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"]
    assert RTT_LINE.fullmatch(lines[5])
    eth0 = device.android.kernel.links["eth0"]
    assert (eth0.tx_packets, eth0.rx_packets) == (1, 1)


def test_three_pings_one_second_apart():
    _, (status, out, _) = ping("-c", "3", "172.17.0.1")
    replies = [REPLY.fullmatch(l) for l in out.splitlines() if l.startswith("64 bytes")]
    assert [m["seq"] for m in replies] == ["1", "2", "3"] and all(m["ttl"] == "64" for m in replies)
    assert all(float(m["time"]) < 1 for m in replies)
    assert re.search(r"3 packets transmitted, 3 received, 0% packet loss, time 200\dms\n", out)
    assert status == 0


def test_no_reply_waits_the_linger_time_and_exits_1():
    _, result = ping("-c", "1", "-W", "1", "10.255.255.1")
    assert result == (1, "PING 10.255.255.1 (10.255.255.1) 56(84) bytes of data.\n\n"
                         "--- 10.255.255.1 ping statistics ---\n"
                         "1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n", "")


def test_deadline_keeps_sending_until_it_expires():
    _, (status, out, _) = ping("-w", "3", "-q", "10.255.255.1")
    assert status == 1 and "64 bytes" not in out
    assert re.search(r"\n3 packets transmitted, 0 received, 100% packet loss, time 200\dms\n", out)


def test_hostname_resolves_through_the_default_network_dns():
    _, (status, out, _) = ping("-c", "1", "www.google.com")
    assert status == 0
    assert out.startswith("PING www.google.com (142.250.74.68) 56(84) bytes of data.\n"
                          "64 bytes from www.google.com (142.250.74.68): icmp_seq=1 ")
    assert "--- www.google.com ping statistics ---" in out


@pytest.mark.parametrize("argv, message", [
    (["-c", "1", "nosuch.example"], "ping: unknown host nosuch.example\n"),
    (["-c", "0", "8.8.8.8"], "ping: bad number of packets to transmit.\n"),
    (["-i", "abc", "8.8.8.8"], "ping: bad timing interval\n"),
    (["-I", "eth0", "8.8.8.8"], "ping: SO_BINDTODEVICE: Operation not permitted\n"),
])
def test_setup_errors_exit_2(argv, message):
    _, result = ping(*argv)
    assert result == (2, "", message)


def test_usage_and_flood_limits():
    _, (status, out, err) = ping()
    assert status == 2 and out == "" and err.startswith("Usage: ping [-aAbBdDfhLnOqrRUvV] [-c count]")
    _, result = ping("-i", "0.1", "-c", "1", "8.8.8.8")
    assert result == (2, "PING 8.8.8.8 (8.8.8.8) 56(84) bytes of data.\n",
                      "ping: cannot flood; minimal interval, allowed for user, is 200ms\n")


def test_after_the_race_every_uid_is_unreachable_and_names_do_not_resolve():
    for target in ("8.8.8.8", "172.17.0.1"):
        for uid in (2000, 0):
            _, result = ping("-c", "1", "-W", "1", target, uid=uid, setup=race_end_state)
            assert result == (2, "", "connect: Network is unreachable\n")
    _, result = ping("-c", "1", "www.google.com", setup=race_end_state)
    assert result == (2, "", "ping: unknown host www.google.com\n")


def test_without_a_default_network_only_root_reaches_main_through_23000():
    _, (status, out, _) = ping("-c", "1", "172.17.0.1", uid=0, setup=no_default_network)
    assert status == 0 and "1 received" in out
    _, result = ping("-c", "1", "172.17.0.1", uid=2000, setup=no_default_network)
    assert result == (2, "", "connect: Network is unreachable\n")
    # Android 9 has no directly-connected rule: root is stuck too
    _, result = ping("-c", "1", "172.17.0.1", uid=0, setup=no_default_network, sdk=28)
    assert result == (2, "", "connect: Network is unreachable\n")


def test_link_down_and_netd_gone():
    def link_down(device):
        device.android.kernel.set_admin("eth0", False)

    _, result = ping("-c", "1", "8.8.8.8", setup=link_down)
    assert result == (2, "", "connect: Network is unreachable\n")
    _, result = ping("-c", "1", "8.8.8.8", setup=lambda d: d.android.netd.stop())
    assert result == (2, "", "connect: Connection refused\n")
