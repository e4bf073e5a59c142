"""Parser for the subset of mksh (Android's /system/bin/sh) that adb clients and people send.

Pure: text in, syntax tree (nodes.py) out. Errors carry mksh's own wording (R56b, Android 8.x;
the texts are unchanged up to R59): the interpreter prints them after `/system/bin/sh: ` and
exits with status 1, as mksh does for `sh -c`:

- `no closing quote`                      an unterminated '...', "...", `...`, ${...}, $(...)
- `syntax error: 'fi' unexpected`         a token where none fits (words, operators, 'newline')
- `syntax error: 'if' unmatched`          end of input inside if/for/while/until/case/{/(
- `syntax error: unexpected EOF`          end of input where a command must follow (`a |`)
- `here document 'EOF' unclosed`

`sh -c` runs its text one line at a time (a later line's syntax error does not stop the earlier
lines), so `Parser.next_line()` hands out one top-level line at a time.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from harness.sim.shell.nodes import (AndOr, ArithSub, Assign, Case, CaseItem, CmdSub, Command,
                                     For, FunctionDef, Group, HeredocBody, If, ListItem, Lit,
                                     Param, Part, Pipeline, Redirect, Sequence, SimpleCommand,
                                     Subshell, While, Word)


class ShellSyntaxError(Exception):
    """A parse error; `str(err)` is mksh's message without the `/system/bin/sh: ` prefix."""


class _NoClosingQuote(ShellSyntaxError):
    def __init__(self) -> None:
        super().__init__("no closing quote")


RESERVED = frozenset({"if", "then", "else", "elif", "fi", "case", "esac", "for", "select",
                      "while", "until", "do", "done", "in", "function", "time", "{", "}", "!",
                      "[["})
# Words that close a construct: a list stops in front of them.
CLOSERS = frozenset({"then", "else", "elif", "fi", "do", "done", "esac", "}"})

OPERATORS = ("&&", "||", ";;", ";&", ";|", "|&", "&", "|", ";", "(", ")")
REDIR_OPS = ("<<-", "<<", "<&", "<>", "<", ">>", ">|", ">&", ">", "&>")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
SPECIAL_PARAMS = "?$#!@*-"
BRACE_OPS = (":-", ":=", ":+", ":?", "%%", "##", "-", "=", "+", "?", "%", "#")
_WORD_END = frozenset(" \t\n;&|<>()")


@dataclass
class Token:
    kind: str                   # 'word' | 'op' | 'redir' | 'newline' | 'eof'
    text: str                   # operator text, or the raw source of a word
    word: Word | None = None
    fd: int | None = None       # explicit fd of a redirection (`2>`), else None


def parse(text: str) -> Sequence:
    """Parse a whole script; raise ShellSyntaxError on the first error."""
    parser = Parser(text)
    items: list[ListItem] = []
    while (line := parser.next_line()) is not None:
        items.extend(line.items)
    return Sequence(tuple(items))


@functools.lru_cache(maxsize=512)
def parse_lines(text: str) -> tuple[tuple[Sequence, ...], str | None]:
    """The top-level lines of `sh -c text`, and the syntax error that stops the parse after them
    (None if none). Cached: nodes are frozen, and harnesses send the same few command lines over
    and over (a poll loop's `getprop`, `ip addr`), so each is parsed once."""
    parser = Parser(text)
    lines: list[Sequence] = []
    try:
        while (line := parser.next_line()) is not None:
            lines.append(line)
    except ShellSyntaxError as err:
        return tuple(lines), str(err)
    return tuple(lines), None


