"""A finished run as the reports see it, and its exit status for CI.

Exit status:
  0  no known regression was reproduced (or its rate stayed under --max-rate)
  1  the known regression was reproduced (at or above --max-rate)
  2  infrastructure failure: no usable device, the adb server went away, every device lost
In a comparison the status is group B's (the candidate build: `--compare BUGGY FIXED` exits 0
when FIXED does not reproduce).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.repro.choices import EXIT_INFRASTRUCTURE, EXIT_OK, EXIT_REPRODUCED
from harness.repro.compare import CompareVerdict
from harness.repro.hunt import Bucket
from harness.repro.outcome import IterationRecord, RunStats, summarize



@dataclass(frozen=True)
class GroupResult:
    name: str                         # "" for a plain run, "A"/"B" in a comparison
    profile: str
    records: tuple[IterationRecord, ...]
    stats: RunStats
    buckets: tuple[Bucket, ...] = ()  # link flaps: rate per delay
    window: str = ""                  # link flaps: one-line summary of the buckets

    @property
    def label(self) -> str:
        return f"{self.name} ({self.profile})" if self.name else self.profile

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "profile": self.profile, **self.stats.to_dict()}


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    started_at: float
    finished_at: float
    command: tuple[str, ...]
    parameters: dict[str, Any]
    devices: tuple[dict[str, Any], ...]
    groups: tuple[GroupResult, ...]
    stop_reason: str
    infrastructure_failure: str | None = None     # why the run could not give a verdict
    comparison: CompareVerdict | None = None
    max_rate: float | None = None
    paths: dict[str, str] = field(default_factory=dict)   # name -> path relative to run_dir

    @property
    def records(self) -> tuple[IterationRecord, ...]:
        return tuple(sorted((r for g in self.groups for r in g.records), key=lambda r: r.index))

    @property
    def overall(self) -> RunStats:
        return summarize(self.records)

    @property
    def judged(self) -> GroupResult:
        """The group the exit status is about: B in a comparison, else the only group."""
        return self.groups[-1]

    def exit_status(self) -> tuple[int, str]:
        return exit_status(self.judged.stats, self.infrastructure_failure, self.max_rate)


def exit_status(stats: RunStats, infrastructure_failure: str | None = None,
                max_rate: float | None = None) -> tuple[int, str]:
    """(status, reason) of a run: see the module docstring."""
    if infrastructure_failure is not None:
        return EXIT_INFRASTRUCTURE, f"infrastructure failure: {infrastructure_failure}"
    if stats.trials == 0:
        return EXIT_INFRASTRUCTURE, "infrastructure failure: no iteration reached a verdict"
    if stats.reproductions == 0:
        return EXIT_OK, f"no known regression reproduced ({stats.rate})"
    if max_rate is not None and stats.rate.value < max_rate:
        return EXIT_OK, f"known regression rate {stats.rate.value:.1%} is under --max-rate {max_rate:.1%} ({stats.rate})"
    return EXIT_REPRODUCED, f"known regression reproduced: {stats.rate}"
