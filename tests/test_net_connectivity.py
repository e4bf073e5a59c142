"""The layered connectivity verdict on recorded device outputs (no device)."""

from __future__ import annotations

import pytest

from harness.net.connectivity import (ConnectivityLayer as L, ConnectivityTargets, LayerStatus as S, check,
                                      wait_for_network)
from harness.logs.buffer import LogcatTimeout
from harness.net.errors import InvalidNetValue, NetworkTimeout
from test_net_fakes import (DUMPSYS_NO_DEFAULT, IP_ADDR_ETH0_DOWN, IP_ADDR_ETH0_NO_ADDRESS, NETCFG_44,
                            PING_UNKNOWN_HOST, RULES_AFTER_RACE, RULES_HEALTHY, TABLE_ETH0, ScriptedDevice, caps_44, healthy_81, ok, ping_answers, race_81,
                            with_caps)

TARGETS = ConnectivityTargets(hosts=("8.8.8.8",), hostname="www.google.com")


def test_healthy_device_passes_every_layer():
    verdict = check(healthy_81(), TARGETS)
    assert verdict.ok and verdict.first_failure is None
    assert [r.layer for r in verdict.layers] == list(L)
    assert all(r.status is S.PASSED for r in verdict.layers), verdict.render()
    assert verdict.result(L.DEFAULT_NETWORK).summary == "default network 100 on eth0"
    assert verdict.result(L.REACHABILITY).summary == "answered: 172.17.0.1, 8.8.8.8"
    assert verdict.result(L.NAME_RESOLUTION).summary == "www.google.com resolved to 142.250.74.68"


def test_race_state_fails_netd_membership_with_the_table_id_evidence():
    verdict = check(race_81(), TARGETS)
    assert verdict.failing_layer is L.NETD_MEMBERSHIP
    failure = verdict.first_failure
    assert "table id value is invalid" in failure.summary
    commands = [e.command for e in failure.evidence]
    assert commands == ["ip rule show", "ip route show table eth0"]
    table = failure.evidence[1]
    assert table.exit_status == 255
    assert table.stderr == 'Error: argument "eth0" is wrong: table id value is invalid\n'
    # The whole picture: CS still believes in its default network; traffic and names fail.
    assert verdict.status(L.LINK) is S.PASSED and verdict.status(L.ADDRESS) is S.PASSED
    assert verdict.status(L.DEFAULT_NETWORK) is S.PASSED
    assert verdict.result(L.DEFAULT_NETWORK).summary == "default network 101 on eth0"
    assert verdict.status(L.REACHABILITY) is S.FAILED
    assert "network_unreachable (connect: Network is unreachable)" in verdict.result(L.REACHABILITY).summary
    assert verdict.status(L.NAME_RESOLUTION) is S.FAILED
    assert "unknown_host" in verdict.result(L.NAME_RESOLUTION).summary
    text = verdict.render()
    assert "netd-membership failed" in text and "(exit 255)" in text


def test_no_eth0_rules_while_the_table_still_reads_fails_on_the_rules():
    device = healthy_81(**{"ip rule show": ok(RULES_AFTER_RACE), "ip route show table eth0": ok(TABLE_ETH0)})
    verdict = check(device, TARGETS)
    assert verdict.failing_layer is L.NETD_MEMBERSHIP
    assert "no `oif eth0` or `lookup eth0` rule" in verdict.first_failure.summary


def test_link_down_is_the_link_layer():
    verdict = check(healthy_81(**{"ip addr show dev eth0": ok(IP_ADDR_ETH0_DOWN)}), TARGETS)
    assert verdict.failing_layer is L.LINK
    assert verdict.first_failure.summary == "eth0 is administratively down"
    assert verdict.first_failure.evidence[0].command == "ip addr show dev eth0"


def test_missing_interface_is_the_link_layer():
    device = healthy_81(**{"ip addr show dev eth0": (1, "", 'Device "eth0" does not exist.\n')})
    verdict = check(device, TARGETS)
    assert verdict.failing_layer is L.LINK and verdict.first_failure.summary == "eth0 does not exist"


def test_no_address_is_the_address_layer():
    verdict = check(healthy_81(**{"ip addr show dev eth0": ok(IP_ADDR_ETH0_NO_ADDRESS)}), TARGETS)
    assert verdict.failing_layer is L.ADDRESS
    assert verdict.status(L.LINK) is S.PASSED
    assert verdict.first_failure.summary == "eth0 has no IPv4 address"


def test_no_default_network():
    verdict = check(healthy_81(**{"dumpsys connectivity": ok(DUMPSYS_NO_DEFAULT)}), TARGETS)
    assert verdict.failing_layer is L.DEFAULT_NETWORK
    assert verdict.first_failure.summary == "ConnectivityService has no active default network"


def test_unknown_host_is_name_resolution_only():
    device = healthy_81(**{"ping ": ping_answers({"www.google.com": (2, "", PING_UNKNOWN_HOST)})})
    verdict = check(device, TARGETS)
    assert verdict.failing_layer is L.NAME_RESOLUTION
    assert verdict.status(L.REACHABILITY) is S.PASSED
    assert verdict.first_failure.evidence[0].command == "ping -c 1 -W 1 www.google.com"


