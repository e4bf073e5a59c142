"""`dumpsys` (frameworks/native cmds/dumpsys).

- `dumpsys SERVICE [ARGS]`: that service's dump, no header;
- `dumpsys -l`: `Currently running services:` and `  name` per registered service;
- `dumpsys` alone: the list, then every service under `DUMP OF SERVICE name:` headers;
- an unknown service: `Can't find service: NAME` on stderr, exit status 0.

Modelled dumps: `connectivity` (`--short` skips the logs), `ethernet` (8.1 and 9+ shapes),
`network_management` (the NativeDaemonConnector LocalLog of SND/RCV lines on <= 9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sim.android.logd import format_log_time
from harness.sim.shell.api import Proc, command
from harness.sim.tools.services import MODELLED_DUMPS, running_services

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

SEPARATOR = "-" * 79
USAGE = """usage: dumpsys
         To dump all services.
or:
       dumpsys [-t TIMEOUT] [--help | -l | --skip SERVICES | SERVICE [ARGS]]
         --help: shows this help
         -l: only list services, do not dump them
         -t TIMEOUT: TIMEOUT to use in seconds instead of default 10 seconds
         --skip SERVICES: dumps all services but SERVICES (comma-separated list)
         SERVICE [ARGS]: dumps only service SERVICE, optionally passing ARGS to it
"""


@command("dumpsys")
async def dumpsys(proc: Proc) -> int:
    args = list(proc.args)
    skip: list[str] = []
    list_only = False
    while args and args[0].startswith("-") and not args[0] == "-":
        option = args.pop(0)
        if option == "--help":
            proc.err(USAGE)
            return 0
        if option == "-l":
            list_only = True
        elif option == "-t" and args and args[0].isdigit():
            args.pop(0)
        elif option == "--skip":
            skip = ",".join(args).split(",")
            args = []
        else:
            proc.err("\n" + USAGE)
            return 255
    services = running_services(proc.device)
    if list_only and args:
        proc.err(USAGE)
        return 255
    if args:
        name, service_args = args[0], args[1:]
        if name not in services:
            proc.err(f"Can't find service: {name}\n")
            return 0
        proc.out(dump_service(proc.device, name, service_args))
        return 0
    proc.out("Currently running services:\n")
    proc.out("".join(f"  {name}{' (skipped)' if name in skip else ''}\n" for name in services))
    if list_only:
        return 0
    for name in services:
        if name in skip:
            continue
        proc.out(f"{SEPARATOR}\nDUMP OF SERVICE {name}:\n")
        proc.out(dump_service(proc.device, name, ["-a"]))
        proc.out(f"--------- 0.001s was the duration of dumpsys {name}\n")
    return 0


def dump_service(device: "VirtualDevice", name: str, args: list[str]) -> str:
    """The text a service writes for `dump()` (empty for services the model does not detail)."""
    android = device.android
    server = android.system_server if android is not None else None
    if server is None or name not in MODELLED_DUMPS:
        return ""

    def wall(at: float) -> str:
        return format_log_time(device.scheduler.wall_clock(at))

    if name == "connectivity" and server.cs is not None:
        return server.cs.dump(wall, short="--short" in args)
    if name == "ethernet" and server.ethernet is not None:
        return server.ethernet.dump()
    if name == "network_management":
        return server.nms.dump(wall)
    return ""
