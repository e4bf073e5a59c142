"""The reports of a repro run, from recorded iteration data (no device): summary.json fields and
consistency, the self-contained HTML (tables, data-URI plots), the PNG plots, allure-results;
and the HTML rendered by headless Chromium (tables present, images decoded, no console error)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.logs.signatures import load_registry
from harness.report import allure_results, plots, summary_json
from harness.repro.app import write_reports
from harness.repro.artifacts import FailureEvidence, write_artifacts
from harness.repro.compare import verdict
from harness.repro.hunt import buckets, window
from harness.repro.outcome import IterationRecord, Outcome, summarize
from harness.repro.result import GroupResult, RunResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SERIALS = ("127.0.0.1:40001", "127.0.0.1:40002")
DELAYS = (0.0, 50.0, 100.0)
# outcome per iteration, in start order (a recorded hunt: delays cycle 0, 50, 100)
RECORDED = [Outcome.OK, Outcome.KNOWN_REGRESSION, Outcome.OK, Outcome.OK, Outcome.KNOWN_REGRESSION, Outcome.OK,
            Outcome.NO_NETWORK, Outcome.OK, Outcome.OK, Outcome.DEVICE_LOST, Outcome.KNOWN_REGRESSION, Outcome.OK]


def _records() -> list[IterationRecord]:
    out = []
    for i, outcome in enumerate(RECORDED, 1):
        known = outcome is Outcome.KNOWN_REGRESSION
        out.append(IterationRecord(
            index=i, serial=SERIALS[i % 2], group="", method="link-flap", outcome=outcome,
            started_at=1_795_000_000.0 + 2 * i, duration_s=1.5, ttn_s=0.6 + i / 20 if outcome is Outcome.OK else None,
            signatures=("eth0-ebusy-startup-race",) if known else (),
            reason="KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30" if known
            else "127.0.0.1:40001: no network on eth0: address failed: eth0 has no IPv4 address"
            if outcome is Outcome.NO_NETWORK else "DeviceLost: device offline" if outcome is Outcome.DEVICE_LOST
            else "network up",
            failing_layer="netd-membership" if known else "address" if outcome is Outcome.NO_NETWORK else None,
            delay_ms=DELAYS[(i - 1) % 3]))
    return out


def recorded_result(run_dir: Path) -> RunResult:
    records = []
    for r in _records():
        if r.outcome.is_failure:
            evidence = FailureEvidence()
            evidence.note("snapshot after: recorded data, no device")
            r = IterationRecord.from_dict({**r.to_dict(), "artifacts": write_artifacts(run_dir, r, evidence)})
        records.append(r)
    found = tuple(buckets(records, DELAYS))
    group = GroupResult("", "sim-android-8.1-buggy", tuple(records), summarize(records), found, window(list(found)))
    devices = tuple({"serial": s, "group": "", "profile": "sim-android-8.1-buggy", "virtual": True, "clock_scale": 0.25,
                     "build": {"model": "redroid8_x86_64", "release": "8.1.0", "sdk": 27,
                               "fingerprint": f"redroid/redroid_x86_64/redroid_x86_64:8.1.0/OPM1.171019.011/{n}:userdebug/test-keys",
                               "build_type": "userdebug"},
                     "iterations": 6, "excluded": None} for n, s in enumerate(SERIALS))
    return RunResult(run_id="20261122T000000Z-abc123", run_dir=run_dir, started_at=1_795_000_000.0,
                     finished_at=1_795_000_030.0, command=("harness", "repro", "--hunt"),
                     parameters={"mode": "hunt", "method": "link-flap", "window": "idle", "delays_ms": list(DELAYS),
                                 "iterations": 12},
                     devices=devices, groups=(group,), stop_reason="12 iterations reached")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    allure_dir = tmp_path_factory.mktemp("allure")
    result = write_reports(recorded_result(run_dir), load_registry(), allure_dir)
    return result, run_dir, allure_dir


def test_summary_json_has_the_documented_fields_and_agrees_with_its_records(written):
    result, run_dir, _ = written
    data = json.loads((run_dir / "summary.json").read_text())
    assert data["schema"] == summary_json.SCHEMA
    for key in ("run_id", "started_at", "finished_at", "duration_s", "command", "parameters", "devices",
                "stop_reason", "exit_status", "exit_reason", "result", "groups", "compare", "hunt",
                "iterations", "paths"):
        assert key in data, key
    assert data["started_at"] == "2026-11-18T11:06:40.000+00:00"
    assert (data["exit_status"], data["exit_reason"]) == (1, "known regression reproduced: 3/11 (27.3%, 95% CI 9.7%-56.6%)")
    # the counts are those of the per-iteration records
    iterations = data["iterations"]
    assert len(iterations) == len(RECORDED) == data["result"]["iterations"]
    for outcome in Outcome:
        assert data["result"]["counts"][str(outcome)] == sum(1 for r in iterations if r["outcome"] == outcome)
    assert data["result"]["trials"] == sum(1 for r in iterations if r["outcome"] != "device-lost") == 11
    assert data["result"]["rate"] == {"k": 3, "n": 11, "rate": pytest.approx(3 / 11), "ci_low": pytest.approx(0.0975, abs=1e-3),
                                      "ci_high": pytest.approx(0.5657, abs=1e-3), "method": "wilson", "confidence": 0.95}
    ttn = sorted(r["ttn_s"] for r in iterations if r["outcome"] == "ok")
    assert data["result"]["ttn_s"]["max"] == ttn[-1] and data["result"]["ttn_s"]["count"] == len(ttn) == 7
    assert set(data["result"]["ttn_s"]) == {"count", "p50", "p90", "p99", "max", "mean"}
    assert [b["delay_ms"] for b in data["hunt"]["groups"][0]["buckets"]] == [0.0, 50.0, 100.0]
    assert sum(b["reproductions"] for b in data["hunt"]["groups"][0]["buckets"]) == 3
    device = data["devices"][0]
    assert device["serial"] == SERIALS[0] and device["profile"] == "sim-android-8.1-buggy"
    assert device["build"]["release"] == "8.1.0" and device["build"]["fingerprint"].startswith("redroid/")
    # every failing iteration has its artifacts, every path listed exists
    for r in iterations:
        assert (r["artifacts"] is not None) == (r["outcome"] != "ok")
        if r["artifacts"]:
            assert (run_dir / r["artifacts"] / "record.json").is_file()
            assert (run_dir / r["artifacts"] / "logcat.txt").is_file()
            assert (run_dir / r["artifacts"] / "problems.txt").read_text() == "snapshot after: recorded data, no device\n"
    for path in data["paths"].values():
        assert (run_dir / path).exists() or Path(path).exists(), path


def test_plots_are_written_as_png(written):
    _, run_dir, _ = written
    for name in ("ttn-histogram.png", "reproductions.png", "rate-per-delay.png"):
        data = (run_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000, name


def test_a_plot_without_data_is_left_out():
    assert plots.ttn_histogram([]) is None
    assert plots.rate_per_delay([]) is None
    assert plots.reproductions([("A", [])]) is None


def test_html_is_self_contained_with_tables_and_data_uri_images(written):
    _, run_dir, _ = written
    html = (run_dir / "summary.html").read_text()
    for table in ("outcomes", "ttn", "hunt-buckets", "failures", "parameters", "devices", "iterations"):
        assert f'<table id="{table}">' in html, table
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', html)
    assert len(images) == 3
    assert all(base64.b64decode(i).startswith(PNG_MAGIC) for i in images)
    assert "<script" not in html and "<link" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing may be fetched"
    assert "3/11 (27.3%, 95% CI 9.7%-56.6%)" in html
    assert '<a href="iterations/2/">iterations/2</a>' in html
    assert "<td>sim-android-8.1-buggy</td>" in html


def test_html_escapes_what_it_shows(tmp_path):
    result = recorded_result(tmp_path)
    bad = IterationRecord.from_dict({**result.groups[0].records[0].to_dict(), "reason": "<b>x</b> & y"})
    group = result.groups[0]
    result = RunResult(**{**result.__dict__, "groups": (GroupResult(group.name, group.profile, (bad,),
                                                                    summarize([bad])),)})
    html = write_reports(result, load_registry(), None).run_dir.joinpath("summary.html").read_text()
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html and "<b>x</b>" not in html


def test_compare_section(tmp_path):
    result = recorded_result(tmp_path)
    a = result.groups[0]
    b_records = tuple(IterationRecord.from_dict({**r.to_dict(), "group": "B", "outcome": "ok", "signatures": [],
                                                 "artifacts": None, "index": r.index + 100})
                      for r in a.records)
    groups = (GroupResult("A", "sim-android-8.1-buggy", a.records, a.stats),
              GroupResult("B", "sim-android-8.1-fixed", b_records, summarize(b_records)))
    comparison = verdict(groups[0].label, groups[0].stats, groups[1].label, groups[1].stats)
    result = RunResult(**{**result.__dict__, "groups": groups, "comparison": comparison})
    written_result = write_reports(result, load_registry(), None)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["compare"]["label_a"] == "A (sim-android-8.1-buggy)" and data["compare"]["a"]["k"] == 3 and data["compare"]["p_value"] == pytest.approx(
        comparison.comparison.p_value)
    assert [g["name"] for g in data["groups"]] == ["A", "B"]
    assert data["exit_status"] == 0        # group B's verdict
    assert '<table id="compare">' in (tmp_path / "summary.html").read_text()
    assert written_result.exit_status()[0] == 0


def test_allure_results(written):
    result, _, allure_dir = written
    results = [json.loads(p.read_text()) for p in allure_dir.glob("*-result.json")]
    assert len(results) == len(RECORDED)
    by_iteration = {next(p["value"] for p in r["parameters"] if p["name"] == "iteration"): r for r in results}
    statuses = [by_iteration[str(i)]["status"] for i in range(1, len(RECORDED) + 1)]
    assert statuses == [allure_results.STATUS[o] for o in RECORDED]
    assert len({r["historyId"] for r in results}) == len(results), "iterations are separate tests, not retries"
    categories = json.loads((allure_dir / "categories.json").read_text())
    race = next(c for c in categories if "eth0-ebusy-startup-race" in c["name"])
    known = by_iteration["2"]
    assert known["status"] == "failed" and "eth0-ebusy-startup-race" in known["statusDetails"]["message"]
    # Allure 2 matches the whole message (Java matches() with DOTALL)
    assert re.fullmatch(race["messageRegex"], known["statusDetails"]["message"], re.DOTALL)
    assert by_iteration["10"]["status"] == "broken"
    assert not re.fullmatch(race["messageRegex"], by_iteration["10"]["statusDetails"]["message"], re.DOTALL)
    for attachment in known["attachments"]:
        assert (allure_dir / attachment["source"]).is_file()
    assert {a["name"] for a in known["attachments"]} >= {"logcat excerpt", "connectivity verdict", "triage"}
    environment = (allure_dir / "environment.properties").read_text()
    assert f"device.1.serial={SERIALS[0]}" in environment
    assert "device.1.profile=sim-android-8.1-buggy" in environment
    assert "device.2.build=redroid/redroid_x86_64/redroid_x86_64:8.1.0/OPM1.171019.011/1:userdebug/test-keys" in environment


# -- headless Chromium ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr",
                  "--v=0", "--virtual-time-budget=5000", "--dump-dom"]
# Added to a test copy only (the report itself has no script): records what rendered into the DOM.
PROBE = """<script>
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var b = document.body;
  b.setAttribute('data-images', images.length);
  b.setAttribute('data-decoded', images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length);
  b.setAttribute('data-tables', document.querySelectorAll('table').length);
  b.setAttribute('data-rendered-rows', document.querySelectorAll('#outcomes tbody tr').length);
  console.log('harness-probe done');
});
</script>"""


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and cannot be (installing needs root and apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True,
                       timeout=900, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"chromium could not be installed with apt-get: {e}")
    if not Path(CHROMIUM).exists():
        pytest.skip("apt-get installed chromium but /usr/bin/chromium is missing")
    return CHROMIUM


def test_summary_html_renders_in_headless_chromium(written, tmp_path):
    _, run_dir, _ = written
    chromium = _chromium()
    html = (run_dir / "summary.html").read_text()
    probe_page = tmp_path / "summary-probe.html"
    probe_page.write_text(html.replace("</body>", PROBE + "</body>"))
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", probe_page.as_uri()],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, done.stdout[:500]
    attributes = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(1)))
    assert attributes.get("images") == "3", (attributes, done.stderr[-2000:])
    assert attributes["decoded"] == "3", "a plot did not decode"
    assert int(attributes["tables"]) >= 7 and attributes["rendered-rows"] == "1"
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert any("harness-probe done" in line for line in console), "console capture did not work"
    errors = [line for line in console if "harness-probe done" not in line]
    assert not errors, errors
