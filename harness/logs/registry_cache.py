"""A compiled copy of the signature registry, so that `harness triage` starts without YAML and pydantic.

Validating `signatures/*.yaml` costs about 0.16 s (YAML parsing, pydantic model and schema
construction); reading this cache costs about 2 ms. The cache is `__pycache__/registry.<tag>.marshal`
inside the signature directory (ignored by git like Python's own bytecode caches). It is keyed by
the exact bytes of every signature file and of the modules that validate and compile them, plus
the Python version, so any edit, added or removed file or harness change makes it miss (no
mtime-granularity surprises). Only registries that validated are stored: errors always come from
a full load. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from pathlib import Path
from typing import Any

from harness.logs.signatures import CompanionRule, Pattern, Registry, Signature
from harness.logs.versions import VersionSpec

FORMAT = 1                          # bump when the stored layout changes
FILE_NAME = f"registry.{sys.implementation.cache_tag}.marshal"
_HARNESS = Path(__file__).resolve().parents[1]
# The code whose behaviour shapes a compiled registry: YAML reading, validation, anchors, versions.
_COMPILER_SOURCES = tuple(_HARNESS / name for name in (
    "yamlcheck.py", "logs/signatures.py", "logs/signature_specs.py", "logs/literals.py",
    "logs/versions.py", "logs/registry_cache.py"))


def _contents(paths: list[Path]) -> tuple[tuple[str, bytes], ...] | None:
    try:
        return tuple((path.name, path.read_bytes()) for path in paths)
    except OSError:
        return None             # the full load reports it


class RegistryCache:
    """The cache entry of one signature directory and its current `*.yaml` files."""

    def __init__(self, directory: Path, paths: list[Path]) -> None:
        self.directory = directory
        self.path = directory / "__pycache__" / FILE_NAME
        self.names = [path.name for path in paths]
        signatures, compiler = _contents(paths), _contents(list(_COMPILER_SOURCES))
        self.key = None if signatures is None or compiler is None else (FORMAT, sys.version, signatures, compiler)

    def load(self) -> Registry | None:
        """The cached registry when it was compiled from exactly these files, else None."""
        if self.key is None:
            return None
        try:
            key, payload = marshal.loads(self.path.read_bytes())
            return Registry(tuple(self._signature(s) for s in payload)) if key == self.key else None
        except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError, re.error):
            return None         # absent, truncated or from another layout: rebuilt by the caller

    def store(self, registry: Registry) -> None:
        if self.key is None:
            return
        data = marshal.dumps((self.key, tuple(self._plain(s) for s in registry.signatures)))
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, self.path)       # readers see the old file or the new one
        except OSError:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass                               # nothing was written

    # A source ("file:line:col") is stored as the file's name and the rest: the directory may be
    # spelled differently next time.
    def _plain(self, sig: Signature) -> tuple[Any, ...]:
        file, position = next((name, sig.source.removeprefix(str(self.directory / name)))
                              for name in self.names
                              if sig.source == str(self.directory / name)
                              or sig.source.startswith(f"{self.directory / name}:"))
        return (sig.id, sig.title, sig.description, _plain_spec(sig.android), sig.severity, sig.kind,
                sig.references, sig.summary, tuple(_plain_pattern(p) for p in sig.patterns), sig.equal,
                tuple((r.pattern, r.within, r.direction, r.same, r.required) for r in sig.companion_rules),
                file, position)

    def _signature(self, plain: tuple[Any, ...]) -> Signature:
        (id_, title, description, android, severity, kind, references, summary, patterns, equal, rules,
         file, position) = plain
        compiled = [_pattern(id_, p) for p in patterns]
        source = str(self.directory / file) + position
        return Signature(
            id=id_, title=title, description=description, android=_spec(android), severity=severity,
            kind=kind, references=references, summary=summary,
            primaries=tuple(p for p in compiled if p.role == "primary"),
            companions={p.name: p for p in compiled if p.role == "companion"},
            equal=equal, companion_rules=tuple(CompanionRule(*r) for r in rules), source=source)


def _plain_spec(spec: VersionSpec | None) -> tuple[Any, ...] | None:
    return None if spec is None else (spec.text, spec.clauses)


def _spec(plain: tuple[Any, ...] | None) -> VersionSpec | None:
    return None if plain is None else VersionSpec(*plain)


def _plain_pattern(p: Pattern) -> tuple[Any, ...]:
    return (p.name, p.role, p.regex.pattern, p.regex.flags, p.anchor, p.tags, p.levels, _plain_spec(p.android))


def _pattern(signature_id: str, plain: tuple[Any, ...]) -> Pattern:
    name, role, regex, flags, anchor, tags, levels, android = plain
    return Pattern(signature_id=signature_id, name=name, role=role, regex=re.compile(regex, flags),
                   anchor=anchor, tags=tags, levels=levels, android=_spec(android))
