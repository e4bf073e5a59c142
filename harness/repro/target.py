"""The devices of one group and the settings their iterations share.

Virtual devices (the default): `EmbeddedDevices` starts a SimFarm child with N devices and a
private adb server; device-time bounds of the profile are scaled by the farm's clock
(`clock_scale` 0.25 = device time runs 4x faster, so a 60 s device bound is 15 host seconds).
Real devices: given serials behind an adb server (`--adb-server`, default 127.0.0.1:5037), with
a device profile that says how to restart them and what their network should look like.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.adb_server import AdbServer
from harness.adb_server import AdbServerError as ServerCallError
from harness.container import Restarter, RestartSettings, restarter_for
from harness.device import Device, is_tcp_serial
from harness.embedded import EmbeddedDevices
from harness.errors import AdbServerError, BadConfiguration
from harness.logs.signatures import Registry
from harness.profiles import DeviceProfile, load_profile
from harness.repro.choices import METHODS, Timing
from harness.repro.hunt import Bandit, Sampler, Sweep
from harness.repro.session import DeviceSession, IterationSettings
from harness.repro.stimulus import FlapStimulus, RestartStimulus, Stimulus
from harness.yamlcheck import ConfigError

_CONTAINER_METHODS = ("docker", "podman", "sim")


@dataclass
class Target:
    group: str
    profile: DeviceProfile
    sessions: list[DeviceSession]
    server: AdbServer
    lab: EmbeddedDevices | None = None
    clock_scale: float = 1.0

    @property
    def virtual(self) -> bool:
        return self.lab is not None

    def stop(self) -> None:
        for session in self.sessions:
            session.close()
        if self.lab is not None:
            self.lab.stop()


def profile_or_error(name: str) -> DeviceProfile:
    try:
        return load_profile(name)
    except ConfigError as e:
        raise BadConfiguration("; ".join(str(e).splitlines())) from None


def virtual_target(profile_name: str, count: int, *, group: str = "", seed: int | None = None,
                   clock_scale: float | None = None) -> Target:
    profile = profile_or_error(profile_name)
    if profile.kind != "sim":
        raise BadConfiguration(f"profile {profile.name} is a {profile.kind} profile: virtual devices need a "
                               "`kind: sim` profile (give --serial for real devices)")
    lab = EmbeddedDevices(profile_name, count, seed=seed, clock_scale=clock_scale)
    lab.start()
    scale = clock_scale if clock_scale is not None else _profile_clock(profile_name)
    sessions = [DeviceSession(d, profile, group=group, virtual=True, clock_scale=scale) for d in lab.devices()]
    assert lab.server is not None
    return Target(group, profile, sessions, lab.server, lab, scale)


def _profile_clock(profile_name: str) -> float:
    from harness.sim.farm import validate_profile       # the documented door into the sim
    return float(validate_profile(profile_name).sim.clock_scale)


def real_target(serials: list[str], adb_address: str, profile_name: str, *, group: str = "") -> Target:
    profile = profile_or_error(profile_name)
    if profile.kind == "sim":
        raise BadConfiguration(f"--serial: profile {profile.name} describes a virtual device; name your devices' "
                               "profile with --profile (e.g. redroid-8.1)")
    server = AdbServer.attach(adb_address)
    try:
        server.version(timeout=5.0)
    except Exception as e:
        raise AdbServerError(f"adb server at {adb_address} does not answer: {e}") from None
    sessions = []
    for serial in serials:
        if is_tcp_serial(serial):
            try:
                server.connect(serial, timeout=15.0)
            except ServerCallError as e:
                raise AdbServerError(str(e)) from None
        sessions.append(DeviceSession(Device(serial, server, profile=profile.name), profile, group=group))
    return Target(group, profile, sessions, server)


def container_method(target: Target) -> str:
    if target.virtual:
        return "sim"
    if target.profile.container is not None:
        return target.profile.container.runtime
    if target.profile.restart_method in _CONTAINER_METHODS:
        return target.profile.restart_method
    raise BadConfiguration(f"--method container: profile {target.profile.name} has no container section "
                           f"(its restart method is {target.profile.restart_method}): use --method "
                           f"{target.profile.restart_method} or a profile with a container")


def _restarter(target: Target, method: str, settings: RestartSettings) -> Restarter:
    return restarter_for(target.profile, method=method, farm=target.lab.farm if target.lab else None,
                         settings=settings)


def settings_for(target: Target, method: str, timing: Timing, registry: Registry, run_dir: Path) -> IterationSettings:
    profile, scale = target.profile, target.clock_scale
    network_device_s = timing.network_timeout or profile.network.expected_within_s or profile.restart.network_timeout_s
    boot_timeout = timing.boot_timeout or profile.restart.boot_timeout_s
    restart_settings = RestartSettings(boot_timeout=boot_timeout, network_timeout=network_device_s * scale,
                                       wait_for_network=False, targets=profile.network.connectivity_targets(),
                                       interface=profile.network.interface)
    recovery_method = container_method(target) if (target.virtual or profile.container) else profile.restart_method
    recovery = _restarter(target, recovery_method, restart_settings)
    stimulus: Stimulus
    if method == "container":
        stimulus = RestartStimulus("container", _restarter(target, container_method(target), restart_settings))
    elif method in ("framework", "reboot"):
        stimulus = RestartStimulus(method, _restarter(target, method, restart_settings))
    elif method == "link-flap":
        stimulus = FlapStimulus(timing.window, interface=profile.network.interface, down_s=timing.down_s)
    else:
        raise BadConfiguration(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
    flapping = method == "link-flap"
    return IterationSettings(
        stimulus=stimulus, recovery=recovery, network_bound_s=network_device_s * scale,
        settle_s=timing.settle * scale, boot_timeout_s=boot_timeout,
        targets=profile.network.connectivity_targets(), interface=profile.network.interface,
        registry=registry, run_dir=run_dir,
        sweep=sampler(timing) if flapping else None,
        needs_network_first=flapping)


def sampler(timing: Timing) -> Sampler:
    """Several down times: the learning hunt over delays x down times; else one-parameter rounds."""
    delays = timing.delays_ms or (0.0,)
    if timing.downs_ms and timing.window != "idle":
        return Bandit(delays, timing.downs_ms, seed=timing.seed)
    return Sweep(delays, seed=timing.seed, down_ms=None if timing.window == "idle" else timing.down_s * 1000)
