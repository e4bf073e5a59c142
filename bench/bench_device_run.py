"""Benchmark: `Device.run("true")` against `adb -s SERIAL shell true` run as a subprocess per call
(how Mobly and ACTS call adb), interleaved side by side on one virtual device behind a private adb
server; adbutils' own `shell2("true", v2=True)` is timed in the same loop for reference. Prints
the median, p90 and max of each and the ratio of the medians (subprocess / Device.run).
Target: the harness at least 10x faster.

    .venv/bin/python bench/bench_device_run.py [--calls 50] [--warmup 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from harness.device import Device
from harness.embedded import EmbeddedDevices
from harness.stats import percentiles

TARGET_RATIO = 10.0


def _time_call(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50, help="calls of each kind (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls of each kind first (default 5)")
    args = parser.parse_args(argv)

    with EmbeddedDevices("sim-android-8.1-buggy", count=1) as lab:
        server = lab.server
        serial = lab.serials[0]
        device = Device(serial, server, default_timeout=30.0)
        device.wait_for_boot(timeout=60)
        adb_cmd = [server.adb_path, "-H", server.host, "-P", str(server.port), "-s", serial, "shell", "true"]
        env = server.env()

        def harness_call() -> None:
            if not device.run("true").ok:
                raise SystemExit("Device.run('true') failed")

        def subprocess_call() -> None:
            done = subprocess.run(adb_cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=env)
            if done.returncode != 0:
                raise SystemExit(f"adb shell true failed: {done.stderr.decode(errors='replace')}")

        adbutils_device = server.client().device(serial)

        def adbutils_call() -> None:
            if adbutils_device.shell2("true", timeout=30, v2=True).returncode != 0:
                raise SystemExit("adbutils shell2('true') failed")

        calls = (harness_call, subprocess_call, adbutils_call)
        times: list[list[float]] = [[] for _ in calls]
        for _ in range(args.warmup):
            for call in calls:
                call()
        for _ in range(args.calls):              # interleaved: all see the same host load
            for call, spent in zip(calls, times):
                spent.append(_time_call(call))
    harness_times, subprocess_times, adbutils_times = times

    rows = [("Device.run('true')", percentiles(harness_times)),
            ("adb shell true (subprocess)", percentiles(subprocess_times)),
            ("adbutils shell2(v2=True)", percentiles(adbutils_times))]
    print(f"{args.calls} calls each, interleaved, one virtual device, private adb server")
    print(f"{'':30} {'median':>10} {'p90':>10} {'max':>10}")
    for name, stats in rows:
        print(f"{name:30} {stats['p50'] * 1000:9.2f}ms {stats['p90'] * 1000:9.2f}ms {stats['max'] * 1000:9.2f}ms")
    ratio = percentiles(subprocess_times)["p50"] / percentiles(harness_times)["p50"]
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"ratio of medians: {ratio:.1f}x ({verdict} the {TARGET_RATIO:g}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
