"""Restarts: after a container restart or a framework restart (`stop; start`) the network comes
back within the profile's bound, and the start-up did not hit the eth0 EBUSY race."""

from __future__ import annotations

import pytest

EBUSY_SIGNATURE = "eth0-ebusy-startup-race"


def _assert_no_ebusy(logcat, since: int | None = None) -> None:
    races = [f.summary for f in logcat.findings(since).findings if f.signature_id == EBUSY_SIGNATURE]
    assert not races, f"the start-up hit the EBUSY race (the network came back later): {'; '.join(races)}"


@pytest.mark.requires(container=True, ethernet=True)
def test_container_restart_brings_the_network_back(restart, connectivity, logcat, net):
    restart("container")
    verdict = connectivity.wait(net.network_bound)
    assert verdict.ok, f"no network within {net.network_bound:g}s of the container restart: {verdict.render()}"
    _assert_no_ebusy(logcat)


@pytest.mark.requires(root=True, restart="framework", ethernet=True)
def test_framework_restart_brings_the_network_back(restart, connectivity, logcat, net):
    restart("framework")
    verdict = connectivity.wait(net.network_bound)
    assert verdict.ok, f"no network within {net.network_bound:g}s of `stop; start`: {verdict.render()}"
    _assert_no_ebusy(logcat)


@pytest.mark.slow
@pytest.mark.requires(container=True, ethernet=True)
def test_container_restarts_do_not_hit_the_ebusy_race(restart, connectivity, logcat, net, ebusy_restarts):
    """The regression check: N container restarts (--ebusy-restarts / ini ebusy_restarts), each
    must end with a network and without the EBUSY race in its log; stops at the first that does not."""
    for number in range(1, ebusy_restarts + 1):
        since = logcat.mark_now()
        restart("container")
        verdict = connectivity.wait(net.network_bound, since=since)
        assert verdict.ok, f"restart {number} of {ebusy_restarts}: {verdict.render()}"
        _assert_no_ebusy(logcat, since)
