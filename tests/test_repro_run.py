"""`harness repro` end to end: the CLI through the real adb server against virtual devices.

Small runs at a fast device clock; the reports are checked against the per-iteration records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.adb_server import free_loopback_port
from harness.cli import main
from harness.repro.outcome import Outcome

BUGGY, FIXED = "sim-android-8.1-buggy", "sim-android-8.1-fixed"
EBUSY = "addInterfaceToNetwork() failed (Device or resource busy)"
ARTIFACT_FILES = ("logcat.txt", "snapshot-before.txt", "snapshot-after.txt", "snapshot-diff.txt", "timeline.txt",
                  "verdict.txt", "triage.json", "record.json")


def repro(tmp_path: Path, *args: str) -> tuple[int, dict, Path]:
    status = main(["repro", "--reports", str(tmp_path), "--clock-scale", "0.25", *args])
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name != "allure")
    assert len(runs) == 1, runs
    return status, json.loads((runs[0] / "summary.json").read_text()), runs[0]


def check_consistent(summary: dict, run_dir: Path) -> None:
    records = summary["iterations"]
    counts = summary["result"]["counts"]
    assert set(counts) == {str(o) for o in Outcome}
    assert all(r["outcome"] in counts for r in records)
    for outcome, n in counts.items():
        assert n == sum(1 for r in records if r["outcome"] == outcome)
    assert summary["result"]["iterations"] == len(records)
    assert [r["index"] for r in records] == sorted(r["index"] for r in records)
    k = counts["known-regression"]
    n = counts["ok"] + counts["known-regression"] + counts["no-network"]
    assert (summary["result"]["rate"]["k"], summary["result"]["rate"]["n"]) == (k, n)
    assert summary["exit_status"] == (1 if k else 0)
    for r in records:
        if r["outcome"] == "ok":
            assert r["ttn_s"] > 0 and r["artifacts"] is None
            continue
        directory = run_dir / r["artifacts"]
        for name in ARTIFACT_FILES:
            assert (directory / name).is_file(), (r["index"], name)
        if r["outcome"] == "known-regression":
            assert r["signatures"] == ["eth0-ebusy-startup-race"] and r["reason"].startswith("KNOWN ")
            assert EBUSY in (directory / "logcat.txt").read_text()
            timeline = (directory / "timeline.txt").read_text()
            assert " harness " in timeline and " logcat " in timeline and EBUSY in timeline
            assert (directory / "verdict.txt").read_text().startswith(f"{r['serial']}: no network on eth0")
    assert (run_dir / "summary.html").is_file()
    assert (run_dir / "reproductions.png").is_file()


def test_buggy_profile_run_is_consistent_and_keeps_evidence(tmp_path, capsys):
    allure = tmp_path / "allure"
    status, summary, run_dir = repro(tmp_path, "--iterations", "12", "--devices", "3", "--allure", str(allure))
    out = capsys.readouterr().out
    check_consistent(summary, run_dir)
    assert status == summary["exit_status"]
    assert summary["stop_reason"] == "12 iterations reached"
    assert len(summary["devices"]) == 3 and all(d["build"]["release"] == "8.1.0" for d in summary["devices"])
    assert f"reproduction rate: {summary['result']['rate_text']}" in out
    assert f"exit status {status}: " in out and str(run_dir / "summary.html") in out
    assert len(list(allure.glob("*-result.json"))) == 12
    assert (allure / "categories.json").is_file() and (allure / "environment.properties").is_file()


def test_fixed_profile_never_reproduces_and_exits_0(tmp_path):
    status, summary, run_dir = repro(tmp_path, "--profile", FIXED, "--iterations", "40", "--devices", "4",
                                     "--no-progress")
    check_consistent(summary, run_dir)
    assert status == 0
    assert summary["result"]["counts"]["known-regression"] == 0
    rate = summary["result"]["rate"]
    assert rate["method"] == "rule-of-three" and rate["ci_high"] == pytest.approx(3 / rate["n"])
    assert "rule of three" in summary["exit_reason"]


@pytest.mark.slow
def test_fixed_profile_300_iterations(tmp_path):
    status, summary, run_dir = repro(tmp_path, "--profile", FIXED, "--iterations", "300", "--devices", "4",
                                     "--no-progress")
    counts = summary["result"]["counts"]
    assert status == 0 and counts["known-regression"] == 0
    n = summary["result"]["rate"]["n"]
    # Iterations lost to the host (device-lost under heavy CPU load) are reported, not counted:
    # allow at most 1%, and the bound must be the rule of three over what was counted.
    assert n >= 297 and n + counts.get("device-lost", 0) + counts.get("boot-timeout", 0) == 300, counts
    assert summary["result"]["rate"]["method"] == "rule-of-three"
    assert summary["result"]["rate"]["ci_high"] == pytest.approx(3 / n)


def test_compare_default_separates_buggy_from_fixed(tmp_path):
    status, summary, run_dir = repro(tmp_path, "--compare", BUGGY, FIXED, "--seed", "3", "--no-progress")
    compare = summary["compare"]
    assert [g["profile"] for g in summary["groups"]] == [BUGGY, FIXED]
    assert all(g["iterations"] == 120 for g in summary["groups"])
    assert compare["significant"] and compare["p_value"] < 0.001, compare["verdict"]
    assert compare["verdict"].startswith(f"B ({FIXED}) reproduces less than A ({BUGGY})")
    assert status == 0           # group B (the fixed build) is clean


def test_hunt_reports_rate_per_delay_and_recovers_the_device(tmp_path):
    status, summary, run_dir = repro(tmp_path, "--hunt", "--window", "idle", "--delays", "0,300",
                                     "--iterations", "8", "--devices", "2", "--no-progress")
    check_consistent(summary, run_dir)
    buckets = summary["hunt"]["groups"][0]["buckets"]
    assert [b["delay_ms"] for b in buckets] == [0.0, 300.0]
    records = summary["iterations"]
    assert sum(b["trials"] for b in buckets) == sum(1 for r in records if r["outcome"] in
                                                      ("ok", "known-regression", "no-network"))
    assert all(r["method"] == "link-flap" and r["delay_ms"] in (0.0, 300.0) for r in records)
    assert not any(d["excluded"] for d in summary["devices"])
    assert (run_dir / "rate-per-delay.png").is_file()


def test_no_adb_server_is_an_infrastructure_failure(tmp_path, capsys):
    port = free_loopback_port()
    status = main(["repro", "--reports", str(tmp_path), "--serial", "127.0.0.1:5555", "--adb-server",
                   f"127.0.0.1:{port}", "--profile", "redroid-8.1", "--iterations", "1"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"harness repro: infrastructure failure: adb server at 127.0.0.1:{port} does not answer")


@pytest.mark.parametrize("args, message", [
    (["--compare", BUGGY, FIXED, "--serial", "127.0.0.1:5555"], "--compare takes two profiles"),
    (["--serial-a", "127.0.0.1:5555"], "give both groups"),
    (["--hunt", "--method", "reboot"], "--hunt flaps eth0"),
    (["--profile", "no-such-profile", "--iterations", "1"], "profile 'no-such-profile' not found"),
    (["--serial", "127.0.0.1:5555"], "profile sim-android-8.1-buggy describes a virtual device"),
])
def test_bad_usage_is_one_error_line(tmp_path, capsys, args, message):
    assert main(["repro", "--reports", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
