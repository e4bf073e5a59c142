"""`netcfg` (Android <= 5.1; removed in 6.0): list interfaces or act on one.

From system/core 4.4 `netcfg/netcfg.c` and libnetutils `dhcpclient.c`/`ifc_utils.c`:
- listing: one line per /sys/class/net entry, `"%-8s %s  "` name + `UP  `/`DOWN`,
  `"%40s"` address, `"/%-4d"` prefix length, `"0x%08x "` flags, then the MAC;
- `netcfg IF up|down|dhcp|flhosts|deldefault|hwaddr MAC`: a failing action prints
  `action '<name>' failed (<strerror>)` and exits 1; unknown actions `no such action '<x>'`
  then the usage line;
- `dhcp` is libnetutils' in-process client: clear the address, bring the link up, DISCOVER
  (retries 4, 8, 16, 32 s, then ETIME) and on ACK ifc_configure(): address, prefix length,
  default route in `main`, and the properties `net.<if>.dns1`/`net.<if>.dns2`. (The
  `dhcp.<if>.*` properties belong to dhcpcd, which netcfg does not run.)
"""

from __future__ import annotations

import errno
import ipaddress

from harness.sim.android.kernel import RT_TABLE_MAIN, Kernel, KernelError, Route, strerror
from harness.sim.android.world import World
from harness.sim.shell.api import Proc, command, sdk_at_most
from harness.sim.tools.ifconfig import classful_prefix
from harness.sim.tools.netutil import has_net_admin, kernel_of

USAGE = "usage: netcfg [<interface> {dhcp|up|down}]\n"
DHCP_TIMEOUTS = (4.0, 8.0, 16.0, 32.0)      # TIMEOUT_INITIAL doubling up to TIMEOUT_MAX
DHCP_EXCHANGE_SECONDS = 0.02                 # DISCOVER/OFFER/REQUEST/ACK on the bridge
ACTIONS = {"dhcp": 1, "up": 1, "down": 1, "flhosts": 1, "deldefault": 1, "hwaddr": 2}


def dump_interface(kernel: Kernel, name: str) -> str:
    link = kernel.links[name]
    primary = link.primary_ipv4()
    address = str(primary.ip) if primary else "0.0.0.0"
    prefix = primary.network.prefixlen if primary else 0
    flags = link.flags & 0xffff
    return (f"{name:<8} {'UP  ' if flags & 1 else 'DOWN'}  {address:>40}/{prefix:<4d}0x{flags:08x} "
            f"{link.mac}\n")


class _ActionFailed(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@command("netcfg", available=sdk_at_most(22))
async def netcfg(proc: Proc) -> int:
    kernel = kernel_of(proc)
    args = list(proc.args)
    if kernel is None:
        proc.err("Cannot perform requested operation: No such file or directory\n")
        return 1
    if not args:
        proc.out("".join(dump_interface(kernel, link.name) for link in kernel.ordered_links()))
        return 0
    if len(args) < 2 or len(args[0]) > 16:
        proc.err(USAGE)
        return 1
    name, actions = args[0], args[1:]
    while actions:
        action = actions[0]
        nargs = ACTIONS.get(action)
        if nargs is None:
            proc.err(f"no such action '{action}'\n{USAGE}")
            return 1
        if len(actions) < nargs:
            proc.err(f"not enough arguments for '{action}'\n")
            return 1
        operands, actions = actions[1:nargs], actions[nargs:]
        try:
            await _run(proc, kernel, name, action, operands)
        except _ActionFailed as failed:
            proc.err(f"action '{action}' failed ({strerror(failed.code)})\n")
            return 1
    return 0


async def _run(proc: Proc, kernel: Kernel, name: str, action: str, operands: list[str]) -> None:
    try:
        if name not in kernel.links:
            raise KernelError(errno.ENODEV, name)
        if not has_net_admin(proc):
            raise KernelError(errno.EPERM)
        if action in ("up", "down"):
            kernel.set_admin(name, action == "up")
        elif action == "dhcp":
            await _dhcp(proc, kernel, name)
        elif action == "flhosts":
            for r in kernel.table(RT_TABLE_MAIN):
                if r.dev == name and r.family == 4 and r.dst.prefixlen == 32:
                    kernel.del_route(RT_TABLE_MAIN, r)
        elif action == "deldefault":
            kernel.del_route(RT_TABLE_MAIN, Route(ipaddress.ip_network("0.0.0.0/0"), dev=name))
        else:
            octets = operands[0].split(":")
            if len(octets) != 6 or not all(1 <= len(o) <= 2 for o in octets):
                proc.out(f"Failed to parse '{operands[0]}'\n")
                raise KernelError(errno.EINVAL)
            kernel.link(name).mac = ":".join(f"{int(o, 16):02x}" for o in octets)
    except KernelError as err:
        raise _ActionFailed(err.errno) from None


async def _dhcp(proc: Proc, kernel: Kernel, name: str) -> None:
    """do_dhcp(): ifc_set_addr(0), ifc_up, then the DHCP exchange and ifc_configure()."""
    kernel.replace_primary_address(name, None)
    kernel.set_admin(name, True)
    world = World.of(proc.device)
    link = kernel.link(name)
    for timeout in DHCP_TIMEOUTS:
        offer = world.dhcp_offer(link.mac) if link.lower_up else None
        if offer is not None:
            await proc.sleep(DHCP_EXCHANGE_SECONDS)
            proc.device.log("netcfg", "D", "DHCP", f"configuring {name}")
            _ifc_configure(proc, kernel, name, offer)
            return
        await proc.sleep(timeout)
        proc.device.log("netcfg", "D", "DHCP", "TIMEOUT")
    proc.device.log("netcfg", "D", "DHCP", "timed out")
    raise KernelError(errno.ETIME)


def _ifc_configure(proc: Proc, kernel: Kernel, name: str, offer) -> None:
    kernel.set_admin(name, True)
    ip = offer.address.ip
    kernel.replace_primary_address(name, ipaddress.IPv4Interface((ip, classful_prefix(ip) or 32)))
    kernel.set_primary_prefix(name, offer.address.network.prefixlen)
    try:
        kernel.add_route(RT_TABLE_MAIN, Route(ipaddress.ip_network("0.0.0.0/0"), dev=name,
                                               gateway=offer.gateway))
    except KernelError as err:
        if err.errno != errno.EEXIST:
            proc.device.log("netcfg", "D", "DHCP",
                            f"failed to set default route {offer.gateway}: {strerror(err.errno)}")
    dns = [str(a) for a in offer.dns]
    proc.device.props.set(f"net.{name}.dns1", dns[0] if dns else "")
    proc.device.props.set(f"net.{name}.dns2", dns[1] if len(dns) > 1 else "")
