"""Device profiles (device_profiles/*.yaml): what kind of device it is, how to recognise it, what
its network should look like, and how to restart it.

One file per profile; `name` equals the file name. Sections:

    name, kind (sim | redroid | emulator | generic | box), description
    match         how a discovered device picks this profile (absent: only chosen by name)
                    serial: [globs], serial_regex: [regexes], props: {name: value | [values]}
                  plus `android.sdk` (a number or {min, max}): ro.build.version.sdk must fit
    android       release and sdk (or an sdk range) of the devices this profile describes
    network       interface, gateway, targets (IPv4 to ping), hostname (name resolution),
                  dns (the servers net.dns1... should name), expected_within_s (how long a
                  healthy boot takes to get a network)
    container     runtime (docker | podman), name, host (remote runtime URL), stop_timeout_s
    restart       method (docker | podman | sim | framework | reboot), boot_timeout_s,
                  network_timeout_s, wait_for_network
    capabilities  declared: root, container, ethernet, ip, ndc, netcfg, dumpsys, reboot
                  (absent: the kind's defaults, DEFAULT_CAPABILITIES)

For `kind: sim` the device-side sections (android, product, props, network, sim) belong to the
virtual device and are validated by it, reached only through `harness.sim.farm.validate_profile`;
the harness reads its network expectations from them. Everything that can reach a device shell
or a subprocess (interface, addresses, host names, property names, container name and host) is
validated here, so nothing from a profile reaches a shell unchecked. Every problem of a file is
reported on its own line with file:line:col, key path and what was expected (harness.yamlcheck).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt,
                      StrictStr, ValidationError, field_validator, model_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from harness.errors import BadConfiguration
from harness.net import validate
from harness.net.connectivity import ConnectivityTargets
from harness.yamlcheck import ConfigError, describe_errors, load_yaml

PROFILE_DIR = Path(__file__).resolve().parents[1] / "device_profiles"

Kind = Literal["sim", "redroid", "emulator", "generic", "box"]
RestartMethod = Literal["docker", "podman", "sim", "framework", "reboot"]
Runtime = Literal["docker", "podman"]
Capability = Literal["root", "container", "ethernet", "ip", "ndc", "netcfg", "dumpsys", "reboot"]

_NAME_RE = r"^[A-Za-z0-9_.-]+$"
CONTAINER_NAME_RE = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"          # docker's own rule for names
# unix:///run/docker.sock, tcp://10.0.0.5:2375, ssh://user@host:22/run/podman/podman.sock
CONTAINER_HOST_RE = r"^(unix|tcp|ssh|npipe)://[A-Za-z0-9._~:/@\[\]-]+$"
_SDK_PROP = "ro.build.version.sdk"


def _quoted(value: Any) -> Any:
    """Strings only: an unquoted 0123456 (octal 42798), `no` (False) or 1.10 (1.1) is refused."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_required",
                                  "expected a string: put the value in quotes in the YAML file")
    return value


def _one_or_more(value: Any) -> Any:
    """A property's wanted value, or a list of accepted values."""
    return [value] if isinstance(value, str) else value if isinstance(value, list) else _quoted(value)


