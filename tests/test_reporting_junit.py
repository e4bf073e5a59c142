"""--junitxml carries every property of a test (also ones a hook put on the call report only), with
and without xdist; the harness adds the failure class of its own errors."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

# Stands in for the device plugin's known-regression labelling, in its hardest form for JUnit: the
# properties go on the call report only, not on item.user_properties.
LABELLING_CONFTEST = """
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed and "Device or resource busy" in str(call.excinfo.value):
        report.user_properties += [("signature", "eth0-ebusy-startup-race"), ("layer", "netd")]
    return report
"""

TESTS = """
from harness.errors import DeviceOffline

def test_race(record_property):
    record_property("restarts", 3)
    assert False, "network interface add 101 eth0: Device or resource busy"

def test_offline():
    raise DeviceOffline("device offline", serial="emulator-5554")

def test_ok():
    pass
"""


def _properties(junit: ElementTree.Element, name: str) -> list[tuple[str, str]]:
    testcase = junit.find(f"testsuite/testcase[@name='{name}']")
    properties = testcase.find("properties")
    return [] if properties is None else [(p.get("name"), p.get("value")) for p in properties]


@pytest.mark.parametrize("distribution", [(), ("-n", "2")], ids=["no-xdist", "xdist"])
def test_call_report_properties_reach_the_junit_xml(pytester: pytest.Pytester, distribution):
    pytester.makeconftest(LABELLING_CONFTEST)
    pytester.makepyfile(test_props=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *distribution, "--junitxml", "junit.xml")
    result.assert_outcomes(passed=1, failed=2)
    junit = ElementTree.parse(pytester.path / "junit.xml").getroot()
    assert _properties(junit, "test_race") == [("restarts", "3"), ("signature", "eth0-ebusy-startup-race"),
                                              ("layer", "netd")]
    assert _properties(junit, "test_offline") == [("failure_class", "device-lost")]
    assert _properties(junit, "test_ok") == []


def test_stress_repetitions_carry_their_key(pytester: pytest.Pytester):
    pytester.makepyfile(test_twice="def test_twice():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--repeat", "2", "--junitxml", "junit.xml")
    result.assert_outcomes(passed=2)
    junit = ElementTree.parse(pytester.path / "junit.xml").getroot()
    for index in (1, 2):
        assert _properties(junit, f"test_twice[repeat-{index}-of-2]") == [("stress_key", "test_twice.py::test_twice")]
