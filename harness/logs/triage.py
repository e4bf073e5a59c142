"""Triage: which known regressions does a log show?

`triage(text_or_lines)`, `triage_stream(binary_file)` and `triage_file(binary_file)` run the
signature registry over a logcat dump or a bugreport and return a `TriageResult`: one `Finding`
per primary match that passed its correlation rules, with the evidence lines (number, timestamp,
text), the extracted fields and a one-line verdict such as
`KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30`.

Speed comes from the literal prefilter of `scan` (streams) and `filescan` (regular files, in
parallel); this module only looks at the candidate lines they return. Bad input never raises:
undecodable bytes become U+FFFD, lines that are not logcat stay unparsed and only match patterns
without a tag/level constraint.
"""

from __future__ import annotations

import io
import os
import stat
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, Any

from harness.logs.filescan import default_workers, scan_file
from harness.logs.scan import CandidateScanner, RawLine, read_chunks, whole_lines
from harness.logs.signatures import (RECORD_ATTRIBUTES, CompanionRule, Pattern, Registry, Signature,
                                     load_registry)
from harness.logs.versions import parse_version

if TYPE_CHECKING:
    from harness.parsers.logcat import LogEntry

# Without timestamps on both lines, a window of W seconds is taken as W * this many lines.
LINES_PER_SECOND_WITHOUT_TIMESTAMPS = 200


@dataclass(frozen=True)
class Evidence:
    line: int                   # 1-based line number in the input
    timestamp: str | None       # as printed, e.g. "04-30 09:25:47.894"
    text: str
    pattern: str
    role: str                   # "primary" or "companion"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "timestamp": self.timestamp, "text": self.text,
                "pattern": self.pattern, "role": self.role}


@dataclass(frozen=True)
class Finding:
    signature_id: str
    title: str
    severity: str
    kind: str
    form: str                   # the primary pattern that matched
    android: str | None         # the Android versions that form belongs to
    fields: Mapping[str, str]
    evidence: tuple[Evidence, ...]   # in line order
    summary: str

    @property
    def verdict(self) -> str:
        return f"KNOWN {self.signature_id}" + (f": {self.summary}" if self.summary else "")

    @property
    def primary(self) -> Evidence:
        return next(e for e in self.evidence if e.role == "primary")

    def as_dict(self) -> dict[str, Any]:
        return {"signature": self.signature_id, "title": self.title, "severity": self.severity,
                "kind": self.kind, "form": self.form, "android": self.android,
                "verdict": self.verdict, "fields": dict(self.fields),
                "evidence": [e.as_dict() for e in self.evidence]}


@dataclass(frozen=True)
class TriageResult:
    findings: tuple[Finding, ...]
    lines_scanned: int
    bytes_scanned: int
    problem: str | None = None        # input that ended early (truncated gzip, read error)

    @property
    def known(self) -> bool:
        return bool(self.findings)

    def verdicts(self) -> list[str]:
        return [f.verdict for f in self.findings]

    def signature_ids(self) -> list[str]:
        return list(dict.fromkeys(f.signature_id for f in self.findings))

    def as_dict(self) -> dict[str, Any]:
        return {"known": self.known, "verdicts": self.verdicts(),
                "findings": [f.as_dict() for f in self.findings],
                "lines_scanned": self.lines_scanned, "bytes_scanned": self.bytes_scanned,
                "problem": self.problem}


# -- matching one line ------------------------------------------------------------------------

@dataclass
class _Candidate:
    number: int
    text: str
    entry: LogEntry | None
    seconds: float | None
    hits: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (sig, pattern) -> fields


def _match(pattern: Pattern, raw: bytes, cand: _Candidate) -> dict[str, str] | None:
    if pattern.anchor not in raw:
        return None
    entry = cand.entry
    if pattern.constrained:
        if entry is None:
            return None
        if pattern.tags is not None and entry.tag not in pattern.tags:
            return None
        if pattern.levels is not None and entry.priority not in pattern.levels:
            return None
    m = pattern.regex.search(entry.message if entry is not None else cand.text)
    if m is None:
        return None
    return {k: v for k, v in m.groupdict().items() if v is not None}


def _attribute(fields: Mapping[str, str], entry: LogEntry | None, name: str) -> str | None:
    if name in fields:
        return fields[name]
    value = getattr(entry, name, None) if name in RECORD_ATTRIBUTES else None
    return None if value is None else str(value)


# -- correlation ------------------------------------------------------------------------------

