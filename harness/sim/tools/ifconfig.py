"""`ifconfig`: toybox's on Android 6+, toolbox's one-line form on Android <= 5.1.

toybox (0.7.3-0.8.9 `toys/net/ifconfig.c`): lists the UP interfaces of /proc/net/dev (`-a`
all), `ifconfig IF` shows one (`ifconfig: IF: No such device`, exit 1, when missing); actions
`up` (IFF_UP|IFF_RUNNING), `down`, `ADDR[/N]` (classful mask without /N, brings the link up),
`default`, `netmask M`, `mtu N`, `txqueuelen N`, `hw ether MAC`; a failing ioctl prints
`ifconfig: ioctl <request hex>: <strerror>` (exit 1); `-S` one line per interface (0.7.8+,
Android 10+). toolbox (system/core 4.4 `toolbox/ifconfig.c`): `IF: ip A mask M flags [...]`,
actions up/down/netmask/ADDR, errors `error: SIOCSIFFLAGS (<strerror>)` with exit 255, and
nothing at all without arguments.
"""

from __future__ import annotations

import errno
import ipaddress

from harness.sim.android.kernel import (
    IFF_BROADCAST, IFF_LOOPBACK, IFF_MULTICAST, IFF_POINTOPOINT, IFF_RUNNING, IFF_UP, RT_SCOPE_HOST,
    RT_SCOPE_LINK, Kernel, KernelError, Link, strerror,
)
from harness.sim.shell.api import Proc, command
from harness.sim.tools.netutil import has_net_admin, kernel_of

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891c
SIOCSIFMTU = 0x8922
SIOCSIFHWADDR = 0x8924
SIOCSIFTXQLEN = 0x8943

TOYBOX_FLAG_NAMES = ("UP", "BROADCAST", "DEBUG", "LOOPBACK", "POINTOPOINT", "NOTRAILERS", "RUNNING",
                     "NOARP", "PROMISC", "ALLMULTI", "MASTER", "SLAVE", "MULTICAST", "PORTSEL",
                     "AUTOMEDIA", "DYNAMIC")
SCOPE_WORDS = {0: "Global", RT_SCOPE_HOST: "Host", RT_SCOPE_LINK: "Link"}

TOYBOX_HELP = """usage: ifconfig [-a] [INTERFACE [ACTION...]]

Display or configure network interface.

With no arguments, display active interfaces. First argument is interface
to operate on, one argument by itself displays that interface.

-a	Show all interfaces, not just active ones

Additional arguments are actions to perform on the interface:

ADDRESS[/NETMASK] - set IPv4 address (1.2.3.4/5)
default - unset ipv4 address
add|del ADDRESS[/PREFIXLEN] - add/remove IPv6 address (1111::8888/128)
up - enable interface
down - disable interface

netmask|broadcast|pointopoint ADDRESS - set more IPv4 characteristics
hw ether|infiniband ADDRESS - set LAN hardware address (AA:BB:CC...)
txqueuelen LEN - number of buffered packets before output blocks
mtu LEN - size of outgoing packets (Maximum Transmission Unit)

Flags you can set on an interface (or -remove by prefixing with -):
arp - don't use Address Resolution Protocol to map LAN routes
promisc - don't discard packets that aren't to this LAN hardware address
multicast - force interface into multicast mode if the driver doesn't
allmulti - promisc for multicast packets

Obsolete fields included for historical purposes:
irq|io_addr|mem_start ADDR - micromanage obsolete hardware
outfill|keepalive INTEGER - SLIP analog dialup line quality monitoring
metric INTEGER - added to Linux 0.9.10 with comment "never used", still true
"""

# flags the model does not keep; toybox sets them without complaint
_IGNORED_FLAGS = ("arp", "promisc", "allmulti", "multicast")
_IGNORED_VALUES = ("metric", "keepalive", "outfill", "mem_start", "io_addr", "irq", "broadcast",
                   "pointopoint", "dstaddr")


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


