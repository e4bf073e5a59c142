"""Snapshots from recorded outputs, and their diffs."""

from __future__ import annotations

import json

import pytest

from harness.net.snapshot import diff, take_snapshot
from test_net_fakes import (DUMPSYS_HEALTHY, RULES_HEALTHY, ScriptedDevice, caps_44, healthy_81, ok,
                            race_81, with_caps)


def test_healthy_snapshot_reads_every_section():
    snap = take_snapshot(healthy_81())
    assert snap.unreadable == {}
    sections = snap.sections()
    assert sections["links"]["eth0"] == "up flags=BROADCAST,LOWER_UP,MULTICAST,UP mtu=1500 mac=02:42:ac:11:00:02"
    assert sections["ipv4_addresses"] == {"lo 127.0.0.1/8": "", "eth0 172.17.0.2/16": ""}
    assert sections["ipv6_addresses"] == {"eth0 fe80::42:acff:fe11:2/64": ""}
    assert "14000: from all oif eth0 lookup eth0" in sections["rules"]
    assert "13000: from all fwmark 0x10064/0x1ffff lookup eth0" in sections["rules"]
    assert sections["rt_tables"]["eth0"] == "1004"
    assert "table eth0: default via 172.17.0.1 dev eth0 proto static" in sections["routes"]
    assert sections["networks"] == {"100": "eth0 ETHERNET CONNECTED validated"}
    assert sections["default_network"] == {"default": "100"}
    assert sections["properties"] == {"dhcp.eth0.result": "ok", "net.dns1": "8.8.8.8"}   # net.dns2 is empty
    json.dumps(snap.to_dict())


def test_equal_snapshots_have_an_empty_diff():
    a, b = take_snapshot(healthy_81()), take_snapshot(healthy_81())
    d = diff(a, b)
    assert d.empty and not d and d.render() == "no differences"
    assert d.to_dict() == {"empty": True, "sections": {}, "not_compared": {}}


def test_race_diff_shows_what_the_race_left_behind():
    d = diff(take_snapshot(healthy_81()), take_snapshot(race_81()))
    rules = d.section("rules")
    assert set(rules.removed) == {"10500: from all oif eth0 uidrange 0-0 lookup eth0",
                                  "13000: from all fwmark 0x10064/0x1ffff lookup eth0",
                                  "14000: from all oif eth0 lookup eth0",
                                  "19000: from all fwmark 0x64/0x1ffff lookup eth0",
                                  "22000: from all fwmark 0x0/0xffff lookup eth0"}
    assert not rules.added
    assert d.section("rt_tables").removed == {"eth0": "1004"}
    assert set(d.section("routes").removed) == {"table eth0: default via 172.17.0.1 dev eth0 proto static",
                                                "table eth0: 172.17.0.0/16 dev eth0 proto static scope link"}
    assert d.section("default_network").changed == {"default": ("100", "101")}
    networks = d.section("networks")
    assert networks.removed == {"100": "eth0 ETHERNET CONNECTED validated"}
    assert networks.added == {"101": "eth0 ETHERNET CONNECTED"}
    assert d.section("links") is None and d.section("ipv4_addresses") is None
    text = d.render()
    assert "[rules]\n  - 10500: from all oif eth0 uidrange 0-0 lookup eth0" in text
    assert "  ~ default: 100 -> 101" in text
    assert d.to_dict()["sections"]["default_network"]["changed"] == {"default": ["100", "101"]}


def test_ignore_net_ids_compares_networks_by_interface():
    renumbered_rules = RULES_HEALTHY.replace("0x10064/", "0x10065/").replace("0x64/", "0x65/")
    renumbered = healthy_81(**{"ip rule show": ok(renumbered_rules),
                               "dumpsys connectivity": ok(DUMPSYS_HEALTHY.replace("network{100}", "network{101}")
                                                          .replace("Active default network: 100",
                                                                   "Active default network: 101"))})
    a, b = take_snapshot(healthy_81()), take_snapshot(renumbered)
    assert diff(a, b).section("rules") is not None
    same = diff(a, b, ignore_net_ids=True)
    assert same.empty, same.render()
    assert "13000: from all fwmark net[eth0]|0x10000/0x1ffff lookup eth0" in a.sections(ignore_net_ids=True)["rules"]


def test_sections_can_be_chosen():
    d = diff(take_snapshot(healthy_81()), take_snapshot(race_81()), sections=("links", "ipv4_addresses"))
    assert d.empty
    with pytest.raises(ValueError, match="unknown snapshot sections"):
        diff(take_snapshot(healthy_81()), take_snapshot(healthy_81()), sections=("routez",))


def test_what_could_not_be_read_is_said_and_not_compared():
    denied = healthy_81(**{"dumpsys connectivity": (255, "", "")})
    snap = take_snapshot(denied)
    assert snap.unreadable["networks"] == "`dumpsys connectivity` exited 255"
    assert snap.unreadable["default_network"] == "`dumpsys connectivity` exited 255"
    d = diff(take_snapshot(healthy_81()), snap)
    assert d.empty and d.not_compared["networks"] == "`dumpsys connectivity` exited 255"
    assert "[networks] not compared: `dumpsys connectivity` exited 255" in d.render()


def test_android_44_snapshot_without_ip():
    device = with_caps(ScriptedDevice({
        "netcfg": ok("eth0     UP                                  10.0.2.15/24  0x00001043 52:54:00:12:34:56\n"),
        "dumpsys connectivity": ok("Active network: ETHERNET\n"),
        "getprop": ok("[net.dns1]: [10.0.2.3]\n[net.eth0.dns1]: [10.0.2.3]\n[dhcp.eth0.gateway]: [10.0.2.2]\n"),
    }), caps_44())
    snap = take_snapshot(device)
    assert snap.unreadable["rules"] == "the device has no ip"
    assert snap.unreadable["default_network"].startswith("`dumpsys connectivity` of this version")
    assert snap.sections()["ipv4_addresses"] == {"eth0 10.0.2.15/24": ""}
    assert snap.properties == {"net.dns1": "10.0.2.3", "net.eth0.dns1": "10.0.2.3", "dhcp.eth0.gateway": "10.0.2.2"}
    assert "[rules] not read: the device has no ip" in snap.render()
