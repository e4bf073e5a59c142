"""`dumpsys` connectivity / ethernet / network_management shapes, and `svc` / `cmd`."""

from __future__ import annotations

import re

import pytest

from harness.sim.shell.api import lookup
from model_helpers import BUGGY, boot, outcome, run_tool

LOCAL_LOG = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} - (SND -> \{.*\}|RCV <- \{.*\})$")


@pytest.fixture(scope="module")
def healthy():
    return next(d for d in (boot(BUGGY, i) for i in range(40)) if outcome(d).network_up)


@pytest.fixture(scope="module")
def reproduction():
    return next(d for d in (boot(BUGGY, i) for i in range(40)) if outcome(d).reproduced)


def test_connectivity_healthy_shape(healthy):
    status, out, err = run_tool(healthy, ["dumpsys", "connectivity"])
    net_id = outcome(healthy).default_net_id
    lines = out.splitlines()
    assert status == 0 and err == ""
    assert lines[:4] == ["NetworkFactories for: Ethernet", "", f"Active default network: {net_id}", ""]
    assert lines[4] == "Current Networks:"
    assert re.match(rf"^  NetworkAgentInfo\{{ ni\{{\[type: Ethernet\[\], state: CONNECTED/CONNECTED, .*\]\}}  "
                    rf"network\{{{net_id}\}}  nethandle\{{\d+\}}  lp\{{\{{InterfaceName: eth0 .*\}}\}}  "
                    rf"nc\{{\[ Transports: ETHERNET Capabilities: .*VALIDATED.*\]\}}  Score\{{70\}}  "
                    rf"everValidated\{{true\}}  lastValidated\{{true\}}  created\{{true\}} ", lines[5])
    assert re.match(r"^    Requests: REQUEST:\d+ LISTEN:0 BACKGROUND_REQUEST:0 total:\d+$", lines[6])
    assert "      NetworkRequest [ REQUEST id=1, [ Capabilities: INTERNET&NOT_RESTRICTED&TRUSTED&NOT_VPN] ]" in lines
    assert "  uid/pid:1000/248 NetworkRequest [ REQUEST id=1, [ Capabilities: INTERNET&NOT_RESTRICTED&TRUSTED&NOT_VPN] ]" in lines
    assert "mValidationLogs (most recent first):" in lines
    short = run_tool(healthy, ["dumpsys", "connectivity", "--short"])[1]
    assert "mValidationLogs" not in short and short.startswith("NetworkFactories for: Ethernet\n")


def test_connectivity_after_the_race_shows_what_cs_believes(reproduction):
    result = outcome(reproduction)
    out = run_tool(reproduction, ["dumpsys", "connectivity"])[1]
    assert f"Active default network: {result.default_net_id}\n" in out
    current = out.split("Current Networks:\n", 1)[1].split("\n\n", 1)[0]
    assert f"network{{{result.default_net_id}}}" in current and "InterfaceName: eth0" in current
    assert "lastValidated{false}" in current
    assert reproduction.android.netd.networks[result.default_net_id].interfaces == set()


def test_ethernet_81_shape(healthy):
    out = run_tool(healthy, ["dumpsys", "ethernet"])[1]
    lines = out.splitlines()
    assert lines[:6] == ["Current Ethernet state: ", "  Network Requested: true", "  Tracking interface: eth0",
                         "    MAC address: 02:42:ac:11:00:02", "    Link state: up", "  "]
    assert lines[6] == ("  NetworkInfo: [type: Ethernet[], state: CONNECTED/CONNECTED, reason: (unspecified), "
                        "extra: 02:42:ac:11:00:02, failover: false, available: true, roaming: false]")
    assert lines[7].startswith("  LinkProperties: {InterfaceName: eth0 LinkAddresses: [")
    assert re.match(r"^  NetworkAgent: com\.android\.server\.ethernet\.EthernetNetworkFactory\$1@[0-9a-f]+$", lines[8])
    assert lines[9] == "  IpManager:" and "    IpManager.eth0 StateMachine dump:" in lines
    assert any(re.match(r"^      \d\d-\d\d \d\d:\d\d:\d\d\.\d{3} - INVOKE onProvisioningSuccess\(\{\{InterfaceName: eth0 ", l)
               for l in lines)
    tail = out.split("Stored Ethernet configuration: \n", 1)[1].splitlines()
    assert tail[:4] == ["  IP assignment: DHCP", "  Proxy settings: NONE", "  ", "Handler:"]


