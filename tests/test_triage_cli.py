"""`harness triage`: output, exit codes (0 clean, 1 known, 2 unreadable) and input kinds."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

DATA = Path(__file__).parent / "data" / "logs"
RACE = DATA / "race-8.1-reference.log"


def harness_triage(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli.triage", *args], input=stdin,
                          capture_output=True, timeout=60)


def test_known_regression_exits_1_and_prints_the_verdict_first():
    proc = harness_triage(str(RACE))
    assert proc.returncode == 1
    out = proc.stdout.decode().splitlines()
    assert out[0] == "KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30"
    assert out[3].startswith("    line 7 (primary cs_ebusy_text): 04-30 09:25:47.894   248   319 E ConnectivityService:")
    assert out[-1] == "1 known finding(s) (eth0-ebusy-startup-race) in 14 lines, 0.0 MB"
    assert proc.stderr == b""


def test_clean_log_exits_0():
    proc = harness_triage(str(DATA / "healthy-boot-8.1.log"))
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines() == ["no known signature matched (17 lines, 0.0 MB)"]


def test_json_output(tmp_path):
    proc = harness_triage(str(RACE), "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["verdicts"] == ["KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30"]
    assert data["findings"][0]["evidence"][2] == {
        "line": 7, "timestamp": "04-30 09:25:47.894", "pattern": "cs_ebusy_text", "role": "primary",
        "text": RACE.read_text().splitlines()[6]}


def test_stdin_gzip_and_bugreport_zip(tmp_path):
    assert harness_triage("-", stdin=RACE.read_bytes()).returncode == 1
    assert harness_triage("-", stdin=gzip.compress(RACE.read_bytes())).returncode == 1
    gz = tmp_path / "logcat.txt.gz"
    gz.write_bytes(gzip.compress(RACE.read_bytes()))
    assert harness_triage(str(gz)).returncode == 1
    bugreport = tmp_path / "bugreport-sim-2024.zip"
    with zipfile.ZipFile(bugreport, "w") as z:
        z.writestr("version.txt", "2.0")
        z.writestr("bugreport-sim-2024.txt", "== dumpstate ==\n------ SYSTEM LOG ------\n" + RACE.read_text())
    proc = harness_triage(str(bugreport))
    assert proc.returncode == 1
    assert b"line 9 (primary cs_ebusy_text)" in proc.stdout


def test_missing_unreadable_or_bad_input_exits_2_with_one_line(tmp_path):
    missing = tmp_path / "nope.log"
    proc = harness_triage(str(missing))
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode() == f"harness triage: error: cannot read {missing}: No such file or directory\n"
    proc = harness_triage(str(tmp_path))
    assert proc.stderr.decode() == f"harness triage: error: cannot read {tmp_path}: Is a directory\n"
    empty_zip = tmp_path / "x.zip"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("a.bin", b"\x00")
    proc = harness_triage(str(empty_zip))
    assert proc.returncode == 2
    assert proc.stderr.decode() == (f"harness triage: error: {empty_zip}: zip archive has no .txt member "
                                    "(expected a bugreport)\n")


def test_bad_signature_directory_exits_2(tmp_path):
    (tmp_path / "a.yaml").write_text("id: x\n")
    proc = harness_triage(str(RACE), "--signatures", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith(f"harness triage: error: {tmp_path / 'a.yaml'}:")


def test_android_option_filters_forms():
    assert harness_triage(str(RACE), "--android", "12").returncode == 0
    proc = harness_triage(str(RACE), "--android", "R")
    assert proc.returncode == 2
    assert proc.stderr.decode() == ("harness triage: error: not an Android version: 'R' "
                                    "(expected e.g. '8.1' or '12')\n")


def test_jobs_option_changes_nothing_but_the_processes_used():
    default = harness_triage(str(RACE))
    for jobs in ("1", "3"):
        proc = harness_triage(str(RACE), "--jobs", jobs)
        assert (proc.returncode, proc.stdout, proc.stderr) == (default.returncode, default.stdout, b"")
    for bad in ("0", "x", "-1"):
        proc = harness_triage(str(RACE), "--jobs", bad)
        assert proc.returncode == 2 and proc.stdout == b""
        assert proc.stderr.decode().splitlines()[-1] == (
            f"harness triage: error: argument --jobs: expected a positive whole number, got '{bad}'")


def test_a_warm_start_on_a_clean_log_imports_no_yaml_pydantic_or_parser():
    harness_triage(str(DATA / "healthy-boot-8.1.log"))          # the registry cache is warm now
    probe = ("import sys; from harness.cli import main; rc = main(sys.argv[1:]); "
             "print(sorted(m for m in ('yaml', 'pydantic', 'harness.parsers.logcat', 'subprocess', 'ctypes') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe, "triage", str(DATA / "healthy-boot-8.1.log")],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines()[-1] == "[]", out.stdout + out.stderr
