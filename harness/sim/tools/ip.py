"""`ip` (iproute2 4.x as shipped in Android): addr, link, route, rule over the kernel model.

Behaviour from iproute2 v4.14 `ip/ip.c`, `ipaddress.c`, `iplink.c`, `iproute.c`, `iprule.c`:
objects and keywords match by prefix (`ip a`, `ip r`, `ip ru`); `-4`/`-6`/`-o`/`-f`;
exit 1 for bad device names (`Device "eth9" does not exist.`, `Cannot find device "eth9"`),
255 for bad arguments (`Error: argument "eth0" is wrong: table id value is invalid` — the
message carries its own newline, so a blank line follows), 2 when the kernel refuses
(`RTNETLINK answers: Operation not permitted` for non-root changes, `File exists`, ...).
Table names come from /data/misc/net/rt_tables, which netd writes from Android 7.0 on; older
releases print table numbers and no uid ranges.
"""

from __future__ import annotations

import errno
import ipaddress

from harness.sim.android.kernel import (
    RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, Kernel,
    KernelError, Route, Rule, strerror,
)
from harness.sim.android.routecontroller import RT_TABLES_PATH
from harness.sim.fs import FsError
from harness.sim.shell.api import Proc, command
from harness.sim.tools.iproute_format import (
    TableNames, format_ipv4_address, format_ipv6_address, format_link, format_route,
    format_route_get, format_rule,
)
from harness.sim.tools.netutil import has_net_admin, kernel_of

OBJECTS = ("address", "addrlabel", "maddress", "route", "rule", "neigh", "ntable", "link")
ROUTE_TYPES = ("unicast", "local", "broadcast", "unreachable", "prohibit", "blackhole", "throw")
SCOPE_NAMES = {"global": RT_SCOPE_UNIVERSE, "universe": RT_SCOPE_UNIVERSE, "link": RT_SCOPE_LINK,
               "host": RT_SCOPE_HOST}


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def matches(word: str, keyword: str) -> bool:
    """iproute2 matches(): `word` is a non-empty prefix of `keyword`."""
    return bool(word) and keyword.startswith(word)


