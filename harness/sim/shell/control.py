"""How shell control flow leaves nested execution: exit, break/continue, return."""

from __future__ import annotations


class ShellExit(Exception):
    """`exit N` (or a fatal error): the current (sub)shell ends with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class LoopControl(Exception):
    """`break N` / `continue N`."""

    def __init__(self, kind: str, levels: int) -> None:
        super().__init__(kind)
        self.kind = kind            # 'break' | 'continue'
        self.levels = levels


class FunctionReturn(Exception):
    """`return N` inside a function."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
