"""netd's RouteController: the policy rules and per-interface tables netd programs into the kernel.

Facts (AOSP system/netd `RouteController.cpp`, redroid branches 8.1 / 9 / 12):
- per-interface table = ifindex + 1000, fixed tables local_network 97, legacy_network 98,
  legacy_system 99; `/data/misc/net/rt_tables` lists local, main, the fixed tables, then one
  line per interface netd knows (std::map: sorted by name); rewritten when an interface joins
  or leaves a network;
- Init: flush every rule whose priority is not 0, then legacy (10000/15000/16000), local
  network (13000 explicit + 17000), directly-connected (23000, 5.x-8.1 only) and unreachable
  (32000) rules; every rule for IPv4 and IPv6;
- adding an interface to a physical network: explicit (13000), output-interface (10500 uid 0 +
  14000) and, for PERMISSION_NONE only, implicit (19000) rules; the default network adds 22000;
- 9+ puts `iif lo` on the explicit/oif/implicit/default rules and drops 23000; 12+ renumbers
  the priorities (oif 11000/17000, explicit 16000, implicit 23000, default 29000/31000);
- 5.x/6.0 have no uid-0 `oif` rule (10500) and no rt_tables file (a real Android 6 `ip rule`
  shows `lookup 1007`, `lookup 99`); their `ip` does not print uid ranges.
Not modelled: VPN and tethering rules, 13+ per-interface local tables, the dummy0 network.
"""

from __future__ import annotations

import errno
import ipaddress
from dataclasses import dataclass
from typing import Callable

from harness.sim.android.kernel import (
    RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, Kernel, KernelError, Route, Rule, strerror,
)

ROUTE_TABLE_OFFSET_FROM_INDEX = 1000
ROUTE_TABLE_LOCAL_NETWORK = 97
ROUTE_TABLE_LEGACY_NETWORK = 98
ROUTE_TABLE_LEGACY_SYSTEM = 99
RT_TABLES_PATH = "/data/misc/net/rt_tables"
AID_SYSTEM = 1000

# include/Fwmark.h, include/Permission.h
FWMARK_NET_ID_MASK = 0xffff
FWMARK_EXPLICIT = 0x10000
FWMARK_PROTECTED = 0x20000
PERMISSION_NONE = 0
PERMISSION_NETWORK = 1
PERMISSION_SYSTEM = 3
PERMISSION_NAMES = {PERMISSION_NONE: "NONE", PERMISSION_NETWORK: "NETWORK", PERMISSION_SYSTEM: "SYSTEM"}
UID_ROOT = 0


def permission_bits(permission: int) -> int:
    return permission << 18


def fwmark(net_id: int = 0, *, explicit: bool = False, protected: bool = False,
           permission: int = PERMISSION_NONE) -> int:
    return ((net_id & FWMARK_NET_ID_MASK) | (FWMARK_EXPLICIT if explicit else 0)
            | (FWMARK_PROTECTED if protected else 0) | permission_bits(permission))


@dataclass(frozen=True)
class RuleLayout:
    """Rule priorities and shapes of one netd generation."""
    vpn_override_system: int
    vpn_override_oif: int | None       # the uid-0 `oif` rule arrived in 7.0
    explicit_network: int
    output_interface: int
    legacy_system: int
    legacy_network: int
    local_network: int
    implicit_network: int
    default_network: int
    unreachable: int
    directly_connected: int | None     # 23000 `uidrange 0-0 lookup main` (5.x-8.1)
    iif_lo: bool                       # 9+: socket rules only match locally generated traffic
    table_names: bool                  # 7.0+: netd writes /data/misc/net/rt_tables

    @classmethod
    def for_sdk(cls, sdk: int) -> "RuleLayout":
        if sdk <= 23:
            return cls(10000, None, 13000, 14000, 15000, 16000, 17000, 19000, 22000, 32000,
                       23000, False, False)
        if sdk <= 27:
            return cls(10000, 10500, 13000, 14000, 15000, 16000, 17000, 19000, 22000, 32000,
                       23000, False, True)
        if sdk <= 30:
            return cls(10000, 10500, 13000, 14000, 15000, 16000, 17000, 19000, 22000, 32000,
                       None, True, True)
        return cls(10000, 11000, 16000, 17000, 18000, 19000, 20000, 23000,
                   29000 if sdk in (31, 32) else 31000, 32000, None, True, True)


LogFn = Callable[[str], None]
WriteFn = Callable[[str, bytes], None]


