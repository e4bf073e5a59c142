"""The farm file (YAML): which adb servers, which TCP devices to `adb connect`, which container
hosts restart them, which profile each device gets, and how leases and health checks behave.

    name: lab-a
    adb_servers:                      # one per host; local or remote (start remote ones with `adb -a`)
      - {name: host-a, address: 127.0.0.1:5037}
      - {name: host-b, address: 10.0.0.12:5037}
    tcp_devices:                      # `adb connect`ed on their server before discovery
      - {address: 10.0.0.21:5555, server: host-b, container: {host: docker-b, name: redroid-21}}
    container_hosts:                  # how a device's container is restarted (recovery step 3)
      - {name: docker-b, runtime: docker, url: tcp://10.0.0.12:2375}
      - {name: sims, runtime: sim, control: 127.0.0.1:40000}      # a virtual-device farm's control channel
    profiles:                         # first rule that fits wins; then the profiles' own `match` sections
      - {profile: redroid-11, serial: ["10.0.0.*:5555"]}
      - {profile: emulator, props: {ro.kernel.qemu: "1"}}
    include: ["10.0.0.*:5555"]        # serial globs to lease (default: every device the servers list)
    exclude: ["emulator-5580"]        # serial globs never leased
    groups:                           # devices leased together, for multi-device tests
      - {name: pair-1, devices: ["10.0.0.21:5555", "10.0.0.22:5555"]}
    leases: {dir: /var/tmp/harness-leases/lab-a, log: reports/leases.jsonl, wait_s: 60}
    health: {shell_timeout_s: 5, recovery_budget_s: 180}

Every value that reaches a shell or a subprocess (addresses, serials, container names and URLs) is
validated here; every problem is reported as `file:line:col: key.path: what was expected`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from harness.errors import BadConfiguration
from harness.options import check_serial, parse_host_port
from harness.profiles import CONTAINER_HOST_RE, CONTAINER_NAME_RE, PropName, PropValue
from harness.yamlcheck import ConfigError, describe_errors, load_yaml

_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
DEFAULT_LEASE_WAIT_S = 60.0
DEFAULT_SHELL_TIMEOUT_S = 5.0
DEFAULT_RECOVERY_BUDGET_S = 180.0


def _invalid(message: str) -> PydanticCustomError:
    """A validation problem whose message is shown as written (pydantic would prefix `Value error, `)."""
    return PydanticCustomError("farm", message)


def _text(value: Any) -> Any:
    """Strings only: an unquoted 0123456 would be read as a number (octal), `no` as False."""
    if not isinstance(value, str):
        raise _invalid("expected a string: put the value in quotes in the YAML file")
    return value


def _host_port(value: str) -> str:
    try:
        address = parse_host_port(value, "address")
    except BadConfiguration:
        raise _invalid("expected HOST:PORT, like 127.0.0.1:5037") from None
    return f"{address.host}:{address.port}"


def _serial(value: str) -> str:
    try:
        return check_serial(value, "serial")
    except BadConfiguration:
        raise _invalid("expected a device serial like emulator-5554 or 10.0.0.21:5555") from None


def _glob(value: str) -> str:
    if not value or len(value) > 128 or any(c.isspace() for c in value):
        raise _invalid("expected a serial glob like 10.0.0.*:5555 (no spaces)")
    return value


def _matches(pattern: str, expected: str):
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise _invalid(expected)
        return value
    return check


Text = Annotated[str, BeforeValidator(_text)]
Name = Annotated[Text, AfterValidator(_matches(_NAME, "expected a name: letters, digits, '_', '.', '-'"))]
HostPort = Annotated[Text, AfterValidator(_host_port)]
Serial = Annotated[Text, AfterValidator(_serial)]
SerialGlob = Annotated[Text, AfterValidator(_glob)]
ContainerName = Annotated[Text, AfterValidator(_matches(CONTAINER_NAME_RE, "expected a container name"))]
ContainerUrl = Annotated[Text, AfterValidator(_matches(
    CONTAINER_HOST_RE, "expected the runtime's URL, like unix:///run/docker.sock or tcp://HOST:2375"))]
Seconds = Annotated[float, Field(gt=0, le=3600, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdbServerSpec(_Strict):
    address: HostPort
    name: Name | None = None

    @property
    def label(self) -> str:
        return self.name or self.address


class ContainerRef(_Strict):
    host: Name                            # a container_hosts name
    name: ContainerName | None = None     # the container (docker/podman); a sim farm knows devices by serial


class TcpDeviceSpec(_Strict):
    address: Serial                       # what `adb connect` gets, and the device's serial
    server: Name | HostPort | None = None   # an adb_servers name or address; default: the first server
    container: ContainerRef | None = None


class ContainerHostSpec(_Strict):
    name: Name
    runtime: Literal["docker", "podman", "sim"]
    url: ContainerUrl | None = None       # docker/podman: the runtime's URL (default: the local one)
    control: HostPort | None = None       # sim: the virtual-device farm's control channel

    @model_validator(mode="after")
    def _fits_runtime(self) -> ContainerHostSpec:
        if self.runtime == "sim" and self.control is None:
            raise _invalid("runtime sim needs `control: HOST:PORT` (the virtual-device farm's control channel)")
        if self.runtime != "sim" and self.control is not None:
            raise _invalid(f"`control` is for runtime sim; runtime {self.runtime} takes `url`")
        return self


class ProfileRule(_Strict):
    profile: Annotated[Text, Field(min_length=1, max_length=256)]     # a name in device_profiles/ or a path
    serial: list[SerialGlob] = Field(default_factory=list)
    props: dict[PropName, Annotated[list[PropValue], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]] \
        = Field(default_factory=dict)

    @model_validator(mode="after")
    def _says_something(self) -> ProfileRule:
        if not self.serial and not self.props:
            raise _invalid("a rule needs `serial` globs or `props` to match devices by")
        return self


class GroupSpec(_Strict):
    name: Name
    devices: list[Serial] = Field(min_length=2, max_length=16)


class LeaseSettings(_Strict):
    dir: Text | None = None               # lock files and device states (default: per user, per farm, in TMPDIR)
    log: Text | None = None               # lease log, JSON lines (default: reports/leases.jsonl)
    wait_s: Seconds = DEFAULT_LEASE_WAIT_S


class HealthSettings(_Strict):
    shell_timeout_s: Seconds = DEFAULT_SHELL_TIMEOUT_S
    recovery_budget_s: Seconds = DEFAULT_RECOVERY_BUDGET_S


class FarmSpec(_Strict):
    name: Name = "farm"
    adb_servers: list[AdbServerSpec] = Field(min_length=1)
    tcp_devices: list[TcpDeviceSpec] = Field(default_factory=list)
    container_hosts: list[ContainerHostSpec] = Field(default_factory=list)
    profiles: list[ProfileRule] = Field(default_factory=list)
    include: list[SerialGlob] = Field(default_factory=list)     # lease only these (default: every device found)
    exclude: list[SerialGlob] = Field(default_factory=list)
    groups: list[GroupSpec] = Field(default_factory=list)
    leases: LeaseSettings = Field(default_factory=LeaseSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)

    def server(self, ref: str | None) -> AdbServerSpec | None:
        """The server a TCP device names (by name or address; None: the first)."""
        if ref is None:
            return self.adb_servers[0]
        return next((s for s in self.adb_servers if ref in (s.name, s.address)), None)

    def container_host(self, name: str) -> ContainerHostSpec | None:
        return next((h for h in self.container_hosts if h.name == name), None)


def _cross_references(spec: FarmSpec) -> list[tuple[tuple[Any, ...], str, Any]]:
    """(key path, problem, value) for names that point at nothing, and duplicates."""
    problems: list[tuple[tuple[Any, ...], str, Any]] = []
    seen: dict[str, int] = {}
    for i, server in enumerate(spec.adb_servers):
        for key in filter(None, (server.name, server.address)):
            if key in seen and seen[key] != i:
                problems.append((("adb_servers", i), f"{key!r} is already adb_servers.{seen[key]}", key))
            seen[key] = i
    addresses: set[str] = set()
    for i, device in enumerate(spec.tcp_devices):
        if device.address in addresses:
            problems.append((("tcp_devices", i, "address"), "listed twice", device.address))
        addresses.add(device.address)
        if spec.server(device.server) is None:
            known = ", ".join(s.label for s in spec.adb_servers)
            problems.append((("tcp_devices", i, "server"), f"no such adb server (known: {known})", device.server))
        if device.container is not None:
            host = spec.container_host(device.container.host)
            if host is None:
                known = ", ".join(h.name for h in spec.container_hosts) or "none"
                problems.append((("tcp_devices", i, "container", "host"),
                                 f"no such container host (known: {known})", device.container.host))
            elif host.runtime != "sim" and device.container.name is None:
                problems.append((("tcp_devices", i, "container"),
                                 f"a {host.runtime} container needs its `name`", device.container.host))
    names = [h.name for h in spec.container_hosts]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append((("container_hosts", i, "name"), "listed twice", name))
    grouped: dict[str, str] = {}
    for i, group in enumerate(spec.groups):
        for j, serial in enumerate(group.devices):
            if serial in grouped:
                problems.append((("groups", i, "devices", j), f"already in group {grouped[serial]}", serial))
            grouped[serial] = group.name
    return problems


def load_farm(path: str | Path) -> FarmSpec:
    """Load and validate a farm file; ConfigError with one line per problem (file:line:col)."""
    path = Path(path)
    data, tree = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: (top level): expected a mapping (adb_servers, tcp_devices, ...), "
                          f"got {type(data).__name__}")
    try:
        spec = FarmSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe_errors(path, tree, e)) from None
    problems = _cross_references(spec)
    if problems:
        details: list[InitErrorDetails] = [{"type": _invalid(message), "loc": loc, "input": value}
                                           for loc, message, value in problems]
        raise ConfigError(describe_errors(path, tree, ValidationError.from_exception_data("farm", details)))
    return spec
