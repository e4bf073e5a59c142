"""A failed device test, explained: which known regression it is, which connectivity layer failed,
and the evidence (logcat excerpt, network snapshot diff, verdict, restart steps).

The harness's fixtures leave a `FailureEvidence` on each device test (`item.stash[EVIDENCE]`): how to
read the test's logcat excerpt (since its mark), how to diff the network against the snapshot
taken before the test, the verdicts the test obtained and its restarts. When the test fails,
`analyse()` turns that into a `FailureAnalysis`; `label_report()` writes it into the pytest report:

* the failure message (the report's crash line, what JUnit's `message` and `-ra` show) becomes
  `KNOWN <signature-id>: <layer> layer failed: <original message>` when the excerpt matches a
  signature of the registry;
* user properties `signature`, `failing_layer` and `finding` (JUnit `<properties>`);
* report sections `known regression`, `connectivity verdict`, `logcat excerpt`,
  `network snapshot diff` and `restart steps`.

`attach_to_allure()` adds the same texts as Allure attachments when allure-pytest is recording.
Collecting evidence talks to the device; whatever cannot be collected (device gone, timeout) is
noted in the analysis instead of hiding the test's own failure.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import HarnessError
from harness.logs.triage import Finding, triage

if TYPE_CHECKING:
    from harness.container import RestartResult
    from harness.logs.buffer import LogLine
    from harness.logs.signatures import Registry
    from harness.net.connectivity import Verdict
    from harness.net.snapshot import SnapshotDiff

SIGNATURE_PROPERTY = "signature"        # the names harness.reporting reads
LAYER_PROPERTY = "failing_layer"
FINDING_PROPERTY = "finding"
NO_FAILING_LAYER = "none"
MAX_EXCERPT_LINES = 3000                # of the test's logcat excerpt in a report (the newest)


@dataclass
class FailureEvidence:
    """What a device test leaves for its report; each fixture fills in its part."""

    android: str | None = None                                   # the device's release, for the registry
    registry: Registry | None = None
    excerpt: Callable[[], list[LogLine]] | None = None           # logcat lines since the test's mark
    snapshot_diff: Callable[[], SnapshotDiff] | None = None      # before the test -> now
    fresh_verdict: Callable[[], Verdict] | None = None           # a connectivity check now
    verdicts: list[Verdict] = field(default_factory=list)        # in the order the test got them
    restarts: list[RestartResult] = field(default_factory=list)


EVIDENCE = pytest.StashKey[FailureEvidence]()


@dataclass(frozen=True)
class FailureAnalysis:
    finding: Finding | None                 # the first known regression in the excerpt
    other_signatures: tuple[str, ...]       # further signature ids found
    verdict: Verdict | None
    excerpt: str
    excerpt_note: str | None
    snapshot_diff: str | None
    restart_steps: str | None
    problems: tuple[str, ...]               # evidence that could not be collected, and why

    @property
    def layer(self) -> str:
        failing = self.verdict.failing_layer if self.verdict is not None else None
        return str(failing) if failing is not None else NO_FAILING_LAYER

    def layer_text(self) -> str:
        if self.verdict is None:
            return "connectivity not checked"
        if self.verdict.failing_layer is None:
            return "no connectivity layer failed"
        return f"{self.verdict.failing_layer} layer failed"

    def known_prefix(self) -> str | None:
        if self.finding is None:
            return None
        return f"KNOWN {self.finding.signature_id}: {self.layer_text()}"

    def sections(self) -> list[tuple[str, str]]:
        """(title, text) for the report, most telling first; empty parts left out."""
        parts: list[tuple[str, str]] = []
        if self.finding is not None:
            parts.append(("known regression", _describe_finding(self.finding, self.other_signatures)))
        if self.verdict is not None:
            parts.append(("connectivity verdict", self.verdict.render()))
        if self.snapshot_diff is not None:
            parts.append(("network snapshot diff (before the test -> at the failure)", self.snapshot_diff))
        if self.restart_steps:
            parts.append(("restart steps", self.restart_steps))
        if self.excerpt or self.excerpt_note:
            parts.append(("logcat excerpt (since the test started)",
                          (self.excerpt_note + "\n" if self.excerpt_note else "") + self.excerpt))
        if self.problems:
            parts.append(("evidence not collected", "\n".join(self.problems)))
        return parts


def analyse(evidence: FailureEvidence, exception: BaseException | None) -> FailureAnalysis:
    """Collect the evidence of a failed test and match its excerpt against the registry."""
    problems: list[str] = []
    lines = _collect("logcat excerpt", evidence.excerpt, problems) or []
    excerpt, note = _excerpt_text(lines)
    findings: Sequence[Finding] = ()
    if lines and evidence.registry is not None:
        findings = triage([line.text for line in lines], evidence.registry, android=evidence.android).findings
    verdict = _verdict(evidence, exception, problems)
    diff = _collect("network snapshot diff", evidence.snapshot_diff, problems)
    ids = list(dict.fromkeys(f.signature_id for f in findings))
    return FailureAnalysis(
        finding=findings[0] if findings else None, other_signatures=tuple(ids[1:]), verdict=verdict,
        excerpt=excerpt, excerpt_note=note, snapshot_diff=diff.render() if diff is not None else None,
        restart_steps=_restart_steps(evidence.restarts), problems=tuple(problems))


def _collect(what: str, source: Callable[[], Any] | None, problems: list[str]) -> Any:
    if source is None:
        return None
    try:
        return source()
    except HarnessError as e:
        problems.append(f"{what}: {type(e).__name__}: {e.message}")
        return None


def _verdict(evidence: FailureEvidence, exception: BaseException | None, problems: list[str]) -> Verdict | None:
    """The verdict that explains the failure: the one the exception carries (a NetworkTimeout),
    else the last one the test obtained, else a check made now."""
    carried = getattr(exception, "verdict", None)
    if carried is not None:
        return carried
    if evidence.verdicts:
        return evidence.verdicts[-1]
    return _collect("connectivity check", evidence.fresh_verdict, problems)


def _excerpt_text(lines: list[LogLine]) -> tuple[str, str | None]:
    note = None
    if len(lines) > MAX_EXCERPT_LINES:
        note = f"(the first {len(lines) - MAX_EXCERPT_LINES} of {len(lines)} lines are left out)"
        lines = lines[-MAX_EXCERPT_LINES:]
    return "".join(line.text + "\n" for line in lines), note


def _restart_steps(restarts: list[RestartResult]) -> str | None:
    blocks = []
    for number, result in enumerate(restarts, 1):
        status = "ok" if result.ok else f"failed: {result.failure_class}"
        blocks.append(f"restart {number} ({result.method}, {status})\n"
                      + "\n".join("  " + step.render() for step in result.steps))
    return "\n".join(blocks) or None


def _describe_finding(finding: Finding, others: tuple[str, ...]) -> str:
    lines = [finding.verdict, f"{finding.title} (severity {finding.severity}, {finding.kind})", "evidence:"]
    lines.extend(f"  [{e.role} {e.pattern}] {e.text}" for e in finding.evidence)
    if others:
        lines.append("also found: " + ", ".join(others))
    return "\n".join(lines)


# -- writing it into the report ----------------------------------------------------------------

def label_report(report: pytest.TestReport, item: pytest.Item, analysis: FailureAnalysis) -> None:
    """KNOWN message and properties (for a known regression), and the evidence sections."""
    prefix = analysis.known_prefix()
    if prefix is not None:
        _prefix_message(report, prefix)
        assert analysis.finding is not None
        properties = [(SIGNATURE_PROPERTY, analysis.finding.signature_id), (LAYER_PROPERTY, analysis.layer),
                      (FINDING_PROPERTY, analysis.finding.verdict)]
        # JUnit writes the properties of the teardown report, which copies the item's at creation.
        item.user_properties.extend(properties)
        report.user_properties.extend(properties)
    for title, text in analysis.sections():
        report.sections.append((title, text))


def _prefix_message(report: pytest.TestReport, prefix: str) -> None:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        crash.message = f"{prefix}: {crash.message}"
    else:
        report.longrepr = f"{prefix}: {report.longrepr}"


def note_on_exception(exception: BaseException, analysis: FailureAnalysis) -> None:
    """Allure builds its status message from the exception itself: a note puts the KNOWN line
    there too, so Allure's signature categories (`.*<id>.*`) classify the result."""
    prefix = analysis.known_prefix()
    if prefix is not None:
        exception.add_note(prefix)


def attach_to_allure(allure: types.ModuleType, analysis: FailureAnalysis) -> None:
    """The same texts as attachments of the running Allure test result."""
    text = allure.attachment_type.TEXT
    if analysis.finding is not None:
        allure.dynamic.label("known_regression", analysis.finding.signature_id)
        allure.dynamic.label("failing_layer", analysis.layer)
    for title, body in analysis.sections():
        allure.attach(body, name=title, attachment_type=text)