# ---------------------------------------------------------------------------------------------
# toybox
# ---------------------------------------------------------------------------------------------
def classful_prefix(address: ipaddress.IPv4Address) -> int | None:
    """inet_abc_len(): the mask SIOCSIFADDR gives a new address (None = EINVAL)."""
    value = int(address)
    if value == 0:
        return 0
    first = value >> 24
    if first < 128:
        return 8
    if first < 192:
        return 16
    if first < 224:
        return 24
    return None


def toybox_block(kernel: Kernel, link: Link, counters: bool = True) -> str:
    """display_ifconfig() for one interface."""
    out = [f"{link.name:<9} Link encap:{'Local Loopback' if link.is_loopback else 'Ethernet'}  "]
    if not link.is_loopback:
        out.append(f"HWaddr {link.mac}")
    out.append("\n")
    primary = link.primary_ipv4()
    if primary is not None:
        out.append(f"{'':10}inet addr:{primary.ip} ")
        flags = link.flags
        if flags & IFF_POINTOPOINT:
            out.append(f" P-t-P:{primary.ip} ")
        if flags & IFF_BROADCAST:
            bcast = primary.network.broadcast_address if primary.network.prefixlen < 31 else primary.ip
            out.append(f" Bcast:{bcast} ")
        out.append(f" Mask:{primary.network.netmask} \n")
    for address in link.ipv6:
        iface = address.interface
        out.append(f"{'':10}inet6 addr: {iface.ip}/{iface.network.prefixlen} "
                   f"Scope: {SCOPE_WORDS.get(address.scope, 'Unknown')}\n")
    out.append(" " * 10)
    flags = link.flags & 0xffff
    if flags:
        out.append("".join(f"{name} " for bit, name in enumerate(TOYBOX_FLAG_NAMES) if flags & (1 << bit)))
    else:
        out.append("[NO FLAGS] ")
    out.append(f" MTU:{link.mtu}  Metric:1")
    if counters:
        out.append(f"\n{'':10}RX packets:{link.rx_packets} errors:0 dropped:0 overruns:0 frame:0 "
                   f"\n{'':10}TX packets:{link.tx_packets} errors:0 dropped:0 overruns:0 carrier:0 "
                   f"\n{'':10}collisions:0 txqueuelen:{link.txqueuelen} "
                   f"\n{'':10}RX bytes:{link.rx_bytes} TX bytes:{link.tx_bytes} ")
    out.append("\n\n")
    return "".join(out)


def toybox_short(link: Link) -> str:
    """`ifconfig -S` (0.7.8+): name, IPv4/prefix padded to 29 columns, MAC, IPv6 addresses."""
    primary = link.primary_ipv4()
    head = f"{link.name:<9} {primary.ip if primary else '0.0.0.0'}"
    head += f"/{primary.network.prefixlen if primary else 0}"
    line = head + " " * max(1, 29 - len(head)) + link.mac
    for address in link.ipv6:
        iface = address.interface
        line += f" {iface.ip}/{iface.network.prefixlen}@{SCOPE_WORDS.get(address.scope, 'Unknown')[0]}"
    return line + "\n"


def _ioctl_error(proc: Proc, request: int, code: int) -> _Exit:
    proc.err(f"ifconfig: ioctl {request:x}: {strerror(code)}\n")
    return _Exit(1)


def _help_exit(proc: Proc, message: str) -> _Exit:
    proc.err(TOYBOX_HELP + f"ifconfig: {message}\n")
    return _Exit(1)


