"""Matching an ordered (or unordered) list of patterns against log lines, one line at a time.

Pure and incremental: `wait_for` feeds lines as they arrive, `assert_sequence` feeds a recorded
excerpt. Patterns are searched in the whole line text (so "ConnectivityService: Adding iface"
works) and may be strings (regexes) or compiled patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

PatternLike = str | re.Pattern[str]


class HasText(Protocol):
    text: str


def compile_patterns(patterns: PatternLike | Iterable[PatternLike]) -> tuple[re.Pattern[str], ...]:
    items = [patterns] if isinstance(patterns, (str, re.Pattern)) else list(patterns)
    if not items:
        raise ValueError("expected at least one pattern")
    compiled = []
    for item in items:
        if isinstance(item, re.Pattern):
            compiled.append(item)
        elif isinstance(item, str):
            try:
                compiled.append(re.compile(item))
            except re.error as e:
                raise ValueError(f"bad regular expression {item!r}: {e}") from None
        else:
            raise TypeError(f"expected a regex string or compiled pattern, got {item!r}")
    return tuple(compiled)


class SequenceMatcher:
    """In order: pattern k must match a line after the match of pattern k-1.
    Any order: each pattern is matched by the first line that matches it."""

    def __init__(self, patterns: PatternLike | Iterable[PatternLike], in_order: bool = True) -> None:
        self.patterns = compile_patterns(patterns)
        self.in_order = in_order
        self.matched: list[HasText | None] = [None] * len(self.patterns)

    @property
    def complete(self) -> bool:
        return all(m is not None for m in self.matched)

    def feed(self, line: HasText) -> bool:
        """Offer one line; True once every pattern is matched."""
        if self.in_order:
            k = self.matched.index(None) if not self.complete else None
            if k is not None and self.patterns[k].search(line.text):
                self.matched[k] = line
        else:
            for k, pattern in enumerate(self.patterns):
                if self.matched[k] is None and pattern.search(line.text):
                    self.matched[k] = line
        return self.complete

    def feed_all(self, lines: Iterable[HasText]) -> bool:
        for line in lines:
            if self.feed(line):
                return True
        return self.complete

    def describe(self) -> str:
        """What matched and what did not, one pattern per line."""
        out = []
        for pattern, line in zip(self.patterns, self.matched):
            out.append(f"  [{'x' if line is not None else ' '}] {pattern.pattern!r}"
                       + (f" -> {line.text}" if line is not None else ""))
        return "\n".join(out)

    def missing(self) -> Sequence[str]:
        return [p.pattern for p, m in zip(self.patterns, self.matched) if m is None]
