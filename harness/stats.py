"""Rates with honest intervals, for race reproduction and stress runs.

scipy does the statistics (Wilson interval via `binomtest`, Fisher's exact test): a well-kept
library is easier to trust than hand-written formulas for the tails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy.stats import binomtest, fisher_exact


@dataclass(frozen=True)
class Rate:
    """k events in n trials, with a 95% interval (Wilson; rule of three when k == 0)."""

    k: int
    n: int
    low: float
    high: float
    method: str

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else 0.0

    def __str__(self) -> str:
        if self.n == 0:
            return "no trials"
        bound = (f"95% upper bound {self.high:.1%} (rule of three)" if self.method == "rule-of-three"
                 else f"95% CI {self.low:.1%}-{self.high:.1%}")
        return f"{self.k}/{self.n} ({self.value:.1%}, {bound})"

    def to_dict(self) -> dict:
        return {"k": self.k, "n": self.n, "rate": self.value, "ci_low": self.low,
                "ci_high": self.high, "method": self.method, "confidence": 0.95}


def rate(k: int, n: int) -> Rate:
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Rate(0, 0, 0.0, 1.0, "none")
    if k == 0:
        # Rule of three: with no events in n trials the 95% upper bound is about 3/n.
        return Rate(0, n, 0.0, min(1.0, 3.0 / n), "rule-of-three")
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return Rate(k, n, float(ci.low), float(ci.high), "wilson")


@dataclass(frozen=True)
class Comparison:
    a: Rate
    b: Rate
    p_value: float
    odds_ratio: float

    def differs(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha

    def to_dict(self) -> dict:
        return {"a": self.a.to_dict(), "b": self.b.to_dict(), "p_value": self.p_value,
                "odds_ratio": None if math.isinf(self.odds_ratio) or math.isnan(self.odds_ratio)
                else self.odds_ratio, "test": "fisher-exact two-sided"}


def compare(k_a: int, n_a: int, k_b: int, n_b: int) -> Comparison:
    """Fisher's exact test (two-sided) between two reproduction counts."""
    result = fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]], alternative="two-sided")
    return Comparison(rate(k_a, n_a), rate(k_b, n_b), float(result.pvalue), float(result.statistic))


def percentiles(values: Sequence[float], points: Sequence[float] = (50, 90, 99)) -> dict[str, float]:
    """Nearest-rank percentiles plus max; empty input gives an empty dict."""
    if not values:
        return {}
    ordered = sorted(values)
    out = {}
    for p in points:
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        out[f"p{p:g}"] = ordered[rank - 1]
    out["max"] = ordered[-1]
    return out
