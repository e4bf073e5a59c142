"""`ndc`: netd's command-line client.

Android <= 9 (system/netd `server/ndc.cpp`): a socket client of /dev/socket/netd (0660
root:system, so only root and system connect; others get `Error connecting (Permission
denied)`, exit 4). The first argument is tried as a socket name (`ndc netd ...` prints
`Using alt socket netd`); `0 ` is prepended when the first word is not a number; words with
spaces are quoted; a word with `"` fails with perror (exit 1); every NUL-terminated reply is
printed on its own line until the first 200-599 code; the exit status is 0 whatever the code.
`ndc monitor` prints `[Connected to Netd]` and every broadcast until interrupted; if netd goes
away: `Lost connection to Netd - did it crash?` and exit ECONNRESET.
Android 10+ (`NdcDispatcher`): binder calls, replies printed as `<code> 0 <msg>`, no
`resolver`/`monitor`; without the netd service it waits for it ~5 s and exits 1 silently.
"""

from __future__ import annotations

import asyncio
import errno

from harness.sim.android.kernel import strerror
from harness.sim.shell.api import Proc, command
from harness.sim.tools.netutil import AID_ROOT, AID_SYSTEM, netd_of

USAGE = "Usage: ndc [<sockname>] ([monitor] | ([<cmd_seq_num>] <cmd> [arg ...]))\n"
USAGE_BINDER = "Usage: ndc (<cmd> [arg ...])\n"
SERVICE_WAIT_SECONDS = 5.0
NETD_SOCKET = "/dev/socket/netd"


@command("ndc")
async def ndc(proc: Proc) -> int:
    if proc.device.sdk >= 29:
        return await _ndc_binder(proc)
    return await _ndc_socket(proc)


def _starts_with_number(word: str) -> bool:
    """strtol(argv[1], &end, 10) consumed something."""
    stripped = word.lstrip(" \t\n\r\f\v")
    if stripped[:1] in "+-":
        stripped = stripped[1:]
    return stripped[:1].isdigit()


async def _ndc_socket(proc: Proc) -> int:
    args = list(proc.args)
    if not args:
        proc.err(USAGE)
        return 1
    alt_socket = args[0] == "netd"
    # errno left by the failed connect to /dev/socket/<argv[1]>, shown by a later perror()
    stale_errno = 0 if alt_socket else errno.ENOENT
    if not proc.device.fs.exists(NETD_SOCKET):           # init unlinks it when netd exits
        proc.err(f"Error connecting ({strerror(errno.ENOENT)})\n")
        return 4
    if proc.uid not in (AID_ROOT, AID_SYSTEM):
        proc.err(f"Error connecting ({strerror(errno.EACCES)})\n")
        return 4
    netd = netd_of(proc)
    if netd is None:
        proc.err(f"Error connecting ({strerror(errno.ECONNREFUSED)})\n")
        return 4
    if alt_socket:
        if len(args) < 2:
            proc.err(USAGE)
            return 1
        proc.out("Using alt socket netd\n")
        args = args[1:]
    if args[0] == "monitor":
        return await _monitor(proc)
    words = [] if _starts_with_number(args[0]) else ["0"]
    for word in args:
        if '"' in word:
            proc.err(f"argument with embedded quotes not allowed: {strerror(stale_errno)}\n")
            return 1
        words.append(f'"{word}"' if " " in word else word)
    for line in netd.command(" ".join(words)):
        proc.out(f"{line}\n")
        if 200 <= _code(line) < 600:
            break
    return 0


def _code(line: str) -> int:
    """atoi() of the first three characters."""
    digits = ""
    for ch in line[:3]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


async def _monitor(proc: Proc) -> int:
    netd = netd_of(proc)
    assert netd is not None
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    unsubscribe = netd.subscribe(queue.put_nowait, on_close=lambda: queue.put_nowait(None))
    try:
        proc.out("[Connected to Netd]\n")
        await proc.stdout.drain()
        while True:
            line = await queue.get()
            if line is None:
                proc.err("Lost connection to Netd - did it crash?\n")
                return errno.ECONNRESET
            proc.out(f"{line}\n")
            await proc.stdout.drain()
    finally:
        unsubscribe()


async def _ndc_binder(proc: Proc) -> int:
    args = list(proc.args)
    if not args:
        proc.err(USAGE_BINDER)
        return 1
    netd = netd_of(proc)
    if netd is None:
        await proc.sleep(SERVICE_WAIT_SECONDS)     # IServiceManager::getService gives up after 5 s
        netd = netd_of(proc)
        if netd is None:
            return 1                               # "Unable to get binder service" is VERBOSE
    for line in netd.ndc_binder(args):
        proc.out(f"{line}\n")
    return 0
