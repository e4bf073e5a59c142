"""A healthy 8.1 device through the real adb server: `ifconfig eth0 down; ifconfig eth0 up` brings
the network back with the teardown and bring-up sequence in logcat, and netd answers EBUSY to
`ndc network interface add <other> eth0` while eth0 is in the default network."""

from __future__ import annotations

import re

import pytest

from e2e_helpers import documented, sim_profile
from harness.adb_server import AdbServer
from harness.device import Device
from harness.sim.farm import SimFarm

PROFILE = "sim-android-8.1-fixed"          # every boot ends with eth0 in the default network
CLOCK_SCALE = 0.1
TIMEOUT = 60.0
GATEWAY = sim_profile(PROFILE).network.gateway
ACTIVE = re.compile(r"^Active default network: (\d+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def adb_server():
    with AdbServer.start() as server:
        yield server


@pytest.fixture(scope="module")
def devices(adb_server):
    """Two settled devices with adbd as root."""
    settle = documented(PROFILE).settled_s
    with SimFarm(PROFILE, count=2, clock_scale=CLOCK_SCALE) as farm:
        ready = []
        for serial in farm.serials:
            adb_server.connect(serial, timeout=15)
            device = Device(serial, adb_server, default_timeout=TIMEOUT)
            device.wait_for_boot(timeout=TIMEOUT)
            device.root()
            device.run(f"sleep {settle:g}")
            ready.append(device)
        yield ready
        for serial in farm.serials:
            adb_server.disconnect(serial)


def default_network(device: Device) -> int:
    match = ACTIVE.search(device.shell("dumpsys connectivity"))
    assert match, "dumpsys connectivity names no active default network"
    return int(match.group(1))


def assert_network_up(device: Device) -> None:
    assert device.run(f"ping -c 1 -W 1 {GATEWAY}").exit_status == 0
    table = device.run("ip route show table eth0")
    assert table.exit_status == 0
    assert f"default via {GATEWAY} dev eth0 proto static " in table.stdout.splitlines()


def positions(log: str, patterns: list[str]) -> list[int]:
    """Line number of the first line matching each pattern, searching in order."""
    lines = log.splitlines()
    found, start = [], 0
    for pattern in patterns:
        regex = re.compile(pattern)
        at = next((i for i in range(start, len(lines)) if regex.search(lines[i])), None)
        assert at is not None, f"no line matching {pattern!r} after line {start}:\n{log}"
        found.append(at)
        start = at + 1
    return found


def test_interface_down_up_brings_the_network_back(devices):
    device = devices[0]
    assert_network_up(device)
    old = default_network(device)
    device.shell("logcat -c")
    toggle = device.run("ifconfig eth0 down; ifconfig eth0 up")
    assert (toggle.exit_status, toggle.stdout, toggle.stderr) == (0, "", "")
    device.run(f"sleep {documented(PROFILE).settled_s:g}")
    assert_network_up(device)
    new = default_network(device)
    assert new > old
    log = device.shell("logcat -d -b main -b system")
    teardown = positions(log, [
        r" D EthernetNetworkFactory: updateInterface: eth0 link down$",
        r" I EthernetNetworkFactory: Updating mNetworkAgent with: .*state: DISCONNECTED/DISCONNECTED",
        rf" D ConnectivityService: NetworkAgentInfo \[Ethernet \(\) - {old}\] EVENT_NETWORK_INFO_CHANGED, "
        r"going from CONNECTED to DISCONNECTED$",
        rf" D ConnectivityService: NetworkAgentInfo \[Ethernet \(\) - {old}\] got DISCONNECTED, was satisfying \d+$",
    ])
    bring_up = positions(log, [
        r" D EthernetNetworkFactory: updateInterface: eth0 link up$",
        r" D EthernetNetworkFactory: starting IpManager\(eth0\): mNetworkInfo=",
        rf" D DhcpClient: Confirmed lease: IP address 172\.17\.0\.2/16 Gateway {re.escape(GATEWAY)} ",
        rf" D ConnectivityService: registerNetworkAgent NetworkAgentInfo\{{.* network\{{{new}\}} ",
        rf" D ConnectivityService: Adding iface eth0 to network {new}$",
        rf" D ConnectivityService: Switching to new default network: NetworkAgentInfo\{{.* network\{{{new}\}} ",
    ])
    assert teardown[0] < bring_up[0]
    assert teardown[-1] < bring_up[-2]      # the fix: the old network is gone before eth0 is added
    ndc_log = device.shell("dumpsys network_management")
    destroy = ndc_log.index(f" network destroy {old}}}")
    add = ndc_log.index(f" network interface add {new} eth0}}")
    assert destroy < add


def test_ndc_adding_eth0_to_another_network_is_ebusy(devices):
    device = devices[1]
    current = default_network(device)
    other = current + 50                    # a netId ConnectivityService has not reached
    replies = device.shell(f"ndc network create {other}; ndc network interface add {other} eth0; "
                           f"ndc network destroy {other}")
    assert replies.splitlines() == ["200 0 success",
                                    "400 0 addInterfaceToNetwork() failed (Device or resource busy)",
                                    "200 0 success"]
    log = device.shell("logcat -d -b main -s Netd:E")
    assert f"E Netd    : interface eth0 already assigned to netId {current}" in log
    assert_network_up(device)               # eth0 stayed where it was


def test_ndc_needs_root_on_81(adb_server, devices):
    shell = Device(devices[1].serial, adb_server, default_timeout=TIMEOUT)
    result = shell.run("su shell ndc network interface add 101 eth0")
    assert (result.exit_status, result.stdout, result.stderr) == (4, "", "Error connecting (Permission denied)\n")