def test_ethernet_11_shape():
    device = boot("sim-android-11", until=3.0)
    out = run_tool(device, ["dumpsys", "ethernet"])[1]
    lines = out.splitlines()
    assert lines[:4] == ["Current Ethernet state: ", "  EthernetTracker",
                         "  Ethernet interface name filter: eth\\d", "  Listeners: 0"]
    assert "  Tracking interfaces:" in lines
    assert any(l.startswith("    eth0:NetworkInterfaceState{ refCount: 1, iface: eth0, up: true, ") for l in lines)


def test_network_management_local_log(healthy):
    status, out, _ = run_tool(healthy, ["dumpsys", "network_management"])
    lines = out.splitlines()
    assert status == 0 and lines[0] == "NetworkManagementService NativeDaemonConnector Log:"
    log = lines[1:lines.index("Pending requests:") - 1]
    assert all(LOCAL_LOG.match(line) for line in log), [l for l in log if not LOCAL_LOG.match(l)]
    assert log[0].endswith(" - SND -> {1 interface list}")
    assert any(line.endswith(" - SND -> {2 interface getcfg eth0}") for line in log)
    assert any(re.search(r" - SND -> \{\d+ network interface add \d+ eth0\}$", line) for line in log)
    assert any(re.search(r" - RCV <- \{600 Iface linkstate eth0 (up|down)\}$", line) for line in log)
    assert lines[-1] == "Netd service status: alive"


def test_list_unknown_and_dead_services(healthy):
    status, out, err = run_tool(healthy, ["dumpsys", "-l"])
    assert status == 0 and out.startswith("Currently running services:\n  SurfaceFlinger\n")
    assert "  connectivity\n" in out and "  ethernet\n" in out and "  network_management\n" in out
    status, out, err = run_tool(healthy, ["dumpsys", "nope"])
    assert (status, out, err) == (0, "", "Can't find service: nope\n")
    device = boot(BUGGY, 0)
    device.android.stop_service("zygote")
    assert run_tool(device, ["dumpsys", "connectivity"])[2] == "Can't find service: connectivity\n"
    kitkat = boot("sim-android-4.4", until=3.0)
    assert run_tool(kitkat, ["dumpsys", "ethernet"])[2] == "Can't find service: ethernet\n"
    assert "Active network: ETHERNET" in run_tool(kitkat, ["dumpsys", "connectivity"])[1]


SVC_81 = """Available commands:
    help         Show information about the subcommands
    power        Control the power manager
    data         Control mobile data connectivity
    wifi         Control the Wi-Fi manager
    usb          Control Usb state
    nfc          Control NFC functions
    bluetooth    Control Bluetooth service
"""


def test_svc_has_no_ethernet(healthy):
    assert run_tool(healthy, ["svc"]) == (0, "", SVC_81)
    assert run_tool(healthy, ["svc", "ethernet", "enable"]) == (0, "", SVC_81)
    assert run_tool(healthy, ["svc", "help", "wifi"]) == (0, "", "Control the Wi-Fi manager\n")


def test_cmd(healthy):
    assert run_tool(healthy, ["cmd", "connectivity"]) == (0, "", "No shell command implementation.\n")
    assert run_tool(healthy, ["cmd", "nope"]) == (20, "", "cmd: Can't find service: nope\n")
    assert run_tool(healthy, ["cmd"]) == (20, "", "cmd: No service specified; use -l to list all services\n")
    assert run_tool(healthy, ["cmd", "-l"])[1].startswith("Currently running services:\n")
    assert lookup("cmd", boot("sim-android-4.4", until=0.05)) is None
