"""Race hunting: choose each link flap's timing, learn from the outcomes, report the rate per bucket.

A bucket is one timing of the flap (stimulus.py says what the numbers mean in each window):

    delay_ms   where the flap starts (after `start`, or after the framework re-provisioned eth0)
    down_ms    how long eth0 stays down (None: the one down time of a one-parameter sweep)

Two samplers hand out buckets, one call per iteration, from any device's thread:

  Sweep    one parameter, round by round in a fresh seeded order: every bucket gets the same
           share of trials (a map of the window, for `--window idle` and fixed-down sweeps)
  Bandit   a grid of delays x down times that learns: it keeps the reproduction rate of every
           bucket with its 95% interval and spends each attempt on the most promising bucket,
           the highest upper bound among the buckets still in the race. A bucket whose upper bound
           falls below the best lower bound is dropped (successive elimination); untried buckets
           are tried first, in a seeded order; attempts still running count as misses, so
           devices working in parallel spread over the buckets instead of piling on one.
           Among equal bounds, races seen (the signature logged, network back) break the tie:
           they mean the flap was near the window.

The result is the rate per bucket with its 95% interval: where the window is, and how wide.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from scipy.stats import binomtest

from harness.repro.outcome import IterationRecord
from harness.stats import Rate, rate


@dataclass(frozen=True, order=True)
class Point:
    """One bucket's timing of the flap (ms)."""

    delay_ms: float
    down_ms: float | None = None

    def label(self) -> str:
        return f"{self.delay_ms:g}" if self.down_ms is None else f"{self.delay_ms:g}/{self.down_ms:g}"


class Sampler(Protocol):
    points: tuple[Point, ...]

    def draw(self) -> Point: ...

    def observe(self, point: Point, record: IterationRecord) -> None: ...


class Sweep:
    """Hands out delays (ms) in shuffled rounds; thread-safe (one call per iteration)."""

    def __init__(self, delays_ms: Iterable[float], seed: int | None = None, down_ms: float | None = None) -> None:
        self.delays_ms = tuple(delays_ms)
        if not self.delays_ms:
            raise ValueError("a sweep needs at least one delay")
        self.points = tuple(Point(d, down_ms) for d in self.delays_ms)
        self._down_ms = down_ms
        self._rng = random.Random(seed)
        self._round: list[float] = []
        self._lock = threading.Lock()

    def next(self) -> float:
        with self._lock:
            if not self._round:
                self._round = list(self.delays_ms)
                self._rng.shuffle(self._round)
            return self._round.pop()

    def draw(self) -> Point:
        return Point(self.next(), self._down_ms)

    def observe(self, point: Point, record: IterationRecord) -> None:
        """Rounds do not learn: every bucket gets its share whatever happened."""


