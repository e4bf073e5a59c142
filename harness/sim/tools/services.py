"""Framework command-line tools: `svc`, `cmd`, and the binder service registry they share.

Which services exist follows the boot: native services while their daemon runs, system_server's
services once system_server has published them and until it dies (a framework stop makes
`dumpsys connectivity` answer `Can't find service: connectivity`). Only connectivity, ethernet
and network_management have modelled dumps; the other names are listed, as `dumpsys -l` lists
them on a redroid image.

- `svc` (Svc.java): no `ethernet` subcommand; unknown or missing subcommands print the list of
  commands (`    %-<max>s    %s`) on stderr and exit 0.
- `cmd` (frameworks/native cmds/cmd): `cmd -l`, `cmd: Can't find service: NAME` (status 20);
  services without a shell command (connectivity before 12, ethernet before 13) answer
  Binder's default `No shell command implementation.` on stderr with status 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sim.shell.api import Proc, command, sdk_at_least

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

SYSTEM_SERVER_SERVICES = (
    "activity", "alarm", "appops", "audio", "backup", "battery", "batteryproperties", "batterystats",
    "clipboard", "connectivity", "content", "country_detector", "device_identifiers", "device_policy",
    "deviceidle", "display", "dropbox", "ethernet", "gfxinfo", "input", "input_method", "ipsec",
    "jobscheduler", "location", "media_session", "meminfo", "mount", "netpolicy", "netstats",
    "network_management", "network_score", "notification", "package", "permission", "power",
    "procstats", "settings", "statusbar", "storagestats", "telephony.registry", "uimode",
    "usagestats", "user", "vibrator", "window",
)
MODELLED_DUMPS = ("connectivity", "ethernet", "network_management")
SVC_COMMANDS = (
    ("help", "Show information about the subcommands", 0),
    ("power", "Control the power manager", 0),
    ("data", "Control mobile data connectivity", 0),
    ("wifi", "Control the Wi-Fi manager", 0),
    ("usb", "Control Usb state", 0),
    ("nfc", "Control NFC functions", 21),
    ("bluetooth", "Control Bluetooth service", 24),
    ("system-server", "System server process related command", 29),
)


def running_services(device: "VirtualDevice") -> list[str]:
    """Binder services registered right now, sorted as servicemanager lists them."""
    android = device.android
    if android is None:
        return []
    names: list[str] = []
    if "servicemanager" in android.running or android.system_server is not None:
        names.append("SurfaceFlinger")
    if android.netd is not None and android.sdk >= 26:
        names.append("netd")
    server = android.system_server
    if server is not None and server.cs is not None:
        names += [n for n in SYSTEM_SERVER_SERVICES if n != "ethernet" or server.ethernet is not None]
    return sorted(names)


# -- svc -------------------------------------------------------------------------------------------
@command("svc")
async def svc(proc: Proc) -> int:
    commands = [(name, text) for name, text, sdk in SVC_COMMANDS if proc.device.sdk >= sdk]
    args = proc.args
    if args and args[0] != "help" and any(name == args[0] for name, _ in commands):
        return 0                     # power/data/wifi/usb/... act on hardware the container lacks
    if len(args) == 2 and args[0] == "help":
        for name, text in commands:
            if name == args[1]:
                proc.err(text + "\n")
                return 0
    width = max(len(name) for name, _ in commands)
    lines = ["Available commands:"] + [f"    {name:<{width}}    {text}" for name, text in commands]
    proc.err("\n".join(lines) + "\n")
    return 0


# -- cmd -------------------------------------------------------------------------------------------
@command("cmd", available=sdk_at_least(24))
async def cmd(proc: Proc) -> int:
    args = proc.args
    services = running_services(proc.device)
    if not args:
        proc.err("cmd: No service specified; use -l to list all services\n")
        return 20
    if args == ["-l"]:
        proc.out("Currently running services:\n" + "".join(f"  {name}\n" for name in services))
        return 0
    if args[0] not in services:
        proc.err(f"cmd: Can't find service: {args[0]}\n")
        return 20
    proc.err("No shell command implementation.\n")
    return 0
