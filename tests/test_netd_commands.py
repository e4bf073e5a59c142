"""netd: NetworkController state transitions, the text protocol's exact replies and framing,
RouteController's rules per Android era, rt_tables and the unsolicited broadcasts."""

from __future__ import annotations

import errno

import pytest

from harness.sim.android.commandlistener import CommandClient, split_words
from harness.sim.android.netd import NETID_UNSET
from nettools_helpers import connect_ethernet, make_device

# android-net.md §1.6, rendered for eth0 in network 100 (PERMISSION_NONE, default)
REFERENCE_RULES_81 = """\
0:\tfrom all lookup local 
10000:\tfrom all fwmark 0xc0000/0xd0000 lookup legacy_system 
10500:\tfrom all oif eth0 uidrange 0-0 lookup eth0 
13000:\tfrom all fwmark 0x10063/0x1ffff lookup local_network 
13000:\tfrom all fwmark 0x10064/0x1ffff lookup eth0 
14000:\tfrom all oif eth0 lookup eth0 
15000:\tfrom all fwmark 0x0/0x10000 lookup legacy_system 
16000:\tfrom all fwmark 0x0/0x10000 lookup legacy_network 
17000:\tfrom all fwmark 0x0/0x10000 lookup local_network 
19000:\tfrom all fwmark 0x64/0x1ffff lookup eth0 
22000:\tfrom all fwmark 0x0/0xffff lookup eth0 
23000:\tfrom all fwmark 0x0/0xffff uidrange 0-0 lookup main 
32000:\tfrom all unreachable
"""
RT_TABLES_HEALTHY = "255 local\n254 main\n97 local_network\n98 legacy_network\n99 legacy_system\n1004 eth0\n"


def netd_device(**kwargs):
    device = make_device(**kwargs)
    return device, device.android.netd


def rules_text(device) -> str:
    from harness.sim.tools.iproute_format import TableNames, format_rule
    names = TableNames.parse(device.fs.read("/data/misc/net/rt_tables").decode())
    return "".join(format_rule(r, names) for r in device.android.kernel.rules_for(4))


def test_start_flushes_kernel_rules_writes_rt_tables_and_logs():
    device, netd = netd_device()
    priorities = [r.priority for r in device.android.kernel.rules_for(4)]
    assert priorities == [0, 10000, 13000, 15000, 16000, 17000, 23000, 32000]
    assert priorities == [r.priority for r in device.android.kernel.rules_for(6)]
    assert device.fs.read("/data/misc/net/rt_tables").decode() == RT_TABLES_HEALTHY.replace("1004 eth0\n", "")
    lines = device.android.lines("Netd")
    assert lines[0] == "I Netd 1.0 starting"
    assert lines[-1].startswith("I Netd started in ") and lines[-1].endswith("ms")
    assert "I Starting CommandListener: " in " ".join(lines)


def test_healthy_network_programs_the_reference_rules():
    device, netd = netd_device()
    connect_ethernet(netd)
    assert rules_text(device) == REFERENCE_RULES_81
    assert device.fs.read("/data/misc/net/rt_tables").decode() == RT_TABLES_HEALTHY
    assert netd.iface_net("eth0") == 100 and netd.default_net_id == 100
    assert netd.networks[100].dns_servers == ["8.8.8.8"]


def test_ebusy_on_second_network_with_exact_reply_and_log_line():
    device, netd = netd_device()
    connect_ethernet(netd)
    assert netd.command("30 network create 101") == ["200 30 success"]
    assert netd.command("31 network interface add 101 eth0") == [
        "400 31 addInterfaceToNetwork() failed (Device or resource busy)"]
    assert netd.command("32 network route add 101 eth0 0.0.0.0/0 172.17.0.1") == [
        "400 32 addRoute() failed (No such file or directory)"]
    errors = [l for l in device.android.lines("Netd") if l.startswith("E ")]
    assert errors == ["E interface eth0 already assigned to netId 100",
                      "E interface eth0 assigned to netId 100, not 101"]
    # adding to the network it is already in is fine
    assert netd.network_add_interface(100, "eth0") == 0


