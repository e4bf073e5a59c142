"""harness.net against virtual devices through the real adb server (no mocks on the way).

One private adb server per module and one farm per profile; the tests of a profile share its
device and each leaves it as it found it (the restart test runs last).
"""

from __future__ import annotations

import time

import pytest

from harness.adb_server import AdbServer
from harness.device import Device
from harness.logs.logcat import LogcatService
from harness.net.capabilities import capabilities
from harness.net.connectivity import (NETWORK_EVENT, ConnectivityLayer as L, ConnectivityTargets, LayerStatus as S,
                                      check, wait_for_network)
from harness.net.errors import NdcError
from harness.net.iface import InterfaceControl
from harness.net.ndc import Ndc
from harness.net.snapshot import SECTIONS, diff, take_snapshot
from harness.sim.farm import SimFarm
from harness.sim.profile import PROFILE_DIR

HEALTHY = "sim-android-8.1-fixed"
LEGACY = "sim-android-4.4"
TARGETS = ConnectivityTargets(hosts=("8.8.8.8",), hostname="www.google.com")
LEGACY_TARGETS = ConnectivityTargets(hosts=("8.8.8.8",))   # the virtual 4.4 resolves no names yet
NETWORK_TIMEOUT = 60.0
SPARE_NET_ID = 500           # far from ConnectivityService's 100, 101, ...


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _profile_or_skip(name: str) -> str:
    if not (PROFILE_DIR / f"{name}.yaml").exists():
        pytest.skip(f"profile {name} has not landed in device_profiles/ yet")
    return name


@pytest.fixture(scope="module")
def adb_server():
    with AdbServer.start() as server:
        yield server


def _start(adb_server: AdbServer, profile: str):
    farm = SimFarm(profile, count=1)
    farm.start()
    try:
        serial = farm.serials[0]
        adb_server.connect(serial, timeout=15)
        device = Device(serial, adb_server)
        device.wait_for_boot(timeout=120)
    except BaseException:
        farm.stop()
        raise
    return farm, device


@pytest.fixture(scope="module")
def healthy(adb_server):
    farm, device = _start(adb_server, _profile_or_skip(HEALTHY))
    try:
        device.root()
        wait_for_network(device, NETWORK_TIMEOUT, targets=TARGETS)
        yield farm, device
    finally:
        farm.stop()


@pytest.fixture(scope="module")
def legacy(adb_server):
    farm, device = _start(adb_server, _profile_or_skip(LEGACY))
    try:
        device.root()
        wait_for_network(device, NETWORK_TIMEOUT, targets=LEGACY_TARGETS)
        yield farm, device
    finally:
        farm.stop()


PASS, SKIP = S.PASSED, S.SKIPPED
ALL_PASS = {layer: PASS for layer in L}


@pytest.mark.parametrize("profile, expected, targets, layers", [
    ("sim-android-8.1-fixed",
     dict(sdk=27, tools={"ip", "ifconfig", "ndc", "ping", "dumpsys"}, ifconfig_style="toybox", ndc_mode="text",
          netd_networks=True, container="redroid"),
     TARGETS, ALL_PASS),
    # 4.4: no netd networks, and its `dumpsys connectivity` names no default network.
    ("sim-android-4.4",
     dict(sdk=19, tools={"netcfg", "ifconfig", "ndc", "ping"}, ifconfig_style="toolbox", ndc_mode="text",
          netd_networks=False, container=None),
     LEGACY_TARGETS,
     {**ALL_PASS, L.NETD_MEMBERSHIP: SKIP, L.DEFAULT_NETWORK: SKIP, L.NAME_RESOLUTION: SKIP}),
    ("sim-android-11",
     dict(sdk=30, tools={"ip", "ifconfig", "ndc", "ping", "dumpsys"}, ifconfig_style="toybox", ndc_mode="binder",
          netd_networks=True, container="redroid"),
     TARGETS, ALL_PASS),
])
def test_probe_and_check_per_android_version(adb_server, profile, expected, targets, layers):
    farm, device = _start(adb_server, _profile_or_skip(profile))
    try:
        caps = capabilities(device)
        assert caps.sdk == expected["sdk"]
        assert expected["tools"] <= set(caps.tools), caps.summary()
        assert caps.ifconfig_style == expected["ifconfig_style"]
        assert caps.ndc_mode == expected["ndc_mode"]
        assert caps.netd_networks is expected["netd_networks"]
        assert caps.interface == "eth0"
        assert caps.container == expected["container"]
        wait_for_network(device, NETWORK_TIMEOUT, targets=targets)
        verdict = check(device, targets)
        assert {r.layer: r.status for r in verdict.layers} == layers, verdict.render()
        assert all(r.summary for r in verdict.layers if r.status is SKIP)
    finally:
        farm.stop()


