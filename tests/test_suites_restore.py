"""Seen from outside: a run of the suites against a device given by serial (the way a farm's devices
are named) leaves that device's network as it found it."""

from __future__ import annotations

import time

from harness.embedded import EmbeddedDevices
from harness.dut import RESTORE_SECTIONS
from harness.net import diff, take_snapshot, wait_for_network
from test_suites_sim import CLOCK_SCALE, clean_env, run_suites  # noqa: F401  (clean_env: autouse fixture)

SETTLE_S = 20.0


def settled_snapshot(device):
    """The device's network once it is up and validated (a fresh boot is still settling)."""
    wait_for_network(device, SETTLE_S)
    deadline = time.monotonic() + SETTLE_S
    while True:
        snapshot = take_snapshot(device)
        if all(n.validated for n in snapshot.networks.values()) or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.5)


def test_a_run_against_a_named_device_leaves_its_network_as_found(pytester):
    with EmbeddedDevices("sim-android-8.1-fixed", clock_scale=float(CLOCK_SCALE)) as lab:
        device = lab.devices()[0]
        device.wait_for_boot()
        device.root()                       # as the suites will: some state is only readable as root
        before = settled_snapshot(device)
        run = run_suites(pytester, "--serial", device.serial, "--adb-server", lab.server.address,
                         "--profile", "sim-android-8.1-fixed")
        after = take_snapshot(device)
    assert run.named("failure") == {} and run.named("error") == {}, run.stdout
    assert "test_framework_restart_brings_the_network_back" in run.named("passed")
    # Without the farm's control channel a named virtual device cannot be restarted as a container.
    container_skip = "requires container=True: the virtual device's control channel is unknown (device given with --serial)"
    assert run.named("skipped")["test_container_restart_brings_the_network_back"].message == container_skip
    changes = diff(before, after, ignore_net_ids=True, sections=RESTORE_SECTIONS)
    assert changes.empty, changes.render()
