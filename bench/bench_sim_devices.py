"""Benchmark: what a virtual device costs. Targets: under 30 MB of memory per idle device, and
a median `Device.run("true")` round trip under 50 ms with 32 devices running on this machine.

    .venv/bin/python bench/bench_sim_devices.py [--devices 32] [--calls 40] [--adb-calls 5]
                                                [--clock-scale 0.25] [--idle-s 60] [--logcat]

1. Memory: a farm of 1 device, then a farm of `--devices`, each connected to a private adb
   server (as the harness uses them) and left until every boot has settled (device uptime past
   the profile's settle time, read from the farm's status). The farm child's VmRSS
   (/proc/PID/status) gives the single-device total and, as (RSS(N) - RSS(1)) / (N - 1), the
   cost of one more device; the N-device farm is measured again after `--idle-s` more device
   seconds (idle devices keep logging: validation re-evaluations, ...).
2. Round trips, on the same N-device farm: one thread per device, all started together, each
   running `--calls` `Device.run("true")` in a row (after a warm-up call); median, p90 and max
   over every call. Then `adb -s SERIAL shell true` as a subprocess, `--adb-calls` per device in
   the same parallel way, for reference. With `--logcat`, every device also streams its log to a
   LogcatService meanwhile.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from harness.adb_server import AdbServer
from harness.device import Device
from harness.logs.logcat import LogcatService
from harness.sim.farm import SimFarm, validate_profile
from harness.stats import percentiles

PROFILE = "sim-android-8.1-buggy"
SETTLED_S = 5.0                   # the 8.1 profiles: every boot has settled by 5 s of device time
TARGET_RSS_MB = 30.0
TARGET_MEDIAN_MS = 50.0
WAIT_TIMEOUT_S = 120.0


def rss_mb(pid: int) -> float:
    """VmRSS of a process, MB (psutil is not a dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def wait_uptime(farm: SimFarm, seconds: float) -> None:
    """Until every device of the farm has been up `seconds` device seconds."""
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while min(d["uptime"] for d in farm.control("status")["devices"]) < seconds:
        if time.monotonic() > deadline:
            raise TimeoutError(f"devices not up {seconds:g} device seconds after {WAIT_TIMEOUT_S:g} s")
        time.sleep(0.1)


def connected_farm(profile: str, count: int, clock_scale: float, adb: AdbServer) -> SimFarm:
    farm = SimFarm(profile, count=count, clock_scale=clock_scale)
    farm.start()
    for serial in farm.serials:
        adb.connect(serial, timeout=30)
    wait_uptime(farm, SETTLED_S)
    return farm


def release(farm: SimFarm, adb: AdbServer) -> None:
    for serial in farm.serials:
        adb.disconnect(serial)
    farm.stop()


def parallel(devices: list[Device], calls: int, call: Callable[[Device], None]) -> tuple[list[float], float]:
    """Every device in its own thread, released together, `calls` timed calls each: the call
    times (ms) and the wall time of the whole round (s)."""
    times: list[float] = []
    lock = threading.Lock()
    released: list[float] = []
    start = threading.Barrier(len(devices), action=lambda: released.append(time.perf_counter()))
    errors: list[BaseException] = []

    def worker(device: Device) -> None:
        try:
            call(device)                       # warm-up: the connection, the features query
            start.wait(timeout=WAIT_TIMEOUT_S)
            mine = []
            for _ in range(calls):
                began = time.perf_counter()
                call(device)
                mine.append((time.perf_counter() - began) * 1000)
            with lock:
                times.extend(mine)
        except BaseException as exc:           # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_TIMEOUT_S * 2)
    if errors:
        raise errors[0]
    return times, time.perf_counter() - released[0]


def show(label: str, measured: tuple[list[float], float]) -> float:
    times, wall = measured
    p = percentiles(times, (50, 90))
    print(f"  {label:<28} {p['p50']:8.2f} {p['p90']:8.2f} {p['max']:8.2f} {len(times) / wall:10.0f}"
          f"   ({len(times)} calls)")
    return p["p50"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=PROFILE)
    parser.add_argument("--devices", type=int, default=32)
    parser.add_argument("--calls", type=int, default=40, help="Device.run calls per device")
    parser.add_argument("--adb-calls", type=int, default=5, help="adb shell subprocesses per device")
    parser.add_argument("--clock-scale", type=float, default=0.25)
    parser.add_argument("--idle-s", type=float, default=60.0, help="device seconds before the second RSS reading")
    parser.add_argument("--logcat", action="store_true", help="stream every device's log meanwhile")
    args = parser.parse_args(argv)
    validate_profile(args.profile)
    n = args.devices

    with AdbServer.start() as adb:
        one = connected_farm(args.profile, 1, args.clock_scale, adb)
        assert one.pid is not None
        single = rss_mb(one.pid)
        release(one, adb)

        farm = connected_farm(args.profile, n, args.clock_scale, adb)
        try:
            assert farm.pid is not None
            many = rss_mb(farm.pid)
            wait_uptime(farm, SETTLED_S + args.idle_s)
            many_later = rss_mb(farm.pid)
            per_device = (many - single) / (n - 1)
            per_device_later = (many_later - single) / (n - 1)
            print(f"Memory of the farm child (VmRSS), profile {args.profile}, devices connected to a "
                  f"private adb server, boots settled ({SETTLED_S:g} device s):")
            print(f"  1 device:            {single:7.1f} MB (Python, the model's modules, one device)")
            print(f"  {n} devices:          {many:7.1f} MB")
            print(f"  per added device:    {per_device * 1024:7.0f} KB  "
                  f"({'meets' if per_device < TARGET_RSS_MB else 'MISSES'} the {TARGET_RSS_MB:g} MB target)")
            print(f"  {n} devices after {args.idle_s:g} more device s idle: {many_later:.1f} MB "
                  f"({per_device_later * 1024:.0f} KB per added device)")

            devices = [Device(s, adb, default_timeout=60.0) for s in farm.serials]
            streams = [LogcatService(d).start() for d in devices] if args.logcat else []
            try:
                print(f"\nShell round trips, {n} devices, one thread per device, all at once"
                      f"{', each streaming logcat' if streams else ''} (ms):")
                print(f"  {'':<28} {'median':>8} {'p90':>8} {'max':>8} {'calls/s':>10}")
                median = show('Device.run("true")', parallel(devices, args.calls, lambda d: d.run("true")))
                adb_cmd = [adb.adb_path, "-H", adb.host, "-P", str(adb.port)]
                show("adb -s SERIAL shell true", parallel(devices, args.adb_calls, lambda d: subprocess.run(
                    adb_cmd + ["-s", d.serial, "shell", "true"], check=True, capture_output=True,
                    timeout=60, env=adb.env())))
                print(f"  Device.run median {median:.2f} ms: "
                      f"{'meets' if median < TARGET_MEDIAN_MS else 'MISSES'} the {TARGET_MEDIAN_MS:g} ms target")
            finally:
                for stream in streams:
                    stream.stop()
        finally:
            release(farm, adb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
