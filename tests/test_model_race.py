"""The eth0 EBUSY start-up race of the 8.1 model, measured over many boots in virtual time.

The race must come from message order alone: the buggy profile reproduces inside its documented
band, the fixed one never, and the mechanism responds to the latencies that open the window.
"""

from __future__ import annotations

import re

import pytest

from harness.sim.android.kernel import RT_TABLE_MAIN
from harness.sim.android.timing import Latency
from model_helpers import BUGGY, EBUSY_LINE, FIXED, boot, outcome, profile_with, run_tool

BUGGY_BAND = (0.15, 0.35)        # sim-android-8.1-buggy.yaml: measured 21.1% over 1000 boots
FIXED_BOUND_S = 5.0              # sim-android-8.1-fixed.yaml: network up within 5 s
ZERO = Latency(fixed=0.0)


def _rate(profile, indexes: range) -> float:
    return sum(outcome(boot(profile, i)).reproduced for i in indexes) / len(indexes)


@pytest.fixture(scope="module")
def buggy_boots():
    return [boot(BUGGY, index) for index in range(200)]


def test_buggy_profile_reproduces_inside_its_band(buggy_boots):
    results = [outcome(device) for device in buggy_boots]
    rate = sum(r.reproduced for r in results) / len(results)
    assert BUGGY_BAND[0] <= rate <= BUGGY_BAND[1], rate
    assert all(r.reproduced or r.network_up for r in results), "a boot ended neither up nor reproduced"


def test_every_reproduction_is_the_ebusy_of_the_last_connect(buggy_boots):
    reproductions = [d for d in buggy_boots if outcome(d).reproduced]
    assert reproductions
    for device in reproductions:
        result = outcome(device)
        android = device.android
        netd = android.netd
        # CS believes in the new network as default; netd has it with no interface.
        assert netd.default_net_id == result.default_net_id
        assert netd.networks[result.default_net_id].interfaces == set()
        assert result.eth0_net_id == 0
        # The CS line's sequence numbers match the command and the reply netd sent back.
        last = EBUSY_LINE.search(result.ebusy_lines[-1])
        seq, net_id, reply_seq = last.group(1), last.group(2), last.group(3)
        assert seq == reply_seq and int(net_id) == result.default_net_id
        _, ndc_log, _ = run_tool(device, ["dumpsys", "network_management"])
        assert f"SND -> {{{seq} network interface add {net_id} eth0}}" in ndc_log
        assert (f"RCV <- {{400 {seq} addInterfaceToNetwork() failed (Device or resource busy)}}"
                in ndc_log)
        # ...and the old network was destroyed after that failed add.
        destroys = re.findall(r"SND -> \{(\d+) network destroy (\d+)\}", ndc_log)
        assert any(int(s) > int(seq) for s, _ in destroys)
        # no policy rule routes through eth0 any more
        assert not [r for r in android.kernel.rules if r.oif == "eth0"]


def test_every_other_buggy_boot_ends_with_eth0_in_the_default_network(buggy_boots):
    healthy = [d for d in buggy_boots if not outcome(d).reproduced]
    for device in healthy:
        result = outcome(device)
        assert result.network_up
        kernel = device.android.kernel
        table = 1000 + kernel.links["eth0"].ifindex
        assert [r for r in kernel.rules if r.oif == "eth0" and r.table == table]
        assert any(r.gateway is not None for r in kernel.table(table))


def test_fixed_profile_never_reproduces_and_is_up_within_its_bound():
    for index in range(500):
        device = boot(FIXED, index, until=FIXED_BOUND_S)
        result = outcome(device)
        assert not result.reproduced and not result.ebusy_lines, index
        assert result.network_up, index


def test_fixed_profile_adds_eth0_only_after_the_old_network_is_destroyed():
    """android-net.md §6: with the fix, `network interface add <new>` follows `network destroy <old>`."""
    checked = 0
    for index in range(150):
        device = boot(FIXED, index)
        ndc = run_tool(device, ["dumpsys", "network_management"])[1]
        holding: set[str] = set()
        for verb, net_id in re.findall(r"SND -> \{\d+ network (interface add|destroy) (\d+)", ndc):
            if verb == "destroy":
                holding.discard(net_id)
            else:
                assert holding <= {net_id}, (index, holding, net_id)
                holding.add(net_id)
                checked += 1
    assert checked > 150          # many boots connected more than once


def test_without_connectivity_service_latency_nothing_reproduces():
    profile = profile_with(BUGGY, timing={"cs_message_ms": ZERO, "cs_request_ms": ZERO,
                                          "channel_connect_ms": ZERO, "channel_disconnect_ms": ZERO})
    assert _rate(profile, range(200)) == 0.0


def test_slower_ip_provisioning_lowers_the_rate(buggy_boots):
    base = sum(outcome(d).reproduced for d in buggy_boots) / len(buggy_boots)
    twice = profile_with(BUGGY, timing={"dhcp_ms": Latency.lognormal(220.0, 0.45, 60.0, 1200.0)})
    four_times = profile_with(BUGGY, timing={"dhcp_ms": Latency.lognormal(440.0, 0.45, 120.0, 2400.0)})
    slower = _rate(twice, range(200))
    slowest = _rate(four_times, range(200))
    assert slower < base / 2
    assert slowest <= slower and slowest < 0.02


def test_without_the_boot_carrier_flap_nothing_reproduces():
    assert _rate(profile_with(BUGGY, boot={"carrier_steps": []}), range(100)) == 0.0


def test_main_table_keeps_the_docker_default_route_after_a_reproduction(buggy_boots):
    """uid 0 still reaches the bridge through main (redroid #701): rule 23000 + main."""
    device = next(d for d in buggy_boots if outcome(d).reproduced)
    main = device.android.kernel.table(RT_TABLE_MAIN)
    assert any(str(r.dst) == "172.17.0.0/16" for r in main)
