"""docker/podman restarts through the real subprocess path, against a fake CLI on PATH.

No daemon runs here, so `docker`/`podman` is a small executable written into the test's tmp dir:
it records its argv (and DOCKER_HOST/CONTAINER_HOST) and answers as the test tells it. Nothing
mocks subprocess itself. The device behind the adb server is unreachable in these tests: only the
trigger's command, output and error classification are under test (the full restart of a virtual
device through a fake docker is in test_restart_integration.py).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from harness.adb_server import AdbServer, free_loopback_port
from harness.container import DockerRestarter, PodmanRestarter, RestartSettings, RuntimeUnavailable, restarter_for
from harness.device import Device
from harness.errors import BadConfiguration, FailureClass
from harness.profiles import ContainerSpec, load_profile
from harness.timeline import Timeline

FAKE_CLI = """\
#!{python}
import json, os, socket, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "calls.jsonl"), "a") as calls:
    calls.write(json.dumps({{"cli": os.path.basename(sys.argv[0]), "argv": sys.argv[1:],
                            "DOCKER_HOST": os.environ.get("DOCKER_HOST"),
                            "CONTAINER_HOST": os.environ.get("CONTAINER_HOST")}}) + "\\n")
with open(os.path.join(here, "behaviour.json")) as f:
    behaviour = json.load(f)
time.sleep(behaviour.get("sleep", 0))
control = behaviour.get("control")
if control:   # play the container runtime: restart (or kill) the virtual device through its farm
    with socket.create_connection(("127.0.0.1", control["port"]), timeout=10) as sock:
        sock.sendall(json.dumps(control["request"]).encode() + b"\\n")
        sock.recv(65536)
