"""What a shell command sees: the contract between the interpreter and every tool.

A command is `async def run(proc: Proc) -> int`. It reads `proc.stdin`, writes bytes to
`proc.stdout` / `proc.stderr` and returns its exit status. It must never block the event loop:
waiting is `await proc.sleep(seconds)` (device time) or awaiting an event of the model. A
command that streams (logcat, ping) is cancelled with `asyncio.CancelledError` when the client
goes away; it must let that propagate.

Tools register with `@command("name", ...)`; `available` decides per device whether the
command exists at all (e.g. `netcfg` only up to Android 5.1), so a missing tool answers with
Android's own not-found text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice


class Output(Protocol):
    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...


class Input:
    """A byte stream fed by the adb stream (or a pipe) and closed at EOF."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._eof = False
        self._event = asyncio.Event()

    def feed(self, data: bytes) -> None:
        self._buf += data
        self._event.set()

    def close(self) -> None:
        self._eof = True
        self._event.set()

    def take_buffered(self) -> bytes:
        """What was fed and not read yet, now removed (hand-over to another reader)."""
        data, self._buf = bytes(self._buf), bytearray()
        return data

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._buf

    async def read(self, n: int = -1) -> bytes:
        """Up to n bytes (all buffered when n < 0); b'' only at EOF."""
        while not self._buf and not self._eof:
            self._event.clear()
            await self._event.wait()
        if n < 0 or n >= len(self._buf):
            data, self._buf = bytes(self._buf), bytearray()
        else:
            data, self._buf = bytes(self._buf[:n]), self._buf[n:]
        return data

    async def read_all(self) -> bytes:
        chunks = []
        while data := await self.read():
            chunks.append(data)
        return b"".join(chunks)

    async def readline(self) -> bytes:
        while b"\n" not in self._buf and not self._eof:
            self._event.clear()
            await self._event.wait()
        i = self._buf.find(b"\n")
        end = len(self._buf) if i < 0 else i + 1
        data, self._buf = bytes(self._buf[:end]), self._buf[end:]
        return data

    @classmethod
    def of(cls, data: bytes) -> "Input":
        stream = cls()
        stream.feed(data)
        stream.close()
        return stream


class BufferOutput:
    """Collects output in memory (pipes, `$(...)`, tests)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


@dataclass
class Proc:
    argv: list[str]
    stdin: Input
    stdout: Output
    stderr: Output
    device: "VirtualDevice"
    env: dict[str, str] = field(default_factory=dict)
    uid: int = 2000
    cwd: str = "/"
    pid: int = 0            # this process's pid ($$ of a nested sh, `ps` of its own session)

    @property
    def name(self) -> str:
        return self.argv[0]

    @property
    def args(self) -> list[str]:
        return self.argv[1:]

    def out(self, text: str) -> None:
        self.stdout.write(text.encode())

    def err(self, text: str) -> None:
        self.stderr.write(text.encode())

    async def sleep(self, seconds: float) -> None:
        await self.device.scheduler.sleep(seconds)


CommandFn = Callable[[Proc], Awaitable[int]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    run: CommandFn
    available: Callable[["VirtualDevice"], bool]


REGISTRY: dict[str, CommandSpec] = {}


def always(_device: "VirtualDevice") -> bool:
    return True


def command(*names: str, available: Callable[["VirtualDevice"], bool] = always
            ) -> Callable[[CommandFn], CommandFn]:
    """Register a tool under one or more names."""

    def register(fn: CommandFn) -> CommandFn:
        for name in names:
            REGISTRY[name] = CommandSpec(name, fn, available)
        return fn

    return register


def sdk_at_least(sdk: int) -> Callable[["VirtualDevice"], bool]:
    return lambda device: device.sdk >= sdk


def sdk_at_most(sdk: int) -> Callable[["VirtualDevice"], bool]:
    return lambda device: device.sdk <= sdk


def lookup(name: str, device: "VirtualDevice") -> CommandSpec | None:
    spec = REGISTRY.get(name)
    if spec is None or not spec.available(device):
        return None
    return spec
