"""A client for netd through the device's `ndc` tool.

ndc prints netd's replies (`<code> <seq> <message>`, seq 0 from the shell) and exits 0 even for
4xx/5xx replies, so success is read from the reply code, never from the exit status. On Android
<= 9 ndc talks to the text socket /dev/socket/netd (root:system 0660); on 10+ it is a binder
client of netd. Either way a shell that is not root cannot reach netd: this client says so up
front instead of failing with `Error connecting (Permission denied)`.
"""

from __future__ import annotations

from harness.device import CommandResult, Device
from harness.net import validate
from harness.net.capabilities import capabilities
from harness.net.errors import InvalidNetValue, NdcError, NdcUnavailable
from harness.parsers.ndc import NdcReply, NdcResult, ReplyClass, parse_ndc

NDC_TIMEOUT = 15.0
PERMISSIONS = ("NETWORK", "SYSTEM")


class Ndc:
    def __init__(self, device: Device, *, timeout: float = NDC_TIMEOUT, require_root: bool = True) -> None:
        self.device = device
        self.timeout = timeout
        self.require_root = require_root
        self._checked = False

    # -- the protocol ---------------------------------------------------------------------------
    def exchange(self, *words: object, check: bool = True) -> NdcResult:
        """Send one command; every reply line, parsed. check: 4xx/5xx raise NdcError."""
        self._ensure_usable()
        command = validate.shell_line("ndc", *(validate.ndc_word(w) for w in words))
        result = self.device.run(command, timeout=self.timeout)
        parsed = parse_ndc(result.stdout + result.stderr)
        final = parsed.final
        if final is None:
            raise self._no_reply(command, result, parsed)
        if check and final.kind in (ReplyClass.SERVER_ERROR, ReplyClass.CLIENT_ERROR):
            raise NdcError(f"netd refused `{' '.join(map(str, words))}`: {final.raw}", reply=final,
                           serial=self.device.serial, command=command, stdout=result.stdout,
                           stderr=result.stderr, exit_status=result.exit_status)
        return parsed

    def send(self, *words: object, check: bool = True) -> NdcReply:
        """Send one command; its final reply (2xx, or 4xx/5xx when check=False)."""
        final = self.exchange(*words, check=check).final
        assert final is not None            # exchange() raised otherwise
        return final

    def _ensure_usable(self) -> None:
        if self._checked:
            return
        caps = capabilities(self.device)
        if not caps.has("ndc"):
            raise NdcUnavailable(f"no ndc on {self.device.serial} (Android {caps.release})", serial=self.device.serial)
        if self.require_root and not self.device.is_root(timeout=self.timeout):
            raise NdcUnavailable(
                f"ndc needs root on {self.device.serial}: netd's "
                + ("socket /dev/socket/netd is root:system 0660" if caps.ndc_mode == "text" else "binder service is root-only")
                + "; call device.root() first", serial=self.device.serial)
        self._checked = True

    def _no_reply(self, command: str, result: CommandResult, parsed: NdcResult) -> Exception:
        notices = "; ".join(parsed.notices) or result.stdout.strip() or result.stderr.strip() or "no output"
        kind = NdcUnavailable if any(n.startswith(("Error connecting", "Unable to get binder", "/system/bin/sh"))
                                     for n in parsed.notices) else NdcError
        return kind(f"ndc gave no netd reply: {notices}", serial=self.device.serial, command=command,
                    stdout=result.stdout, stderr=result.stderr, exit_status=result.exit_status)

    # -- helpers (netd 8.1 CommandListener / 10+ NdcDispatcher command names) ----------------------
    def network_create(self, net_id: int, permission: str | None = None) -> NdcReply:
        words: list[object] = ["network", "create", validate.net_id(net_id)]
        if permission is not None:
            if permission not in PERMISSIONS:
                raise InvalidNetValue(f"permission {permission!r} is invalid: expected one of {PERMISSIONS}")
            words.append(permission)
        return self.send(*words)

    def network_destroy(self, net_id: int) -> NdcReply:
        return self.send("network", "destroy", validate.net_id(net_id))

    def interface_add(self, net_id: int, iface: str) -> NdcReply:
        return self.send("network", "interface", "add", validate.net_id(net_id), validate.interface_name(iface))

    def interface_remove(self, net_id: int, iface: str) -> NdcReply:
        return self.send("network", "interface", "remove", validate.net_id(net_id), validate.interface_name(iface))

    def default_set(self, net_id: int) -> NdcReply:
        return self.send("network", "default", "set", validate.net_id(net_id))

    def default_clear(self) -> NdcReply:
        return self.send("network", "default", "clear")

    def route_add(self, net_id: int, iface: str, destination: str, nexthop: str | None = None) -> NdcReply:
        """`network route add <netId> <iface> <dst/prefix> [<gateway>|unreachable|throw]`."""
        dest = validate.ipv4_destination(destination)
        words: list[object] = ["network", "route", "add", validate.net_id(net_id), validate.interface_name(iface),
                               "0.0.0.0/0" if dest == "default" else dest]
        if nexthop is not None:
            words.append(nexthop if nexthop in ("unreachable", "throw") else validate.ipv4_address(nexthop, "nexthop"))
        return self.send(*words)

    def list_interfaces(self) -> tuple[str, ...]:
        """`interface list`: the `110` lines, one per entry in /sys/class/net."""
        return self.exchange("interface", "list").interface_names
