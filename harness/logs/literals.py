"""Literal text that every match of a regular expression must contain.

Triage scans hundreds of megabytes; running full regexes on every line is far too slow, so each
pattern is reduced to a literal "anchor" that `bytes.find` can look for (at C speed). This module
computes the literal runs a regex requires, so an anchor can be checked to be safe: if the anchor
is part of a required run, no line that matches the regex can lack it.

It reads the parse tree of Python's own regex compiler (`re._parser`, stable since 3.11) instead
of re-implementing regex syntax.
"""

from __future__ import annotations

import re
import re._constants as C  # noqa: N812 -- the compiler's opcode names
import re._parser as sre_parse


def required_literals(regex: str) -> list[str]:
    """Maximal runs of literal text that every match of `regex` contains, longest first.

    Empty when the regex is case-insensitive or has no mandatory literal text.
    """
    tree = sre_parse.parse(regex)
    if tree.state.flags & re.IGNORECASE:
        return []
    runs: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            runs.append("".join(current))
            current.clear()

    def walk(items) -> None:
        for op, arg in items:
            if op is C.LITERAL:
                current.append(chr(arg))
            elif op is C.AT:
                continue                  # zero-width: the text on both sides stays adjacent
            elif op is C.SUBPATTERN:
                _group, add_flags, _del_flags, sub = arg
                if add_flags & re.IGNORECASE:
                    close()
                    continue
                walk(sub)                 # a plain group is inline text
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and arg[0] >= 1:
                close()                   # the body is required, but not adjacent to its neighbours
                walk(arg[2])
                close()
            elif op is C.ATOMIC_GROUP:
                walk(arg)
            else:                         # classes, alternations, optional parts, lookarounds
                close()

    walk(tree)
    close()
    return sorted(set(runs), key=lambda run: (-len(run), run))


def check_anchor(regex: str, anchor: str | None, *, min_length: int) -> str:
    """The anchor to search for: `anchor` if every match must contain it, else the longest run.

    Raises ValueError with the reason when no safe anchor of `min_length` characters exists.
    """
    runs = required_literals(regex)
    if anchor is not None:
        if len(anchor) < min_length:
            raise ValueError(f"anchor {anchor!r} is shorter than {min_length} characters")
        if not any(anchor in run for run in runs):
            raise ValueError(f"anchor {anchor!r} is not literal text that every match of the regex "
                             f"contains (required literal parts: {runs or 'none'})")
        return anchor
    if not runs or len(runs[0]) < min_length:
        raise ValueError(f"the regex needs a literal part of at least {min_length} characters "
                         f"that every match contains, for the fast prefilter (found: {runs or 'none'})")
    return runs[0]
