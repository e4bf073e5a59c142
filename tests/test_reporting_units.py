"""The reporting plugin's pure parts: properties escaping, executor info, infrastructure categories
against real failure messages, failure labels, atomic writes."""

from __future__ import annotations

import re

import pytest
from adbutils.errors import AdbError

from harness.errors import BadConfiguration, BootTimeout, DeviceLost, DeviceOffline, DeviceUnauthorized
from harness.reporting.allure_env import executor, infrastructure_categories, properties_text
from harness.reporting.classify import failure_label, label_exception
from harness.reporting.files import write_atomic


def test_properties_escape_what_java_properties_load_needs():
    text = properties_text([("device.1.serial", "127.0.0.1:5555"), ("key with:colon=", " leading space"),
                            ("model", "Pixel\\7 Pro é"), ("note", "two\nlines #1 = ok!")])
    assert text.splitlines() == [
        "device.1.serial=127.0.0.1:5555",
        "key\\ with\\:colon\\==\\ leading space",
        "model=Pixel\\\\7 Pro \\u00e9",
        "note=two\\nlines #1 = ok!",
    ]
    assert properties_text([("emoji", "\U0001F4F1")]) == "emoji=\\ud83d\\udcf1\n"


def test_executor_names_the_ci_build_or_this_host():
    github = executor({"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
                       "GITHUB_REPOSITORY": "org/farm", "GITHUB_RUN_ID": "987", "GITHUB_RUN_NUMBER": "12",
                       "GITHUB_WORKFLOW": "nightly"})
    assert {k: github[k] for k in ("name", "type", "buildOrder", "buildName", "buildUrl")} == {
        "name": "GitHub Actions", "type": "github", "buildOrder": 12, "buildName": "nightly #12",
        "buildUrl": "https://github.com/org/farm/actions/runs/987"}
    gitlab = executor({"GITLAB_CI": "true", "CI_PIPELINE_IID": "7", "CI_JOB_NAME": "devices",
                       "CI_PIPELINE_URL": "https://gitlab.example/p/-/pipelines/70"})
    assert (gitlab["type"], gitlab["buildOrder"], gitlab["buildName"]) == ("gitlab", 7, "devices #7")
    local = executor({})
    assert local["type"] == "local" and "buildUrl" not in local


def _message(exc: BaseException) -> str:
    """The message allure-pytest gives a failed test: `ExceptionInfo.exconly()`."""
    try:
        raise exc
    except BaseException:
        return pytest.ExceptionInfo.from_current().exconly()


def _category(message: str, status: str = "broken") -> str | None:
    for category in infrastructure_categories():
        if status in category["matchedStatuses"] and re.fullmatch(category["messageRegex"], message, re.DOTALL):
            return category["name"]
    return None


@pytest.mark.parametrize("exc, expected", [
    (DeviceOffline("device offline", serial="emulator-5554"), "Infrastructure: device lost or offline"),
    (DeviceLost("connection dropped in the middle of an exchange", command="ip addr"),
     "Infrastructure: device lost or offline"),
    (AdbError("device offline"), "Infrastructure: device lost or offline"),
    (AdbError("device 'R58M123' not found"), "Infrastructure: device lost or offline"),
    (BootTimeout("sys.boot_completed not 1 after 120s"), "Infrastructure: timeout"),
    (DeviceUnauthorized("device unauthorized"), "Infrastructure: adb server or host"),
    (BadConfiguration("serial 'x' (from command line): no such device"), "Infrastructure: bad configuration"),
    (AssertionError("eth0 has no IPv4 address; DeviceLost was not raised"), None),
    (RuntimeError("DeviceLostness is not a class name"), None),
])
def test_infrastructure_categories_match_real_failure_messages(exc, expected):
    assert _category(_message(exc)) == expected


def test_worker_crash_category_matches_the_controllers_crash_result():
    assert _category("xdist worker crash: worker 'gw0' crashed while running 't.py::test'") == \
        "Infrastructure: xdist worker crash"
    assert _category("xdist worker crash: worker 'gw0' crashed while running 't.py::test'", "failed") is None


def _failed_report(longrepr: str, **extra) -> pytest.TestReport:
    return pytest.TestReport("t.py::test", ("t.py", 1, "test"), {}, "failed", longrepr, "call", **extra)


def test_failure_labels_prefer_known_signatures_then_harness_classes():
    assert label_exception(DeviceLost("gone")) == "device-lost"
    assert label_exception(ValueError("x")) == "ValueError"
    known = _failed_report("AssertionError: KNOWN eth0-ebusy-startup-race: eth0 left every network",
                           harness_failure_label="AssertionError")
    assert failure_label(known, {}) == "KNOWN eth0-ebusy-startup-race"
    assert failure_label(_failed_report("x", harness_failure_label="timeout"), {"signature": "cs-error-creating-network"}) \
        == "KNOWN cs-error-creating-network"
    assert failure_label(_failed_report("x", harness_failure_label="timeout"), {}) == "timeout"
    assert failure_label(_failed_report("worker 'gw3' crashed while running 't.py::test'"), {}) == "worker crash"
    assert failure_label(_failed_report("harness.errors.DeviceLost: gone"), {}) == "DeviceLost"
    assert failure_label(_failed_report("assert KNOWN x: not at the start"), {}) == "unknown"


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "stress.json"
    write_atomic(target, "one\n")
    write_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["stress.json"]
