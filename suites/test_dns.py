"""DNS properties: net.dns1... name the servers the device profile expects."""

from __future__ import annotations

import pytest

from harness.net.commands import dns_properties


@pytest.mark.requires(ethernet=True, android="<=11")      # ConnectivityService sets net.dns<N> up to 11
def test_dns_properties_match_the_profile(net, connectivity):
    if not net.expected_dns:
        pytest.skip("the device profile names no DNS servers (network.dns)")
    verdict = connectivity()
    assert verdict.ok, verdict.render()
    servers = dns_properties(net.device.props())
    found = [servers.get(f"net.dns{n}") for n in range(1, len(net.expected_dns) + 1)]
    assert found == list(net.expected_dns), f"DNS properties {servers}, profile expects {list(net.expected_dns)}"
