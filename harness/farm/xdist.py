"""The xdist controller's side of a farm run (pattern C of pytest-ecosystem.md §2.2, with the
leases themselves in lock files: harness.farm.lease). Registered by harness.plugin only when
pytest-xdist is installed: its hooks are xdist's.

- `-n auto` is the number of usable lease units of the farm (`--farm FILE` or `--serial`), found
  by discovering and probing it first; with the embedded virtual devices it stays xdist's
  default (the CPU count) and that many devices are started;
- at session start the controller builds the pool (in the background: workers start meanwhile)
  and gives each worker, in `workerinput`, the run's lease files and the unit to try first;
- a worker that crashed (`pytest_testnodedown` with an error) is logged; the kernel freed its
  lock, and the controller leases its device at once (in the background) to health-check it and
  repair or quarantine it; its replacement tries that unit first. Whoever leases such a device
  first finds that its holder died, and checks it before anything runs on it;
- a worker left without a device (its device quarantined, no other free) reports it on its
  failing test; the controller then shuts that worker down, so the remaining tests go to
  workers that have a device instead of failing one after another on it;
- at the end the farm summary is printed and written (harness.farm.FarmReport).

Only `--dist load` (the default of `-n`) and `worksteal` are meant for device runs: `loadgroup`
hangs after a worker crash on xdist 3.8.0 and ignores groups with pytest 9.2 (§2.2 E).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from harness.farm import WORKER_INPUT_KEY, FarmReport, farm_file, register_worker, start_setup
from harness.farm.lease import LeaseLog
from harness.farm.run import FarmSetup
from harness.farm.worker import DEVICELESS_PROPERTY, FarmWorker
from harness.plugin import OPTIONS

PLUGIN_NAME = "android_harness_farm_xdist"
REPAIR_WAIT_S = 10.0           # how long the controller waits for the kernel to free a dead worker's locks
REPAIR_JOIN_S = 600.0          # a repair is bounded by the farm's recovery budget; this only guards the end
INTERRUPTED = "keyboard-interrupt"   # xdist's `error` for a worker stopped by Ctrl-C: not a crash


class XdistFarm:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.setup: FarmSetup | None = None
        self._next_index = 0
        self._orphans: list[int] = []            # units of crashed workers, for their replacements
        self._index_of: dict[str, int] = {}      # worker id -> the unit index it was told to try first
        self._shut_down: set[str] = set()
        self.notes: list[str] = []
        self._repairs: list[threading.Thread] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        """On a worker of a farm run: the worker's lease plugin, before any test."""
        if WORKER_INPUT_KEY in getattr(config, "workerinput", {}):
            register_worker(config)

    def _distributed(self) -> bool:
        config = self.config
        return (not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no"
                and bool(config.getoption("tx", None)) and not config.option.collectonly)

    # -- workers --------------------------------------------------------------------------------
    def pytest_xdist_auto_num_workers(self, config: pytest.Config) -> int | None:
        """`-n auto`: one worker per usable unit of a farm file or of --serial devices."""
        from harness.plugin import harness_options
        if not (farm_file(config) or config.getoption("android_serial") or config.getini("android_serial")):
            return None
        config.stash[OPTIONS] = harness_options(config)
        self.setup = start_setup(config, workers=1, background=False)
        return max(1, len(self.setup.inventory.units())) if self.setup.inventory else 1

    @pytest.hookimpl(tryfirst=True)          # before xdist's own sessionstart starts the workers
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Build the pool: the embedded devices in the background (one per worker), a farm file's
        or --serial devices at once, so that a farm with no usable device stops the run here and
        one with fewer units than workers gets fewer workers (each would wait for a device)."""
        if not self._distributed():
            return
        config = self.config
        workers = len(config.getoption("tx"))
        embedded = not (farm_file(config) or config.stash[OPTIONS].serials.value)
        if self.setup is None:
            self.setup = start_setup(config, workers=workers, background=embedded)
        config.pluginmanager.register(FarmReport(self.setup), FarmReport.NAME)
        if embedded:
            return
        if self.setup.inventory is None:
            pytest.exit(f"android devices unavailable: {self.setup.error}", returncode=pytest.ExitCode.INTERNAL_ERROR)
        units = len(self.setup.inventory.units())
        if units < workers:
            config.option.tx = config.getoption("tx")[:units]
            self.notes.append(f"{workers} workers asked, {units} started: the farm has {units} usable lease units")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for note in self.notes:
            terminalreporter.write_line(f"android farm: {note}")

    def pytest_configure_node(self, node: Any) -> None:
        if self.setup is None:
            return
        if self._orphans:
            index = self._orphans.pop(0)
        else:
            index, self._next_index = self._next_index, self._next_index + 1
        self._index_of[node.gateway.id] = index
        node.workerinput[WORKER_INPUT_KEY] = {"files": self.setup.files.to_json(), "prefer": index}

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        """A crashed worker: its replacement tries its unit first, and the controller repairs the
        device(s) it held in the background, before anyone else can lease them."""
        if self.setup is None or error is None or error == INTERRUPTED:
            return
        worker = node.gateway.id
        index = self._index_of.get(worker)
        if index is not None and worker not in self._shut_down:
            self._orphans.append(index)
        files = self.setup.files
        LeaseLog(files.log, files.run).append("worker_crash", worker=worker, error=str(error).splitlines()[0]
                                              if str(error) else "crashed")
        repairer = FarmWorker(self.config, files, f"controller/{os.getpid()}")
        thread = threading.Thread(target=repairer.repair, args=(f"{worker}/", REPAIR_WAIT_S),
                                  name=f"harness-farm-repair-{worker}", daemon=True)
        thread.start()
        self._repairs.append(thread)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Repairs end before the summary reads the devices' states and the devices stop."""
        for thread in self._repairs:
            thread.join(REPAIR_JOIN_S)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Shut down a worker that has no device left, once: its queued tests still run (and
        fail as infrastructure), the rest of the run goes to the others."""
        holder = dict(report.user_properties).get(DEVICELESS_PROPERTY)
        node = getattr(report, "node", None)
        if holder is None or node is None or node.gateway.id in self._shut_down:
            return
        self._shut_down.add(node.gateway.id)
        node.shutdown()
