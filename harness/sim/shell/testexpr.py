"""`test` / `[` and mksh's `[[ ... ]]`.

Like mksh, integer operands of -eq/-lt/... are arithmetic expressions (`[ x -eq 0 ]` reads the
variable x). Status 0 true, 1 false, 2 for a malformed expression (message on stderr).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from harness.sim.fs import FsError, VirtualFS, normalize
from harness.sim.shell import patterns
from harness.sim.shell.arith import ArithError, evaluate
from harness.sim.shell.fsaccess import check_readable

if TYPE_CHECKING:
    from harness.sim.shell.interpreter import IO, Shell

SH = "/system/bin/sh"
UNARY = frozenset({"-e", "-f", "-d", "-r", "-w", "-x", "-s", "-L", "-h", "-b", "-c", "-p", "-S",
                   "-n", "-z", "-t", "-g", "-u", "-k", "-O", "-G", "-a"})
BINARY = frozenset({"=", "==", "!=", "<", ">", "-eq", "-ne", "-lt", "-le", "-gt", "-ge",
                    "-nt", "-ot", "-ef", "=~"})


class TestError(Exception):
    pass


@dataclass
class TestContext:
    fs: VirtualFS
    uid: int
    cwd: str
    lookup: Callable[[str], str | None]
    double_bracket: bool = False


def run_test(ctx: TestContext, args: list[str]) -> bool:
    """Evaluate; raises TestError with mksh's message for malformed expressions."""
    return _Evaluator(ctx, args).run()


def evaluate_double_bracket(shell: "Shell", args: list[str], io: "IO") -> int:
    ctx = TestContext(shell.device.fs, shell.uid, shell.cwd, shell.get_var, double_bracket=True)
    try:
        return 0 if run_test(ctx, args) else 1
    except TestError as err:
        io.err(f"{SH}: [[: {err}\n")
        return 2


class _Evaluator:
    def __init__(self, ctx: TestContext, args: list[str]) -> None:
        self.ctx = ctx
        self.args = args
        self.i = 0
        self.and_op, self.or_op = ("&&", "||") if ctx.double_bracket else ("-a", "-o")

    def run(self) -> bool:
        args = self.args
        if not args:
            return False
        if not self.ctx.double_bracket:
            special = self._posix_short_forms(args)
            if special is not None:
                return special
        result = self._or()
        if self.i < len(args):
            raise TestError(f"{args[self.i]}: unexpected operator/operand")
        return result

    def _posix_short_forms(self, args: list[str]) -> bool | None:
        """POSIX decides 1-4 argument tests by their count, before any grammar."""
        n = len(args)
        if n == 1:
            return args[0] != ""
        if n == 2:
            if args[0] == "!":
                return args[1] == ""
            if args[0] in UNARY:
                return self._unary(args[0], args[1])
            raise TestError(f"{args[0]}: unexpected operator/operand")
        if n == 3:
            if args[1] in BINARY:
                return self._binary(args[0], args[1], args[2])
            if args[0] == "!":
                return not _Evaluator(self.ctx, args[1:]).run()
            if args[0] == "(" and args[2] == ")":
                return args[1] != ""
        if n == 4 and args[0] == "!":
            return not _Evaluator(self.ctx, args[1:]).run()
        return None

    # -- grammar ---------------------------------------------------------------------------------
    def _peek(self) -> str | None:
        return self.args[self.i] if self.i < len(self.args) else None

    def _take(self) -> str:
        tok = self._peek()
        if tok is None:
            raise TestError("missing argument" if self.i else "missing expression")
        self.i += 1
        return tok

    def _or(self) -> bool:
        result = self._and()
        while self._peek() == self.or_op:
            self.i += 1
            right = self._and()
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._not()
        while self._peek() == self.and_op:
            self.i += 1
            right = self._not()
            result = result and right
        return result

    def _not(self) -> bool:
        if self._peek() == "!":
            self.i += 1
            return not self._not()
        return self._primary()

    def _primary(self) -> bool:
        tok = self._take()
        if tok == "(":
            result = self._or()
            if self._peek() != ")":
                raise TestError("missing )")
            self.i += 1
            return result
        nxt = self._peek()
        if tok in UNARY and nxt is not None and not (nxt in BINARY and self.i + 1 < len(self.args)):
            self.i += 1
            return self._unary(tok, nxt)
        if nxt in BINARY:
            self.i += 1
            return self._binary(tok, nxt, self._take())
        return tok != ""

    # -- operators -------------------------------------------------------------------------------
    def _unary(self, op: str, operand: str) -> bool:
        if op == "-n":
            return operand != ""
        if op == "-z":
            return operand == ""
        if op == "-t":
            return False
        path = normalize(operand, self.ctx.cwd)
        if path == "/dev/null":             # a character device, not in the file tree
            return op in ("-e", "-a", "-c", "-r", "-w")
        fs = self.ctx.fs
        stat = fs.stat(path) if operand else None
        if stat is None:
            return False
        mode, size, _ = stat
        if op in ("-e", "-a"):
            return True
        if op == "-f":
            return not fs.isdir(path)
        if op == "-d":
            return fs.isdir(path)
        if op == "-s":
            return size > 0
        if op == "-r":
            try:
                check_readable(path, self.ctx.uid)
            except FsError:
                return False
            return True
        if op == "-w":
            try:
                fs.check_writable(path, self.ctx.uid)
            except FsError:
                return False
            return True
        if op == "-x":
            return bool(mode & 0o111)
        return False

    def _binary(self, left: str, op: str, right: str) -> bool:
        if op in ("=", "=="):
            return self._string_match(left, right)
        if op == "!=":
            return not self._string_match(left, right)
        if op == "<":
            return left < right
        if op == ">":
            return left > right
        if op == "=~":
            try:
                return re.search(right, left) is not None
            except re.error:
                raise TestError(f"{right}: bad regular expression") from None
        if op in ("-nt", "-ot", "-ef"):
            return self._file_compare(left, op, right)
        a, b = self._integer(left), self._integer(right)
        return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b,
                "-gt": a > b, "-ge": a >= b}[op]

    def _string_match(self, left: str, right: str) -> bool:
        if self.ctx.double_bracket:
            return patterns.matches([(right, True)], left)
        return left == right

    def _integer(self, text: str) -> int:
        try:
            return evaluate(text, self.ctx.lookup, lambda name, value: None)
        except ArithError as err:
            raise TestError(str(err)) from None

    def _file_compare(self, left: str, op: str, right: str) -> bool:
        a = self.ctx.fs.stat(normalize(left, self.ctx.cwd))
        b = self.ctx.fs.stat(normalize(right, self.ctx.cwd))
        if op == "-ef":
            return a is not None and b is not None and normalize(left, self.ctx.cwd) == normalize(right, self.ctx.cwd)
        if op == "-nt":
            return a is not None and (b is None or a[2] > b[2])
        return b is not None and (a is None or a[2] < b[2])
