"""What the 8.1 model logs: the race timeline of android-net.md §2.7 and the healthy bring-up of
§3.3, with their tags, levels, texts, pids and tids, in order."""

from __future__ import annotations

import re

import pytest

from harness.sim.android.logd import LogRecord
from model_helpers import BUGGY, boot, outcome, records, run_tool

SYSTEM_SERVER, CS_THREAD, ENF_THREAD = 248, 319, 339
NETD, NETD_COMMANDS = 125, 143


def _first_index(indexes, predicate) -> int:
    return next(i for i in indexes if predicate(boot(BUGGY, i)))


@pytest.fixture(scope="module")
def reproduction():
    index = _first_index(range(40), lambda d: outcome(d).reproduced and outcome(d).default_net_id == 101)
    return boot(BUGGY, index)


@pytest.fixture(scope="module")
def healthy():
    index = _first_index(range(40), lambda d: outcome(d).network_up)
    return boot(BUGGY, index)


def _expect_in_order(logs: list[LogRecord], expected: list[tuple[int, int | None, str, str, str]]
                     ) -> list[LogRecord]:
    """Each (pid, tid, letter, tag, regex) matched by a later record than the previous one;
    a tid of None matches any thread (IpManager threads are created at run time)."""
    found, position = [], 0
    for pid, tid, letter, tag, pattern in expected:
        regex = re.compile(pattern)
        for index in range(position, len(logs)):
            r = logs[index]
            if ((r.pid, r.letter, r.tag) == (pid, letter, tag) and tid in (None, r.tid)
                    and regex.search(r.message)):
                found.append(r)
                position = index + 1
                break
        else:
            raise AssertionError(f"not found after record {position}: {tag} {pattern}")
    return found


def test_reproduction_logs_the_race_timeline_in_order(reproduction):
    logs = records(reproduction)
    start = max(i for i, r in enumerate(logs) if "registerNetworkAgent" in r.message and "network{101}" in r.message)
    found = _expect_in_order(logs[start:], [
        (SYSTEM_SERVER, ENF_THREAD, "D", "ConnectivityService",
         r"^registerNetworkAgent NetworkAgentInfo\{ ni\{\[type: Ethernet\[\], state: CONNECTED/CONNECTED, "
         r"reason: \(unspecified\), extra: 02:42:ac:11:00:02, failover: false, available: true, "
         r"roaming: false\]\}  network\{101\}  nethandle\{437197393933\}  lp\{\{InterfaceName: eth0 "),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService",
         r"^NetworkAgentInfo \[Ethernet \(\) - 101\] EVENT_NETWORK_INFO_CHANGED, going from null to CONNECTED$"),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService", r"^Adding iface eth0 to network 101$"),
        (NETD, NETD_COMMANDS, "E", "Netd", r"^interface eth0 already assigned to netId 100$"),
        (SYSTEM_SERVER, CS_THREAD, "E", "ConnectivityService",
         r"^Exception adding interface: java\.lang\.IllegalStateException: command '(\d+) network interface "
         r"add 101 eth0' failed with '400 \1 addInterfaceToNetwork\(\) failed \(Device or resource busy\)'$"),
        (NETD, NETD_COMMANDS, "E", "Netd", r"^interface eth0 assigned to netId 100, not 101$"),
        (SYSTEM_SERVER, CS_THREAD, "E", "ConnectivityService",
         r"^Exception in addRoute for non-gateway: java\.lang\.IllegalStateException: command '(\d+) network "
         r"route add 101 eth0 172\.17\.0\.0/16' failed with '400 \1 addRoute\(\) failed \(No such file or directory\)'$"),
        (SYSTEM_SERVER, CS_THREAD, "E", "ConnectivityService",
         r"^Exception in addRoute for gateway: java\.lang\.IllegalStateException: command '(\d+) network route "
         r"add 101 eth0 0\.0\.0\.0/0 172\.17\.0\.1' failed with '400 \1 addRoute\(\) failed \(No such file or directory\)'$"),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService", r"^Setting DNS servers for network 101 to \[/8\.8\.8\.8\]$"),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService",
         r"^NetworkAgentInfo \[Ethernet \(\) - 100\] got DISCONNECTED, was satisfying \d+$"),
    ])
    add_seq = int(re.search(r"command '(\d+)", found[4].message).group(1))
    route_seq = int(re.search(r"command '(\d+)", found[6].message).group(1))
    assert route_seq > add_seq
    after_dns = logs[logs.index(found[8]):]
    assert any(r.message.startswith("Switching to new default network: NetworkAgentInfo{") and "network{101}" in r.message
               for r in after_dns)


