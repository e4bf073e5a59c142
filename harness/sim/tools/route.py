"""`route`: toybox's (Android 6+, `toys/pending/route.c`) or toolbox's (<= 5.1).

toybox lists the IPv4 `main` table from /proc/net/route (`Kernel IP routing table`, `default`
and `*` unless `-n`) and adds/deletes routes with SIOCADDRT/SIOCDELRT (`route: ioctl 890b:
<strerror>`, exit 1). toolbox (system/core `toolbox/route.c`) knows only `route add default
dev IF`, `route add default gw GW dev IF` and `route add -net A netmask M gw GW|dev IF`; it
prints strerror() on stdout and exits with errno (EINVAL, 22, for anything else), and treats
EEXIST as success.
"""

from __future__ import annotations

import errno
import ipaddress

from harness.sim.android.kernel import (
    RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, Kernel, KernelError, Route, strerror,
)
from harness.sim.android.procfs import RTF_GATEWAY, RTF_HOST, RTF_REJECT, RTF_UP, route_flags
from harness.sim.shell.api import Proc, command
from harness.sim.tools.netutil import has_net_admin, kernel_of

SIOCADDRT = 0x890b
SIOCDELRT = 0x890c

TOYBOX_HELP = """usage: route [-ne] [-A [46]] [add|del TARGET [OPTIONS]]

Display, add or delete network routes in the "Forwarding Information Base".

-n	Show numerical addresses (no DNS lookups)
-e	display netstat fields

Routing means sending packets out a network interface to an address.
The kernel can tell where to send packets one hop away by examining each
interface's address and netmask, so the most common use of this command
is to identify a "gateway" that forwards other traffic.

Assigning an address to an interface automatically creates an appropriate
network route ("ifconfig eth0 10.0.2.15/8" does "route add 10.0.0.0/8 eth0"
for you), although some devices (such as loopback) won't show it in the
table. For machines more than one hop away, you need to specify a gateway
(ala "route add default gw 10.0.2.2").

The address "default" is a wildcard address (0.0.0.0/0) matching all
packets without a more specific route.

Available OPTIONS include:
reject   - blocking route (force match failure)
dev NAME - force packets out this interface (ala "eth0")
netmask  - old way of saying things like ADDR/24
gw ADDR  - forward packets to gateway ADDR

"""


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


@command("route")
async def route(proc: Proc) -> int:
    kernel = kernel_of(proc)
    if kernel is None:
        proc.err("route: /proc/net/route: No such file or directory\n")
        return 1
    try:
        if proc.device.sdk <= 22:
            return _toolbox(proc, kernel, list(proc.args))
        return _toybox(proc, kernel, list(proc.args))
    except _Exit as done:
        return done.status


# -- toybox -------------------------------------------------------------------------------------
def _flag_letters(flags: int) -> str:
    letters = ""
    for bit, letter in ((RTF_UP, "U"), (RTF_GATEWAY, "G"), (RTF_HOST, "H")):
        if flags & bit:
            letters += letter
    if flags & RTF_REJECT:
        letters = "!" + letters[1:]
    return letters


def toybox_table(kernel: Kernel, numeric: bool, extended: bool) -> str:
    columns = "  MSS Window  irtt" if extended else "Metric Ref    Use"
    out = ["Kernel IP routing table\n",
           f"Destination     Gateway         Genmask         Flags {columns} Iface\n"]
    for r in kernel.table(RT_TABLE_MAIN):
        if r.family != 4 or r.type in ("broadcast", "multicast"):
            continue
        dest = "default" if int(r.dst.network_address) == 0 and not numeric else str(r.dst.network_address)
        gateway = str(r.gateway) if r.gateway is not None else ("*" if not numeric else "0.0.0.0")
        row = f"{dest[:15]:<15} {gateway[:15]:<15} {str(r.dst.netmask):<16}{_flag_letters(route_flags(r)):<6}"
        if extended:
            row += f"{0:5d} {0:<5d} {0:6d} {r.dev or '*'}\n"
        else:
            row += f"{r.metric or 0:<6d} {0:<2d} {0:7d} {r.dev or '*'}\n"
        out.append(row)
    return "".join(out)


def toybox_table6(kernel: Kernel) -> str:
    out = ["Kernel IPv6 routing table\n", f"{'Destination':<43}{'Next Hop':<40} Flags Metric Ref    Use Iface\n"]
    for r in kernel.table(RT_TABLE_MAIN):
        if r.family != 6:
            continue
        flags = "UG" if r.gateway is not None else "U"
        out.append(f"{str(r.dst):<43} {str(r.gateway or '::'):<39} {flags:<5} {r.metric or 0:<6d} "
                   f"{0:<4d} {0:5d} {r.dev or 'lo':<8}\n")
    return "".join(out)


def _help_exit(proc: Proc, message: str | None = None) -> _Exit:
    proc.err(TOYBOX_HELP + (f"route: {message}\n" if message else ""))
    return _Exit(1)


