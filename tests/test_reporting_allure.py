"""Allure for every run: categories/environment/executor written by the controller, the device as a
parameter, --clean-alluredir refused under xdist, and a broken result for a crashed worker's test."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness.reporting.allure_env import harness_version

CI_VARIABLES = ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILD_NUMBER", "JOB_NAME", "BUILD_URL")
EBUSY_CATEGORY = ("Known regression: eth0 cannot join the new network (EBUSY) while the old network still "
                  "holds it (eth0-ebusy-startup-race)")


@pytest.fixture(autouse=True)
def no_ci_environment(monkeypatch):
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def results(directory: Path) -> dict[str, dict]:
    """Allure results by test name."""
    found = [json.loads(p.read_text()) for p in directory.glob("*-result.json")]
    return {r["name"]: r for r in found}


def first_category(categories: list[dict], result: dict) -> str | None:
    """The category Allure 2 puts a result in: the first whose statuses and whole-message regex match."""
    message = result.get("statusDetails", {}).get("message", "")
    for category in categories:
        if result["status"] in category["matchedStatuses"] and re.fullmatch(category["messageRegex"], message, re.DOTALL):
            return category["name"]
    return None


def test_metadata_is_written_by_the_controller_and_classifies_results(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("JENKINS_URL", "https://ci.example/")
    monkeypatch.setenv("BUILD_NUMBER", "42")
    monkeypatch.setenv("JOB_NAME", "nightly-emulators")
    monkeypatch.setenv("BUILD_URL", "https://ci.example/job/nightly-emulators/42/")
    pytester.makepyfile(test_mixed="""
        from harness.errors import DeviceLost

        def test_known():
            assert False, "KNOWN eth0-ebusy-startup-race: eth0 left every netd network"

        def test_lost():
            raise DeviceLost("connection dropped in the middle of an exchange", serial="emulator-5554")

        def test_crash_word_in_a_product_failure():
            assert False, "the app crashed"

        def test_ok():
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--alluredir", "allure")
    result.assert_outcomes(passed=1, failed=3)
    allure = pytester.path / "allure"

    categories = json.loads((allure / "categories.json").read_text())
    names = [c["name"] for c in categories]
    assert EBUSY_CATEGORY in names[:-5]                       # known regressions first, then infrastructure
    assert names[-5:] == [
        "Infrastructure: xdist worker crash", "Infrastructure: device lost or offline", "Infrastructure: timeout",
        "Infrastructure: adb server or host", "Infrastructure: bad configuration"]
    by_name = results(allure)
    assert by_name["test_known"]["statusDetails"]["message"].startswith("AssertionError: KNOWN eth0-ebusy-startup-race:")
    assert first_category(categories, by_name["test_known"]) == EBUSY_CATEGORY
    assert by_name["test_lost"]["status"] == "broken"
    assert first_category(categories, by_name["test_lost"]) == "Infrastructure: device lost or offline"
    assert first_category(categories, by_name["test_crash_word_in_a_product_failure"]) is None   # a product defect

    environment = (allure / "environment.properties").read_text().splitlines()
    assert environment[:3] == [f"harness.version={harness_version()}", f"python.version={environment[1].split('=')[1]}",
                               f"pytest.version={pytest.__version__}"]
    assert not [line for line in environment if line.startswith("device.")]   # no test used a device
    assert json.loads((allure / "executor.json").read_text()) == {
        "name": "Jenkins", "type": "jenkins", "reportName": f"android-net-harness {harness_version()}",
        "buildOrder": 42, "buildName": "nightly-emulators #42",
        "buildUrl": "https://ci.example/job/nightly-emulators/42/"}
    assert not list(allure.glob("*.tmp")) and not list(allure.glob(".*"))


def test_clean_alluredir_is_refused_under_xdist_and_allowed_without(pytester: pytest.Pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    allure = pytester.mkdir("allure")
    (allure / "earlier-result.json").write_text("{}")

    refused = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--alluredir", "allure",
                                            "--clean-alluredir")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines([
        "ERROR: --clean-alluredir cannot be used with pytest-xdist (-n/--dist): a worker restarted after a crash "
        f"wipes the results written before it. Empty the directory before the run instead, e.g. rm -rf {allure}"])
    assert (allure / "earlier-result.json").exists()

    allowed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", "allure", "--clean-alluredir")
    allowed.assert_outcomes(passed=1)
    assert not (allure / "earlier-result.json").exists()
    assert list(results(allure)) == ["test_ok"]
    assert {p.name for p in allure.iterdir() if not p.name.endswith(("-result.json", "-container.json"))} == {
        "categories.json", "environment.properties", "executor.json"}


