"""The regression-signature registry: YAML files in `signatures/`, validated, compiled.

A signature describes one known failure as it shows in logs:

* `patterns`: regexes on log lines, each with a `name`, an optional `tag`/`level` constraint and
  named groups for the fields to extract. A `primary` pattern is one form of the failure (e.g. the
  Android <=9 text form and the 12+ binder form); any primary match is a finding. A `companion`
  pattern is supporting evidence looked for around a primary match.
* `correlate`: rules that tie a finding together. `equal: [a, b]` requires two fields of the
  primary line to be equal (the sequence number of `command '30 ...'` and of its reply `'400 30
  ...'`). `companion: NAME` attaches the nearest matching companion line within `within` seconds
  (`before`, `after` or `around` the primary line) whose fields listed in `same` agree; fields or
  record attributes (pid, tid, tag) missing on either side do not constrain. Companion fields fill
  the finding's missing fields, in the order the rules are listed. `required: true` drops the
  finding when the companion is absent.
* `summary`: parts of the one-line verdict, each a format string over the fields; a part whose
  fields are missing is left out.

The regex is searched in the message of a parsed logcat line, or in the whole line when the line
is not logcat (bugreport sections, kernel log) and the pattern has no tag/level constraint.

Loading: `load_registry` answers from `registry_cache` when the files and the harness are exactly
as when the cache was written; otherwise `signature_specs` validates and compiles every file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from harness.logs.versions import VersionSpec

ANCHOR_MIN_LENGTH = 6
RECORD_ATTRIBUTES = frozenset({"pid", "tid", "tag"})   # usable in `same:` besides named groups
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "signatures"
DIRECTORY_ENV = "HARNESS_SIGNATURES"


# -- compiled form --------------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    signature_id: str
    name: str
    role: str
    regex: re.Pattern[str]
    anchor: bytes
    tags: frozenset[str] | None
    levels: frozenset[str] | None
    android: VersionSpec | None

    @property
    def constrained(self) -> bool:
        """True when only a parsed logcat line can match (tag or level given)."""
        return self.tags is not None or self.levels is not None


@dataclass(frozen=True)
class CompanionRule:
    pattern: str
    within: float
    direction: str
    same: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class Signature:
    id: str
    title: str
    description: str
    android: VersionSpec
    severity: str
    kind: str
    references: tuple[str, ...]
    summary: tuple[str, ...]
    primaries: tuple[Pattern, ...]
    companions: dict[str, Pattern]
    equal: tuple[tuple[str, ...], ...]
    companion_rules: tuple[CompanionRule, ...]
    source: str                        # file:line of the definition, for messages

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        return self.primaries + tuple(self.companions.values())


@dataclass(frozen=True)
class Registry:
    signatures: tuple[Signature, ...]

    def get(self, signature_id: str) -> Signature:
        for sig in self.signatures:
            if sig.id == signature_id:
                return sig
        raise KeyError(signature_id)

    def primary_anchors(self) -> tuple[bytes, ...]:
        """The literals to search the whole input for: one per primary pattern, minus any that
        contains another (finding the shorter one finds its lines too)."""
        anchors = {p.anchor for s in self.signatures for p in s.primaries}
        return tuple(sorted(a for a in anchors if not any(o != a and o in a for o in anchors)))

    def companion_anchors(self) -> tuple[bytes, ...]:
        anchors = {p.anchor for s in self.signatures for p in s.companions.values()}
        return tuple(sorted(a for a in anchors if not any(o != a and o in a for o in anchors)))

    def max_window(self) -> float:
        return max((r.within for s in self.signatures for r in s.companion_rules), default=0.0)


def signature_directory() -> Path:
    return Path(os.environ.get(DIRECTORY_ENV) or DEFAULT_DIRECTORY)


def load_registry(directory: Path | None = None) -> Registry:
    """Every `*.yaml` signature in `directory` (default: $HARNESS_SIGNATURES or `signatures/`).

    All files are checked; the ConfigError lists every problem found, one per line.
    """
    from harness.logs.registry_cache import RegistryCache   # it builds on this module's classes

    directory = directory or signature_directory()
    if not directory.is_dir():
        from harness.yamlcheck import ConfigError
        raise ConfigError(f"{directory}: signature directory not found")
    paths = sorted(directory.glob("*.yaml"))
    cache = RegistryCache(directory, paths)
    registry = cache.load()
    if registry is None:
        # Imported here: YAML and pydantic (0.1 s of start-up) are only needed when the cache misses.
        from harness.logs.signature_specs import compile_registry
        registry = compile_registry(paths)
        cache.store(registry)
    return registry
