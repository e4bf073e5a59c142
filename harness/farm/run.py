"""The farm of one test run: where its devices come from, and where its leases live.

`FarmSetup.for_run()` decides, from the harness options:

    --farm FILE                  the farm file's servers and devices (discovered, probed)
    --serial S ... (with xdist)  those devices on the given adb server
    neither (with xdist)         the embedded default: one virtual-device farm of N devices (N =
                                 the number of workers) behind a private adb server, started by
                                 the controller, stopped at the end of the run

`FarmSetup.start()` does the work (in the background with `background=True`, so xdist workers
start meanwhile), follows every adb server's transport events into the lease log
(harness.farm.transport), and writes `pool.json` in the run's lease directory; every process of the run
(xdist workers, or the single pytest process) reads it through `RunFiles.inventory()` and leases
from the same directory. A failure is written there too, so workers stop with its message
instead of waiting.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BadConfiguration, HarnessError
from harness.farm.inventory import Inventory, discover
from harness.farm.lease import LeaseLog
from harness.farm.spec import (DEFAULT_LEASE_WAIT_S, AdbServerSpec, ContainerHostSpec, ContainerRef, FarmSpec,
                               LeaseSettings, ProfileRule, TcpDeviceSpec, load_farm)
from harness.farm.transport import TransportLog
from harness.reporting.files import write_atomic
from harness.yamlcheck import ConfigError

if TYPE_CHECKING:
    from harness.embedded import EmbeddedDevices
    from harness.options import HarnessOptions

POOL_FILE = "pool.json"
DEFAULT_LEASE_LOG = Path("reports") / "leases.jsonl"
POOL_WAIT_S = 180.0            # how long a worker waits for the controller's devices
_POLL_S = 0.1


@dataclass(frozen=True)
class RunFiles:
    """What every process of a run needs to lease: the lease directory, the log, the run id."""
    directory: Path
    log: Path
    run: str
    wait_s: float = DEFAULT_LEASE_WAIT_S

    def to_json(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "log": str(self.log), "run": self.run, "wait_s": self.wait_s}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunFiles:
        return cls(Path(data["directory"]), Path(data["log"]), str(data["run"]), float(data["wait_s"]))

    @property
    def pool_file(self) -> Path:
        return self.directory / POOL_FILE

    def write_inventory(self, inventory: Inventory | None, error: str | None = None) -> None:
        data = {"run": self.run, "error": error, "inventory": inventory.to_json() if inventory else None}
        write_atomic(self.pool_file, json.dumps(data))

    def inventory(self, timeout: float = POOL_WAIT_S) -> Inventory:
        """The run's inventory, once the process that builds it wrote it (HarnessError when it
        failed, or did not finish within `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                data = json.loads(self.pool_file.read_text(encoding="utf-8"))
            except (FileNotFoundError, ValueError):
                data = None
            if data is not None and data.get("run") == self.run:
                if data.get("error"):
                    raise HarnessError(f"the run's devices are unavailable: {data['error']}")
                return Inventory.from_json(data["inventory"])
            if time.monotonic() >= deadline:
                raise HarnessError(f"the run's devices were not ready within {timeout:g}s ({self.pool_file})")
            time.sleep(_POLL_S)


def new_run_id() -> str:
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


def default_lease_dir(farm: str) -> Path:
    """Per user and per farm, so several pytest processes on one host share their leases."""
    return Path(tempfile.gettempdir()) / f"android-harness-{os.getuid()}" / f"farm-{farm}"


class FarmSetup:
    """The controller's (or a single process's) side of a run's farm."""

    def __init__(self, spec: FarmSpec | None, files: RunFiles, *, embedded_count: int = 0,
                 options: HarnessOptions | None = None, owns_directory: bool = False) -> None:
        self.spec = spec
        self.files = files
        self.embedded_count = embedded_count
        self.options = options
        self.owns_directory = owns_directory      # a private directory: removed by close()
        self.embedded: EmbeddedDevices | None = None
        self.inventory: Inventory | None = None
        self.error: str | None = None
        self.transport: TransportLog | None = None     # track-devices on the farm's servers, into the lease log
        self._thread: threading.Thread | None = None

    @classmethod
    def for_run(cls, options: HarnessOptions, *, farm_file: str | None, lease_log: str | None, rootdir: Path,
                workers: int) -> FarmSetup:
        """BadConfiguration for a bad farm file (every problem, file:line:col)."""
        run = new_run_id()
        if farm_file:
            try:
                spec = load_farm(farm_file)
            except ConfigError as e:
                raise BadConfiguration("; ".join(str(e).splitlines())) from None
            directory = Path(spec.leases.dir) if spec.leases.dir else default_lease_dir(spec.name)
            log = _log_path(lease_log or spec.leases.log, rootdir)
            return cls(spec, RunFiles(directory, log, run, spec.leases.wait_s), options=options)
        directory = Path(tempfile.mkdtemp(prefix="harness-farm-"))
        files = RunFiles(directory, _log_path(lease_log, rootdir), run)
        if options.serials.value:
            return cls(_serials_spec(options), files, options=options, owns_directory=True)
        return cls(None, files, embedded_count=max(1, workers), options=options, owns_directory=True)

    # -- building the inventory ---------------------------------------------------------------------
    def start(self, *, background: bool = False) -> None:
        if background:
            self._thread = threading.Thread(target=self._start, name="harness-farm-setup", daemon=True)
            self._thread.start()
        else:
            self._start()

    def wait(self, timeout: float = POOL_WAIT_S) -> Inventory:
        if self._thread is not None:
            self._thread.join(timeout)
        if self.inventory is None:
            raise HarnessError(f"the run's devices are unavailable: {self.error or 'still starting'}")
        return self.inventory

    def _start(self) -> None:
        try:
            spec = self.spec if self.spec is not None else self._start_embedded()
            inventory = discover(spec)
            if not inventory.units():
                raise HarnessError("no usable device: " + "; ".join(
                    [f"{d.id}: {d.problem or 'excluded'}" for d in inventory.devices] + list(inventory.problems))
                    if inventory.devices or inventory.problems else "no usable device: no adb server lists any")
            self.inventory = inventory
            self.transport = TransportLog(inventory, LeaseLog(self.files.log, self.files.run)).start()
            self.files.write_inventory(inventory)
        except Exception as e:          # every failure must reach the workers waiting for pool.json
            self.error = e.message if isinstance(e, HarnessError) else f"{type(e).__name__}: {e}"
            self.files.write_inventory(None, self.error)

    def _start_embedded(self) -> FarmSpec:
        from harness.embedded import EmbeddedDevices
        assert self.options is not None
        address = self.options.adb_server.value
        lab = EmbeddedDevices(self.options.profile.value, self.embedded_count,
                              adb_address=str(address) if address else None,
                              clock_scale=self.options.clock_scale.value)
        self.embedded = lab
        lab.start()
        assert lab.server is not None and lab.control_port is not None
        return embedded_spec(lab.server.address, lab.serials, self.options.profile.value, lab.control_port,
                             self.files.directory.name)

    def close(self) -> None:
        """Stop what start() started; remove a private lease directory (the log stays)."""
        if self._thread is not None:
            self._thread.join(POOL_WAIT_S)
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.stop()
        embedded, self.embedded = self.embedded, None
        if embedded is not None:
            embedded.stop()
        if self.owns_directory:
            shutil.rmtree(self.files.directory, ignore_errors=True)


def embedded_spec(server: str, serials: list[str], profile: str, control_port: int, name: str) -> FarmSpec:
    """The farm of the embedded virtual devices: one private adb server, one sim container host."""
    control = f"127.0.0.1:{control_port}"
    return FarmSpec(name=_farm_name(name), adb_servers=[AdbServerSpec(address=server, name="private")],
                    tcp_devices=[TcpDeviceSpec(address=s, server="private", container=ContainerRef(host="sim"))
                                 for s in serials],
                    container_hosts=[ContainerHostSpec(name="sim", runtime="sim", control=control)],
                    profiles=[ProfileRule(profile=profile, serial=["*"])],
                    include=list(serials), leases=LeaseSettings())


def _serials_spec(options: HarnessOptions) -> FarmSpec:
    """`--serial` devices on the given (or default) adb server; host:port serials are connected."""
    server = str(options.adb_server_address)
    serials = list(options.serials.value)
    rules = [ProfileRule(profile=options.profile.value, serial=["*"])] if options.profile.source != "default" else []
    tcp = [TcpDeviceSpec(address=s, server=server) for s in serials if ":" in s]
    return FarmSpec(name="serials", adb_servers=[AdbServerSpec(address=server)], tcp_devices=tcp,
                    profiles=rules, include=serials)


def _farm_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "_.-" else "-" for c in text)[:64] or "farm"


def _log_path(given: str | None, rootdir: Path) -> Path:
    path = Path(given) if given else DEFAULT_LEASE_LOG
    return path if path.is_absolute() else rootdir / path
