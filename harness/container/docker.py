"""Restart a container through the docker CLI: `docker [-H HOST] restart [-t N] NAME`.

The CLI runs as a subprocess with a timeout, stdin closed, its output captured for the timeline.
A remote daemon is reached through the runtime's own host setting: `-H` when the profile names a
host, else whatever DOCKER_HOST says in our environment. Failures are classified: no CLI, no
daemon, a hung or failing command are infrastructure (RuntimeUnavailable, with stderr); a
container that does not exist is a bad configuration (the profile names it).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from typing import TYPE_CHECKING

from harness.container.base import Restarter, RestartSettings, RuntimeUnavailable
from harness.errors import BadConfiguration
from harness.profiles import ContainerSpec
from harness.timeline import RunningAction

if TYPE_CHECKING:
    from harness.device import Device

DEFAULT_STOP_TIMEOUT_S = 10            # what docker and podman wait before SIGKILL when not told
COMMAND_MARGIN_S = 60.0                # restart = stop (up to the stop timeout) + start
_NO_CONTAINER = re.compile(r"no such container", re.I)
_NO_DAEMON = re.compile(r"cannot connect to (the docker daemon|podman)|is the docker daemon running|"
                        r"error during connect|connection refused|no such file or directory.*sock", re.I)


class DockerRestarter(Restarter):
    method = "docker"
    runtime = "docker"
    host_option = "-H"
    host_env = "DOCKER_HOST"

    def __init__(self, container: ContainerSpec, settings: RestartSettings | None = None, *,
                 command_timeout: float | None = None) -> None:
        super().__init__(settings)
        if container.runtime != self.runtime:
            raise BadConfiguration(f"container {container.name!r} runs on {container.runtime}, not {self.runtime}")
        self.container = container
        stop = container.stop_timeout_s if container.stop_timeout_s is not None else DEFAULT_STOP_TIMEOUT_S
        self.command_timeout = command_timeout or stop + COMMAND_MARGIN_S

    def argv(self) -> list[str]:
        remote = [self.host_option, self.container.host] if self.container.host else []
        stop = ["-t", str(self.container.stop_timeout_s)] if self.container.stop_timeout_s is not None else []
        return [self.runtime, *remote, "restart", *stop, self.container.name]

    def describe(self, device: Device) -> str:
        return shlex.join(self.argv())

    @property
    def where(self) -> str:
        return self.container.host or os.environ.get(self.host_env) or f"the local {self.runtime} service"

    def trigger(self, device: Device, step: RunningAction) -> None:
        argv = self.argv()
        command = shlex.join(argv)
        executable = shutil.which(argv[0])
        if executable is None:
            raise RuntimeUnavailable(f"{self.runtime} CLI not found on PATH: install {self.runtime} or put it on "
                                     "PATH to restart containers", command=command)
        try:
            done = subprocess.run([executable, *argv[1:]], stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=self.command_timeout)
        except subprocess.TimeoutExpired as e:
            raise RuntimeUnavailable(f"{command} did not finish within {self.command_timeout:g}s (killed)",
                                     command=command, stdout=_text(e.stdout), stderr=_text(e.stderr),
                                     elapsed=self.command_timeout) from None
        except OSError as e:
            raise RuntimeUnavailable(f"cannot run {executable}: {e.strerror or e}", command=command) from None
        stdout, stderr = _text(done.stdout), _text(done.stderr)
        step.note("\n".join(filter(None, [stdout.strip(), stderr.strip()])))
        if done.returncode == 0:
            return
        evidence = {"command": command, "exit_status": done.returncode, "stdout": stdout, "stderr": stderr,
                    "serial": device.serial}
        if _NO_CONTAINER.search(stderr):
            raise BadConfiguration(f"container {self.container.name!r} does not exist on {self.where}", **evidence)
        if _NO_DAEMON.search(stderr):
            raise RuntimeUnavailable(f"cannot reach {self.runtime} at {self.where}", **evidence)
        first = next((line for line in stderr.splitlines() if line.strip()), "no error text")
        raise RuntimeUnavailable(f"{command} failed with exit status {done.returncode}: {first}", **evidence)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")
