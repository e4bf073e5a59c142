"""Shared by the end-to-end race tests: restart virtual devices through the real adb server, judge
each boot the way a user would (shell commands over adb), and replay the same boots in virtual
time.

A boot is judged once it has settled (the profile documents when every boot has: after that no
netd network command changes the state). Healthy boots get one light round trip; anything else
gets the full evidence a user would collect (`logcat -d`, `ip route show table eth0`, `ping`,
`dumpsys connectivity`, `dumpsys network_management`, `ip rule`).
"""

from __future__ import annotations

import functools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from harness.adb_server import AdbServer
from harness.container import RestartSettings, restarter_for
from harness.device import Device
from harness.parsers.logcat import parse_logcat
from harness.profiles import load_profile
from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.farm import SimFarm, validate_profile
from harness.sim.profile import resolve_profile_path
from model_helpers import EPOCH, outcome

DOWN_S = 0.5                      # container down time of each restart (device seconds)
COMMAND_TIMEOUT = 60.0            # host seconds for one shell command (sleeps in device time included)
BOOT_TIMEOUT = 90.0
DEFAULT_RULE = "22000:\tfrom all fwmark 0x0/0xffff lookup eth0 "     # eth0's network is netd's default
# iproute2's invarg() adds "\n" to a message that already ends with one: a blank line follows
TABLE_ERROR = 'Error: argument "eth0" is wrong: table id value is invalid\n\n'
UNREACHABLE = "connect: Network is unreachable\n"
EBUSY = re.compile(
    r"^Exception adding interface: java\.lang\.IllegalStateException: command '(?P<seq>\d+) network "
    r"interface add (?P<net>\d+) eth0' failed with '400 (?P<reply>\d+) addInterfaceToNetwork\(\) failed "
    r"\(Device or resource busy\)'$")
NETD_BUSY = re.compile(r"^interface eth0 already assigned to netId (?P<old>\d+)$")


# -- what the profile documents ------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def sim_profile(profile: str):
    """A sim profile loaded once (profiles are frozen)."""
    return validate_profile(profile)


@dataclass(frozen=True)
class Documented:
    """Numbers a sim profile's header comment documents (measured in virtual time)."""
    settled_s: float                          # every boot has settled by then (device seconds)
    reproduced: int | None = None             # k of n boots ended with the race
    boots: int | None = None
    band: tuple[float, float] | None = None   # documented band of the rate
    bound_s: float | None = None              # network up within this bound

    @property
    def rate(self) -> float:
        assert self.reproduced is not None and self.boots
        return self.reproduced / self.boots


def documented(profile: str) -> Documented:
    """Read the header comment of device_profiles/<profile>.yaml; a missing number fails loudly."""
    header = " ".join(line.lstrip("# ").strip() for line in
                      resolve_profile_path(profile).read_text().splitlines() if line.startswith("#"))

    def number(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, header, re.IGNORECASE)

    settled = number(r"every boot has settled by ([\d.]+) s")
    if settled is None:
        raise AssertionError(f"{profile}: the header must say when every boot has settled "
                             "('every boot has settled by N s')")
    measured = number(r"(\d+)/(\d+) boots \(([\d.]+)%\)")
    band = number(r"documented band (\d+)%\.\.(\d+)%")
    bound = number(r"documented bound ([\d.]+) s")
    return Documented(
        settled_s=float(settled.group(1)),
        reproduced=int(measured.group(1)) if measured else None,
        boots=int(measured.group(2)) if measured else None,
        band=(int(band.group(1)) / 100, int(band.group(2)) / 100) if band else None,
        bound_s=float(bound.group(1)) if bound else None)


# -- judging one boot through adb -----------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    serial: str
    index: int                 # the device's index in its farm (its seed stream)
    boot: int                  # the device's boot number (1 = farm start)
    kind: str                  # "up" | "race" | "other"
    evidence: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()      # a reproduction that does not show everything it must

    def describe(self) -> str:
        shown = "\n".join(f"--- {name}\n{text}" for name, text in self.evidence.items())
        return f"{self.serial} (index {self.index}, boot {self.boot}): {self.kind}; " \
               f"problems: {list(self.problems)}\n{shown}"


def light_check(device: Device, gateway: str, wait_s: float) -> bool:
    """One round trip once the boot has settled: eth0's network is netd's default, and a
    non-root ping of the gateway gets an answer."""
    result = device.run(f"sleep {wait_s:g}; ip rule; ping -c 1 -W 1 {gateway}", timeout=COMMAND_TIMEOUT)
    return result.exit_status == 0 and DEFAULT_RULE in result.stdout.splitlines()


def gather(device: Device, gateway: str) -> dict[str, tuple[int, str, str]]:
    """What a user looks at on a device without network: (status, stdout, stderr) per command."""
    commands = {"logcat": "logcat -d", "table": "ip route show table eth0",
                "ping": f"ping -c 1 -W 1 {gateway}", "connectivity": "dumpsys connectivity",
                "ndc_log": "dumpsys network_management", "rules": "ip rule"}
    return {name: _triple(device.run(cmd, timeout=COMMAND_TIMEOUT)) for name, cmd in commands.items()}


def _triple(result) -> tuple[int, str, str]:
    return result.exit_status, result.stdout, result.stderr


