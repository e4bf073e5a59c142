"""iproute2 parsers against the reference renderings and real Android output."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from harness.parsers.ip import parse_ip_addr, parse_ip_link, parse_ip_route, parse_ip_rule

DATA = Path(__file__).parent / "data" / "parsers" / "ip"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_addr_reference_eth0_with_ifn_suffix_and_trailing_space():
    result = parse_ip_addr(read("addr_reference_eth0.txt"))
    assert result.unparsed == () and result.errors == ()
    (eth0,) = result.links
    assert (eth0.index, eth0.name, eth0.parent) == (4, "eth0", "if5")
    assert eth0.flags == frozenset({"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}) and eth0.is_up and eth0.has_carrier
    assert (eth0.mtu, eth0.qdisc, eth0.state, eth0.qlen) == (1500, "noqueue", "UP", 1000)
    assert (eth0.link_type, eth0.mac, eth0.broadcast_mac) == ("ether", "02:42:ac:11:00:02", "ff:ff:ff:ff:ff:ff")
    assert eth0.attributes["link-netnsid"] == "0"
    v4, v6 = eth0.addresses
    assert v4.address == ipaddress.IPv4Interface("172.17.0.2/16") and v4.broadcast == ipaddress.IPv4Address("172.17.255.255")
    assert (v4.scope, v4.label, v4.valid_lft, v4.preferred_lft) == ("global", "eth0", None, None)
    assert v6.family == "inet6" and v6.scope == "link" and v6.label is None
    assert eth0.ipv4() == [ipaddress.IPv4Interface("172.17.0.2/16")]


def test_addr_real_phone_with_none_parents():
    result = parse_ip_addr(read("addr_android_phone.txt"))
    assert [(link.name, link.parent) for link in result.links] == [
        ("lo", None), ("dummy0", None), ("ifb0", None), ("tunl0", "NONE"), ("gre0", "NONE"), ("gretap0", "NONE")]
    lo = result.get("lo")
    assert lo is not None and lo.link_type == "loopback" and lo.addresses[0].scope == "host"
    tunl0 = result.get("tunl0")
    assert tunl0 is not None and tunl0.link_type == "ipip" and tunl0.mac is None and not tunl0.is_up
    assert result.unparsed == ()


def test_addr_oneline_output():
    (eth0,) = parse_ip_addr(read("addr_oneline_android.txt")).links
    assert (eth0.index, eth0.name) == (70, "eth0")
    (addr,) = eth0.addresses
    assert addr.address == ipaddress.IPv4Interface("192.168.1.130/24") and addr.label == "eth0"
    assert addr.valid_lft is None  # "forever", from the part after the backslash


def test_link_oneline_no_carrier_and_stats():
    result = parse_ip_link(read("link_oneline.txt"))
    lo, eth0 = result.links
    assert lo.link_type == "loopback" and lo.attributes["mode"] == "DEFAULT"
    assert eth0.is_up and not eth0.has_carrier and eth0.state == "LOWERLAYERDOWN"
    assert result.unparsed == ()
    (eth0,) = parse_ip_link(read("link_stats_new.txt")).links
    assert eth0.stats["rx_bytes"] == 245102 and eth0.stats["tx_packets"] == 1327 and eth0.stats["rx_missed"] == 0


def test_addr_errors():
    result = parse_ip_addr(read("addr_missing_device.txt"))
    assert result.links == () and result.errors == ('Device "eth9" does not exist.',)


def test_route_reference_table_eth0():
    default, subnet = parse_ip_route(read("route_table_eth0_reference.txt")).routes
    assert default.is_default and default.destination == "default"
    assert default.gateway == ipaddress.IPv4Address("172.17.0.1") and default.dev == "eth0" and default.proto == "static"
    assert subnet.destination == "172.17.0.0/16" and subnet.scope == "link" and subnet.gateway is None
    assert subnet.network == ipaddress.IPv4Network("172.17.0.0/16")


def test_route_main_table_android_kernel_route():
    (route,) = parse_ip_route(read("route_main_android.txt")).routes
    assert (route.destination, route.dev, route.proto, route.scope) == ("192.168.31.0/24", "wlan0", "kernel", "link")
    assert route.src == ipaddress.IPv4Address("192.168.31.165")


def test_route_types_local_table():
    routes = parse_ip_route(read("route_table_local_rk3399.txt")).routes
    assert [(r.type, r.destination) for r in routes] == [
        ("broadcast", "127.0.0.0/32"), ("local", "127.0.0.0/8"), ("local", "127.0.0.1/32"),
        ("broadcast", "127.255.255.255/32")]
    assert all(r.src == ipaddress.IPv4Address("127.0.0.1") for r in routes)


def test_route_table_missing_after_race():
    result = parse_ip_route(read("route_table_invalid.txt"))
    assert result.routes == () and result.table_missing
    assert result.errors == ('Error: argument "eth0" is wrong: table id value is invalid',)


def test_route_ipv6_linkdown_unreachable_and_expires():
    link, unreachable, default = parse_ip_route(read("route_ipv6_linkdown.txt")).routes
    assert "linkdown" in link.flags and link.metric == 256 and link.pref == "medium"
    assert unreachable.type == "unreachable" and unreachable.error == -101 and unreachable.metric == 4294967295
    assert default.gateway == ipaddress.IPv6Address("fe80::1") and default.proto == "ra"
    assert default.attributes["expires"] == "1789sec" and default.attributes["hoplimit"] == "64"


def test_route_get_cache_and_multipath():
    (route,) = parse_ip_route(read("route_get_cache.txt")).routes
    assert route.destination == "8.8.8.8/32" and route.table == "eth0" and "cache" in route.flags
    assert route.attributes["uid"] == "0"
    result = parse_ip_route(read("route_multipath.txt"))
    (route,) = result.routes
    assert [(str(h.gateway), h.dev, h.weight) for h in route.nexthops] == [("10.0.0.1", "eth0", 1), ("10.0.1.1", "eth1", 2)]
    assert "linkdown" in route.nexthops[1].flags and result.unparsed == ()


def test_rule_reference_healthy_set():
    result = parse_ip_rule(read("rule_reference_eth0.txt"))
    assert result.unparsed == () and len(result.rules) == 13
    assert [r.priority for r in result.lookups("eth0")] == [10500, 13000, 14000, 19000, 22000]
    oif_uid = result.with_priority(10500)[0]
    assert oif_uid.oif == "eth0" and oif_uid.uid_range == (0, 0) and oif_uid.fwmark is None
    explicit = result.with_priority(13000)[1]
    assert (explicit.fwmark, explicit.fwmask, explicit.table) == (0x10064, 0x1FFFF, "eth0")
    (unreachable,) = result.with_priority(32000)
    assert unreachable.action == "unreachable" and unreachable.table is None and unreachable.source == "all"


def test_rule_after_race_has_no_eth0_lookups():
    result = parse_ip_rule(read("rule_after_race.txt"))
    assert result.lookups("eth0") == () and [r.priority for r in result.rules] == [
        0, 10000, 13000, 15000, 16000, 17000, 23000, 32000]


def test_rule_real_devices():
    numeric = parse_ip_rule(read("rule_android6_numeric.txt"))
    assert [r.priority for r in numeric.lookups("1007")] == [13000, 14000, 19000, 22000]
    assert numeric.unparsed == ()
    rk = parse_ip_rule(read("rule_android9_rk3399_eth0.txt"))
    to_rule = rk.rules[1]
    assert to_rule.destination == "172.29.7.148/32" and to_rule.table == "eth0"
    assert rk.with_priority(13000)[1].iif == "lo"
    v6 = parse_ip_rule(read("rule_android12_ipv6.txt"))
    assert len(v6.rules) == 10 and v6.with_priority(16000)[1].fwmark == 0x1006A
    oxygen = parse_ip_rule(read("rule_oxygenos_vpn.txt"))
    assert oxygen.rules[3].uid_range == (0, 99999) and oxygen.rules[5].uid_range == (99900000, 99999999)
    assert oxygen.rules[4].oif == "rmnet_data0" and oxygen.rules[4].fwmask == 0xC0000


def test_rule_new_iproute2_rendering():
    result = parse_ip_rule(read("rule_new_iproute2.txt"))
    legacy = result.with_priority(15000)[0]
    assert (legacy.fwmark, legacy.fwmask) == (0, 0x10000)  # printed "0/0x10000"
    detached = result.with_priority(20000)[0]
    assert detached.iif == "eth9" and detached.iif_detached
    goto = result.with_priority(25000)[0]
    assert goto.invert and goto.action == "goto" and goto.goto == 32766 and goto.fwmark == 1 and goto.fwmask is None
    policy = result.with_priority(30000)[0]
    assert policy.source == "10.0.0.0/8" and policy.attributes["suppress_prefixlength"] == "0"
    assert policy.attributes["proto"] == "static"
    assert result.unparsed == ()


def test_brief_output():
    lo, eth0, wlan0 = parse_ip_addr(read("addr_brief.txt")).links
    assert lo.index is None and lo.state == "UNKNOWN" and [str(a.address) for a in lo.addresses] == ["127.0.0.1/8", "::1/128"]
    assert (eth0.parent, eth0.ipv4()) == ("if5", [ipaddress.IPv4Interface("172.17.0.2/16")])
    assert wlan0.state == "DOWN" and wlan0.addresses == ()
    result = parse_ip_link(read("link_brief.txt"))
    assert [(link.name, link.mac, link.is_up) for link in result.links] == [
        ("lo", "00:00:00:00:00:00", True), ("eth0", "02:42:ac:11:00:02", True)]
    assert result.unparsed == ()
