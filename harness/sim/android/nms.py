"""NetworkManagementService and its NativeDaemonConnector: system_server's way to netd.

Android <= 9 (android-net.md §1.7): every NMS call is a text command on /dev/socket/netd,
`"<seq> <cmd> <args>"`, with one sequence counter for the whole system_server life starting at
1. netd executes commands one at a time in arrival order (`NetdSocket`), so a command waits for
the ones ahead of it. A 4xx reply throws `IllegalStateException`, a 5xx one
`IllegalArgumentException`, both with the message
`command '30 network interface add 101 eth0' failed with '400 30 addInterfaceToNetwork() failed (Device or resource busy)'`.
Every command and reply goes to the connector's LocalLog (160 lines) that
`dumpsys network_management` prints; unsolicited 6xx events are dispatched on NMS's callback
thread to the registered observers (Ethernet, IpManager's NetlinkTracker).

Android 10+ reaches netd over binder (`INetd`), whose failures are ServiceSpecificException
(`Device or resource busy (code 16)`); `binder_call` models one such call.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from harness.sim.android.handler import Blocking, Looper
from harness.sim.android.kernel import KernelError, strerror

if TYPE_CHECKING:
    from harness.sim.android.system import AndroidSystem

LOCAL_LOG_LINES = 160
SLOW_COMMAND_S = 0.5
NETWORK_COMMANDS = ("network",)


class JavaException(Exception):
    """A Java exception as system_server code sees and logs it (`toString()`)."""

    def __init__(self, java_class: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.java_class = java_class
        self.message = message          # getMessage()
        self.code = code                # ServiceSpecificException.errorCode

    def __str__(self) -> str:
        suffix = f" (code {self.code})" if self.code is not None else ""
        return f"{self.java_class}: {self.message}{suffix}"


def service_specific(errno_value: int) -> JavaException:
    """android.os.ServiceSpecificException as thrown for netd's `-errno` (10+)."""
    return JavaException("android.os.ServiceSpecificException", strerror(errno_value), errno_value)


