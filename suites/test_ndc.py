"""netd's network semantics through ndc: an interface belongs to one network at a time (adding it
to a second one is refused with EBUSY, the refusal behind the eth0 start-up race), and destroying
a network takes its interfaces and their rules and routing tables with it."""

from __future__ import annotations

from typing import Iterator

import pytest

from harness.net import Ndc, NdcError

SCRATCH_NET_ID = 4321         # far above the netIds ConnectivityService hands out (100, 101, ...)
SCRATCH_INTERFACE = "lo"      # present on every device and in no netd network
EBUSY_REPLY = "(Device or resource busy)"
NO_SUCH_NETWORK = "(Machine is not on the network)"     # ENONET: the test destroyed it already
LOG_WAIT_S = 5.0

pytestmark = pytest.mark.requires(root=True, tool=["ndc", "ip"], netd_networks=True, ethernet=True)


@pytest.fixture
def ndc(net) -> Ndc:
    return Ndc(net.device)


@pytest.fixture
def scratch_network(ndc: Ndc, net) -> Iterator[int]:
    """A network of the test's own, destroyed at teardown whatever happened."""
    ndc.network_create(SCRATCH_NET_ID)
    try:
        yield SCRATCH_NET_ID
    finally:
        reply = ndc.send("network", "destroy", SCRATCH_NET_ID, check=False)
        if reply.code != 200 and NO_SUCH_NETWORK not in reply.raw:
            pytest.fail(f"could not destroy the scratch network {SCRATCH_NET_ID}: {reply.raw}")


def _interface_rules(net, iface: str) -> list[str]:
    query = net.commands.rules()
    rules = query.parse(net.device.run(query.command, timeout=query.timeout)).rules
    return [str(r) for r in rules if r.oif == iface or r.table == iface]


def _table_missing(net, iface: str) -> bool:
    query = net.commands.table_routes(iface)
    return query.parse(net.device.run(query.command, timeout=query.timeout)).table_missing


def test_adding_an_interface_held_by_another_network_is_ebusy(ndc, scratch_network, connectivity, logcat, net):
    verdict = connectivity()
    assert verdict.ok, f"{net.interface} must be in its network first: {verdict.render()}"
    with pytest.raises(NdcError) as refused:
        ndc.interface_add(scratch_network, net.interface)
    assert refused.value.code == 400 and EBUSY_REPLY in refused.value.reply.raw, refused.value.reply.raw
    logcat.wait_for(rf"interface {net.interface} already assigned to netId \d+", LOG_WAIT_S)
    after = connectivity()
    assert after.ok, f"the refused add disturbed {net.interface}'s network: {after.render()}"


def test_destroy_clears_the_interface_and_its_rules(ndc, scratch_network, net):
    ndc.interface_add(scratch_network, SCRATCH_INTERFACE)
    assert _interface_rules(net, SCRATCH_INTERFACE), f"no rules for {SCRATCH_INTERFACE} after `interface add`"
    assert not _table_missing(net, SCRATCH_INTERFACE), f"no routing table {SCRATCH_INTERFACE} after `interface add`"
    ndc.network_destroy(scratch_network)
    assert _interface_rules(net, SCRATCH_INTERFACE) == [], "rules left behind by `network destroy`"
    assert _table_missing(net, SCRATCH_INTERFACE), f"table {SCRATCH_INTERFACE} left behind by `network destroy`"
