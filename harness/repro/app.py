"""A whole `harness repro` run: set up the device groups, run them, summarise, write the reports.

    options = ReproOptions(profile="sim-android-8.1-buggy", devices=4, iterations=120)
    result = run_repro(options)          # RunResult; result.exit_status() -> (status, reason)

Reports go to <reports>/<run id>/ (run id = UTC timestamp + short random suffix): summary.json,
summary.html, the plots, iterations/<n>/ for every failing iteration, and with `allure_dir`
the allure-results.
"""

from __future__ import annotations

import datetime
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TextIO

from harness.errors import BadConfiguration
from harness.logs.signatures import Registry, load_registry
from harness.options import DEFAULT_PROFILE
from harness.report import allure_results, plots, summary_html, summary_json
from harness.repro import compare as ab
from harness.repro.artifacts import ITERATIONS_DIR
from harness.repro.hunt import buckets, window
from harness.repro.outcome import summarize
from harness.repro.progress import Progress
from harness.repro.result import GroupResult, RunResult
from harness.repro.runner import Group, RunState, StopPlan, run
from harness.repro.target import Target, Timing, real_target, settings_for, virtual_target
from harness.yamlcheck import ConfigError

DEFAULT_ADB_SERVER = "127.0.0.1:5037"


@dataclass(frozen=True)
class ReproOptions:
    profile: str = DEFAULT_PROFILE
    devices: int = 4
    clock_scale: float | None = 0.25
    seed: int | None = None
    serials: tuple[str, ...] = ()
    adb_server: str | None = None
    method: str = "container"
    iterations: int | None = 120
    reproductions: int | None = None
    duration_s: float | None = None
    max_rate: float | None = None
    timing: Timing = field(default_factory=Timing)
    compare: tuple[str, str] | None = None              # two profiles (virtual devices)
    serials_a: tuple[str, ...] = ()                     # two serial groups (real devices)
    serials_b: tuple[str, ...] = ()
    reports: Path = Path("reports")
    allure_dir: Path | None = None
    progress: bool = True

    @property
    def comparing(self) -> bool:
        return self.compare is not None or bool(self.serials_a or self.serials_b)


def new_run_id() -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _targets(options: ReproOptions) -> list[tuple[str, str, list[str] | None]]:
    """(group name, profile, serials or None for virtual devices) of each group."""
    if options.compare is not None:
        a, b = options.compare
        return [("A", a, None), ("B", b, None)]
    if options.serials_a or options.serials_b:
        if not (options.serials_a and options.serials_b):
            raise BadConfiguration("--serial-a and --serial-b: give both groups of devices to compare")
        return [("A", options.profile, list(options.serials_a)), ("B", options.profile, list(options.serials_b))]
    return [("", options.profile, list(options.serials) or None)]


def _start(options: ReproOptions, name: str, profile: str, serials: list[str] | None) -> Target:
    if serials is None:
        return virtual_target(profile, options.devices, group=name, seed=options.seed,
                              clock_scale=options.clock_scale)
    return real_target(serials, options.adb_server or DEFAULT_ADB_SERVER, profile, group=name)


def parameters(options: ReproOptions, targets: list[Target]) -> dict:
    timing = asdict(options.timing)
    data = {"mode": "compare" if options.comparing else "hunt" if options.method == "link-flap" else "repro",
            "method": options.method, "profile": options.profile,
            "profiles": [t.profile.name for t in targets],
            "virtual_devices": options.devices if any(t.virtual for t in targets) else 0,
            "serials": [s.serial for t in targets for s in t.sessions],
            "adb_server": options.adb_server, "clock_scale": [t.clock_scale for t in targets],
            "iterations": options.iterations, "reproductions": options.reproductions,
            "duration_s": options.duration_s, "max_rate": options.max_rate, "seed": options.seed,
            "network_timeout_device_s": timing["network_timeout"], "boot_timeout_s": timing["boot_timeout"],
            "settle_device_s": timing["settle"]}
    if options.method == "link-flap":
        data.update(window=timing["window"], delays_ms=list(timing["delays_ms"]), down_ms=timing["down_s"] * 1000,
                    downs_ms=list(timing["downs_ms"]))
    return data


