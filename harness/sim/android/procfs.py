"""/proc/net and /sys/class/net files that read the current boot's kernel when opened.

Formats are the Linux kernel's own (net/core/net-procfs.c dev_seq_printf_stats, fib_trie.c
fib_route_seq_show, addrconf.c if6_seq_show, net-sysfs.c attributes).
"""

from __future__ import annotations

import errno
import ipaddress
from typing import TYPE_CHECKING, Callable

from harness.sim.android.kernel import (
    RT_SCOPE_HOST, RT_SCOPE_LINK, RT_TABLE_MAIN, Kernel, Link, Route,
)
from harness.sim.fs import FsError

if TYPE_CHECKING:
    from harness.sim.device import VirtualDevice

RTF_UP = 0x1
RTF_GATEWAY = 0x2
RTF_HOST = 0x4
RTF_REJECT = 0x200
IPV6_SCOPE_BITS = {RT_SCOPE_HOST: 0x10, RT_SCOPE_LINK: 0x20}
ROUTE_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
SYS_ATTRIBUTES = ("address", "operstate", "carrier", "mtu", "flags", "ifindex", "iflink", "type",
                  "tx_queue_len")


def proc_net_dev(kernel: Kernel) -> str:
    lines = ["Inter-|   Receive                                                |  Transmit\n",
             " face |bytes    packets errs drop fifo frame compressed multicast|"
             "bytes    packets errs drop fifo colls carrier compressed\n"]
    for link in kernel.ordered_links():
        lines.append(f"{link.name:>6}:{link.rx_bytes:8d} {link.rx_packets:7d} {0:4d} {0:4d} {0:4d} "
                     f"{0:5d} {0:10d} {0:9d} {link.tx_bytes:8d} {link.tx_packets:7d} {0:4d} {0:4d} "
                     f"{0:4d} {0:5d} {0:7d} {0:10d}\n")
    return "".join(lines)


def _le_hex(address: ipaddress.IPv4Address) -> str:
    return f"{int.from_bytes(address.packed, 'little'):08X}"


def route_flags(route: Route) -> int:
    flags = RTF_UP
    if route.type in ("unreachable", "prohibit"):
        flags |= RTF_REJECT
    if route.gateway is not None:
        flags |= RTF_GATEWAY
    if route.dst.prefixlen == 32:
        flags |= RTF_HOST
    return flags


def proc_net_route(kernel: Kernel) -> str:
    """The IPv4 `main` table (fib_route_seq_show): 127-column lines."""
    lines = [f"{ROUTE_HEADER:<127}\n"]
    for route in kernel.table(RT_TABLE_MAIN):
        if route.family != 4 or route.type in ("broadcast", "multicast"):
            continue
        gateway = route.gateway if route.gateway is not None else ipaddress.IPv4Address(0)
        text = (f"{route.dev or '*'}\t{_le_hex(route.dst.network_address)}\t{_le_hex(gateway)}\t"
                f"{route_flags(route):04X}\t0\t0\t{route.metric or 0}\t{_le_hex(route.dst.netmask)}\t"
                "0\t0\t0")
        lines.append(f"{text:<127}\n")
    return "".join(lines)


def proc_net_if_inet6(kernel: Kernel) -> str:
    lines = []
    for link in kernel.ordered_links():
        for address in link.ipv6:
            iface = address.interface
            scope = IPV6_SCOPE_BITS.get(address.scope, 0)
            lines.append(f"{iface.ip.packed.hex()} {link.ifindex:02x} {iface.network.prefixlen:02x} "
                         f"{scope:02x} {address.flags & 0xff:02x} {link.name:>8}\n")
    return "".join(lines)


def sys_attribute(link: Link, attribute: str, path: str) -> str:
    if attribute == "address":
        return link.mac
    if attribute == "operstate":
        return link.operstate.lower()
    if attribute == "carrier":
        if not link.admin_up:
            raise FsError(errno.EINVAL, path)
        return "1" if link.carrier else "0"
    if attribute == "mtu":
        return str(link.mtu)
    if attribute == "flags":
        return f"0x{link.dev_flags:x}"
    if attribute == "ifindex":
        return str(link.ifindex)
    if attribute == "iflink":
        return str(link.peer_ifindex or link.ifindex)
    if attribute == "type":
        return "772" if link.is_loopback else "1"
    return str(link.txqueuelen)


def install(device: "VirtualDevice") -> None:
    """Register the files; each read looks up `device.android.kernel` of the current boot."""

    def kernel() -> Kernel:
        android = device.android
        if android is None or getattr(android, "kernel", None) is None:
            raise FsError(errno.ENOENT, "/proc/net")
        return android.kernel

    def text(render: Callable[[Kernel], str]) -> Callable[[], bytes]:
        return lambda: render(kernel()).encode()

    device.fs.add_dynamic("/proc/net/dev", text(proc_net_dev))
    device.fs.add_dynamic("/proc/net/route", text(proc_net_route))
    device.fs.add_dynamic("/proc/net/if_inet6", text(proc_net_if_inet6))
    for link in kernel().ordered_links():
        for attribute in SYS_ATTRIBUTES:
            path = f"/sys/class/net/{link.name}/{attribute}"
            device.fs.add_dynamic(path, _sys_reader(kernel, link.name, attribute, path))


def _sys_reader(kernel: Callable[[], Kernel], name: str, attribute: str,
                path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        link = kernel().links.get(name)
        if link is None:
            raise FsError(errno.ENOENT, path)
        return (sys_attribute(link, attribute, path) + "\n").encode()

    return read
