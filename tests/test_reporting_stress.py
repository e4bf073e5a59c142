"""Stress runs (--repeat N, @pytest.mark.stress(n)): repetitions as items, exact counts, rates with
Wilson intervals in the terminal summary and in stress.json, under xdist too, reruns switched off."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

import harness.stats  # noqa: F401  numpy loads once per process: before pytester's in-process runs snapshot sys.modules
from harness.reporting.stress import StressStats, planned_count, stress_key

# Fails on odd runs, counted across processes (xdist workers) through a locked file.
FLAKY = """
import fcntl, pathlib

COUNTER = pathlib.Path(__file__).with_name("counter")

def next_run():
    with open(COUNTER, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        n = len(f.read()) + 1
        f.write("x")
    return n

def test_flaky():
    assert next_run() % 2 == 0, "odd run"
"""

WILSON_2_OF_4 = (0.15003898915214953, 0.8499610108478505)   # scipy binomtest(2, 4) Wilson 95%


def _stress_json(pytester: pytest.Pytester, name: str = "stress.json") -> dict:
    return json.loads((pytester.path / name).read_text())


def test_stress_key_drops_only_the_repetition():
    assert stress_key("t.py::test_x[repeat-2-of-5]") == "t.py::test_x"
    assert stress_key("t.py::C::test_x[a-1-repeat-10-of-10]") == "t.py::C::test_x[a-1]"
    assert stress_key("t.py::test_x[repeat]") == "t.py::test_x[repeat]"
    assert planned_count("t.py::test_x[a-repeat-3-of-7]") == 7
    assert planned_count("t.py::test_x[a]") is None


def test_repeat_counts_a_flaky_test_exactly(pytester: pytest.Pytester):
    pytester.makepyfile(test_flaky=FLAKY)
    result = pytester.runpytest("-p", "no:cacheprovider", "--repeat", "4", "--stress-json", "stress.json")
    result.assert_outcomes(passed=2, failed=2)
    assert (pytester.path / "counter").read_text() == "xxxx"
    result.stdout.fnmatch_lines([
        "stress: every test 4 times (--repeat)*",
        "FAILED test_flaky.py::test_flaky[[]repeat-1-of-4] - AssertionError: odd run",
        "FAILED test_flaky.py::test_flaky[[]repeat-3-of-4] - AssertionError: odd run",
    ], consecutive=False)
    result.stdout.fnmatch_lines([
        "*= stress summary =*",
        "*",
        "test_flaky.py::test_flaky: failed 2/4 (50.0%, 95% CI 15.0%-85.0%)",
        "  runs 4 of 4: passed 2, failed 2, errors 0, skipped 0",
        "  failure classes: AssertionError 2",
        "  call duration: p50 *s, p90 *s, p99 *s, max *s",
        f"stress results: {pytester.path / 'stress.json'}",
    ])
    test = _stress_json(pytester)["tests"]["test_flaky.py::test_flaky"]
    assert {k: test[k] for k in ("planned", "runs", "passed", "failed", "errors", "skipped")} == {
        "planned": 4, "runs": 4, "passed": 2, "failed": 2, "errors": 0, "skipped": 0}
    rate = test["failure_rate"]
    assert (rate["k"], rate["n"], rate["rate"], rate["method"]) == (2, 4, 0.5, "wilson")
    assert (rate["ci_low"], rate["ci_high"]) == pytest.approx(WILSON_2_OF_4)
    assert test["failure_classes"] == {"AssertionError": 2}
    assert set(test["call_duration_s"]) == {"p50", "p90", "p99", "max"}


def test_repeat_under_xdist_counts_failures_errors_and_known_regressions(pytester: pytest.Pytester):
    pytester.makepyfile(test_flaky=FLAKY)
    pytester.makepyfile(test_mixed="""
        import pytest
        from harness.errors import DeviceLost

        @pytest.fixture
        def flaky_device(stress_repetition):
            if stress_repetition == 2:
                raise DeviceLost("connection dropped in the middle of an exchange", serial="emulator-5554")

        def test_setup_trouble(flaky_device):
            pass

        def test_known(stress_repetition):
            assert stress_repetition > 1, "KNOWN eth0-ebusy-startup-race: eth0 left every netd network"
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--repeat", "4")
    result.assert_outcomes(passed=8, failed=3, errors=1)
    result.stdout.fnmatch_lines([
        "test_flaky.py::test_flaky: failed 2/4 (50.0%, 95% CI 15.0%-85.0%)",
        "  runs 4 of 4: passed 2, failed 2, errors 0, skipped 0",
        "*",
        "*",
        "test_mixed.py::test_known: failed 1/4 (25.0%, 95% CI 4.6%-69.9%)",
        "  runs 4 of 4: passed 3, failed 1, errors 0, skipped 0",
        "  failure classes: KNOWN eth0-ebusy-startup-race 1",
        "*",
        "test_mixed.py::test_setup_trouble: failed 0/3 (0.0%, 95% upper bound 100.0% (rule of three))",
        "  runs 4 of 4: passed 3, failed 0, errors 1, skipped 0",
        "  error classes: device-lost 1",
    ])
    tests = _stress_json(pytester, "reports/stress.json")["tests"]
    assert sorted(tests) == ["test_flaky.py::test_flaky", "test_mixed.py::test_known", "test_mixed.py::test_setup_trouble"]
    assert (tests["test_flaky.py::test_flaky"]["passed"], tests["test_flaky.py::test_flaky"]["failed"]) == (2, 2)
    assert tests["test_mixed.py::test_setup_trouble"]["error_classes"] == {"device-lost": 1}
    assert tests["test_mixed.py::test_setup_trouble"]["failure_rate"]["method"] == "rule-of-three"
    assert tests["test_mixed.py::test_known"]["failure_classes"] == {"KNOWN eth0-ebusy-startup-race": 1}


def test_stress_marker_repeats_only_its_test_and_beats_repeat(pytester: pytest.Pytester):
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.stress(3)
        @pytest.mark.parametrize("kind", ["cold"])
        def test_marked(kind, stress_repetition):
            assert 1 <= stress_repetition <= 3

        def test_plain(stress_repetition):
            assert stress_repetition == 1
    """)
    collected = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    collected.stdout.fnmatch_lines([
        "test_marked.py::test_marked[[]cold-repeat-1-of-3]",
        "test_marked.py::test_marked[[]cold-repeat-2-of-3]",
        "test_marked.py::test_marked[[]cold-repeat-3-of-3]",
        "test_marked.py::test_plain",
    ])
    with_repeat = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q", "--repeat", "2")
    with_repeat.stdout.fnmatch_lines(["test_marked.py::test_marked[[]cold-repeat-3-of-3]",
                                      "test_marked.py::test_plain[[]repeat-2-of-2]"], consecutive=False)

    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["test_marked.py::test_marked[[]cold]: failed 0/3 (0.0%, 95% upper bound 100.0% (rule of three))",
                                 "  runs 3 of 3: passed 3, failed 0, errors 0, skipped 0"])
    assert list(_stress_json(pytester, "reports/stress.json")["tests"]) == ["test_marked.py::test_marked[cold]"]


def test_a_run_without_stress_items_writes_no_stress_results(pytester: pytest.Pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "stress summary" not in result.stdout.str()
    assert not (pytester.path / "reports" / "stress.json").exists()


def test_bad_stress_counts_are_clear_errors(pytester: pytest.Pytester):
    pytester.makepyfile(test_bad="""
        import pytest

        @pytest.mark.stress("many")
        def test_bad():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED           # a collection error stops the run
    result.stdout.fnmatch_lines(["*test_bad.py::test_bad: @pytest.mark.stress(n) expects one positive int n, "
                                 "got args ('many',) kwargs {}"])
    usage = pytester.runpytest("-p", "no:cacheprovider", "--repeat", "0")
    assert usage.ret == pytest.ExitCode.USAGE_ERROR
    usage.stderr.fnmatch_lines(["*--repeat: expected a positive number of repetitions, got '0'"])


def test_reruns_are_switched_off_for_stress_items(pytester: pytest.Pytester):
    pytester.makepyfile(test_always="""
        import pytest

        @pytest.mark.flaky(reruns=3)
        def test_always_fails():
            assert False, "always"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--repeat", "2", "--reruns", "3")
    assert result.parseoutcomes() == {"failed": 2}     # no "rerun"
    result.stdout.fnmatch_lines(["stress: every test 2 times (--repeat), pytest-rerunfailures reruns forced to 0",
                                 "*",
                                 "reruns disabled for stress items (pytest-rerunfailures: reruns=0)"], consecutive=False)


def test_stress_marker_beats_the_tests_own_flaky_marker_and_leaves_others_alone(pytester: pytest.Pytester):
    pytester.makepyfile(test_mixed="""
        import pytest

        @pytest.mark.stress(2)
        @pytest.mark.flaky(reruns=3)
        def test_stressed():
            assert False, "always"

        @pytest.mark.flaky(reruns=1)
        def test_ordinary():
            assert False, "always"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.parseoutcomes() == {"failed": 3, "rerun": 1}     # only the ordinary test was rerun, once
    result.stdout.fnmatch_lines(["reruns disabled for stress items (pytest-rerunfailures: reruns=0)",
                                 "test_mixed.py::test_stressed: failed 2/2 *"])


def test_force_reruns_with_stress_markers_is_warned_about(pytester: pytest.Pytester):
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.stress(2)
        def test_marked():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--force-reruns", "2")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*PytestWarning: pytest-rerunfailures --force-reruns still reruns failed stress "
                                 "items, which hides the failures a stress run counts: drop it, or use --repeat *"])


