"""A failed device test explained: KNOWN message, properties, evidence sections (harness.outcome),
and the makereport wrapper that applies them (JUnit, terminal, Allure)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.errors import DeviceLost
from harness.logs.buffer import LogBuffer
from harness.logs.signatures import load_registry
from harness.net.connectivity import ConnectivityLayer, LayerResult, LayerStatus, Verdict
from harness.net.snapshot import SectionDiff, SnapshotDiff
from harness.outcome import FailureEvidence, analyse

LOGS = Path(__file__).parent / "data" / "logs"
L, S = ConnectivityLayer, LayerStatus


def lines_of(name: str):
    buffer = LogBuffer()
    for text in (LOGS / name).read_text().splitlines():
        buffer.append(text)
    return buffer.excerpt()


def verdict(failing: ConnectivityLayer | None) -> Verdict:
    layers = []
    for layer in ConnectivityLayer:
        if failing is None or list(ConnectivityLayer).index(layer) < list(ConnectivityLayer).index(failing):
            layers.append(LayerResult(layer, S.PASSED, "fine"))
        elif layer is failing:
            layers.append(LayerResult(layer, S.FAILED, "eth0 is in no netd network"))
        else:
            layers.append(LayerResult(layer, S.NOT_RUN, "not checked: a lower layer failed"))
    return Verdict("dev-1", "eth0", tuple(layers))


DIFF = SnapshotDiff((SectionDiff("rules", removed={"14000: from all oif eth0 lookup eth0": ""}),))


def evidence(log: str, **changes) -> FailureEvidence:
    values = dict(android="8.1.0", registry=load_registry(), excerpt=lambda: lines_of(log),
                  snapshot_diff=lambda: DIFF, verdicts=[verdict(L.NETD_MEMBERSHIP)])
    values.update(changes)
    return FailureEvidence(**values)


def test_a_race_in_the_excerpt_is_the_known_regression_with_the_failing_layer():
    analysis = analyse(evidence("race-8.1-reference.log"), AssertionError("no network"))
    assert analysis.known_prefix() == "KNOWN eth0-ebusy-startup-race: netd-membership layer failed"
    assert analysis.finding.verdict == "KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30"
    titles = [title for title, _ in analysis.sections()]
    assert titles == ["known regression", "connectivity verdict",
                      "network snapshot diff (before the test -> at the failure)",
                      "logcat excerpt (since the test started)"]
    sections = dict(analysis.sections())
    assert "'400 30 addInterfaceToNetwork() failed (Device or resource busy)'" in sections["known regression"]
    assert sections["network snapshot diff (before the test -> at the failure)"] == \
        "[rules]\n  - 14000: from all oif eth0 lookup eth0"
    assert sections["logcat excerpt (since the test started)"] == (LOGS / "race-8.1-reference.log").read_text()


def test_a_healthy_log_is_no_known_regression_but_keeps_its_evidence():
    analysis = analyse(evidence("healthy-boot-8.1.log"), AssertionError("no network"))
    assert analysis.finding is None and analysis.known_prefix() is None
    assert [t for t, _ in analysis.sections()][:1] == ["connectivity verdict"]


def test_the_verdict_an_exception_carries_comes_first_then_the_last_one_then_a_fresh_check():
    carried = verdict(L.ADDRESS)
    error = AssertionError("x")
    error.verdict = carried                                      # as NetworkTimeout carries it
    assert analyse(evidence("race-8.1-reference.log"), error).layer == "address"
    assert analyse(evidence("race-8.1-reference.log"), AssertionError("x")).layer == "netd-membership"
    fresh = evidence("race-8.1-reference.log", verdicts=[], fresh_verdict=lambda: verdict(None))
    analysis = analyse(fresh, AssertionError("x"))
    assert analysis.known_prefix() == "KNOWN eth0-ebusy-startup-race: no connectivity layer failed"


def test_evidence_that_cannot_be_collected_is_noted_not_raised():
    def gone():
        raise DeviceLost("device offline", serial="dev-1")
    analysis = analyse(evidence("race-8.1-reference.log", snapshot_diff=gone, verdicts=[], fresh_verdict=gone),
                       AssertionError("x"))
    assert analysis.problems == ("connectivity check: DeviceLost: device offline",
                                 "network snapshot diff: DeviceLost: device offline")
    assert analysis.known_prefix() == "KNOWN eth0-ebusy-startup-race: connectivity not checked"


# -- through pytest: the makereport wrapper ------------------------------------------------------

CONFTEST = """
import pytest
from harness.outcome import EVIDENCE
import test_fixtures_outcome as helpers

