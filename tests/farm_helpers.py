"""Shared by the farm tests: a farm of virtual devices behind two adb servers (two ports standing
in for two hosts), its farm file, pytest runs against it, and readers for their reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.adb_server import AdbServer
from harness.sim.farm import SimFarm

REPO = Path(__file__).resolve().parents[1]
FIXED_PROFILE = "sim-android-8.1-fixed"      # no start-up race: the suites pass on it
CLOCK_SCALE = 0.25
RUN_TIMEOUT_S = 300.0                        # a farm run that takes longer has hung
HARNESS_ENV = ("ANDROID_SERIAL", "ANDROID_ADB_SERVER_HOST", "ANDROID_ADB_SERVER_PORT", "HARNESS_PROFILE",
               "HARNESS_FARM", "HARNESS_SIM_CLOCK_SCALE", "ADB_SERVER_SOCKET", "PYTEST_ADDOPTS")


@dataclass(frozen=True)
class TwoHostFarm:
    farm: SimFarm
    servers: tuple[AdbServer, AdbServer]
    path: Path                               # the farm file

    def server_of(self, serial: str) -> AdbServer:
        return self.servers[self.farm.serials.index(serial) % 2]

    def device_id(self, serial: str) -> str:
        return f"{serial}@{self.server_of(serial).address}"


def farm_file_text(farm: SimFarm, servers: tuple[AdbServer, AdbServer], *, profile: str, lease_dir: Path,
                   recovery_budget_s: float, wait_s: float) -> str:
    devices = "".join(f'  - {{address: "{serial}", server: host-{"ab"[i % 2]}, container: {{host: sims}}}}\n'
                      for i, serial in enumerate(farm.serials))
    return (f"name: two-hosts\n"
            f"adb_servers:\n"
            f'  - {{name: host-a, address: "{servers[0].address}"}}\n'
            f'  - {{name: host-b, address: "{servers[1].address}"}}\n'
            f"tcp_devices:\n{devices}"
            f"container_hosts:\n"
            f'  - {{name: sims, runtime: sim, control: "127.0.0.1:{farm.control_port}"}}\n'
            f"profiles:\n"
            f'  - {{profile: {profile}, serial: ["127.0.0.1:*"]}}\n'
            f'leases: {{dir: "{lease_dir}", wait_s: {wait_s}}}\n'
            f"health: {{recovery_budget_s: {recovery_budget_s}}}\n")


@contextmanager
def two_host_farm(tmp_path: Path, count: int, *, profile: str = FIXED_PROFILE, recovery_budget_s: float = 12.0,
                  wait_s: float = 20.0) -> Iterator[TwoHostFarm]:
    """`count` virtual devices, alternately on two private adb servers, and their farm file."""
    with SimFarm(profile, count=count, clock_scale=CLOCK_SCALE) as farm, \
            AdbServer.start() as host_a, AdbServer.start() as host_b:
        path = tmp_path / "farm.yaml"
        path.write_text(farm_file_text(farm, (host_a, host_b), profile=profile, lease_dir=tmp_path / "leases",
                                       recovery_budget_s=recovery_budget_s, wait_s=wait_s))
        yield TwoHostFarm(farm, (host_a, host_b), path)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in HARNESS_ENV}


def run_pytest(args: list[str], cwd: Path, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """pytest in a child process (its own xdist controller), output captured; a run that does not
    end within `timeout` fails the calling test instead of hanging it."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          env=clean_env(), capture_output=True, text=True, timeout=timeout)


@dataclass(frozen=True)
class Case:
    name: str
    outcome: str                    # passed, failure, error, skipped
    message: str
    properties: dict[str, str]


def junit_cases(path: Path) -> dict[str, Case]:
    """Test cases by name (the last one wins for a name seen twice: tests must not repeat)."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome, message = tag, element.get("message", "")
        properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        name = case.get("name", "")
        assert name not in cases, f"JUnit has {name} twice"
        cases[name] = Case(name, outcome, message, properties)
    return cases


def allure_results(directory: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*-result.json"))]
