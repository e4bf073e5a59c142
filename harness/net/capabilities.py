"""What a device's network tooling can do, probed once per Device object and cached.

Every probe is a plain shell command with its own timeout; a probe that fails leaves a note
(`DeviceCapabilities.notes`) instead of failing the whole probe, so a device with an odd build
still gets a usable answer and the report says what could not be learned.
"""

from __future__ import annotations

import dataclasses
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from harness.device import Device
from harness.errors import CommandTimeout, HarnessError
from harness.net import validate
from harness.net.commands import NetCommands
from harness.parsers.getprop import parse_getprop
from harness.parsers.ifconfig import parse_ifconfig

PROBE_TIMEOUT = 10.0
PROBED_TOOLS = ("ip", "ifconfig", "netcfg", "route", "ndc", "ping", "dumpsys", "su")
NETD_SOCKET = "/dev/socket/netd"
BINDER_NDC_SDK = 29                  # Android 10: CommandListener is gone, ndc is a binder client
NETD_NETWORKS_SDK = 21               # Android 5.0: netd NetworkController, per-network tables and rules
ETHERNET_IFACE = re.compile(r"^eth\d+$")   # AOSP config_ethernet_iface_regex default: eth\d
_CONTAINER_CGROUP = re.compile(r"docker|containerd|lxc|kubepods|libpod")

IfconfigStyle = Literal["toybox", "toolbox"]
NdcMode = Literal["text", "binder"]


@dataclass(frozen=True)
class DeviceCapabilities:
    serial: str
    release: str
    sdk: int
    root: bool                                   # commands ran as uid 0 when probed (adbd root or su)
    tools: Mapping[str, str] = field(default_factory=dict)   # tool -> path, for those found
    ifconfig_style: IfconfigStyle | None = None  # toybox (6+) or the legacy toolbox one (<= 5.1)
    ndc_mode: NdcMode | None = None              # text socket (<= 9) or binder (10+)
    netd_socket: bool = False
    ethernet_service: bool = False               # `dumpsys ethernet` answers
    interface: str | None = None                 # the Ethernet interface
    interface_source: str | None = None          # "given", "dumpsys ethernet", "interface list"
    container: str | None = None                 # "redroid", "docker", ... or None
    notes: tuple[str, ...] = ()                  # what could not be probed, and why

    def has(self, tool: str) -> bool:
        return tool in self.tools

    @property
    def netd_networks(self) -> bool:
        """netd keeps per-network routing tables and rules (Android 5.0+)."""
        return self.sdk >= NETD_NETWORKS_SDK

    @property
    def commands(self) -> NetCommands:
        return NetCommands(self)

    def summary(self) -> str:
        tools = ", ".join(f"{t}" + (f" ({self.ifconfig_style})" if t == "ifconfig" and self.ifconfig_style else "")
                          + (f" ({self.ndc_mode})" if t == "ndc" and self.ndc_mode else "") for t in self.tools)
        lines = [f"{self.serial}: Android {self.release} (sdk {self.sdk}), root={'yes' if self.root else 'no'}, "
                 f"container={self.container or 'no'}",
                 f"  tools: {tools or 'none'}",
                 f"  ethernet: {self.interface or 'not found'}"
                 + (f" (from {self.interface_source})" if self.interface_source else "")
                 + f", ethernet service={'yes' if self.ethernet_service else 'no'}"]
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


_cache: weakref.WeakKeyDictionary[Device, DeviceCapabilities] = weakref.WeakKeyDictionary()


def capabilities(device: Device, *, interface: str | None = None, refresh: bool = False,
                 timeout: float = PROBE_TIMEOUT) -> DeviceCapabilities:
    """The device's capabilities, probed on first use (or when `refresh`). A given `interface`
    (e.g. from the device profile) replaces the discovered one without probing again."""
    caps = _cache.get(device)
    if caps is None or refresh:
        caps = probe(device, interface=interface, timeout=timeout)
    elif interface is not None and caps.interface != interface:
        caps = dataclasses.replace(caps, interface=validate.interface_name(interface), interface_source="given")
    _cache[device] = caps
    return caps


