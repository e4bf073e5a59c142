"""Byte streams between shell commands: pipes, files, /dev/null, and the adb session's ends.

Writes are immediate (each `write` reaches its destination before the call returns), so output
keeps its chronological order across stdout, stderr and redirections. A write nobody can read any
more raises `BrokenPipe`, which the interpreter turns into the writer's death by SIGPIPE.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from harness.sim.shell.api import Input, Output

if TYPE_CHECKING:
    from harness.sim.fs import VirtualFS

PIPE_CAPACITY = 64 * 1024        # Linux's default pipe buffer: writers wait beyond it


class BrokenPipe(Exception):
    """Raised by `write` when the reading end is gone (the writer gets SIGPIPE)."""


class NullOutput:
    """/dev/null."""

    def write(self, data: bytes) -> None:
        return None

    async def drain(self) -> None:
        return None


class FileOutput:
    """An open file of the device's file system (`>`/`>>` redirections)."""

    def __init__(self, fs: "VirtualFS", path: str, uid: int) -> None:
        self.fs = fs
        self.path = path
        self.uid = uid

    def write(self, data: bytes) -> None:
        self.fs.write(self.path, data, append=True, uid=self.uid)

    async def drain(self) -> None:
        return None


class SessionOutput:
    """The adb stream's stdout/stderr as the shell sees them: dead once the session is over,
    so a background job still writing to it dies of SIGPIPE like on a real device."""

    def __init__(self, target: Output) -> None:
        self.target = target
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            raise BrokenPipe()
        self.target.write(data)

    async def drain(self) -> None:
        if self.closed:
            raise BrokenPipe()
        await self.target.drain()


class PipeInput(Input):
    """The reading end of a pipe: tells the writer when there is room again."""

    def __init__(self, pipe: "Pipe") -> None:
        super().__init__()
        self._pipe = pipe

    @property
    def buffered(self) -> int:
        return len(self._buf)

    async def read(self, n: int = -1) -> bytes:
        data = await super().read(n)
        self._pipe.room.set()
        return data

    async def readline(self) -> bytes:
        data = await super().readline()
        self._pipe.room.set()
        return data


class PipeOutput:
    """The writing end of a pipe."""

    def __init__(self, pipe: "Pipe") -> None:
        self._pipe = pipe

    def write(self, data: bytes) -> None:
        if self._pipe.reader_gone:
            raise BrokenPipe()
        if data:
            self._pipe.reader.feed(data)

    async def drain(self) -> None:
        pipe = self._pipe
        while not pipe.reader_gone and pipe.reader.buffered > PIPE_CAPACITY:
            pipe.room.clear()
            await pipe.room.wait()
        if pipe.reader_gone:
            raise BrokenPipe()


class Pipe:
    def __init__(self) -> None:
        self.room = asyncio.Event()
        self.reader_gone = False
        self.reader = PipeInput(self)
        self.writer = PipeOutput(self)

    def close_writer(self) -> None:
        """The writing side exited: the reader sees EOF after the buffered data."""
        self.reader.close()

    def close_reader(self) -> None:
        """The reading side exited: further writes fail, blocked writers wake up."""
        self.reader_gone = True
        self.room.set()


def empty_input() -> Input:
    return Input.of(b"")
