"""Interface control with a restore journal.

Every change first records what it is about to change (link state, IPv4 addresses, main-table
routes, properties) in a journal; `restore()` puts each back in reverse order and then checks
that the interface is as it was found. Used as a context manager, the restore runs even when the
test fails:

    with InterfaceControl(device, "eth0") as eth0:
        eth0.flap(count=3, down_s=0.5, up_s=2)
        ...

The kernel deletes the routes through an interface when it goes down or loses the address that
made a gateway reachable, so link and address changes also keep the interface's main-table routes
and the restore puts back the ones that did not come back by themselves.

Changes need root on a real device (the kernel refuses SIOCSIFFLAGS to the shell user).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

from harness.device import CommandResult, Device
from harness.errors import HarnessError
from harness.net import validate
from harness.net.capabilities import DeviceCapabilities, capabilities
from harness.net.commands import InterfaceState, NetCommands, output_of
from harness.net.errors import InvalidNetValue, NetCommandFailed, RestoreFailed, ToolUnavailable
from harness.parsers.getprop import parse_getprop
from harness.parsers.ip import IpRoute

CHANGE_TIMEOUT = 15.0
DHCP_TIMEOUT = 45.0          # netcfg waits for dhcpcd, which gives a lease up to 30 s
VERIFY_TIMEOUT = 10.0        # after a restore, the framework may still be re-applying its own state
_VERIFY_POLL_S = 0.25
DNS_PROPERTIES = ("net.dns1", "net.dns2")


@dataclass(frozen=True)
class RouteSpec:
    """A main-table route the journal can put back: `ip route add <dest> [via <gw>] dev <if>`."""

    destination: str
    gateway: str | None
    dev: str

    @classmethod
    def of(cls, route: IpRoute, iface: str) -> RouteSpec:
        return cls(route.destination, str(route.gateway) if route.gateway else None, route.dev or iface)

    def __str__(self) -> str:
        return f"{self.destination}" + (f" via {self.gateway}" if self.gateway else "") + f" dev {self.dev}"


Routes = tuple[RouteSpec, ...]


# What a change is about to change, one kind per type.
@dataclass(frozen=True)
class LinkBefore:
    up: bool
    routes: Routes


@dataclass(frozen=True)
class AddressesBefore:
    ipv4: tuple[ipaddress.IPv4Interface, ...]
    routes: Routes


@dataclass(frozen=True)
class RoutesBefore:
    routes: Routes


@dataclass(frozen=True)
class PropertyBefore:
    name: str
    value: str


Before = LinkBefore | AddressesBefore | RoutesBefore | PropertyBefore
_KINDS = {LinkBefore: "link", AddressesBefore: "addresses", RoutesBefore: "routes", PropertyBefore: "property"}


@dataclass(frozen=True)
class JournalEntry:
    """One change and the state before it."""

    action: str
    before: Before

    @property
    def kind(self) -> str:
        return _KINDS[type(self.before)]

    @property
    def key(self) -> tuple[str, str]:
        """Entries with the same key change the same thing (each property is its own thing)."""
        return self.kind, self.before.name if isinstance(self.before, PropertyBefore) else ""


@dataclass
class InterfaceControl:
    device: Device
    iface: str | None = None
    timeout: float = CHANGE_TIMEOUT
    verify_timeout: float = VERIFY_TIMEOUT
    journal: list[JournalEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.caps: DeviceCapabilities = capabilities(self.device)
        name = self.iface or self.caps.interface
        if name is None:
            raise ToolUnavailable(f"no Ethernet interface found on {self.device.serial}: name one",
                                  serial=self.device.serial)
        self.iface = validate.interface_name(name)
        self.commands: NetCommands = self.caps.commands

    # -- context manager --------------------------------------------------------------------------
    def __enter__(self) -> InterfaceControl:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            self.restore()
        except HarnessError as restore_error:
            if exc is None:
                raise
            exc.add_note(f"restoring {self.iface} also failed: {restore_error}")

    # -- reading ----------------------------------------------------------------------------------
    def state(self) -> InterfaceState:
        query = self.commands.interface(self.iface)
        result = self.device.run(query.command, timeout=query.timeout)
        state = query.parse(result)
        if state is None:
            raise NetCommandFailed(f"{self.iface} does not exist on {self.device.serial}", serial=self.device.serial,
                                   command=result.cmd, stdout=result.stdout, stderr=result.stderr,
                                   exit_status=result.exit_status)
        return state

    def _main_routes(self) -> Routes:
        """Main-table IPv4 routes through this interface, except `proto kernel` ones (those come
        back by themselves with the address). Empty without `ip`: nothing to read them with."""
        if not self.caps.has("ip"):
            return ()
        query = self.commands.table_routes("main")
        routes = query.parse(self.device.run(query.command, timeout=query.timeout)).routes
        return tuple(RouteSpec.of(r, self.iface) for r in routes
                     if r.type == "unicast" and r.dev == self.iface and r.proto != "kernel"
                     and (r.gateway is None or r.gateway.version == 4))

    def _property(self, name: str) -> str:
        return self.device.run(validate.shell_line("getprop", validate.prop_name(name)), timeout=self.timeout).text

    # -- changes ----------------------------------------------------------------------------------
    def up(self) -> None:
        self._record_link("up")
        self._change(self.commands.link(self.iface, True))

    def down(self) -> None:
        self._record_link("down")
        self._change(self.commands.link(self.iface, False))

    def toggle(self) -> bool:
        """Flip the administrative state; returns the new state (True = up)."""
        if self.state().up:
            self.down()
            return False
        self.up()
        return True

    def flap(self, count: int = 1, down_s: float = 0.5, up_s: float = 0.5) -> None:
        """`count` down/up cycles in one on-device command (timing independent of adb)."""
        command = self.commands.flap(self.iface, count, down_s, up_s)
        self._record_link(f"flap x{count} ({down_s:g}s down, {up_s:g}s up)")
        self._change(command, timeout=self.timeout + count * (down_s + up_s))

    def set_address(self, address: ipaddress.IPv4Interface | str) -> None:
        """Make `address` (with prefix, e.g. 172.17.0.9/16) the interface's only IPv4 address.
        Where the Ethernet service runs DHCP it sees provisioning lost and may put its own
        address back within seconds: that is the framework's doing, not a failed change."""
        addr = validate.ipv4_interface(address)
        self._record_addresses(f"set address {addr}")
        self._change(self.commands.set_address(self.iface, addr))

    def clear_addresses(self) -> None:
        self._record_addresses("clear IPv4 addresses")
        self._change(self.commands.clear_addresses(self.iface))

    def set_default_route(self, gateway: str) -> None:
        """Default route via `gateway` on this interface in the main table (replacing one there)."""
        gw = validate.ipv4_address(gateway, "gateway")
        before = self._main_routes()
        defaults = [r for r in before if r.destination == "default"]
        if RouteSpec("default", gw, self.iface) in defaults:
            return
        self.journal.append(JournalEntry(f"default route via {gw}", RoutesBefore(before)))
        for old in defaults:
            self._change(self.commands.route("del", old.destination, old.dev, old.gateway))
        self._change(self.commands.route("add", "default", self.iface, gw))

    def set_dns(self, *servers: str) -> None:
        """net.dns1, net.dns2 (what resolvers read before Android 12 when the network sets none).
        A slot without a server is emptied only if it holds one: properties cannot be deleted,
        so creating an empty one would be a change that no restore can undo."""
        if not 1 <= len(servers) <= len(DNS_PROPERTIES):
            raise InvalidNetValue(f"expected 1-{len(DNS_PROPERTIES)} DNS servers, got {len(servers)}")
        values = [validate.ipv4_address(s, "DNS server") for s in servers]
        for name, value in zip(DNS_PROPERTIES, values):
            self.set_property(name, value)
        for name in DNS_PROPERTIES[len(values):]:
            if self._property(name):
                self.set_property(name, "")

    def set_property(self, name: str, value: str) -> None:
        command = self.commands.setprop(name, value)
        self._record_property(f"setprop {name} {value!r}", name)
        self._change(command)

    def dhcp(self) -> None:
        """`netcfg <if> dhcp` (Android <= 5.1): addresses, routes and DNS properties may all change."""
        command = self.commands.dhcp(self.iface)
        self._record_addresses("dhcp")
        # dhcpcd's result lands in dhcp.<if>.* and the framework copies its DNS to these.
        for name in (*DNS_PROPERTIES, f"net.{self.iface}.dns1", f"net.{self.iface}.dns2"):
            self._record_property("dhcp", name)
        self._change(command, timeout=max(self.timeout, DHCP_TIMEOUT))

    # -- journal ----------------------------------------------------------------------------------
    def _record_link(self, action: str) -> None:
        state = self.state()
        self.journal.append(JournalEntry(action, LinkBefore(state.up, self._main_routes() if state.up else ())))

    def _record_addresses(self, action: str) -> None:
        self.journal.append(JournalEntry(action, AddressesBefore(tuple(self.state().ipv4), self._main_routes())))

    def _record_property(self, action: str, name: str) -> None:
        self.journal.append(JournalEntry(action, PropertyBefore(name, self._property(name))))

    def _change(self, command: str, timeout: float | None = None) -> CommandResult:
        result = self.device.run(command, timeout=timeout or self.timeout)
        # toolbox/toybox tools may print an error and still exit 0; ip prints RTNETLINK answers.
        complaint = output_of(result).strip()
        if not result.ok or (complaint and not command.startswith("setprop")):
            hint = "" if self.caps.root else " (the shell is not root: call device.root() first)"
            raise NetCommandFailed(f"`{command}` failed on {self.device.serial}{hint}", serial=self.device.serial,
                                   command=command, exit_status=result.exit_status, stdout=result.stdout,
                                   stderr=result.stderr)
        return result

    # -- restore ----------------------------------------------------------------------------------
    def restore(self, verify: bool = True) -> None:
        """Undo every journalled change, newest first; then bring the interface's main-table
        routes back to the first recorded set (retrying while the framework re-provisions the
        address that makes a gateway reachable) and check the result. Errors on the way do not
        stop the other undos; they are reported together in one RestoreFailed."""
        problems: list[str] = []
        original: dict[tuple[str, str], Before] = {}
        for entry in self.journal:                 # the oldest `before` of each thing: how it was found
            original.setdefault(entry.key, entry.before)
        # Link, address and route changes all record the routes; the first record is the original.
        routes = next((e.before.routes for e in self.journal if not isinstance(e.before, PropertyBefore)), None)
        for entry in reversed(self.journal):
            try:
                self._undo(entry.before)
            except HarnessError as e:
                problems.append(f"undo {entry.action!r}: {e.message}")
        self.journal.clear()
        deadline = time.monotonic() + self.verify_timeout
        if routes is not None and self.caps.has("ip"):
            problems.extend(self._settle_routes(routes, deadline))
        if verify and original:
            problems.extend(self._verify(tuple(original.values()), deadline))
        if problems:
            raise RestoreFailed(f"{self.iface} on {self.device.serial} was not fully restored: " + "; ".join(problems),
                                serial=self.device.serial)

    def _undo(self, before: Before) -> None:
        if isinstance(before, LinkBefore):
            if self.state().up != before.up:
                self._change(self.commands.link(self.iface, before.up))
        elif isinstance(before, AddressesBefore):
            self._restore_addresses(before.ipv4)
        elif isinstance(before, PropertyBefore):
            if self._property(before.name) != before.value:
                self._change(self.commands.setprop(before.name, before.value))
        # RoutesBefore: routes are settled once, after every undo (see restore()).

    def _restore_addresses(self, ipv4: tuple[ipaddress.IPv4Interface, ...]) -> None:
        if set(self.state().ipv4) == set(ipv4):
            return
        if not ipv4:
            self._change(self.commands.clear_addresses(self.iface))
            return
        self._change(self.commands.set_address(self.iface, ipv4[0]))
        for extra in ipv4[1:]:
            self._change(self.commands.add_address(self.iface, extra))

    def _settle_routes(self, routes: Routes, deadline: float) -> list[str]:
        """Delete default routes that were not there, add back the missing ones. A gateway is
        unreachable until its subnet's address is back, which the framework may do a little
        later: retry until the deadline, then report what is still wrong."""
        while True:
            current = self._main_routes()
            extra = [r for r in current if r.destination == "default" and r not in routes]
            missing = [r for r in routes if r not in current]
            if not extra and not missing:
                return []
            errors = []
            for route, action in [(r, "del") for r in extra] + [(r, "add") for r in missing]:
                try:
                    self._change(self.commands.route(action, route.destination, route.dev, route.gateway))
                except NetCommandFailed as e:
                    errors.append(f"{action} {route}: {(e.evidence.stderr or e.evidence.stdout).strip() or e.message}")
            if not errors:
                continue
            if time.monotonic() >= deadline:
                return ["routes not restored: " + "; ".join(errors)]
            time.sleep(_VERIFY_POLL_S)

    def _verify(self, original: tuple[Before, ...], deadline: float) -> list[str]:
        """Differences from the original state, re-read until none or the deadline."""
        while True:
            problems = self._differences(original)
            if not problems or time.monotonic() >= deadline:
                return problems
            time.sleep(_VERIFY_POLL_S)

    def _differences(self, original: tuple[Before, ...]) -> list[str]:
        problems: list[str] = []
        state = self.state()
        for before in original:
            if isinstance(before, LinkBefore) and state.up != before.up:
                problems.append(f"link is {_updown(state.up)}, was {_updown(before.up)}")
            if isinstance(before, AddressesBefore) and set(state.ipv4) != set(before.ipv4):
                problems.append(f"IPv4 {_addresses(state.ipv4)}, was {_addresses(before.ipv4)}")
        properties = [b for b in original if isinstance(b, PropertyBefore)]
        if properties:
            props = parse_getprop(self.device.run("getprop", timeout=self.timeout).stdout).properties
            problems.extend(f"{b.name}={props.get(b.name, '')!r}, was {b.value!r}" for b in properties
                            if props.get(b.name, "") != b.value)
        return problems


def _updown(up: bool) -> str:
    return "up" if up else "down"


def _addresses(addresses: tuple[ipaddress.IPv4Interface, ...]) -> str:
    return ", ".join(str(a) for a in addresses) or "none"
