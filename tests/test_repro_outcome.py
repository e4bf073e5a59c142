"""Outcome counting, the rate, the exit status, delay buckets and the A/B verdict (pure)."""

from __future__ import annotations

import pytest

from harness.repro.compare import verdict
from harness.repro.choices import parse_delays
from harness.repro.hunt import Sweep, buckets, window
from harness.repro.outcome import IterationRecord, Outcome, summarize
from harness.repro.choices import EXIT_INFRASTRUCTURE, EXIT_OK, EXIT_REPRODUCED
from harness.repro.result import exit_status


def record(index: int, outcome: Outcome, *, ttn: float | None = None, delay: float | None = None,
           signatures: tuple[str, ...] = ()) -> IterationRecord:
    if outcome is Outcome.KNOWN_REGRESSION and not signatures:
        signatures = ("eth0-ebusy-startup-race",)
    return IterationRecord(index=index, serial="127.0.0.1:5555", group="", method="container", outcome=outcome,
                           started_at=1_700_000_000.0 + index, duration_s=1.0, ttn_s=ttn, signatures=signatures,
                           delay_ms=delay)


def test_rate_counts_only_product_verdicts():
    records = ([record(i, Outcome.OK, ttn=1.0 + i / 10) for i in range(6)]
               + [record(10, Outcome.KNOWN_REGRESSION), record(11, Outcome.KNOWN_REGRESSION),
                  record(12, Outcome.NO_NETWORK), record(13, Outcome.BOOT_TIMEOUT), record(14, Outcome.DEVICE_LOST)])
    stats = summarize(records)
    assert stats.counts == {"ok": 6, "known-regression": 2, "no-network": 1, "boot-timeout": 1, "device-lost": 1}
    assert (stats.trials, stats.reproductions, stats.iterations) == (9, 2, 11)
    assert str(stats.rate) == "2/9 (22.2%, 95% CI 6.3%-54.7%)"
    assert stats.signatures == {"eth0-ebusy-startup-race": 2}
    # nearest-rank percentiles of 1.0 .. 1.5
    assert stats.ttn.to_dict() == {"count": 6, "p50": 1.2, "p90": 1.5, "p99": 1.5, "max": 1.5,
                                   "mean": pytest.approx(1.25)}


def test_zero_reproductions_give_the_rule_of_three_bound():
    stats = summarize([record(i, Outcome.OK, ttn=1.0) for i in range(30)])
    assert stats.rate.method == "rule-of-three" and stats.rate.high == pytest.approx(0.1)
    assert str(stats.rate) == "0/30 (0.0%, 95% upper bound 10.0% (rule of three))"


def test_an_ok_iteration_with_a_signature_is_a_recovery_not_a_reproduction():
    stats = summarize([record(1, Outcome.OK, ttn=2.0, signatures=("eth0-ebusy-startup-race",))])
    assert (stats.reproductions, stats.recovered) == (0, 1)


def test_record_round_trips_through_its_dict():
    original = record(3, Outcome.KNOWN_REGRESSION, delay=50.0)
    data = original.to_dict()
    assert data["outcome"] == "known-regression" and data["signatures"] == ["eth0-ebusy-startup-race"]
    assert IterationRecord.from_dict(data) == original


@pytest.mark.parametrize("outcomes, max_rate, expected", [
    ([Outcome.OK] * 10, None, EXIT_OK),
    ([Outcome.OK] * 9 + [Outcome.KNOWN_REGRESSION], None, EXIT_REPRODUCED),
    ([Outcome.OK] * 9 + [Outcome.KNOWN_REGRESSION], 0.2, EXIT_OK),          # 10% < 20%
    ([Outcome.OK] * 9 + [Outcome.KNOWN_REGRESSION], 0.1, EXIT_REPRODUCED),  # 10% is not under 10%
    ([Outcome.OK] * 5 + [Outcome.NO_NETWORK] * 5, None, EXIT_OK),           # no known regression
    ([Outcome.DEVICE_LOST] * 3 + [Outcome.BOOT_TIMEOUT], None, EXIT_INFRASTRUCTURE),   # no verdict at all
    ([], None, EXIT_INFRASTRUCTURE),
])
def test_exit_status(outcomes, max_rate, expected):
    stats = summarize([record(i, o) for i, o in enumerate(outcomes)])
    status, reason = exit_status(stats, None, max_rate)
    assert status == expected, reason


def test_an_infrastructure_failure_wins_over_any_verdict():
    stats = summarize([record(1, Outcome.KNOWN_REGRESSION)])
    status, reason = exit_status(stats, "adb server at 127.0.0.1:5037 stopped answering")
    assert status == EXIT_INFRASTRUCTURE and "adb server" in reason


@pytest.mark.parametrize("spec, expected", [
    ("0:400:50", (0, 50, 100, 150, 200, 250, 300, 350, 400)),
    ("0:100:30", (0, 30, 60, 90)),
    ("0,10, 25,50", (0, 10, 25, 50)),
    ("5", (5,)),
    ("0.5:1.5:0.5", (0.5, 1.0, 1.5)),
])
def test_parse_delays(spec, expected):
    assert parse_delays(spec) == tuple(float(v) for v in expected)


@pytest.mark.parametrize("spec, message", [
    ("0:400:0", "STEP > 0"), ("400:0:50", "STOP >= START"), ("a,b", "comma-separated"), ("", "no delay"),
    ("0:100000:50", "at most"), ("-5", "0-60000 ms"), ("70000", "0-60000 ms"),
])
def test_parse_delays_rejects_bad_input_with_what_was_expected(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_delays(spec)


def test_sweep_gives_every_bucket_once_per_round():
    sweep = Sweep((0.0, 50.0, 100.0), seed=7)
    first, second = [sweep.next() for _ in range(3)], [sweep.next() for _ in range(3)]
    assert sorted(first) == sorted(second) == [0.0, 50.0, 100.0]


def test_buckets_and_window():
    records = ([record(i, Outcome.OK, delay=0.0) for i in range(4)]
               + [record(10 + i, Outcome.KNOWN_REGRESSION, delay=50.0) for i in range(3)]
               + [record(20, Outcome.OK, delay=50.0), record(21, Outcome.DEVICE_LOST, delay=50.0)])
    found = buckets(records, (0.0, 50.0, 100.0))
    assert [(b.delay_ms, b.rate.k, b.rate.n) for b in found] == [(0.0, 0, 4), (50.0, 3, 4), (100.0, 0, 0)]
    assert window(found) == "reproduced with delays 50-50 ms; best bucket 50 ms: 3/4 (75.0%, 95% CI 30.1%-95.4%)"
    assert window(buckets(records[:4], (0.0,))) == "no reproduction in 4 attempts over 1 delay buckets"


def test_compare_verdict_separates_buggy_from_fixed():
    buggy = summarize([record(i, Outcome.KNOWN_REGRESSION if i % 4 == 0 else Outcome.OK) for i in range(120)])
    fixed = summarize([record(i, Outcome.OK) for i in range(120)])
    result = verdict("A (buggy)", buggy, "B (fixed)", fixed)
    assert result.significant and result.comparison.p_value < 1e-6
    assert result.text.startswith("B (fixed) reproduces less than A (buggy) (p < 0.001;")
    same = verdict("A", fixed, "B", fixed)
    assert not same.significant and same.text.startswith("no difference shown at p < 0.001")
