"""Allure results for tests whose xdist worker crashed.

A dying worker writes nothing, and allure-pytest runs no per-test code on the controller, so
such a test would be missing from the report. The worker attaches the test's Allure identity
to its setup report (`identity_of`); when xdist reports the crash, the controller writes a
`broken` result with that identity, so the result joins the test's history:
fullName (`package.module[.Class]#function`), testCaseId = md5(fullName) and
historyId = md5(fullName, non-excluded parameter values), computed with allure-pytest's own
functions from the same parameters (the pytest parameters plus the device parameter that
harness.reporting adds in setup). Parameters a test adds itself with allure.dynamic.parameter
are not seen; a crash before the setup report leaves only the test id, from which fullName and
testCaseId are exact and historyId is exact for tests without parameters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import Label, Parameter, Status, StatusDetails, TestResult
from allure_commons.types import LabelType
from allure_commons.utils import host_tag, md5, now, platform_label, represent, uuid4
from allure_pytest.utils import (ParsedPytestNodeId, allure_full_name, allure_labels, allure_name, allure_package,
                                 allure_suite_labels, allure_title_path, get_history_id)

from harness.reporting.classify import is_worker_crash, origin

IDENTITY_ATTRIBUTE = "harness_allure_identity"   # on the worker's setup report; JSON-safe for xdist
CRASH_TAG = "worker-crash"


@dataclass(frozen=True)
class AllureIdentity:
    name: str
    full_name: str
    test_case_id: str
    history_id: str
    title_path: tuple[str, ...]
    parameters: tuple[tuple[str, str, bool], ...]    # (name, represented value, excluded)
    labels: tuple[tuple[str, str], ...]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AllureIdentity:
        return cls(name=data["name"], full_name=data["full_name"], test_case_id=data["test_case_id"],
                   history_id=data["history_id"], title_path=tuple(data["title_path"]),
                   parameters=tuple((str(n), str(v), bool(e)) for n, v, e in data["parameters"]),
                   labels=tuple((str(n), str(v)) for n, v in data["labels"]))


def identity_of(item: pytest.Item, extra: list[Parameter]) -> AllureIdentity:
    """What allure-pytest gives this test, `extra` being the dynamic parameters added in setup."""
    callspec = getattr(item, "callspec", None)
    values = dict(callspec.params) if callspec else {}
    full_name = allure_full_name(item)
    named = {p.name for p in extra}
    parameters = [*extra, *(Parameter(name=n, value=represent(v)) for n, v in values.items() if n not in named)]
    labels = [*allure_suite_labels(item), *allure_labels(item), ("package", allure_package(item))]
    return AllureIdentity(
        name=allure_name(item, values, callspec.id if callspec else None),
        full_name=full_name, test_case_id=md5(full_name),
        history_id=get_history_id(full_name, parameters, original_values=values),
        title_path=tuple(allure_title_path(item)),
        parameters=tuple((p.name, p.value, bool(p.excluded)) for p in parameters),
        labels=tuple((str(n), str(v)) for n, v in labels))


def identity_from_nodeid(nodeid: str) -> AllureIdentity:
    """The identity known from the test id alone (crash before the setup report)."""
    parsed = ParsedPytestNodeId(nodeid)
    classes = ("." + ".".join(parsed.class_names)) if parsed.class_names else ""
    full_name = f"{parsed.package}{classes}#{parsed.test_function}"
    suites = [(LabelType.PARENT_SUITE, parsed.parent_package), (LabelType.SUITE, parsed.module),
              (LabelType.SUB_SUITE, " > ".join(parsed.class_names))]
    return AllureIdentity(
        name=nodeid.rsplit("::", 1)[-1], full_name=full_name, test_case_id=md5(full_name),
        history_id=md5(full_name), title_path=tuple(filter(None, [*parsed.path_segments, *parsed.class_names])),
        parameters=(), labels=(*((str(n), v) for n, v in suites if v), ("package", parsed.package)))


def write_crash_result(directory: Path, identity: AllureIdentity, crash_text: str, start_ms: int | None) -> None:
    stop = now()
    result = TestResult(
        uuid=uuid4(), name=identity.name, fullName=identity.full_name, testCaseId=identity.test_case_id,
        historyId=identity.history_id, titlePath=list(identity.title_path),
        status=Status.BROKEN, statusDetails=StatusDetails(message=f"xdist worker crash: {crash_text}"),
        start=start_ms or stop, stop=stop,
        parameters=[Parameter(name=n, value=v, excluded=e or None) for n, v, e in identity.parameters],
        labels=[*(Label(name=n, value=v) for n, v in identity.labels),
                Label(name=LabelType.TAG, value=CRASH_TAG), Label(name=LabelType.HOST, value=host_tag()),
                Label(name=LabelType.FRAMEWORK, value="pytest"),
                Label(name=LabelType.LANGUAGE, value=platform_label())])
    AllureFileLogger(directory).report_result(result)


DYNAMIC_PARAMETERS = pytest.StashKey[list[Parameter]]()   # allure parameters harness.reporting added in setup


class CrashIdentityTagger:
    """Worker plugin: put the test's Allure identity on its setup report."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
        report = yield
        if report.when == "setup":
            identity = identity_of(item, item.stash.get(DYNAMIC_PARAMETERS, []))
            setattr(report, IDENTITY_ATTRIBUTE, identity.as_json())
        return report


class CrashResults:
    """Controller plugin: a `broken` Allure result for each test whose xdist worker crashed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._setups: dict[tuple[str, str | None], tuple[dict[str, Any], float | None]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        where = origin(report)
        if is_worker_crash(report):
            data, start = self._setups.pop(where, (None, None))
            identity = AllureIdentity.from_json(data) if data else identity_from_nodeid(report.nodeid)
            write_crash_result(self.directory, identity, str(report.longrepr),
                               int(start * 1000) if start else None)
        elif report.when == "setup" and (data := getattr(report, IDENTITY_ATTRIBUTE, None)):
            self._setups[where] = (data, getattr(report, "start", None))
        elif report.when == "teardown":
            self._setups.pop(where, None)
