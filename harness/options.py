"""The harness's pytest options, resolved command line > environment > ini > default.

Each value remembers where it came from, for the report header and for error messages that
name the exact place to fix. Bad values raise BadConfiguration with one line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from harness.errors import BadConfiguration

DEFAULT_PROFILE = "sim-android-8.1-buggy"
DEFAULT_ADB_PORT = 5037
MAX_CLOCK_SCALE = 100.0       # the virtual device's own limit (sim.clock_scale)

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$")
_SERIAL = re.compile(r"^[A-Za-z0-9._:\[\]@%+-]{1,128}$")

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    value: T
    source: str          # "command line", "env ANDROID_SERIAL", "ini android_serial", "default"

    def __str__(self) -> str:
        return f"{self.value} (from {self.source})"


@dataclass(frozen=True)
class AdbServerAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_host_port(text: str, where: str) -> AdbServerAddress:
    """`HOST:PORT` (IPv6 hosts in brackets); BadConfiguration naming `where` otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadConfiguration(f"{where}: expected HOST:PORT of an adb server, like 127.0.0.1:5037, got {text!r}")
    return AdbServerAddress(host.strip("[]") if host.startswith("[") else host, int(port))


def check_serial(serial: str, where: str) -> str:
    if not _SERIAL.match(serial):
        raise BadConfiguration(f"{where}: expected a device serial like emulator-5554 or 127.0.0.1:6520, "
                               f"got {serial!r}")
    return serial


@dataclass(frozen=True)
class RawSources:
    """What the user gave, where: command line values (None when absent), environment, ini."""
    cli_serials: list[str] | None
    cli_adb_server: str | None
    cli_profile: str | None
    env: dict[str, str]
    ini_serials: list[str]
    ini_adb_server: str
    ini_profile: str
    cli_clock_scale: str | None = None
    ini_clock_scale: str = ""


@dataclass(frozen=True)
class HarnessOptions:
    serials: Setting[tuple[str, ...]]                 # empty: start the embedded virtual device
    adb_server: Setting[AdbServerAddress | None]      # None: a private server with the bundled adb
    profile: Setting[str]
    clock_scale: Setting[float | None] = Setting(None, "default")   # the embedded device's; None: its profile's

    @property
    def embedded(self) -> bool:
        return not self.serials.value

    @property
    def adb_server_address(self) -> AdbServerAddress:
        """Where named devices are: the given server, else the standard one on 5037."""
        return self.adb_server.value or AdbServerAddress("127.0.0.1", DEFAULT_ADB_PORT)

    def header_lines(self) -> list[str]:
        devices = ("embedded virtual device" if self.embedded
                   else ", ".join(self.serials.value)) + f" (from {self.serials.source})"
        if self.adb_server.value is None and self.embedded:
            server = "private server, bundled adb"
        else:
            server = str(self.adb_server_address)
        server += f" (from {self.adb_server.source})"
        lines = [f"android devices: {devices}", f"android adb server: {server}", f"android profile: {self.profile}"]
        if self.embedded and self.clock_scale.value is not None:
            lines.append(f"android virtual device clock scale: {self.clock_scale}")
        return lines


def resolve(raw: RawSources) -> HarnessOptions:
    return HarnessOptions(serials=_serials(raw), adb_server=_adb_server(raw), profile=_profile(raw),
                          clock_scale=_clock_scale(raw))


def _serials(raw: RawSources) -> Setting[tuple[str, ...]]:
    if raw.cli_serials:
        return Setting(tuple(check_serial(s, f"--serial {s!r}") for s in raw.cli_serials), "command line")
    if env := raw.env.get("ANDROID_SERIAL", "").strip():
        return Setting((check_serial(env, "ANDROID_SERIAL"),), "env ANDROID_SERIAL")
    if raw.ini_serials:
        return Setting(tuple(check_serial(s, "ini android_serial") for s in raw.ini_serials), "ini android_serial")
    return Setting((), "default")


def _adb_server(raw: RawSources) -> Setting[AdbServerAddress | None]:
    if raw.cli_adb_server is not None:
        return Setting(parse_host_port(raw.cli_adb_server, "--adb-server"), "command line")
    env_host = raw.env.get("ANDROID_ADB_SERVER_HOST", "").strip()
    env_port = raw.env.get("ANDROID_ADB_SERVER_PORT", "").strip()
    if env_host or env_port:
        names = " and ".join(n for n, v in (("ANDROID_ADB_SERVER_HOST", env_host),
                                             ("ANDROID_ADB_SERVER_PORT", env_port)) if v)
        if env_port and not (env_port.isdigit() and 0 < int(env_port) < 65536):
            raise BadConfiguration(f"ANDROID_ADB_SERVER_PORT: expected a port number 1-65535, got {env_port!r}")
        text = f"{env_host or '127.0.0.1'}:{env_port or DEFAULT_ADB_PORT}"
        return Setting(parse_host_port(text, names), f"env {names}")
    if raw.ini_adb_server.strip():
        return Setting(parse_host_port(raw.ini_adb_server, "ini adb_server"), "ini adb_server")
    return Setting(None, "default")


def _profile(raw: RawSources) -> Setting[str]:
    for value, source in ((raw.cli_profile, "command line"),
                          (raw.env.get("HARNESS_PROFILE"), "env HARNESS_PROFILE"),
                          (raw.ini_profile, "ini device_profile")):
        if value is not None and value.strip():
            return Setting(value.strip(), source)
    return Setting(DEFAULT_PROFILE, "default")


def _clock_scale(raw: RawSources) -> Setting[float | None]:
    """Device seconds per host second of the embedded virtual device (0.25: four times faster)."""
    for value, where, source in (
            (raw.cli_clock_scale, "--sim-clock-scale", "command line"),
            (raw.env.get("HARNESS_SIM_CLOCK_SCALE"), "HARNESS_SIM_CLOCK_SCALE", "env HARNESS_SIM_CLOCK_SCALE"),
            (raw.ini_clock_scale, "ini sim_clock_scale", "ini sim_clock_scale")):
        if value is None or not value.strip():
            continue
        try:
            scale = float(value)
        except ValueError:
            scale = 0.0
        if not 0 < scale <= MAX_CLOCK_SCALE:
            raise BadConfiguration(f"{where}: expected a clock scale above 0 and at most {MAX_CLOCK_SCALE:g} "
                                   f"(0.25 runs the virtual device four times faster), got {value!r}")
        return Setting(scale, source)
    return Setting(None, "default")


def from_environment() -> dict[str, str]:
    names = ("ANDROID_SERIAL", "ANDROID_ADB_SERVER_HOST", "ANDROID_ADB_SERVER_PORT", "HARNESS_PROFILE",
             "HARNESS_SIM_CLOCK_SCALE")
    return {n: os.environ[n] for n in names if n in os.environ}
