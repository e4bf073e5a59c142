"""getprop listing and ndc reply parsers."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from harness.parsers.getprop import parse_getprop
from harness.parsers.ndc import ReplyClass, parse_ndc

DATA = Path(__file__).parent / "data" / "parsers"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_getprop_listing_keeps_empty_values_and_order():
    result = parse_getprop(read("getprop/redroid_net.txt"))
    assert result.get("net.dns1") == "8.8.8.8" and result.get("net.dns2") == ""
    assert result.get("missing") is None and result.get("missing", "x") == "x"
    assert list(result.properties)[:3] == ["dhcp.eth0.dns1", "init.svc.netd", "net.dns1"]
    assert result.unparsed == ()


def test_getprop_multiline_value():
    result = parse_getprop(read("getprop/multiline_value.txt"))
    assert result.get("ro.vendor.build.fingerprint.extra") == "line one\nline two ends here"
    assert result.get("sys.boot_completed") == "1" and result.unparsed == ()


def test_getprop_truncated_values_are_unparsed_not_guessed():
    result = parse_getprop(read("getprop/truncated.txt"))
    assert dict(result.properties) == {"net.dns1": "8.8.8.8", "sys.boot_completed": "1"}
    assert [u.number for u in result.unparsed] == [2, 4]


@pytest.mark.parametrize("name, key, value", [
    ("getprop/emulator_android9.txt", "gsm.version.ril-impl", "android reference-ril 1.0"),
    ("getprop/nexus5_indented.txt", "ro.build.date", "Tue Jan  6 22:40:00 UTC 2015"),
    ("getprop/samsung_crlf.txt", "dhcp.wlan0.gateway", "10.0.0.2"),
])
def test_getprop_real_devices(name, key, value):
    result = parse_getprop((DATA / name).read_bytes())  # bytes in: CRLF preserved
    assert result.get(key) == value and result.unparsed == ()


def test_ndc_interface_list_and_getcfg():
    listing = parse_ndc(read("ndc/interface_list.txt"))
    assert listing.interface_names == ("lo", "eth0") and listing.ok
    assert [r.kind for r in listing.replies] == [ReplyClass.CONTINUE, ReplyClass.CONTINUE, ReplyClass.OK]
    assert listing.final is not None and listing.final.message == "Interface list completed"
    cfg = parse_ndc(read("ndc/interface_getcfg.txt")).interface_config
    assert cfg is not None and cfg.mac == "02:42:ac:11:00:02" and cfg.is_up
    assert cfg.address == ipaddress.IPv4Interface("172.17.0.2/16")
    assert cfg.flags == frozenset({"up", "broadcast", "running", "multicast"})


@pytest.mark.parametrize("name, code, kind, errno", [
    ("ndc/add_ebusy.txt", 400, ReplyClass.SERVER_ERROR, "Device or resource busy"),
    ("ndc/add_enonet.txt", 400, ReplyClass.SERVER_ERROR, "Machine is not on the network"),
    ("ndc/route_enoent.txt", 400, ReplyClass.SERVER_ERROR, "No such file or directory"),
    ("ndc/interface_getcfg_missing.txt", 400, ReplyClass.SERVER_ERROR, "No such device"),
    ("ndc/success.txt", 200, ReplyClass.OK, None),
    ("ndc/resolver_ok.txt", 200, ReplyClass.OK, None),
    ("ndc/not_recognized.txt", 500, ReplyClass.CLIENT_ERROR, None),
    ("ndc/unknown_argument.txt", 500, ReplyClass.CLIENT_ERROR, None),
    ("ndc/flag_unsupported.txt", 501, ReplyClass.CLIENT_ERROR, None),
    ("ndc/ipv6_usage.txt", 500, ReplyClass.CLIENT_ERROR, None),
])
def test_ndc_reference_replies(name, code, kind, errno):
    result = parse_ndc(read(name))
    final = result.final
    assert final is not None and (final.code, final.seq, final.kind, final.errno_text) == (code, 0, kind, errno)
    assert result.ok is (kind is ReplyClass.OK) and result.unparsed == ()


def test_ndc_ebusy_message_and_raw_rendering():
    final = parse_ndc(read("ndc/add_ebusy.txt")).final
    assert final is not None and final.message == "addInterfaceToNetwork() failed (Device or resource busy)"
    assert final.raw == "400 0 addInterfaceToNetwork() failed (Device or resource busy)"


def test_ndc_replies_without_sequence_number():
    invalid, too_large = parse_ndc(read("ndc/invalid_seq_and_too_large.txt")).replies
    assert (invalid.seq, invalid.message) == (0, "Invalid sequence number")
    assert (too_large.seq, too_large.message) == (None, "Command too large for buffer")


def test_ndc_monitor_unsolicited_events():
    result = parse_ndc(read("ndc/monitor_linkstate.txt"))
    assert result.notices == ("[Connected to Netd]",) and result.final is None and not result.ok
    assert all(r.kind is ReplyClass.UNSOLICITED and r.seq is None for r in result.replies)
    assert [r.message for r in result.unsolicited][:2] == ["Iface linkstate eth0 down", "Iface changed eth0 down"]
    assert result.replies[-1].message == "IfaceClass active eth0 1234567890 10001"  # digits stay in the message


def test_ndc_client_error_and_nul_separated_capture():
    assert parse_ndc(read("ndc/connect_error.txt")).notices == ("Error connecting (No such file or directory)",)
    raw = parse_ndc((DATA / "ndc" / "raw_socket_nul.bin").read_bytes())
    assert raw.interface_names == ("lo", "eth0") and all(r.seq == 30 for r in raw.replies) and raw.ok


def test_ndc_nms_sequence_first_final_wins():
    result = parse_ndc(read("ndc/nms_sequence.txt"))
    assert [r.seq for r in result.replies] == [29, 30, 31, 32]
    assert result.final is not None and result.final.seq == 29
    assert [r.errno_text for r in result.replies if r.kind is ReplyClass.SERVER_ERROR] == [
        "Device or resource busy", "No such file or directory"]
