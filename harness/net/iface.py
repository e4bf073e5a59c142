"""Interface control with a restore journal.

Every change first records what it is about to change (link state, IPv4 addresses, main-table
routes, properties) in a journal; `restore()` puts each back in reverse order and then checks
that the interface is as it was found. Used as a context manager, the restore runs even when the
test fails:

    with InterfaceControl(device, "eth0") as eth0:
        eth0.flap(count=3, down_s=0.5, up_s=2)
        ...

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


@dataclass(frozen=True)
class JournalEntry:
    """One change and the state before it. kind: link | addresses | routes | property."""

    action: str
    kind: str
    before: Any
    subject: str = ""            # the property name for kind=property


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

    def _main_routes(self, *, default_only: bool = False) -> tuple[RouteSpec, ...]:
        """Main-table routes through this interface that the kernel or `ip route add` put there
        (`proto kernel` routes come back by themselves with the address)."""
        if not self.caps.has("ip"):
            return ()
        query = self.commands.table_routes("main")
        routes = query.parse(self.device.run(query.command, timeout=query.timeout)).routes
        return tuple(RouteSpec.of(r, self.iface) for r in routes
                     if r.type == "unicast" and r.dev == self.iface and r.proto != "kernel"
                     and (r.is_default or not default_only) and (r.gateway is None or r.gateway.version == 4))

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
        self._record("addresses", f"set address {addr}", tuple(self.state().ipv4))
        self._change(self.commands.set_address(self.iface, addr))

    def clear_addresses(self) -> None:
        self._record("addresses", "clear IPv4 addresses", tuple(self.state().ipv4))
        self._change(self.commands.clear_addresses(self.iface))

    def set_default_route(self, gateway: str) -> None:
        """Default route via `gateway` on this interface in the main table (replacing one there)."""
        gw = validate.ipv4_address(gateway, "gateway")
        before = self._main_routes(default_only=True)
        wanted = RouteSpec("default", gw, self.iface)
        if wanted in before:
            return
        self._record("routes", f"default route via {gw}", before)
        for old in before:
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
        self.journal.append(JournalEntry(f"setprop {name} {value!r}", "property", self._property(name), name))
        self._change(command)

    def dhcp(self) -> None:
        """`netcfg <if> dhcp` (Android <= 5.1): addresses, routes and DNS properties may all change."""
        command = self.commands.dhcp(self.iface)
        self._record("addresses", "dhcp", tuple(self.state().ipv4))
        self._record("routes", "dhcp", self._main_routes())
        for name in DNS_PROPERTIES:
            self.journal.append(JournalEntry("dhcp", "property", self._property(name), name))
        self._change(command, timeout=max(self.timeout, 45.0))    # dhcpcd waits up to 30 s for a lease

    # -- journal ----------------------------------------------------------------------------------
    def _record(self, kind: str, action: str, before: Any) -> None:
        self.journal.append(JournalEntry(action, kind, before))

    def _record_link(self, action: str) -> None:
        # Taking a link down makes the kernel drop its routes; keep them to put back.
        state = self.state()
        self._record("link", action, (state.up, self._main_routes() if state.up else ()))

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

    def restore(self, verify: bool = True) -> None:
        """Undo every journalled change, newest first, then check the result. Errors on the way
        do not stop the other undos; they are reported together in one RestoreFailed."""
        problems: list[str] = []
        expected = self._original_state()
        for entry in reversed(self.journal):
            try:
                self._undo(entry)
            except HarnessError as e:
                problems.append(f"undo {entry.action!r}: {e.message}")
        self.journal.clear()
        if verify and expected:
            problems.extend(self._verify(expected))
        if problems:
            raise RestoreFailed(f"{self.iface} on {self.device.serial} was not fully restored: " + "; ".join(problems),
                                serial=self.device.serial)

    def _original_state(self) -> dict[tuple[str, str], Any]:
        """The oldest `before` of each kind (and property): what the device looked like first."""
        original: dict[tuple[str, str], Any] = {}
        for entry in self.journal:
            original.setdefault((entry.kind, entry.subject), entry.before)
        return original

    def _undo(self, entry: JournalEntry) -> None:
        if entry.kind == "link":
            was_up, routes = entry.before
            if self.state().up != was_up:
                self._change(self.commands.link(self.iface, was_up))
            self._put_back_routes(routes)
        elif entry.kind == "addresses":
            self._restore_addresses(entry.before)
        elif entry.kind == "routes":
            self._restore_routes(entry.before)
        elif entry.kind == "property":
            if self._property(entry.subject) != entry.before:
                self._change(self.commands.setprop(entry.subject, entry.before))

    def _restore_addresses(self, before: tuple[ipaddress.IPv4Interface, ...]) -> None:
        if set(self.state().ipv4) == set(before):
            return
        if not before:
            self._change(self.commands.clear_addresses(self.iface))
            return
        self._change(self.commands.set_address(self.iface, before[0]))
        for extra in before[1:]:
            self._change(self.commands.add_address(self.iface, extra))

    def _restore_routes(self, before: tuple[RouteSpec, ...]) -> None:
        current = self._main_routes()
        for route in current:
            if route not in before and route.destination == "default":
                self._change(self.commands.route("del", route.destination, route.dev, route.gateway))
        self._put_back_routes(before)

    def _put_back_routes(self, routes: tuple[RouteSpec, ...]) -> None:
        if not routes:
            return
        current = set(self._main_routes())
        for route in routes:
            if route not in current:
                self._change(self.commands.route("add", route.destination, route.dev, route.gateway))

    def _verify(self, expected: dict[tuple[str, str], Any]) -> list[str]:
        """Differences from the original state, re-read until none or verify_timeout."""
        deadline = time.monotonic() + self.verify_timeout
        while True:
            problems = self._differences(expected)
            if not problems or time.monotonic() >= deadline:
                return problems
            time.sleep(_VERIFY_POLL_S)

    def _differences(self, expected: dict[tuple[str, str], Any]) -> list[str]:
        problems = []
        state = self.state()
        props = None
        for (kind, subject), before in expected.items():
            if kind == "link" and state.up != before[0]:
                problems.append(f"link is {'up' if state.up else 'down'}, was {'up' if before[0] else 'down'}")
            elif kind == "link" and before[1] and (missing := set(before[1]) - set(self._main_routes())):
                problems.append("routes missing: " + ", ".join(map(str, sorted(missing, key=str))))
            elif kind == "addresses" and set(state.ipv4) != set(before):
                problems.append(f"IPv4 {_addresses(state.ipv4)}, was {_addresses(before)}")
            elif kind == "routes" and set(self._main_routes(default_only=True)) != {r for r in before
                                                                                   if r.destination == "default"}:
                problems.append("default route differs from before: " + ", ".join(map(str, before)) or "none")
            elif kind == "property":
                if props is None:
                    props = parse_getprop(self.device.run("getprop", timeout=self.timeout).stdout).properties
                if props.get(subject, "") != before:
                    problems.append(f"{subject}={props.get(subject, '')!r}, was {before!r}")
        return problems


def _addresses(addresses: tuple[ipaddress.IPv4Interface, ...]) -> str:
    return ", ".join(str(a) for a in addresses) or "none"
