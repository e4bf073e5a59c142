"""Ethernet link toggles and flaps: the network goes away with the link and comes back with it,
and the framework logs the teardown and the bring-up each time."""

from __future__ import annotations

import pytest

from harness.net.connectivity import ConnectivityLayer

FLAPS = 3
FLAP_DOWN_S = 1            # whole seconds: sleep before Android 6.0 takes no fractions
LOG_WAIT_S = 10.0          # the bring-up line follows the network by a moment at most

pytestmark = pytest.mark.requires(root=True, ethernet=True)


def test_link_down_takes_the_network_and_link_up_brings_it_back(eth, connectivity, logcat, link_events):
    since = logcat.mark_now()
    eth.down()
    down = connectivity(layers=[ConnectivityLayer.LINK])
    assert down.failing_layer is ConnectivityLayer.LINK, f"the link is still up after `down`:\n{down.render()}"
    eth.up()
    verdict = connectivity.wait(since=since)
    assert verdict.ok, verdict.render()
    logcat.wait_for(link_events.down_then_up, LOG_WAIT_S, since=since)


def test_repeated_flaps_bring_the_network_back_each_time(eth, connectivity, logcat, link_events):
    for flap in range(1, FLAPS + 1):
        since = logcat.mark_now()
        eth.flap(count=1, down_s=FLAP_DOWN_S, up_s=0)
        verdict = connectivity.wait(since=since)
        assert verdict.ok, f"after flap {flap} of {FLAPS}: {verdict.render()}"
        logcat.wait_for(link_events.down_then_up, LOG_WAIT_S, since=since)
