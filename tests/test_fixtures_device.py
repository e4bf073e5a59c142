"""The fixtures on the embedded virtual device: restorers run even when the test failed, a failure
without a known regression keeps its own message but gets the evidence, `requires` skips with the
reason; and which restart kinds a device offers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from harness.dut import DeviceNet, restart_kinds
from harness.profiles import load_profile
from test_net_fakes import caps_81
from test_suites_sim import CLOCK_SCALE, ENV_NAMES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_restorers_run_after_a_failed_test_and_the_failure_keeps_its_message(pytester):
    pytester.makepyfile(test_device_fixtures="""
        import pytest
        from harness.net.connectivity import ConnectivityLayer

        @pytest.mark.requires(root=True, ethernet=True)
        def test_takes_the_link_down_and_fails(eth, snapshot, connectivity):
            eth.down()
            assert False, "failing with the link down"

        def test_finds_the_link_up_again(connectivity):
            verdict = connectivity(layers=[ConnectivityLayer.LINK])
            assert verdict.ok, verdict.render()

        @pytest.mark.requires(android="<5")
        def test_only_for_old_releases(device):
            pass
    """)
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--profile", "sim-android-8.1-fixed",
                                           "--sim-clock-scale", CLOCK_SCALE, f"--junitxml={xml}", "-rs", timeout=300)
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    cases = {c.get("name"): c for c in ET.parse(xml).iter("testcase")}
    failed = cases["test_takes_the_link_down_and_fails"]
    assert failed.find("failure").get("message").startswith("AssertionError: failing with the link down")
    assert not any(p.get("name") == "signature" for p in failed.iter("property"))
    output = result.stdout.str()
    assert re.search(r"^-+ connectivity verdict -+\n.*: no network on eth0: link failed: eth0 is administratively down",
                     output, re.M)
    assert re.search(r"^-+ network snapshot diff \(before the test -> at the failure\) -+\n\[links\]\n"
                     r"  ~ eth0: up flags=", output, re.M)
    result.stdout.fnmatch_lines(["SKIPPED * test_device_fixtures.py:*: requires android <5: the device runs "
                                 "Android 8.1.0 (sdk 27)"])


# -- restart kinds ------------------------------------------------------------------------------

def net_with(profile_name: str | None, root: bool = True) -> DeviceNet:
    profile = load_profile(profile_name) if profile_name else None
    return DeviceNet(device=None, caps=caps_81(root=root), profile=profile)   # type: ignore[arg-type]


def test_a_redroid_profile_restarts_its_container_with_docker_and_never_reboots():
    methods, problems = restart_kinds(net_with("redroid-8.1"), farm=None)
    assert methods == {"container": "docker", "framework": "framework"}
    assert problems == {"reboot": "profile redroid-8.1 does not declare the reboot capability"}


def test_a_virtual_device_restarts_as_a_container_only_through_its_farm():
    assert restart_kinds(net_with("sim-android-8.1-fixed"), farm=object())[0] == {   # type: ignore[arg-type]
        "container": "sim", "framework": "framework", "reboot": "reboot"}
    methods, problems = restart_kinds(net_with("sim-android-8.1-fixed"), farm=None)
    assert "container" not in methods
    assert problems["container"] == "the virtual device's control channel is unknown (device given with --serial)"


def test_without_a_profile_or_root_only_a_reboot_is_left():
    methods, problems = restart_kinds(net_with(None, root=False), farm=None)
    assert methods == {"reboot": "reboot"}
    assert problems == {"container": "no device profile names its container: give --profile",
                        "framework": "`stop; start` needs root, which the device does not give"}
