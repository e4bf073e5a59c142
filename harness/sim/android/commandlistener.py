"""netd's text command protocol: FrameworkListener framing and the command handlers.

`CommandListener` is the Android <= 9 socket `netd` (`<seq> <cmd> <args>\\0`, replies
`<code> <seq> <msg>[ (<strerror>)]`); `NdcDispatcher` is Android 10+'s `ndc`, which runs the
same handlers locally over binder and prints every reply with sequence number 0.

Facts (AOSP system/core libsysutils `FrameworkListener.cpp`/`SocketClient.cpp`, system/netd
redroid-8.1.0 `CommandListener.cpp`, redroid-10.0.0 `NdcDispatcher.cpp`):
- framing: words split on unquoted spaces, `"` groups, `\\\\` and `\\"` are the only escapes;
  the first word must be a whole strtol(base 0) number, else `500 <cmdnum> Invalid sequence
  number`; 1024-byte buffer (`Command too large for buffer`, `Command too long`), 26 args max;
- `network` exists from Android 5.0; 10+ ndc has no `resolver`; 10+ interfaceGetCfg never
  fails (a missing interface reads as zeros) and interfaceSetCfg always clears the IPv4 address;
- commands this model does not implement (tether, nat, bandwidth, firewall, ...) answer with
  their success text, as redroid's netd does with iptables-restore disabled.
"""

from __future__ import annotations

import errno
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from harness.sim.android.kernel import KernelError, strerror
from harness.sim.android.netd import (
    LOCAL_NET_ID, MAX_OEM_ID, MIN_OEM_ID, NETID_UNSET, THREAD_BINDER, THREAD_COMMANDS,
)
from harness.sim.android.routecontroller import PERMISSION_NETWORK, PERMISSION_NONE, PERMISSION_SYSTEM

if TYPE_CHECKING:
    from harness.sim.android.netd import Netd

CMD_BUF_SIZE = 1024
CMD_ARGS_MAX = 26
NET_HANDLE_MAGIC = 0xcafed00d


@dataclass
class CommandClient:
    """One connection's SocketClient state: the sequence number of its last command."""
    cmd_num: int = 0


class _Reply:
    """Collects reply lines of one command (SocketClient::sendMsg)."""

    def __init__(self, cmd_num: int | None) -> None:
        self.cmd_num = cmd_num          # None: 10+ ndc, printed as 0
        self.lines: list[str] = []

    def send(self, code: int, message: str, err: int | None = None) -> int:
        seq = 0 if self.cmd_num is None else self.cmd_num
        text = f"{code} {seq} {message}"
        if err is not None:
            text += f" ({strerror(err)})"
        self.lines.append(text)
        return 0


# ---------------------------------------------------------------------------------------------
# C number parsing, as netd does it
# ---------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def _c_number(text: str) -> tuple[int, int] | None:
    """(value, characters consumed) of strtol/strtoul with base 0, or None if no digits."""
    match = _NUMBER.match(text)
    if match is None:
        return None
    sign, digits = match.groups()
    value = int(digits, 16) if digits[:2].lower() == "0x" else int(digits, 8) if digits.startswith("0") else int(digits)
    return (-value if sign == "-" else value), match.end()


def strtol_whole(text: str) -> int | None:
    """FrameworkListener's check: strtol(base 0) must consume the whole word ('' is 0)."""
    if text == "":
        return 0
    parsed = _c_number(text)
    if parsed is None or parsed[1] != len(text):
        return None
    value = parsed[0]
    return max(-(1 << 63), min((1 << 63) - 1, value))


def strtoul_prefix(text: str) -> int:
    """strtoul(arg, NULL, 0) truncated to unsigned: 0 when nothing parses."""
    parsed = _c_number(text)
    return 0 if parsed is None else parsed[0] & 0xffffffff