def _toybox(proc: Proc, kernel: Kernel, args: list[str]) -> int:
    numeric = extended = False
    family = "inet"
    while args and args[0].startswith("-") and args[0] not in ("-net", "-host"):
        opt = args.pop(0)
        for i, flag in enumerate(opt[1:]):
            if flag == "n":
                numeric = True
            elif flag == "e":
                extended = True
            elif flag == "A":
                rest = opt[i + 2:]
                family = rest or (args.pop(0) if args else "")
                break
            else:
                raise _help_exit(proc, f"Unknown option {flag}")
    if not args:
        if family == "inet":
            proc.out(toybox_table(kernel, numeric, extended))
        elif family == "inet6":
            proc.out(toybox_table6(kernel))
        else:
            raise _help_exit(proc)
        return 0
    action = args.pop(0)
    if action not in ("add", "del", "delete") or not args:
        raise _help_exit(proc, "setroute")
    add = action == "add"
    force_net = None
    if args[0] in ("-net", "-host"):
        force_net = args.pop(0) == "-net"
        if not args:
            raise _help_exit(proc, "setroute")
    target = args.pop(0)
    prefix = None
    if "/" in target:
        target, _, bits = target.partition("/")
        prefix = int(bits) if bits.isdigit() and int(bits) <= 32 else None
    dst = _resolve(proc, "0.0.0.0" if target == "default" else target)
    is_net = target == "default" if force_net is None else force_net
    gateway, dev, netmask, reject, metric = None, None, None, False, None
    while args:
        word = args.pop(0)
        if word == "reject":
            reject = True
            continue
        if not args:
            raise _help_exit(proc)
        value = args.pop(0)
        if word == "gw":
            if gateway is not None:
                raise _help_exit(proc, "dup gw")
            gateway = _resolve(proc, value)
        elif word == "dev" and dev is None:
            dev = value
        elif word == "netmask":
            netmask = _resolve(proc, value)
        elif word == "metric":
            metric = int(value, 0) if value.isdigit() else 0
        elif word in ("mss", "window", "irtt"):
            continue
        else:
            raise _help_exit(proc, f"no '{word}'")
    if prefix is None:
        if netmask is not None:
            prefix = bin(int(netmask)).count("1")
        else:
            prefix = 0 if target == "default" else (None if is_net else 32)
    if prefix is None:
        prefix = 32
    route_obj = Route(ipaddress.ip_network(f"{dst}/{prefix}", strict=False), dev=dev,
                      gateway=gateway, scope=RT_SCOPE_UNIVERSE if gateway else RT_SCOPE_LINK,
                      type="unreachable" if reject else "unicast", metric=metric)
    request = SIOCADDRT if add else SIOCDELRT
    try:
        if not has_net_admin(proc):
            raise KernelError(errno.EPERM)
        if add:
            kernel.add_route(RT_TABLE_MAIN, route_obj)
        else:
            kernel.del_route(RT_TABLE_MAIN, route_obj)
    except KernelError as err:
        proc.err(f"route: ioctl {request:x}: {strerror(err.errno)}\n")
        return 1
    return 0


def _resolve(proc: Proc, text: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        proc.err(f"route: resolving '{text}': {strerror(errno.ENOENT)}\n")
        raise _Exit(1) from None


# -- toolbox ----------------------------------------------------------------------------------------
def _toolbox(proc: Proc, kernel: Kernel, args: list[str]) -> int:
    argv = ["route"] + args
    argc = len(argv)
    route_obj: Route | None = None
    if argc > 2 and argv[1] == "add":
        if argv[2] == "default":
            if argc > 4 and argv[3] == "dev":
                route_obj = Route(ipaddress.ip_network("0.0.0.0/0"), dev=argv[4], scope=RT_SCOPE_LINK)
            elif argc > 6 and argv[3] == "gw" and argv[5] == "dev":
                gateway = _aton(argv[4])
                if gateway is not None:
                    route_obj = Route(ipaddress.ip_network("0.0.0.0/0"), dev=argv[6], gateway=gateway)
        elif argc > 7 and argv[2] == "-net" and argv[4] == "netmask":
            dst, mask = _aton(argv[3]), _aton(argv[5])
            if dst is not None and mask is not None:
                prefix = bin(int(mask)).count("1")
                network = ipaddress.ip_network(f"{dst}/{prefix}", strict=False)
                if argv[6] == "gw" and _aton(argv[7]) is not None:
                    route_obj = Route(network, gateway=_aton(argv[7]))
                elif argv[6] == "dev":
                    route_obj = Route(network, dev=argv[7], scope=RT_SCOPE_LINK)
    if route_obj is None:
        proc.out(f"{strerror(errno.EINVAL)}\n")
        return errno.EINVAL
    try:
        if not has_net_admin(proc):
            raise KernelError(errno.EPERM)
        kernel.add_route(RT_TABLE_MAIN, route_obj)
    except KernelError as err:
        if err.errno == errno.EEXIST:
            return 0
        proc.out(f"{strerror(err.errno)}\n")
        return err.errno
    return 0


def _aton(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None