def test_the_race_end_state_destroy_clears_rules_routes_and_rt_tables():
    device, netd = netd_device()
    connect_ethernet(netd)
    assert netd.network_create_physical(101) == 0
    assert netd.network_add_interface(101, "eth0") == -errno.EBUSY
    assert netd.network_set_default(101) == 0
    assert netd.command("0 network destroy 100") == ["200 0 success"]
    assert netd.iface_net("eth0") == NETID_UNSET and netd.default_net_id == 101
    assert netd.networks[101].interfaces == set()
    kernel = device.android.kernel
    assert kernel.table(1004) == []
    assert not any(r.oif == "eth0" or r.table == 1004 for r in kernel.rules)
    assert rules_text(device) == "".join(
        line + "\n" for line in REFERENCE_RULES_81.splitlines()
        if "eth0" not in line and "10500" not in line)
    assert device.fs.read("/data/misc/net/rt_tables").decode() == RT_TABLES_HEALTHY.replace("1004 eth0\n", "")


def test_destroy_of_the_default_drops_it_and_default_set_clear_toggle_22000():
    device, netd = netd_device()
    connect_ethernet(netd)
    assert any(r.priority == 22000 for r in device.android.kernel.rules)
    assert netd.command("0 network default clear") == ["200 0 success"]
    assert not any(r.priority == 22000 for r in device.android.kernel.rules)
    assert netd.command("0 network default set 100") == ["200 0 success"]
    assert netd.command("0 network destroy 100") == ["200 0 success"]
    assert netd.default_net_id == NETID_UNSET
    assert netd.command("0 network destroy 100") == ["400 0 destroyNetwork() failed (Machine is not on the network)"]
    assert netd.command("0 network destroy local") == ["400 0 destroyNetwork() failed (Invalid argument)"]
    assert netd.command("0 network default set 102") == ["400 0 setDefaultNetwork() failed (Machine is not on the network)"]


@pytest.mark.parametrize("line, reply", [
    ("0 network create 100", "400 0 createPhysicalNetwork() failed (File exists)"),
    ("0 network create 70000", "400 0 createPhysicalNetwork() failed (Invalid argument)"),
    ("0 network create 105 BOGUS", "500 0 Unknown permission"),
    ("0 network create 105 NETWORK extra", "500 0 Unknown trailing argument(s)"),
    ("0 network interface add 102 eth0", "400 0 addInterfaceToNetwork() failed (Machine is not on the network)"),
    ("0 network interface add 100", "500 0 Missing argument"),
    ("0 network interface frob 100 eth0", "500 0 Unknown argument"),
    ("0 network route add 100 eth0", "500 0 Incorrect number of arguments"),
    ("0 network route add 100 wlan0 10.0.0.0/8", "400 0 addRoute() failed (No such device)"),
    ("0 network route add 100 eth0 10.0.0.0/8 10.9.9.9", "400 0 addRoute() failed (Network is unreachable)"),
    ("0 network route add 100 eth0 10.0.0.0/8", "200 0 success"),
    ("0 network route add 100 eth0 172.17.0.0/16", "200 0 success"),   # EEXIST is not an error
    ("0 network route remove 100 eth0 10.1.0.0/16", "400 0 removeRoute() failed (No such process)"),
    ("0 network default", "500 0 Missing argument"),
    ("0 network default set", "500 0 Missing netId"),
    ("0 network destroy", "500 0 Incorrect number of arguments"),
    ("0 network bogus", "500 0 Unknown argument"),
    ("0 network", "500 0 Missing argument"),
    ("0 network permission network set SYSTEM 100", "200 0 success"),
    ("0 network permission user set BOGUS 1000", "500 0 Unknown permission"),
    ("0 network users add 100 1000-2000", "400 0 addUsersToNetwork() failed (Invalid argument)"),
    ("0 network protect allow 1000", "200 0 success"),
])
def test_network_command_replies(line, reply):
    _, netd = netd_device()
    connect_ethernet(netd)
    assert netd.command(line) == [reply]


