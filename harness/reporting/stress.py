"""Stress runs: repeat tests as separate items and report each test's failure rate.

`--repeat N` repeats every selected test, `@pytest.mark.stress(N)` one test (the marker wins).
Each repetition is its own item, id suffix `[repeat-i-of-N]` (`[param-repeat-i-of-N]` for a
parametrized test), so xdist spreads repetitions over workers. Every report of a repetition
carries the user property `stress_key`: the test's id without the repetition.

The controller (the only process under xdist that sees every report) tallies runs per key:
- passed / failed / skipped: the verdict of the test's call;
- errors: setup or teardown errors and worker crashes, counted apart from the verdicts
  because on devices they mean infrastructure trouble, not the behaviour under test (a run
  whose call passed and whose teardown failed counts in both);
- failure rate = failed / (passed + failed), with a Wilson 95% interval (rule of three when
  nothing failed);
- failure and error classes: `KNOWN <signature>`, a harness failure class, or an exception type;
- call duration percentiles.

pytest-rerunfailures would hide exactly what a stress run measures: stress items get
`flaky(reruns=0)`, which beats `--reruns`, the ini and the test's own `flaky` marker.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.reporting.classify import failure_label, is_worker_crash, origin
from harness.reporting.files import write_atomic

if TYPE_CHECKING:
    from harness.stats import Rate

MARKER = "stress(n): run this test n times as separate items and report its failure rate (beats --repeat)"
REPETITION_FIXTURE = "stress_repetition"
STRESS_KEY = "stress_key"
RERUNFAILURES = "rerunfailures"
DEFAULT_JSON = Path("reports") / "stress.json"
JSON_FORMAT = 1

_REPEAT_ID = re.compile(r"(?P<sep>\[|-)repeat-(?P<index>\d+)-of-(?P<count>\d+)\]$")


def positive_count(text: str) -> int:
    """argparse type of --repeat."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of repetitions, got {text!r}")
    return int(text)


def _marker_count(marker: pytest.Mark, where: str) -> int:
    args = marker.args
    if marker.kwargs or len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool) or args[0] < 1:
        raise TypeError(f"{where}: @pytest.mark.stress(n) expects one positive int n, "
                        f"got args {args!r} kwargs {marker.kwargs!r}")
    return args[0]


def repetitions(definition: pytest.Item, config: pytest.Config) -> int | None:
    """How many times to run this test: its stress marker, else --repeat, else None (once)."""
    marker = definition.get_closest_marker("stress")
    if marker is not None:
        return _marker_count(marker, definition.nodeid)
    return config.getoption("stress_repeat")


def stress_key(nodeid: str) -> str:
    """The test's id without its repetition: `t.py::test[a-repeat-2-of-5]` -> `t.py::test[a]`."""
    return _REPEAT_ID.sub(lambda m: "]" if m["sep"] == "-" else "", nodeid)


def planned_count(nodeid: str) -> int | None:
    match = _REPEAT_ID.search(nodeid)
    return int(match["count"]) if match else None


@pytest.fixture
def stress_repetition(request: pytest.FixtureRequest) -> int:
    """This run's number, 1..N, in a stress run (--repeat N or @pytest.mark.stress(N)); 1 otherwise."""
    return getattr(request, "param", 1)


def parametrize(metafunc: pytest.Metafunc) -> None:
    count = repetitions(metafunc.definition, metafunc.config)
    if count is None:
        return
    if REPETITION_FIXTURE not in metafunc.fixturenames:
        metafunc.fixturenames.append(REPETITION_FIXTURE)
    metafunc.parametrize(REPETITION_FIXTURE, range(1, count + 1), indirect=True,
                         ids=lambda index: f"repeat-{index}-of-{count}")


