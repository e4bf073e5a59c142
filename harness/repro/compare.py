"""A/B verdict between two groups (two profiles of virtual devices, or two groups of serials):
Fisher's exact test (two-sided) on reproductions out of trials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.repro.outcome import RunStats
from harness.stats import Comparison, compare

ALPHA = 0.001          # what "separated" means in the verdict (and the default iteration count's aim)


@dataclass(frozen=True)
class CompareVerdict:
    label_a: str
    label_b: str
    comparison: Comparison
    alpha: float = ALPHA

    @property
    def significant(self) -> bool:
        return self.comparison.differs(self.alpha)

    @property
    def text(self) -> str:
        a, b, p = self.comparison.a, self.comparison.b, self.comparison.p_value
        counts = f"{self.label_a}: {a}; {self.label_b}: {b}; Fisher's exact p = {p:.3g}"
        if not self.significant:
            return f"no difference shown at p < {self.alpha:g} ({counts})"
        better, worse = (self.label_b, self.label_a) if b.value < a.value else (self.label_a, self.label_b)
        return f"{better} reproduces less than {worse} (p < {self.alpha:g}; {counts})"

    def to_dict(self) -> dict[str, Any]:
        return {"label_a": self.label_a, "label_b": self.label_b, "alpha": self.alpha, "significant": self.significant,
                "verdict": self.text, **self.comparison.to_dict()}


def verdict(label_a: str, stats_a: RunStats, label_b: str, stats_b: RunStats, alpha: float = ALPHA) -> CompareVerdict:
    comparison = compare(stats_a.reproductions, stats_a.trials, stats_b.reproductions, stats_b.trials)
    return CompareVerdict(label_a, label_b, comparison, alpha)
