"""What a device service sees of its adb stream (the contract between the session and services).

A service is `async def run(stream) -> AfterClose | None`. It reads host bytes from
`stream.inbound`, queues output records with `write()` and waits with `drain()` when it produces
a lot. Returning ends the stream: the session sends CLSE once every record was acknowledged, then
calls the returned `AfterClose` (for example adbd restarting as root). A host CLSE cancels the
service with `asyncio.CancelledError` (adbd's SIGHUP).
"""

from __future__ import annotations

from typing import Awaitable, Callable, Protocol

from harness.sim.shell.api import Input

AfterClose = Callable[[], None]


class ServiceStream(Protocol):
    inbound: Input                       # host WRTE bytes, in order

    @property
    def max_payload(self) -> int: ...    # negotiated maxdata: the largest record sent whole

    def write(self, record: bytes) -> None: ...

    async def drain(self) -> None: ...


Service = Callable[[ServiceStream], Awaitable[AfterClose | None]]