@pytest.mark.parametrize("line, reply", [
    ("0 interface list", None),
    ("0 interface getcfg eth0", ["213 0 02:42:ac:11:00:02 172.17.0.2 16 up broadcast running multicast"]),
    ("0 interface getcfg lo", ["213 0 00:00:00:00:00:00 127.0.0.1 8 up loopback running"]),
    ("0 interface getcfg eth9", ["400 0 Interface not found (No such device)"]),
    ("0 interface getcfg", ["500 0 Missing argument"]),
    ("0 interface", ["500 0 Missing argument"]),
    ("0 interface setcfg eth0 up bogus", ["501 0 Flag unsupported"]),
    ("0 interface setcfg eth9 1.2.3.4 24", ["400 0 Failed to clear address (No such device)"]),
    ("0 interface ipv6 eth0", ["500 0 Usage: interface ipv6 <interface> <enable|disable>"]),
    ("0 interface ipv6 eth9 enable", ["400 0 Failed to change IPv6 state (No such file or directory)"]),
    ("0 interface ipv6privacyextensions eth0 enable", ["200 0 IPv6 privacy extensions changed"]),
    ("0 interface setmtu eth0 1400", ["200 0 MTU changed"]),
    ("0 interface setmtu eth0 abc", ["400 0 Failed to set MTU (Invalid argument)"]),
    ("0 interface frob eth0", ["500 0 Unknown interface cmd"]),
    ('0 resolver setnetdns 100 "" 8.8.8.8 8.8.4.4', ["200 0 Resolver command succeeded"]),
    ("0 resolver setnetdns 100 x", ["500 0 Wrong number of or invalid arguments to resolver setnetdns"]),
    ("0 resolver frob 100", ["500 0 Resolver unknown command"]),
    ("0 resolver", ["500 0 Resolver missing arguments"]),
    ("0 bogus", ["500 0 Command not recognized"]),
    ("0 bandwidth enable", ["200 0 Bandwidth command succeeeded"]),
])
def test_interface_and_other_command_replies(line, reply):
    _, netd = netd_device()
    expected = reply or ["110 0 lo", "110 0 eth0", "200 0 Interface list completed"]
    assert netd.command(line) == expected


def test_setcfg_clears_the_address_first_and_zero_leaves_none():
    device, netd = netd_device()
    kernel = device.android.kernel
    assert netd.command("0 interface setcfg eth0 10.1.2.3 24 up") == ["200 0 Interface configuration set"]
    assert [str(a) for a in kernel.links["eth0"].ipv4] == ["10.1.2.3/24"]
    assert netd.command("0 interface setcfg eth0 0.0.0.0 0") == ["200 0 Interface configuration set"]
    assert kernel.links["eth0"].ipv4 == []
    assert netd.command("0 interface setcfg eth0 down") == ["200 0 Interface configuration set"]
    assert not kernel.links["eth0"].admin_up
    assert "D Trying to bring down eth0" in device.android.lines("CommandListener")
    assert netd.command("0 interface clearaddrs eth0") == ["200 0 Interface IP addresses cleared"]


@pytest.mark.parametrize("line, reply", [
    ("x interface list", "500 0 Invalid sequence number"),
    ("0x1f bogus", "500 31 Command not recognized"),
    ("-7 bogus", "500 -7 Command not recognized"),
    ('9 "net work" list', "500 9 Command not recognized"),
    ('9 network "create', "500 0 Unclosed quotes error"),
    ("9 network \\x", "500 0 Unsupported escape sequence"),
    ("9 " + "a" * 1100, "500 0 Command too large for buffer"),
    ("9 " + " ".join(["x"] * 30), "500 0 Command too long"),
])
def test_framing_errors(line, reply):
    _, netd = netd_device()
    assert netd.command(line) == [reply]