class Parser:
    def __init__(self, src: str, pos: int = 0) -> None:
        self.src = src
        self.pos = pos
        self._peeked: Token | None = None
        self._nesting: str | None = None          # the construct an EOF leaves unmatched
        self._heredocs: list[HeredocBody] = []

    # ==== top level ============================================================================
    def next_line(self) -> Sequence | None:
        """The next top-level line as a Sequence; None at end of input."""
        while self._peek().kind == "newline":
            self._next()
        if self._peek().kind == "eof":
            return None
        items = self._and_or_items(allow_newlines=False)
        tok = self._peek()
        if tok.kind not in ("newline", "eof"):
            self._unexpected(tok)
        self._next()            # the newline: here-document bodies of this line follow it
        return Sequence(tuple(items))

    # ==== lists ================================================================================
    def _compound_list(self) -> Sequence:
        """A list inside a construct: newlines separate commands; stops before a closer."""
        return Sequence(tuple(self._and_or_items(allow_newlines=True)))

    def _and_or_items(self, *, allow_newlines: bool) -> list[ListItem]:
        items: list[ListItem] = []
        while True:
            if allow_newlines:
                self._linebreak()
            if not self._starts_command(self._peek()):
                break
            and_or = self._and_or()
            tok = self._peek()
            if tok.kind == "op" and tok.text in ("&", ";"):
                self._next()
                items.append(ListItem(and_or, background=tok.text == "&"))
                continue
            items.append(ListItem(and_or))
            if tok.kind == "newline" and allow_newlines:
                continue
            break
        return items

    def _starts_command(self, tok: Token) -> bool:
        if tok.kind in ("redir",):
            return True
        if tok.kind == "op":
            return tok.text == "("
        if tok.kind == "word":
            return tok.word is None or tok.word.plain not in CLOSERS
        return False

    def _and_or(self) -> AndOr:
        first = self._pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while (tok := self._peek()).kind == "op" and tok.text in ("&&", "||"):
            self._next()
            self._linebreak()
            rest.append((tok.text, self._pipeline()))
        return AndOr(first, tuple(rest))

    def _pipeline(self) -> Pipeline:
        negated = False
        if self._peek_plain() == "!":
            self._next()
            negated = True
        commands = [self._command()]
        while (tok := self._peek()).kind == "op" and tok.text == "|":
            self._next()
            self._linebreak()
            commands.append(self._command())
        return Pipeline(tuple(commands), negated)

    # ==== commands =============================================================================
    def _command(self) -> Command:
        tok = self._peek()
        if tok.kind == "op" and tok.text == "(":
            arithmetic = self._arith_command()
            if arithmetic is not None:
                return arithmetic
            self._next()
            body = self._nested("(", self._compound_list, ")")
            return Subshell(body, self._redirects())
        keyword = self._peek_plain()
        if keyword == "{":
            self._next()
            body = self._nested("{", self._compound_list, "}")
            return Group(body, self._redirects())
        if keyword == "if":
            return self._if()
        if keyword in ("while", "until"):
            return self._while(keyword)
        if keyword == "for":
            return self._for()
        if keyword == "case":
            return self._case()
        if keyword == "function":
            self._next()
            name = self._expect_name("function")
            return FunctionDef(name, self._function_body())
        if tok.kind in ("word", "redir") and keyword not in RESERVED - {"{", "!", "[["}:
            return self._simple_command()
        self._unexpected(tok)

    def _arith_command(self) -> SimpleCommand | None:
        """`(( expr ))`, which mksh runs as `let "expr"`; None when it is `( (...) )`."""
        if not self.src.startswith("(", self.pos):
            return None
        end = _matching_double_paren(self.src, self.pos + 1)
        if end < 0:
            return None
        expr = Parser(self.src[self.pos + 1:end])._read_word("", quoted=True)
        self._peeked = None
        self.pos = end + 2
        return SimpleCommand((), (Word((Lit("let"),)), expr), self._redirects())

    def _nested(self, opener: str, parse_body, closer: str):
        saved, self._nesting = self._nesting, opener
        body = parse_body()
        self._expect(closer)
        self._nesting = saved
        return body

    def _simple_command(self) -> Command:
        assigns: list[Assign] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            tok = self._peek()
            if tok.kind == "redir":
                redirects.append(self._redirect())
            elif tok.kind == "word":
                assert tok.word is not None
                if not words and tok.word.plain == "[[":
                    self._next()
                    return SimpleCommand(tuple(assigns), (tok.word, *self._dbracket_words()),
                                         tuple(redirects))
                if not words and (assign := _as_assignment(tok.word)) is not None:
                    self._next()
                    assigns.append(assign)
                else:
                    self._next()
                    words.append(tok.word)
                    if len(words) == 1 and not assigns and self._is_funcdef(tok.word):
                        return FunctionDef(tok.word.plain or "", self._function_body(paren=True))
            else:
                break
        return SimpleCommand(tuple(assigns), tuple(words), tuple(redirects))

    def _dbracket_words(self) -> list[Word]:
        """`[[ ... ]]`: operators inside (&& || < > ( )) are plain words for the test."""
        words: list[Word] = []
        while True:
            tok = self._next()
            if tok.kind in ("eof", "newline"):
                self._unexpected(tok)
            word = tok.word if tok.kind == "word" else Word((Lit(tok.text),))
            assert word is not None
            words.append(word)
            if word.plain == "]]":
                return words

    def _is_funcdef(self, word: Word) -> bool:
        nxt = self._peek()
        return (word.plain is not None and NAME_RE.fullmatch(word.plain) is not None
                and nxt.kind == "op" and nxt.text == "(")

    def _function_body(self, paren: bool = False) -> Command:
        if paren:
            self._next()
            self._expect(")")
        self._linebreak()
        return self._command()

    def _if(self) -> If:
        saved, self._nesting = self._nesting, "if"
        self._next()
        clauses = []
        cond = self._compound_list()
        self._expect("then")
        body = self._required_list()
        clauses.append((cond, body))
        orelse = None
        while True:
            word = self._peek_plain()
            if word == "elif":
                self._next()
                cond = self._compound_list()
                self._expect("then")
                clauses.append((cond, self._required_list()))
            elif word == "else":
                self._next()
                orelse = self._required_list()
            else:
                break
        self._expect("fi")
        self._nesting = saved
        return If(tuple(clauses), orelse, self._redirects())

    def _required_list(self) -> Sequence:
        body = self._compound_list()
        if not body.items:
            self._unexpected(self._peek())
        return body

    def _while(self, keyword: str) -> While:
        saved, self._nesting = self._nesting, keyword
        self._next()
        cond = self._compound_list()
        body = self._do_group()
        self._nesting = saved
        return While(cond, body, keyword == "until", self._redirects())

    def _do_group(self) -> Sequence:
        word = self._peek_plain()
        if word == "do":
            closer = "done"
        elif word == "{":
            closer = "}"
        else:
            self._unexpected(self._peek())
        self._next()
        body = self._compound_list()
        self._expect(closer)
        return body

    def _for(self) -> For:
        saved, self._nesting = self._nesting, "for"
        self._next()
        var = self._expect_name("for")
        items: tuple[Word, ...] | None = None
        self._linebreak()
        if self._peek_plain() == "in":
            self._next()
            collected = []
            while (tok := self._peek()).kind == "word":
                assert tok.word is not None
                collected.append(tok.word)
                self._next()
            items = tuple(collected)
            tok = self._peek()
            if tok.kind == "op" and tok.text == ";" or tok.kind == "newline":
                self._next()
            else:
                self._unexpected(tok)
        elif (tok := self._peek()).kind == "op" and tok.text == ";":
            self._next()
        self._linebreak()
        body = self._do_group()
        self._nesting = saved
        return For(var, items, body, self._redirects())

    def _case(self) -> Case:
        self._next()
        tok = self._next()
        if tok.kind != "word":
            self._unexpected(tok)
        assert tok.word is not None
        subject = tok.word
        saved, self._nesting = self._nesting, "case"
        self._linebreak()
        opener = self._peek_plain()
        if opener == "in":
            closer = "esac"
        elif opener == "{":
            closer = "}"
        else:
            self._unexpected(self._peek())
        self._next()
        items: list[CaseItem] = []
        while True:
            self._linebreak()
            if self._peek_plain() == closer:
                break
            items.append(self._case_item(closer))
        self._next()
        self._nesting = saved
        return Case(subject, tuple(items), self._redirects())

    def _case_item(self, closer: str) -> CaseItem:
        tok = self._peek()
        if tok.kind == "op" and tok.text == "(":
            self._next()
        patterns = []
        while True:
            tok = self._next()
            if tok.kind != "word":
                self._unexpected(tok)
            assert tok.word is not None
            patterns.append(tok.word)
            tok = self._next()
            if tok.kind == "op" and tok.text == "|":
                continue
            if tok.kind == "op" and tok.text == ")":
                break
            self._unexpected(tok)
        body = self._compound_list()
        tok = self._peek()
        fallthrough = False
        if tok.kind == "op" and tok.text in (";;", ";&", ";|"):
            self._next()
            fallthrough = tok.text == ";&"
        elif self._peek_plain() != closer:
            self._unexpected(tok)
        return CaseItem(tuple(patterns), body if body.items else None, fallthrough)

    def _redirects(self) -> tuple[Redirect, ...]:
        redirects = []
        while self._peek().kind == "redir":
            redirects.append(self._redirect())
        return tuple(redirects)

    def _redirect(self) -> Redirect:
        tok = self._next()
        op = tok.text
        fd = tok.fd if tok.fd is not None else (0 if op.startswith("<") else 1)
        target = self._next()
        if target.kind != "word":
            self._unexpected(target)
        assert target.word is not None
        if op in ("<<", "<<-"):
            delimiter, literal = _heredoc_delimiter(target.word)
            body = HeredocBody(delimiter, op == "<<-", literal)
            self._heredocs.append(body)
            return Redirect(fd, "<<", target.word, body)
        return Redirect(fd, op, target.word)

    # ==== token helpers ========================================================================
    def _expect(self, text: str) -> None:
        tok = self._peek()
        matches = (tok.kind == "op" and tok.text == text) or (
            tok.kind == "word" and tok.word is not None and tok.word.plain == text)
        if not matches:
            self._unexpected(tok)
        self._next()

    def _expect_name(self, construct: str) -> str:
        tok = self._next()
        if tok.kind != "word":
            self._unexpected(tok)
        assert tok.word is not None
        name = tok.word.plain
        if name is None or not NAME_RE.fullmatch(name):
            raise ShellSyntaxError(f"{construct}: bad identifier")
        return name

    def _linebreak(self) -> None:
        while self._peek().kind == "newline":
            self._next()

    def _peek_plain(self) -> str | None:
        tok = self._peek()
        return tok.word.plain if tok.kind == "word" and tok.word is not None else None

    def _unexpected(self, tok: Token):
        if tok.kind == "eof":
            if self._nesting is not None:
                raise ShellSyntaxError(f"syntax error: '{self._nesting}' unmatched")
            raise ShellSyntaxError("syntax error: unexpected EOF")
        shown = "newline" if tok.kind == "newline" else tok.text
        raise ShellSyntaxError(f"syntax error: '{shown}' unexpected")

    def _peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self._lex()
        return self._peeked

    def _next(self) -> Token:
        tok = self._peek()
        self._peeked = None
        if tok.kind == "newline" and self._heredocs:
            self._read_heredocs()
        return tok

    # ==== lexer ================================================================================
    def _lex(self) -> Token:
        src = self.src
        while True:
            while self.pos < len(src) and src[self.pos] in " \t":
                self.pos += 1
            if src.startswith("\\\n", self.pos):
                self.pos += 2
                continue
            if self.pos < len(src) and src[self.pos] == "#":
                end = src.find("\n", self.pos)
                self.pos = len(src) if end < 0 else end
            break
        if self.pos >= len(src):
            if self._heredocs:
                raise ShellSyntaxError(f"here document '{self._heredocs[0].delimiter}' unclosed")
            return Token("eof", "")
        ch = src[self.pos]
        if ch == "\n":
            self.pos += 1
            return Token("newline", "\n")
        for op in REDIR_OPS:
            if src.startswith(op, self.pos):
                self.pos += len(op)
                return Token("redir", op)
        for op in OPERATORS:
            if src.startswith(op, self.pos):
                self.pos += len(op)
                return Token("op", op)
        match = re.compile(r"\d+(?=[<>])").match(src, self.pos)
        if match:
            self.pos = match.end()
            tok = self._lex()
            tok.fd = int(match.group())
            return tok
        start = self.pos
        word = self._read_word(_WORD_END)
        return Token("word", src[start:self.pos], word)

    def _read_word(self, terminators: frozenset[str] | str, quoted: bool = False) -> Word:
        """Read word parts until an unquoted terminator (not consumed) or end of input."""
        parts: list[Part] = []
        buf: list[str] = []
        src = self.src

        def flush() -> None:
            if buf:
                parts.append(Lit("".join(buf), quoted))
                buf.clear()

        while self.pos < len(src):
            ch = src[self.pos]
            if ch in terminators:
                break
            if ch == "\\":
                if src.startswith("\\\n", self.pos):
                    self.pos += 2
                    continue
                flush()
                if self.pos + 1 < len(src):
                    parts.append(Lit(src[self.pos + 1], True))
                    self.pos += 2
                else:
                    parts.append(Lit("\\", quoted))
                    self.pos += 1
            elif ch == "'" and not quoted:
                flush()
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise _NoClosingQuote()
                parts.append(Lit(src[self.pos + 1:end], True))
                self.pos = end + 1
            elif ch == '"':
                flush()
                self.pos += 1
                parts.extend(self._read_double_quoted())
            elif ch == "$":
                flush()
                parts.append(self._read_dollar(quoted))
            elif ch == "`":
                flush()
                parts.append(self._read_backquote(quoted))
            else:
                buf.append(ch)
                self.pos += 1
        flush()
        return Word(tuple(parts))

    def _read_double_quoted(self) -> list[Part]:
        parts: list[Part] = []
        buf: list[str] = []
        src = self.src

        def flush() -> None:
            if buf:
                parts.append(Lit("".join(buf), True))
                buf.clear()

        while True:
            if self.pos >= len(src):
                raise _NoClosingQuote()
            ch = src[self.pos]
            if ch == '"':
                self.pos += 1
                break
            if ch == "\\" and self.pos + 1 < len(src) and src[self.pos + 1] in '$`"\\\n':
                if src[self.pos + 1] != "\n":
                    buf.append(src[self.pos + 1])
                self.pos += 2
            elif ch == "$":
                flush()
                parts.append(self._read_dollar(True))
            elif ch == "`":
                flush()
                parts.append(self._read_backquote(True))
            else:
                buf.append(ch)
                self.pos += 1
        flush()
        if not parts:
            parts.append(Lit("", True))     # "" is an (empty) argument of its own
        return parts

    def _read_dollar(self, quoted: bool) -> Part:
        src = self.src
        self.pos += 1                       # the '$'
        nxt = src[self.pos] if self.pos < len(src) else ""
        if src.startswith("((", self.pos):
            return self._read_arith(quoted)
        if nxt == "(":
            self.pos += 1
            return CmdSub(self._read_subscript(), quoted)
        if nxt == "{":
            self.pos += 1
            return self._read_brace(quoted)
        if nxt and (nxt in SPECIAL_PARAMS or nxt.isdigit()):
            self.pos += 1
            return Param(nxt, quoted)
        match = NAME_RE.match(src, self.pos)
        if match:
            self.pos = match.end()
            return Param(match.group(), quoted)
        return Lit("$", quoted)

    def _read_subscript(self) -> Sequence:
        """The body of `$(...)`, up to and including its `)`."""
        sub = Parser(self.src, self.pos)
        try:
            body = sub._compound_list()
            sub._expect(")")
        except ShellSyntaxError as err:
            if str(err).endswith(("unexpected EOF", "unmatched")):
                raise _NoClosingQuote() from None      # mksh lexes $(...) as one quoted unit
            raise
        self.pos = sub.pos
        return body

    def _read_backquote(self, quoted: bool) -> CmdSub:
        src = self.src
        self.pos += 1
        text: list[str] = []
        while True:
            if self.pos >= len(src):
                raise _NoClosingQuote()
            ch = src[self.pos]
            if ch == "`":
                self.pos += 1
                break
            if ch == "\\" and self.pos + 1 < len(src) and (
                    src[self.pos + 1] in "$`\\" or (quoted and src[self.pos + 1] == '"')):
                text.append(src[self.pos + 1])
                self.pos += 2
                continue
            text.append(ch)
            self.pos += 1
        return CmdSub(parse("".join(text)), quoted)

    def _read_arith(self, quoted: bool) -> ArithSub:
        src = self.src
        start = self.pos + 2
        i = _matching_double_paren(src, start)
        if i < 0:
            raise _NoClosingQuote()
        inner = Parser(src[start:i])
        expr = inner._read_word("", quoted=True)
        self.pos = i + 2
        return ArithSub(expr, quoted)

    def _read_brace(self, quoted: bool) -> Part:
        src = self.src
        length = False
        if src.startswith("#", self.pos) and self.pos + 1 < len(src) and src[self.pos + 1] != "}":
            length = True
            self.pos += 1
        match = NAME_RE.match(src, self.pos) or re.compile(r"\d+").match(src, self.pos)
        if match:
            name = match.group()
            self.pos = match.end()
        elif self.pos < len(src) and src[self.pos] in SPECIAL_PARAMS:
            name = src[self.pos]
            self.pos += 1
        elif self.pos >= len(src):
            raise _NoClosingQuote()
        else:
            raise ShellSyntaxError(f"${{{src[self.pos:].split('}')[0]}}}: bad substitution")
        if length:
            self._expect_brace_close()
            return Param(name, quoted, "len")
        if src.startswith("}", self.pos):
            self.pos += 1
            return Param(name, quoted)
        if src.startswith("/", self.pos):
            op = "//" if src.startswith("//", self.pos) else "/"
            self.pos += len(op)
            pattern = self._read_word("/}", quoted=quoted)
            replacement = Word(())
            if src.startswith("/", self.pos):
                self.pos += 1
                replacement = self._read_word("}", quoted=quoted)
            self._expect_brace_close()
            return Param(name, quoted, op, pattern, replacement)
        for op in BRACE_OPS:
            if src.startswith(op, self.pos):
                self.pos += len(op)
                arg = self._read_word("}", quoted=quoted)
                self._expect_brace_close()
                return Param(name, quoted, op, arg)
        if self.pos >= len(src):
            raise _NoClosingQuote()
        raise ShellSyntaxError(f"${{{name}{src[self.pos:].split('}')[0]}}}: bad substitution")

    def _expect_brace_close(self) -> None:
        if not self.src.startswith("}", self.pos):
            raise _NoClosingQuote()
        self.pos += 1

    def _read_heredocs(self) -> None:
        """Read the bodies of the pending `<<` redirections (the lines after this newline)."""
        pending, self._heredocs = self._heredocs, []
        for body in pending:
            lines: list[str] = []
            while True:
                if self.pos >= len(self.src):
                    raise ShellSyntaxError(f"here document '{body.delimiter}' unclosed")
                end = self.src.find("\n", self.pos)
                line = self.src[self.pos:] if end < 0 else self.src[self.pos:end]
                self.pos = len(self.src) if end < 0 else end + 1
                if body.strip_tabs:
                    line = line.lstrip("\t")
                if line == body.delimiter:
                    break
                lines.append(line + "\n")
            text = "".join(lines)
            if body.literal:
                body.word = Word((Lit(text, True),))
            else:
                body.word = _parse_heredoc_text(text)