def _sdk(value: Any) -> Any:
    """An API level (27) is the range {min: 27, max: 27}."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {"min": value, "max": value}
    if isinstance(value, (dict, SdkRange)):
        return value
    raise PydanticCustomError("sdk", "expected an API level like 27 or a range like {min: 23, max: 30}")


def _check(fn: Callable[[str], str], expected: str | None = None) -> Callable[[str], str]:
    """A validator from a function that raises ValueError; the message says what was expected."""
    def check(value: str) -> str:
        try:
            return fn(value)
        except ValueError as e:
            raise PydanticCustomError("invalid", expected or str(e)) from None
    return check


def _matches(pattern: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(value)
        return value
    return check


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise PydanticCustomError("regex", "not a valid regular expression: {error}", {"error": str(e)}) from None
    return value


Text = Annotated[str, BeforeValidator(_quoted)]
Interface = Annotated[StrictStr, AfterValidator(_check(validate.interface_name))]
IPv4 = Annotated[StrictStr, AfterValidator(_check(validate.ipv4_address))]
Hostname = Annotated[StrictStr, AfterValidator(_check(_matches(validate.HOSTNAME_RE.pattern),
                                                      "expected a host name like www.google.com"))]
PropName = Annotated[StrictStr, AfterValidator(_check(validate.prop_name))]
PropValue = Annotated[Text, AfterValidator(_check(validate.prop_value))]
ContainerName = Annotated[Text, Field(max_length=128), AfterValidator(_check(_matches(
    CONTAINER_NAME_RE), "expected a container name: a letter or digit, then letters, digits, '_', '.' or '-'"))]
ContainerHost = Annotated[Text, Field(max_length=512), AfterValidator(_check(_matches(
    CONTAINER_HOST_RE), "expected the runtime's URL, like unix:///run/docker.sock, tcp://HOST:2375 "
                        "or ssh://user@HOST/run/podman/podman.sock"))]
Seconds = Annotated[float, Field(gt=0, le=3600, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


class SdkRange(_Strict):
    min: StrictInt | None = Field(default=None, ge=1, le=99)
    max: StrictInt | None = Field(default=None, ge=1, le=99)

    @model_validator(mode="after")
    def _ordered(self) -> SdkRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def contains(self, sdk: int) -> bool:
        return (self.min is None or sdk >= self.min) and (self.max is None or sdk <= self.max)

    def describe(self) -> str:
        return f"{self.min or ''}..{self.max or ''}"


class MatchSpec(_Strict):
    serial: list[Text] = Field(default_factory=list)                     # fnmatch globs
    serial_regex: list[Annotated[Text, AfterValidator(_regex)]] = Field(default_factory=list)
    props: dict[PropName, Annotated[list[PropValue], BeforeValidator(_one_or_more), Field(min_length=1)]] = \
        Field(default_factory=dict)


class AndroidSpec(_Strict):
    release: Annotated[Text, Field(pattern=r"^\d+(\.\d+){0,2}$")] | None = None
    sdk: Annotated[SdkRange, BeforeValidator(_sdk)]


class NetworkSpec(_Strict):
    interface: Interface = "eth0"
    gateway: IPv4 | None = None                       # None: found from the routes
    targets: list[IPv4] = Field(default_factory=list, max_length=8)
    hostname: Hostname | None = None
    dns: list[IPv4] = Field(default_factory=list, max_length=4)   # expected net.dns1, net.dns2... (empty: unknown)
    expected_within_s: Seconds | None = None          # a healthy boot has a network this soon

    def connectivity_targets(self) -> ConnectivityTargets:
        return ConnectivityTargets(gateway=self.gateway, hosts=tuple(self.targets), hostname=self.hostname)


class ContainerSpec(_Strict):
    runtime: Runtime
    name: ContainerName
    host: ContainerHost | None = None
    stop_timeout_s: Annotated[StrictInt, Field(ge=0, le=600)] | None = None   # `restart -t N`


class RestartSpec(_Strict):
    method: RestartMethod | None = None               # None: the kind's default
    boot_timeout_s: Seconds = 120.0
    network_timeout_s: Seconds = 60.0
    wait_for_network: StrictBool = True


class _ProfileFile(_Strict):
    name: Annotated[StrictStr, Field(pattern=_NAME_RE)]
    kind: Kind
    description: StrictStr = ""
    match: MatchSpec | None = None
    restart: RestartSpec = Field(default_factory=RestartSpec)
    capabilities: list[Capability] | None = None


class RealProfileFile(_ProfileFile):
    """A profile of a real kind: every section is the harness's."""
    kind: Literal["redroid", "emulator", "generic", "box"]
    android: AndroidSpec
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    container: ContainerSpec | None = None
    product: Any = None
    props: Any = None
    sim: Any = None

    @field_validator("product", "props", "sim")
    @classmethod
    def _only_for_sim(cls, value: Any) -> Any:
        raise PydanticCustomError("sim_only", "only a `kind: sim` profile has this section "
                                  "(it describes the virtual device)")


class SimProfileFile(_ProfileFile):
    """A virtual-device profile: the device-side sections are checked by harness.sim."""
    kind: Literal["sim"]
    android: Any = None
    product: Any = None
    props: Any = None
    network: Any = None
    sim: Any = None


