"""Gaps other engineers found in the virtual device, checked as a user sees them over the real adb
server (4.4, 8.1 and 11 devices), plus virtual-time checks where many boots are needed.

- netd's init sockets (/dev/socket/netd, dnsproxyd, mdns, fwmarkd) exist while netd runs, with
  netd.rc's modes and groups, and go when init reaps netd; 10+ has no `netd` socket;
- 4.4 resolves host names through the interface DNS ConnectivityService gives netd
  (`resolver setifdns` + `setdefaultif`), falling back to net.dns1..4;
- the IPv6 link-local after an 8.1 address change: `interface ipv6 eth0 enable` (IpManager
  startIPv6) brings it back; it stays away only when an old IpManager's stopAllIP() comes after
  the new one's startIPv6 (8.1's unwaited shutdown, the same hazard as the race); 11 waits;
- the DHCP and DNS properties of each version.
"""

from __future__ import annotations

import re

import pytest

from harness.adb_server import AdbServer
from harness.device import Device
from harness.parsers.getprop import parse_getprop
from harness.sim.android.timing import Latency
from harness.sim.farm import SimFarm
from model_helpers import FIXED, boot, outcome, profile_with, run_tool

KITKAT, OREO, R = "sim-android-4.4", FIXED, "sim-android-11"
CLOCK_SCALE = 0.1
TIMEOUT = 60.0
SETTLE_S = 6.0                  # device seconds: every boot of these profiles is up by then
SOCKET_MODE = "srw-rw----"


@pytest.fixture(scope="module")
def adb_server():
    with AdbServer.start() as server:
        yield server


def _farm_device(adb_server: AdbServer, profile: str):
    with SimFarm(profile, count=1, clock_scale=CLOCK_SCALE) as farm:
        serial = farm.serials[0]
        adb_server.connect(serial, timeout=15)
        device = Device(serial, adb_server, default_timeout=TIMEOUT)
        device.wait_for_boot(timeout=TIMEOUT)
        device.root()
        device.run(f"sleep {SETTLE_S:g}")
        yield device
        adb_server.disconnect(serial)


@pytest.fixture(scope="module")
def kitkat(adb_server):
    yield from _farm_device(adb_server, KITKAT)


@pytest.fixture(scope="module")
def oreo(adb_server):
    yield from _farm_device(adb_server, OREO)


@pytest.fixture(scope="module")
def r_device(adb_server):
    yield from _farm_device(adb_server, R)


def sockets(device: Device) -> dict[str, tuple[str, str, str]]:
    """`ls -l /dev/socket` as the shell user: name -> (mode, owner, group)."""
    listing = device.shell("su shell ls -l /dev/socket")
    entries = {}
    for line in listing.splitlines()[1:]:                 # "total N" first
        fields = line.split()
        entries[fields[-1]] = (fields[0], fields[2], fields[3])
    return entries


def getprops(device: Device) -> dict[str, str]:
    return dict(parse_getprop(device.shell("getprop")).properties)


# -- (a) netd's sockets ---------------------------------------------------------------------------
def test_netd_sockets_on_81_follow_netd(oreo):
    assert sockets(oreo) == {"dnsproxyd": (SOCKET_MODE, "root", "inet"),
                             "fwmarkd": (SOCKET_MODE, "root", "inet"),
                             "mdns": (SOCKET_MODE, "root", "system"),
                             "netd": (SOCKET_MODE, "root", "system")}
    try:
        oreo.shell("stop netd")
        gone = oreo.run("ls /dev/socket/netd")
        assert (gone.exit_status, gone.stderr) == (1, "ls: /dev/socket/netd: No such file or directory\n")
        assert sockets(oreo) == {}
        ndc = oreo.run("ndc interface list")
        assert (ndc.exit_status, ndc.stderr) == (4, "Error connecting (No such file or directory)\n")
    finally:
        oreo.shell("start netd")
    assert set(sockets(oreo)) == {"dnsproxyd", "fwmarkd", "mdns", "netd"}
    assert oreo.shell("ndc interface list").splitlines()[-1] == "200 0 Interface list completed"


def test_netd_sockets_of_44_and_11(kitkat, r_device):
    assert {name: owner[2] for name, owner in sockets(kitkat).items()} == {
        "dnsproxyd": "inet", "mdns": "system", "netd": "system"}          # no fwmarkd before 5.0
    assert {name: owner[2] for name, owner in sockets(r_device).items()} == {
        "dnsproxyd": "inet", "fwmarkd": "inet", "mdns": "system"}         # no netd socket on 10+


def test_a_container_restart_starts_with_fresh_sockets():
    device = boot(OREO, 0)
    android = device.android
    android.stop_service("netd")
    assert not device.fs.exists("/dev/socket/netd")
    device.restart_container(0.5)
    assert not device.fs.exists("/dev/socket/dnsproxyd")              # /dev went with the container
    device.scheduler.run_until(device.scheduler.now() + 5.0)
    assert device.fs.listdir("/dev/socket") == ["dnsproxyd", "fwmarkd", "mdns", "netd"]