def _toybox_action(proc: Proc, kernel: Kernel, name: str, args: list[str]) -> None:
    """Apply one ACTION (consuming its value) per ifconfig_main's table."""
    word = args.pop(0)
    root = has_net_admin(proc)

    def need_root(request: int) -> None:
        if not root:
            raise _ioctl_error(proc, request, errno.EPERM)

    def value(action: str) -> str:
        if not args:
            raise _Exit(_error(proc, f"{action} needs argument"))
        return args.pop(0)

    try:
        if word in ("up", "down"):
            if name not in kernel.links:     # SIOCGIFFLAGS comes first
                raise _ioctl_error(proc, SIOCGIFFLAGS, errno.ENODEV)
            need_root(SIOCSIFFLAGS)
            kernel.set_admin(name, word == "up")
        elif word[:1].isdigit() or word == "default":
            address, prefix = _parse_address(proc, word)
            need_root(SIOCSIFADDR)
            _set_address(kernel, name, address)
            if prefix is not None:
                need_root(SIOCSIFNETMASK)
                kernel.set_primary_prefix(name, prefix)
            kernel.set_admin(name, True)
        elif word == "netmask":
            text = value(word)
            address, _ = _parse_address(proc, text)
            need_root(SIOCSIFNETMASK)
            prefix = _mask_to_prefix(address)
            if prefix is None:
                raise KernelError(errno.EINVAL, text)
            kernel.set_primary_prefix(name, prefix)
        elif word == "mtu":
            mtu = value(word)
            need_root(SIOCSIFMTU)
            kernel.set_mtu(name, _c_ulong(mtu))
        elif word == "txqueuelen":
            qlen = value(word)
            need_root(SIOCSIFTXQLEN)
            kernel.link(name).txqueuelen = _c_ulong(qlen)
        elif word == "hw":
            kind = args.pop(0) if args else ""
            if kind not in ("ether", "infiniband") or not args:
                raise _help_exit(proc, f"bad hw '{kind}'")
            mac = args.pop(0)
            if kind != "ether" or not _valid_mac(mac):
                raise _Exit(_error(proc, f"bad hw-addr '{mac}'"))
            need_root(SIOCSIFHWADDR)
            kernel.link(name).mac = ":".join(f"{int(p, 16):02x}" for p in mac.split(":"))
        elif word.lstrip("-") in _IGNORED_FLAGS:
            need_root(SIOCSIFFLAGS)
        elif word in _IGNORED_VALUES:
            value(word)
            need_root(SIOCSIFFLAGS)
        else:
            raise _help_exit(proc, f"bad argument '{word}'")
    except KernelError as err:
        request = {"up": SIOCSIFFLAGS, "down": SIOCSIFFLAGS, "netmask": SIOCSIFNETMASK,
                   "mtu": SIOCSIFMTU, "txqueuelen": SIOCSIFTXQLEN}.get(word, SIOCSIFADDR)
        raise _ioctl_error(proc, request, err.errno) from None


def _error(proc: Proc, message: str) -> int:
    proc.err(f"ifconfig: {message}\n")
    return 1


