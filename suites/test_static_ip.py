"""A static IPv4 configuration from the shell (address, default route, DNS property): applied,
working, and put back as it was. Only where no Ethernet service manages the interface: on those
devices IpManager/IpClient replaces an address set from a shell at once."""

from __future__ import annotations

import ipaddress

import pytest

STATIC_HOST_OFFSET = 100      # the static address: the current one + this, in the same subnet

pytestmark = pytest.mark.requires(root=True, ethernet=True, ethernet_service=False)


def _static_address(current: ipaddress.IPv4Interface, given: str | None) -> ipaddress.IPv4Interface:
    if given:
        return ipaddress.IPv4Interface(given)
    network = current.network
    hosts = network.num_addresses - 2
    index = (int(current.ip) - int(network.network_address) - 1 + STATIC_HOST_OFFSET) % hosts
    return ipaddress.IPv4Interface(f"{network.network_address + 1 + index}/{network.prefixlen}")


def _gateway(net) -> str:
    if net.targets.gateway:
        return net.targets.gateway
    query = net.commands.table_routes("main")
    routes = query.parse(net.device.run(query.command, timeout=query.timeout))
    gateways = [str(r.gateway) for r in routes.default_routes if r.gateway is not None and r.gateway.version == 4]
    if not gateways:
        pytest.fail("no gateway: the profile names none and the main table has no default route")
    return gateways[0]


def test_static_configuration_is_applied_and_restored(eth, connectivity, net, static_address):
    verdict = connectivity()
    assert verdict.ok, f"the device must have its network first: {verdict.render()}"
    before = eth.state()
    static = _static_address(before.ipv4[0], static_address)
    gateway = _gateway(net)
    dns = net.device.getprop("net.dns1") or (net.expected_dns or ("8.8.8.8",))[0]

    eth.set_address(static)
    eth.set_default_route(gateway)
    eth.set_dns(dns)
    assert eth.state().ipv4 == (static,), f"{net.interface} does not show the static address {static}"
    assert net.device.getprop("net.dns1") == dns
    applied = connectivity()
    assert applied.ok, f"with the static configuration {static} via {gateway}: {applied.render()}"

    eth.restore()
    assert eth.state().ipv4 == before.ipv4, f"{net.interface} did not get back {before.ipv4}"
    restored = connectivity.wait()
    assert restored.ok, f"after putting the configuration back: {restored.render()}"