def test_sequence_number_sticks_to_the_connection():
    _, netd = netd_device()
    client = CommandClient()
    assert netd.command("41 bogus", client) == ["500 41 Command not recognized"]
    assert netd.command("x y", client) == ["500 41 Invalid sequence number"]


def test_word_splitting_quotes_and_escapes():
    assert split_words('1 a "b c" d\\"e \\\\f') == (1, ["a", "b c", 'd"e', "\\f"])
    assert split_words("2 a ") == (2, ["a", ""])
    assert split_words("5") == (None, ["5"])


def test_broadcasts_follow_netlink_for_link_down_and_up():
    device, netd = netd_device()
    lines = []
    netd.subscribe(lines.append)
    assert netd.command("0 interface setcfg eth0 down") == ["200 0 Interface configuration set"]
    assert lines == ["600 Iface linkstate eth0 down",
                     "614 Address removed fe80::42:acff:fe11:2/64 eth0 128 253",
                     "616 Route removed fe80::/64 dev eth0"]
    lines.clear()
    netd.command("0 interface setcfg eth0 up")
    device.scheduler.run_until(device.scheduler.now() + 2)
    assert lines == ["600 Iface linkstate eth0 up",
                     "614 Address updated fe80::42:acff:fe11:2/64 eth0 192 253",
                     "616 Route updated fe80::/64 dev eth0",
                     "600 Iface linkstate eth0 up",
                     "614 Address updated fe80::42:acff:fe11:2/64 eth0 128 253"]
    closed = []
    netd.subscribe(lines.append, on_close=lambda: closed.append(True))
    netd.stop()
    assert closed == [True] and not netd.running


def test_android_9_rules_carry_iif_lo_and_no_directly_connected_rule():
    device, netd = netd_device(sdk=28)
    connect_ethernet(netd)
    text = rules_text(device)
    assert "10500:\tfrom all iif lo oif eth0 uidrange 0-0 lookup eth0 \n" in text
    assert "13000:\tfrom all fwmark 0x10064/0x1ffff iif lo lookup eth0 \n" in text
    assert "22000:\tfrom all fwmark 0x0/0xffff iif lo lookup eth0 \n" in text
    assert "23000" not in text


def test_android_12_renumbers_the_priorities():
    device, netd = netd_device(sdk=31)
    connect_ethernet(netd)
    priorities = sorted({r.priority for r in device.android.kernel.rules_for(4)})
    assert priorities == [0, 10000, 11000, 16000, 17000, 18000, 19000, 20000, 23000, 29000, 32000]


def test_android_10_has_no_command_listener_but_ndc_binder_replies():
    _, netd = netd_device(sdk=29)
    with pytest.raises(RuntimeError):
        netd.command("0 interface list")
    assert netd.ndc_binder(["network", "create", "100"]) == ["200 0 success"]
    assert netd.ndc_binder(["network", "interface", "add", "100", "eth0"]) == ["200 0 success"]
    assert netd.ndc_binder(["network", "create", "101"]) == ["200 0 success"]
    assert netd.ndc_binder(["network", "interface", "add", "101", "eth0"]) == [
        "400 0 addInterfaceToNetwork() failed (Device or resource busy)"]
    assert netd.ndc_binder(["resolver", "setnetdns", "100", "", "8.8.8.8"]) == ["500 0 Command not recognized"]
    assert netd.ndc_binder(["interface", "getcfg", "eth9"]) == ["213 0 00:00:00:00:00:00 0.0.0.0 0 down"]


def test_kitkat_netd_has_no_network_command_and_no_policy_rules():
    device, netd = netd_device(sdk=19)
    assert netd.command("0 network create 100") == ["500 0 Command not recognized"]
    assert netd.command("0 resolver setifdns eth0 \"\" 8.8.8.8") == ["200 0 Resolver command succeeded"]
    assert [r.priority for r in device.android.kernel.rules_for(4)] == [0, 32766, 32767]
