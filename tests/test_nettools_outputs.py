"""ifconfig, ip, ndc, netcfg and route against the real formats (android-net.md §1.6, §4.1-§4.5)."""

from __future__ import annotations

import asyncio

import pytest

from nettools_helpers import connect_ethernet, make_device, run_tool

IFCONFIG_ETH0 = """\
eth0      Link encap:Ethernet  HWaddr 02:42:ac:11:00:02
          inet addr:172.17.0.2  Bcast:172.17.255.255  Mask:255.255.0.0 
          inet6 addr: fe80::42:acff:fe11:2/64 Scope: Link
          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1
          RX packets:1520 errors:0 dropped:0 overruns:0 frame:0 
          TX packets:1327 errors:0 dropped:0 overruns:0 carrier:0 
          collisions:0 txqueuelen:1000 
          RX bytes:245102 TX bytes:132044 

"""
IP_ADDR_ETH0 = """\
4: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0
       valid_lft forever preferred_lft forever
    inet6 fe80::42:acff:fe11:2/64 scope link 
       valid_lft forever preferred_lft forever
"""
NETCFG = """\
lo       UP                                   127.0.0.1/8   0x00000049 00:00:00:00:00:00
eth0     UP                                  172.17.0.2/16  0x00001043 02:42:ac:11:00:02
"""
ROUTE_TABLE_ETH0 = "default via 172.17.0.1 dev eth0 proto static \n172.17.0.0/16 dev eth0 proto static scope link \n"
INVALID_TABLE = 'Error: argument "eth0" is wrong: table id value is invalid\n\n'


def tool(device, *argv, uid=2000):
    return asyncio.run(run_tool(device, *argv, uid=uid))


@pytest.fixture
def healthy():
    device = make_device()
    connect_ethernet(device.android.netd)
    eth0 = device.android.kernel.links["eth0"]
    eth0.rx_packets, eth0.rx_bytes, eth0.tx_packets, eth0.tx_bytes = 1520, 245102, 1327, 132044
    return device


# -- ifconfig ---------------------------------------------------------------------------------
def test_toybox_ifconfig_eth0_matches_the_docker_veth_rendering(healthy):
    assert tool(healthy, "ifconfig", "eth0") == (0, IFCONFIG_ETH0, "")


def test_toybox_ifconfig_lists_only_up_interfaces_unless_dash_a(healthy):
    healthy.android.kernel.set_admin("lo", False)
    status, out, _ = tool(healthy, "ifconfig")
    assert status == 0 and out == IFCONFIG_ETH0
    status, out, _ = tool(healthy, "ifconfig", "-a")
    assert out.startswith("lo        Link encap:Local Loopback  \n") and out.endswith(IFCONFIG_ETH0)


def test_toybox_ifconfig_down_up_as_root_and_errors(healthy):
    assert tool(healthy, "ifconfig", "eth0", "down") == (1, "", "ifconfig: ioctl 8914: Operation not permitted\n")
    assert tool(healthy, "ifconfig", "eth0", "down", uid=0) == (0, "", "")
    _, out, _ = tool(healthy, "ifconfig", "eth0")
    assert "          BROADCAST MULTICAST  MTU:1500  Metric:1\n" in out
    assert "inet addr:172.17.0.2" in out and "inet6" not in out
    assert tool(healthy, "ifconfig", "eth0", "up", uid=0) == (0, "", "")
    assert tool(healthy, "ifconfig", "eth9") == (1, "", "ifconfig: eth9: No such device\n")
    assert tool(healthy, "ifconfig", "eth9", "up", uid=0) == (1, "", "ifconfig: ioctl 8913: No such device\n")


def test_toybox_ifconfig_sets_address_and_netmask(healthy):
    assert tool(healthy, "ifconfig", "eth0", "10.1.2.3", "netmask", "255.255.255.0", uid=0) == (0, "", "")
    link = healthy.android.kernel.links["eth0"]
    assert [str(a) for a in link.ipv4] == ["10.1.2.3/24"]
    assert tool(healthy, "ifconfig", "eth0", "192.168.7.1/28", uid=0)[0] == 0
    assert [str(a) for a in link.ipv4] == ["192.168.7.1/28"]
    status, _, err = tool(healthy, "ifconfig", "eth0", "frob", uid=0)
    assert status == 1 and err.endswith("ifconfig: bad argument 'frob'\n")


def test_toybox_ifconfig_short_view_on_android_10():
    device = make_device(sdk=29)
    status, out, _ = tool(device, "ifconfig", "-S", "eth0")
    assert out == "eth0      172.17.0.2/16      02:42:ac:11:00:02 fe80::42:acff:fe11:2/64@L\n"