def string_to_net_id(arg: str) -> int:
    if arg == "local":
        return LOCAL_NET_ID
    if arg.startswith("oem"):
        n = strtoul_prefix(arg[3:])
        return MIN_OEM_ID + n if 1 <= n <= MAX_OEM_ID - MIN_OEM_ID + 1 else NETID_UNSET
    if arg.startswith("handle"):
        match = re.match(r"\s*(\d+)", arg[6:])
        handle = int(match.group(1)) if match else 0
        net_id = (handle >> 32) & 0xffffffff if handle & 0xffffffff == NET_HANDLE_MAGIC else 0
        return net_id if MIN_OEM_ID <= net_id <= MAX_OEM_ID else NETID_UNSET
    return strtoul_prefix(arg)


def string_to_permission(arg: str) -> int:
    return {"NETWORK": PERMISSION_NETWORK, "SYSTEM": PERMISSION_SYSTEM}.get(arg, PERMISSION_NONE)


def inet_aton(text: str) -> int | None:
    """inet_aton(): 1-4 numbers (decimal, octal or hex) separated by dots."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        parsed = _c_number(part) if part and not part[0].isspace() and part[0] not in "+-" else None
        if parsed is None or parsed[1] != len(part):
            return None
        values.append(parsed[0])
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = 0
    for i, v in enumerate(head):
        value |= v << (24 - 8 * i)
    return value | last


def split_words(data: str) -> tuple[int | None, list[str]] | str:
    """FrameworkListener::dispatchCommand tokenising: (cmd_num, argv) or an error message."""
    argv: list[str] = []
    tmp: list[str] = []
    cmd_num: int | None = None
    have_cmd_num = False
    esc = quote = False
    for ch in data:
        if ch == "\\":
            if esc:
                if len(tmp) >= CMD_BUF_SIZE - 1:
                    return "Command too long"
                tmp.append("\\")
                esc = False
            else:
                esc = True
            continue
        if esc:
            if ch not in ('"', "\\"):
                return "Unsupported escape sequence"
            if len(tmp) >= CMD_BUF_SIZE - 1:
                return "Command too long"
            tmp.append(ch)
            esc = False
            continue
        if ch == '"':
            quote = not quote
            continue
        if len(tmp) >= CMD_BUF_SIZE - 1:
            return "Command too long"
        if not quote and ch == " ":
            word = "".join(tmp)
            tmp = []
            if not have_cmd_num:
                cmd_num = strtol_whole(word)
                if cmd_num is None:
                    return "Invalid sequence number"
                have_cmd_num = True
            else:
                if len(argv) >= CMD_ARGS_MAX:
                    return "Command too long"
                argv.append(word)
            continue
        tmp.append(ch)
    if len(argv) >= CMD_ARGS_MAX:
        return "Command too long"
    argv.append("".join(tmp))
    if quote:
        return "Unclosed quotes error"
    return cmd_num, argv


Handler = Callable[[_Reply, list[str]], int]

# Commands whose effects are not modelled: they answer with netd's own success text.
_STUB_REPLIES = {
    "ipfwd": (200, "ipfwd operation succeeded"),
    "tether": (200, "Tether operation succeeded"),
    "nat": (200, "Nat operation succeeded"),
    "list_ttys": (200, "Ttys listed."),
    "pppd": (200, "Pppd operation succeeded"),
    "bandwidth": (200, "Bandwidth command succeeeded"),
    "idletimer": (200, "Enable success"),
    "firewall": (200, "Firewall command succeeded"),
    "clatd": (200, "Clatd operation succeeded"),
    "strict": (200, "Strict command succeeded"),
}


class CommandListener:
    """The handlers, shared by the text socket (<= 9) and 10+ ndc (`binder=True`)."""

    def __init__(self, netd: "Netd", *, binder: bool = False) -> None:
        self.netd = netd
        self.binder = binder
        self.handlers: dict[str, Handler] = {"interface": self._interface}
        names = ["ipfwd", "tether", "nat"]
        if not binder:
            names += ["list_ttys", "pppd"]
        names += ["bandwidth", "idletimer", "firewall", "clatd"]
        for name in names:
            self.handlers[name] = self._stub
        if not binder:
            self.handlers["resolver"] = self._resolver
        if netd.has_network_controller:
            self.handlers["network"] = self._network
            self.handlers["strict"] = self._stub

    # -- entry points --------------------------------------------------------------------------
    def dispatch(self, line: str, client: CommandClient | None = None) -> list[str]:
        client = client if client is not None else CommandClient()
        if len(line.encode()) + 1 > CMD_BUF_SIZE:
            reply = _Reply(client.cmd_num)
            reply.send(500, "Command too large for buffer")
            return reply.lines
        parsed = split_words(line)
        if isinstance(parsed, str):
            reply = _Reply(client.cmd_num)
            reply.send(500, parsed)
            return reply.lines
        cmd_num, argv = parsed
        if cmd_num is not None:
            client.cmd_num = _as_c_int(cmd_num)
        reply = _Reply(client.cmd_num)
        self.run(reply, argv)
        return reply.lines

    def run(self, reply: _Reply, argv: list[str]) -> None:
        handler = self.handlers.get(argv[0])
        if handler is None:
            reply.send(500, "Command not recognized")
            return
        handler(reply, argv)

    # -- interface -----------------------------------------------------------------------------
    def _interface(self, r: _Reply, argv: list[str]) -> int:
        netd = self.netd
        argc = len(argv)
        if argc < 2:
            return r.send(500, "Missing argument")
        sub = argv[1]
        if sub == "list":
            for name in netd.interface_list():
                r.send(110, name)
            return r.send(200, "Interface list completed")
        if argc < 3:
            return r.send(500, "Missing argument")
        name = argv[2]
        if sub == "getcfg":
            try:
                cfg = netd.interface_get_cfg(name)
            except KernelError as err:
                return r.send(400, "Interface not found", err.errno)
            return r.send(213, cfg.render())
        if sub == "setcfg":
            return self._setcfg(r, argv)
        if sub == "clearaddrs":
            netd.log("D", "CommandListener", f"Clearing all IP addresses on {name}", thread=_thread(self))
            netd.interface_clear_addrs(name)
            return r.send(200, "Interface IP addresses cleared")
        toggles = {"ipv6privacyextensions": ("IPv6 privacy extensions changed",
                                             "Failed to set ipv6 privacy extensions"),
                   "ipv6": ("IPv6 state changed", "Failed to change IPv6 state"),
                   "ipv6ndoffload": ("IPv6 ND offload changed", "Failed to change IPv6 ND offload state")}
        if sub in toggles:
            if argc != 4:
                return r.send(500, f"Usage: interface {sub} <interface> <enable|disable>")
            ok, failed = toggles[sub]
            try:
                if sub == "ipv6":
                    netd.interface_set_ipv6(name, argv[3] == "enable")
                else:
                    netd.interface_check_exists(name)
            except KernelError as err:
                return r.send(400, failed, err.errno)
            return r.send(200, ok)
        if sub == "setmtu":
            if argc != 4:
                return r.send(500, "Usage: interface setmtu <interface> <val>")
            try:
                netd.interface_set_mtu(name, argv[3])
            except KernelError as err:
                return r.send(400, "Failed to set MTU", err.errno)
            return r.send(200, "MTU changed")
        return r.send(500, "Unknown interface cmd")

    def _setcfg(self, r: _Reply, argv: list[str]) -> int:
        netd = self.netd
        if len(argv) < 4:
            return r.send(500, "Missing argument")
        name = argv[2]
        netd.log("D", "CommandListener", "Setting iface cfg", thread=_thread(self))
        address = inet_aton(argv[3])
        index = 3 if address is None else 5
        if address is not None and len(argv) < 5:
            return r.send(500, "Missing argument")
        if self.binder:
            return self._setcfg_binder(r, argv, address, index)
        if address is not None:
            try:
                netd.interface_clear_address(name)
            except KernelError as err:
                return r.send(400, "Failed to clear address", err.errno)
            if address != 0:
                try:
                    netd.interface_add_address(name, str(ipaddress.IPv4Address(address)),
                                               strtoul_prefix(argv[4]))
                except KernelError as err:
                    return r.send(400, "Failed to set address", err.errno)
        for flag in argv[index:]:
            if flag in ("up", "down"):
                verb = "up" if flag == "up" else "down"
                netd.log("D", "CommandListener", f"Trying to bring {verb} {name}", thread=_thread(self))
                try:
                    netd.interface_set_up(name, flag == "up")
                except KernelError as err:
                    netd.log("E", "CommandListener", f"Error {'upping' if flag == 'up' else 'downing'} interface",
                             thread=_thread(self))
                    return r.send(400, f"Failed to {verb} interface", err.errno)
            elif flag not in ("broadcast", "multicast", "running", "loopback", "point-to-point"):
                return r.send(501, "Flag unsupported")
        return r.send(200, "Interface configuration set")

    def _setcfg_binder(self, r: _Reply, argv: list[str], address: int | None, index: int) -> int:
        netd, name = self.netd, argv[2]
        cfg_address, prefix, flags = "", 0, []
        if address is not None and address != 0:
            cfg_address = argv[3]
            if not re.fullmatch(r"[+-]?\d+", argv[4]):
                return r.send(400, "Failed to set address", errno.EINVAL)
            prefix = int(argv[4])
            try:
                netd.interface_set_cfg(name, cfg_address, prefix, flags)
            except KernelError as err:
                return r.send(400, "Failed to set address", err.errno)
        for flag in argv[index:]:
            if flag in ("up", "down"):
                flags.append(flag)
                try:
                    netd.interface_set_cfg(name, cfg_address, prefix, flags)
                except KernelError as err:
                    return r.send(400, f"Failed to {flag} interface", err.errno)
            elif flag not in ("broadcast", "multicast", "running", "loopback", "point-to-point"):
                return r.send(501, "Flag unsupported")
        return r.send(200, "Interface configuration set")

    # -- network ---------------------------------------------------------------------------------
    def _network(self, r: _Reply, argv: list[str]) -> int:
        argc = len(argv)
        if argc < 2:
            return r.send(500, "Missing argument")
        sub = {"route": self._network_route, "interface": self._network_interface,
               "create": self._network_create, "destroy": self._network_destroy,
               "default": self._network_default, "permission": self._network_permission,
               "users": self._network_users, "protect": self._network_protect}.get(argv[1])
        if sub is None:
            return r.send(500, "Unknown argument")
        return sub(r, argv)

    @staticmethod
    def _result(r: _Reply, ret: int, message: str) -> int:
        if ret:
            return r.send(400, message, -ret)
        return r.send(200, "success")

    def _network_route(self, r: _Reply, argv: list[str]) -> int:
        argc = len(argv)
        if argc < 6 or argc > 9:
            return r.send(500, "Incorrect number of arguments")
        i, legacy, uid = 2, False, 0
        if argv[i] == "legacy":
            legacy = True
            if self.binder and not re.fullmatch(r"\d+", argv[i + 1]):
                return r.send(400, "Unknown argument")
            uid = strtoul_prefix(argv[i + 1])
            i += 2
        if argv[i] not in ("add", "remove"):
            return r.send(500, "Unknown argument")
        add = argv[i] == "add"
        i += 1
        if argc < i + 3 or argc > i + 4:
            return r.send(500, "Incorrect number of arguments")
        net_id, interface, destination = string_to_net_id(argv[i]), argv[i + 1], argv[i + 2]
        nexthop = argv[i + 3] if argc > i + 3 else None
        fn = self.netd.network_add_route if add else self.netd.network_remove_route
        ret = fn(net_id, interface, destination, nexthop, legacy=legacy, uid=uid)
        return self._result(r, ret, "addRoute() failed" if add else "removeRoute() failed")

    def _network_interface(self, r: _Reply, argv: list[str]) -> int:
        if len(argv) != 5:
            return r.send(500, "Missing argument")
        net_id = string_to_net_id(argv[3])
        if argv[2] == "add":
            return self._result(r, self.netd.network_add_interface(net_id, argv[4]),
                                "addInterfaceToNetwork() failed")
        if argv[2] == "remove":
            return self._result(r, self.netd.network_remove_interface(net_id, argv[4]),
                                "removeInterfaceFromNetwork() failed")
        return r.send(500, "Unknown argument")

    def _network_create(self, r: _Reply, argv: list[str]) -> int:
        argc = len(argv)
        if argc < 3:
            return r.send(500, "Missing argument")
        net_id = string_to_net_id(argv[2])
        if argc == 6 and argv[3] == "vpn":
            # VPN networks (VirtualNetwork) are not modelled
            return r.send(400, "createVirtualNetwork() failed", errno.EOPNOTSUPP)
        if argc > 4:
            return r.send(500, "Unknown trailing argument(s)")
        permission = PERMISSION_NONE
        if argc == 4:
            permission = string_to_permission(argv[3])
            if permission == PERMISSION_NONE:
                return r.send(500, "Unknown permission")
        return self._result(r, self.netd.network_create_physical(net_id, permission),
                            "createPhysicalNetwork() failed")

    def _network_destroy(self, r: _Reply, argv: list[str]) -> int:
        if len(argv) != 3:
            return r.send(500, "Incorrect number of arguments")
        net_id = string_to_net_id(argv[2])
        ret = self.netd.network_destroy(net_id)
        if ret == 0:
            self.netd.clear_resolver_configuration(net_id)
        return self._result(r, ret, "destroyNetwork() failed")

    def _network_default(self, r: _Reply, argv: list[str]) -> int:
        if len(argv) < 3:
            return r.send(500, "Missing argument")
        net_id = NETID_UNSET
        if argv[2] == "set":
            if len(argv) < 4:
                return r.send(500, "Missing netId")
            net_id = string_to_net_id(argv[3])
        elif argv[2] != "clear":
            return r.send(500, "Unknown argument")
        return self._result(r, self.netd.network_set_default(net_id), "setDefaultNetwork() failed")

    def _network_permission(self, r: _Reply, argv: list[str]) -> int:
        argc = len(argv)
        if argc < 5:
            return r.send(500, "Missing argument")
        next_arg, permission = 4, PERMISSION_NONE
        if argv[3] == "set":
            permission = string_to_permission(argv[4])
            if permission == PERMISSION_NONE:
                return r.send(500, "Unknown permission")
            next_arg = 5
        elif argv[3] != "clear":
            return r.send(500, "Unknown argument")
        if next_arg == argc:
            return r.send(500, "Missing id")
        if argv[2] not in ("user", "network"):
            return r.send(500, "Unknown argument")
        ids: list[int] = []
        for arg in argv[next_arg:]:
            if argv[2] == "user":
                parsed = _c_number(arg)
                if not arg or parsed is None or parsed[1] != len(arg):
                    return r.send(500, "Invalid id")
                ids.append(parsed[0] & 0xffffffff)
            else:
                ids.append(string_to_net_id(arg))
        if argv[2] == "user":
            if permission == PERMISSION_NONE:
                self.netd.clear_permission_for_users(ids)
            else:
                self.netd.set_permission_for_users(ids, permission)
            return r.send(200, "success")
        return self._result(r, self.netd.network_set_permission(ids, permission),
                            "setPermissionForNetworks() failed")

    def _network_users(self, r: _Reply, argv: list[str]) -> int:
        if len(argv) < 4:
            return r.send(500, "Missing argument")
        net_id = string_to_net_id(argv[3])
        for arg in argv[4:]:
            if not re.fullmatch(r"\d+(-\d+)?", arg):
                return r.send(500, "Invalid UIDs")
        if argv[2] not in ("add", "remove"):
            return r.send(500, "Unknown argument")
        message = "addUsersToNetwork() failed" if argv[2] == "add" else "removeUsersFromNetwork() failed"
        if net_id not in self.netd.networks:
            self.netd.log("E", "Netd", f"no such netId {net_id}", thread=_thread(self))
            return r.send(400, message, errno.ENONET)
        verb = "add users to" if argv[2] == "add" else "remove users from"
        self.netd.log("E", "Netd", f"cannot {verb} non-virtual network with netId {net_id}",
                      thread=_thread(self))
        return r.send(400, message, errno.EINVAL)

    def _network_protect(self, r: _Reply, argv: list[str]) -> int:
        if len(argv) < 4:
            return r.send(500, "Missing argument")
        if argv[2] not in ("allow", "deny"):
            return r.send(500, "Unknown argument")
        return r.send(200, "success")

    # -- resolver (text protocol only) --------------------------------------------------------------
    def _resolver(self, r: _Reply, argv: list[str]) -> int:
        if not self.netd.has_network_controller:
            return self._resolver_kitkat(r, argv)
        argc = len(argv)
        if argc < 3:
            return r.send(500, "Resolver missing arguments")
        net_id = string_to_net_id(argv[2])
        if argv[1] == "setnetdns":
            end = argc
            if end > 6 and argv[end - 2] == "--params":
                if not re.fullmatch(r"\s*\d+\s+\d+\s+\d+\s+\d+.*", argv[end - 1]):
                    return r.send(500, "Wrong number of or invalid arguments to resolver setnetdns")
                end -= 2
            if argc < 5 or self.netd.set_resolver_configuration(
                    net_id, argv[4:end], argv[3].split()) != 0:
                return r.send(500, "Wrong number of or invalid arguments to resolver setnetdns")
            return r.send(200, "Resolver command succeeded")
        if argv[1] == "clearnetdns":
            if argc != 3:
                return r.send(500, "Wrong number of arguments to resolver clearnetdns")
            self.netd.clear_resolver_configuration(net_id)
            return r.send(200, "Resolver command succeeded")
        return r.send(500, "Resolver unknown command")

    def _resolver_kitkat(self, r: _Reply, argv: list[str]) -> int:
        """4.4's per-interface resolver commands (setifdns, setdefaultif, flushif, ...)."""
        argc = len(argv)
        if argc < 2:
            return r.send(500, "Resolver missing arguments")
        expected = {"setdefaultif": 3, "flushdefaultif": 2, "flushif": 3}
        if argv[1] == "setifdns":
            if argc < 5:
                return r.send(500, "Wrong number of arguments to resolver setifdns")
        elif argv[1] in expected:
            if argc != expected[argv[1]]:
                return r.send(500, f"Wrong number of arguments to resolver {argv[1]}")
        else:
            return r.send(500, "Resolver unknown command")
        if argv[1] == "setifdns":
            self.netd.set_interface_dns(argv[2], argv[4:])
        elif argv[1] == "setdefaultif":
            self.netd.set_default_dns_interface(argv[2])
        return r.send(200, "Resolver command succeeded")

    # -- everything else ------------------------------------------------------------------------------
    def _stub(self, r: _Reply, argv: list[str]) -> int:
        if len(argv) < 2:
            return r.send(500, "Missing argument")
        if argv[0] == "ipfwd" and argv[1] == "status":
            return r.send(211, "Forwarding disabled")
        if argv[0] == "idletimer":
            texts = {"enable": "Enable success", "disable": "Disable success",
                     "add": "Add success", "remove": "Remove success"}
            if argv[1] in texts:
                return r.send(200, texts[argv[1]])
        code, text = _STUB_REPLIES[argv[0]]
        return r.send(code, text)


class NdcDispatcher:
    """Android 10+ `ndc`: the handlers over binder; sequence number always 0."""

    def __init__(self, netd: "Netd") -> None:
        self.listener = CommandListener(netd, binder=True)

    def dispatch(self, argv: list[str]) -> list[str]:
        reply = _Reply(None)
        if len(argv) >= CMD_ARGS_MAX:
            reply.send(500, "Command too long")
        self.listener.run(reply, argv)
        return reply.lines


def _as_c_int(value: int) -> int:
    """(int)strtol(...): keep the low 32 bits, signed."""
    value &= 0xffffffff
    return value - (1 << 32) if value >= 1 << 31 else value


def _thread(listener: CommandListener) -> str:
    return THREAD_BINDER if listener.binder else THREAD_COMMANDS
