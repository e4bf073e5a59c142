"""Shell patterns (`*`, `?`, `[...]`) for case, ${x%pat} and pathname expansion on the device.

A pattern arrives as (text, active) pieces: text that came from quotes matches literally.
"""

from __future__ import annotations

import re
from typing import Iterable

from harness.sim.fs import FsError, VirtualFS, normalize
from harness.sim.shell.fsaccess import check_listable

Piece = tuple[str, bool]        # (text, glob characters active?)
GLOB_CHARS = "*?["


def has_glob(pieces: Iterable[Piece]) -> bool:
    return any(active and any(c in text for c in GLOB_CHARS) for text, active in pieces)


def to_regex(pieces: Iterable[Piece]) -> str:
    out: list[str] = []
    for text, active in pieces:
        if not active:
            out.append(re.escape(text))
            continue
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "*":
                out.append(".*")
            elif ch == "?":
                out.append(".")
            elif ch == "[" and (end := _bracket_end(text, i)) > 0:
                body = text[i + 1:end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^' if negate else ''}{body}]")
                i = end
            else:
                out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _bracket_end(text: str, start: int) -> int:
    i = start + 1
    if i < len(text) and text[i] in "!^":
        i += 1
    if i < len(text) and text[i] == "]":
        i += 1
    end = text.find("]", i)
    return end


def matches(pieces: Iterable[Piece], value: str) -> bool:
    return re.fullmatch(to_regex(pieces), value, re.DOTALL) is not None


def glob(fs: VirtualFS, cwd: str, uid: int, pieces: list[Piece]) -> list[str]:
    """Pathnames matching the pattern, sorted; [] when nothing matches."""
    chars = [(c, active) for text, active in pieces for c in text]
    components: list[list[tuple[str, bool]]] = [[]]
    for c, active in chars:
        if c == "/":
            components.append([])
        else:
            components[-1].append((c, active))
    absolute = bool(chars) and chars[0][0] == "/"
    want_dir = len(components) > 1 and not components[-1]
    bases = ["/"] if absolute else [""]
    for component in components:
        if not component:
            continue
        found: list[str] = []
        comp_pieces = [(c, a) for c, a in component]
        literal = "".join(c for c, _ in component)
        for base in bases:
            if has_glob(comp_pieces):
                found.extend(_join(base, name) for name in _matching(fs, cwd, uid, base, comp_pieces))
            elif fs.exists(normalize(_join(base, literal), cwd)):
                found.append(_join(base, literal))
        bases = found
        if not bases:
            return []
    if want_dir:
        bases = [b + "/" for b in bases if fs.isdir(normalize(b, cwd))]
    return sorted(bases)


def _matching(fs: VirtualFS, cwd: str, uid: int, base: str, pieces: list[Piece]) -> list[str]:
    directory = normalize(base or ".", cwd)
    try:
        check_listable(directory, uid)
        names = fs.listdir(directory)
    except FsError:
        return []
    regex = re.compile(to_regex(pieces), re.DOTALL)
    dot_ok = pieces[0][0] == "."
    return [n for n in names if (dot_ok or not n.startswith(".")) and regex.fullmatch(n)]


def _join(base: str, name: str) -> str:
    if not base:
        return name
    return base + name if base.endswith("/") else f"{base}/{name}"
