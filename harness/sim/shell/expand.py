"""Word expansion: parameters, command and arithmetic substitution, field splitting, pathnames.

Order as POSIX/mksh: expansions left to right, then splitting of unquoted expansion results on
IFS, then pathname expansion of fields that still hold active pattern characters, then quote
removal (the parser already separated quoted from unquoted text).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from harness.sim.shell import patterns
from harness.sim.shell.arith import ArithError, evaluate
from harness.sim.shell.nodes import ArithSub, CmdSub, Lit, Param, Word
from harness.sim.shell.patterns import Piece

if TYPE_CHECKING:
    from harness.sim.shell.interpreter import IO, Shell

DEFAULT_IFS = " \t\n"


class ExpansionError(Exception):
    """An expansion that stops the shell (`${x?}`, bad arithmetic); text as mksh prints it."""


class _Fields:
    """Fields under construction: each a list of pieces; a field exists once anything
    (even an empty quoted string) went into it."""

    def __init__(self) -> None:
        self.done: list[list[Piece]] = []
        self.current: list[Piece] = []
        self.exists = False

    def add(self, text: str, active: bool, *, makes_field: bool) -> None:
        self.current.append((text, active))
        if makes_field or text:
            self.exists = True

    def end(self) -> None:
        if self.exists:
            self.done.append(self.current)
        self.current = []
        self.exists = False

    def finish(self) -> list[list[Piece]]:
        self.end()
        return self.done


async def expand_words(shell: "Shell", words: tuple[Word, ...] | list[Word], io: "IO") -> list[str]:
    """Arguments of a command: split and pathname-expanded."""
    out: list[str] = []
    for word in words:
        for pieces in await _expand(shell, word, io, split=True):
            if patterns.has_glob(pieces):
                found = patterns.glob(shell.device.fs, shell.cwd, shell.uid, pieces)
                if found:
                    out.extend(found)
                    continue
            out.append("".join(text for text, _ in pieces))
    return out


async def expand_word(shell: "Shell", word: Word, io: "IO") -> str:
    """One string, no splitting or pathname expansion (assignments, redirections, case)."""
    fields = await _expand(shell, word, io, split=False)
    return " ".join("".join(t for t, _ in pieces) for pieces in fields)


async def expand_pattern(shell: "Shell", word: Word, io: "IO") -> list[Piece]:
    """A pattern: quoted text stays literal."""
    fields = await _expand(shell, word, io, split=False)
    return [piece for pieces in fields for piece in pieces]


async def _expand(shell: "Shell", word: Word, io: "IO", *, split: bool) -> list[list[Piece]]:
    fields = _Fields()
    for part in word.parts:
        if isinstance(part, Lit):
            fields.add(part.text, not part.quoted, makes_field=part.quoted)
            continue
        if isinstance(part, Param) and part.name == "@" and part.op is None and part.quoted:
            for i, value in enumerate(shell.positional):
                if i:
                    fields.end()
                fields.add(value, False, makes_field=True)
            continue
        value = await _value(shell, part, io)
        if part.quoted or not split:
            fields.add(value, False, makes_field=part.quoted)
        else:
            _split_into(fields, value, shell.get_var("IFS"))
    return fields.finish()


def _split_into(fields: _Fields, value: str, ifs: str | None) -> None:
    """Field-split an unquoted expansion result into the fields being built."""
    if ifs is None:
        ifs = DEFAULT_IFS
    if not ifs:
        fields.add(value, True, makes_field=False)
        return
    white = "".join(c for c in ifs if c in DEFAULT_IFS)
    hard = "".join(c for c in ifs if c not in DEFAULT_IFS)
    if hard:
        pattern = f"[{re.escape(white)}]*[{re.escape(hard)}][{re.escape(white)}]*|[{re.escape(white)}]+" \
            if white else f"[{re.escape(hard)}]"
    else:
        pattern = f"[{re.escape(white)}]+"
    stripped = value.strip(white) if white else value
    if white and value[:1] and value[0] in white:
        fields.end()
    pieces = re.split(pattern, stripped) if stripped else []
    for i, piece in enumerate(pieces):
        if i:
            fields.end()
        fields.add(piece, True, makes_field=bool(hard))     # `a::b` with IFS=: has an empty field
    if white and value[-1:] and value[-1] in white and pieces:
        fields.end()


async def _value(shell: "Shell", part, io: "IO") -> str:
    if isinstance(part, CmdSub):
        return await shell.command_substitution(part.body, io)
    if isinstance(part, ArithSub):
        expression = await expand_word(shell, part.expr, io)
        try:
            return str(evaluate(expression, shell.get_var, shell.set_var))
        except ArithError as err:
            raise ExpansionError(str(err)) from None
    assert isinstance(part, Param)
    return await _param(shell, part, io)


async def _param(shell: "Shell", part: Param, io: "IO") -> str:
    name, op = part.name, part.op
    value = shell.param(name)
    if op == "len":
        return str(len(value or ""))
    if op is None:
        if value is None and shell.option("u") and name not in "@*":
            raise ExpansionError(f"{name}: parameter not set")
        return value or ""
    assert part.arg is not None
    unset = value is None or (op.startswith(":") and value == "")
    if op in (":-", "-"):
        return await expand_word(shell, part.arg, io) if unset else value or ""
    if op in (":=", "="):
        if unset:
            value = await expand_word(shell, part.arg, io)
            shell.set_var(name, value)
        return value or ""
    if op in (":+", "+"):
        return "" if unset else await expand_word(shell, part.arg, io)
    if op in (":?", "?"):
        if unset:
            message = await expand_word(shell, part.arg, io)
            if not message:
                message = "parameter null or not set" if op == ":?" else "parameter not set"
            raise ExpansionError(f"{name}: {message}")
        return value or ""
    pattern = await expand_pattern(shell, part.arg, io)
    if op in ("/", "//"):
        assert part.replacement is not None
        replacement = await expand_word(shell, part.replacement, io)
        regex = re.compile(patterns.to_regex(pattern), re.DOTALL)
        return regex.sub(lambda _: replacement, value or "", count=0 if op == "//" else 1)
    return _remove_affix(value or "", op, pattern)


def _remove_affix(value: str, op: str, pattern: list[Piece]) -> str:
    regex = re.compile(patterns.to_regex(pattern), re.DOTALL)
    cuts = range(len(value) + 1)
    if op in ("#", "##"):
        order = cuts if op == "#" else reversed(cuts)
        for i in order:
            if regex.fullmatch(value[:i]):
                return value[i:]
    else:
        order = reversed(cuts) if op == "%" else cuts
        for i in order:
            if regex.fullmatch(value[i:]):
                return value[:i]
    return value