class _Correlator:
    def __init__(self, candidates: list[_Candidate]) -> None:
        self.c = candidates

    def nearest(self, i: int, sig: Signature, rule: CompanionRule,
                fields: Mapping[str, str]) -> tuple[_Candidate, dict[str, str]] | None:
        primary = self.c[i]
        key = (sig.id, rule.pattern)
        found: list[tuple[float, int, _Candidate, dict[str, str]]] = []
        steps = []
        if rule.direction in ("before", "around"):
            steps.append(range(i - 1, -1, -1))
        if rule.direction in ("after", "around"):
            steps.append(range(i + 1, len(self.c)))
        for order, indices in enumerate(steps):
            for j in indices:
                other = self.c[j]
                if self._distance(primary, other) > rule.within:
                    break                     # candidates are in line order: the rest is further
                comp = other.hits.get(key)
                if comp is None or not self._agrees(rule, fields, primary, comp, other):
                    continue
                found.append((self._distance(primary, other), order, other, comp))
                break
        if not found:
            return None
        _, _, cand, comp = min(found, key=lambda f: (f[0], f[1]))
        return cand, comp

    @staticmethod
    def _distance(a: _Candidate, b: _Candidate) -> float:
        if a.seconds is not None and b.seconds is not None:
            return abs(a.seconds - b.seconds)
        return abs(a.number - b.number) / LINES_PER_SECOND_WITHOUT_TIMESTAMPS

    @staticmethod
    def _agrees(rule: CompanionRule, fields: Mapping[str, str], primary: _Candidate,
                comp: Mapping[str, str], other: _Candidate) -> bool:
        for name in rule.same:
            mine, theirs = _attribute(fields, primary.entry, name), _attribute(comp, other.entry, name)
            if mine is not None and theirs is not None and mine != theirs:
                return False
        return True


def _summary(sig: Signature, fields: Mapping[str, str]) -> str:
    parts = []
    for part in sig.summary:
        names = {f for _, f, _, _ in string.Formatter().parse(part) if f}
        if names <= fields.keys():
            parts.append(part.format(**fields))
    return " ".join(parts)


def _evidence(cand: _Candidate, pattern: str, role: str) -> Evidence:
    stamp = cand.entry.time.text if cand.entry is not None and cand.entry.time is not None else None
    return Evidence(cand.number, stamp, cand.text, pattern, role)


def _findings(candidates: list[_Candidate], registry: Registry) -> list[Finding]:
    corr = _Correlator(candidates)
    findings: list[Finding] = []
    for i, cand in enumerate(candidates):
        for sig in registry.signatures:
            for pattern in sig.primaries:
                fields = cand.hits.get((sig.id, pattern.name))
                if fields is None or not all(len({fields.get(f) for f in group}) == 1 for group in sig.equal):
                    continue
                merged = dict(fields)
                evidence = [_evidence(cand, pattern.name, "primary")]
                for rule in sig.companion_rules:
                    near = corr.nearest(i, sig, rule, merged)
                    if near is None:
                        if rule.required:
                            break
                        continue
                    other, comp = near
                    for k, v in comp.items():
                        merged.setdefault(k, v)
                    evidence.append(_evidence(other, rule.pattern, "companion"))
                else:
                    findings.append(Finding(
                        signature_id=sig.id, title=sig.title, severity=sig.severity, kind=sig.kind,
                        form=pattern.name, android=str(pattern.android) if pattern.android else None,
                        fields=merged, evidence=tuple(sorted(evidence, key=lambda e: e.line)),
                        summary=_summary(sig, merged)))
                break               # one finding per line and signature: the first form that matches
    # A line that is evidence supporting one finding is not a finding of its own as well.
    supporting = {e.line for f in findings for e in f.evidence if e.role == "companion"}
    return [f for f in findings if f.primary.line not in supporting]


# -- entry points -----------------------------------------------------------------------------

def _applicable(registry: Registry, android: str | None) -> Registry:
    """Only the signatures and forms that exist on this Android version (all when unknown)."""
    if android is None:
        return registry
    version = parse_version(android)
    kept = []
    for sig in registry.signatures:
        if not sig.android.contains(version):
            continue
        primaries = tuple(p for p in sig.primaries if p.android is None or p.android.contains(version))
        if primaries:
            kept.append(replace(sig, primaries=primaries))
    return Registry(tuple(kept))