def test_toolbox_ifconfig_on_android_5():
    device = make_device(sdk=22)
    assert tool(device, "ifconfig", "eth0") == (
        0, "eth0: ip 172.17.0.2 mask 255.255.0.0 flags [up broadcast running multicast]\n", "")
    assert tool(device, "ifconfig") == (0, "", "")
    assert tool(device, "ifconfig", "eth9") == (255, "", "eth9: No such device\n")
    assert tool(device, "ifconfig", "eth0", "down") == (255, "", "error: SIOCSIFFLAGS (Operation not permitted)\n")
    assert tool(device, "ifconfig", "eth0", "down", uid=0) == (0, "", "")
    assert tool(device, "ifconfig", "eth0")[1] == "eth0: ip 172.17.0.2 mask 255.255.0.0 flags [down broadcast multicast]\n"


# -- netcfg -------------------------------------------------------------------------------------
def test_netcfg_listing_and_actions_on_android_4():
    device = make_device(sdk=19)
    assert tool(device, "netcfg") == (0, NETCFG, "")
    assert tool(device, "netcfg", "eth0", "down") == (1, "", "action 'down' failed (Operation not permitted)\n")
    assert tool(device, "netcfg", "eth9", "up", uid=0) == (1, "", "action 'up' failed (No such device)\n")
    assert tool(device, "netcfg", "eth0", "frob", uid=0) == (
        1, "", "no such action 'frob'\nusage: netcfg [<interface> {dhcp|up|down}]\n")
    assert tool(device, "netcfg", "eth0") == (1, "", "usage: netcfg [<interface> {dhcp|up|down}]\n")


def test_netcfg_is_gone_on_android_6():
    from harness.sim.shell import api
    assert api.lookup("netcfg", make_device(sdk=23)) is None


def test_netcfg_dhcp_configures_from_the_bridge():
    async def scenario():
        from harness.sim.clock import Scheduler
        device = make_device(sdk=19, scheduler=Scheduler(realtime=True, scale=0.001))
        kernel = device.android.kernel
        kernel.flush_addresses("eth0")
        assert [r for r in kernel.table(254) if r.family == 4] == []
        result = await run_tool(device, "netcfg", "eth0", "dhcp", uid=0)
        return device, result

    device, result = asyncio.run(scenario())
    assert result == (0, "", "")
    kernel = device.android.kernel
    assert [str(a) for a in kernel.links["eth0"].ipv4] == ["172.17.0.2/16"]
    assert any(r.gateway is not None for r in kernel.table(254))
    assert (device.props.get("net.eth0.dns1"), device.props.get("net.eth0.dns2")) == ("8.8.8.8", "")


# -- ip ---------------------------------------------------------------------------------------------
def test_ip_addr_show_eth0(healthy):
    assert tool(healthy, "ip", "addr", "show", "eth0") == (0, IP_ADDR_ETH0, "")
    assert tool(healthy, "ip", "a", "show", "dev", "eth9") == (1, "", 'Device "eth9" does not exist.\n')


def test_ip_rule_and_route_tables_in_health_and_after_the_race(healthy):
    from test_netd_commands import REFERENCE_RULES_81
    assert tool(healthy, "ip", "rule") == (0, REFERENCE_RULES_81, "")
    assert tool(healthy, "ip", "route", "show", "table", "eth0") == (0, ROUTE_TABLE_ETH0, "")
    assert tool(healthy, "ip", "r", "list", "table", "eth0") == (0, ROUTE_TABLE_ETH0, "")
    assert tool(healthy, "ip", "route") == (
        0, "default via 172.17.0.1 dev eth0 \n172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \n", "")
    netd = healthy.android.netd
    netd.network_create_physical(101)
    netd.network_set_default(101)
    netd.network_destroy(100)
    assert tool(healthy, "ip", "route", "show", "table", "eth0") == (255, "", INVALID_TABLE)
    status, out, _ = tool(healthy, "ip", "rule")
    assert status == 0 and "eth0" not in out and out.endswith("32000:\tfrom all unreachable\n")


def test_ip_link_oneline_and_family_filters(healthy):
    healthy.android.kernel.set_carrier("eth0", False)
    status, out, _ = tool(healthy, "ip", "-o", "link")
    assert out.splitlines()[1] == (
        "4: eth0@if5: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN "
        "mode DEFAULT group default qlen 1000\\    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0")
    _, out, _ = tool(healthy, "ip", "-o", "-4", "addr")
    assert out.splitlines()[1] == ("4: eth0    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0\\"
                                   "       valid_lft forever preferred_lft forever")
    _, out, _ = tool(healthy, "ip", "-6", "route")
    assert out == "fe80::/64 dev eth0 proto kernel metric 256 linkdown pref medium\n"