def is_stress_item(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and REPETITION_FIXTURE in callspec.params


def prepare_items(items: list[pytest.Item], config: pytest.Config) -> None:
    """Tag stress items with their key and switch pytest-rerunfailures off for them."""
    reruns_loaded = config.pluginmanager.hasplugin(RERUNFAILURES)
    stress_items = [item for item in items if is_stress_item(item)]
    for item in stress_items:
        item.user_properties.append((STRESS_KEY, stress_key(item.nodeid)))
        if reruns_loaded:
            item.add_marker(pytest.mark.flaky(reruns=0), append=False)   # the closest flaky marker wins
    if reruns_loaded and stress_items and (overriding := _reruns_beating_markers(config)):
        stress_items[0].warn(pytest.PytestWarning(
            f"pytest-rerunfailures {overriding} still reruns failed stress items, which hides the failures a "
            f"stress run counts: drop it, or use --repeat (which zeroes it)"))


def _reruns_beating_markers(config: pytest.Config) -> str | None:
    """The rerunfailures option that a `flaky(reruns=0)` marker does not switch off, if given."""
    if getattr(config.option, "force_reruns", None):
        return "--force-reruns"
    if getattr(config.option, "reruns_mode", None) == "append" and getattr(config.option, "reruns", None):
        return "--reruns with --reruns-mode append"
    return None


def disable_global_reruns(config: pytest.Config) -> bool:
    """With --repeat every test is a stress item: zero rerunfailures' global settings too, since
    `--force-reruns` beats markers and `--reruns-mode append` adds `--reruns` to them.
    True if pytest-rerunfailures is loaded (reruns are off for stress items)."""
    if not config.pluginmanager.hasplugin(RERUNFAILURES):
        return False
    if config.getoption("stress_repeat"):
        config.option.reruns = 0
        if getattr(config.option, "force_reruns", None) is not None:
            config.option.force_reruns = 0
    return True


def json_path(config: pytest.Config) -> Path:
    given = config.getoption("stress_json")
    path = Path(given) if given else config.rootpath / DEFAULT_JSON
    return path if path.is_absolute() else config.invocation_params.dir / path


# -- the controller's tally -------------------------------------------------------------------

@dataclass
class _Run:
    """One repetition while its reports arrive."""
    key: str
    planned: int | None
    verdict: str | None = None                  # passed / failed / skipped (call, or a skipped setup)
    failed_call: pytest.TestReport | None = None
    error_reports: list[pytest.TestReport] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    duration: float | None = None


@dataclass
class StressTally:
    planned: int | None = None
    runs: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    failure_classes: Counter[str] = field(default_factory=Counter)
    error_classes: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)

    @property
    def failure_rate(self) -> Rate:
        from harness.stats import rate     # scipy: imported when a stress run reports, not at every pytest start
        return rate(self.failed, self.passed + self.failed)

    def duration_percentiles(self) -> dict[str, float]:
        from harness.stats import percentiles
        return percentiles(self.durations)

    def add(self, run: _Run) -> None:
        self.planned = self.planned or run.planned
        self.runs += 1
        if run.verdict is not None:
            setattr(self, run.verdict, getattr(self, run.verdict) + 1)
        if run.failed_call is not None:
            self.failure_classes[failure_label(run.failed_call, run.properties)] += 1
        if run.error_reports:
            self.errors += 1
            for report in run.error_reports:
                self.error_classes[failure_label(report, run.properties)] += 1
        if run.duration is not None:
            self.durations.append(run.duration)

    def to_dict(self) -> dict[str, Any]:
        return {"planned": self.planned, "runs": self.runs, "passed": self.passed, "failed": self.failed,
                "skipped": self.skipped, "errors": self.errors, "failure_rate": self.failure_rate.to_dict(),
                "failure_classes": dict(self.failure_classes.most_common()),
                "error_classes": dict(self.error_classes.most_common()),
                "call_duration_s": self.duration_percentiles()}

    def summary_lines(self, key: str) -> list[str]:
        planned = f" of {self.planned}" if self.planned else ""
        lines = [f"{key}: failed {self.failure_rate}",
                 f"  runs {self.runs}{planned}: passed {self.passed}, failed {self.failed}, "
                 f"errors {self.errors}, skipped {self.skipped}"]
        for title, classes in (("failure classes", self.failure_classes), ("error classes", self.error_classes)):
            if classes:
                lines.append(f"  {title}: " + ", ".join(f"{name} {n}" for name, n in classes.most_common()))
        if self.durations:
            lines.append("  call duration: " + ", ".join(f"{name} {seconds:.3f}s"
                                                         for name, seconds in self.duration_percentiles().items()))
        return lines


class StressStats:
    """Controller plugin: tallies stress reports, writes stress.json, prints the summary."""

    def __init__(self, path: Path, reruns_disabled: bool) -> None:
        self.path = path
        self.reruns_disabled = reruns_disabled
        self.tallies: dict[str, StressTally] = {}
        self._open: dict[tuple[str, str | None], _Run] = {}
        self.written: Path | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        where = origin(report)
        run = self._open.get(where)
        if run is None:
            if STRESS_KEY not in properties and planned_count(report.nodeid) is None:
                return
            run = self._open[where] = _Run(str(properties.get(STRESS_KEY) or stress_key(report.nodeid)),
                                           planned_count(report.nodeid))
        run.properties.update(properties)
        if is_worker_crash(report):               # xdist's report for a run its worker died in
            run.error_reports.append(report)
        elif report.when == "call":
            run.verdict = report.outcome
            run.duration = report.duration if report.outcome != "skipped" else None
            run.failed_call = report if report.failed else None
        elif report.failed:                       # setup or teardown
            run.error_reports.append(report)
        elif report.skipped:
            run.verdict = "skipped"
        if report.when == "teardown" or is_worker_crash(report):
            self.tallies.setdefault(run.key, StressTally()).add(self._open.pop(where))

    def to_dict(self) -> dict[str, Any]:
        return {"format": JSON_FORMAT, "confidence": 0.95, "reruns_disabled": self.reruns_disabled,
                "tests": {key: tally.to_dict() for key, tally in sorted(self.tallies.items())}}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.tallies:
            write_atomic(self.path, json.dumps(self.to_dict(), indent=2) + "\n")
            self.written = self.path

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.tallies:
            return
        terminalreporter.section("stress summary")
        if self.reruns_disabled:
            terminalreporter.write_line("reruns disabled for stress items (pytest-rerunfailures: reruns=0)")
        for key, tally in sorted(self.tallies.items()):
            for line in tally.summary_lines(key):
                terminalreporter.write_line(line)
        if self.written:
            terminalreporter.write_line(f"stress results: {self.written}")

