"""Which service an OPEN reaches, and the small services (root, unroot, tcpip, reboot, install).

Dispatch follows adbd's `daemon_service_to_fd` (adb-protocol.md section 3): prefixes `shell`,
`exec:`, `sync:`, `root:`, `unroot:`, `reboot:`, `tcpip:`. Anything else is refused with
CLSE(0, id), which clients report as `closed`. Texts are adbd's (daemon/restart_service.cpp).
"""

from __future__ import annotations

import re
import shlex
from functools import partial
from typing import TYPE_CHECKING

from harness.sim.adbd.shell_protocol import parse_shell_service
from harness.sim.adbd.shell_service import exec_service, shell_service
from harness.sim.adbd.stream import AfterClose, Service, ServiceStream
from harness.sim.adbd.sync_service import sync_service

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice


def resolve(name: str, device: "VirtualDevice") -> Service | None:
    """The service for an OPEN payload (trailing NULs already stripped), or None to refuse."""
    if name.startswith("shell"):
        request = parse_shell_service(name[len("shell"):])
        return None if request is None else partial(shell_service, device, request)
    if name.startswith("exec:"):
        command = name[len("exec:"):]
        size = streamed_install_size(command)
        if size is not None:
            return partial(install_service, size)
        return partial(exec_service, device, command)
    if name.startswith("sync:"):
        return partial(sync_service, device)
    if name.startswith("root:"):
        return partial(root_service, device)
    if name.startswith("unroot:"):
        return partial(unroot_service, device)
    if name.startswith("reboot:"):
        return partial(reboot_service, device)
    if name.startswith("tcpip:"):
        match = re.match(r"\s*([+-]?\d+)", name[len("tcpip:"):])   # sscanf("%d") semantics
        return None if match is None else partial(tcpip_service, device, int(match.group(1)))
    return None


async def root_service(device: "VirtualDevice", stream: ServiceStream) -> AfterClose | None:
    if device.adbd_root:
        stream.write(b"adbd is already running as root\n")
        return None
    if not device.debuggable:
        stream.write(b"adbd cannot run as root in production builds\n")
        return None
    device.log("adbd", "I", "adbd", "adbd restarting as root")
    stream.write(b"restarting adbd as root\n")
    return partial(device.restart_adbd, True)


async def unroot_service(device: "VirtualDevice", stream: ServiceStream) -> AfterClose | None:
    if not device.adbd_root:
        stream.write(b"adbd not running as root\n")
        return None
    device.log("adbd", "I", "adbd", "adbd restarting as nonroot")
    stream.write(b"restarting adbd as non root\n")
    return partial(device.restart_adbd, False)


async def tcpip_service(device: "VirtualDevice", port: int, stream: ServiceStream) -> AfterClose:
    # adbd exits when this stream closes whatever the port: the TCP link always drops. The
    # virtual device keeps its listening port (the harness's serial must stay valid).
    if port <= 0:
        stream.write(f"invalid port {port}\n".encode())
    else:
        device.props.set("service.adb.tcp.port", str(port))
        device.log("adbd", "I", "adbd", f"adbd restarting in TCP mode (port = {port})")
        stream.write(f"restarting in TCP mode port: {port}\n".encode())
    return partial(device.restart_adbd, device.adbd_root)


async def reboot_service(device: "VirtualDevice", stream: ServiceStream) -> AfterClose:
    # `reboot:[target]`: /system/bin/reboot prints nothing; the link drops when the device goes
    # down. Every target (bootloader, recovery...) boots Android again: there is no other mode.
    return device.reboot


def streamed_install_size(command: str) -> int | None:
    """N for `cmd package install ... -S N` (adb install with the `cmd` feature), else None."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    if argv[:3] != ["cmd", "package", "install"] or "-S" not in argv[3:]:
        return None
    i = argv.index("-S", 3)
    if i + 1 < len(argv) and argv[i + 1].isdigit():
        return int(argv[i + 1])
    return None


async def install_service(size: int, stream: ServiceStream) -> None:
    """Consume the streamed APK and accept it, as `cmd package install -S N` does."""
    left = size
    while left > 0:
        data = await stream.inbound.read(left)
        if not data:
            return
        left -= len(data)
    stream.write(b"Success\n")