def race_problems(seen: dict[str, tuple[int, str, str]]) -> list[str]:
    """Everything a reproduction of the race must show (android-net.md §2.7), as problems."""
    problems: list[str] = []
    log = parse_logcat(seen["logcat"][1])
    ebusy = [(e, EBUSY.match(e.message)) for e in log.entries
             if e.tag == "ConnectivityService" and EBUSY.match(e.message)]
    if not ebusy:
        return ["no `Exception adding interface ... (Device or resource busy)` line in logcat -d"]
    last, match = ebusy[-1]
    seq, new_net = match.group("seq"), match.group("net")
    if last.priority != "E":
        problems.append(f"the EBUSY line is {last.priority}, expected E")
    if match.group("reply") != seq:
        problems.append(f"command seq {seq} but reply seq {match.group('reply')}")
    before = [e for e in log.entries[:log.entries.index(last)] if e.tag == "Netd"]
    busy = NETD_BUSY.match(before[-1].message) if before else None
    if busy is None or before[-1].priority != "E":
        problems.append("no `E Netd: interface eth0 already assigned to netId N` before the EBUSY line")
    ndc_log = seen["ndc_log"][1]
    if (f"SND -> {{{seq} network interface add {new_net} eth0}}" not in ndc_log
            or f"RCV <- {{400 {seq} addInterfaceToNetwork() failed (Device or resource busy)}}" not in ndc_log):
        problems.append(f"dumpsys network_management lacks command {seq} and its 400 reply")
    if busy is not None and not re.search(rf"SND -> \{{(\d+) network destroy {busy.group('old')}\}}", ndc_log):
        problems.append(f"the old network {busy.group('old')} was never destroyed")
    status, _, err = seen["table"]
    if (status, err) != (255, TABLE_ERROR):
        problems.append(f"ip route show table eth0: exit {status}, stderr {err!r}")
    status, out, err = seen["ping"]
    if (status, out, err) != (2, "", UNREACHABLE):
        problems.append(f"ping: exit {status}, stdout {out!r}, stderr {err!r}")
    if f"Active default network: {new_net}\n" not in seen["connectivity"][1]:
        problems.append(f"dumpsys connectivity does not show network {new_net} as default")
    if "eth0" in seen["rules"][1]:
        problems.append("ip rule still routes through eth0 (netd kept it in a network)")
    return problems


def judge(device: Device, index: int, boot: int, gateway: str, wait_s: float) -> Verdict:
    if light_check(device, gateway, wait_s):
        return Verdict(device.serial, index, boot, "up")
    seen = gather(device, gateway)
    evidence = {name: f"exit {s}\n{out}{err}" for name, (s, out, err) in seen.items()}
    ebusy_seen = any(EBUSY.match(e.message) for e in parse_logcat(seen["logcat"][1]).entries)
    unreachable = seen["table"][0] == 255
    if not (ebusy_seen and unreachable):
        return Verdict(device.serial, index, boot, "other", evidence)
    return Verdict(device.serial, index, boot, "race", evidence, tuple(race_problems(seen)))


# -- restarting many devices in parallel -------------------------------------------------------
@dataclass
class Run:
    verdicts: list[Verdict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)       # restarts that did not complete
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_kind(self, kind: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.kind == kind]


def restart_loop(profile: str, *, devices: int, restarts_each: int, clock_scale: float,
                 adb: AdbServer, deadline_s: float) -> Run:
    """`restarts_each` container restarts of every device of a new farm, one thread per device,
    each boot judged once settled. Restarts go through the harness's Restarter (method sim)."""
    sim = sim_profile(profile)
    doc = documented(profile)
    gateway = sim.network.gateway
    wait_s = doc.settled_s - sim.sim.boot.boot_completed_ms / 1000.0      # after sys.boot_completed=1
    settings = RestartSettings(boot_timeout=BOOT_TIMEOUT, wait_for_network=False)
    run = Run()
    with SimFarm(profile, count=devices, clock_scale=clock_scale) as farm:
        restarter = restarter_for(load_profile(profile), farm=farm, settings=settings, down_s=DOWN_S)

        def one_device(farm_device) -> None:
            adb.connect(farm_device.serial, timeout=30)
            device = Device(farm_device.serial, adb, default_timeout=COMMAND_TIMEOUT)
            device.wait_for_boot(timeout=BOOT_TIMEOUT)
            for boot in range(2, restarts_each + 2):
                result = restarter.restart(device)
                if not result.ok:
                    with run.lock:
                        run.failures.append(f"{device.serial} boot {boot}: {result.error}\n"
                                            + result.timeline.render_text())
                    return
                verdict = judge(device, farm_device.index, boot, gateway, wait_s)
                with run.lock:
                    run.verdicts.append(verdict)

        with ThreadPoolExecutor(max_workers=devices) as pool:
            futures = [pool.submit(one_device, d) for d in farm.devices]
            end = time.monotonic() + deadline_s          # one deadline for the whole loop
            for future in futures:
                future.result(timeout=max(0.0, end - time.monotonic()))
        for farm_device in farm.devices:
            adb.disconnect(farm_device.serial)
    return run


# -- the same boots in virtual time -------------------------------------------------------------
def virtual_kinds(profile: str, index: int, boots: int, settled_s: float) -> dict[int, str]:
    """How boots 1..boots of device `index` end when played in virtual time, restarted like the
    farm does: "up", "race" or "other"."""
    scheduler = Scheduler(realtime=False, epoch=EPOCH)
    device = VirtualDevice(sim_profile(profile), index=index, scheduler=scheduler)
    kinds: dict[int, str] = {}
    for boot in range(1, boots + 1):
        scheduler.run_until(device.boot_vtime + settled_s)
        result = outcome(device)
        kinds[boot] = "race" if result.reproduced else "up" if result.network_up else "other"
        device.restart_container(DOWN_S)
        scheduler.run_until(scheduler.now() + DOWN_S)
    return kinds
