"""Command selection per Android version, input validation and quoting (no device)."""

from __future__ import annotations

import ipaddress
import shlex

import pytest

from harness.net import validate
from harness.net.commands import NetCommands, dns_properties, parse_rt_tables
from harness.net.errors import InvalidNetValue, ToolUnavailable
from harness.device import CommandResult
from test_net_fakes import (IFCONFIG_TOOLBOX_LO, IP_ADDR_HEALTHY, NETCFG_44, RT_TABLES_HEALTHY, TABLE_INVALID,
                            caps_44, caps_81)


def result(stdout: str, stderr: str = "", status: int = 0) -> CommandResult:
    return CommandResult("x", status, stdout, stderr, 0.0, "s")


@pytest.mark.parametrize("name", ["eth0", "wlan0", "rmnet_data0", "eth0.100", "veth-a", "e" * 15])
def test_interface_names_accepted(name):
    assert validate.interface_name(name) == name


@pytest.mark.parametrize("name", ["eth0; reboot", "eth0 && reboot", "$(reboot)", "`id`", "eth0\n", "", "0eth",
                                  "e" * 16, "eth0'", "eth/0", None, 5])
def test_interface_names_rejected_with_what_was_expected(name):
    with pytest.raises(InvalidNetValue, match="expected 1-15 characters"):
        validate.interface_name(name)


def test_injection_never_reaches_a_command_line():
    commands = NetCommands(caps_81())
    for build in (lambda v: commands.link(v, True), lambda v: commands.interface(v),
                  lambda v: commands.flap(v, 1, 1, 1), lambda v: commands.set_address(v, "10.0.0.2/24")):
        with pytest.raises(InvalidNetValue):
            build("eth0; reboot")
    with pytest.raises(InvalidNetValue, match="IPv4 address with prefix"):
        commands.set_address("eth0", "10.0.0.2/24; reboot")
    with pytest.raises(InvalidNetValue, match="gateway"):
        commands.route("add", "default", "eth0", "1.2.3.4 && reboot")
    with pytest.raises(InvalidNetValue, match="property value"):
        commands.setprop("net.dns1", "8.8.8.8; reboot")
    with pytest.raises(InvalidNetValue, match="ping target"):
        commands.ping("$(reboot)")


@pytest.mark.parametrize("value", ["10.0.0.2/24", ipaddress.IPv4Interface("10.0.0.2/24")])
def test_addresses_take_a_prefix(value):
    assert str(validate.ipv4_interface(value)) == "10.0.0.2/24"


@pytest.mark.parametrize("value", ["10.0.0.2", "10.0.0.256/24", "::1/64", 5, None, "10.0.0.2/0"])
def test_bad_addresses_rejected(value):
    with pytest.raises(InvalidNetValue):
        validate.ipv4_interface(value)


def test_shell_line_quotes_every_word():
    line = validate.shell_line("setprop", "net.dns1", "a b")
    assert shlex.split(line) == ["setprop", "net.dns1", "a b"]
    assert validate.shell_line("echo", "$(x)") == "echo '$(x)'"


def test_android_81_uses_ip_for_everything():
    c = NetCommands(caps_81())
    assert c.interfaces().command == "ip addr show"
    assert c.interface("eth0").command == "ip addr show dev eth0"
    assert c.link("eth0", False) == "ip link set dev eth0 down"
    assert c.set_address("eth0", "172.17.0.9/16") == (
        "ip -4 addr flush dev eth0; ip addr add 172.17.0.9/16 brd + dev eth0")
    assert c.route("add", "default", "eth0", "172.17.0.1") == "ip route add default via 172.17.0.1 dev eth0"
    assert c.rules().command == "ip rule show"
    assert c.table_routes("eth0").command == "ip route show table eth0"
    assert c.connectivity_dump().command == "dumpsys connectivity"
    assert c.ping("8.8.8.8") == "ping -c 1 -W 1 8.8.8.8"
    assert c.setprop("net.dns1", "8.8.8.8") == "setprop net.dns1 8.8.8.8"
    assert c.setprop("net.dns2", "") == "setprop net.dns2 ''"
    with pytest.raises(ToolUnavailable, match="needs `netcfg`"):
        c.dhcp("eth0")