class IpTool:
    def __init__(self, proc: Proc, kernel: Kernel) -> None:
        self.proc = proc
        self.kernel = kernel
        self.family = 0          # 0 = unspec, 4, 6
        self.oneline = False
        sdk = proc.device.sdk
        self.names = TableNames.parse(self._rt_tables() if sdk >= 24 else None)
        self.show_uidrange = sdk >= 24

    def _rt_tables(self) -> str | None:
        try:
            return self.proc.device.fs.read(RT_TABLES_PATH).decode()
        except (FsError, OSError):
            return None

    # -- errors ---------------------------------------------------------------------------------
    def fail(self, message: str, status: int) -> _Exit:
        self.proc.err(message)
        return _Exit(status)

    def invarg(self, message: str, arg: str) -> _Exit:
        return self.fail(f"Error: argument \"{arg}\" is wrong: {message}\n", 255)

    def kernel_error(self, err: KernelError) -> _Exit:
        return self.fail(f"RTNETLINK answers: {strerror(err.errno)}\n", 2)

    def need_admin(self) -> None:
        if not has_net_admin(self.proc):
            raise self.kernel_error(KernelError(errno.EPERM))

    def need_device(self, name: str) -> None:
        if name not in self.kernel.links:
            raise self.fail(f"Cannot find device \"{name}\"\n", 1)

    # -- entry --------------------------------------------------------------------------------------
    def run(self, argv: list[str]) -> int:
        while argv and argv[0].startswith("-") and len(argv[0]) > 1:
            opt = argv.pop(0).lstrip("-")
            if opt == "4":
                self.family = 4
            elif opt == "6":
                self.family = 6
            elif matches(opt, "oneline"):
                self.oneline = True
            elif opt in ("s", "d") or matches(opt, "stats") or matches(opt, "details"):
                pass
            elif opt == "f" or matches(opt, "family"):
                if not argv:
                    raise self.fail("Command line is not complete. Try option \"help\"\n", 255)
                self.family = {"inet": 4, "inet6": 6}.get(argv.pop(0), 0)
            else:
                raise self.fail(f"Option \"-{opt}\" is unknown, try \"ip -help\".\n", 255)
        if not argv:
            raise self.fail(_USAGE, 255)
        obj = argv.pop(0)
        handler = next((name for name in OBJECTS if matches(obj, name)), None)
        if handler == "address":
            return self.address(argv)
        if handler == "route":
            return self.route(argv)
        if handler == "rule":
            return self.rule(argv)
        if handler == "link":
            return self.link(argv)
        if handler is not None:
            return 0        # neighbours, multicast addresses, labels: not modelled, shown empty
        raise self.fail(f"Object \"{obj}\" is unknown, try \"ip help\".\n", 1)

    # -- ip address ---------------------------------------------------------------------------------
    def address(self, argv: list[str]) -> int:
        if not argv or any(matches(argv[0], w) for w in ("show", "list", "lst")):
            return self.show_addresses(argv[1:] if argv else [], do_link=False)
        verb = argv.pop(0)
        if matches(verb, "add") or matches(verb, "delete"):
            return self.modify_address(matches(verb, "add"), argv)
        if matches(verb, "flush"):
            return self.flush_addresses(argv)
        raise self.fail(f"Command \"{verb}\" is unknown, try \"ip address help\".\n", 255)

    def _device_filter(self, argv: list[str]) -> tuple[str | None, bool]:
        dev, up = None, False
        while argv:
            word = argv.pop(0)
            if word == "up":
                up = True
            elif word in ("dev",) and argv:
                dev = argv.pop(0)
            elif word in ("scope", "label", "to", "group", "master", "type") and argv:
                argv.pop(0)
            else:
                dev = word
        return dev, up

    def show_addresses(self, argv: list[str], *, do_link: bool) -> int:
        dev, up = self._device_filter(list(argv))
        links = self.kernel.ordered_links()
        if dev is not None:
            if dev not in self.kernel.links:
                raise self.fail(f"Device \"{dev}\" does not exist.\n", 1)
            links = [self.kernel.links[dev]]
        if up:
            links = [l for l in links if l.admin_up]
        family_filter = bool(self.family) and not do_link
        out = []
        for link in links:
            addresses = []
            if not do_link:
                if self.family in (0, 4):
                    addresses += [format_ipv4_address(link, i, oneline=self.oneline)
                                  for i in range(len(link.ipv4))]
                if self.family in (0, 6):
                    addresses += [format_ipv6_address(link, i, oneline=self.oneline)
                                  for i in range(len(link.ipv6))]
                if family_filter and not addresses:
                    continue
            if do_link or not self.oneline:
                out.append(format_link(link, do_link=do_link, family_filter=family_filter,
                                       newline="\\" if self.oneline else "\n"))
            out.extend(addresses)
        self.proc.out("".join(out))
        return 0

    def modify_address(self, add: bool, argv: list[str]) -> int:
        local, dev = None, None
        while argv:
            word = argv.pop(0)
            if word == "dev" and argv:
                dev = argv.pop(0)
            elif word in ("local",) and argv:
                local = argv.pop(0)
            elif word in ("brd", "broadcast", "label", "scope", "valid_lft", "preferred_lft",
                          "peer", "anycast") and argv:
                argv.pop(0)
            elif word in ("noprefixroute", "home", "nodad", "mngtmpaddr"):
                continue
            elif local is None:
                local = word
            else:
                raise self.fail(f"Error: either \"local\" is duplicate, or \"{word}\" is a garbage.\n", 255)
        if local is None:
            raise self.fail("Not enough information: \"local\" argument is required.\n", 1)
        try:
            iface = ipaddress.ip_interface(local)
        except ValueError:
            raise self.fail(f"Error: any valid prefix is expected rather than \"{local}\".\n", 1) from None
        if dev is None:
            raise self.fail("Not enough information: \"dev\" argument is required.\n", 1)
        self.need_device(dev)
        self.need_admin()
        try:
            if iface.version == 6:
                raise KernelError(errno.EOPNOTSUPP)     # only link-local IPv6 is modelled
            if add:
                self.kernel.add_address(dev, iface)
            else:
                self.kernel.remove_address(dev, iface)
        except KernelError as err:
            raise self.kernel_error(err) from None
        return 0

    def flush_addresses(self, argv: list[str]) -> int:
        if not argv:
            raise self.fail("Flush requires arguments.\n", 1)
        dev, _ = self._device_filter(list(argv))
        if dev is None or dev not in self.kernel.links:
            raise self.fail(f"Device \"{dev}\" does not exist.\n", 1)
        if not self.kernel.links[dev].ipv4 and not self.kernel.links[dev].ipv6:
            return 0
        if not has_net_admin(self.proc):
            raise self.fail(f"Failed to send flush request: {strerror(errno.EPERM)}\n", 1)
        if self.family in (0, 4):
            self.kernel.flush_addresses(dev)
        if self.family in (0, 6):
            self.kernel.clear_ipv6_addresses(dev)
        return 0

    # -- ip link ----------------------------------------------------------------------------------------
    def link(self, argv: list[str]) -> int:
        if not argv or any(matches(argv[0], w) for w in ("show", "list", "lst")):
            return self.show_addresses(argv[1:] if argv else [], do_link=True)
        verb = argv.pop(0)
        if matches(verb, "set"):
            return self.set_link(argv)
        raise self.fail(f"Command \"{verb}\" is unknown, try \"ip link help\".\n", 255)

    def set_link(self, argv: list[str]) -> int:
        dev, actions = None, []
        while argv:
            word = argv.pop(0)
            if word in ("up", "down"):
                actions.append((word, ""))
            elif word in ("mtu", "txqueuelen", "txqlen", "address") and argv:
                actions.append((word, argv.pop(0)))
            elif word == "dev" and argv:
                dev = argv.pop(0)
            elif dev is None:
                dev = word
            else:
                raise self.fail(f"Error: either \"dev\" is duplicate, or \"{word}\" is a garbage.\n", 255)
        if dev is None:
            raise self.fail("Not enough information: \"dev\" argument is required.\n", 1)
        self.need_device(dev)
        if not actions:
            return 0
        self.need_admin()
        try:
            for action, value in actions:
                if action in ("up", "down"):
                    self.kernel.set_admin(dev, action == "up")
                elif action == "mtu":
                    self.kernel.set_mtu(dev, self._number(value, "\"mtu\" value is invalid\n"))
                elif action in ("txqueuelen", "txqlen"):
                    self.kernel.link(dev).txqueuelen = self._number(value, "Invalid \"txqueuelen\" value\n")
                else:
                    self.kernel.link(dev).mac = value.lower()
        except KernelError as err:
            raise self.kernel_error(err) from None
        return 0

    def _number(self, text: str, message: str) -> int:
        try:
            return int(text, 0)
        except ValueError:
            raise self.invarg(message, text) from None

    # -- ip route -----------------------------------------------------------------------------------------
    def route(self, argv: list[str]) -> int:
        if not argv or any(matches(argv[0], w) for w in ("show", "list", "lst")):
            return self.show_routes(argv[1:] if argv else [])
        verb = argv.pop(0)
        for name in ("add", "delete", "replace", "change"):
            if matches(verb, name):
                return self.modify_route(name, argv)
        if matches(verb, "get"):
            return self.get_route(argv)
        if matches(verb, "flush"):
            return self.flush_routes(argv)
        raise self.fail(f"Command \"{verb}\" is unknown, try \"ip route help\".\n", 255)

    def _table(self, text: str, message: str = "\"table\" value is invalid\n") -> int:
        table = self.names.lookup(text)
        if table is None:
            raise self.invarg(message, text)
        return table

    def show_routes(self, argv: list[str]) -> int:
        table: int | None = RT_TABLE_MAIN
        dev = None
        while argv:
            word = argv.pop(0)
            if matches(word, "table") and argv:
                value = argv.pop(0)
                found = self.names.lookup(value)
                if found is None:
                    if value != "all":
                        raise self.invarg("table id value is invalid\n", value)
                    found = 0
                table = found or None
            elif word in ("dev", "oif") and argv:
                dev = argv.pop(0)
            elif word in ("proto", "scope", "type", "via", "src", "metric", "root", "match",
                          "exact") and argv:
                argv.pop(0)
        if dev is not None:
            self.need_device(dev)
        family = self.family or 4
        out = []
        # a full dump walks the kernel's table hash (id modulo 256)
        tables = sorted(self.kernel.tables, key=lambda t: (t % 256, t)) if table is None else [table]
        for table_id in tables:
            for route in self.kernel.table(table_id):
                if route.family != family or (dev is not None and route.dev != dev):
                    continue
                out.append(format_route(self.kernel, route, table_id, self.names,
                                        show_table=table is None, show_dev=dev is None))
        self.proc.out("".join(out))
        return 0

    def _parse_route(self, argv: list[str]) -> tuple[Route, int, bool]:
        kind, dst, gateway, dev = "unicast", None, None, None
        table, proto, scope, metric, src = RT_TABLE_MAIN, "boot", None, None, None
        while argv:
            word = argv.pop(0)
            if word in ROUTE_TYPES and dst is None:
                kind = word
            elif word == "via" and argv:
                gateway = self._address(argv.pop(0))
            elif word in ("dev", "oif") and argv:
                dev = argv.pop(0)
            elif matches(word, "table") and argv:
                table = self._table(argv.pop(0))
            elif matches(word, "protocol") and argv:
                proto = argv.pop(0)
            elif word == "scope" and argv:
                value = argv.pop(0)
                if value not in SCOPE_NAMES:
                    raise self.invarg("invalid \"scope\" value\n", value)
                scope = SCOPE_NAMES[value]
            elif word in ("metric", "priority", "preference") and argv:
                metric = self._number(argv.pop(0), "\"metric\" value is invalid\n")
            elif word == "src" and argv:
                src = self._address(argv.pop(0))
            elif dst is None:
                dst = word
            else:
                raise self.fail(f"Error: either \"to\" is duplicate, or \"{word}\" is a garbage.\n", 255)
        if dst is None:
            raise self.fail("Command line is not complete. Try option \"help\"\n", 255)
        network, host_bits = self._prefix("0.0.0.0/0" if dst == "default" else dst)
        if dev is not None:
            self.need_device(dev)
        if scope is None:
            scope = RT_SCOPE_HOST if kind == "local" else (
                RT_SCOPE_LINK if kind == "broadcast" or gateway is None else RT_SCOPE_UNIVERSE)
        route = Route(network, dev=dev, gateway=gateway, proto=proto, scope=scope, type=kind,
                      src=src, metric=metric)
        return route, table, host_bits

    def _address(self, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            raise self.fail(f"Error: any valid address is expected rather than \"{text}\".\n", 1) from None

    def _prefix(self, text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, bool]:
        """get_prefix(): the network and whether host bits are set (the kernel says EINVAL)."""
        try:
            iface = ipaddress.ip_interface(text)
        except ValueError:
            raise self.fail(f"Error: any valid prefix is expected rather than \"{text}\".\n", 1) from None
        return iface.network, iface.ip != iface.network.network_address

    def modify_route(self, verb: str, argv: list[str]) -> int:
        route, table, host_bits = self._parse_route(argv)
        self.need_admin()
        try:
            if host_bits:
                raise KernelError(errno.EINVAL, str(route.dst))
            if verb == "delete":
                self.kernel.del_route(table, route)
            elif verb in ("replace", "change"):
                try:
                    self.kernel.del_route(table, Route(route.dst, metric=route.metric))
                except KernelError:
                    if verb == "change":
                        raise
                self.kernel.add_route(table, route)
            else:
                self.kernel.add_route(table, route)
        except KernelError as err:
            raise self.kernel_error(err) from None
        return 0

    def flush_routes(self, argv: list[str]) -> int:
        if not argv:
            raise self.fail("\"ip route flush\" requires arguments.\n", 255)
        table, dev = RT_TABLE_MAIN, None
        while argv:
            word = argv.pop(0)
            if matches(word, "table") and argv:
                value = argv.pop(0)
                found = self.names.lookup(value)
                if found is None:
                    raise self.invarg("table id value is invalid\n", value)
                table = found
            elif word == "dev" and argv:
                dev = argv.pop(0)
        if dev is not None:
            self.need_device(dev)
        family = self.family or 4
        doomed = [r for r in self.kernel.table(table)
                  if r.family == family and (dev is None or r.dev == dev)]
        if doomed and not has_net_admin(self.proc):
            raise self.fail(f"Failed to send flush request: {strerror(errno.EPERM)}\n", 1)
        for route in doomed:
            self.kernel.del_route(table, route)
        return 0

    def get_route(self, argv: list[str]) -> int:
        dst, oif, mark, uid = None, None, 0, self.proc.uid
        while argv:
            word = argv.pop(0)
            if word in ("oif", "dev") and argv:
                oif = argv.pop(0)
            elif word == "mark" and argv:
                mark = self._number(argv.pop(0), "invalid fwmark\n")
            elif word == "uid" and argv:
                uid = self._number(argv.pop(0), "invalid UID\n")
            elif word in ("from", "iif", "tos", "dsfield") and argv:
                argv.pop(0)
            elif word == "to" and argv:
                dst = argv.pop(0)
            elif dst is None:
                dst = word
        if dst is None:
            raise self.fail("need at least a destination address\n", 1)
        address = self._address(dst)
        if oif is not None:
            self.need_device(oif)
        try:
            result = self.kernel.route_lookup(address, uid=uid, mark=mark, oif=oif)
        except KernelError as err:
            raise self.kernel_error(err) from None
        self.proc.out(format_route_get(str(address), result.route, result.table, self.names,
                                       src=str(result.src) if result.src else None, uid=uid))
        return 0

    # -- ip rule -----------------------------------------------------------------------------------------------
    def rule(self, argv: list[str]) -> int:
        if not argv or any(matches(argv[0], w) for w in ("show", "list", "lst")):
            return self.show_rules(argv[1:] if argv else [])
        verb = argv.pop(0)
        if matches(verb, "add") or matches(verb, "delete"):
            return self.modify_rule(matches(verb, "add"), argv)
        raise self.fail(f"Command \"{verb}\" is unknown, try \"ip rule help\".\n", 255)

    def show_rules(self, argv: list[str]) -> int:
        table = None
        while argv:
            word = argv.pop(0)
            if (matches(word, "lookup") or matches(word, "table")) and argv:
                value = argv.pop(0)
                table = self.names.lookup(value)
                if table is None:
                    raise self.invarg("table id value is invalid\n", value)
        out = [format_rule(rule, self.names, show_uidrange=self.show_uidrange)
               for rule in self.kernel.rules_for(self.family or 4)
               if table is None or rule.table == table]
        self.proc.out("".join(out))
        return 0

    def modify_rule(self, add: bool, argv: list[str]) -> int:
        if not add and not argv:
            raise self.fail("\"ip rule del\" requires arguments.\n", 255)
        fields: dict = {}
        action = "lookup"
        while argv:
            word = argv.pop(0)
            if word in ("from", "to") and argv:
                value = argv.pop(0)
                if value != "all":
                    raise self.kernel_error(KernelError(errno.EOPNOTSUPP))    # not modelled
            elif word in ("priority", "preference", "order", "pref", "prio") and argv:
                fields["priority"] = self._number(argv.pop(0), "preference value is invalid\n")
            elif word == "fwmark" and argv:
                mark, _, mask = argv.pop(0).partition("/")
                fields["fwmark"] = self._number(mark, "fwmark value is invalid\n")
                fields["fwmask"] = self._number(mask, "fwmask value is invalid\n") if mask else 0xffffffff
            elif word in ("iif", "dev") and argv:
                fields["iif"] = argv.pop(0)
            elif word == "oif" and argv:
                fields["oif"] = argv.pop(0)
            elif word == "uidrange" and argv:
                value = argv.pop(0)
                start, sep, end = value.partition("-")
                if not sep or not start.isdigit() or not end.isdigit():
                    raise self.invarg("invalid UID range\n", value)
                fields["uidrange"] = (int(start), int(end))
            elif (matches(word, "lookup") or matches(word, "table")) and argv:
                value = argv.pop(0)
                table = self.names.lookup(value)
                if table is None:
                    raise self.invarg("invalid table ID\n", value)
                fields["table"] = table
            elif word in ("unreachable", "prohibit", "blackhole"):
                action = word
            else:
                raise self.fail(f"Error: argument \"{word}\" is wrong: Failed to parse rule type\n", 255)
        self.need_admin()
        family = self.family or 4
        if add:
            if action == "lookup":
                fields.setdefault("table", RT_TABLE_MAIN)
            if "priority" not in fields:
                fields["priority"] = self._default_priority(family)
        try:
            if add:
                self.kernel.add_rule(Rule(action=action, family=family, **fields))
            else:
                fields.setdefault("priority", -1)       # no preference given: any
                self.kernel.del_rule(Rule(action=action, family=family, **fields))
        except KernelError as err:
            raise self.kernel_error(err) from None
        return 0

    def _default_priority(self, family: int) -> int:
        """fib_default_rule_pref(): one less than the second rule's priority."""
        rules = self.kernel.rules_for(family)
        if len(rules) >= 2 and rules[1].priority:
            return rules[1].priority - 1
        return 0


_USAGE = """Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }
       ip [ -force ] -batch filename
where  OBJECT := { link | address | addrlabel | route | rule | neigh | ntable |
                   tunnel | tuntap | maddress | mroute | mrule | monitor | xfrm |
                   netns | l2tp | fou | macsec | tcp_metrics | token | netconf | ila |
                   vrf | sr }
       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] | -r[esolve] |
                    -h[uman-readable] | -iec |
                    -f[amily] { inet | inet6 | ipx | dnet | mpls | bridge | link } |
                    -4 | -6 | -I | -D | -B | -0 |
                    -l[oops] { maximum-addr-flush-attempts } | -br[ief] |
                    -o[neline] | -t[imestamp] | -ts[hort] | -b[atch] [filename] |
                    -rc[vbuf] [size] | -n[etns] name | -a[ll] | -c[olor]}
"""


@command("ip")
async def ip_main(proc: Proc) -> int:
    kernel = kernel_of(proc)
    if kernel is None:
        proc.err("Cannot open netlink socket: Protocol not supported\n")
        return 1
    try:
        return IpTool(proc, kernel).run(list(proc.args))
    except _Exit as done:
        return done.status
