"""Iterations to the first reproduction: race hunting vs the plain restart loop, same profile.

    .venv/bin/python bench/bench_hunt.py [--runs 20] [--cap 40] [--parallel 4] [--calibration 96]
                                         [--profile sim-android-8.1-buggy]

Every run is a real `harness repro` run (virtual device, private adb server, clock x4) on ONE
device that stops at its first reproduction (or after --cap iterations, counted as --cap: a
median that reaches the cap is a lower bound). Strategies, interleaved run by run, each run
with its own seed:

  restart     the plain loop: container restart, wait, classify
  hunt        `harness repro --hunt` from scratch: window provisioned (`stop; start`, the device
              waits until eth0 lost and regained its address, then flaps it), learning over
              delays 0:100:50 x down times 0:150:50 ms (12 buckets, Wilson-bound bandit)
  aimed       a link flap at the best bucket of a calibration hunt (the default hunt, --calibration
              iterations on 4 devices, before the runs): what a developer does after hunting

It prints, per strategy, the median / mean / max of iterations to the first reproduction (no
network + the EBUSY signature, as repro counts it) and to the first race seen (the signature
logged, network back or not), the per-attempt rate (reproductions / iterations over all runs,
the geometric estimate) and the ratio of the restart loop's medians to each hunting strategy's
(target: at least 3x fewer). Runs go --parallel at a time (each its own farm and adb server).

Measured on the 2-core development VM (other jobs running), 20 runs each, cap 40:

  --parallel 4 (321 s; calibration: best bucket 100/150 ms, 4/12)
    strategy             median  mean  max   race: median  per attempt
    restart                 3.5   5.2   23            3.5  20/105 (19.0%, 95% CI 12.7%-27.6%)
    hunt                      4   4.8   14              3  20/96  (20.8%, 95% CI 13.9%-30.0%)
    aimed (100/150 ms)        8   7.3   18            7.5  20/147 (13.6%, 95% CI  9.0%-20.1%)
  --parallel 2 (400 s; calibration: best bucket 50/50 ms, 8/18)
    restart                 3.5   5.2   23            3.5  20/105 (19.0%, 95% CI 12.7%-27.6%)
    hunt                    2.5   3.1    9              2  20/62  (32.3%, 95% CI 22.0%-44.6%)
    aimed (50/50 ms)          2   3.1   10            1.5  20/63  (31.7%, 95% CI 21.6%-44.0%)
  ratio restart / hunt: 0.88x (parallel 4), 1.40x (parallel 2); restart / aimed: 0.44x, 1.75x.
  The restart loop is seeded per run and gives the same numbers both times; the hunt's rate
  falls with host load (see the last point below).

The 3x target is NOT met, and it is out of reach on this device model; why, with the numbers:

* 3x fewer than a median of 3.5 means a hunt median of 1, i.e. more than half of the runs must
  reproduce on their FIRST iteration; for 20-run medians to show it reliably the first attempt
  must reproduce ~65% of the time or more. The restart loop's per-attempt rate is ~19-21%.
* The best per-attempt rate any flap reaches on sim-android-8.1-buggy is ~45%. Measured in
  virtual time (the simulator driven in-process, no adb, devices 5000-5149, ~115 boots per cell,
  what the device command does replayed with the kernel's link calls; an analysis outside the
  harness, which never reads the simulator): flap anchored on eth0's new lease, delays 0-70 ms x
  down 0-125 ms: 25-46% per cell, best 43-46% (delay 0-20 ms, down 75-125 ms); down 0: the race
  happens 70-76% of the time but only 26-32% end without network. The plain offset after `start`
  (the old framework window): at most ~39%.
* Why the ceiling: a reproduction needs both (a) the new agent registered before the old agent's
  CMD_CHANNEL_DISCONNECTED is queued, i.e. within the start-up backlog: its length from the anchor
  varies per boot from ~0 (the old agent registered before the apps' requests: no window at all,
  20-30% of boots) to ~450 ms; and (b) the old IpManager's late stopAllIP (40-450 ms, median 140)
  landing before the new IpManager's lease (DHCP 30-600 ms, median 110), or the cycle restarts
  and the next agent gets eth0. A longer down time buys (b) and spends (a). Waiting on the device
  until the old IpManager has cleared the address (down exactly as long as the wipe) gives at
  most 36%, and 47% with an oracle anchor; even an oracle that knows when system_server became ready and holds eth0 down so the
  registration lands at the start of the backlog reaches only 51-58%.
* In the adb runs the rate per bucket is lower than in virtual time (hunt 21-32%): the on-device
  poll loop (`ip | grep`, every 10 ms) runs in the simulator's shell, whose host time counts x4
  in device time at clock x4 and grows with host load, so the flap lands later than asked.
* With per-bucket rates of 20-45% that differ by less than the noise of a short hunt, a
  calibration hunt cannot rank the buckets (it picked 100/150 ms at 4/12 in one run, 50/50 ms at
  8/18 in another), which is why the aimed flap does not beat the hunt.

What the hunt gives instead is the map: rate and races seen per delay x down bucket with 95%
intervals (summary.html table, rate-per-delay.png grid), and a per-attempt rate about the restart
loop's, for a cost of one framework restart per attempt instead of a container restart.
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
