"""The QA suites' shared settings: they run unchanged on real devices, emulators, containers and
the virtual device (`pytest suites/ --profile NAME`, or `--serial`/`--adb-server` for real ones).

The run starts from a device with its network (`session_start`: one that came up in a known
start-up race is restarted first, and the terminal summary says so). Every suite test gets a
network snapshot before it and a logcat mark (its evidence when it fails; its teardown fails when
the network is not as before). The whole run is checked the same way: the device's network after
the last test must equal the one before the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import pytest

from harness.dut import DeviceNet, SessionStart, SnapshotRecorder
from harness.net import RestoreFailed, validate

DEFAULT_EBUSY_RESTARTS = 3
NETD_NETWORKS_SDK = 21


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("android suites", "Android network QA suites")
    group.addoption("--ebusy-restarts", dest="ebusy_restarts", type=int, default=None, metavar="N",
                    help=f"container restarts of the EBUSY regression check; ini ebusy_restarts "
                         f"(default {DEFAULT_EBUSY_RESTARTS})")
    parser.addini("ebusy_restarts", "container restarts of the EBUSY regression check",
                  default=str(DEFAULT_EBUSY_RESTARTS))
    group.addoption("--static-address", dest="static_address", default=None, metavar="ADDRESS/PREFIX",
                    help="the address the static IP suite may use (default: the current one + 100 in its "
                         "subnet: give a free one on a shared network); ini static_address")
    parser.addini("static_address", "the address the static IP suite may use", default="")


@pytest.fixture(scope="session")
def static_address(pytestconfig: pytest.Config) -> str | None:
    given = pytestconfig.getoption("static_address") or pytestconfig.getini("static_address")
    if not given:
        return None
    try:
        validate.ipv4_interface(given)
    except ValueError as e:
        raise pytest.UsageError(f"--static-address / ini static_address: {e}") from None
    return given


@pytest.fixture(scope="session")
def ebusy_restarts(pytestconfig: pytest.Config) -> int:
    given = pytestconfig.getoption("ebusy_restarts")
    value, source = (given, "--ebusy-restarts") if given is not None else \
        (pytestconfig.getini("ebusy_restarts"), "ini ebusy_restarts")
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= 1000:
        raise pytest.UsageError(f"{source}: expected a number of restarts 1-1000, got {value!r}")
    return count


@pytest.fixture(scope="session", autouse=True)
def _run_leaves_the_network_as_found(net: DeviceNet, session_start: SessionStart) -> Iterator[None]:
    recorder = SnapshotRecorder(net.device, net.interface, before=session_start.snapshot)
    yield
    changes = recorder.restored_diff()
    if not changes.empty:
        raise RestoreFailed(f"after the suites, the network of {net.device.serial} differs from before them:\n"
                            f"{changes.render()}", serial=net.device.serial)


@pytest.fixture(autouse=True)
def _suite_evidence(snapshot: SnapshotRecorder, logcat) -> None:
    """Every suite test: snapshot before, logcat mark (requested here so no test can forget)."""


@dataclass(frozen=True)
class LinkEvents:
    """What the framework logs when the Ethernet link goes down and comes back, per era."""

    down: re.Pattern[str]
    up: re.Pattern[str]

    @property
    def down_then_up(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        return self.down, self.up


@pytest.fixture(scope="session")
def link_events(net: DeviceNet) -> LinkEvents:
    if net.caps.sdk >= NETD_NETWORKS_SDK:
        # ConnectivityService: NetworkAgent state changes, then the interface joining a netd network.
        return LinkEvents(re.compile(r"ConnectivityService: .*EVENT_NETWORK_INFO_CHANGED, going from CONNECTED "
                                     r"to DISCONNECTED"),
                          re.compile(rf"ConnectivityService: Adding iface {re.escape(net.interface or '')} "
                                     r"to network \d+"))
    # KitKat's ConnectivityService logs the tracker's state changes.
    return LinkEvents(re.compile(r"ConnectivityService: ConnectivityChange for ETHERNET: DISCONNECTED/DISCONNECTED"),
                      re.compile(r"ConnectivityService: ConnectivityChange for ETHERNET: CONNECTED/CONNECTED"))
