"""Race hunting: sweep a link flap's delay over buckets and measure the rate in each one.

Instead of restarting blindly, every iteration flaps eth0 with a delay taken from the sweep
(see stimulus.py for what the delay means in each window). The sweep visits the buckets round
by round, each round in a fresh seeded-random order, so every bucket gets the same share of
trials and no bucket always runs at the same moment of the run (host load, device warm-up).
After a reproduction the device is recovered (container restart) before its next attempt.

The result is the rate per bucket with its 95% interval: where the window is, and how wide.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.repro.outcome import IterationRecord
from harness.stats import Rate, rate

class Sweep:
    """Hands out delays (ms) in shuffled rounds; thread-safe (one call per iteration)."""

    def __init__(self, delays_ms: Iterable[float], seed: int | None = None) -> None:
        self.delays_ms = tuple(delays_ms)
        if not self.delays_ms:
            raise ValueError("a sweep needs at least one delay")
        self._rng = random.Random(seed)
        self._round: list[float] = []
        self._lock = threading.Lock()

    def next(self) -> float:
        with self._lock:
            if not self._round:
                self._round = list(self.delays_ms)
                self._rng.shuffle(self._round)
            return self._round.pop()


@dataclass(frozen=True)
class Bucket:
    delay_ms: float
    rate: Rate
    races: int = 0          # trials whose log showed the signature, network back or not: near the window

    def to_dict(self) -> dict[str, Any]:
        return {"delay_ms": self.delay_ms, "trials": self.rate.n, "reproductions": self.rate.k,
                "races_seen": self.races, "rate": self.rate.to_dict(), "rate_text": str(self.rate)}


def buckets(records: Iterable[IterationRecord], delays_ms: Iterable[float]) -> list[Bucket]:
    """The rate per delay (trials only: lost devices and boot timeouts say nothing about timing)."""
    trials: dict[float, list[IterationRecord]] = {d: [] for d in delays_ms}
    for r in records:
        if r.delay_ms is not None and r.outcome.is_trial:
            trials.setdefault(r.delay_ms, []).append(r)
    return [Bucket(d, rate(sum(1 for r in rs if r.reproduced), len(rs)), sum(1 for r in rs if r.signatures))
            for d, rs in sorted(trials.items())]


def window(found: list[Bucket]) -> str:
    """One line for a developer: where reproductions happened, and the best bucket."""
    hit = [b for b in found if b.rate.k]
    if not hit:
        tried = sum(b.rate.n for b in found)
        near = [f"{b.delay_ms:g}" for b in found if b.races]
        return (f"no reproduction in {tried} attempts over {len(found)} delay buckets"
                + (f"; the race happened (network recovered) at {', '.join(near)} ms" if near else ""))
    best = max(hit, key=lambda b: (b.rate.value, b.rate.low, b.races))
    low, high = min(b.delay_ms for b in hit), max(b.delay_ms for b in hit)
    return (f"reproduced with delays {low:g}-{high:g} ms; best bucket {best.delay_ms:g} ms: {best.rate}")