@dataclass
class _Arm:
    point: Point
    order: float                  # seeded tie-break: the order untried buckets are tried in
    trials: int = 0
    reproductions: int = 0
    races: int = 0
    pending: int = 0

    def upper(self) -> float:
        return wilson(self.reproductions, self.trials + self.pending)[1]

    def lower(self) -> float:
        return wilson(self.reproductions, self.trials)[0]

    def race_upper(self) -> float:
        return wilson(self.races, self.trials + self.pending)[1]


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson interval at every k, (0, 1) untried. The bandit scores with it: the reports' rule
    of three at k == 0 (3/n) would keep a bucket that never reproduced at 100% for three trials."""
    if n == 0:
        return 0.0, 1.0
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


class Bandit:
    """Delays x down times; each draw goes to the most promising bucket (see the module doc)."""

    def __init__(self, delays_ms: Iterable[float], downs_ms: Iterable[float], seed: int | None = None) -> None:
        delays, downs = tuple(dict.fromkeys(delays_ms)), tuple(dict.fromkeys(downs_ms))
        if not delays or not downs:
            raise ValueError("a hunt needs at least one delay and one down time")
        self.points = tuple(Point(d, w) for d in delays for w in downs)
        rng = random.Random(seed)
        self._arms = {p: _Arm(p, rng.random()) for p in self.points}
        self._lock = threading.Lock()

    def draw(self) -> Point:
        with self._lock:
            arm = max(self._candidates(), key=lambda a: (a.upper(), a.race_upper(), -a.trials, a.order))
            arm.pending += 1
            return arm.point

    def _candidates(self) -> list[_Arm]:
        arms = list(self._arms.values())
        best_lower = max(a.lower() for a in arms)
        return [a for a in arms if a.upper() >= best_lower] or arms

    def observe(self, point: Point, record: IterationRecord) -> None:
        with self._lock:
            arm = self._arms.get(point)
            if arm is None:
                return
            arm.pending = max(0, arm.pending - 1)
            if record.outcome.is_trial:         # lost devices say nothing about the timing
                arm.trials += 1
                arm.reproductions += record.reproduced
                arm.races += bool(record.signatures)

    def active(self) -> tuple[Point, ...]:
        """Buckets still in the race (not eliminated), best first."""
        with self._lock:
            chosen = sorted(self._candidates(), key=lambda a: (-a.upper(), -a.trials, a.order))
            return tuple(a.point for a in chosen)


@dataclass(frozen=True)
class Bucket:
    delay_ms: float
    rate: Rate
    races: int = 0          # trials whose log showed the signature, network back or not: near the window
    down_ms: float | None = None

    @property
    def label(self) -> str:
        return Point(self.delay_ms, self.down_ms).label()

    def to_dict(self) -> dict[str, Any]:
        return {"delay_ms": self.delay_ms, "down_ms": self.down_ms, "trials": self.rate.n,
                "reproductions": self.rate.k, "races_seen": self.races, "rate": self.rate.to_dict(),
                "rate_text": str(self.rate)}


def _point(value: float | Point) -> Point:
    return value if isinstance(value, Point) else Point(float(value))


def buckets(records: Iterable[IterationRecord], points: Iterable[float | Point]) -> list[Bucket]:
    """The rate per bucket (trials only: lost devices and boot timeouts say nothing about timing).
    `points` are the buckets to list even when untried: delays (ms) or Points."""
    trials: dict[Point, list[IterationRecord]] = {_point(p): [] for p in points}
    for r in records:
        if r.delay_ms is not None and r.outcome.is_trial:
            trials.setdefault(Point(r.delay_ms, r.down_ms), []).append(r)
    return [Bucket(p.delay_ms, rate(sum(1 for r in rs if r.reproduced), len(rs)),
                   sum(1 for r in rs if r.signatures), p.down_ms)
            for p, rs in sorted(trials.items(), key=lambda item: (item[0].delay_ms, item[0].down_ms or 0.0))]


def best(found: Iterable[Bucket]) -> Bucket | None:
    """The bucket to aim at: highest rate, then the tighter interval, then races seen."""
    tried = [b for b in found if b.rate.n]
    return max(tried, key=lambda b: (b.rate.value, b.rate.low, b.races)) if tried else None


def window(found: list[Bucket]) -> str:
    """One line for a developer: where reproductions happened, and the best bucket."""
    two_d = any(b.down_ms is not None for b in found)
    unit = "delay/down" if two_d else "delay"
    hit = [b for b in found if b.rate.k]
    if not hit:
        tried = sum(b.rate.n for b in found)
        near = [b.label for b in found if b.races]
        return (f"no reproduction in {tried} attempts over {len(found)} {unit} buckets"
                + (f"; the race happened (network recovered) at {', '.join(near)} ms" if near else ""))
    top = best(hit)
    assert top is not None
    if two_d:
        return (f"reproduced in {len(hit)} of {sum(1 for b in found if b.rate.n)} tried delay/down buckets; "
                f"best bucket delay {top.delay_ms:g} ms, down {top.down_ms:g} ms: {top.rate}")
    low, high = min(b.delay_ms for b in hit), max(b.delay_ms for b in hit)
    return f"reproduced with delays {low:g}-{high:g} ms; best bucket {top.delay_ms:g} ms: {top.rate}"