sys.stdout.write(behaviour.get("stdout", ""))
sys.stderr.write(behaviour.get("stderr", ""))
sys.exit(behaviour.get("exit", 0))
"""


class FakeCli:
    """The fake runtime CLIs in one directory on PATH."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def behave(self, **behaviour: object) -> None:
        (self.directory / "behaviour.json").write_text(json.dumps(behaviour))

    def calls(self) -> list[dict]:
        path = self.directory / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def install_fake_cli(directory: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("docker", "podman"):
        script = directory / name
        script.write_text(FAKE_CLI.format(python=sys.executable))
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    fake = FakeCli(directory)
    fake.behave(stdout="")
    return fake


@pytest.fixture
def fake_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    return install_fake_cli(tmp_path / "bin", monkeypatch)


@pytest.fixture
def unreachable_device():
    # an adb server port where nothing listens: the restart's device calls fail fast
    return Device("127.0.0.1:40999", AdbServer.attach(f"127.0.0.1:{free_loopback_port()}"))


NO_NETWORK = RestartSettings(boot_timeout=1.0, wait_for_network=False)


def trigger_only(restarter, device):
    """Run a restart whose follow-up cannot succeed (no adb server): the trigger is the first step."""
    result = restarter.restart(device, timeline=Timeline(device.serial))
    return result, result.steps[0]


@pytest.mark.parametrize("spec, expected_argv", [
    (ContainerSpec(runtime="docker", name="redroid8"), ["restart", "redroid8"]),
    (ContainerSpec(runtime="docker", name="redroid8", stop_timeout_s=5), ["restart", "-t", "5", "redroid8"]),
    (ContainerSpec(runtime="docker", name="redroid8", host="tcp://10.0.0.5:2375"),
     ["-H", "tcp://10.0.0.5:2375", "restart", "redroid8"]),
])
def test_docker_command_line(fake_cli, unreachable_device, spec, expected_argv):
    result, trigger = trigger_only(DockerRestarter(spec, NO_NETWORK), unreachable_device)
    assert fake_cli.calls() == [{"cli": "docker", "argv": expected_argv, "DOCKER_HOST": None, "CONTAINER_HOST": None}]
    assert trigger.text == "docker " + " ".join(expected_argv)
    assert trigger.outcome == "ok"
    assert not result.ok               # the device never came back: there is no adb server here


def test_podman_remote_uses_url(fake_cli, unreachable_device):
    spec = ContainerSpec(runtime="podman", name="redroid11", host="ssh://ci@10.0.0.5:22/run/podman/podman.sock",
                         stop_timeout_s=3)
    trigger_only(PodmanRestarter(spec, NO_NETWORK), unreachable_device)
    assert fake_cli.calls()[0]["cli"] == "podman"
    assert fake_cli.calls()[0]["argv"] == ["--url", "ssh://ci@10.0.0.5:22/run/podman/podman.sock", "restart", "-t",
                                           "3", "redroid11"]


def test_docker_host_from_the_environment_reaches_the_cli(fake_cli, unreachable_device, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://farm-host:2376")
    trigger_only(DockerRestarter(ContainerSpec(runtime="docker", name="redroid8"), NO_NETWORK), unreachable_device)
    (call,) = fake_cli.calls()
    assert call["argv"] == ["restart", "redroid8"]
    assert call["DOCKER_HOST"] == "tcp://farm-host:2376"


def test_cli_output_is_kept_on_the_timeline(fake_cli, unreachable_device):
    fake_cli.behave(stdout="redroid8\n")
    _, trigger = trigger_only(DockerRestarter(ContainerSpec(runtime="docker", name="redroid8"), NO_NETWORK),
                              unreachable_device)
    assert trigger.detail == "redroid8"


def test_missing_cli_is_an_infrastructure_error(tmp_path, monkeypatch, unreachable_device):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result, trigger = trigger_only(DockerRestarter(ContainerSpec(runtime="docker", name="redroid8"), NO_NETWORK),
                                   unreachable_device)
    assert isinstance(result.error, RuntimeUnavailable)
    assert result.failure_class is FailureClass.INFRASTRUCTURE
    assert result.error.message == "docker CLI not found on PATH: install docker or put it on PATH to restart containers"
    assert trigger.outcome == f"RuntimeUnavailable: {result.error.message}"
    assert len(result.steps) == 1      # nothing after a failed trigger


DOCKER_NO_DAEMON = ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                    "Is the docker daemon running?\n")
PODMAN_NO_SERVICE = ("Cannot connect to Podman. Please verify your connection to the Linux system using "
                     "`podman system service` or another means of connecting\n")


@pytest.mark.parametrize("runtime, exit_status, stderr, error, message", [
    ("docker", 1, DOCKER_NO_DAEMON, RuntimeUnavailable, "cannot reach docker at the local docker service"),
    ("docker", 1, "error during connect: Get \"http://10.0.0.5:2375/v1.45/containers/json\": dial tcp "
                  "10.0.0.5:2375: connect: connection refused\n",
     RuntimeUnavailable, "cannot reach docker at the local docker service"),
    ("podman", 125, PODMAN_NO_SERVICE, RuntimeUnavailable, "cannot reach podman at the local podman service"),
    ("docker", 1, "Error response from daemon: No such container: redroid8\n",
     BadConfiguration, "container 'redroid8' does not exist on the local docker service"),
    ("podman", 125, 'Error: no container with name or ID "redroid8" found: no such container\n',
     BadConfiguration, "container 'redroid8' does not exist on the local podman service"),
    ("docker", 1, "Error response from daemon: Cannot restart container redroid8: OCI runtime error\n",
     RuntimeUnavailable, "docker restart redroid8 failed with exit status 1: Error response from daemon: Cannot "
                         "restart container redroid8: OCI runtime error"),
])
def test_failures_are_classified_with_stderr(fake_cli, unreachable_device, runtime, exit_status, stderr, error,
                                             message):
    fake_cli.behave(exit=exit_status, stderr=stderr)
    cls = DockerRestarter if runtime == "docker" else PodmanRestarter
    result, trigger = trigger_only(cls(ContainerSpec(runtime=runtime, name="redroid8"), NO_NETWORK),
                                   unreachable_device)
    assert type(result.error) is error
    assert result.error.message == message
    evidence = result.error.evidence
    assert (evidence.stderr, evidence.exit_status, evidence.command) == (stderr, exit_status, f"{runtime} restart redroid8")
    assert evidence.serial == "127.0.0.1:40999"
    assert trigger.outcome == f"{error.__name__}: {message}"
    assert trigger.detail == stderr.strip()


def test_remote_host_is_named_in_the_error(fake_cli, unreachable_device):
    fake_cli.behave(exit=1, stderr=DOCKER_NO_DAEMON)
    spec = ContainerSpec(runtime="docker", name="redroid8", host="tcp://10.0.0.5:2375")
    result, _ = trigger_only(DockerRestarter(spec, NO_NETWORK), unreachable_device)
    assert result.error.message == "cannot reach docker at tcp://10.0.0.5:2375"


def test_hung_cli_is_killed_at_its_timeout(fake_cli, unreachable_device):
    fake_cli.behave(sleep=30, stdout="never\n")
    restarter = DockerRestarter(ContainerSpec(runtime="docker", name="redroid8"), NO_NETWORK, command_timeout=0.5)
    result, trigger = trigger_only(restarter, unreachable_device)
    assert isinstance(result.error, RuntimeUnavailable)
    assert result.error.message == "docker restart redroid8 did not finish within 0.5s (killed)"
    assert trigger.outcome.startswith("RuntimeUnavailable: docker restart redroid8 did not finish")


def test_runtime_must_fit_the_restarter():
    with pytest.raises(BadConfiguration, match="container 'redroid8' runs on podman, not docker"):
        DockerRestarter(ContainerSpec(runtime="podman", name="redroid8"))


def test_container_values_are_validated_before_any_subprocess():
    with pytest.raises(ValueError, match="expected a container name"):
        ContainerSpec(runtime="docker", name="redroid8; reboot")
    with pytest.raises(ValueError, match="expected the runtime's URL"):
        ContainerSpec(runtime="docker", name="redroid8", host="tcp://x;id")


def test_profile_gives_the_restarter_and_its_timeouts():
    profile = load_profile("redroid-8.1")
    restarter = restarter_for(profile)
    assert isinstance(restarter, DockerRestarter)
    assert restarter.argv() == ["docker", "restart", "redroid8"]
    assert restarter.settings.boot_timeout == 120.0
    assert restarter.settings.network_timeout == 90.0
    assert restarter.settings.interface == "eth0"
    assert restarter.settings.targets is not None and restarter.settings.targets.hosts == ("8.8.8.8",)
    with pytest.raises(BadConfiguration, match="has no podman container section"):
        restarter_for(profile, method="podman")
    with pytest.raises(BadConfiguration, match="give the SimFarm"):
        restarter_for(load_profile("sim-android-8.1-buggy"))