def probe(device: Device, *, interface: str | None = None, timeout: float = PROBE_TIMEOUT) -> DeviceCapabilities:
    """Probe now, without the cache. `interface` (e.g. from the device profile) skips discovery."""
    if interface is not None:
        validate.interface_name(interface)
    notes: list[str] = []
    props = parse_getprop(device.run("getprop", timeout=timeout, check=True).stdout).properties
    sdk_text = props.get("ro.build.version.sdk", "")
    caps = DeviceCapabilities(serial=device.serial, release=props.get("ro.build.version.release", "?"),
                              sdk=int(sdk_text) if sdk_text.isdigit() else 0,
                              root=device.is_root(timeout=timeout), tools=_tools(device, timeout, notes))
    if caps.sdk == 0:
        notes.append("ro.build.version.sdk is missing: version-dependent choices assume the oldest tools")
    updates: dict[str, object] = {"container": _container(device, props, timeout)}
    if caps.has("ifconfig"):
        updates["ifconfig_style"] = _ifconfig_style(device, timeout, notes)
    if caps.has("ndc"):
        has_socket = _exists(device, NETD_SOCKET, timeout)
        updates["netd_socket"] = has_socket
        updates["ndc_mode"] = _ndc_mode(caps.sdk, has_socket)
        if 0 < caps.sdk < BINDER_NDC_SDK and not has_socket:
            notes.append(f"{NETD_SOCKET} is missing on Android {caps.release}: netd may not be running "
                         "(ndc will fail to connect)")
    tracked: str | None = None
    if caps.has("dumpsys"):
        updates["ethernet_service"], tracked = _ethernet_service(device, caps, timeout, notes)
    caps = dataclasses.replace(caps, **updates)
    if interface is not None:
        iface, source = interface, "given"
    elif tracked is not None:
        iface, source = tracked, "dumpsys ethernet"
    else:
        iface, source = _first_ethernet(device, caps, timeout, notes), "interface list"
    return dataclasses.replace(caps, interface=iface, interface_source=source if iface else None,
                               tools=MappingProxyType(dict(caps.tools)), notes=tuple(notes))


def _run(device: Device, command: str, timeout: float, notes: list[str]):
    try:
        return device.run(command, timeout=timeout)
    except CommandTimeout:
        notes.append(f"`{command}` did not answer within {timeout:g}s")
        return None


def _tools(device: Device, timeout: float, notes: list[str]) -> dict[str, str]:
    # One `command -v` per tool: mksh prints the path of each one it finds, nothing for the others.
    command = "; ".join(f"command -v {tool}" for tool in PROBED_TOOLS)
    result = _run(device, command, timeout, notes)
    found: dict[str, str] = {}
    if result is None:
        return found
    for line in result.stdout.splitlines():
        path = line.strip()
        name = path.rsplit("/", 1)[-1]
        if name in PROBED_TOOLS and name not in found:
            found[name] = path
    return found


def _ifconfig_style(device: Device, timeout: float, notes: list[str]) -> IfconfigStyle | None:
    """toybox prints `lo        Link encap:Local Loopback`, the toolbox `lo: ip 127.0.0.1 mask ...`."""
    result = _run(device, "ifconfig lo", timeout, notes)
    parsed = parse_ifconfig(result.stdout + result.stderr) if result is not None else None
    if parsed is None or not parsed.interfaces:
        notes.append("could not tell the ifconfig flavour from `ifconfig lo`")
        return None
    return "toolbox" if parsed.interfaces[0].style == "toolbox" else "toybox"


def _ndc_mode(sdk: int, netd_socket: bool) -> NdcMode:
    """Android 10 removed netd's text socket and made ndc a binder client. The release decides;
    only when it is unknown does the socket's presence."""
    if sdk >= BINDER_NDC_SDK:
        return "binder"
    if sdk > 0:
        return "text"
    return "text" if netd_socket else "binder"


def _exists(device: Device, path: str, timeout: float) -> bool:
    result = device.run(validate.shell_line("ls", path), timeout=timeout)
    return result.ok


def _ethernet_service(device: Device, caps: DeviceCapabilities, timeout: float,
                      notes: list[str]) -> tuple[bool, str | None]:
    """Whether `dumpsys ethernet` answers (no service before Android 5.0 on many builds), and the
    interface it tracks."""
    query = caps.commands.ethernet_dump()
    result = _run(device, query.command, timeout, notes)
    if result is None:
        return False, None
    parsed = query.parse(result)
    if not result.ok or parsed.errors or not (parsed.interfaces or parsed.tracking is not None):
        return False, None
    return True, parsed.interfaces[0].name if parsed.interfaces else None


def _first_ethernet(device: Device, caps: DeviceCapabilities, timeout: float, notes: list[str]) -> str | None:
    try:
        query = caps.commands.interfaces()
    except HarnessError as e:
        notes.append(f"cannot list interfaces: {e.message}")
        return None
    result = _run(device, query.command, min(timeout, query.timeout), notes)
    if result is None:
        return None
    names = sorted(n for n in query.parse(result) if ETHERNET_IFACE.match(n))
    if not names:
        notes.append("no interface named like eth<N>: give the Ethernet interface in the device profile")
    return names[0] if names else None


def _container(device: Device, props: Mapping[str, str], timeout: float) -> str | None:
    """redroid by its boot properties or product; other containers by init's cgroup."""
    if any(name.startswith("ro.boot.redroid") for name in props) or "redroid" in props.get("ro.product.name", ""):
        return "redroid"
    result = device.run("cat /proc/1/cgroup", timeout=timeout)
    match = _CONTAINER_CGROUP.search(result.stdout) if result.ok else None
    return match.group(0) if match else None