@pytest.fixture(autouse=True)
def fake_device_evidence(request):
    log = request.node.get_closest_marker("log")
    if log is not None:
        request.node.stash[EVIDENCE] = helpers.evidence(log.args[0])

def pytest_configure(config):
    config.addinivalue_line("markers", "log(name): the test's logcat excerpt")
"""

TESTS = """
import pytest

@pytest.mark.log("race-8.1-reference.log")
def test_race():
    assert False, "no network on eth0"

@pytest.mark.log("race-8.1-reference.log")
def test_race_by_pytest_fail():
    pytest.fail("no network on eth0")

@pytest.mark.log("healthy-boot-8.1.log")
def test_other_failure():
    assert 1 == 2

@pytest.mark.log("race-8.1-reference.log")
def test_passes():
    pass

@pytest.mark.log("race-8.1-reference.log")
def test_skips():
    pytest.skip("not here")
"""


@pytest.fixture
def session(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                    os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_reports=TESTS)
    return pytester


def junit(path: Path) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in ET.parse(path).iter("testcase")}


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_known_regression_in_junit_message_and_properties_and_terminal_sections(session):
    xml = session.path / "junit.xml"
    result = session.runpytest_subprocess("-p", "no:cacheprovider", f"--junitxml={xml}", "-rf")
    result.assert_outcomes(passed=1, failed=3, skipped=1)
    cases = junit(xml)
    message = cases["test_race"].find("failure").get("message")
    assert message.startswith("KNOWN eth0-ebusy-startup-race: netd-membership layer failed: "
                              "AssertionError: no network on eth0")
    assert cases["test_race_by_pytest_fail"].find("failure").get("message").startswith(
        "KNOWN eth0-ebusy-startup-race: netd-membership layer failed: Failed: no network on eth0")
    assert properties(cases["test_race"]) == {
        "signature": "eth0-ebusy-startup-race", "failing_layer": "netd-membership",
        "finding": "KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30"}
    assert cases["test_other_failure"].find("failure").get("message").startswith("assert 1 == 2")
    assert properties(cases["test_other_failure"]) == {} and properties(cases["test_passes"]) == {}
    result.stdout.fnmatch_lines([
        "*- known regression -*", "KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30",
        "*- connectivity verdict -*", "*- network snapshot diff (before the test -> at the failure) -*",
        "*- logcat excerpt (since the test started) -*",
        "FAILED test_reports.py::test_race - KNOWN eth0-ebusy-startup-race: *",
    ])


def test_allure_gets_the_evidence_as_attachments_and_the_known_line_in_its_message(session):
    results = session.path / "allure-results"
    session.runpytest_subprocess("-p", "no:cacheprovider", f"--alluredir={results}")
    tests = {r["name"]: r for r in (json.loads(p.read_text()) for p in results.glob("*-result.json"))}
    race = tests["test_race"]
    assert race["status"] == "failed"
    assert "KNOWN eth0-ebusy-startup-race: netd-membership layer failed" in race["statusDetails"]["message"]
    assert {"name": "known_regression", "value": "eth0-ebusy-startup-race"} in race["labels"]
    attached = {a["name"]: (results / a["source"]).read_text() for a in race["attachments"]}
    assert "KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30" in attached["known regression"]
    assert attached["logcat excerpt (since the test started)"] == (LOGS / "race-8.1-reference.log").read_text()
    assert "network snapshot diff (before the test -> at the failure)" in attached
    assert "KNOWN" not in tests["test_other_failure"]["statusDetails"]["message"]
