"""Iterations to the first reproduction: race hunting vs the plain restart loop, same profile.

    .venv/bin/python bench/bench_hunt.py [--runs 20] [--cap 40] [--profile sim-android-8.1-buggy]

Every run is a real `harness repro` run (virtual device, private adb server, clock x4) on ONE
device that stops at its first reproduction (or after --cap iterations, counted as --cap: a
median that reaches the cap is a lower bound). Strategies, interleaved run by run, each run
with its own seed:

  restart     the plain loop: container restart, wait, classify
  hunt        --hunt from scratch: `stop; start`, then a link flap at an offset swept over the
              default buckets in shuffled rounds
  aimed       a link flap at the best offset a calibration hunt found (one `--hunt` run of 64
              iterations on 4 devices before the runs): what a developer does after hunting

It prints, per strategy, the median / mean / max of iterations to the first reproduction (no
network + the EBUSY signature) and to the first race seen (the signature logged, whether or not
the network came back), and the ratio of the restart loop's medians to each hunting strategy's
(target: at least 3x fewer). Runs go --parallel at a time (each its own farm and adb server).

Measured on the 2-core development VM (other jobs running; 223 s):

    strategy            median    mean   max  capped   race: median    mean
    restart                3.5     5.2    22       0            3.5     4.4
    hunt                  13.5    18.1    40       4            4.5     5.8
    aimed (700 ms)         2.5     3.2    10       0              1     1.6

The 3x target is met only for the first race seen with the aimed flap (3.5x); it is not met for
the first reproduction. Why, on this device model: container restarts of sim-android-8.1-buggy
already end without network ~24% of the time (plain median 3-4, so 3x would need a hunt whose
median is ~1, i.e. > 50% per attempt from the first attempt on). A link flap reproduces only
while ConnectivityService has a backlog (after `stop; start`, ~600-900 ms after start): there
the race happens ~75% of the time, but the old IpManager's late stopAllIP (no awaitShutdown in
8.1) then usually triggers one more provisioning cycle that brings the network back, so the
no-network end state stays at ~35-40% per attempt (virtual-time sweeps of offset x down time),
and a sweep from scratch spends most attempts outside the window. Hunting's value here is the
map (rate and races seen per offset), after which an aimed flap races on nearly every attempt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.repro.app import ReproOptions, run_repro  # noqa: E402
from harness.repro.choices import DEFAULT_DELAYS, DEFAULT_DOWNS, Timing, parse_delays  # noqa: E402
from harness.repro.hunt import best as best_bucket  # noqa: E402
from harness.stats import rate  # noqa: E402

WINDOW = "provisioned"          # what `harness repro --hunt` uses by default
HUNT_DELAYS = parse_delays(DEFAULT_DELAYS[WINDOW])
HUNT_DOWNS = parse_delays(DEFAULT_DOWNS[WINDOW])


@dataclass(frozen=True)
class Strategy:
    name: str
    method: str
    delays_ms: tuple[float, ...] = (0.0,)
    downs_ms: tuple[float, ...] = (0.0,)

    def timing(self, seed: int) -> Timing:
        return Timing(window=WINDOW, delays_ms=self.delays_ms, down_s=self.downs_ms[0] / 1000.0,
                      downs_ms=self.downs_ms if len(self.downs_ms) > 1 else (), seed=seed)

    def options(self, profile: str, seed: int, cap: int, reports: Path) -> ReproOptions:
        return ReproOptions(profile=profile, devices=1, clock_scale=0.25, seed=seed, method=self.method,
                            iterations=cap, reproductions=1, timing=self.timing(seed),
                            reports=reports, progress=False)


def iterations_to_first(strategy: Strategy, profile: str, seed: int, cap: int, reports: Path) -> tuple[int, int]:
    """(iterations to the first reproduction, to the first race seen); `cap` when none."""
    with open(os.devnull, "w") as quiet:
        result = run_repro(strategy.options(profile, seed, cap, reports), out=quiet)
    trials = [r for r in result.records if r.outcome.is_trial]
    reproduced = next((n for n, r in enumerate(trials, 1) if r.reproduced), cap)
    raced = next((n for n, r in enumerate(trials, 1) if r.signatures), cap)
    return reproduced, raced


def calibrate(profile: str, reports: Path, iterations: int) -> tuple[float, float, str]:
    """One default hunt on 4 devices: the best bucket (delay, down) and the hunt's one-liner."""
    hunt = Strategy("hunt", "link-flap", HUNT_DELAYS, HUNT_DOWNS)
    options = replace(hunt.options(profile, 1, iterations, reports), devices=4, reproductions=None)
    with open(os.devnull, "w") as quiet:
        group = run_repro(options, out=quiet).judged
    top = best_bucket(group.buckets)
    assert top is not None and top.down_ms is not None, "the calibration hunt ran no trial"
    return top.delay_ms, top.down_ms, group.window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cap", type=int, default=40, help="iterations before a run gives up")
    parser.add_argument("--parallel", type=int, default=4, help="runs at a time")
    parser.add_argument("--profile", default="sim-android-8.1-buggy")
    parser.add_argument("--calibration", type=int, default=96, help="iterations of the calibration hunt")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-hunt-") as reports:
        delay, down, found = calibrate(args.profile, Path(reports), args.calibration)
        print(f"calibration hunt: {found}", file=sys.stderr, flush=True)
        strategies = (Strategy("restart", "container"),
                      Strategy("hunt", "link-flap", HUNT_DELAYS, HUNT_DOWNS),
                      Strategy(f"aimed ({delay:g}/{down:g} ms)", "link-flap", (delay,), (down,)))
        jobs = [(s, 1000 + run) for run in range(args.runs) for s in strategies]
        results: dict[str, list[tuple[int, int]]] = {s.name: [] for s in strategies}
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            futures = {pool.submit(iterations_to_first, s, args.profile, seed, args.cap, Path(reports)): s
                       for s, seed in jobs}
            for done, future in enumerate(as_completed(futures), 1):
                results[futures[future].name].append(future.result())
                print(f"{done}/{len(jobs)} {futures[future].name}: {future.result()}", file=sys.stderr, flush=True)
    print(f"iterations to the first reproduction (and to the first race seen), {args.runs} runs each, profile "
          f"{args.profile}, one virtual device per run (clock x4), cap {args.cap}; calibration: {found}; "
          f"{time.monotonic() - started:.0f}s")
    print(f"{'strategy':<22}{'median':>8}{'mean':>8}{'max':>6}{'capped':>8}   {'race: median':>12}{'mean':>8}"
          f"   per attempt (reproductions / iterations, 95% CI)")
    for name, values in results.items():
        first = [v[0] for v in values]
        race = [v[1] for v in values]
        print(f"{name:<22}{statistics.median(first):>8g}{statistics.mean(first):>8.1f}{max(first):>6}"
              f"{sum(v >= args.cap for v in first):>8}   {statistics.median(race):>12g}{statistics.mean(race):>8.1f}"
              f"   {rate(sum(v < args.cap for v in first), sum(first))}")
    restart = results["restart"]
    for name in list(results)[1:]:
        for what, k in (("reproduction", 0), ("race seen", 1)):
            ratio = statistics.median(v[k] for v in restart) / statistics.median(v[k] for v in results[name])
            print(f"first {what}: restart / {name} = {ratio:.2f}x "
                  f"(target >= 3x fewer iterations: {'met' if ratio >= 3 else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
