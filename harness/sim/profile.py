"""The device-side part of a device profile (device_profiles/*.yaml) for virtual devices.

A profile file is shared with the harness: the harness reads the sections it needs (matching,
targets, capabilities) and the virtual device reads these. Unknown keys inside a section are
errors; unknown top-level sections belong to the harness and are ignored here.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from harness.sim.android.timing import BootModel, TimingModel
from harness.sim.faults import FaultSettings
from harness.yamlcheck import ConfigError, load_model

PROFILE_DIR = Path(__file__).resolve().parents[2] / "device_profiles"

IFNAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$"     # Linux IFNAMSIZ, nothing a shell would parse
PROP_VALUE_PATTERN = r"^[A-Za-z0-9 ._:/+,=@-]*$"


def _ipv4_interface(value: str) -> str:
    try:
        iface = ipaddress.IPv4Interface(value)
    except ValueError:
        raise ValueError("expected an IPv4 address with prefix, like 172.17.0.2/16") from None
    if iface.network.prefixlen in (0, 32):
        raise ValueError("prefix length must be between 1 and 31")
    return str(iface)


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError("expected an IPv4 address, like 172.17.0.1") from None


IPv4Iface = Annotated[StrictStr, AfterValidator(_ipv4_interface)]
IPv4 = Annotated[StrictStr, AfterValidator(_ipv4)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AndroidSection(Strict):
    release: StrictStr = Field(pattern=r"^\d+(\.\d+){0,2}$")
    sdk: StrictInt = Field(ge=19, le=36)


class ProductSection(Strict):
    name: StrictStr = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    model: StrictStr = Field(pattern=r"^[A-Za-z0-9_. -]+$")
    device: StrictStr = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    brand: StrictStr = Field(default="redroid", pattern=r"^[A-Za-z0-9_.-]+$")
    manufacturer: StrictStr = Field(default="redroid", pattern=r"^[A-Za-z0-9_. -]+$")
    build_type: Literal["user", "userdebug", "eng"] = "userdebug"
    build_id: StrictStr = Field(default="OPM1.171019.011", pattern=r"^[A-Za-z0-9_.-]+$")


class NetworkSection(Strict):
    interface: StrictStr = Field(default="eth0", pattern=IFNAME_PATTERN)
    mac: StrictStr = Field(default="02:42:ac:11:00:02", pattern=r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
    address: IPv4Iface = "172.17.0.2/16"
    gateway: IPv4 = "172.17.0.1"
    dns: list[IPv4] = Field(default_factory=lambda: ["8.8.8.8"], min_length=1, max_length=4)
    ip_mode: Literal["dhcp", "static"] = "dhcp"
    # Hosts the virtual world answers: ping targets that reply and names that resolve.
    reachable: list[IPv4] = Field(default_factory=lambda: ["8.8.8.8", "8.8.4.4", "1.1.1.1"])
    hostnames: dict[StrictStr, IPv4] = Field(
        default_factory=lambda: {"www.google.com": "142.250.74.68", "connectivitycheck.gstatic.com": "142.250.74.67"})


LogBufferName = Literal["main", "radio", "events", "system", "crash"]


class SimSection(Strict):
    seed: StrictInt = 1
    clock_scale: float = Field(default=1.0, gt=0, le=100)
    ethernet_fix: bool = False          # True: the fixed EthernetNetworkFactory (waits for teardown)
    # logd ring buffer sizes in KiB (Android's default is 256 for each buffer)
    log_buffer_kb: dict[LogBufferName, Annotated[StrictInt, Field(ge=64, le=262144)]] = Field(default_factory=dict)
    timing: TimingModel = Field(default_factory=TimingModel)
    boot: BootModel = Field(default_factory=BootModel)
    faults: FaultSettings = Field(default_factory=FaultSettings)   # harness/sim/faults.py: off by default


class SimProfile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: StrictStr = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["sim"]
    description: StrictStr = ""
    android: AndroidSection
    product: ProductSection
    props: dict[Annotated[StrictStr, Field(pattern=r"^[a-z0-9_.-]+$")],
                Annotated[StrictStr, Field(pattern=PROP_VALUE_PATTERN, max_length=91)]] = Field(default_factory=dict)
    network: NetworkSection = Field(default_factory=NetworkSection)
    sim: SimSection = Field(default_factory=SimSection)


def resolve_profile_path(name_or_path: str) -> Path:
    """A profile name from device_profiles/ or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ConfigError(f"{path}: no such profile file")
        return path
    candidate = PROFILE_DIR / f"{name_or_path}.yaml"
    if not candidate.exists():
        known = ", ".join(sorted(p.stem for p in PROFILE_DIR.glob("*.yaml")))
        raise ConfigError(f"profile {name_or_path!r} not found in {PROFILE_DIR} (known: {known})")
    return candidate


def load_sim_profile(name_or_path: str) -> SimProfile:
    path = resolve_profile_path(name_or_path)
    profile = load_model(path, SimProfile)
    return profile
