"""Device farms: many devices behind several adb servers, leased to test processes one at a time.

    harness.farm.spec       the farm file (YAML, strict, file:line errors)
    harness.farm.inventory  discovery (host:devices-l per server), profiles, capability probing
    harness.farm.lease      leases: lock files the OS frees when a holder dies, a JSON-lines log
    harness.farm.health     the health check between tests, against the device's baseline
    harness.farm.recovery   stepwise recovery within a budget, or quarantine
    harness.farm.run        a run's farm: farm file, --serial devices, or the embedded virtual devices
    harness.farm.transport  track-devices on every server, into the lease log
    harness.farm.worker     a test process's lease, health checks, swaps and retries (a pytest plugin)
    harness.farm.xdist      the xdist controller's side (registered only when xdist is there)
    harness.farm.summary    what the run did with the farm

How pytest gets its devices (harness.plugin asks `lease_devices()` first):

- an xdist worker of a distributed run leases one unit from the run's pool at its first device
  test; the controller (harness.farm.xdist) built the pool: the farm file's devices, the
  `--serial` devices, or N embedded virtual devices for `-n N`; it tells each worker which unit
  to try first, repairs a crashed worker's devices and gives the replacement that unit first;
- a single pytest process with `--farm FILE` builds the pool itself and leases from it;
- anything else (no farm, no xdist): None, and the plugin acquires devices as it always did.

A test whose `requires` marker the worker's device does not meet is skipped there with the
reason (harness.markers), not routed to a device that has it: run heterogeneous farms per device
class, or with `--dist each`. farms/README.md is the user's guide.

Leases are lock files (harness.farm.lease), chosen over a controller-only pool because they also
keep several independent pytest processes on one host (two CI jobs, a developer's loop next to
CI) off each other's devices, and because the kernel frees a dead process's lock: a crashed worker
can never keep its device. The controller still owns the pool: it discovers and starts the
devices, hands out the preferred units, and writes the summary.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.farm.run import FarmSetup
    from harness.plugin import DevicePool

WORKER_INPUT_KEY = "harness_farm"          # in xdist's workerinput: {"files": RunFiles json, "prefer": index}
FARM_ENV = "HARNESS_FARM"
SUMMARY_FILE = "farm-summary.json"         # beside the lease log
RETRY_MARKER = ("retry_on_infra: retry the test once (on another device when one is free) when it fails with an "
                "infrastructure-class error (device-lost, timeout, infrastructure); the first attempt is "
                "reported as a rerun")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("android", "Android device harness")
    group.addoption("--farm", dest="android_farm", default=None, metavar="FILE",
                    help="farm file (YAML: adb servers, TCP devices, container hosts, profiles): lease its "
                         "devices, one per xdist worker; env HARNESS_FARM, ini android_farm")
    group.addoption("--lease-log", dest="android_lease_log", default=None, metavar="PATH",
                    help="where leases are logged (JSON lines; default: the farm file's leases.log, else "
                         "reports/leases.jsonl); ini lease_log")
    parser.addini("android_farm", "farm file", default="")
    parser.addini("lease_log", "lease log path (JSON lines)", default="")


def farm_file(config: pytest.Config) -> str | None:
    return config.getoption("android_farm") or os.environ.get(FARM_ENV) or str(config.getini("android_farm")) or None


def lease_log(config: pytest.Config) -> str | None:
    return config.getoption("android_lease_log") or str(config.getini("lease_log")) or None


def lease_devices(config: pytest.Config) -> DevicePool | None:
    """This process's devices when it leases from a farm (see the module docstring), else None."""
    from harness.farm.worker import PLUGIN_NAME, FarmWorker
    worker = config.pluginmanager.get_plugin(PLUGIN_NAME) or register_worker(config)
    return worker.open() if isinstance(worker, FarmWorker) else None


def register_worker(config: pytest.Config) -> Any:
    """This process's FarmWorker plugin when it leases from a farm (None otherwise): an xdist
    worker registers it at configure time, so it sees every test; a single process with --farm
    when the plugin first asks for devices (before the first test)."""
    from harness.farm.run import RunFiles
    from harness.farm.worker import PLUGIN_NAME, FarmWorker, worker_holder
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    given = workerinput.get(WORKER_INPUT_KEY) if workerinput else None
    if given is not None:
        files, prefer = RunFiles.from_json(given["files"]), given.get("prefer")
    elif workerinput is None and farm_file(config):
        setup = start_setup(config, workers=1, background=False)
        files, prefer = setup.files, None
        config.pluginmanager.register(FarmReport(setup), FarmReport.NAME)
    else:
        return None
    worker = FarmWorker(config, files, worker_holder(), prefer)
    config.pluginmanager.register(worker, PLUGIN_NAME)
    return worker


def start_setup(config: pytest.Config, *, workers: int, background: bool) -> FarmSetup:
    """The run's farm (harness.farm.run), started; stopped when pytest ends."""
    from harness.farm.run import FarmSetup
    from harness.plugin import OPTIONS
    setup = FarmSetup.for_run(config.stash[OPTIONS], farm_file=farm_file(config), lease_log=lease_log(config),
                              rootdir=config.rootpath, workers=workers)
    config.add_cleanup(setup.close)
    setup.start(background=background)
    return setup


class FarmReport:
    """The run's farm summary: printed at the end, and written beside the lease log."""

    NAME = "android_harness_farm_report"

    def __init__(self, setup: FarmSetup) -> None:
        self.setup = setup
        self.lines: list[str] = []

    @pytest.hookimpl(trylast=True)       # after xdist stopped its workers: their leases are released
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from harness.farm.inventory import Inventory
        from harness.farm.lease import LeaseLog, LeasePool, read_log
        from harness.farm.summary import summarize
        inventory: Inventory | None = self.setup.inventory
        if inventory is None:
            return
        files = self.setup.files
        pool = LeasePool(files.directory, inventory.units(), LeaseLog(files.log, files.run))
        summary = summarize(inventory, pool.states(), read_log(files.log, files.run), files.log)
        summary.write(files.log.parent / SUMMARY_FILE)
        self.lines = summary.lines()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.lines:
            terminalreporter.write_sep("=", "android device farm")
            for line in self.lines:
                terminalreporter.write_line(line)