def _c_ulong(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        return 0


def _valid_mac(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 6 and all(1 <= len(p) <= 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                   for p in parts)


def _parse_address(proc: Proc, text: str) -> tuple[ipaddress.IPv4Address, int | None]:
    if text == "default":
        return ipaddress.IPv4Address(0), None
    host, _, prefix = text.partition("/")
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        raise _Exit(_error(proc, f"bad address '{host}' : No address associated with hostname")) from None
    if not prefix:
        return address, None
    if not prefix.isdigit() or int(prefix) > 32:
        raise _Exit(_error(proc, f"bad {prefix}"))
    return address, int(prefix)


def _mask_to_prefix(mask: ipaddress.IPv4Address) -> int | None:
    value = int(mask)
    prefix = bin(value).count("1")
    return prefix if value == (0xffffffff << (32 - prefix)) & 0xffffffff else None


def _set_address(kernel: Kernel, name: str, address: ipaddress.IPv4Address) -> None:
    """SIOCSIFADDR: the same local address is a no-op; otherwise replace the primary."""
    prefix = classful_prefix(address)
    if prefix is None:
        raise KernelError(errno.EINVAL, str(address))
    primary = kernel.link(name).primary_ipv4()
    if primary is not None and primary.ip == address:
        return
    kernel.replace_primary_address(name, ipaddress.IPv4Interface((address, prefix)))


@command("ifconfig")
async def ifconfig(proc: Proc) -> int:
    """Android 6.0 replaced toolbox's ifconfig with toybox's."""
    if proc.device.sdk <= 22:
        return toolbox_ifconfig(proc)
    return toybox_ifconfig(proc)


def toybox_ifconfig(proc: Proc) -> int:
    kernel = kernel_of(proc)
    args = list(proc.args)
    show_all = short = False
    while args and args[0].startswith("-") and len(args[0]) > 1:
        for flag in args.pop(0)[1:]:
            if flag == "a":
                show_all = True
            elif flag == "S" and proc.device.sdk >= 29:
                short = True
            else:
                proc.err(TOYBOX_HELP + f"ifconfig: Unknown option {flag}\n")
                return 1
    if kernel is None:
        proc.err("ifconfig: /proc/net/dev: No such file or directory\n")
        return 1
    try:
        if len(args) < 2:
            return _toybox_show(proc, kernel, args[0] if args else None, show_all, short)
        name = args.pop(0)
        while args:
            _toybox_action(proc, kernel, name, args)
    except _Exit as done:
        return done.status
    return 0


def _toybox_show(proc: Proc, kernel: Kernel, name: str | None, show_all: bool, short: bool) -> int:
    render = (lambda link: toybox_short(link)) if short else (lambda link: toybox_block(kernel, link))
    if name is not None:
        link = kernel.links.get(name)
        if link is None:
            return _error(proc, f"{name}: {strerror(errno.ENODEV)}")
        proc.out(render(link))
        return 0
    for link in kernel.ordered_links():
        if show_all or link.admin_up:
            proc.out(render(link))
    return 0


# ---------------------------------------------------------------------------------------------
# toolbox (Android <= 5.1)
# ---------------------------------------------------------------------------------------------
def toolbox_line(link: Link) -> str:
    primary = link.primary_ipv4()
    address = str(primary.ip) if primary else "0.0.0.0"
    mask = str(primary.network.netmask) if primary else "0.0.0.0"
    flags = link.flags
    words = "up" if flags & IFF_UP else "down"
    for bit, word in ((IFF_BROADCAST, " broadcast"), (IFF_LOOPBACK, " loopback"),
                      (IFF_POINTOPOINT, " point-to-point"), (IFF_RUNNING, " running"),
                      (IFF_MULTICAST, " multicast")):
        if flags & bit:
            words += word
    return f"{link.name}: ip {address} mask {mask} flags [{words}]\n"


def toolbox_ifconfig(proc: Proc) -> int:
    args = list(proc.args)
    kernel = kernel_of(proc)
    if not args:
        return 0
    name = args.pop(0)
    if kernel is None or name not in kernel.links:
        if not args:
            proc.err(f"{name}: {strerror(errno.ENODEV)}\n")
            return 255
        request = {"up": "SIOCGIFFLAGS", "down": "SIOCGIFFLAGS", "netmask": "SIOCSIFNETMASK"}.get(
            args[0], "SIOCSIFADDR" if args[0][:1].isdigit() else None)
        if request is None:
            return 0
        proc.err(f"error: {request} ({strerror(errno.ENODEV)})\n")
        return 255
    link = kernel.links[name]
    if not args:
        if link.primary_ipv4() is None:
            proc.err(f"{name}: {strerror(errno.EADDRNOTAVAIL)}\n")
            return 255
        proc.out(toolbox_line(link))
        return 0
    root = has_net_admin(proc)
    while args:
        word = args.pop(0)
        try:
            if word in ("up", "down"):
                if not root:
                    raise KernelError(errno.EPERM)
                kernel.set_admin(name, word == "up")
            elif word == "netmask":
                if not args:
                    proc.err(f"error: expecting an IP address for parameter \"netmask\" "
                             f"({strerror(errno.EINVAL)})\n")
                    return 255
                mask = args.pop(0)
                if not root:
                    raise KernelError(errno.EPERM, "SIOCSIFNETMASK")
                prefix = _mask_to_prefix(ipaddress.IPv4Address(mask)) if _is_ipv4(mask) else None
                if prefix is None:
                    raise KernelError(errno.EINVAL, "SIOCSIFNETMASK")
                kernel.set_primary_prefix(name, prefix)
            elif word[:1].isdigit():
                if not root:
                    raise KernelError(errno.EPERM, "SIOCSIFADDR")
                if not _is_ipv4(word):
                    raise KernelError(errno.EINVAL, "SIOCSIFADDR")
                _set_address(kernel, name, ipaddress.IPv4Address(word))
        except KernelError as err:
            request = err.detail if err.detail.startswith("SIOC") else "SIOCSIFFLAGS"
            proc.err(f"error: {request} ({strerror(err.errno)})\n")
            return 255
    return 0


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True
