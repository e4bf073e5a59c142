"""DHCP from the shell (`netcfg <if> dhcp`, Android up to 5.1): a lease, its properties, a network."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.requires(root=True, tool="netcfg", ethernet=True)


def test_shell_dhcp_gets_a_lease(eth, connectivity, net):
    eth.dhcp()
    state = eth.state()
    assert state.has_ipv4, f"no IPv4 address on {net.interface} after `netcfg {net.interface} dhcp`"
    props = net.device.props()
    leased = props.get(f"dhcp.{net.interface}.ipaddress")
    assert leased == str(state.ipv4[0].ip), f"dhcp.{net.interface}.ipaddress={leased!r}, interface has {state.ipv4}"
    verdict = connectivity.wait()
    assert verdict.ok, verdict.render()
