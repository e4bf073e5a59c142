"""Android version specifiers such as ">=5,<=15" or "==10" (comma = and)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)?)\s*")
_OPS = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
}


def parse_version(text: str) -> tuple[int, int]:
    """'8.1' -> (8, 1); '12' -> (12, 0). Raises ValueError naming what was expected."""
    m = re.fullmatch(r"\s*(\d+)(?:\.(\d+))?(?:\.\d+)*\s*", text)
    if not m:
        raise ValueError(f"not an Android version: {text!r} (expected e.g. '8.1' or '12')")
    return int(m.group(1)), int(m.group(2) or 0)


@dataclass(frozen=True)
class VersionSpec:
    text: str
    clauses: tuple[tuple[str, tuple[int, int]], ...]

    @classmethod
    def parse(cls, text: str) -> VersionSpec:
        clauses = []
        for part in text.split(","):
            m = _CLAUSE.fullmatch(part)
            if not m:
                raise ValueError(f"bad version specifier {text!r}: expected comma-separated "
                                 f"clauses like '>=5,<=9' or '==10'")
            clauses.append((m.group(1), parse_version(m.group(2))))
        return cls(text.replace(" ", ""), tuple(clauses))

    def contains(self, version: tuple[int, int]) -> bool:
        return all(_OPS[op](version, bound) for op, bound in self.clauses)

    def __str__(self) -> str:
        return self.text
