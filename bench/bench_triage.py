"""Benchmark: `harness triage` against `grep -c` on a ~200 MB logcat, side by side.

Generates a realistic `logcat -v threadtime` dump (many tags, pids, levels; a few EBUSY
reproductions in the shape of shared/reference/android-net.md section 2.7), then times, best of
--runs and interleaved so that all see the same host load, `harness triage FILE` (as users run
it: one process per CPU), `harness triage --jobs 1 FILE` and `grep -c -E '<main pattern>' FILE`
(LC_ALL=C, grep's fastest mode), and prints wall time, MB/s and CPU time (user + system, worker
processes included) for each, and the ratios. Target: triage within 3x of grep (wall time).

    .venv/bin/python bench/bench_triage.py [--size-mb 200] [--runs 3] [--keep PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

GREP_PATTERN = r"Exception adding interface: .*(Device or resource busy|code 16)"

_BACKGROUND = [
    ("ActivityManager", "I", "Start proc {n}:com.android.app{m}/u0a{m} for service com.android.app{m}/.SyncService"),
    ("ActivityManager", "W", "Slow operation: {n}ms so far, now at startProcess: done updating pids map"),
    ("PackageManager", "D", "Package com.android.app{m} codePath changed from /data/app/app{m}-1 to /data/app/app{m}-2"),
    ("chatty", "I", "uid=1000(system) Binder:{pid}_{m} identical {m} lines"),
    ("WindowManager", "V", "Relayout Window{{{n} u0 com.android.app{m}/.MainActivity}}: viewVisibility=0 req=1080x1920"),
    ("SurfaceFlinger", "D", "duplicate layer name: changing com.android.app{m}/.MainActivity to #{n}"),
    ("InputReader", "I", "Reconfiguring input devices.  changes=0x{m:08x}"),
    ("ConnectivityService", "D", "NetworkAgentInfo [Ethernet () - 100] validation passed"),
    ("ConnectivityService", "D", "Setting DNS servers for network 100 to [/8.8.8.8]"),
    ("Netd", "I", "setProcSysNet(4, 2, eth0, accept_ra, 1) <{m}.{n}ms>"),
    ("DhcpClient", "D", "Broadcasting DHCPDISCOVER"),
    ("EthernetNetworkFactory", "D", "updateInterface: eth0 link up"),
    ("AudioFlinger", "W", "write blocked for {n} msecs, {m} delayed writes, thread 0x{n:x}"),
    ("dalvikvm", "D", "GC_CONCURRENT freed {n}K, {m}% free 12345K/23456K, paused 2ms+3ms"),
    ("System.err", "W", "java.io.IOException: Connection reset by peer at com.android.app{m}.Net.read(Net.java:{n})"),
    ("wpa_supplicant", "E", "nl80211: Failed to set interface {m} into AP mode"),
    ("BluetoothAdapter", "I", "getBluetoothService() called with no BluetoothManagerCallback"),
    ("NetworkMonitor/100", "D", "PROBE_DNS www.google.com {n}ms OK 142.250.{m}.4"),
]

_REPRODUCTION = [
    (248, 319, "D", "ConnectivityService", "Adding iface eth0 to network {new}"),
    (125, 143, "E", "Netd", "interface eth0 already assigned to netId {old}"),
    (248, 319, "E", "ConnectivityService", "Exception adding interface: java.lang.IllegalStateException: "
     "command '{seq} network interface add {new} eth0' failed with '400 {seq} addInterfaceToNetwork() failed "
     "(Device or resource busy)'"),
    (125, 143, "E", "Netd", "interface eth0 assigned to netId {old}, not {new}"),
    (248, 319, "E", "ConnectivityService", "Exception in addRoute for non-gateway: java.lang.IllegalStateException: "
     "command '{seq1} network route add {new} eth0 172.17.0.0/16' failed with '400 {seq1} addRoute() failed "
     "(No such file or directory)'"),
]


def _line(t: float, pid: int, tid: int, level: str, tag: str, msg: str) -> str:
    ms = int(t * 1000)
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    return f"04-{1 + d % 28:02d} {h:02d}:{m:02d}:{s:02d}.{ms:03d} {pid:5d} {tid:5d} {level} {tag:<8}: {msg}\n"


def generate(path: Path, size_mb: int, reproductions: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    target = size_mb * 1_000_000
    every = max(1, target // (reproductions + 1))
    next_repro, done, written, t = every, 0, 0, 3600.0
    with path.open("w", encoding="utf-8") as f:
        batch: list[str] = []
        while written < target:
            tag, level, fmt = rng.choice(_BACKGROUND)
            pid = rng.choice((248, 125, 612, 1034, 1888, 2310))
            batch.append(_line(t, pid, pid + rng.randrange(0, 60), level, tag,
                               fmt.format(n=rng.randrange(1, 99999), m=rng.randrange(1, 255), pid=pid)))
            t += rng.random() * 0.004
            if len(batch) == 20000 or (done < reproductions and written >= next_repro):
                if done < reproductions and written >= next_repro:
                    new, seq = 101 + done, 30 + 10 * done
                    for pid, tid, level, tag, msg in _REPRODUCTION:
                        batch.append(_line(t, pid, tid, level, tag,
                                           msg.format(new=new, old=new - 1, seq=seq, seq1=seq + 1)))
                        t += 0.001
                    done += 1
                    next_repro += every
                text = "".join(batch)
                f.write(text)
                written += len(text)
                batch.clear()


@dataclass
class Contender:
    label: str
    command: list[str]
    env: dict[str, str] | None = None
    wall: float = float("inf")       # best of the runs
    cpu: float = float("inf")        # user + system seconds of that best run, its children included
    last: subprocess.CompletedProcess | None = None

    def run(self) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        self.last = subprocess.run(self.command, capture_output=True, text=True, env=self.env, timeout=600)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if wall < self.wall:
            self.wall = wall
            self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--reproductions", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="generate the log at this path (reused if present)")
    args = ap.parse_args()
    grep = shutil.which("grep")
    if grep is None:
        print("grep not found", file=sys.stderr)
        return 2
    workdir = None if args.keep else tempfile.TemporaryDirectory()
    path = args.keep or Path(workdir.name) / "bench-logcat.txt"
    try:
        if not path.exists():
            start = time.perf_counter()
            generate(path, args.size_mb, args.reproductions)
            print(f"generated {path} in {time.perf_counter() - start:.1f}s")
        size = path.stat().st_size / 1e6
        # the installed console script, as a user runs it (falls back to the module)
        script = Path(sys.executable).with_name("harness")
        harness = [str(script)] if script.exists() else [sys.executable, "-m", "harness.cli"]
        triage = Contender("harness triage", [*harness, "triage", str(path)])
        single = Contender("  --jobs 1", [*harness, "triage", "--jobs", "1", str(path)])
        grep_c = Contender("grep -c", [grep, "-c", "-E", GREP_PATTERN, str(path)], {**os.environ, "LC_ALL": "C"})
        contenders = [triage, single, grep_c]
        for _ in range(args.runs):          # interleaved, so that all see the same host load
            for contender in contenders:
                contender.run()
        found = sum(1 for line in triage.last.stdout.splitlines() if line.startswith("KNOWN "))
        print(f"input: {size:.1f} MB, {args.reproductions} reproductions, {os.cpu_count()} CPUs, best of {args.runs}")
        for c in contenders:
            print(f"{c.label:15}: {c.wall:6.3f}s {size / c.wall:8.1f} MB/s  cpu {c.cpu:6.3f}s  exit {c.last.returncode}")
        print(f"grep count {grep_c.last.stdout.strip()}, triage {found} KNOWN verdict(s)")
        ratio = triage.wall / grep_c.wall
        print(f"ratio triage/grep: {ratio:.2f}x (target <= 3x) {'OK' if ratio <= 3 else 'OVER TARGET'}; "
              f"--jobs 1: {single.wall / grep_c.wall:.2f}x; cpu: {triage.cpu / grep_c.cpu:.2f}x")
        if found != args.reproductions or grep_c.last.stdout.strip() != str(args.reproductions) \
                or single.last.stdout != triage.last.stdout:
            print("MISMATCH: expected every reproduction to be found by all", file=sys.stderr)
            return 1
        return 0
    finally:
        if workdir is not None:
            workdir.cleanup()


if __name__ == "__main__":
    sys.exit(main())