def _matching_double_paren(src: str, start: int) -> int:
    """Index of the `))` closing an arithmetic expression that starts at `start`, or -1."""
    depth = 0
    for i in range(start, len(src)):
        if src[i] == "(":
            depth += 1
        elif src[i] == ")":
            if depth == 0:
                return i if src.startswith("))", i) else -1
            depth -= 1
    return -1


def _parse_heredoc_text(text: str) -> Word:
    """A here-document body: `$`, backquotes and `\\` are special, quotes are not."""
    parser = Parser(text)
    parts: list[Part] = []
    buf: list[str] = []
    while parser.pos < len(text):
        ch = text[parser.pos]
        if ch == "\\" and parser.pos + 1 < len(text) and text[parser.pos + 1] in "$`\\\n":
            if text[parser.pos + 1] != "\n":
                buf.append(text[parser.pos + 1])
            parser.pos += 2
        elif ch in "$`":
            if buf:
                parts.append(Lit("".join(buf), True))
                buf.clear()
            parts.append(parser._read_dollar(True) if ch == "$" else parser._read_backquote(True))
        else:
            buf.append(ch)
            parser.pos += 1
    if buf:
        parts.append(Lit("".join(buf), True))
    return Word(tuple(parts))


def _heredoc_delimiter(word: Word) -> tuple[str, bool]:
    """(delimiter text, literal body?): any quoting in the delimiter makes the body literal."""
    text = "".join(p.text for p in word.parts if isinstance(p, Lit))
    literal = any(isinstance(p, Lit) and p.quoted for p in word.parts)
    return text, literal


def _as_assignment(word: Word) -> Assign | None:
    first = word.parts[0] if word.parts else None
    if not isinstance(first, Lit) or first.quoted:
        return None
    match = ASSIGN_RE.match(first.text)
    if not match:
        return None
    rest = first.text[match.end():]
    parts = ((Lit(rest),) if rest else ()) + word.parts[1:]
    return Assign(match.group(1), Word(parts))
