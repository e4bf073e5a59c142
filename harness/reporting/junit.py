"""`--junitxml` with every property of a test, and a failure for a test whose xdist worker crashed.

pytest's junitxml writes a test's properties from its *teardown* report only: a property that a
hook put on the setup or call report alone (not on `item.user_properties`) is lost, with or
without xdist. This controller plugin copies such properties onto the teardown report.

xdist's crash report has `when="???"`, which junitxml renders as
`<error message='failed on setup with "worker 'gw0' crashed while running ..."'>` and counts as
an error while the terminal counts a failure. It becomes a call failure here, and gets the
properties its earlier reports carried (device, stress key), since no teardown report follows.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.reporting.classify import is_worker_crash, origin

Property = tuple[str, Any]


class JUnitProperties:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._carried: dict[tuple[str, str | None], list[Property]] = {}

    @pytest.hookimpl(tryfirst=True)      # before junitxml reads the report
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        where = origin(report)
        carried = self._carried.setdefault(where, [])
        if is_worker_crash(report):
            report.when = "call"  # type: ignore[assignment]
            self._add_to_testcase(report, self._carried.pop(where))
        elif report.when == "teardown":
            report.user_properties.extend(p for p in self._carried.pop(where) if p not in report.user_properties)
        else:
            carried.extend(p for p in report.user_properties if p not in carried)

    def _add_to_testcase(self, report: pytest.TestReport, properties: list[Property]) -> None:
        # junitxml has no public way to add properties to a test without a teardown report.
        from _pytest.junitxml import xml_key
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        testcase = xml.node_reporter(report)
        for name, value in properties:
            testcase.add_property(name, str(value))
