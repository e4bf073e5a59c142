"""iproute2 4.x text renderings of the kernel model (`ip addr`, `ip link`, `ip route`, `ip rule`).

From iproute2 v4.14 `ip/ipaddress.c` print_linkinfo/print_addrinfo, `ip/iproute.c`
print_route, `ip/iprule.c` print_rule: every field is printed as `"%s "`, so route and rule
lines end with a space (`32000:\\tfrom all unreachable` does not: the action has no space).
Table names come from Android's `/data/misc/net/rt_tables` (iproute2 is built with
CONFDIR=/data/misc/net) on top of the built-in unspec/default/main/local.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.sim.android.kernel import (
    IFA_F_SECONDARY, IFA_F_TENTATIVE, IFF_BROADCAST, IFF_LOOPBACK, IFF_LOWER_UP, IFF_MULTICAST,
    IFF_POINTOPOINT, IFF_RUNNING, IFF_UP, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN,
    Kernel, Link, Route, Rule,
)

BUILTIN_TABLES = {0: "unspec", 253: "default", 254: "main", 255: "local"}
SCOPES = {RT_SCOPE_UNIVERSE: "global", 200: "site", RT_SCOPE_LINK: "link", RT_SCOPE_HOST: "host"}
ROUTE_SCOPES = {RT_SCOPE_UNIVERSE: "universe", 200: "site", RT_SCOPE_LINK: "link", RT_SCOPE_HOST: "host"}


@dataclass(frozen=True)
class TableNames:
    """rtnl_rttable_n2a / a2n over the built-in names and an rt_tables file."""
    by_id: dict[int, str]

    @classmethod
    def parse(cls, text: str | None) -> "TableNames":
        names = dict(BUILTIN_TABLES)
        for line in (text or "").splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2 and fields[0].isdigit():
                names[int(fields[0])] = fields[1]
        return cls(names)

    def name(self, table: int) -> str:
        return self.by_id.get(table, str(table))

    def lookup(self, text: str) -> int | None:
        for table, name in self.by_id.items():
            if name == text:
                return table
        try:
            value = int(text, 0)
        except ValueError:
            return None
        return value if 0 <= value <= 0xffffffff else None


# -- links and addresses -----------------------------------------------------------------------
def link_flag_words(link: Link) -> str:
    flags = link.flags
    words = []
    if flags & IFF_UP and not flags & IFF_RUNNING:
        words.append("NO-CARRIER")
    for bit, word in ((IFF_LOOPBACK, "LOOPBACK"), (IFF_BROADCAST, "BROADCAST"),
                      (IFF_POINTOPOINT, "POINTOPOINT"), (IFF_MULTICAST, "MULTICAST"),
                      (IFF_UP, "UP"), (IFF_LOWER_UP, "LOWER_UP")):
        if flags & bit:
            words.append(word)
    return ",".join(words)


def format_link(link: Link, *, do_link: bool, family_filter: bool, newline: str) -> str:
    name = f"{link.name}@if{link.peer_ifindex}" if link.peer_ifindex else link.name
    qdisc = "noqueue" if link.admin_up else "noop"
    mode = "mode DEFAULT " if do_link else ""
    text = (f"{link.ifindex}: {name}: <{link_flag_words(link)}> mtu {link.mtu} qdisc {qdisc} "
            f"state {link.operstate} {mode}group default qlen {link.txqueuelen}")
    if not family_filter:
        if link.is_loopback:
            text += f"{newline}    link/loopback {link.mac} brd 00:00:00:00:00:00"
        else:
            text += f"{newline}    link/ether {link.mac} brd ff:ff:ff:ff:ff:ff"
    if link.peer_ifindex:
        text += " link-netnsid 0"
    return text + "\n"


def format_ipv4_address(link: Link, index: int, *, oneline: bool) -> str:
    iface = link.ipv4[index]
    newline = "\\" if oneline else "\n"
    prefix = f"{link.ifindex}: {link.name}" if oneline else ""
    brd = ""
    if not link.is_loopback and iface.network.prefixlen < 31:
        brd = f"brd {iface.network.broadcast_address} "
    scope = "host" if iface.ip.is_loopback else "global"
    flags = "secondary " if link.is_secondary(iface) else ""
    return (f"{prefix}    inet {iface.ip}/{iface.network.prefixlen} {brd}scope {scope} {flags}"
            f"{link.name}{newline}       valid_lft forever preferred_lft forever\n")


def format_ipv6_address(link: Link, index: int, *, oneline: bool) -> str:
    address = link.ipv6[index]
    newline = "\\" if oneline else "\n"
    prefix = f"{link.ifindex}: {link.name}" if oneline else ""
    flags = "tentative " if address.flags & IFA_F_TENTATIVE else ""
    if address.flags & IFA_F_SECONDARY:
        flags = "temporary " + flags
    return (f"{prefix}    inet6 {address.interface.ip}/{address.interface.network.prefixlen} "
            f"scope {SCOPES.get(address.scope, str(address.scope))} {flags}{newline}"
            f"       valid_lft forever preferred_lft forever\n")


# -- routes ------------------------------------------------------------------------------------------
def format_route(kernel: Kernel, route: Route, table: int, names: TableNames, *,
                 show_table: bool, show_dev: bool = True) -> str:
    parts = []
    if route.type != "unicast":
        parts.append(route.type)
    if route.dst.prefixlen == 0:
        parts.append("default")
    elif route.dst.prefixlen == route.dst.max_prefixlen:
        parts.append(str(route.dst.network_address))
    else:
        parts.append(str(route.dst))
    if route.gateway is not None:
        parts.append(f"via {route.gateway}")
    if route.dev is not None and show_dev:
        parts.append(f"dev {route.dev}")
    if show_table and table != RT_TABLE_MAIN:
        parts.append(f"table {names.name(table)}")
    if route.proto != "boot":
        parts.append(f"proto {route.proto}")
    scope = route.scope if route.family == 4 else RT_SCOPE_UNIVERSE
    if scope != RT_SCOPE_UNIVERSE:
        parts.append(f"scope {ROUTE_SCOPES.get(scope, str(scope))}")
    if route.src is not None and route.family == 4:
        parts.append(f"src {route.src}")
    if route.metric is not None:
        parts.append(f"metric {route.metric}")
    parts.extend(kernel.route_flags(route))
    if route.family == 6:
        parts.append("pref medium")
        return " ".join(parts) + "\n"
    return " ".join(parts) + " \n"


def format_route_get(result_dst: str, route: Route, table: int, names: TableNames, *,
                     src: str | None, uid: int) -> str:
    """`ip route get`: a cloned route (RTM_F_CLONED) prints `cache` on its own line."""
    parts = [result_dst]
    if route.type not in ("unicast",):
        parts.insert(0, route.type)
    if route.gateway is not None:
        parts.append(f"via {route.gateway}")
    parts.append(f"dev {route.dev or 'lo'}")
    if table != RT_TABLE_MAIN:
        parts.append(f"table {names.name(table)}")
    if src is not None:
        parts.append(f"src {src}")
    parts.append(f"uid {uid}")
    return " ".join(parts) + " \n    cache \n"


# -- rules ------------------------------------------------------------------------------------------------
def format_rule(rule: Rule, names: TableNames, *, show_uidrange: bool = True) -> str:
    text = f"{rule.priority}:\tfrom all "
    if rule.fwmask:
        if rule.fwmask == 0xffffffff:
            text += f"fwmark 0x{rule.fwmark:x} "
        else:
            text += f"fwmark 0x{rule.fwmark:x}/0x{rule.fwmask:x} "
    if rule.iif is not None:
        text += f"iif {rule.iif} "
    if rule.oif is not None:
        text += f"oif {rule.oif} "
    if rule.uidrange is not None and show_uidrange:
        text += f"uidrange {rule.uidrange[0]}-{rule.uidrange[1]} "
    if rule.table:
        text += f"lookup {names.name(rule.table)} "
    if rule.action != "lookup":
        text += rule.action
    return text + "\n"
