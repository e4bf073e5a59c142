"""The syntax tree of a shell command line (what parser.py builds and interpreter.py runs).

Words keep their quoting: every part knows whether it was quoted, because quoting decides
field splitting, pathname expansion and whether `NAME=` starts an assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


# -- words -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lit:
    """Literal text; `quoted` when it came from quotes or a backslash escape."""
    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Param:
    """`$name`, `${name}`, `${name<op>arg}`, `${#name}` (op 'len'), `${name/pat/rep}`
    (op '/' or '//', `replacement` set)."""
    name: str
    quoted: bool = False
    op: str | None = None
    arg: "Word | None" = None
    replacement: "Word | None" = None


@dataclass(frozen=True)
class CmdSub:
    """`$(...)` or backticks."""
    body: "Sequence"
    quoted: bool = False


@dataclass(frozen=True)
class ArithSub:
    """`$((...))`: the expression is itself a word (it may hold `$x` and `$(...)`)."""
    expr: "Word"
    quoted: bool = False


Part = Union[Lit, Param, CmdSub, ArithSub]


@dataclass(frozen=True)
class Word:
    parts: tuple[Part, ...]

    @property
    def plain(self) -> str | None:
        """The text when the word is one unquoted literal (keywords, names), else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Lit) and not self.parts[0].quoted:
            return self.parts[0].text
        return None


# -- commands --------------------------------------------------------------------------------
class HeredocBody:
    """The body of a `<<DELIM` redirection; the parser fills it in when the line ends."""

    def __init__(self, delimiter: str, strip_tabs: bool, literal: bool) -> None:
        self.delimiter = delimiter
        self.strip_tabs = strip_tabs
        self.literal = literal          # a quoted delimiter: no expansion in the body
        self.word = Word(())

    def __repr__(self) -> str:
        return f"HeredocBody({self.delimiter!r}, {self.word!r})"


@dataclass(frozen=True)
class Redirect:
    """`fd op target`: op is one of < > >> >| <> >& <& &> <<."""
    fd: int
    op: str
    target: Word
    heredoc: HeredocBody | None = None


@dataclass(frozen=True)
class Assign:
    name: str
    value: Word


@dataclass(frozen=True)
class SimpleCommand:
    assigns: tuple[Assign, ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class Group:
    """`{ list; }`."""
    body: "Sequence"
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class Subshell:
    """`( list )`."""
    body: "Sequence"
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class If:
    clauses: tuple[tuple["Sequence", "Sequence"], ...]   # (condition, body) for if and each elif
    orelse: "Sequence | None"
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class For:
    var: str
    items: tuple[Word, ...] | None      # None: `for x; do` iterates over "$@"
    body: "Sequence"
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class While:
    cond: "Sequence"
    body: "Sequence"
    until: bool = False
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class CaseItem:
    patterns: tuple[Word, ...]
    body: "Sequence | None"
    fallthrough: bool = False           # `;&`


@dataclass(frozen=True)
class Case:
    subject: Word
    items: tuple[CaseItem, ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True)
class FunctionDef:
    name: str
    body: "Command"


Command = Union[SimpleCommand, Group, Subshell, If, For, While, Case, FunctionDef]


@dataclass(frozen=True)
class Pipeline:
    commands: tuple[Command, ...]
    negated: bool = False


@dataclass(frozen=True)
class AndOr:
    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...] = ()      # ('&&' | '||', pipeline)


@dataclass(frozen=True)
class ListItem:
    command: AndOr
    background: bool = False


@dataclass(frozen=True)
class Sequence:
    items: tuple[ListItem, ...]