def test_a_crashed_workers_test_gets_a_broken_result_in_its_history_and_a_junit_failure(pytester: pytest.Pytester,
                                                                                       monkeypatch):
    pytester.makepyfile(test_crash="""
        import os
        import pytest

        class TestRestart:
            @pytest.mark.parametrize("attempt", [1, 2])
            def test_kill(self, attempt):
                if attempt == 2 and os.environ.get("KILL_WORKER"):
                    os._exit(3)

        def test_ok():
            pass
    """)
    normal = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--alluredir", "normal")
    normal.assert_outcomes(passed=3)
    monkeypatch.setenv("KILL_WORKER", "1")
    crashed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--alluredir", "crashed",
                                            "--junitxml", "junit.xml")
    crashed.assert_outcomes(passed=2, failed=1)

    expected, broken = results(pytester.path / "normal"), results(pytester.path / "crashed")
    assert set(broken) == {"test_kill[1]", "test_kill[2]", "test_ok"}
    crash = broken["test_kill[2]"]
    assert crash["status"] == "broken"
    assert re.fullmatch(r"xdist worker crash: worker 'gw\d+' crashed while running "
                        r"'test_crash.py::TestRestart::test_kill\[2\]'", crash["statusDetails"]["message"])
    for identity in ("fullName", "testCaseId", "historyId", "titlePath", "parameters"):
        assert crash[identity] == expected["test_kill[2]"][identity], identity
    assert crash["fullName"] == "test_crash.TestRestart#test_kill"
    assert {"name": "tag", "value": "worker-crash"} in crash["labels"]
    assert {"name": "subSuite", "value": "TestRestart"} in crash["labels"]
    categories = json.loads((pytester.path / "crashed" / "categories.json").read_text())
    assert first_category(categories, crash) == "Infrastructure: xdist worker crash"

    suite = ElementTree.parse(pytester.path / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    killed = suite.find("testcase[@name='test_kill[2]']")
    assert killed.get("classname") == "test_crash.TestRestart"
    failure = killed.find("failure")
    assert re.fullmatch(r"worker 'gw\d+' crashed while running 'test_crash.py::TestRestart::test_kill\[2\]'",
                        failure.get("message"))


def _embedded_test(pytester: pytest.Pytester) -> Path:
    facts = pytester.path / "facts.json"
    pytester.makepyfile(test_device=f"""
        import json, pathlib

        def test_echo(device):
            assert device.run("echo hi").text == "hi"
            pathlib.Path({str(facts)!r}).write_text(json.dumps(
                {{"serial": device.serial, "fingerprint": device.getprop("ro.build.fingerprint")}}))
    """)
    return facts


def test_environment_and_device_parameter_with_the_embedded_device_under_xdist(pytester: pytest.Pytester):
    facts_file = _embedded_test(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "1", "--alluredir", "allure",
                                           "--junitxml", "junit.xml")
    result.assert_outcomes(passed=1)
    facts = json.loads(facts_file.read_text())
    assert facts["fingerprint"].startswith("redroid/redroid_x86_64/redroid_x86_64:8.1.0/")

    environment = (pytester.path / "allure" / "environment.properties").read_text().splitlines()
    assert environment[3:] == [
        f"device.1.serial={facts['serial']}",
        "device.1.profile=sim-android-8.1-buggy",
        "device.1.model=redroid8_x86_64",
        "device.1.release=8.1.0",
        "device.1.sdk=27",
        f"device.1.fingerprint={facts['fingerprint']}",
    ]
    echo = results(pytester.path / "allure")["test_echo"]
    assert echo["parameters"] == [{"name": "device", "value": repr(facts["serial"]), "excluded": True}]
    assert echo["historyId"] == hashlib.md5(b"test_device#test_echo").hexdigest()    # the device does not split history

    testcase = ElementTree.parse(pytester.path / "junit.xml").getroot().find("testsuite/testcase[@name='test_echo']")
    assert [(p.get("name"), p.get("value")) for p in testcase.find("properties")] == [("device", facts["serial"])]


def test_split_device_parameter_gives_each_device_its_own_history(pytester: pytest.Pytester):
    facts_file = _embedded_test(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", "allure",
                                           "--allure-device-param=split")
    result.assert_outcomes(passed=1)
    serial = json.loads(facts_file.read_text())["serial"]
    echo = results(pytester.path / "allure")["test_echo"]
    assert echo["parameters"] == [{"name": "device", "value": repr(serial)}]
    assert echo["historyId"] == hashlib.md5(f"test_device#test_echo{serial!r}".encode()).hexdigest()
    assert (pytester.path / "allure" / "environment.properties").read_text().count("device.1.serial=") == 1


def test_a_broken_signature_registry_stops_an_allure_run_naming_the_file(pytester: pytest.Pytester, monkeypatch):
    signatures = pytester.mkdir("signatures")
    (signatures / "bad.yaml").write_text("id: [not, a, string]\n")
    monkeypatch.setenv("HARNESS_SIGNATURES", str(signatures))
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", "allure")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: signature registry (for Allure categories): {signatures / 'bad.yaml'}:1:*"])
