"""dumpsys connectivity / ethernet parsers across Android releases."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from harness.parsers.dumpsys_common import link_properties, network_info
from harness.parsers.dumpsys_connectivity import parse_dumpsys_connectivity
from harness.parsers.dumpsys_ethernet import parse_dumpsys_ethernet

DATA = Path(__file__).parent / "data" / "parsers" / "dumpsys"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_connectivity_81_healthy():
    result = parse_dumpsys_connectivity(read("connectivity_81_healthy.txt"))
    assert result.default_net_id == 100 and result.factories == ("Ethernet",) and result.unparsed == ()
    net = result.default_network
    assert net is not None and net.interface == "eth0" and net.connected and net.validated
    assert net.info is not None and (net.info.type_name, net.info.state, net.info.detailed_state) == (
        "Ethernet", "CONNECTED", "CONNECTED")
    assert net.transports == frozenset({"ETHERNET"}) and "INTERNET" in net.capabilities
    assert (net.score, net.ever_validated, net.last_validated, net.lingering, net.requests_total) == (
        70, True, True, False, 6)
    assert net.link is not None and net.link.addresses == (ipaddress.IPv4Interface("172.17.0.2/16"),)
    assert net.link.dns_servers == (ipaddress.IPv4Address("8.8.8.8"),) and net.link.has_default_route
    assert [s.name for s in result.sections] == [
        "NetworkFactories for", "Active default network", "Current Networks", "Network Requests",
        "mLegacyTypeTracker", "mNetworkRequestInfoLogs (most recent first)"]


def test_connectivity_after_race_reports_a_connected_unvalidated_default():
    result = parse_dumpsys_connectivity(read("connectivity_81_after_race.txt"))
    net = result.default_network
    assert result.default_net_id == 101 and net is not None and net.connected and not net.validated
    assert result.on_interface("eth0") == (net,)


def test_connectivity_none_and_missing_service():
    none = parse_dumpsys_connectivity(read("connectivity_no_network.txt"))
    assert none.default_net_id is None and none.default_network_line == 3 and none.networks == ()
    missing = parse_dumpsys_connectivity(read("connectivity_service_missing.txt"))
    assert missing.errors == ("Can't find service: connectivity",) and missing.default_network_line is None


def test_connectivity_android13_truncated_real_dump():
    result = parse_dumpsys_connectivity(read("connectivity_android13_truncated.txt"))
    assert result.default_net_id == 231 and len(result.factories) == 12
    assert result.factories[2] == "EthernetNetworkFactory"
    (net,) = result.networks
    assert net.net_id == 225 and net.info is not None and (net.info.type_name, net.info.subtype) == ("MOBILE", "LTE")
    assert net.last_validated and net.ever_validated and net.interface == "rmnet_data3"
    assert net.link is not None and net.link.dns_servers == (ipaddress.IPv4Address("10.203.128.1"),)
    assert result.default_network is None  # 231 is past the end of the excerpt


def test_connectivity_android14_ethernet_shape():
    (net,) = parse_dumpsys_connectivity(read("connectivity_android14_ethernet.txt")).networks
    assert net.net_id == 100 and net.validated and net.lingering is False and net.requests_total == 9
    assert net.link is not None and net.link.routes[1] == "0.0.0.0/0 -> 172.17.0.1 eth0 mtu 0"
    assert net.link.mtu == 1500 and net.link.has_default_route


def test_connectivity_old_nai_renderings():
    result = parse_dumpsys_connectivity(read("connectivity_old_nai_forms.txt"))
    mobile, wifi = result.networks
    assert mobile.net_id is None and mobile.last_validated is False and mobile.score == 10
    assert wifi.net_id == 727 and wifi.validated and wifi.info is not None and wifi.info.type_name == "WIFI"
    assert wifi.link is not None and len(wifi.link.addresses) == 3 and wifi.link.ipv4_addresses == (
        ipaddress.IPv4Interface("192.168.0.13/24"),)
    assert wifi.link.dns_servers[0] == ipaddress.IPv6Address("2001:730:3e42:1000::53")


def test_value_renderings():
    old = network_info("[type: Ethernet[], state: DISCONNECTED/DISCONNECTED, reason: (unspecified)]")
    assert old is not None and old.state == "DISCONNECTED" and not old.connected
    short = network_info("MOBILE[LTE] CONNECTED extra: x")
    assert short is not None and short.subtype == "LTE" and short.detailed_state is None
    assert network_info("garbage") is None and link_properties("nothing here") is None
    lp = link_properties("{InterfaceName: eth0 LinkAddresses: [ 172.17.0.2/16,fe80::1/64 ] DnsAddresses: [ /8.8.8.8,/1.1.1.1 ]}")
    assert lp is not None and [str(d) for d in lp.dns_servers] == ["8.8.8.8", "1.1.1.1"] and len(lp.addresses) == 2


def test_ethernet_81_tracking():
    result = parse_dumpsys_ethernet(read("ethernet_81_tracking.txt"))
    assert result.tracking and result.network_requested and result.unparsed == ()
    eth0 = result.get("eth0")
    assert eth0 is not None and eth0.link_up and eth0.mac == "02:42:ac:11:00:02" and eth0.has_network_agent
    assert eth0.has_ip_client and eth0.ip_assignment == "DHCP"
    assert eth0.info is not None and eth0.info.connected
    assert eth0.link is not None and eth0.link.addresses == (ipaddress.IPv4Interface("172.17.0.2/16"),)


def test_ethernet_81_not_tracking():
    result = parse_dumpsys_ethernet(read("ethernet_81_not_tracking.txt"))
    assert result.tracking is False and result.network_requested is False and result.interfaces == ()
    assert result.settings["Stored IP assignment"] == "STATIC" and result.unparsed == ()


def test_ethernet_tracker_10_and_14():
    ten = parse_dumpsys_ethernet(read("ethernet_10_tracker.txt"))
    assert ten.tracking and ten.interface_filter == r"eth\d" and ten.unparsed == ()
    (eth0,) = ten.interfaces
    assert (eth0.link_up, eth0.ip_assignment, eth0.has_network_agent, eth0.has_ip_client) == (True, "STATIC", True, True)
    assert eth0.info is not None and eth0.info.state == "CONNECTED"
    assert eth0.link is not None and eth0.link.dns_servers == (ipaddress.IPv4Address("8.8.8.8"),)

    fourteen = parse_dumpsys_ethernet(read("ethernet_14_tracker.txt"))
    assert fourteen.enabled is True and fourteen.unparsed == ()
    (eth0,) = fourteen.interfaces
    assert (eth0.link_up, eth0.has_network_agent, eth0.has_ip_client, eth0.ip_assignment) == (False, False, False, "DHCP")
    assert fourteen.settings["Tethering interface mode"] == "1"


def test_ethernet_vendor_lines_and_errors():
    vendor = parse_dumpsys_ethernet("Current Ethernet state: \n  Network Requested: true\n"
                                    "  Tracking interface: eth0\n  mEthernetCurrentState: connected\n")
    assert vendor.get("eth0") is not None and [u.number for u in vendor.unparsed] == [4]
    assert parse_dumpsys_ethernet("Can't find service: ethernet\n").errors == ("Can't find service: ethernet",)
