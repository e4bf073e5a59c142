"""logcat parser: every logprint format and modifier, host-side copies, separators, garbage."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from harness.parsers.logcat import parse_logcat

DATA = Path(__file__).parent / "data" / "parsers" / "logcat"

EBUSY = ("Exception adding interface: java.lang.IllegalStateException: command '30 network interface add 101 eth0'"
         " failed with '400 30 addInterfaceToNetwork() failed (Device or resource busy)'")


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_threadtime_incident_line_exactly():
    result = parse_logcat(read("threadtime_incident.txt"))
    cs, netd = result.entries
    assert (cs.format, cs.priority, cs.tag, cs.pid, cs.tid, cs.message) == (
        "threadtime", "E", "ConnectivityService", 248, 319, EBUSY)
    assert cs.time is not None and cs.time.text == "04-30 09:25:47.894" and cs.time.nanosecond == 894_000_000
    assert (cs.time.month, cs.time.day, cs.time.hour, cs.time.second, cs.time.year) == (4, 30, 9, 47, None)
    assert netd.tag == "Netd" and netd.message == "interface eth0 already assigned to netId 100"  # padded tag
    assert [s.buffer for s in result.separators] == ["system"] and cs.buffer == "system"
    assert result.unparsed == ()


def test_real_threadtime_logs():
    netd = parse_logcat(read("threadtime_redroid11_netd.txt"))
    assert [e.message for e in netd.with_tag("Netd")] == ["Netd 1.0 starting", "Creating child chains: 8.7ms"]
    eth = parse_logcat(read("threadtime_android9_ethernet.txt"))
    assert [e.tag for e in eth.entries] == ["ShortcutService", "OpenVPN", "linker", "EthernetTracker"]
    assert eth.entries[3].message == "maybeTrackInterface tun0" and eth.unparsed == ()
    nai = parse_logcat(read("threadtime_android8_nai.txt"))
    assert nai.matching(r"Adding iface \w+ to network \d+")[0].message == "Adding iface rmnet0 to network 103"


def test_kernel_lines_have_tags_with_spaces():
    result = parse_logcat(read("threadtime_android12_kernel_tag.txt"))
    kernel = result.entries[2]
    assert (kernel.pid, kernel.tid, kernel.tag) == (0, 0, "cdc_mbim 1-1.3")
    assert kernel.message.startswith("1.3 eth1: register 'cdc_mbim'")
    assert result.entries[3].tag == "netd" and result.unparsed == ()


def test_year_usec_zone_uid_modifiers():
    first, second = parse_logcat(read("threadtime_year_usec_zone_uid.txt")).entries
    assert (first.uid, first.pid, first.tid) == ("1000", 248, 319) and second.uid == "root"
    assert first.time is not None and first.time.year == 2024 and first.time.nanosecond == 894_123_000
    assert first.time.utc_offset == "+0800"
    when = first.time.to_datetime(default_year=1999)
    assert when == datetime.datetime(2024, 4, 30, 9, 25, 47, 894123,
                                     tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def test_nsec_epoch_monotonic():
    (entry,) = parse_logcat(read("threadtime_nsec.txt")).entries
    assert entry.time is not None and entry.time.nanosecond == 894_123_456
    epoch, monotonic = parse_logcat(read("threadtime_epoch_monotonic.txt")).entries
    assert epoch.time is not None and epoch.time.seconds == 1714469147 and epoch.time.month is None
    assert epoch.time.to_datetime(2024) is None
    assert monotonic.time is not None and monotonic.time.seconds == 12 and monotonic.tag == "init"


def test_multiline_message_gets_a_prefix_per_line():
    entries = parse_logcat(read("threadtime_multiline.txt")).entries
    assert len(entries) == 3 and entries[1].message.startswith("\tat com.android.server.NativeDaemonConnector")


def test_brief_and_time_formats():
    brief = parse_logcat(read("brief.txt"))
    assert [(e.format, e.priority, e.tag, e.pid) for e in brief.entries] == [
        ("brief", "D", "EthernetNetworkFactory", 248), ("brief", "E", "ConnectivityService", 248),
        ("brief", "E", "Netd", 170)]
    assert brief.entries[1].message == EBUSY and brief.entries[0].buffer == "main"
    time = parse_logcat(read("time.txt"))
    assert [e.format for e in time.entries] == ["time"] * 3 and time.entries[0].message == EBUSY
    assert [(s.kind, s.buffer) for s in time.separators] == [("beginning of", "main"), ("switch to", "system")]
    assert time.entries[2].buffer == "system" and time.entries[2].uid == "1000" and time.entries[2].pid == 248


def test_ddms_and_studio_copies():
    ddms = parse_logcat(read("ddms_eclipse.txt"))
    assert [e.tag for e in ddms.entries] == ["WifiStateTracker", "Tethering", "NetdConnector", "WifiHW"]
    assert ddms.entries[2].message == "RCV <- {600 Iface removed eth0}" and ddms.entries[2].pid == 1106
    studio = parse_logcat(read("studio_copy.txt"))
    assert [(e.pid, e.tid, e.process) for e in studio.entries][:2] == [(2121, 2601, "system_process")] * 2
    assert studio.entries[2].message == "updateInterface: eth0 link up"
    assert studio.entries[3].time is not None and studio.entries[3].time.year == 2020


def test_long_tag_process_thread_formats():
    long = parse_logcat(read("long.txt"))
    assert [(e.format, e.tag, e.pid, e.tid) for e in long.entries] == [
        ("long", "ConnectivityService", 248, 319), ("long", "Netd", 170, 170)]
    assert long.entries[0].message == EBUSY and long.unparsed == ()
    tag, process, thread = parse_logcat(read("tag_process_thread.txt")).entries
    assert (tag.format, tag.tag, tag.pid) == ("tag", "Netd", None)
    assert (process.format, process.tag, process.pid) == ("process", "Netd", 170)
    assert (thread.format, thread.pid, thread.tid, thread.tag) == ("thread", 170, 170, "")


def test_color_codes_are_stripped():
    first, second = parse_logcat(read("color.txt")).entries
    assert first.priority == "E" and first.message.endswith("(code 16)") and second.priority == "I"


def test_garbage_lines_are_kept_with_numbers():
    result = parse_logcat(read("garbage_mixed.txt"))
    assert [e.line for e in result.entries] == [2, 6] and result.entries[1].message == ""
    assert [(u.number, u.text) for u in result.unparsed] == [
        (3, "this line is not a log line"), (4, "04-30 09:25:47.8"), (5, "logcat: Unexpected EOF!")]


@pytest.mark.parametrize("date", ["02-29 12:00:00.000", "13-45 99:99:99.000"])
def test_impossible_or_leap_dates_never_raise(date):
    (entry,) = parse_logcat(f"{date}  1  1 I tag: msg\n").entries
    assert entry.time is not None
    assert entry.time.to_datetime(2023) is None  # 2023 has no Feb 29; 13-45 is no date
