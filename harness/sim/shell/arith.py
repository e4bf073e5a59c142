"""Shell arithmetic (`$((...))`, and the integer operands of `test`) as mksh evaluates it.

mksh arithmetic is 32-bit signed, numbers are decimal unless written 0x.. or BASE#digits, and a
variable whose value is not a number is itself evaluated as an expression (unset or empty: 0).
Errors read like mksh's: `<expression>: unexpected 'x'`, `<expression>: zero divisor`.
"""

from __future__ import annotations

import re
from typing import Callable

_TOKEN_RE = re.compile(r"\s*(?:(?P<num>0[xX][0-9A-Fa-f]+|\d+#[0-9A-Za-z@_]+|\d+[A-Za-z_0-9]*)"
                       r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                       r"|(?P<op>\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&^|]=|"
                       r"[-+*/%<>=!~&^|?:(),]))")
_BINARY_PRECEDENCE = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}
_ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=")
_MAX_DEPTH = 64


class ArithError(Exception):
    """`str(err)` is the message mksh prints after `/system/bin/sh: `."""


def to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def evaluate(expression: str, get: Callable[[str], str | None],
             assign: Callable[[str, str], None], depth: int = 0) -> int:
    return _Evaluator(expression, get, assign, depth).run()


class _Evaluator:
    def __init__(self, expression: str, get, assign, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise ArithError(f"{expression}: expression recurses on parameter")
        self.expression = expression
        self.get = get
        self.assign = assign
        self.depth = depth
        self.tokens = self._tokenize(expression)
        self.i = 0

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN_RE.match(text, pos)
            if not match:
                raise ArithError(f"{self.expression}: unexpected '{text[pos:].strip()[0]}'")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def run(self) -> int:
        if not self.tokens:
            return 0
        value = self._comma()
        if self.i < len(self.tokens):
            raise ArithError(f"{self.expression}: unexpected '{self.tokens[self.i][1]}'")
        return value

    # -- token helpers ---------------------------------------------------------------------------
    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        tok = self._peek()
        if tok is None:
            raise ArithError(f"{self.expression}: unexpected 'end of expression'")
        self.i += 1
        return tok

    def _is_op(self, *ops: str) -> bool:
        tok = self._peek()
        return tok is not None and tok[0] == "op" and tok[1] in ops

    # -- grammar ---------------------------------------------------------------------------------
    def _comma(self) -> int:
        value = self._assignment()
        while self._is_op(","):
            self._take()
            value = self._assignment()
        return value

    def _assignment(self) -> int:
        tok = self._peek()
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if tok and tok[0] == "name" and nxt and nxt[0] == "op" and nxt[1] in _ASSIGN_OPS:
            self.i += 2
            value = self._assignment()
            if nxt[1] != "=":
                value = self._binary(nxt[1][:-1], self._variable(tok[1]), value)
            self.assign(tok[1], str(value))
            return value
        return self._ternary()

    def _ternary(self) -> int:
        cond = self._binary_chain(1)
        if not self._is_op("?"):
            return cond
        self._take()
        yes = self._assignment()
        if not self._is_op(":"):
            raise ArithError(f"{self.expression}: unexpected '{(self._peek() or ('', 'end of expression'))[1]}'")
        self._take()
        no = self._assignment()
        return yes if cond else no

    def _binary_chain(self, min_prec: int) -> int:
        left = self._unary()
        while True:
            tok = self._peek()
            if not tok or tok[0] != "op" or tok[1] not in _BINARY_PRECEDENCE:
                return left
            prec = _BINARY_PRECEDENCE[tok[1]]
            if prec < min_prec:
                return left
            self._take()
            right = self._binary_chain(prec + 1)
            left = self._binary(tok[1], left, right)

    def _binary(self, op: str, a: int, b: int) -> int:
        if op in ("/", "%"):
            if b == 0:
                raise ArithError(f"{self.expression}: zero divisor")
            quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
            return to_int32(quotient if op == "/" else a - b * quotient)
        results = {
            "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
            "<<": lambda: a << (b & 31), ">>": lambda: a >> (b & 31),
            "<": lambda: int(a < b), "<=": lambda: int(a <= b), ">": lambda: int(a > b),
            ">=": lambda: int(a >= b), "==": lambda: int(a == b), "!=": lambda: int(a != b),
            "&": lambda: a & b, "^": lambda: a ^ b, "|": lambda: a | b,
            "&&": lambda: int(bool(a) and bool(b)), "||": lambda: int(bool(a) or bool(b)),
        }
        return to_int32(results[op]())

    def _unary(self) -> int:
        tok = self._peek()
        if tok and tok[0] == "op":
            if tok[1] in ("+", "-", "!", "~"):
                self._take()
                value = self._unary()
                return to_int32({"+": value, "-": -value, "!": int(not value), "~": ~value}[tok[1]])
            if tok[1] in ("++", "--"):
                self._take()
                name = self._take()
                if name[0] != "name":
                    raise ArithError(f"{self.expression}: {name[1]} requires lvalue")
                value = to_int32(self._variable(name[1]) + (1 if tok[1] == "++" else -1))
                self.assign(name[1], str(value))
                return value
        return self._postfix()

    def _postfix(self) -> int:
        tok = self._take()
        kind, text = tok
        if kind == "op" and text == "(":
            value = self._comma()
            if not self._is_op(")"):
                raise ArithError(f"{self.expression}: unexpected '{(self._peek() or ('', 'end of expression'))[1]}'")
            self._take()
            return value
        if kind == "num":
            return self._number(text)
        if kind == "name":
            value = self._variable(text)
            if self._is_op("++", "--"):
                op = self._take()[1]
                self.assign(text, str(to_int32(value + (1 if op == "++" else -1))))
            return value
        raise ArithError(f"{self.expression}: unexpected '{text}'")

    def _number(self, text: str) -> int:
        try:
            if text[:2].lower() == "0x":
                return to_int32(int(text[2:], 16))
            if "#" in text:
                base, digits = text.split("#", 1)
                return to_int32(int(digits, int(base)))
            return to_int32(int(text, 10))
        except ValueError:
            raise ArithError(f"{self.expression}: bad number '{text}'") from None

    def _variable(self, name: str) -> int:
        value = (self.get(name) or "").strip()
        if not value:
            return 0
        if re.fullmatch(r"[-+]?\d+", value):
            return to_int32(int(value))
        return evaluate(value, self.get, self.assign, self.depth + 1)
