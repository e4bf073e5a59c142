"""Triage on real-format logs: every EBUSY form, companions, correlation, bad input."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from harness.logs.signatures import load_registry
from harness.logs.triage import triage, triage_stream

DATA = Path(__file__).parent / "data" / "logs"


def text(name: str) -> str:
    return (DATA / name).read_text()


def test_reference_81_reproduction_gives_one_verdict_with_its_evidence():
    result = triage(text("race-8.1-reference.log"))
    assert result.verdicts() == ["KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30"]
    finding = result.findings[0]
    assert (finding.form, finding.android, finding.severity, finding.kind) == ("cs_ebusy_text", "<=9", "critical", "product")
    assert dict(finding.fields) == {"seq": "30", "reply_seq": "30", "netId": "101", "interface": "eth0",
                                    "old_netId": "100"}
    assert [(e.line, e.timestamp, e.pattern, e.role) for e in finding.evidence] == [
        (5, "04-30 09:25:47.890", "cs_adding_iface", "companion"),
        (6, "04-30 09:25:47.893", "netd_already_assigned", "companion"),
        (7, "04-30 09:25:47.894", "cs_ebusy_text", "primary"),
        (8, "04-30 09:25:47.896", "netd_wrong_netid", "companion"),
        (9, "04-30 09:25:47.896", "cs_addroute_failed", "companion"),
    ]
    assert finding.primary.text.startswith("04-30 09:25:47.894   248   319 E ConnectivityService: Exception adding")
    assert result.lines_scanned == 14


@pytest.mark.parametrize("name, form, verdict", [
    ("race-10.log", "cs_ebusy_10", "KNOWN eth0-ebusy-startup-race: netId 101 eth0"),
    ("race-11.log", "cs_ebusy_11", "KNOWN eth0-ebusy-startup-race: netId 101 eth0"),
    ("race-12.log", "cs_ebusy_12", "KNOWN eth0-ebusy-startup-race: netId 101 eth0"),
])
def test_binder_forms_take_netid_and_interface_from_companions(name, form, verdict):
    result = triage(text(name))
    assert result.verdicts() == [verdict]
    finding = result.findings[0]
    assert finding.form == form
    assert finding.fields["old_netId"] == "100"


def test_level_tells_the_11_form_from_the_12_form():
    line = ("11-02 17:40:09.553  1021  1187 {} ConnectivityService: Exception adding interface: "
            "android.os.ServiceSpecificException: Device or resource busy (code 16)")
    assert triage(line.format("E")).findings[0].form == "cs_ebusy_11"
    assert triage(line.format("W")).findings[0].form == "cs_ebusy_12"
    assert triage(line.format("I")).findings == ()           # no known form logs it at I
    assert triage(line.format("W").replace("ConnectivityService", "SomethingElse")).findings == ()


def test_android_version_restricts_the_forms():
    assert triage(text("race-12.log"), android="12").known
    assert not triage(text("race-12.log"), android="9").known
    assert triage(text("race-8.1-reference.log"), android="8.1").findings[0].form == "cs_ebusy_text"


def test_sequence_numbers_of_command_and_reply_must_agree():
    good = text("race-8.1-reference.log")
    mismatched = good.replace("failed with '400 30 addInterface", "failed with '400 29 addInterface")
    assert triage(good).known
    assert not triage(mismatched).known


def test_companions_outside_the_window_or_disagreeing_are_not_evidence():
    lines = text("race-8.1-reference.log").splitlines()
    # netd's line for another interface, and an "Adding iface" from another thread: both rejected
    lines[5] = lines[5].replace("interface eth0 already", "interface eth1 already")
    lines[4] = lines[4].replace("   248   319 D", "   248   320 D")
    finding = triage("\n".join(lines)).findings[0]
    assert {e.pattern for e in finding.evidence} == {"cs_ebusy_text", "netd_wrong_netid", "cs_addroute_failed"}
    far = text("race-8.1-reference.log").replace("04-30 09:25:47.893", "04-30 09:25:44.893")
    assert "netd_already_assigned" not in {e.pattern for e in triage(far).findings[0].evidence}


def test_healthy_boot_matches_nothing():
    result = triage(text("healthy-boot-8.1.log"))
    assert result.findings == () and not result.known
    assert result.lines_scanned == 17


def test_netd_start_failure_is_one_infrastructure_finding():
    result = triage(text("netd-start-failure.log"))
    # the IPv6 rule line is a companion of the RouteController finding, not a second finding
    assert result.verdicts() == ["KNOWN netd-routecontroller-init-failed: Address family not supported by "
                                 "protocol IPv6 rule: Address family not supported by protocol netd exited "
                                 "with status 2"]
    assert result.findings[0].kind == "infrastructure"
    alone = "\n".join(text("netd-start-failure.log").splitlines()[:2])
    assert triage(alone).verdicts() == ["KNOWN netd-ipv6-rules-unsupported: adding IPv6 rule"]


def test_error_creating_network_in_both_renderings():
    r = triage("04-30 09:25:47.880   248   319 E ConnectivityService: Error creating network 101: "
               "command '29 network create 101' failed with '400 29 createPhysicalNetwork() failed (File exists)'\n"
               "11-02 17:40:09.550  1021  1187 E ConnectivityService: Error creating network [102 ETHERNET]: "
               "android.os.ServiceSpecificException: File exists (code 17)\n")
    assert [f.fields["netId"] for f in r.findings] == ["101", "102"]


def test_repeated_reproductions_are_each_reported_in_a_large_log():
    rng = random.Random(3)
    noise = [f"04-30 09:{m:02d}:{s:02d}.{ms:03d}  1034  1050 I ActivityManager: Start proc {n}:com.x/u0a{n}"
             for m, s, ms, n in ((i // 6000 % 60, i // 100 % 60, i % 1000, rng.randrange(9999)) for i in range(60000))]
    race = text("race-8.1-reference.log").splitlines()
    log = noise[:20000] + race + noise[20000:40000] + [l.replace("101", "102") for l in race] + noise[40000:]
    result = triage(log)
    assert result.verdicts() == ["KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30",
                                 "KNOWN eth0-ebusy-startup-race: netId 102 eth0 seq 30"]
    assert [f.primary.line for f in result.findings] == [20007, 40021]


@pytest.mark.parametrize("blob", [
    b"",
    b"\x00\xff\xfe" * 1000,
    bytes(random.Random(1).randrange(256) for _ in range(50000)),
    b"04-30 09:25:47.894   248   319 E ConnectivityService: Exception adding interface: java.lang.Illegal",
    b"\xff\xfe04-30 09:25:47.894 E ConnectivityService: Device or resource busy\r\n" * 3,
    b"Device or resource busy" * 10000,           # one huge line of anchors, no line end
])
def test_garbled_truncated_or_binary_input_never_raises(blob):
    result = triage(blob)
    assert result.findings == ()
    assert result.bytes_scanned == len(blob)


def test_crlf_and_invalid_utf8_around_a_real_line_still_match():
    raw = text("race-8.1-reference.log").replace("\n", "\r\n").encode()
    raw = b"\xff\xfe garbage \x00\r\n" + raw
    result = triage(raw)
    assert result.verdicts() == ["KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30"]
    assert result.findings[0].primary.line == 8


def test_stream_reports_a_truncated_gzip_and_keeps_what_it_read(tmp_path):
    packed = gzip.compress(text("race-8.1-reference.log").encode() * 50)
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[:-20])
    with gzip.open(path, "rb") as stream:
        result = triage_stream(stream, load_registry())
    assert result.problem and "input ended early" in result.problem
    assert result.known
