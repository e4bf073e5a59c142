"""Validation and compilation of signature files: the pydantic models of the YAML layout.

`signatures.load_registry` imports this module only when its cache misses, so that triage does
not pay for YAML and pydantic at start-up. The layout itself is described in `signatures`.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.logs.literals import check_anchor
from harness.logs.signatures import (ANCHOR_MIN_LENGTH, RECORD_ATTRIBUTES, CompanionRule, Pattern, Registry,
                                     Signature)
from harness.logs.versions import VersionSpec
from harness.yamlcheck import ConfigError, describe_errors, load_yaml

Level = Literal["V", "D", "I", "W", "E", "F"]


def _valid_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise ValueError(f"bad regular expression: {e}") from None
    return value


def _valid_spec(value: str) -> str:
    VersionSpec.parse(value)
    return value


Regex = Annotated[str, AfterValidator(_valid_regex)]
Spec = Annotated[str, AfterValidator(_valid_spec)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PatternSpec(_Strict):
    name: Name
    regex: Regex
    role: Literal["primary", "companion"] = "primary"
    tag: str | list[str] | None = None
    level: Level | list[Level] | None = None
    android: Spec | None = None
    anchor: str | None = None          # literal to prefilter on; default: the longest literal part
    description: str | None = None

    @model_validator(mode="after")
    def _anchor_is_safe(self) -> PatternSpec:
        anchor = check_anchor(self.regex, self.anchor, min_length=ANCHOR_MIN_LENGTH)
        if "\n" in anchor:       # the scanners cut the input at line ends
            raise ValueError(f"anchor {anchor!r} contains a line break, which no log line does")
        return self

    def groups(self) -> set[str]:
        return set(re.compile(self.regex).groupindex)


class CorrelationSpec(_Strict):
    equal: list[str] | None = Field(default=None, min_length=2)
    companion: str | None = None
    within: float = Field(default=2.0, gt=0, le=600)
    direction: Literal["before", "after", "around"] = "around"
    same: list[str] = []
    required: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> CorrelationSpec:
        if (self.equal is None) == (self.companion is None):
            raise ValueError("a correlation rule has exactly one of 'equal' or 'companion'")
        return self


class SignatureSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    android: Spec
    severity: Literal["critical", "major", "minor"]
    kind: Literal["product", "infrastructure"] = "product"
    references: list[str] = []
    summary: list[str] = []
    patterns: list[PatternSpec] = Field(min_length=1)
    correlate: list[CorrelationSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> SignatureSpec:
        names = [p.name for p in self.patterns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"pattern names must be unique: {', '.join(dupes)}")
        by_name = {p.name: p for p in self.patterns}
        if not any(p.role == "primary" for p in self.patterns):
            raise ValueError("at least one pattern must have role 'primary'")
        primary_fields = set().union(*(p.groups() for p in self.patterns if p.role == "primary"))
        all_fields = set().union(*(p.groups() for p in self.patterns))
        for rule in self.correlate:
            if rule.equal is not None:
                unknown = [f for f in rule.equal if f not in primary_fields]
                if unknown:
                    raise ValueError(f"equal: {unknown} are not named groups of a primary pattern")
                continue
            target = by_name.get(rule.companion or "")
            if target is None or target.role != "companion":
                raise ValueError(f"companion: {rule.companion!r} is not a pattern with role 'companion'")
            unknown = [f for f in rule.same if f not in all_fields | RECORD_ATTRIBUTES]
            if unknown:
                raise ValueError(f"same: {unknown} are neither named groups nor record attributes "
                                 f"({', '.join(sorted(RECORD_ATTRIBUTES))})")
        for part in self.summary:
            try:
                used = {f for _, f, _, _ in string.Formatter().parse(part) if f}
            except ValueError as e:
                raise ValueError(f"summary part {part!r}: {e}") from None
            if used - all_fields:
                raise ValueError(f"summary part {part!r} uses unknown fields {sorted(used - all_fields)}")
        return self


def _as_set(value: str | list[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


def compile_signature(spec: SignatureSpec, source: str) -> Signature:
    patterns = [
        Pattern(signature_id=spec.id, name=p.name, role=p.role, regex=re.compile(p.regex),
                anchor=check_anchor(p.regex, p.anchor, min_length=ANCHOR_MIN_LENGTH).encode(),
                tags=_as_set(p.tag), levels=_as_set(p.level),
                android=VersionSpec.parse(p.android) if p.android else None)
        for p in spec.patterns]
    return Signature(
        id=spec.id, title=spec.title, description=spec.description.strip(),
        android=VersionSpec.parse(spec.android), severity=spec.severity, kind=spec.kind,
        references=tuple(spec.references), summary=tuple(spec.summary),
        primaries=tuple(p for p in patterns if p.role == "primary"),
        companions={p.name: p for p in patterns if p.role == "companion"},
        equal=tuple(tuple(r.equal) for r in spec.correlate if r.equal is not None),
        companion_rules=tuple(CompanionRule(r.companion, r.within, r.direction, tuple(r.same), r.required)
                              for r in spec.correlate if r.companion is not None),
        source=source)


def _id_position(path: Path, tree: yaml.Node | None) -> str:
    if isinstance(tree, yaml.MappingNode):
        for key, value in tree.value:
            if key.value == "id":
                return f"{path}:{value.start_mark.line + 1}:{value.start_mark.column + 1}"
    return str(path)


def load_signature_file(path: Path) -> tuple[SignatureSpec, str]:
    """(validated spec, file:line:col of its id); ConfigError with file:line:col on any problem."""
    data, tree = load_yaml(path)
    try:
        spec = SignatureSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe_errors(path, tree, e)) from None
    return spec, _id_position(path, tree)


def compile_registry(paths: list[Path]) -> Registry:
    """The signatures of `paths`, validated and compiled.

    All files are checked; the ConfigError lists every problem found, one per line.
    """
    problems: list[str] = []
    seen: dict[str, str] = {}
    signatures = []
    for path in paths:
        try:
            spec, where = load_signature_file(path)
        except ConfigError as e:
            problems.append(str(e))
            continue
        if spec.id in seen:
            problems.append(f"{where}: id: duplicate signature id {spec.id!r} "
                            f"(first defined at {seen[spec.id]})")
            continue
        seen[spec.id] = where
        signatures.append(compile_signature(spec, where))
    if problems:
        raise ConfigError("\n".join(problems))
    return Registry(tuple(signatures))
