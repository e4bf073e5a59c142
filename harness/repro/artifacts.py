"""The evidence of one failing iteration, written under reports/<run id>/iterations/<n>/.

    logcat.txt               the iteration's logcat excerpt (threadtime, gap/reboot markers kept)
    snapshot-before.txt      network state before the stimulus (and .json)
    snapshot-after.txt       network state when the iteration gave up (and .json)
    snapshot-diff.txt        what changed, networks named by interface (and .json)
    timeline.txt             harness actions, adb transport events and device log lines, in host
                             time order (and .json)
    verdict.txt              the layered connectivity check: every layer, evidence of the first
                             failing one (and .json)
    triage.json              the signatures found, with their evidence lines
    record.json              the iteration record as summary.json has it
    problems.txt             what could not be collected, and why (only when something failed)

Collecting never raises: a device that is gone still leaves the files that could be written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.logs.buffer import LogLine
from harness.logs.triage import TriageResult
from harness.net.connectivity import Verdict
from harness.net.snapshot import NetworkSnapshot, diff
from harness.repro.outcome import IterationRecord
from harness.timeline import Timeline

ITERATIONS_DIR = "iterations"


@dataclass
class FailureEvidence:
    """What an iteration gathered; written only when the iteration failed."""

    log_lines: list[LogLine] = field(default_factory=list)
    before: NetworkSnapshot | None = None
    after: NetworkSnapshot | None = None
    timeline: Timeline | None = None
    verdict: Verdict | None = None
    triage: TriageResult | None = None
    problems: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        self.problems.append(problem)


def iteration_dir(run_dir: Path, index: int) -> Path:
    return run_dir / ITERATIONS_DIR / str(index)


def write_artifacts(run_dir: Path, record: IterationRecord, evidence: FailureEvidence) -> str:
    """Write the files; returns the directory relative to run_dir (what the record keeps)."""
    directory = iteration_dir(run_dir, record.index)
    directory.mkdir(parents=True, exist_ok=True)
    problems = list(evidence.problems)

    _text(directory / "logcat.txt", "".join(line.text + "\n" for line in evidence.log_lines)
          or "(no log line was captured in this iteration)\n")
    for name, snapshot in (("snapshot-before", evidence.before), ("snapshot-after", evidence.after)):
        if snapshot is None:
            _text(directory / f"{name}.txt", "(not taken: see problems.txt)\n")
        else:
            _text(directory / f"{name}.txt", snapshot.render() + "\n")
            _json(directory / f"{name}.json", snapshot.to_dict())
    if evidence.before is not None and evidence.after is not None:
        changes = diff(evidence.before, evidence.after, ignore_net_ids=True)
        _text(directory / "snapshot-diff.txt", changes.render() + "\n")
        _json(directory / "snapshot-diff.json", changes.to_dict())
    else:
        _text(directory / "snapshot-diff.txt", "(no diff: a snapshot is missing)\n")
    if evidence.timeline is not None:
        try:
            _text(directory / "timeline.txt", evidence.timeline.render_text() or "(empty)\n")
            _json(directory / "timeline.json", evidence.timeline.to_dict())
        except Exception as e:           # a timeline bug must not cost the other artifacts
            problems.append(f"timeline: {type(e).__name__}: {e}")
    if evidence.verdict is not None:
        _text(directory / "verdict.txt", evidence.verdict.render() + "\n")
        _json(directory / "verdict.json", evidence.verdict.to_dict())
    else:
        _text(directory / "verdict.txt", f"(no connectivity verdict: {record.reason})\n")
    _json(directory / "triage.json", evidence.triage.as_dict() if evidence.triage else {"known": False})
    relative = str(directory.relative_to(run_dir))
    record_data = record.to_dict()
    record_data["artifacts"] = relative
    _json(directory / "record.json", record_data)
    if problems:
        _text(directory / "problems.txt", "\n".join(problems) + "\n")
    return relative


def _text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