class _KindOnly(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Kind


DEFAULT_METHOD: dict[str, RestartMethod] = {
    "sim": "sim", "redroid": "docker", "emulator": "reboot", "generic": "reboot", "box": "reboot"}
# When a profile declares none (tools are probed at run time, not assumed).
DEFAULT_CAPABILITIES: dict[str, frozenset[str]] = {
    "sim": frozenset({"root", "ethernet", "reboot"}),
    "redroid": frozenset({"root", "ethernet", "container"}),   # no reboot: redroid-doc#870
    "emulator": frozenset({"root", "ethernet", "reboot"}),
    "generic": frozenset({"ethernet", "reboot"}),
    "box": frozenset({"ethernet", "reboot"}),
}
# What each method needs the profile to declare.
_METHOD_NEEDS: dict[str, frozenset[str]] = {
    "docker": frozenset({"container"}), "podman": frozenset({"container"}), "sim": frozenset(),
    "framework": frozenset({"root"}), "reboot": frozenset({"reboot"})}


@dataclass(frozen=True)
class DeviceProfile:
    """A validated profile: the harness's view of one device kind."""

    name: str
    kind: str
    description: str
    path: Path
    android: AndroidSpec
    network: NetworkSpec
    restart: RestartSpec
    capabilities: frozenset[str]
    match: MatchSpec | None = None
    container: ContainerSpec | None = None

    @property
    def restart_method(self) -> RestartMethod:
        return self.restart.method or DEFAULT_METHOD[self.kind]

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def match_score(self, props: Mapping[str, str], serial: str) -> int | None:
        """How many criteria the device meets (more = more specific), None when one fails or the
        profile has no `match` section."""
        spec = self.match
        if spec is None:
            return None
        score = 0
        if spec.serial or spec.serial_regex:
            if not (any(fnmatch.fnmatchcase(serial, g) for g in spec.serial)
                    or any(re.search(r, serial) for r in spec.serial_regex)):
                return None
            score += 1
        for name, wanted in spec.props.items():
            if props.get(name) not in wanted:
                return None
            score += 1
        sdk = props.get(_SDK_PROP, "")
        if not sdk.isdigit() or not self.android.sdk.contains(int(sdk)):
            return None
        return score + 1


# -- loading ------------------------------------------------------------------------------------

def resolve_path(name_or_path: str | Path) -> Path:
    """device_profiles/NAME.yaml for a bare name, else the path as given."""
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        if not path.is_file():
            raise ConfigError(f"{path}: no such profile file")
        return path
    if not re.fullmatch(_NAME_RE, str(name_or_path)):
        raise ConfigError(f"profile name {name_or_path!r} is invalid: expected letters, digits, '_', '.', '-'")
    candidate = PROFILE_DIR / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = ", ".join(p.stem for p in sorted(PROFILE_DIR.glob("*.yaml")))
        raise ConfigError(f"profile {name_or_path!r} not found in {PROFILE_DIR} (known: {known})")
    return candidate


def load_profile(name_or_path: str | Path) -> DeviceProfile:
    """Load and validate one profile; ConfigError with one line per problem (file:line:col)."""
    path = resolve_path(name_or_path)
    data, tree = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: (top level): expected a mapping of sections, got {type(data).__name__}")
    try:
        kind = _KindOnly.model_validate(data).kind
    except ValidationError as e:
        raise ConfigError(describe_errors(path, tree, e)) from None
    model: type[_ProfileFile] = SimProfileFile if kind == "sim" else RealProfileFile
    problems: list[str] = []
    parsed: _ProfileFile | None = None
    try:
        parsed = model.model_validate(data)
    except ValidationError as e:
        problems += describe_errors(path, tree, e).splitlines()
    if parsed is not None:
        consistency = _consistency_errors(parsed, path)
        if consistency:
            problems += describe_errors(path, tree, ValidationError.from_exception_data(
                "profile", consistency)).splitlines()
    device_side = None
    if kind == "sim":
        try:
            device_side = _validate_sim(path)
        except ConfigError as e:
            problems += [line for line in str(e).splitlines() if line not in problems]
    if problems:
        raise ConfigError("\n".join(sorted(problems, key=_line_of)))
    assert parsed is not None
    return _build(parsed, path, device_side)


def _line_of(problem: str) -> tuple[int, int]:
    found = re.match(r"^.*?:(\d+):(\d+): ", problem)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _validate_sim(path: Path) -> Any:
    from harness.sim.farm import validate_profile      # the one door into harness.sim
    return validate_profile(str(path))


def _problem(loc: tuple[Any, ...], message: str, value: Any) -> InitErrorDetails:
    return {"type": PydanticCustomError("profile", message), "loc": loc, "input": value}


def _consistency_errors(parsed: _ProfileFile, path: Path) -> list[InitErrorDetails]:
    """Rules across sections, each reported at the key that would have to change."""
    problems: list[InitErrorDetails] = []
    if parsed.name != path.stem:
        problems.append(_problem(("name",), f"must be the file's name {path.stem!r}", parsed.name))
    method = parsed.restart.method or DEFAULT_METHOD[parsed.kind]
    declared = _capabilities(parsed)
    container = getattr(parsed, "container", None)
    if method == "sim" and parsed.kind != "sim":
        problems.append(_problem(("restart", "method"), "method sim restarts virtual devices only", method))
    if method in ("docker", "podman"):
        if container is None:
            problems.append(_problem(("restart", "method"), f"method {method} needs a container section "
                                     "(runtime, name)", method))
        elif container.runtime != method:
            problems.append(_problem(("restart", "method"), f"method {method} does not fit container.runtime "
                                     f"{container.runtime}", method))
    missing = sorted(_METHOD_NEEDS[method] - declared)
    if missing:
        problems.append(_problem(("restart", "method"), f"method {method} needs capabilities "
                                 f"{', '.join(missing)} declared", method))
    if container is not None and "container" not in declared:
        problems.append(_problem(("capabilities",), "a profile with a container section must declare "
                                 "the container capability", parsed.capabilities))
    network = getattr(parsed, "network", None)
    if isinstance(network, NetworkSpec) and network.expected_within_s is not None \
            and network.expected_within_s > parsed.restart.network_timeout_s:
        problems.append(_problem(("restart", "network_timeout_s"), "must be at least "
                                 f"network.expected_within_s ({network.expected_within_s:g})",
                                 parsed.restart.network_timeout_s))
    return problems


def _capabilities(parsed: _ProfileFile) -> frozenset[str]:
    if parsed.capabilities is not None:
        return frozenset(parsed.capabilities)
    return DEFAULT_CAPABILITIES[parsed.kind]


def _build(parsed: _ProfileFile, path: Path, device_side: Any) -> DeviceProfile:
    if isinstance(parsed, RealProfileFile):
        android, network, container = parsed.android, parsed.network, parsed.container
    else:
        # The virtual device's own sections say what its network is: read them, don't repeat them.
        sim_net = device_side.network
        android = AndroidSpec(release=device_side.android.release, sdk=device_side.android.sdk)
        network = NetworkSpec(interface=sim_net.interface, gateway=sim_net.gateway,
                              targets=list(sim_net.reachable[:1]),
                              hostname=next(iter(sim_net.hostnames), None), dns=list(sim_net.dns))
        container = None
    return DeviceProfile(name=parsed.name, kind=parsed.kind, description=parsed.description, path=path,
                         android=android, network=network, restart=parsed.restart,
                         capabilities=_capabilities(parsed), match=parsed.match, container=container)


def load_profiles(directory: Path = PROFILE_DIR) -> list[DeviceProfile]:
    """Every profile in a directory (sorted by name); ConfigError listing every bad file's problems."""
    profiles, problems = [], []
    for path in sorted(directory.glob("*.yaml")):
        try:
            profiles.append(load_profile(path))
        except ConfigError as e:
            problems.append(str(e))
    if problems:
        raise ConfigError("\n".join(problems))
    return profiles


def match_profile(props: Mapping[str, str], serial: str, profiles: Iterable[DeviceProfile]) -> DeviceProfile | None:
    """The most specific profile whose `match` fits the device (None: no profile fits).

    BadConfiguration when several fit equally well: the harness never guesses between them.
    """
    scored = [(score, p) for p in profiles if (score := p.match_score(props, serial)) is not None]
    if not scored:
        return None
    best = max(score for score, _ in scored)
    winners = [p for score, p in scored if score == best]
    if len(winners) > 1:
        names = ", ".join(sorted(p.name for p in winners))
        raise BadConfiguration(f"device {serial} matches profiles {names} equally well: give one with "
                               "--profile or make their match sections more specific", serial=serial)
    return winners[0]
