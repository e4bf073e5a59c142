"""The kernel model: docker's initial state, Linux's reactions to link/address changes, policy
routing, rtnetlink-like events and the /proc and /sys files built from it."""

from __future__ import annotations

import errno
import ipaddress

import pytest

from harness.sim.android import procfs
from harness.sim.android.kernel import (
    IFF_LOWER_UP, KernelError, Route, Rule, link_local_from_mac,
)
from nettools_helpers import make_device

NET = ipaddress.ip_network


def kernel():
    return make_device(start_netd=False).android.kernel


def routes(k, table=254, family=4):
    return [(str(r.dst), str(r.gateway) if r.gateway else None, r.proto)
            for r in k.table(table) if r.family == family]


def test_fresh_kernel_is_what_docker_set_up():
    k = kernel()
    assert [(l.ifindex, l.name, l.peer_ifindex) for l in k.ordered_links()] == [(1, "lo", None), (4, "eth0", 5)]
    eth0 = k.links["eth0"]
    assert eth0.admin_up and eth0.carrier and eth0.lower_up
    assert [str(a) for a in eth0.ipv4] == ["172.17.0.2/16"]
    assert str(eth0.ipv6_link_local) == "fe80::42:acff:fe11:2/64"
    assert routes(k) == [("0.0.0.0/0", "172.17.0.1", "boot"), ("172.17.0.0/16", None, "kernel")]
    assert [(r.priority, r.table) for r in k.rules_for(4)] == [(0, 255), (32766, 254), (32767, 253)]
    assert [(r.priority, r.table) for r in k.rules_for(6)] == [(0, 255), (32766, 254)]


def test_link_local_address_is_eui64_of_the_mac():
    assert str(link_local_from_mac("02:42:ac:11:00:02")) == "fe80::42:acff:fe11:2/64"


def test_link_down_drops_routes_and_ipv6_but_keeps_ipv4_and_up_restores_only_kernel_routes():
    k = kernel()
    k.add_route(1004, Route(NET("0.0.0.0/0"), dev="eth0", gateway=ipaddress.ip_address("172.17.0.1"),
                            proto="static"))
    k.set_admin("eth0", False)
    assert routes(k) == [] and k.table(1004) == []
    assert [str(a) for a in k.links["eth0"].ipv4] == ["172.17.0.2/16"]
    assert k.links["eth0"].ipv6 == []
    assert not any(r.dev == "eth0" for r in k.table(255))
    k.set_admin("eth0", True)
    # the connected route comes back with the address; docker's default route does not
    assert routes(k) == [("172.17.0.0/16", None, "kernel")]
    assert k.table(1004) == []
    assert k.links["eth0"].ipv6_link_local is not None


def test_removing_the_last_address_drops_every_route_through_the_link():
    k = kernel()
    k.add_route(1004, Route(NET("172.17.0.0/16"), dev="eth0", proto="static", scope=253))
    k.remove_address("eth0", ipaddress.IPv4Interface("172.17.0.2/16"))
    assert routes(k) == [] and k.table(1004) == []
    with pytest.raises(KernelError) as err:
        k.remove_address("eth0", ipaddress.IPv4Interface("172.17.0.2/16"))
    assert err.value.errno == errno.EADDRNOTAVAIL


def test_gateway_routes_need_a_link_route_to_the_gateway():
    k = kernel()
    gw = ipaddress.ip_address("172.17.0.1")
    with pytest.raises(KernelError) as err:
        k.add_route(1004, Route(NET("0.0.0.0/0"), dev="eth0", gateway=ipaddress.ip_address("10.9.9.9")))
    assert err.value.errno == errno.ENETUNREACH
    k.add_route(1004, Route(NET("0.0.0.0/0"), dev="eth0", gateway=gw, proto="static"))   # via main
    with pytest.raises(KernelError) as err:
        k.add_route(1004, Route(NET("0.0.0.0/0"), dev="eth0", gateway=gw, proto="static"))
    assert err.value.errno == errno.EEXIST
    k.set_admin("eth0", False)
    with pytest.raises(KernelError) as err:
        k.add_route(1004, Route(NET("10.0.0.0/8"), dev="eth0", scope=253))
    assert err.value.errno == errno.ENETDOWN
    with pytest.raises(KernelError) as err:
        k.del_route(254, Route(NET("10.0.0.0/8")))
    assert err.value.errno == errno.ESRCH


