"""`shell…:` and `exec:` services: run `sh -c CMD` on the device over an adb stream.

v1 (`shell:CMD`, `exec:CMD`): stdout and stderr merged in the order written, binary safe, host
bytes are stdin, CLSE when the command ends. v2 (`shell,v2,…:CMD`): stdout/stderr/exit packets,
stdin and close-stdin packets from the host, window-size packets ignored; the exit packet goes
last, then CLSE. A pty (`pty` arg, or an empty command) merges stderr into stdout and turns
`\n` into `\r\n` as a terminal's ONLCR does; close-stdin is ignored there, as adbd does.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from harness.sim.adbd.shell_protocol import (PacketId, ShellPacketReader, ShellRequest,
                                             encode_packet, exit_packet)
from harness.sim.adbd.stream import ServiceStream
from harness.sim.faults import hang_forever
from harness.sim.shell.api import Input, Output

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

log = logging.getLogger("harness.sim.adbd")

STATUS_CANNOT_START = 126     # adbd's exit status when the subprocess cannot run
_EXIT_LINE = re.compile(rb"^\s*exit(?:\s+(\d+))?\s*$")


class StreamOutput:
    """An `Output` writing into the adb stream, raw or as v2 packets of one id."""

    def __init__(self, stream: ServiceStream, packet_id: int | None = None, *,
                 onlcr: bool = False) -> None:
        self._stream = stream
        self._packet_id = packet_id
        self._onlcr = onlcr

    def write(self, data: bytes) -> None:
        if self._onlcr:
            data = data.replace(b"\n", b"\r\n")
        if not data:
            return
        if self._packet_id is None:
            self._stream.write(data)
            return
        size = max(1, self._stream.max_payload - 5)      # one packet per WRTE
        for i in range(0, len(data), size):
            self._stream.write(encode_packet(self._packet_id, data[i:i + size]))

    async def drain(self) -> None:
        await self._stream.drain()


async def exec_service(device: "VirtualDevice", command: str, stream: ServiceStream) -> None:
    out = StreamOutput(stream)
    await _run(device, command, stream.inbound, out, out)


async def shell_service(device: "VirtualDevice", request: ShellRequest,
                        stream: ServiceStream) -> None:
    if not request.shell_protocol:
        out = StreamOutput(stream, onlcr=request.pty)
        await _run_or_interact(device, request, stream.inbound, out, out)
        return
    stdin = _PacketStdin(pty=request.pty)
    stdin.feed(stream.inbound.take_buffered())
    stream.inbound = stdin                   # host bytes are decoded as they arrive
    stdout = StreamOutput(stream, PacketId.STDOUT, onlcr=request.pty)
    stderr = stdout if request.pty else StreamOutput(stream, PacketId.STDERR)
    status = await _run_or_interact(device, request, stdin, stdout, stderr)
    stream.write(exit_packet(status))


class _PacketStdin(Input):
    """A v2 shell's stdin: the host's bytes are shell-protocol packets; stdin packets feed it,
    close-stdin ends it (not on a pty, as adbd ignores it there), window sizes are dropped."""

    def __init__(self, *, pty: bool) -> None:
        super().__init__()
        self._packets = ShellPacketReader()
        self._pty = pty

    def feed(self, data: bytes) -> None:
        for packet in self._packets.feed(data):
            if packet.id == PacketId.STDIN:
                super().feed(packet.data)
            elif packet.id == PacketId.CLOSE_STDIN and not self._pty:
                self.close()


async def _run_or_interact(device: "VirtualDevice", request: ShellRequest, stdin: Input,
                           stdout: Output, stderr: Output) -> int:
    if request.command:
        return await _run(device, request.command, stdin, stdout, stderr)
    return await _interactive(device, stdin, stdout, stderr, terminal=request.pty)


async def _run(device: "VirtualDevice", command: str, stdin: Input, stdout: Output,
               stderr: Output) -> int:
    if device.faults.hangs(command):
        await hang_forever()
    try:
        status = await device.run_shell(command, stdin, stdout, stderr)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("adbd %s: shell command %r failed", device.index, command)
        stderr.write(f"error: {type(exc).__name__}: {exc}\n".encode())
        status = STATUS_CANNOT_START
    await stdout.drain()
    return status


async def _interactive(device: "VirtualDevice", stdin: Input, stdout: Output, stderr: Output,
                       *, terminal: bool) -> int:
    """A login shell reduced to a line loop: one `sh -c` per line, `exit [N]` or EOF to leave.
    On a terminal (pty) it shows mksh's prompt (`1|host:/ $ ` after a failure) and echoes the
    input; on a pipe (raw) it does neither, as mksh is then not interactive. State (cwd,
    variables) does not carry over from one line to the next."""
    status = 0
    while True:
        if terminal:
            prefix = f"{status}|" if status else ""
            sigil = "#" if device.shell_uid() == 0 else "$"
            stdout.write(f"{prefix}{device.props.get('ro.product.device')}:/ {sigil} ".encode())
        line = await stdin.readline()
        if not line:
            return status
        if terminal:
            stdout.write(line)
        leave = _EXIT_LINE.match(line)
        if leave:
            return int(leave.group(1)) & 0xFF if leave.group(1) else status
        status = await _run(device, line.decode("utf-8", "surrogateescape").strip(), stdin, stdout, stderr)