def _report(nodeid: str, when: str, outcome: str, longrepr: str | None = None, **extra) -> pytest.TestReport:
    properties = [("stress_key", stress_key(nodeid))] if when != "???" else []
    return pytest.TestReport(nodeid, ("t.py", 1, "test"), {}, outcome, longrepr, when,
                             user_properties=properties, **extra)


def test_worker_crashes_and_teardown_errors_count_as_errors_not_trials(tmp_path):
    stats = StressStats(tmp_path / "stress.json", reruns_disabled=False)
    crashed, survived = "t.py::test_race[repeat-1-of-2]", "t.py::test_race[repeat-2-of-2]"
    worker = SimpleNamespace(workerinput={"workerid": "gw0"})
    for report in (
        _report(crashed, "setup", "passed", worker_id="gw0"),
        _report(survived, "setup", "passed", worker_id="gw1"),
        _report(crashed, "???", "failed", f"worker 'gw0' crashed while running '{crashed}'", node=worker),
        _report(survived, "call", "passed", worker_id="gw1"),
        _report(survived, "teardown", "failed", "x", worker_id="gw1", harness_failure_label="device-lost"),
    ):
        stats.pytest_runtest_logreport(report)
    tally = stats.tallies["t.py::test_race"]
    assert (tally.planned, tally.runs, tally.passed, tally.failed, tally.errors) == (2, 2, 1, 0, 2)
    assert tally.error_classes == {"worker crash": 1, "device-lost": 1}
    assert str(tally.failure_rate) == "0/1 (0.0%, 95% upper bound 100.0% (rule of three))"
    stats.pytest_sessionfinish(session=None)  # type: ignore[arg-type]
    assert json.loads((tmp_path / "stress.json").read_text())["tests"]["t.py::test_race"]["errors"] == 2