def quote_arg(arg: str) -> str:
    """NativeDaemonConnector.appendEscaped: quote args with spaces, escape `\\` and `"`."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"' if " " in arg else escaped


class NetdSocket:
    """The netd side of the socket: one CommandListener thread, commands in arrival order."""

    def __init__(self, system: "AndroidSystem") -> None:
        self.system = system
        self.busy_until = 0.0

    def call(self, line: str, network_command: bool) -> Blocking:
        system = self.system
        now = system.now()
        start = max(now + system.sample("socket_ms"), self.busy_until)
        cost = system.sample("netd_network_ms" if network_command else "netd_command_ms")
        self.busy_until = start + cost
        yield start - now
        netd = system.netd
        lines = netd.command(line) if netd is not None and netd.running else None
        yield cost + system.sample("socket_ms")
        return lines


@dataclass(frozen=True)
class InterfaceConfiguration:
    hardware_address: str
    address: ipaddress.IPv4Interface
    flags: tuple[str, ...]

    def has_flag(self, flag: str) -> bool:
        return flag in self.flags


@dataclass(frozen=True)
class LocalLogLine:
    time: float
    text: str


class NativeDaemonConnector:
    def __init__(self, system: "AndroidSystem", tag: str = "NetdConnector") -> None:
        self.system = system
        self.tag = tag
        self.sequence = 0
        self.local_log: deque[LocalLogLine] = deque(maxlen=LOCAL_LOG_LINES)
        self.socket = NetdSocket(system)

    def log(self, text: str) -> None:
        self.local_log.append(LocalLogLine(self.system.now(), text))

    def execute(self, *args: Any) -> Blocking:
        """executeForList(): all reply lines; raises JavaException on a 4xx/5xx final line."""
        self.sequence += 1
        seq = self.sequence
        words = [str(a) for a in args]
        command = " ".join([str(seq)] + [quote_arg(w) for w in words])
        self.log(f"SND -> {{{command}}}")
        started = self.system.now()
        lines = yield from self.socket.call(command, words[0] in NETWORK_COMMANDS)
        if lines is None:
            raise JavaException("java.lang.IllegalStateException", "missing output stream")
        for line in lines:
            self.log(f"RCV <- {{{line}}}")
        took = self.system.now() - started
        if took > SLOW_COMMAND_S:
            self.system.log("system_server", "E", self.tag,
                            f"NDC Command {{{command}}} took too long ({int(took * 1000)}ms)",
                            thread="NetdConnector", buffer="system")
        final = lines[-1]
        code = int(final.split(" ", 1)[0])
        if code >= 400:
            kind = "java.lang.IllegalStateException" if code < 500 else "java.lang.IllegalArgumentException"
            raise JavaException(kind, f"command '{command}' failed with '{final}'")
        return lines


def binder_call(system: "AndroidSystem", method: str, *args: Any) -> Blocking:
    """One INetd call by name: its result; -errno returns and KernelErrors become
    ServiceSpecificException, a dead netd DeadObjectException."""
    yield system.sample("binder_ms")
    netd = system.netd
    if netd is None or not netd.running:
        raise JavaException("android.os.DeadObjectException", "Transaction failed on small parcel; remote process probably died")
    try:
        ret = getattr(netd, method)(*args)
    except KernelError as err:
        raise service_specific(err.errno) from None
    if isinstance(ret, int) and ret < 0:
        raise service_specific(-ret)
    return ret


class NetworkObserver:
    """INetworkManagementEventObserver with every callback a no-op, as Android's
    BaseNetworkObserver: observers override only what they listen to."""

    def interface_link_state_changed(self, iface: str, up: bool) -> None:
        pass

    def interface_added(self, iface: str) -> None:
        pass

    def interface_removed(self, iface: str) -> None:
        pass

    def address_updated(self, iface: str, address: str) -> None:
        pass

    def address_removed(self, iface: str, address: str) -> None:
        pass

    def route_updated(self, iface: str, destination: str, gateway: str | None) -> None:
        pass

    def route_removed(self, iface: str, destination: str, gateway: str | None) -> None:
        pass


class NetworkManagementService:
    TAG = "NetworkManagement"

    def __init__(self, system: "AndroidSystem") -> None:
        self.system = system
        self.connector = NativeDaemonConnector(system)
        self.events = Looper(system, "system_server", "android.fg", system.timing.nms_event_ms)
        self.observers: list[NetworkObserver] = []
        self.connected = False
        self._unsubscribe: Callable[[], None] | None = None
        self.bandwidth_control = False

    # -- connection to netd -------------------------------------------------------------------
    def connect(self) -> None:
        """NativeDaemonConnector connects to /dev/socket/netd (or netd's binder on 10+)."""
        netd = self.system.netd
        if netd is None or not netd.running or self.connected:
            return
        self.connected = True
        self._unsubscribe = netd.subscribe(self._on_broadcast)
        self.system.log("system_server", "I", self.TAG, "onDaemonConnected()", thread="NetdConnector",
                        buffer="system")

    def disconnected(self) -> None:
        """netd went away: the socket read fails; the connector retries every 5 s."""
        if not self.connected:
            return
        self.connected = False
        self._unsubscribe = None
        self.system.log("system_server", "E", self.connector.tag,
                        "Communications error: java.io.IOException: No such file or directory",
                        thread="NetdConnector", buffer="system")

    def kill(self) -> None:
        self.events.quit()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.connected = False

    def prepare_native_daemon(self) -> Blocking:
        """NMS.systemReady(): enable what netd supports and push the initial rules."""
        log = self.system.log
        log("system_server", "I", self.TAG, "not enabling bandwidth control", buffer="system")
        self.system.device.props.set("net.qtaguid_enabled", "0")
        if self.binder:      # 10+: the same set-up goes over INetd, nothing on a socket
            yield self.system.sample("binder_ms")
            return
        if self.system.sdk < 21:     # KitKat: no strict mode; setFirewallEnabled(false)
            yield from self.execute("firewall", "disable")
            return
        yield from self.execute("strict", "enable")
        log("system_server", "W", self.TAG, "setDataSaverMode(): already false", buffer="system")
        yield from self.execute("firewall", "enable", "blacklist")

    def execute(self, *args: Any) -> Blocking:
        if self.system.sdk >= 29:
            raise RuntimeError("Android 10+ system_server has no NativeDaemonConnector to netd")
        return (yield from self.connector.execute(*args))

    # -- unsolicited events -------------------------------------------------------------------
    def register_observer(self, observer: NetworkObserver) -> None:
        if observer not in self.observers:
            self.observers.append(observer)

    def unregister_observer(self, observer: NetworkObserver) -> None:
        if observer in self.observers:
            self.observers.remove(observer)

    def _on_broadcast(self, line: str) -> None:
        """netd broadcast a 6xx line: it crosses the socket, then NMS's callback thread runs."""
        if self.system.sdk < 29:
            self.connector.log(f"RCV <- {{{line}}}")
        self.events.post(self._dispatch_event, line, what="event", delay=self.system.sample("socket_ms"))

    def _dispatch_event(self, line: str) -> None:
        words = line.split()
        code, rest = words[0], words[1:]
        for observer in list(self.observers):
            if code == "600" and len(rest) >= 3 and rest[0] == "Iface":
                if rest[1] == "linkstate" and len(rest) >= 4:
                    observer.interface_link_state_changed(rest[2], rest[3] == "up")
                elif rest[1] == "added":
                    observer.interface_added(rest[2])
                elif rest[1] == "removed":
                    observer.interface_removed(rest[2])
            elif code == "614" and len(rest) >= 4 and rest[0] == "Address":
                if rest[1] == "updated":
                    observer.address_updated(rest[3], rest[2])
                elif rest[1] == "removed":
                    observer.address_removed(rest[3], rest[2])
            elif code == "616" and len(rest) >= 3 and rest[0] == "Route":
                destination, gateway, iface = rest[2], None, None
                tail = rest[3:]
                if "via" in tail:
                    gateway = tail[tail.index("via") + 1]
                if "dev" in tail:
                    iface = tail[tail.index("dev") + 1]
                if iface is not None:
                    if rest[1] == "updated":
                        observer.route_updated(iface, destination, gateway)
                    else:
                        observer.route_removed(iface, destination, gateway)

    # -- INetworkManagementService calls used by the Ethernet service, IpManager and CS --------
    # <= 9: text commands; 10+: the same operations as INetd binder calls.
    @property
    def binder(self) -> bool:
        return self.system.sdk >= 29

    def _call(self, method: str, *args: Any) -> Blocking:
        return (yield from binder_call(self.system, method, *args))

    def list_interfaces(self) -> Blocking:
        if self.binder:
            return (yield from self._call("interface_list"))
        lines = yield from self.execute("interface", "list")
        return [line.split(" ", 2)[2] for line in lines if line.startswith("110 ")]

    def get_interface_config(self, iface: str) -> Blocking:
        """InterfaceConfiguration from `interface getcfg` (INetd.interfaceGetCfg on 10+)."""
        if self.binder:
            config = yield from self._call("interface_get_cfg", iface)
            return InterfaceConfiguration(config.hw_addr, ipaddress.IPv4Interface(
                f"{config.ipv4}/{config.prefix_length}"), tuple(config.flags))
        lines = yield from self.execute("interface", "getcfg", iface)
        words = lines[-1].split()
        return InterfaceConfiguration(words[2], ipaddress.IPv4Interface(f"{words[3]}/{words[4]}"),
                                      tuple(words[5:]))

    def set_interface_config(self, iface: str, address: str, prefix: int, flags: list[str]) -> Blocking:
        if self.binder:
            return (yield from self._call("interface_set_cfg", iface, address, prefix, flags))
        return (yield from self.execute("interface", "setcfg", iface, address, prefix, *flags))

    def set_interface_up(self, iface: str) -> Blocking:
        """getcfg, then setcfg with `up` replacing `down` (InterfaceConfiguration.setInterfaceUp)."""
        config = yield from self.get_interface_config(iface)
        flags = ["up" if f == "down" else f for f in config.flags]
        if "up" not in flags:
            flags.insert(0, "up")
        yield from self.set_interface_config(iface, str(config.address.ip),
                                             config.address.network.prefixlen, flags)

    def clear_interface_addresses(self, iface: str) -> Blocking:
        if self.binder:
            return (yield from self._call("interface_clear_addrs", iface))
        return (yield from self.execute("interface", "clearaddrs", iface))

    def enable_ipv6(self, iface: str, enable: bool) -> Blocking:
        if self.binder:
            return (yield from self._call("interface_set_ipv6", iface, enable))
        return (yield from self.execute("interface", "ipv6", iface, "enable" if enable else "disable"))

    def set_ipv6_privacy_extensions(self, iface: str, enable: bool) -> Blocking:
        if self.binder:
            return (yield from self._call("interface_check_exists", iface))
        return (yield from self.execute("interface", "ipv6privacyextensions", iface,
                                        "enable" if enable else "disable"))

    def create_physical_network(self, net_id: int) -> Blocking:
        if self.binder:
            return (yield from self._call("network_create_physical", net_id))
        return (yield from self.execute("network", "create", net_id))

    def remove_network(self, net_id: int) -> Blocking:
        if self.binder:
            return (yield from self._call("network_destroy", net_id))
        return (yield from self.execute("network", "destroy", net_id))

    def add_interface_to_network(self, iface: str, net_id: int) -> Blocking:
        if self.binder:
            return (yield from self._call("network_add_interface", net_id, iface))
        return (yield from self.execute("network", "interface", "add", net_id, iface))

    def add_route(self, net_id: int, iface: str, destination: str, gateway: str | None) -> Blocking:
        if self.binder:
            return (yield from self._call("network_add_route", net_id, iface, destination, gateway))
        args = ["network", "route", "add", net_id, iface, destination]
        if gateway is not None:
            args.append(gateway)
        return (yield from self.execute(*args))

    def set_default_net_id(self, net_id: int) -> Blocking:
        if self.binder:
            return (yield from self._call("network_set_default", net_id))
        return (yield from self.execute("network", "default", "set", net_id))

    def set_dns_configuration_for_network(self, net_id: int, servers: list[str],
                                          domains: str | None) -> Blocking:
        """Binder INetd.setResolverConfiguration (7.1+), not a text command."""
        return (yield from self._call("set_resolver_configuration", net_id, servers,
                                      domains.split() if domains else []))

    # -- dumpsys network_management -----------------------------------------------------------
    def dump(self, wall_clock: Callable[[float], str]) -> str:
        lines: list[str] = []
        if not self.binder:
            lines = ["NetworkManagementService NativeDaemonConnector Log:"]
            lines += [f"{wall_clock(entry.time)} - {entry.text}" for entry in self.connector.local_log]
            lines += ["", "Pending requests:", ""]
        lines += [
                  f"Bandwidth control enabled: {str(self.bandwidth_control).lower()}",
                  "mMobileActivityFromRadio=false mLastPowerStateFromRadio=1",
                  "mNetworkActive=false",
                  "Active quota ifaces: {}",
                  "Active alert ifaces: {}",
                  "Data saver mode: false",
                  "UID bandwith control blacklist rule: []",
                  "UID bandwith control whitelist rule: []",
                  "UID firewall  rule: []",
                  "UID firewall standby chain enabled: false",
                  "UID firewall standby rule: []",
                  "UID firewall dozable chain enabled: false",
                  "UID firewall dozable rule: []",
                  "UID firewall powersave chain enabled: false",
                  "UID firewall powersave rule: []",
                  "Idle timers:",
                  "Firewall enabled: false",
                  "Netd service status: " + ("alive" if self.connected else "disconnected")]
        return "\n".join(lines) + "\n"