def test_stop_at_first_failure_marks_the_rest_not_run():
    verdict = check(race_81(), TARGETS, stop_at_first_failure=True)
    assert [r.status for r in verdict.layers] == [S.PASSED, S.PASSED, S.FAILED] + [S.NOT_RUN] * 4


def test_layers_without_targets_are_skipped_not_passed():
    verdict = check(healthy_81(**{"ip route show table eth0": ok(""), "ip route show table main": ok("")}))
    assert verdict.status(L.REACHABILITY) is S.SKIPPED
    assert verdict.result(L.REACHABILITY).summary == "no gateway found and no ping target in the profile"
    assert verdict.status(L.NAME_RESOLUTION) is S.SKIPPED
    assert verdict.ok


def test_android_44_skips_netd_membership_with_the_reason():
    device = with_caps(ScriptedDevice({
        "netcfg": ok(NETCFG_44), "getprop": ok("[net.eth0.dns1]: [10.0.2.3]\n"),
        "dumpsys connectivity": ok("Active network: ETHERNET\n"), "ping ": ping_answers({}),
    }), caps_44())
    verdict = check(device, ConnectivityTargets(gateway="172.17.0.1", hosts=("8.8.8.8",)))
    assert verdict.status(L.NETD_MEMBERSHIP) is S.SKIPPED
    assert "from Android 5.0" in verdict.result(L.NETD_MEMBERSHIP).summary
    assert verdict.status(L.DEFAULT_NETWORK) is S.SKIPPED
    assert verdict.status(L.LINK) is S.PASSED and verdict.result(L.LINK).evidence[0].command == "netcfg"
    assert verdict.result(L.DNS).summary == "DNS servers set: net.eth0.dns1=10.0.2.3"
    assert verdict.status(L.REACHABILITY) is S.PASSED


def test_dns_from_the_default_network_when_net_dns1_is_empty():
    verdict = check(healthy_81(getprop=ok("[net.dns1]: []\n")), TARGETS)
    assert verdict.status(L.DNS) is S.PASSED
    assert verdict.result(L.DNS).summary == "default network 100 has DNS servers 8.8.8.8"


def test_targets_are_validated():
    with pytest.raises(InvalidNetValue, match="ping target"):
        ConnectivityTargets(hosts=("8.8.8.8; reboot",))
    with pytest.raises(InvalidNetValue, match="unknown connectivity target keys"):
        ConnectivityTargets.from_mapping({"gatway": "1.2.3.4"})
    assert ConnectivityTargets.from_mapping({"targets": ["8.8.8.8"], "hostname": "www.google.com"}) == TARGETS


def test_verdict_to_dict_is_json_ready():
    import json
    data = check(race_81(), TARGETS).to_dict()
    assert data["failing_layer"] == "netd-membership" and data["ok"] is False
    json.dumps(data)


def test_wait_for_network_polls_until_the_rules_come_back():
    calls = {"n": 0}

    def rules(cmd: str):
        calls["n"] += 1
        return ok(RULES_HEALTHY if calls["n"] >= 3 else RULES_AFTER_RACE)

    elapsed = wait_for_network(healthy_81(**{"ip rule show": rules}), timeout=10, targets=TARGETS)
    assert elapsed >= 0 and calls["n"] == 3


class FakeLogcat:
    """The two LogcatService calls wait_for_network makes."""

    def __init__(self) -> None:
        self.waits: list[tuple] = []

    def mark(self) -> int:
        return len(self.waits)

    def wait_for(self, pattern, timeout, since=None):
        self.waits.append((pattern, timeout, since))
        raise LogcatTimeout("nothing logged")


def test_wait_for_network_sleeps_on_connectivity_events_between_checks():
    calls = {"n": 0}

    def rules(cmd: str):
        calls["n"] += 1
        return ok(RULES_HEALTHY if calls["n"] >= 2 else RULES_AFTER_RACE)

    logcat = FakeLogcat()
    wait_for_network(healthy_81(**{"ip rule show": rules}), timeout=10, logcat=logcat, targets=TARGETS)
    assert len(logcat.waits) == 1
    pattern, timeout, since = logcat.waits[0]
    line = ("04-30 09:25:47.915   248   319 D ConnectivityService: Switching to new default network: "
            "NetworkAgentInfo{ ni{[type: Ethernet[], state: CONNECTED/CONNECTED]}  network{100} }")
    assert pattern.search(line) and not pattern.search(line.replace("ConnectivityService", "NetworkMonitor"))
    assert 0 < timeout <= 2.0 and since == 0


def test_wait_for_network_times_out_with_the_last_verdict():
    with pytest.raises(NetworkTimeout) as info:
        wait_for_network(race_81(), timeout=0.3, targets=TARGETS)
    assert info.value.verdict.failing_layer is L.NETD_MEMBERSHIP
    assert "netd-membership failed" in str(info.value)