def run_repro(options: ReproOptions, argv: tuple[str, ...] = (), out: TextIO | None = None) -> RunResult:
    out = out or sys.stdout
    try:
        registry = load_registry()
    except ConfigError as e:
        raise BadConfiguration("; ".join(str(e).splitlines())) from None
    run_id = new_run_id()
    run_dir = options.reports / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    started_at = time.time()
    targets: list[Target] = []
    try:
        groups = []
        for name, profile, serials in _targets(options):
            target = _start(options, name, profile, serials)
            targets.append(target)
            settings = settings_for(target, options.method, options.timing, registry, run_dir)
            groups.append(Group(name, target.profile.name, target.sessions, settings))
        label = ", ".join(f"{t.group + ': ' if t.group else ''}{len(t.sessions)} x {t.profile.name}"
                          + (f" (virtual, clock x{1 / t.clock_scale:g})" if t.virtual else "") for t in targets)
        print(f"harness repro {run_id}: {options.method} on {label}", file=out, flush=True)
        plan = StopPlan(options.iterations, options.reproductions, options.duration_s)
        total = options.iterations * len(groups) if options.iterations else None
        progress = Progress(total, stream=out, enabled=options.progress)
        try:
            state = run(groups, plan, on_record=lambda group, record: progress.update(record))
        finally:
            progress.close()
    finally:
        for target in targets:
            target.stop()
    result = _result(options, argv, run_id, run_dir, started_at, targets, groups, state)
    return write_reports(result, registry, options.allure_dir)


def _result(options: ReproOptions, argv: tuple[str, ...], run_id: str, run_dir: Path, started_at: float,
            targets: list[Target], groups: list[Group], state: RunState) -> RunResult:
    results = []
    for group in groups:
        stats = summarize(group.records)
        found = tuple(buckets(group.records, group.settings.sweep.points)) if group.settings.sweep else ()
        results.append(GroupResult(group.name, group.profile, tuple(group.records), stats, found,
                                   window(list(found)) if found else ""))
    sessions = [s for t in targets for s in t.sessions]
    infrastructure = None
    if state.aborted is not None:
        infrastructure = str(state.aborted)
    elif sessions and all(s.excluded for s in sessions):
        infrastructure = "every device was excluded: " + "; ".join(
            f"{s.serial}: {s.excluded.splitlines()[0]}" for s in sessions if s.excluded)
    comparison = None
    if len(results) == 2:
        comparison = ab.verdict(results[0].label, results[0].stats, results[1].label, results[1].stats)
    return RunResult(run_id=run_id, run_dir=run_dir, started_at=started_at, finished_at=time.time(),
                     command=argv, parameters=parameters(options, targets),
                     devices=tuple(s.describe() for s in sessions), groups=tuple(results),
                     stop_reason=state.stop_reason or "done", infrastructure_failure=infrastructure,
                     comparison=comparison, max_rate=options.max_rate)


def write_reports(result: RunResult, registry: Registry, allure_dir: Path | None) -> RunResult:
    """Plots, summary.json, summary.html (and allure-results); returns the result with its paths."""
    images = plots.render(result)
    paths = {"summary_json": summary_json.FILE_NAME, "summary_html": summary_html.FILE_NAME,
             **{f"plot_{name}": plots.FILES[name] for name in images}}
    failing = [r.artifacts for r in result.records if r.artifacts]
    if failing:
        paths["iterations"] = ITERATIONS_DIR
    if allure_dir is not None:
        paths["allure_results"] = str(allure_dir.resolve())
    result = replace(result, paths=paths)
    plots.write_plots(images, result.run_dir)
    summary_json.write(result)
    summary_html.write(result, images)
    if allure_dir is not None:
        allure_results.write(result, allure_dir, registry)
    return result