class Triage:
    """Incremental triage: feed_chunks() (bytes of any size) or feed_buffers() (chunks from
    scan.read_chunks), then result(). judge() takes candidates found by another scanner."""

    def __init__(self, registry: Registry | None = None, android: str | None = None) -> None:
        self.registry = _applicable(registry or load_registry(), android)
        self._scanner = CandidateScanner(self.registry.primary_anchors(), self.registry.companion_anchors())

    def feed_chunks(self, blocks: Iterable[bytes]) -> None:
        for chunk in whole_lines(blocks):
            self._scanner.feed(chunk)

    def feed_buffers(self, chunks: Iterable[tuple[bytearray, int]]) -> None:
        for buffer, end in chunks:
            self._scanner.feed(buffer, end)

    def result(self, problem: str | None = None) -> TriageResult:
        return self.judge(self._scanner.finish(), self._scanner.lines, self._scanner.bytes, problem)

    def judge(self, lines: Iterable[RawLine], lines_scanned: int, bytes_scanned: int,
              problem: str | None = None) -> TriageResult:
        """The findings among candidate lines (in line order), as `scan` defines candidates."""
        candidates = [self._candidate(line) for line in lines]
        candidates = [c for c in candidates if c.hits]
        return TriageResult(tuple(_findings(candidates, self.registry)), lines_scanned, bytes_scanned, problem)

    def _candidate(self, line: RawLine) -> _Candidate:
        # Imported here: the logcat parser takes 15 ms to import, and most logs have no candidate.
        from harness.logs.records import parse_line, seconds_of

        text = line.data.decode("utf-8", errors="replace")
        entry = parse_line(text)
        cand = _Candidate(line.number, text, entry, seconds_of(entry.time) if entry else None)
        for sig in self.registry.signatures:
            for pattern in sig.patterns:
                fields = _match(pattern, line.data, cand)
                if fields is not None:
                    cand.hits[(sig.id, pattern.name)] = fields
        return cand


def _blocks_of(source: str | bytes | Iterable[str]) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
    elif isinstance(source, str):
        yield source.encode("utf-8", errors="replace")
    else:
        batch: list[str] = []
        for line in source:
            batch.append(line if line.endswith("\n") else line + "\n")
            if len(batch) >= 4096:
                yield "".join(batch).encode("utf-8", errors="replace")
                batch.clear()
        if batch:
            yield "".join(batch).encode("utf-8", errors="replace")


def triage(source: str | bytes | Iterable[str], registry: Registry | None = None,
           android: str | None = None) -> TriageResult:
    """Triage a whole log given as text, bytes or an iterable of lines."""
    engine = Triage(registry, android)
    engine.feed_chunks(_blocks_of(source))
    return engine.result()


def triage_stream(stream: IO[bytes], registry: Registry | None = None,
                  android: str | None = None) -> TriageResult:
    """Triage a binary stream (file, stdin, decompressor). A read error or a truncated
    compressed stream ends the scan; what was read is still triaged and the problem noted."""
    engine = Triage(registry, android)
    problem: str | None = None
    # readinto1: whatever is ready, so a decompressor that fails later has handed over all it could
    read_into = getattr(stream, "readinto1", None) or stream.readinto

    def guarded(view: memoryview) -> int:
        nonlocal problem
        try:
            return read_into(view)
        except (OSError, EOFError, ValueError) as e:
            problem = f"input ended early: {e}"
            return 0

    engine.feed_buffers(read_chunks(guarded))
    return engine.result(problem)


def triage_file(stream: IO[bytes], registry: Registry | None = None, android: str | None = None,
                workers: int | None = None) -> TriageResult:
    """`triage_stream`, faster for a regular file (plain file or stdin redirected from one): read
    by random access from its current position, by `workers` processes (default: as many as
    the CPUs and the size make worthwhile). Other streams, and a file that cannot be read to
    its end this way, go through `triage_stream`."""
    fd = _regular_file(stream)
    if fd is None:
        return triage_stream(stream, registry, android)
    engine = Triage(registry, android)
    start = stream.tell()
    if workers is None:
        workers = default_workers(os.fstat(fd).st_size - start)
    try:
        scan = scan_file(fd, engine.registry.primary_anchors(), engine.registry.companion_anchors(),
                         start=start, workers=workers)
    except OSError:
        return triage_stream(stream, registry, android)   # notes where the input ended
    return engine.judge(scan.lines, scan.line_count, scan.byte_count)


def _regular_file(stream: IO[bytes]) -> int | None:
    """The descriptor of `stream` when it reads a regular file as is (not a decompressor's source)."""
    if not isinstance(stream, (io.BufferedReader, io.FileIO)):
        return None
    try:
        fd = stream.fileno()
        return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except (OSError, ValueError):
        return None
