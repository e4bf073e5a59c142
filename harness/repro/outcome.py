"""What one reproduction iteration ended as, and what a set of iterations adds up to.

An iteration ends in exactly one `Outcome`:

  ok                the device had a network again (time to network recorded)
  known-regression  no network, and the iteration's logcat shows a known signature (triage):
                    a reproduction
  no-network        no network for another reason: the connectivity check names the first
                    failing layer
  boot-timeout      the device did not come back / finish booting within the profile's bound
  device-lost       the device went away (offline, gone) and the iteration could not finish

The first three are verdicts about the product and make the trials of the reproduction rate;
the last two are infrastructure and are counted, shown, but left out of the rate (a lost device
says nothing about the race).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from harness.stats import Rate, percentiles, rate


class Outcome(StrEnum):
    OK = "ok"
    KNOWN_REGRESSION = "known-regression"
    NO_NETWORK = "no-network"
    BOOT_TIMEOUT = "boot-timeout"
    DEVICE_LOST = "device-lost"

    @property
    def is_trial(self) -> bool:
        """A verdict about the product (counts in the rate's denominator)."""
        return self in (Outcome.OK, Outcome.KNOWN_REGRESSION, Outcome.NO_NETWORK)

    @property
    def is_failure(self) -> bool:
        return self is not Outcome.OK


OUTCOMES = tuple(Outcome)


@dataclass(frozen=True)
class IterationRecord:
    """One iteration, as summary.json and the reports keep it."""

    index: int                        # 1-based, in the order iterations started (run-wide)
    serial: str
    group: str                        # compare: "A" / "B"; otherwise ""
    method: str                       # container | framework | reboot | link-flap
    outcome: Outcome
    started_at: float                 # host wall clock (seconds since the epoch)
    duration_s: float                 # the whole iteration, recovery included
    ttn_s: float | None = None        # stimulus issued -> network up (ok only), host seconds
    boot_s: float | None = None       # stimulus issued -> boot completed (restarts only)
    signatures: tuple[str, ...] = ()  # signature ids triage found in the iteration's logcat
    reason: str = ""                  # one line: why this outcome
    failing_layer: str | None = None  # first failing connectivity layer (no network)
    delay_ms: float | None = None     # link flaps: the swept delay (stimulus.py: its meaning per window)
    artifacts: str | None = None      # directory of the failure artifacts, relative to the run dir
    error: dict[str, Any] | None = None   # the harness error behind boot-timeout / device-lost
    down_ms: float | None = None      # link flaps: how long eth0 stayed down (None: idle window, delay is it)

    @property
    def reproduced(self) -> bool:
        return self.outcome is Outcome.KNOWN_REGRESSION

    @property
    def recovered_from(self) -> tuple[str, ...]:
        """Signatures seen in an iteration that still ended with a network (a transient race)."""
        return self.signatures if self.outcome is Outcome.OK else ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["signatures"] = list(self.signatures)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IterationRecord:
        values = dict(data)
        values["outcome"] = Outcome(values["outcome"])
        values["signatures"] = tuple(values.get("signatures", ()))
        return cls(**values)


@dataclass(frozen=True)
class TimeToNetwork:
    """Distribution of the time to network of the ok iterations (host seconds)."""

    count: int
    points: dict[str, float] = field(default_factory=dict)   # p50, p90, p99, max (nearest rank)
    mean: float | None = None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> TimeToNetwork:
        values = [float(s) for s in seconds]
        return cls(len(values), percentiles(values), sum(values) / len(values) if values else None)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, **{k: self.points.get(k) for k in ("p50", "p90", "p99", "max")},
                "mean": self.mean}

    def render(self) -> str:
        if not self.count:
            return "no iteration reached the network"
        p = self.points
        return (f"p50 {p['p50']:.2f}s  p90 {p['p90']:.2f}s  p99 {p['p99']:.2f}s  max {p['max']:.2f}s"
                f"  (n={self.count})")


@dataclass(frozen=True)
class RunStats:
    """Counts per outcome, the reproduction rate with its interval, the time-to-network spread."""

    counts: dict[str, int]
    trials: int
    reproductions: int
    rate: Rate
    ttn: TimeToNetwork
    signatures: dict[str, int]        # signature id -> reproductions naming it
    recovered: int                    # ok iterations whose log still showed a signature

    @property
    def iterations(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "counts": dict(self.counts), "trials": self.trials,
                "reproductions": self.reproductions, "rate": self.rate.to_dict(),
                "rate_text": str(self.rate), "ttn_s": self.ttn.to_dict(),
                "signatures": dict(self.signatures), "recovered": self.recovered}


def summarize(records: Iterable[IterationRecord]) -> RunStats:
    records = list(records)
    counts = Counter(r.outcome for r in records)
    trials = sum(n for outcome, n in counts.items() if outcome.is_trial)
    reproduced = [r for r in records if r.reproduced]
    signatures = Counter(s for r in reproduced for s in r.signatures)
    return RunStats(
        counts={str(o): counts.get(o, 0) for o in OUTCOMES},
        trials=trials,
        reproductions=len(reproduced),
        rate=rate(len(reproduced), trials),
        ttn=TimeToNetwork.of([r.ttn_s for r in records if r.outcome is Outcome.OK and r.ttn_s is not None]),
        signatures=dict(signatures.most_common()),
        recovered=sum(1 for r in records if r.recovered_from))