def test_android_44_uses_netcfg_ifconfig_and_route():
    c = NetCommands(caps_44())
    assert c.interface_tool == "netcfg"
    assert c.interfaces().command == "netcfg"
    assert c.interface("eth0").command == "netcfg"
    assert c.link("eth0", True) == "ifconfig eth0 up"
    assert c.set_address("eth0", "10.0.2.15/24") == "ifconfig eth0 10.0.2.15 netmask 255.255.255.0"
    assert c.clear_addresses("eth0") == "ifconfig eth0 0.0.0.0"
    assert c.route("add", "default", "eth0", "10.0.2.2") == "route add default gw 10.0.2.2 dev eth0"
    assert c.route("del", "10.0.2.0/24", "eth0") == "route del -net 10.0.2.0 netmask 255.255.255.0 dev eth0"
    assert c.dhcp("eth0") == "netcfg eth0 dhcp"
    with pytest.raises(ToolUnavailable, match="needs `ip`"):
        c.rules()


def test_toybox_ifconfig_without_ip():
    caps = caps_81(tools={"ifconfig": "/system/bin/ifconfig", "ping": "/system/bin/ping"})
    c = NetCommands(caps)
    assert c.interfaces().command == "ifconfig -a"
    assert c.interface("eth0").command == "ifconfig eth0"
    assert c.link("eth0", False) == "ifconfig eth0 down"
    with pytest.raises(ToolUnavailable, match="neither ip nor route"):
        c.route("add", "default", "eth0", "1.1.1.1")


def test_no_tools_at_all():
    c = NetCommands(caps_81(tools={}))
    with pytest.raises(ToolUnavailable, match="none of ip, ifconfig, netcfg"):
        c.interfaces()


def test_flap_is_one_command_with_on_device_sleeps():
    c = NetCommands(caps_81())
    assert c.flap("eth0", 2, 0.5, 1) == ("ip link set dev eth0 down; sleep 0.5; ip link set dev eth0 up; sleep 1; "
                                         "ip link set dev eth0 down; sleep 0.5; ip link set dev eth0 up")
    assert NetCommands(caps_44()).flap("eth0", 1, 2, 2) == "ifconfig eth0 down; sleep 2; ifconfig eth0 up"
    with pytest.raises(InvalidNetValue, match="flap count"):
        c.flap("eth0", 0, 1, 1)
    with pytest.raises(InvalidNetValue, match="flap down time"):
        c.flap("eth0", 1, -1, 1)


def test_interface_state_from_each_tool():
    ip_state = NetCommands(caps_81()).interfaces().parse(result(IP_ADDR_HEALTHY))["eth0"]
    assert (ip_state.up, ip_state.carrier, [str(a) for a in ip_state.ipv4]) == (True, True, ["172.17.0.2/16"])
    assert ip_state.mac == "02:42:ac:11:00:02" and ip_state.source == "ip"
    netcfg_state = NetCommands(caps_44()).interface("eth0").parse(result(NETCFG_44))
    assert (netcfg_state.up, netcfg_state.carrier, netcfg_state.ipv4) == (
        True, True, (ipaddress.IPv4Interface("172.17.0.2/16"),))
    assert netcfg_state.flags == {"UP", "BROADCAST", "RUNNING", "MULTICAST"}
    caps = caps_44(tools={"ifconfig": "/system/bin/ifconfig"})
    lo = NetCommands(caps).interface("lo").parse(result(IFCONFIG_TOOLBOX_LO))
    assert lo.up and lo.carrier and lo.source == "ifconfig (toolbox)"
    assert NetCommands(caps_81()).interface("eth9").parse(result("", 'Device "eth9" does not exist.\n', 1)) is None


def test_missing_table_is_reported_not_raised():
    parsed = NetCommands(caps_81()).table_routes("eth0").parse(result("", TABLE_INVALID, 255))
    assert parsed.table_missing and parsed.routes == ()


def test_rt_tables_and_dns_properties():
    assert parse_rt_tables(RT_TABLES_HEALTHY) == {"local": 255, "main": 254, "local_network": 97,
                                                  "legacy_network": 98, "legacy_system": 99, "eth0": 1004}
    props = {"net.dns1": "8.8.8.8", "net.dns2": "", "net.eth0.dns1": "10.0.2.3", "net.dnschange": "3",
             "dhcp.eth0.dns1": "10.0.2.3", "net.hostname": "x"}
    assert dns_properties(props) == {"net.dns1": "8.8.8.8"}
    assert dns_properties(props, "eth0") == {"dhcp.eth0.dns1": "10.0.2.3", "net.dns1": "8.8.8.8",
                                             "net.eth0.dns1": "10.0.2.3"}


def test_fractional_sleeps_are_refused_where_sleep_takes_whole_seconds():
    with pytest.raises(InvalidNetValue, match="before 6.0 takes whole seconds"):
        NetCommands(caps_44()).flap("eth0", 1, 0.5, 1)
    assert NetCommands(caps_81()).flap("eth0", 1, 0.25, 1) == (
        "ip link set dev eth0 down; sleep 0.25; ip link set dev eth0 up")
