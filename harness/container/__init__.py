"""Restarting a device: one interface (`Restarter.restart(device) -> RestartResult`), five methods.

    restarter = restarter_for(profile)                  # the profile's method and timeouts
    result = restarter.restart(device, logcat=logcat)   # never raises: result.error is classified
    result.raise_for_error()                            # or raise it, the timeline attached

Methods: docker, podman (container runtimes' CLIs), sim (the virtual device's control channel),
framework (`stop; start` as root), reboot (adbd's `reboot:` service).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.container.base import Restarter, RestartResult, RestartSettings, RuntimeUnavailable
from harness.container.docker import DockerRestarter
from harness.container.framework import FrameworkRestarter
from harness.container.podman import PodmanRestarter
from harness.container.reboot import RebootRestarter
from harness.errors import BadConfiguration

if TYPE_CHECKING:
    from harness.profiles import DeviceProfile
    from harness.sim.farm import SimFarm

__all__ = ["Restarter", "RestartResult", "RestartSettings", "RuntimeUnavailable", "DockerRestarter",
           "PodmanRestarter", "FrameworkRestarter", "RebootRestarter", "restarter_for"]


def restarter_for(profile: DeviceProfile, *, method: str | None = None, farm: SimFarm | None = None,
                  settings: RestartSettings | None = None, down_s: float = 0.5) -> Restarter:
    """The restarter for a profile (its `restart.method` unless `method` is given)."""
    method = method or profile.restart_method
    settings = settings or RestartSettings.from_profile(profile)
    if method in ("docker", "podman"):
        if profile.container is None or profile.container.runtime != method:
            raise BadConfiguration(f"profile {profile.name} has no {method} container section to restart")
        cls = DockerRestarter if method == "docker" else PodmanRestarter
        return cls(profile.container, settings)
    if method == "sim":
        if farm is None:
            raise BadConfiguration("method sim restarts virtual devices: give the SimFarm that runs the device")
        from harness.container.sim import SimRestarter     # imports harness.sim.farm only when used
        return SimRestarter(farm, settings, down_s=down_s)
    if method == "framework":
        return FrameworkRestarter(settings)
    if method == "reboot":
        return RebootRestarter(settings)
    raise BadConfiguration(f"unknown restart method {method!r}: expected docker, podman, sim, framework or reboot")