def test_ip_changes_need_root_and_report_kernel_errors(healthy):
    assert tool(healthy, "ip", "link", "set", "eth0", "down") == (2, "", "RTNETLINK answers: Operation not permitted\n")
    assert tool(healthy, "ip", "link", "set", "dev", "eth9", "up", uid=0) == (1, "", 'Cannot find device "eth9"\n')
    assert tool(healthy, "ip", "link", "set", "eth0", "down", uid=0) == (0, "", "")
    assert not healthy.android.kernel.links["eth0"].admin_up
    assert tool(healthy, "ip", "link", "set", "eth0", "up", uid=0) == (0, "", "")
    assert tool(healthy, "ip", "addr", "add", "172.17.0.2/16", "dev", "eth0", uid=0) == (
        2, "", "RTNETLINK answers: File exists\n")
    assert tool(healthy, "ip", "addr", "del", "10.0.0.1/8", "dev", "eth0", uid=0) == (
        2, "", "RTNETLINK answers: Cannot assign requested address\n")
    assert tool(healthy, "ip", "route", "add", "default", "via", "172.17.0.1", "dev", "eth0", uid=0) == (0, "", "")
    assert tool(healthy, "ip", "route", "add", "default", "via", "172.17.0.1", "dev", "eth0", uid=0) == (
        2, "", "RTNETLINK answers: File exists\n")
    assert tool(healthy, "ip", "route", "add", "10.0.0.0/8", "via", "10.9.9.9", uid=0) == (
        2, "", "RTNETLINK answers: Network is unreachable\n")
    assert tool(healthy, "ip", "route", "del", "10.0.0.0/8", uid=0) == (2, "", "RTNETLINK answers: No such process\n")
    assert tool(healthy, "ip", "rule", "add", "priority", "5000", "lookup", "eth0", uid=0) == (0, "", "")
    assert "5000:\tfrom all lookup eth0 \n" in tool(healthy, "ip", "rule")[1]
    assert tool(healthy, "ip", "rule", "del", "priority", "5000", uid=0) == (0, "", "")
    assert tool(healthy, "ip", "rule", "del", "priority", "5000", uid=0) == (
        2, "", "RTNETLINK answers: No such file or directory\n")
    assert tool(healthy, "ip", "frob") == (1, "", 'Object "frob" is unknown, try "ip help".\n')


def test_ip_route_get_uses_the_callers_uid(healthy):
    assert tool(healthy, "ip", "route", "get", "8.8.8.8") == (
        0, "8.8.8.8 via 172.17.0.1 dev eth0 table eth0 src 172.17.0.2 uid 2000 \n    cache \n", "")
    healthy.android.netd.network_destroy(100)
    assert tool(healthy, "ip", "route", "get", "8.8.8.8") == (2, "", "RTNETLINK answers: Network is unreachable\n")
    assert tool(healthy, "ip", "route", "get", "8.8.8.8", uid=0)[1] == (
        "8.8.8.8 via 172.17.0.1 dev eth0 src 172.17.0.2 uid 0 \n    cache \n")


def test_ip_on_android_6_prints_table_numbers():
    device = make_device(sdk=23)
    connect_ethernet(device.android.netd)
    _, out, _ = tool(device, "ip", "rule")
    assert "22000:\tfrom all fwmark 0x0/0xffff lookup 1004 \n" in out
    assert "23000:\tfrom all fwmark 0x0/0xffff lookup main \n" in out
    assert "10500" not in out and "10000:\tfrom all fwmark 0xc0000/0xd0000 lookup 99 \n" in out


# -- ndc ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, out", [
    (["interface", "list"], "110 0 lo\n110 0 eth0\n200 0 Interface list completed\n"),
    (["interface", "getcfg", "eth0"], "213 0 02:42:ac:11:00:02 172.17.0.2 16 up broadcast running multicast\n"),
    (["network", "create", "101"], "200 0 success\n"),
    (["network", "interface", "add", "102", "eth0"], "400 0 addInterfaceToNetwork() failed (Machine is not on the network)\n"),
    (["network", "route", "add", "101", "eth0", "0.0.0.0/0", "172.17.0.1"],
     "400 0 addRoute() failed (Machine is not on the network)\n"),
    (["resolver", "setnetdns", "100", "", "8.8.8.8"], "200 0 Resolver command succeeded\n"),
    (["bogus"], "500 0 Command not recognized\n"),
    (["network", "bogus"], "500 0 Unknown argument\n"),
    (["netd", "interface", "list"], "Using alt socket netd\n110 0 lo\n110 0 eth0\n200 0 Interface list completed\n"),
    (["7", "network", "bogus"], "500 7 Unknown argument\n"),
])
def test_ndc_replies_as_root(healthy, argv, out):
    assert tool(healthy, "ndc", *argv, uid=0) == (0, out, "")