def test_policy_lookup_follows_rules_marks_and_uids():
    k = kernel()
    k.flush_rules(keep=lambda r: r.priority == 0)
    k.add_rule(Rule(22000, 1004, fwmark=0, fwmask=0xffff))
    k.add_rule(Rule(23000, 254, fwmark=0, fwmask=0xffff, uidrange=(0, 0)))
    k.add_rule(Rule(32000, action="unreachable"))
    # nothing in table 1004: uid 0 falls through to main, others hit `unreachable`
    assert k.route_lookup("172.17.0.1", uid=0).table == 254
    with pytest.raises(KernelError) as err:
        k.route_lookup("172.17.0.1", uid=2000)
    assert err.value.errno == errno.ENETUNREACH
    # a marked socket (netId 101) misses the netId-0 rules even as root
    with pytest.raises(KernelError):
        k.route_lookup("172.17.0.1", uid=0, mark=0xc0065)
    k.add_route(1004, Route(NET("172.17.0.0/16"), dev="eth0", proto="static", scope=253))
    result = k.route_lookup("172.17.0.9", uid=2000)
    assert (result.table, result.dev, str(result.nexthop), str(result.src)) == (1004, "eth0", "172.17.0.9", "172.17.0.2")
    assert k.route_lookup("127.0.0.1", uid=2000).is_local


def test_rules_keep_insertion_order_within_a_priority_and_delete_by_selector():
    k = kernel()
    k.add_rule(Rule(13000, 97, fwmark=0x10063, fwmask=0x1ffff))
    k.add_rule(Rule(13000, 1004, fwmark=0x10064, fwmask=0x1ffff))
    assert [r.table for r in k.rules_for(4) if r.priority == 13000] == [97, 1004]
    with pytest.raises(KernelError) as err:
        k.add_rule(Rule(13000, 1004, fwmark=0x10064, fwmask=0x1ffff))
    assert err.value.errno == errno.EEXIST
    k.del_rule(Rule(13000, 1004, fwmark=0x10064, fwmask=0x1ffff))
    with pytest.raises(KernelError) as err:
        k.del_rule(Rule(13000, 1004, fwmark=0x10064, fwmask=0x1ffff))
    assert err.value.errno == errno.ENOENT


def test_events_link_first_then_addresses_and_routes_no_dedup():
    k = kernel()
    events = []
    k.subscribe(events.append)
    k.set_admin("eth0", False)
    k.set_admin("eth0", False)          # no change, no RTM_NEWLINK
    k.set_admin("eth0", True)
    kinds = [(e.kind, e.address or (str(e.route.dst) if e.route else None)) for e in events]
    assert kinds[0] == ("link", None) and not events[0].flags & IFF_LOWER_UP
    assert ("addr_removed", "fe80::42:acff:fe11:2/64") in kinds
    assert ("route_removed", "0.0.0.0/0") in kinds
    up = kinds.index(("link", None), 1)
    assert events[up].lower_up
    # linkwatch sends a second RTM_NEWLINK when the scheduler runs
    k.scheduler.run_until(k.scheduler.now() + 2)
    assert sum(1 for e in events[up:] if e.kind == "link" and e.lower_up) == 2
    # after DAD the link-local address is announced again without `tentative`
    flags = [e.flags for e in events if e.kind == "addr_added" and e.family == 6]
    assert flags == [0xc0, 0x80]


def test_carrier_loss_keeps_routes_marked_linkdown():
    k = kernel()
    k.set_carrier("eth0", False)
    assert routes(k) and k.links["eth0"].operstate == "LOWERLAYERDOWN"
    assert k.route_flags(k.table(254)[0]) == ["linkdown"]
    assert k.links["eth0"].flags & IFF_LOWER_UP == 0


def test_proc_net_files_have_the_kernel_formats():
    device = make_device(start_netd=False)
    k = device.android.kernel
    k.links["eth0"].rx_packets, k.links["eth0"].rx_bytes = 1520, 245102
    procfs.install(device)
    dev = device.fs.read("/proc/net/dev").decode().splitlines()
    assert dev[0] == "Inter-|   Receive                                                |  Transmit"
    assert dev[3] == "  eth0:  245102    1520    0    0    0     0          0         0        0       0    0    0    0     0       0          0"
    route = device.fs.read("/proc/net/route").decode().splitlines(keepends=True)
    assert route[0] == "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT" + " " * 55 + "\n"
    assert route[1].rstrip() == "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0"
    assert route[2].rstrip() == "eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0"
    assert all(len(line) == 128 for line in route)
    assert device.fs.read("/proc/net/if_inet6").decode() == (
        "00000000000000000000000000000001 01 80 10 80       lo\n"
        "fe800000000000000042acfffe110002 04 40 20 80     eth0\n")
    read = lambda attr: device.fs.read(f"/sys/class/net/eth0/{attr}").decode()
    assert (read("address"), read("operstate"), read("carrier"), read("flags"), read("ifindex"),
            read("mtu")) == ("02:42:ac:11:00:02\n", "up\n", "1\n", "0x1003\n", "4\n", "1500\n")
    k.set_admin("eth0", False)
    assert read("operstate") == "down\n" and read("flags") == "0x1002\n"
    with pytest.raises(OSError):
        read("carrier")