class RouteController:
    """Programs rules and routes; raises KernelError with the errno netd would return."""

    def __init__(self, kernel: Kernel, sdk: int, *, log_error: LogFn, write_file: WriteFn) -> None:
        self.kernel = kernel
        self.layout = RuleLayout.for_sdk(sdk)
        self.interface_to_table: dict[str, int] = {}
        self._log_error = log_error
        self._write_file = write_file

    # -- tables ---------------------------------------------------------------------------------
    def table_for_interface(self, interface: str) -> int:
        """getRouteTableForInterface(): ifindex + 1000, remembered for when the link is gone."""
        link = self.kernel.links.get(interface)
        if link is not None:
            table = link.ifindex + ROUTE_TABLE_OFFSET_FROM_INDEX
            self.interface_to_table[interface] = table
            return table
        table = self.interface_to_table.get(interface)
        if table is None:
            self._log_error(f"cannot find interface {interface}")
            raise KernelError(errno.ESRCH, interface)
        return table

    def update_table_names_file(self) -> None:
        if not self.layout.table_names:
            return
        lines = [(255, "local"), (254, "main"), (ROUTE_TABLE_LOCAL_NETWORK, "local_network"),
                 (ROUTE_TABLE_LEGACY_NETWORK, "legacy_network"),
                 (ROUTE_TABLE_LEGACY_SYSTEM, "legacy_system")]
        lines += [(table, name) for name, table in sorted(self.interface_to_table.items())]
        self._write_file(RT_TABLES_PATH, "".join(f"{t} {n}\n" for t, n in lines).encode())

    # -- rule primitive ---------------------------------------------------------------------------
    def _modify_rule(self, add: bool, priority: int, table: int, mark: int = 0, mask: int = 0, *,
                     iif: str | None = None, oif: str | None = None,
                     uids: tuple[int, int] | None = None, action: str = "lookup") -> None:
        if mark & ~mask:
            self._log_error(f"mask 0x{mask:x} does not select all the bits set in fwmark 0x{mark:x}")
            raise KernelError(errno.ERANGE)
        for family in (4, 6):
            rule = Rule(priority, table, action, mark, mask, iif, oif, uids, family)
            try:
                if add:
                    self.kernel.add_rule(rule)
                else:
                    self.kernel.del_rule(rule)
            except KernelError as err:
                family_name = "IPv4" if family == 4 else "IPv6"
                self._log_error(f"Error {'adding' if add else 'deleting'} {family_name} rule: "
                                f"{strerror(err.errno)}")
                raise

    def _iif(self) -> str | None:
        return "lo" if self.layout.iif_lo else None

    # -- fixed rules ----------------------------------------------------------------------------
    def init(self, local_net_id: int) -> None:
        """RouteController::Init: flushRules() then the fixed rules, then rt_tables."""
        self.kernel.flush_rules(keep=lambda rule: rule.priority == 0)
        lay = self.layout
        not_explicit = (0, FWMARK_EXPLICIT)
        self._modify_rule(True, lay.legacy_system, ROUTE_TABLE_LEGACY_SYSTEM, *not_explicit)
        self._modify_rule(True, lay.legacy_network, ROUTE_TABLE_LEGACY_NETWORK, *not_explicit)
        system = permission_bits(PERMISSION_SYSTEM)
        # addLegacyRouteRules reuses the not-explicit selector and adds the SYSTEM bits
        self._modify_rule(True, lay.vpn_override_system, ROUTE_TABLE_LEGACY_SYSTEM,
                          system, system | FWMARK_EXPLICIT)
        self._explicit_rule(True, local_net_id, ROUTE_TABLE_LOCAL_NETWORK, PERMISSION_NONE)
        self._modify_rule(True, lay.local_network, ROUTE_TABLE_LOCAL_NETWORK, *not_explicit)
        if lay.directly_connected is not None:
            self._modify_rule(True, lay.directly_connected, 254, 0, FWMARK_NET_ID_MASK,
                              uids=(UID_ROOT, UID_ROOT))
        self._modify_rule(True, lay.unreachable, 0, action="unreachable")
        self.update_table_names_file()

    # -- per-network rules ------------------------------------------------------------------------
    def _explicit_rule(self, add: bool, net_id: int, table: int, permission: int) -> None:
        mark = fwmark(net_id, explicit=True, permission=permission)
        mask = FWMARK_NET_ID_MASK | FWMARK_EXPLICIT | permission_bits(permission)
        self._modify_rule(add, self.layout.explicit_network, table, mark, mask, iif=self._iif())

    def _output_interface_rules(self, add: bool, interface: str, table: int, permission: int) -> None:
        bits = permission_bits(permission)
        if self.layout.vpn_override_oif is None:
            pass
        elif self.layout.iif_lo:
            self._modify_rule(add, self.layout.vpn_override_oif, table, iif="lo", oif=interface,
                              uids=(UID_ROOT, UID_ROOT))
        else:
            self._modify_rule(add, self.layout.vpn_override_oif, table, bits, bits, oif=interface,
                              uids=(UID_ROOT, UID_ROOT))
        self._modify_rule(add, self.layout.output_interface, table, bits, bits, iif=self._iif(),
                          oif=interface)

    def _implicit_rule(self, add: bool, net_id: int, table: int) -> None:
        self._modify_rule(add, self.layout.implicit_network, table, fwmark(net_id),
                          FWMARK_NET_ID_MASK | FWMARK_EXPLICIT, iif=self._iif())

    def modify_physical_network(self, add: bool, net_id: int, interface: str, permission: int) -> None:
        table = self.table_for_interface(interface)
        # the incoming-packet mark is an iptables rule; redroid's netd skips iptables-restore
        self._explicit_rule(add, net_id, table, permission)
        self._output_interface_rules(add, interface, table, permission)
        if permission == PERMISSION_NONE:
            self._implicit_rule(add, net_id, table)

    def add_interface_to_physical_network(self, net_id: int, interface: str, permission: int) -> None:
        self.modify_physical_network(True, net_id, interface, permission)
        self.update_table_names_file()

    def remove_interface_from_physical_network(self, net_id: int, interface: str,
                                               permission: int) -> None:
        self.modify_physical_network(False, net_id, interface, permission)
        self.flush_routes(interface)
        self.update_table_names_file()

    def modify_physical_network_permission(self, net_id: int, interface: str, old: int, new: int) -> None:
        self.modify_physical_network(True, net_id, interface, new)
        self.modify_physical_network(False, net_id, interface, old)

    def modify_local_network(self, add: bool, interface: str) -> None:
        self._output_interface_rules(add, interface, ROUTE_TABLE_LOCAL_NETWORK, PERMISSION_NONE)

    def modify_default_network(self, add: bool, interface: str, permission: int) -> None:
        table = self.table_for_interface(interface)
        bits = permission_bits(permission)
        self._modify_rule(add, self.layout.default_network, table, bits,
                          FWMARK_NET_ID_MASK | bits, iif=self._iif())

    # -- routes -----------------------------------------------------------------------------------
    def flush_routes(self, interface: str) -> None:
        table = self.table_for_interface(interface)
        self.kernel.flush_table(table)
        self.interface_to_table.pop(interface, None)

    def modify_route(self, add: bool, interface: str, destination: str, nexthop: str | None,
                     table: int | None) -> None:
        """modifyIpRoute(): `table` None means the interface's own table."""
        if table is None:
            table = self.table_for_interface(interface)
        try:
            network = ipaddress.ip_network(destination, strict=False)
            if "/" not in destination:
                raise ValueError(destination)
        except ValueError:
            self._log_error(f"parsePrefix failed for destination {destination} (Invalid argument)")
            raise KernelError(errno.EINVAL, destination) from None
        route_type, gateway, dev = "unicast", None, interface
        if nexthop in ("unreachable", "throw"):
            route_type, dev, shown_nexthop = nexthop, None, "(null)"
            nexthop = None
        else:
            if self.kernel.links.get(interface) is None:
                self._log_error(f"cannot find interface {interface}")
                raise KernelError(errno.ENODEV, interface)
            if nexthop is not None:
                try:
                    gateway = ipaddress.ip_address(nexthop)
                    if gateway.version != network.version:
                        raise ValueError(nexthop)
                except ValueError:
                    self._log_error(f"inet_pton failed for nexthop {nexthop}")
                    raise KernelError(errno.EINVAL, nexthop) from None
            shown_nexthop = nexthop or "(null)"
        route = Route(network, dev=dev, gateway=gateway, proto="static",
                      scope=RT_SCOPE_UNIVERSE if nexthop else RT_SCOPE_LINK, type=route_type,
                      metric=100000 if route_type == "throw" and network.prefixlen == 0 else None)
        try:
            if add:
                self.kernel.add_route(table, route)
            else:
                self.kernel.del_route(table, route)
        except KernelError as err:
            if add and err.errno == errno.EEXIST:
                return     # "Trying to add a route that already exists shouldn't cause an error."
            self._log_error(f"Error {'adding' if add else 'deleting'} route {destination} -> "
                            f"{shown_nexthop} {dev or '(null)'} to table {table}: {strerror(err.errno)}")
            raise