def test_reproduction_line_renders_like_the_incident_note(reproduction):
    status, out, _ = run_tool(reproduction, ["logcat", "-d", "-s", "ConnectivityService:E"])
    assert status == 0
    incident = re.compile(
        r"^04-30 09:25:\d\d\.\d{3}   248   319 E ConnectivityService: Exception adding interface: "
        r"java\.lang\.IllegalStateException: command '(\d+) network interface add 101 eth0' failed with "
        r"'400 \1 addInterfaceToNetwork\(\) failed \(Device or resource busy\)'$", re.M)
    assert incident.search(out)


def test_healthy_boot_logs_the_bring_up_in_order(healthy):
    logs = records(healthy)
    _expect_in_order(logs, [
        (SYSTEM_SERVER, SYSTEM_SERVER, "I", "EthernetService", r"^Registering service ethernet$"),
        (SYSTEM_SERVER, SYSTEM_SERVER, "I", "EthernetServiceImpl", r"^Creating EthernetConfigStore$"),
        (SYSTEM_SERVER, SYSTEM_SERVER, "I", "EthernetServiceImpl",
         r"^Read stored IP configuration: IP assignment: DHCP\nProxy settings: NONE\n$"),
        (SYSTEM_SERVER, SYSTEM_SERVER, "I", "EthernetServiceImpl", r"^Starting Ethernet service$"),
        (SYSTEM_SERVER, ENF_THREAD, "D", "EthernetNetworkFactory", r"^Started tracking interface eth0$"),
        (SYSTEM_SERVER, ENF_THREAD, "D", "EthernetNetworkFactory", r"^updateInterface: eth0 link up$"),
    ])
    last_start = max(i for i, r in enumerate(logs) if r.message.startswith("starting IpManager(eth0)"))
    _expect_in_order(logs[last_start:], [
        (SYSTEM_SERVER, ENF_THREAD, "D", "EthernetNetworkFactory",
         r"^starting IpManager\(eth0\): mNetworkInfo=\[type: Ethernet\[\], state: UNKNOWN/IDLE, reason: "
         r"\(unspecified\), extra: 02:42:ac:11:00:02, failover: false, available: true, roaming: false\]$"),
        (SYSTEM_SERVER, None, "D", "DhcpClient", r"^Broadcasting DHCPDISCOVER$"),
        (SYSTEM_SERVER, None, "D", "DhcpClient", r"^Broadcasting DHCPREQUEST ciaddr=0\.0\.0\.0 request=172\.17\.0\.2 "
                                                 r"serverid=172\.17\.0\.1$"),
        (SYSTEM_SERVER, ENF_THREAD, "D", "ConnectivityService", r"^registerNetworkAgent NetworkAgentInfo\{ "),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService",
         r"^NetworkAgentInfo \[Ethernet \(\) - (\d+)\] EVENT_NETWORK_INFO_CHANGED, going from null to CONNECTED$"),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService", r"^Adding iface eth0 to network \d+$"),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService", r"^Setting DNS servers for network \d+ to \[/8\.8\.8\.8\]$"),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService", r"^Switching to new default network: NetworkAgentInfo\{ "),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService",
         r"^Sending CONNECTED broadcast for type 9 NetworkAgentInfo \[Ethernet \(\) - \d+\] isDefaultNetwork=true$"),
        (SYSTEM_SERVER, CS_THREAD, "D", "ConnectivityService",
         r"^NetworkAgentInfo \[Ethernet \(\) - \d+\] validation passed$"),
    ])


def test_framework_logs_go_to_the_system_buffer(healthy):
    system = {r.tag for r in records(healthy, ("system",))}
    main = {r.tag for r in records(healthy, ("main",))}
    assert {"ConnectivityService", "NetworkManagement", "SystemServer"} <= system
    assert {"EthernetNetworkFactory", "DhcpClient", "Netd", "EthernetServiceImpl"} <= main
    assert "ConnectivityService" not in main