def test_ndc_ebusy_then_route_enoent(healthy):
    tool(healthy, "ndc", "network", "create", "101", uid=0)
    assert tool(healthy, "ndc", "network", "interface", "add", "101", "eth0", uid=0) == (
        0, "400 0 addInterfaceToNetwork() failed (Device or resource busy)\n", "")
    assert tool(healthy, "ndc", "network", "route", "add", "101", "eth0", "0.0.0.0/0", "172.17.0.1", uid=0) == (
        0, "400 0 addRoute() failed (No such file or directory)\n", "")


def test_ndc_client_errors(healthy):
    assert tool(healthy, "ndc", "interface", "list") == (4, "", "Error connecting (Permission denied)\n")
    assert tool(healthy, "ndc", uid=0) == (
        1, "", "Usage: ndc [<sockname>] ([monitor] | ([<cmd_seq_num>] <cmd> [arg ...]))\n")
    assert tool(healthy, "ndc", "network", 'a"b', uid=0) == (
        1, "", "argument with embedded quotes not allowed: No such file or directory\n")
    healthy.android.netd.stop()
    assert tool(healthy, "ndc", "interface", "list", uid=0) == (4, "", "Error connecting (Connection refused)\n")


def test_ndc_quotes_words_with_spaces(healthy):
    status, out, _ = tool(healthy, "ndc", "resolver", "setnetdns", "100", "a.example b.example", "8.8.8.8", uid=0)
    assert out == "200 0 Resolver command succeeded\n"
    assert healthy.android.netd.networks[100].dns_domains == ["a.example", "b.example"]


def test_ndc_monitor_streams_broadcasts_until_cancelled(healthy):
    from harness.sim.shell import api
    from harness.sim.shell.api import BufferOutput, Input, Proc

    async def scenario():
        out = BufferOutput()
        proc = Proc(["ndc", "monitor"], Input.of(b""), out, BufferOutput(), healthy, uid=0)
        task = asyncio.ensure_future(api.lookup("ndc", healthy).run(proc))
        await asyncio.sleep(0)
        healthy.android.kernel.set_admin("eth0", False)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return out.data.decode()

    assert asyncio.run(scenario()) == (
        "[Connected to Netd]\n600 Iface linkstate eth0 down\n"
        "614 Address removed fe80::42:acff:fe11:2/64 eth0 128 253\n616 Route removed fe80::/64 dev eth0\n")


def test_ndc_on_android_10_is_a_binder_client():
    device = make_device(sdk=29)
    assert tool(device, "ndc", "network", "create", "100") == (0, "200 0 success\n", "")
    assert tool(device, "ndc", "resolver", "setnetdns", "100", "", "8.8.8.8") == (0, "500 0 Command not recognized\n", "")
    assert tool(device, "ndc") == (1, "", "Usage: ndc (<cmd> [arg ...])\n")


# -- route ----------------------------------------------------------------------------------------------
def test_toybox_route_listing_and_add(healthy):
    table = ("Kernel IP routing table\n"
             "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n"
             "default         172.17.0.1      0.0.0.0         UG    0      0        0 eth0\n"
             "172.17.0.0      *               255.255.0.0     U     0      0        0 eth0\n")
    assert tool(healthy, "route") == (0, table, "")
    assert tool(healthy, "route", "add", "default", "gw", "172.17.0.1", "dev", "eth0") == (
        1, "", "route: ioctl 890b: Operation not permitted\n")
    assert tool(healthy, "route", "add", "default", "gw", "172.17.0.1", "dev", "eth0", uid=0) == (
        1, "", "route: ioctl 890b: File exists\n")
    tool(healthy, "ip", "route", "del", "default", uid=0)
    assert tool(healthy, "route", "add", "default", "gw", "172.17.0.1", "dev", "eth0", uid=0) == (0, "", "")
    assert tool(healthy, "route")[1] == table


def test_toolbox_route_on_android_4():
    device = make_device(sdk=19)
    assert tool(device, "route") == (22, "Invalid argument\n", "")
    assert tool(device, "route", "add", "default", "gw", "172.17.0.1", "dev", "eth0", uid=0) == (0, "", "")
    assert tool(device, "route", "add", "default", "gw", "172.17.0.1", "dev", "eth0") == (1, "Operation not permitted\n", "")


def test_ndc_on_android_10_waits_for_the_netd_service_then_gives_up():
    async def scenario():
        from harness.sim.clock import Scheduler
        device = make_device(sdk=29, scheduler=Scheduler(realtime=True, scale=0.001))
        device.android.netd.stop()
        start = device.scheduler.now()
        result = await run_tool(device, "ndc", "interface", "list", uid=0)
        return result, device.scheduler.now() - start

    result, waited = asyncio.run(scenario())
    assert result == (1, "", "") and waited >= 5.0
