"""The eth0 EBUSY start-up race end to end: container restarts of many virtual 8.1 devices through
the real adb server, each boot judged as a user would judge it over adb.

- buggy profile, 200 restarts: the rate is consistent with the profile's documented rate and
  band (Wilson interval, Fisher's exact test against the documented virtual-time count); every
  reproduction shows the EBUSY line (matching sequence numbers, netd's own line, the NDC log),
  `ip route show table eth0` failing, ping unreachable, CS's default with eth0 in no netd rule;
  every other boot has eth0 in the default network and pings the gateway;
- fixed profile, 500 restarts: never a reproduction, the network up once the boot settled (the
  profile's bound is its settle time);
- the clock scale does not decide outcomes: the e2e rate agrees with the documented rate measured
  in virtual time (Fisher), and every boot ends exactly as the same boot (device index, boot
  number) played in virtual time.

Devices run in parallel in one farm with a fast clock (one thread per device), so the 700
restarts take a few minutes at most on two cores.
"""

from __future__ import annotations

import pytest

from e2e_helpers import Run, documented, restart_loop, virtual_kinds
from harness.adb_server import AdbServer
from harness.stats import compare, rate

BUGGY = "sim-android-8.1-buggy"
FIXED = "sim-android-8.1-fixed"
CLOCK_SCALE = 0.1               # device time runs 10x faster than host time
BUGGY_DEVICES, BUGGY_RESTARTS = 20, 10          # 200 restarts
FIXED_DEVICES, FIXED_RESTARTS = 25, 20          # 500 restarts
DEADLINE_S = 240.0              # host seconds for one farm's whole loop
ALPHA = 0.01                    # Fisher's test: a smaller p means the rate is not the documented one

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def adb_server():
    with AdbServer.start() as server:
        yield server


@pytest.fixture(scope="module")
def buggy_run(adb_server) -> Run:
    return restart_loop(BUGGY, devices=BUGGY_DEVICES, restarts_each=BUGGY_RESTARTS,
                        clock_scale=CLOCK_SCALE, adb=adb_server, deadline_s=DEADLINE_S)


@pytest.fixture(scope="module")
def fixed_run(adb_server) -> Run:
    return restart_loop(FIXED, devices=FIXED_DEVICES, restarts_each=FIXED_RESTARTS,
                        clock_scale=CLOCK_SCALE, adb=adb_server, deadline_s=DEADLINE_S)


def _complete(run: Run, expected: int) -> None:
    assert not run.failures, "\n\n".join(run.failures)
    assert len(run.verdicts) == expected


def test_buggy_rate_is_the_documented_one(buggy_run):
    _complete(buggy_run, BUGGY_DEVICES * BUGGY_RESTARTS)
    doc = documented(BUGGY)
    measured = rate(len(buggy_run.of_kind("race")), len(buggy_run.verdicts))
    assert doc.band is not None and doc.reproduced is not None and doc.boots is not None
    low, high = doc.band
    assert measured.low <= doc.rate <= measured.high, f"{measured} vs documented {doc.rate:.1%}"
    assert measured.low < high and measured.high > low, f"{measured} outside the band {doc.band}"
    versus = compare(measured.k, measured.n, doc.reproduced, doc.boots)
    assert not versus.differs(ALPHA), f"{measured} vs {doc.reproduced}/{doc.boots}: p={versus.p_value:.3g}"


def test_every_buggy_reproduction_shows_the_race_as_a_user_sees_it(buggy_run):
    _complete(buggy_run, BUGGY_DEVICES * BUGGY_RESTARTS)
    races = buggy_run.of_kind("race")
    assert races
    incomplete = [v.describe() for v in races if v.problems]
    assert not incomplete, "\n\n".join(incomplete[:3])


def test_every_other_buggy_boot_has_working_network(buggy_run):
    _complete(buggy_run, BUGGY_DEVICES * BUGGY_RESTARTS)
    others = buggy_run.of_kind("other")
    assert not others, "\n\n".join(v.describe() for v in others[:3])


def test_fixed_profile_never_reproduces_and_is_up_once_settled(fixed_run):
    _complete(fixed_run, FIXED_DEVICES * FIXED_RESTARTS)
    doc = documented(FIXED)
    assert doc.bound_s is not None and doc.settled_s <= doc.bound_s    # judged within the bound
    not_up = [v for v in fixed_run.verdicts if v.kind != "up"]
    assert not not_up, "\n\n".join(v.describe() for v in not_up[:3])
    assert rate(0, len(fixed_run.verdicts)).high < 0.01


@pytest.mark.parametrize("profile, run_name, devices, restarts", [
    (BUGGY, "buggy_run", BUGGY_DEVICES, BUGGY_RESTARTS),
    (FIXED, "fixed_run", FIXED_DEVICES, FIXED_RESTARTS),
])
def test_each_boot_ends_as_the_same_boot_in_virtual_time(request, profile, run_name, devices, restarts):
    """The model is ordered in device time: a 10x clock, parallel devices and adb traffic change
    nothing. Boot b of device i ends the same way when played without any host clock."""
    run: Run = request.getfixturevalue(run_name)
    _complete(run, devices * restarts)
    settled = documented(profile).settled_s
    expected = {}
    for index in range(devices):
        for boot, kind in virtual_kinds(profile, index, restarts + 1, settled).items():
            expected[(index, boot)] = kind
    differing = [f"index {v.index} boot {v.boot}: {v.kind} over adb, {expected[(v.index, v.boot)]} "
                 "in virtual time" for v in run.verdicts if expected[(v.index, v.boot)] != v.kind]
    assert not differing, "\n".join(differing)
