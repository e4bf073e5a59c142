"""ifconfig/netcfg parsers against documented renderings and real published device output."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from harness.parsers.ifconfig import parse_ifconfig
from harness.parsers.netcfg import parse_netcfg

DATA = Path(__file__).parent / "data" / "parsers"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_toybox_reference_rendering_of_docker_veth():
    result = parse_ifconfig(read("ifconfig/toybox_docker_veth.txt"))
    assert result.unparsed == () and result.errors == ()
    (eth0,) = result.interfaces
    assert eth0.name == "eth0" and eth0.style == "toybox" and eth0.link_encap == "Ethernet"
    assert eth0.mac == "02:42:ac:11:00:02"
    assert eth0.ipv4 == ipaddress.IPv4Interface("172.17.0.2/16")
    assert eth0.broadcast == ipaddress.IPv4Address("172.17.255.255")
    assert [str(a.address) for a in eth0.ipv6] == ["fe80::42:acff:fe11:2/64"] and eth0.ipv6[0].scope == "Link"
    assert eth0.flags == frozenset({"UP", "BROADCAST", "RUNNING", "MULTICAST"})
    assert eth0.is_up and eth0.is_running and eth0.mtu == 1500 and eth0.metric == 1
    assert dict(eth0.counters) == {
        "rx_packets": 1520, "rx_errors": 0, "rx_dropped": 0, "rx_overruns": 0, "rx_frame": 0,
        "tx_packets": 1327, "tx_errors": 0, "tx_dropped": 0, "tx_overruns": 0, "tx_carrier": 0,
        "collisions": 0, "txqueuelen": 1000, "rx_bytes": 245102, "tx_bytes": 132044}


def test_toybox_after_ifconfig_down_keeps_ipv4_but_not_up():
    (eth0,) = parse_ifconfig(read("ifconfig/toybox_down.txt")).interfaces
    assert not eth0.is_up and eth0.flags == frozenset({"BROADCAST", "MULTICAST"})
    assert eth0.ipv4 == ipaddress.IPv4Interface("172.17.0.2/16") and eth0.ipv6 == ()


def test_real_phone_unspec_interfaces_and_long_names():
    result = parse_ifconfig(read("ifconfig/toybox_phone_unspec.txt"))
    assert [i.name for i in result.interfaces] == ["rmnet_ipa0", "wlan0", "dummy0", "rmnet_data0"]
    assert all(i.link_encap == "UNSPEC" and i.mac is None for i in result.interfaces)
    rmnet = result.get("rmnet_data0")
    assert rmnet is not None and rmnet.ipv4 == ipaddress.IPv4Interface("10.149.211.81/30")
    assert rmnet.broadcast is None and rmnet.flags == frozenset({"UP", "RUNNING"})
    wlan = result.get("wlan0")
    assert wlan is not None and wlan.ipv4 is None and not wlan.is_running
    assert wlan.counters["rx_dropped"] == 53160 and wlan.counters["rx_bytes"] == 985553036
    assert result.unparsed == ()


def test_whitespace_collapsed_copy_parses_like_the_original():
    result = parse_ifconfig(read("ifconfig/toybox_whitespace_collapsed.txt"))
    rmnet, lo = result.interfaces
    assert rmnet.ipv4 == ipaddress.IPv4Interface("10.149.211.81/30") and rmnet.mtu == 1500
    assert rmnet.counters["tx_bytes"] == 9380664
    assert lo.ipv4 == ipaddress.IPv4Interface("127.0.0.1/8")
    assert result.unparsed == ()


def test_busybox_byte_counters_with_units_and_extras():
    result = parse_ifconfig(read("ifconfig/busybox_android4.txt"))
    eth0, lo = result.interfaces
    assert eth0.mac == "40:8b:f6:96:01:fe"  # printed upper-case by busybox
    assert eth0.flags == frozenset({"UP", "BROADCAST", "ALLMULTI", "MULTICAST"}) and eth0.ipv4_address is None
    assert eth0.counters["txqueuelen"] == 30 and eth0.counters["rx_bytes"] == 0
    assert dict(eth0.extras) == {"Interrupt": "201", "Base address": "0x4000"}
    assert lo.link_encap == "Local Loopback" and lo.mtu == 16436 and lo.ipv6[0].scope == "Host"
    assert lo.counters["tx_bytes"] == 26344
    assert result.unparsed == ()


def test_nettools1_rpi():
    result = parse_ifconfig(read("ifconfig/nettools1_rpi.txt"))
    eth0, wlan0 = result.interfaces
    assert eth0.ipv4 is None and not eth0.is_running
    assert wlan0.ipv4 == ipaddress.IPv4Interface("192.168.2.106/24") and wlan0.counters["tx_bytes"] == 6786


def test_acts_legacy_expectation_addr_bcast_is_met():
    """ACTS greps `addr:(.*) Bcast`; the typed result gives the same address without regexes."""
    (eth0,) = parse_ifconfig(read("ifconfig/toybox_docker_veth.txt")).interfaces
    assert str(eth0.ipv4_address) == "172.17.0.2"


def test_legacy_toolbox_lines():
    (eth0,) = parse_ifconfig(read("ifconfig/toolbox_legacy.txt")).interfaces
    assert eth0.style == "toolbox" and eth0.ipv4 == ipaddress.IPv4Interface("10.0.2.15/24")
    assert eth0.flags == frozenset({"UP", "BROADCAST", "RUNNING", "MULTICAST"})
    down, ppp = parse_ifconfig(read("ifconfig/toolbox_legacy_down.txt")).interfaces
    assert not down.is_up and down.ipv4 is None and str(down.ipv4_address) == "0.0.0.0"
    assert "POINTOPOINT" in ppp.flags and ppp.ipv4 == ipaddress.IPv4Interface("10.64.64.64/32")


def test_toybox_short_mode():
    lo, eth0 = parse_ifconfig(read("ifconfig/toybox_short.txt")).interfaces
    assert lo.ipv4 == ipaddress.IPv4Interface("127.0.0.1/8") and lo.ipv6[0].scope == "Host"
    assert eth0.style == "short" and eth0.mac == "02:42:ac:11:00:02"
    assert eth0.ipv6[0].address == ipaddress.IPv6Interface("fe80::42:acff:fe11:2/64") and eth0.ipv6[0].scope == "Link"


def test_nettools2_format_and_garbled_address_line():
    (eth0,) = parse_ifconfig(read("ifconfig/nettools2_full.txt")).interfaces
    assert eth0.style == "nettools2" and eth0.ipv4 == ipaddress.IPv4Interface("172.17.0.2/16")
    assert eth0.mac == "02:42:ac:11:00:02" and eth0.link_encap == "Ethernet" and eth0.ipv6[0].scope == "Link"
    assert eth0.counters["rx_packets"] == 1520 and eth0.counters["tx_bytes"] == 132044
    assert eth0.counters["collisions"] == 0 and eth0.counters["tx_carrier"] == 0

    result = parse_ifconfig(read("ifconfig/nettools2_nethunter.txt"))
    assert result.errors == ("Warning: cannot open /proc/net/dev (Permission denied). Limited output.",)
    lo, wlan0 = result.interfaces
    assert lo.ipv4 == ipaddress.IPv4Interface("127.0.0.1/8") and lo.counters["txqueuelen"] == 1000
    assert wlan0.ipv4 is None and wlan0.mtu == 1500
    assert [u.number for u in result.unparsed] == [7]  # `inet 1rrrr168.1.ee0 ...` as posted


def test_audit_messages_interleaved_are_kept_unparsed():
    result = parse_ifconfig(read("ifconfig/toybox_audit_interleaved.txt"))
    assert result.interfaces == ()
    assert [u.number for u in result.unparsed] == list(range(1, 9))


def test_tool_errors():
    assert parse_ifconfig(read("ifconfig/toybox_permission_denied.txt")).errors == (
        "ifconfig: ioctl 8927: Permission denied",)
    result = parse_ifconfig(read("ifconfig/toybox_no_such_device.txt"))
    assert result.errors == ("ifconfig: eth9: No such device",) and result.interfaces == ()


def test_netcfg_reference_and_real_box():
    lo, eth0 = parse_netcfg(read("netcfg/reference_redroid.txt")).interfaces
    assert lo.address == ipaddress.IPv4Interface("127.0.0.1/8") and lo.flags == 0x49 and lo.up
    assert eth0.address == ipaddress.IPv4Interface("172.17.0.2/16") and eth0.flags == 0x1043
    assert eth0.mac == "02:42:ac:11:00:02" and eth0.has_address

    result = parse_netcfg(read("netcfg/android4_box.txt"))
    assert [i.name for i in result.interfaces] == ["lo", "eth0", "sit0", "ip6tnl0", "wlan0", "p2p0"]
    eth = result.get("eth0")
    assert eth is not None and not eth.up and not eth.has_address and eth.flags == 0x1202
    assert result.unparsed == ()
    collapsed = parse_netcfg(read("netcfg/android4_box_collapsed.txt"))
    assert [(i.name, i.up, i.flags) for i in collapsed.interfaces] == [
        ("lo", True, 0x49), ("eth0", False, 0x1202), ("wlan0", True, 0x1003)]


def test_netcfg_old_netmask_form_and_missing_tool():
    lo, eth0, rmnet0 = parse_netcfg(read("netcfg/old_netmask_form.txt")).interfaces
    assert lo.address == ipaddress.IPv4Interface("127.0.0.1/8") and lo.mac is None
    assert eth0.address == ipaddress.IPv4Interface("10.0.2.15/24") and not rmnet0.up
    result = parse_netcfg(read("netcfg/missing_android10.txt"))
    assert result.interfaces == () and result.errors == ("/system/bin/sh: netcfg: inaccessible or not found",)


def test_to_dict_is_json_ready():
    import json

    data = parse_ifconfig(read("ifconfig/toybox_docker_veth.txt")).to_dict()
    text = json.dumps(data)
    assert '"172.17.0.2"' in text and data["interfaces"][0]["flags"] == ["BROADCAST", "MULTICAST", "RUNNING", "UP"]
    assert list(data)[-1] == "unparsed"


def test_toybox_header_with_driver():
    (eth0,) = parse_ifconfig("eth0      Link encap:Ethernet  HWaddr 02:42:ac:11:00:02  Driver veth\n"
                             "          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1\n").interfaces
    assert (eth0.link_encap, eth0.mac, eth0.driver) == ("Ethernet", "02:42:ac:11:00:02", "veth")
