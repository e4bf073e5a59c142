"""The network outside the device: the bridge's DHCP server, who answers pings, DNS."""

from __future__ import annotations

import ipaddress

from harness.sim.android.world import World
from nettools_helpers import make_device

IP = ipaddress.IPv4Address


def world() -> World:
    return World.of(make_device(start_netd=False))


def test_dhcp_offers_the_profile_lease_to_the_profile_mac_only():
    w = world()
    lease = w.dhcp_offer("02:42:AC:11:00:02")
    assert lease is not None
    assert (str(lease.address), str(lease.gateway), [str(d) for d in lease.dns], str(lease.netmask),
            lease.server) == ("172.17.0.2/16", "172.17.0.1", ["8.8.8.8"], "255.255.0.0", IP("172.17.0.1"))
    assert w.dhcp_offer("02:42:ac:11:00:99") is None


def test_pings_are_answered_only_from_the_bridge_and_through_the_gateway():
    w = world()
    on_bridge = IP("172.17.0.2")
    gateway = w.ping(IP("172.17.0.1"), source=on_bridge, via_gateway=False)
    assert gateway is not None and gateway.ttl == 64 and gateway.rtt_ms < 1
    remote = w.ping(IP("8.8.8.8"), source=on_bridge, via_gateway=True)
    assert remote is not None and 113 <= remote.ttl <= 119 and 4 < remote.rtt_ms < 40
    assert w.ping(IP("8.8.8.8"), source=on_bridge, via_gateway=False) is None      # no ARP answer
    assert w.ping(IP("10.255.255.1"), source=on_bridge, via_gateway=True) is None
    assert w.ping(IP("8.8.8.8"), source=IP("10.1.2.3"), via_gateway=True) is None   # not on the bridge
    assert w.ping(IP("142.250.74.68"), source=on_bridge, via_gateway=True) is not None


def test_names_resolve_through_dns_servers_only():
    w = world()
    assert w.resolve("WWW.google.com.", IP("8.8.8.8")) == IP("142.250.74.68")
    assert w.resolve("www.google.com", IP("1.1.1.1")) == IP("142.250.74.68")
    assert w.resolve("www.google.com", IP("172.17.0.1")) is None
    assert w.resolve("nosuch.example", IP("8.8.8.8")) is None
    assert w.reverse(IP("142.250.74.68")) == "www.google.com"
