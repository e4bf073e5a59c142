"""`harness repro`: reproduce the eth0 EBUSY start-up race, measure its rate, hunt its window.

With no device named it starts virtual devices (profile sim-android-8.1-buggy, 4 devices, clock
x4 faster: --clock-scale 0.25, so the default 120 iterations take well under a minute) behind a
private adb server. Each iteration: mark logcat, restart (or flap eth0), wait for boot, wait for
the network within the profile's bound, classify: ok | known-regression | no-network |
boot-timeout | device-lost. Failing iterations keep their evidence under
reports/<run id>/iterations/<n>/; summary.json, summary.html and the plots are written at the end.

  harness repro                                         the default: 120 container restarts
  harness repro --reproductions 5 --duration 600        stop at whichever comes first
  harness repro --hunt                                  hunt the race with timed link flaps, rate per bucket
  harness repro --compare sim-android-8.1-buggy sim-android-8.1-fixed
  harness repro --serial 10.0.0.21:5555 --adb-server farm-3:5037 --profile redroid-8.1

Link flaps (--method link-flap, --hunt) run as one on-device command so adb latency does not
blur the timing. --window provisioned (the default for --hunt) runs `stop; start`, lets the device
wait until the framework has provisioned eth0 again, and flaps it DELAY ms later for DOWN ms,
while ConnectivityService is busy with the apps' start-up requests; --window framework flaps
DELAY ms after start (the default for a plain --method link-flap); --window idle flaps a quiet
device with DELAY ms between down and up. --hunt learns over delays x down times: each attempt
goes to the most promising bucket (highest 95% upper bound of its rate), and the report gives the
rate per bucket.

Exit status (for CI):
  0  no known regression was reproduced (or its rate stayed under --max-rate)
  1  the known regression was reproduced
  2  infrastructure failure (no usable device, adb server gone, every device lost) or bad usage
With --compare the status is group B's: `--compare BUGGY FIXED` exits 0 when FIXED is clean.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from harness.cli._argtypes import bounded_float, clock_scale as _clock_scale, seed as _seed
from harness.errors import BadConfiguration, HarnessError
from harness.options import DEFAULT_PROFILE, check_serial, parse_host_port
from harness.repro.choices import (DEFAULT_DELAYS, DEFAULT_DOWNS, EXIT_INFRASTRUCTURE, METHODS, WINDOWS, Timing,
                                   parse_delays)

if TYPE_CHECKING:      # the run's modules (scipy, matplotlib) load only when the subcommand runs
    from harness.repro.app import ReproOptions
    from harness.repro.result import RunResult

DEFAULT_ITERATIONS = 120          # over 4 devices: a meaningful interval in well under a minute
# Per group. Against 0 reproductions, Fisher's p < 0.001 needs k >= 11 (whatever n); at the buggy
# profile's lowest observed rate (~18%) 120 iterations expect k ~ 22 and fall short < 1% of the time.
DEFAULT_COMPARE_ITERATIONS = 120
DEFAULT_CLOCK_SCALE = 0.25        # virtual devices run 4x faster than real time
MAX_DEVICES = 64


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _devices(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_DEVICES:
        raise argparse.ArgumentTypeError(f"expected 1-{MAX_DEVICES} devices, got {text!r}")
    return value


_seconds = bounded_float(0, 7 * 86400, "a number of seconds > 0")
_fraction = bounded_float(0, 1, "a rate between 0 and 1 (0.05 = 5%)", low_inclusive=True)


def _delays(text: str) -> tuple[float, ...]:
    try:
        return parse_delays(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("repro", help="reproduce the eth0 EBUSY start-up race and measure its rate",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_argument_group("devices")
    target.add_argument("--profile", default=DEFAULT_PROFILE, metavar="NAME|PATH",
                        help=f"device profile (default {DEFAULT_PROFILE})")
    target.add_argument("--devices", type=_devices, default=4, metavar="N",
                        help="virtual devices per group (default 4)")
    target.add_argument("--clock-scale", type=_clock_scale, default=DEFAULT_CLOCK_SCALE, metavar="X",
                        help=f"virtual device time speed (default {DEFAULT_CLOCK_SCALE}: 4x faster than real time; "
                             "profile bounds are scaled with it)")
    target.add_argument("--seed", type=_seed, help="seed of the virtual devices' timings and of the delay sweep order")
    target.add_argument("--serial", action="append", default=[], metavar="SERIAL",
                        help="a real device (repeatable); needs --profile of a real kind")
    target.add_argument("--adb-server", metavar="HOST:PORT", help="adb server of --serial devices (default 127.0.0.1:5037)")

    what = parser.add_argument_group("what to do")
    what.add_argument("--method", choices=METHODS, default="container",
                      help="stimulus of each iteration (default container: the profile's container restart)")
    what.add_argument("--hunt", action="store_true",
                      help="race hunting: --method link-flap over --delays x --down-ms, learning which "
                           "bucket reproduces; rate per bucket")
    what.add_argument("--window", choices=WINDOWS,
                      help="link flaps: provisioned (stop; start, flap DELAY after eth0 is provisioned again; "
                           "default for --hunt), framework (flap DELAY after start; default otherwise) or idle "
                           "(DELAY between down and up on a quiet device)")
    what.add_argument("--delays", type=_delays, metavar="START:STOP:STEP|A,B,...",
                      help="link-flap delays in ms (default " + ", ".join(f"{w}: {d}" for w, d in DEFAULT_DELAYS.items())
                           + "; plain --method link-flap: 0)")
    what.add_argument("--down-ms", type=_delays, metavar="START:STOP:STEP|A,B,...",
                      help="provisioned and framework windows: how long eth0 stays down, ms (default --hunt: "
                           + ", ".join(f"{w}: {d}" for w, d in DEFAULT_DOWNS.items()) + "; otherwise 0)")
    what.add_argument("--compare", nargs=2, metavar=("A", "B"),
                      help="A/B: run virtual devices of two profiles and compare their rates (Fisher's exact test)")
    what.add_argument("--serial-a", action="append", default=[], metavar="SERIAL", help="A/B: group A's real devices")
    what.add_argument("--serial-b", action="append", default=[], metavar="SERIAL", help="A/B: group B's real devices")

    stop = parser.add_argument_group("when to stop (whichever comes first)")
    stop.add_argument("--iterations", type=_positive_int, metavar="N",
                      help=f"iterations per group (default {DEFAULT_ITERATIONS}; {DEFAULT_COMPARE_ITERATIONS} per "
                           "group with --compare; none when --reproductions or --duration is given)")
    stop.add_argument("--reproductions", type=_positive_int, metavar="K", help="stop after K reproductions")
    stop.add_argument("--duration", type=_seconds, metavar="SECONDS", help="start no iteration after this long")

    tuning = parser.add_argument_group("bounds and verdict")
    tuning.add_argument("--network-timeout", type=_seconds, metavar="SECONDS",
                        help="device seconds a device may take to get its network (default: the profile's)")
    tuning.add_argument("--boot-timeout", type=_seconds, metavar="SECONDS",
                        help="host seconds a restarted or lost device may take to come back (default: the profile's)")
    tuning.add_argument("--settle", type=_seconds, default=5.0, metavar="SECONDS",
                        help="device seconds without network after a known signature before the iteration "
                             "counts as reproduced (default 5)")
    tuning.add_argument("--max-rate", type=_fraction, metavar="RATE",
                        help="exit 0 while the reproduction rate stays under RATE (e.g. 0.05)")

    output = parser.add_argument_group("output")
    output.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR",
                        help="where the run directory is made (default reports/)")
    output.add_argument("--allure", type=Path, metavar="DIR", help="also write allure-results to DIR")
    output.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    parser.set_defaults(func=run)
    return parser


def options_from(args: argparse.Namespace) -> ReproOptions:
    """ReproOptions from parsed arguments; BadConfiguration for combinations that cannot work."""
    from harness.repro.app import ReproOptions
    method = "link-flap" if args.hunt else args.method
    if args.hunt and args.method not in ("container", "link-flap"):
        raise BadConfiguration(f"--hunt flaps eth0: it cannot be combined with --method {args.method}")
    if args.compare and (args.serial or args.serial_a or args.serial_b):
        raise BadConfiguration("--compare takes two profiles of virtual devices; compare real devices with "
                               "--serial-a/--serial-b and one --profile")
    if bool(args.serial_a) != bool(args.serial_b):
        raise BadConfiguration("--serial-a and --serial-b: give both groups of devices to compare")
    if args.serial and args.serial_a:
        raise BadConfiguration("--serial and --serial-a/--serial-b: use one or the other")
    for serial in [*args.serial, *args.serial_a, *args.serial_b]:
        check_serial(serial, "--serial")
    if args.adb_server:
        parse_host_port(args.adb_server, "--adb-server")
    window = args.window or ("provisioned" if args.hunt else "framework")
    if window == "idle" and args.down_ms is not None:
        raise BadConfiguration("--down-ms: with --window idle the delay is the down time; give --delays")
    comparing = bool(args.compare or args.serial_a)
    iterations = args.iterations
    if iterations is None and args.reproductions is None and args.duration is None:
        iterations = DEFAULT_COMPARE_ITERATIONS if comparing else DEFAULT_ITERATIONS
    delays = args.delays
    if delays is None:
        delays = parse_delays(DEFAULT_DELAYS[window]) if args.hunt else (0.0,)
    downs = args.down_ms
    if downs is None:
        downs = parse_delays(DEFAULT_DOWNS[window]) if args.hunt and window in DEFAULT_DOWNS else (0.0,)
    timing = Timing(network_timeout=args.network_timeout, boot_timeout=args.boot_timeout, settle=args.settle,
                    window=window, down_s=downs[0] / 1000.0, delays_ms=delays,
                    downs_ms=downs if len(downs) > 1 else (), seed=args.seed)
    return ReproOptions(profile=args.profile, devices=args.devices, clock_scale=args.clock_scale, seed=args.seed,
                        serials=tuple(args.serial), adb_server=args.adb_server, method=method,
                        iterations=iterations, reproductions=args.reproductions, duration_s=args.duration,
                        max_rate=args.max_rate, timing=timing, compare=tuple(args.compare) if args.compare else None,
                        serials_a=tuple(args.serial_a), serials_b=tuple(args.serial_b), reports=args.reports,
                        allure_dir=args.allure, progress=not args.no_progress)


def run(args: argparse.Namespace) -> int:
    from harness.repro.app import run_repro
    try:
        options = options_from(args)
        result = run_repro(options, argv=tuple(sys.argv))
    except BadConfiguration as e:
        print(f"harness repro: error: {e.message}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    except HarnessError as e:
        print(f"harness repro: infrastructure failure: {e}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    print(render_summary(result), flush=True)
    return result.exit_status()[0]


def render_summary(result: RunResult) -> str:
    status, reason = result.exit_status()
    lines = ["", f"run {result.run_id}: stopped because {result.stop_reason}"]
    for group in result.groups:
        s = group.stats
        counts = ", ".join(f"{name} {n}" for name, n in s.counts.items() if n)
        lines += [f"{group.label}: {s.iterations} iterations ({counts or 'none'})",
                  f"  reproduction rate: {s.rate}",
                  f"  time to network: {s.ttn.render()}"]
        if s.signatures:
            lines.append("  signatures: " + ", ".join(f"{k} x{v}" for k, v in s.signatures.items()))
        if s.recovered:
            lines.append(f"  recovered: {s.recovered} ok iteration(s) logged a signature but got their network back")
        if group.window:
            lines.append(f"  hunt: {group.window}")
            lines += [f"    {b.label:>11} ms: {b.rate}" for b in group.buckets if b.rate.n]
    if result.comparison is not None:
        lines.append(f"A/B: {result.comparison.text}")
    excluded = [d for d in result.devices if d.get("excluded")]
    lines += [f"excluded {d['serial']}: {d['excluded'].splitlines()[0]}" for d in excluded]
    run_dir = result.run_dir
    lines.append(f"reports in {run_dir}/:")
    lines += [f"  {run_dir / path if not Path(path).is_absolute() else path}" for path in result.paths.values()]
    lines.append(f"exit status {status}: {reason}")
    return "\n".join(lines)
