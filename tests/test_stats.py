import pytest

from harness.stats import compare, percentiles, rate


def test_wilson_interval_matches_known_values():
    r = rate(19, 200)
    assert (r.low, r.high) == pytest.approx((0.0617, 0.1436), abs=5e-4)
    assert r.method == "wilson"
    assert str(r) == "19/200 (9.5%, 95% CI 6.2%-14.4%)"


def test_zero_events_use_rule_of_three():
    r = rate(0, 300)
    assert r.method == "rule-of-three"
    assert r.high == pytest.approx(0.01)
    assert "rule of three" in str(r)


def test_rate_rejects_impossible_counts():
    with pytest.raises(ValueError):
        rate(5, 3)


def test_fisher_separates_buggy_and_fixed():
    c = compare(60, 200, 0, 200)
    assert c.p_value < 1e-6 and c.differs(0.001)
    same = compare(10, 100, 11, 100)
    assert not same.differs()


def test_percentiles_nearest_rank():
    values = list(range(1, 101))
    assert percentiles(values) == {"p50": 50, "p90": 90, "p99": 99, "max": 100}
    assert percentiles([]) == {}
