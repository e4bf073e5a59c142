"""The farm's devices: discovered on every adb server, each probed once at start.

    spec = load_farm("farms/lab.yaml")            # harness.farm.spec: the YAML, validated
    inventory = discover(spec)                    # adb connect TCP devices, host:devices-l per server,
                                                  # profile, build and capabilities of each online device
    inventory.devices                             # FarmDevice per (server, serial), listing order
    inventory.units()                             # what leases hand out: groups, then single devices

Discovery asks each server for `host:devices-l` after connecting the farm's TCP devices to it, so
USB devices and emulators a host serves are found too. A device is identified by its server and
serial together (`serial@host:port`): two hosts may both have an `emulator-5554`. Probing
(build properties, harness.net.capabilities) runs in a thread per device, each call with its
timeout; a device that cannot be probed is listed with the reason instead of failing the farm.
The inventory is plain data (`to_json`/`from_json`): the xdist controller hands it to workers.
"""

from __future__ import annotations

import fnmatch
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.adb_server import AdbServer
from harness.adb_server import AdbServerError as ServerCallError
from harness.device import Device
from harness.errors import HarnessError
from harness.farm.spec import AdbServerSpec, FarmSpec, TcpDeviceSpec
from harness.net.capabilities import DeviceCapabilities, capabilities
from harness.profiles import PROFILE_DIR, DeviceProfile, load_profile, load_profiles, match_profile
from harness.yamlcheck import ConfigError

CONNECT_TIMEOUT = 12.0        # `adb connect` answers within 10 s (adb-protocol.md 1.9)
LIST_TIMEOUT = 10.0
PROBE_TIMEOUT = 10.0
MAX_PROBE_THREADS = 16
_LISTING_KEYS = ("usb:", "product:", "model:", "device:", "transport_id:")


@dataclass(frozen=True)
class ContainerInfo:
    """How a device's container is restarted: the host's runtime and the container's name."""
    runtime: str                      # docker | podman | sim
    host: str                         # the container_hosts name
    url: str | None = None            # docker/podman runtime URL
    control: str | None = None        # sim: HOST:PORT of the farm's control channel
    name: str | None = None           # docker/podman container name


@dataclass(frozen=True)
class FarmDevice:
    serial: str
    server: str                       # HOST:PORT of the adb server that serves it
    state: str                        # adb state when discovered: device, offline, unauthorized, absent...
    model: str = ""
    release: str = ""
    sdk: int = 0
    profile: str | None = None        # profile name or path
    capabilities: tuple[str, ...] = ()
    container: ContainerInfo | None = None
    group: str | None = None
    excluded: bool = False
    problem: str | None = None        # why it is not usable (not online, probe failed)

    @property
    def id(self) -> str:
        return f"{self.serial}@{self.server}"

    @property
    def usable(self) -> bool:
        return self.state == "device" and not self.excluded and self.problem is None

    def device(self, default_timeout: float | None = None) -> Device:
        """A harness Device for it (no adb call is made)."""
        kwargs = {"default_timeout": default_timeout} if default_timeout else {}
        return Device(self.serial, AdbServer.attach(self.server), profile=self.profile, **kwargs)


@dataclass(frozen=True)
class LeaseUnit:
    """What one lease hands out: one device, or a declared group leased together."""
    name: str
    devices: tuple[FarmDevice, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.devices)


@dataclass(frozen=True)
class Inventory:
    name: str
    devices: tuple[FarmDevice, ...]
    problems: tuple[str, ...] = ()            # servers that did not answer, connects that failed
    settings: dict[str, Any] = field(default_factory=dict)   # the spec's leases and health sections

    def find(self, device_id: str) -> FarmDevice | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def units(self) -> list[LeaseUnit]:
        """Lease units of the usable devices: each group whose members are all usable, then every
        usable device that is in no group."""
        usable = [d for d in self.devices if d.usable]
        groups: dict[str, list[FarmDevice]] = {}
        for device in self.devices:
            if device.group is not None:
                groups.setdefault(device.group, []).append(device)
        units = [LeaseUnit(name, tuple(members)) for name, members in groups.items()
                 if all(m.usable for m in members)]
        units += [LeaseUnit(d.id, (d,)) for d in usable if d.group is None]
        return units

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "problems": list(self.problems), "settings": self.settings,
                "devices": [asdict(d) for d in self.devices]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inventory:
        devices = []
        for raw in data["devices"]:
            container = ContainerInfo(**raw["container"]) if raw.get("container") else None
            devices.append(FarmDevice(**{**raw, "container": container,
                                         "capabilities": tuple(raw.get("capabilities", ()))}))
        return cls(data["name"], tuple(devices), tuple(data.get("problems", ())), dict(data.get("settings", {})))


