"""Benchmark: `Device.run("true")` against `adb -s SERIAL shell true` run as a subprocess per call
(how Mobly and ACTS call adb), side by side on one virtual device behind a private adb server;
adbutils' own `shell2("true", v2=True)` is timed in the same loop for reference. Target: the
harness at least 10x faster (ratio of the medians, subprocess / Device.run).

    .venv/bin/python bench/bench_device_run.py [--calls 200] [--warmup 10] [--cpu-calls 300]

1. Wall time: the three kinds are called in turn, in a fresh random order each round, so all
   see the same host load and none always follows the expensive subprocess; prints the median,
   p90 and max of each and the ratio of the medians.
2. CPU per call, by process (Linux): `--cpu-calls` calls of Device.run, then of the subprocess,
   with the CPU time each process spent meanwhile: this process, the adb CLI children, the adb
   server and the virtual device. On a busy 2-core machine a call costs about the CPU of its
   whole chain, so this says where a call's time goes and what bounds the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from harness.device import Device
from harness.embedded import EmbeddedDevices
from harness.stats import percentiles

TARGET_RATIO = 10.0
PROFILE = "sim-android-8.1-buggy"


def _time_call(call: Callable[[], None]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


# -- CPU accounting -------------------------------------------------------------------------------

def _helper_processes() -> dict[str, int]:
    """Our long-lived children by role: the virtual device farm and the private adb server."""
    roles = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue                              # a process that ended while we looked
        if ppid != os.getpid():
            continue
        if b"harness.sim.farm" in cmdline:
            roles["virtual device"] = int(stat.parent.name)
        elif b"nodaemon server" in cmdline:
            roles["adb server"] = int(stat.parent.name)
    return roles


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_snapshot(helpers: dict[str, int]) -> dict[str, float]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)     # ended children: the adb CLIs
    return {"this process": time.process_time(), "adb CLI": children.ru_utime + children.ru_stime,
            **{role: _process_cpu(pid) for role, pid in helpers.items()}}


def _cpu_per_call(call: Callable[[], None], calls: int, helpers: dict[str, int]) -> dict[str, float]:
    before = _cpu_snapshot(helpers)
    start = time.perf_counter()
    for _ in range(calls):
        call()
    wall = time.perf_counter() - start
    after = _cpu_snapshot(helpers)
    return {"wall": wall / calls, **{role: (after[role] - before[role]) / calls for role in before}}


# -- the run -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="timed calls of each kind (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls of each kind first (default 10)")
    parser.add_argument("--cpu-calls", type=int, default=300,
                        help="calls of each kind for the CPU split, 0 to skip (default 300)")
    args = parser.parse_args(argv)

    with EmbeddedDevices(PROFILE, count=1) as lab:
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

        kinds: dict[str, Callable[[], None]] = {"Device.run('true')": harness_call,
                                                 "adb shell true (subprocess)": subprocess_call,
                                                 "adbutils shell2(v2=True)": adbutils_call}
        times: dict[str, list[float]] = {name: [] for name in kinds}
        order = list(kinds)
        for _ in range(args.warmup):
            for call in kinds.values():
                call()
        for _ in range(args.calls):
            random.shuffle(order)
            for name in order:
                times[name].append(_time_call(kinds[name]))
        cpu_rows = []
        helpers = _helper_processes() if sys.platform == "linux" and args.cpu_calls > 0 else {}
        if helpers:
            cpu_rows = [(name, _cpu_per_call(kinds[name], args.cpu_calls, helpers))
                        for name in ("Device.run('true')", "adb shell true (subprocess)")]
        device.close()

    print(f"{args.calls} calls each, interleaved in random order, one virtual device ({PROFILE}), "
          "private adb server")
    print(f"{'':30} {'median':>10} {'p90':>10} {'max':>10}")
    stats = {name: percentiles(spent) for name, spent in times.items()}
    for name, row in stats.items():
        print(f"{name:30} {row['p50'] * 1000:9.2f}ms {row['p90'] * 1000:9.2f}ms {row['max'] * 1000:9.2f}ms")
    ratio = stats["adb shell true (subprocess)"]["p50"] / stats["Device.run('true')"]["p50"]
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"ratio of medians: {ratio:.1f}x ({verdict} the {TARGET_RATIO:g}x target)")
    if cpu_rows:
        roles = [role for role in cpu_rows[0][1] if role != "wall"]
        print(f"\nCPU per call ({args.cpu_calls} calls of each in a row), ms:")
        print(f"{'':30} {'wall':>8}" + "".join(f"{role:>16}" for role in roles) + f"{'all':>8}")
        for name, row in cpu_rows:
            total = sum(row[role] for role in roles)
            print(f"{name:30} {row['wall'] * 1000:8.3f}" + "".join(f"{row[role] * 1000:16.3f}" for role in roles)
                  + f"{total * 1000:8.3f}")
        walls = {name: row["wall"] for name, row in cpu_rows}
        in_a_row = walls["adb shell true (subprocess)"] / walls["Device.run('true')"]
        print(f"ratio of the mean wall times in a row: {in_a_row:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