# -- (b) name resolution on 4.4 ----------------------------------------------------------------------
def test_kitkat_resolves_names_through_the_interface_dns(kitkat):
    assert kitkat.getprop("net.dns1") == "8.8.8.8"
    ping = kitkat.run("ping -c 1 -W 1 www.google.com")
    assert ping.exit_status == 0, ping
    assert ping.stdout.startswith("PING www.google.com (142.250.74.68) 56(84) bytes of data.\n")
    try:        # a resolver that does not answer: the name no longer resolves
        assert kitkat.shell('ndc resolver setifdns eth0 "" 10.9.9.9') == "200 0 Resolver command succeeded"
        lost = kitkat.run("ping -c 1 -W 1 www.google.com")
        assert (lost.exit_status, lost.stderr) == (2, "ping: unknown host www.google.com\n")
    finally:
        kitkat.shell('ndc resolver setifdns eth0 "" 8.8.8.8')
    assert kitkat.run("ping -c 1 -W 1 www.google.com").exit_status == 0


# -- (c) the IPv6 link-local after an address change ---------------------------------------------------
def _ipv6_commands(device) -> list[str]:
    log = device.android.system_server.nms.connector.local_log
    return [m.group(1) for line in log if (m := re.search(r"\{\d+ interface ipv6 eth0 (enable|disable)\}", line.text))]


def _drop_address(profile, index: int):
    device = boot(profile, index, until=SETTLE_S)
    assert run_tool(device, ["ip", "addr", "del", "172.17.0.2/16", "dev", "eth0"], uid=0)[0] == 0
    device.scheduler.run_until(device.scheduler.now() + 8.0)
    return device


def test_81_link_local_follows_the_last_ipv6_command_of_netd():
    """The kernel does what netd was told last: back after `enable`, gone after `disable`."""
    back = 0
    for index in range(20):
        device = _drop_address(OREO, index)
        link = device.android.kernel.links["eth0"]
        last = _ipv6_commands(device)[-1]
        assert bool(link.ipv6) == (last == "enable") == link.ipv6_enabled, index
        assert outcome(device).network_up, index
        back += bool(link.ipv6)
    assert back < 20        # 8.1's hazard: an old IpManager's stopAllIP after the new startIPv6


def test_81_link_local_comes_back_when_the_old_ipmanager_stopped_first():
    """With the old IpManager stopped before the new one starts, startIPv6's enable restores it."""
    quick = profile_with(OREO, timing={"ipmanager_shutdown_ms": Latency(fixed=2.0)})
    for index in range(20):
        device = _drop_address(quick, index)
        link = device.android.kernel.links["eth0"]
        assert _ipv6_commands(device)[-1] == "enable", index
        assert [str(a.interface) for a in link.ipv6] == ["fe80::42:acff:fe11:2/64"], index


def test_11_link_local_always_comes_back(r_device):
    """9+ awaits the old IpClient's shutdown before starting the next one."""
    assert r_device.shell("ip addr del 172.17.0.2/16 dev eth0") == ""
    r_device.run(f"sleep {SETTLE_S:g}")
    addresses = r_device.shell("ip addr show eth0")
    assert "    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0" in addresses.splitlines()
    assert "    inet6 fe80::42:acff:fe11:2/64 scope link " in addresses.splitlines()
    assert r_device.run("ping -c 1 -W 1 172.17.0.1").exit_status == 0


# -- (d) DHCP and DNS properties ------------------------------------------------------------------------
def test_kitkat_dhcpcd_properties(kitkat):
    """dhcpcd-run-hooks: 20-dns.conf (dns1..4, domain) and 95-configured (the lease, mask dotted
    as libnetutils dhcp_utils parses it, result=ok); ConnectivityService: net.dns1, net.dnschange."""
    props = getprops(kitkat)
    dhcp = {k.removeprefix("dhcp.eth0."): v for k, v in props.items() if k.startswith("dhcp.eth0.")}
    assert dhcp == {"dns1": "8.8.8.8", "dns2": "", "dns3": "", "dns4": "", "domain": "",
                    "reason": "BOUND", "ipaddress": "172.17.0.2", "gateway": "172.17.0.1",
                    "mask": "255.255.0.0", "leasetime": "86400", "server": "172.17.0.1",
                    "vendorInfo": "", "mtu": "", "result": "ok"}
    assert props["net.dns1"] == "8.8.8.8"
    assert props["net.dnschange"] == "1"
    assert props["init.svc.dhcpcd_eth0"] == "running"


@pytest.mark.parametrize("which", ["oreo", "r_device"])
def test_java_dhcp_leaves_no_dhcp_properties(request, which):
    """8.1's and 11's DhcpClient run in Java: no dhcp.eth0.*; CS sets net.dns1 for the default."""
    props = getprops(request.getfixturevalue(which))
    assert not [k for k in props if k.startswith("dhcp.")]
    assert props["net.dns1"] == "8.8.8.8"
    assert "net.dnschange" not in props