def test_healthy_device_passes_every_applicable_layer(healthy):
    _, device = healthy
    verdict = check(device, TARGETS)
    assert verdict.ok, verdict.render()
    assert all(r.status is S.PASSED for r in verdict.layers), verdict.render()


def test_down_up_and_restore_leave_the_snapshot_as_before(healthy):
    _, device = healthy
    before = take_snapshot(device)
    with InterfaceControl(device, "eth0") as eth0:
        eth0.down()
        down = check(device, TARGETS, stop_at_first_failure=True)
        assert down.failing_layer is L.LINK, down.render()
    wait_for_network(device, NETWORK_TIMEOUT, targets=TARGETS)
    # IPv6 aside: on 8.1 the old IpManager's late shutdown may disable IPv6 after the new one
    # enabled it (android-net.md §2.2), so the link-local address may or may not be back.
    changes = diff(before, take_snapshot(device), ignore_net_ids=True,
                   sections=tuple(s for s in SECTIONS if s != "ipv6_addresses"))
    assert changes.empty, changes.render()


def test_flap_then_the_network_comes_back(healthy):
    _, device = healthy
    with InterfaceControl(device, "eth0") as eth0:
        eth0.flap(count=2, down_s=0.5, up_s=0.5)
        assert eth0.state().up
    assert wait_for_network(device, NETWORK_TIMEOUT, targets=TARGETS) >= 0


def test_static_configuration_and_restore(healthy):
    _, device = healthy
    before = take_snapshot(device)
    with InterfaceControl(device, "eth0") as eth0:
        eth0.set_address("172.17.0.9/16")
        assert [str(a) for a in eth0.state().ipv4] == ["172.17.0.9/16"]
        eth0.set_default_route("172.17.0.1")
        eth0.set_dns("1.1.1.1")
        assert device.getprop("net.dns1") == "1.1.1.1"
    wait_for_network(device, NETWORK_TIMEOUT, targets=TARGETS)
    # The DHCP client restarts when its address is taken away: IPv6 and netIds may differ after
    # that, which is the framework's doing; what the journal changed must be as before.
    changes = diff(before, take_snapshot(device), ignore_net_ids=True, sections=("links", "ipv4_addresses", "rules", "properties"))
    assert changes.empty, changes.render()


def test_android_44_static_dhcp_and_link_changes_restore(legacy):
    """The legacy tools: netcfg dhcp, ifconfig-era kernel behaviour (routes go with the address)."""
    _, device = legacy
    before = take_snapshot(device)
    with InterfaceControl(device, "eth0") as eth0:
        eth0.set_address("172.17.0.9/16")
        eth0.set_dns("1.1.1.1")
        eth0.dhcp()
        assert [str(a) for a in eth0.state().ipv4] == ["172.17.0.2/16"]
    with InterfaceControl(device, "eth0") as eth0:
        eth0.flap(count=1, down_s=1, up_s=1)
        eth0.down()
        assert not eth0.state().up
        # EthernetDataTracker answers link down with clearInterfaceAddresses, IPv6 link-local
        # included. Were the restore's `up` to come first, that late clear would take the new
        # link-local away for good, as on a real 4.4 device: let the framework finish first.
        _wait_until(lambda: not eth0.state().ipv4, NETWORK_TIMEOUT, "the tracker to clear eth0")
    wait_for_network(device, NETWORK_TIMEOUT, targets=LEGACY_TARGETS)
    changes = diff(before, take_snapshot(device))
    assert changes.empty, changes.render()


def test_ndc_double_add_is_ebusy(healthy):
    _, device = healthy
    ndc = Ndc(device)
    ndc.network_create(SPARE_NET_ID)
    try:
        with pytest.raises(NdcError) as info:
            ndc.interface_add(SPARE_NET_ID, "eth0")
        assert info.value.code == 400
        assert info.value.reply.raw == "400 0 addInterfaceToNetwork() failed (Device or resource busy)"
    finally:
        ndc.network_destroy(SPARE_NET_ID)
    assert check(device, TARGETS).ok


def test_wait_for_network_after_a_container_restart(healthy):
    farm, device = healthy
    farm.control("restart", serial=device.serial, down_s=0.5)
    device.wait_for_boot(timeout=120, expect_restart=True)
    elapsed = wait_for_network(device, NETWORK_TIMEOUT, targets=TARGETS)
    assert isinstance(elapsed, float) and elapsed >= 0


def test_wait_for_network_wakes_on_connectivity_logs_after_a_restart(healthy):
    farm, device = healthy
    with LogcatService(device, start_from="now") as logcat:
        farm.control("restart", serial=device.serial, down_s=0.5)
        device.wait_for_boot(timeout=120, expect_restart=True)
        elapsed = wait_for_network(device, NETWORK_TIMEOUT, logcat=logcat, targets=TARGETS)
        assert isinstance(elapsed, float) and elapsed >= 0
        assert logcat.lines(pattern=NETWORK_EVENT), "ConnectivityService logged no network event"