# -- discovery ------------------------------------------------------------------------------------

def parse_devices_l(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """`host:devices-l` lines -> (serial, state, {product, model, device, transport_id, usb}).

    adb pads the serial to 22 columns, then the state (which may contain spaces, e.g. `no
    permissions (...)`), then `key:value` words."""
    entries = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        attributes = {w.split(":", 1)[0]: w.split(":", 1)[1] for w in words[1:] if w.startswith(_LISTING_KEYS)}
        state = " ".join(w for w in words[1:] if not w.startswith(_LISTING_KEYS))
        entries.append((words[0], state, attributes))
    return entries


def list_devices(server: str, timeout: float = LIST_TIMEOUT) -> list[tuple[str, str, dict[str, str]]]:
    with AdbServer.attach(server).client().make_connection(timeout=timeout) as conn:
        conn.send_command("host:devices-l")
        conn.check_okay()
        return parse_devices_l(conn.read_string_block())


def discover(spec: FarmSpec, *, probe: bool = True, connect_timeout: float = CONNECT_TIMEOUT) -> Inventory:
    """Connect the TCP devices, list every server, resolve profiles and probe the online devices."""
    problems: list[str] = []
    if spec.tcp_devices:
        with ThreadPoolExecutor(max_workers=min(MAX_PROBE_THREADS, len(spec.tcp_devices))) as pool:
            answers = pool.map(lambda tcp: _connect(spec, tcp, connect_timeout), spec.tcp_devices)
            problems += [problem for problem in answers if problem]
    found: list[FarmDevice] = []
    unreachable: set[str] = set()
    for server in spec.adb_servers:
        try:
            listing = list_devices(server.address)
        except Exception as e:       # adbutils and sockets raise many kinds: the server is unusable either way
            where = f"{server.name} ({server.address})" if server.name else server.address
            problems.append(f"adb server {where} did not list its devices: {type(e).__name__}: {e}")
            unreachable.add(server.address)
            continue
        found += [_listed(spec, server.address, serial, state) for serial, state, _ in listing]
    known = {(d.server, d.serial) for d in found}
    for tcp in spec.tcp_devices:        # a TCP device its (answering) server does not list: name it
        address = _server_of(spec, tcp).address
        if (address, tcp.address) not in known and address not in unreachable:
            found.append(_listed(spec, address, tcp.address, "absent"))
    devices = _probe_all(spec, found) if probe else found
    missing = {s for g in spec.groups for s in g.devices} - {d.serial for d in devices}
    problems += [f"group member {s} was not found on any adb server" for s in sorted(missing)]
    settings = {"leases": spec.leases.model_dump(), "health": spec.health.model_dump()}
    return Inventory(spec.name, tuple(devices), tuple(problems), settings)


def _server_of(spec: FarmSpec, tcp: TcpDeviceSpec) -> AdbServerSpec:
    server = spec.server(tcp.server)
    assert server is not None, "checked when the farm file was loaded"
    return server


def _connect(spec: FarmSpec, tcp: TcpDeviceSpec, timeout: float) -> str | None:
    """`adb connect` on the device's server (refused connections retried until `timeout`)."""
    server = _server_of(spec, tcp)
    try:
        AdbServer.attach(server.address).connect(tcp.address, timeout=timeout)
    except (ServerCallError, OSError) as e:
        return f"{server.label}: {e}"
    return None


def _listed(spec: FarmSpec, server: str, serial: str, state: str) -> FarmDevice:
    tcp = next((t for t in spec.tcp_devices if t.address == serial and _server_of(spec, t).address == server), None)
    container = None
    if tcp is not None and tcp.container is not None:
        host = spec.container_host(tcp.container.host)
        assert host is not None, "checked when the farm file was loaded"
        container = ContainerInfo(host.runtime, host.name, host.url, host.control, tcp.container.name)
    group = next((g.name for g in spec.groups if serial in g.devices), None)
    excluded = (bool(spec.include) and not _matches_any(serial, spec.include)) or _matches_any(serial, spec.exclude)
    problem = None if state == "device" else f"adb state {state}"
    return FarmDevice(serial, server, state, container=container, group=group, excluded=excluded, problem=problem)


def _matches_any(serial: str, globs: list[str]) -> bool:
    """Globs, or exact serials (an IPv6 serial's brackets would read as a character class)."""
    return any(serial == glob or fnmatch.fnmatchcase(serial, glob) for glob in globs)


def _probe_all(spec: FarmSpec, devices: list[FarmDevice]) -> list[FarmDevice]:
    online = [d for d in devices if d.state == "device" and not d.excluded]
    if not online:
        return devices
    resolver = ProfileResolver(spec)
    with ThreadPoolExecutor(max_workers=min(MAX_PROBE_THREADS, len(online))) as pool:
        probed = dict(zip((d.id for d in online), pool.map(lambda d: probe_device(d, resolver), online)))
    return [probed.get(d.id, d) for d in devices]


def probe_device(device: FarmDevice, resolver: ProfileResolver) -> FarmDevice:
    """Build, profile and capabilities of one online device; a failure becomes its `problem`."""
    handle = Device(device.serial, AdbServer.attach(device.server), default_timeout=PROBE_TIMEOUT)
    try:
        props = handle.props()
        profile = resolver.resolve(props, device.serial)
        handle.profile = profile.name if profile else None
        caps = capabilities(handle, interface=profile.network.interface if profile else None, refresh=True)
    except HarnessError as e:
        return replace(device, problem=f"probe failed: {type(e).__name__}: {e.message}")
    except ConfigError as e:
        return replace(device, problem=f"profile: {'; '.join(str(e).splitlines())}")
    return replace(device, model=props.get("ro.product.model", ""), release=caps.release, sdk=caps.sdk,
                   profile=_profile_ref(profile),
                   capabilities=capability_words(caps, debuggable=props.get("ro.debuggable") == "1"))


def _profile_ref(profile: DeviceProfile | None) -> str | None:
    """The profile's name when it lives in device_profiles/, else its path (what load_profile takes)."""
    if profile is None:
        return None
    return profile.name if profile.path.resolve().parent == PROFILE_DIR.resolve() else str(profile.path)


def capability_words(caps: DeviceCapabilities, *, debuggable: bool) -> tuple[str, ...]:
    """What `harness devices` shows and the lease log records: `root` (or `adb-root` when adbd
    can be restarted as root), tools (ndc with its mode), the Ethernet interface, the container."""
    words = ["root" if caps.root else "adb-root" if debuggable else "no-root"]
    for tool in caps.tools:
        words.append(f"ndc({caps.ndc_mode})" if tool == "ndc" and caps.ndc_mode else tool)
    if caps.interface:
        words.append(f"ethernet({caps.interface})")
    if caps.ethernet_service:
        words.append("ethernet-service")
    if caps.container:
        words.append(f"container({caps.container})")
    return tuple(words)


class ProfileResolver:
    """The farm's rules first (in order), then the profiles' own `match` sections."""

    def __init__(self, spec: FarmSpec) -> None:
        self.spec = spec
        self._loaded: dict[str, DeviceProfile] = {}
        self._matchable: list[DeviceProfile] | None = None

    def resolve(self, props: dict[str, str], serial: str) -> DeviceProfile | None:
        for rule in self.spec.profiles:
            if rule.serial and not _matches_any(serial, rule.serial):
                continue
            if any(props.get(name) not in wanted for name, wanted in rule.props.items()):
                continue
            return self._load(rule.profile)
        if self._matchable is None:
            self._matchable = [p for p in load_profiles() if p.match is not None]
        return match_profile(props, serial, self._matchable)

    def _load(self, name: str) -> DeviceProfile:
        if name not in self._loaded:
            self._loaded[name] = load_profile(name)
        return self._loaded[name]
