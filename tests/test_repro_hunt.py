"""Race hunting: the learning hunt over delays x down times, its buckets, its reports, the
provisioned window's on-device command, and the command-line defaults."""

from __future__ import annotations

import argparse
import re
import threading

import pytest

from harness.cli import repro as cli
from harness.errors import BadConfiguration
from harness.repro.choices import Timing
from harness.repro.hunt import Bandit, Point, Sweep, best, buckets, window
from harness.repro.outcome import IterationRecord, Outcome
from harness.repro.stimulus import ANCHOR_MISSED, FlapStimulus, provisioned_wait
from harness.repro.target import sampler
from harness.report import plots
from harness.report.summary_html import _hunt_section
from harness.timeline import Timeline
from harness.repro.result import GroupResult
from harness.repro.outcome import summarize
from test_net_fakes import ScriptedDevice, caps_81, ok, with_caps

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def record(index: int, outcome: Outcome, point: Point, signatures: tuple[str, ...] = ()) -> IterationRecord:
    known = outcome is Outcome.KNOWN_REGRESSION
    return IterationRecord(index=index, serial="emulator-5554", group="", method="link-flap", outcome=outcome,
                           started_at=0.0, duration_s=1.0, delay_ms=point.delay_ms, down_ms=point.down_ms,
                           signatures=("eth0-ebusy-startup-race",) if known else signatures)


def play(bandit: Bandit, truth: dict[Point, list[Outcome]], draws: int) -> list[Point]:
    """Draw and feed back the scripted outcome of each bucket, in order (cycling)."""
    drawn, used = [], {p: 0 for p in truth}
    for n in range(draws):
        point = bandit.draw()
        outcomes = truth[point]
        outcome = outcomes[used[point] % len(outcomes)]
        used[point] += 1
        bandit.observe(point, record(n, outcome, point))
        drawn.append(point)
    return drawn


def test_bandit_tries_every_bucket_once_before_it_repeats_one():
    bandit = Bandit((0.0, 50.0), (0.0, 100.0), seed=3)
    truth = {p: [Outcome.OK] for p in bandit.points}
    first = play(bandit, truth, 4)
    assert sorted(first) == sorted(bandit.points) == [Point(0.0, 0.0), Point(0.0, 100.0), Point(50.0, 0.0),
                                                      Point(50.0, 100.0)]


def test_bandit_order_of_untried_buckets_follows_the_seed():
    orders = {tuple(play(Bandit((0.0, 50.0, 100.0), (0.0, 50.0), seed=s),
                         {Point(d, w): [Outcome.OK] for d in (0.0, 50.0, 100.0) for w in (0.0, 50.0)}, 6))
              for s in (1, 2, 3, 4)}
    assert len(orders) > 1
    again = play(Bandit((0.0, 50.0, 100.0), (0.0, 50.0), seed=2),
                 {Point(d, w): [Outcome.OK] for d in (0.0, 50.0, 100.0) for w in (0.0, 50.0)}, 6)
    assert tuple(again) in orders


def test_bandit_spends_its_attempts_on_the_bucket_that_reproduces_and_drops_the_dead_ones():
    bandit = Bandit((0.0, 50.0, 100.0), (0.0, 100.0), seed=5)
    good = Point(50.0, 100.0)
    truth = {p: [Outcome.OK] for p in bandit.points}
    truth[good] = [Outcome.KNOWN_REGRESSION, Outcome.KNOWN_REGRESSION, Outcome.OK]      # 2 in 3
    drawn = play(bandit, truth, 100)
    assert drawn.count(good) >= 70
    assert drawn[-20:] == [good] * 20
    assert bandit.active()[0] == good
    assert all(drawn.count(p) <= 5 for p in bandit.points if p != good)


def test_bandit_drops_buckets_whose_upper_bound_is_under_the_best_lower_bound():
    bandit = Bandit((0.0, 50.0), (0.0,), seed=1)
    hot, cold = Point(0.0, 0.0), Point(50.0, 0.0)
    for n in range(10):
        bandit.observe(hot, record(n, Outcome.KNOWN_REGRESSION, hot))
        bandit.observe(cold, record(20 + n, Outcome.OK, cold))
    assert bandit.active() == (hot,)        # 0/10: Wilson upper 27.8% < 10/10: lower 72.2%


def test_bandit_spreads_parallel_draws_over_buckets_while_attempts_are_running():
    bandit = Bandit((0.0, 50.0), (0.0, 100.0), seed=1)
    in_flight = [bandit.draw() for _ in range(4)]
    assert sorted(in_flight) == sorted(bandit.points)


def test_bandit_counts_lost_devices_as_no_trial_and_releases_the_attempt():
    bandit = Bandit((0.0,), (0.0, 100.0), seed=1)
    point = bandit.draw()
    bandit.observe(point, record(1, Outcome.DEVICE_LOST, point))
    assert bandit.draw() == point        # no trial counted, nothing pending: still the first choice


def test_bandit_breaks_ties_with_races_seen():
    bandit = Bandit((0.0, 50.0), (100.0,), seed=9)
    near, far = Point(0.0, 100.0), Point(50.0, 100.0)
    for n, point in enumerate((bandit.draw(), bandit.draw())):
        signatures = ("eth0-ebusy-startup-race",) if point == near else ()
        bandit.observe(point, record(n, Outcome.OK, point, signatures))
    assert bandit.draw() == near and far in bandit.points


def test_bandit_is_thread_safe_and_loses_no_attempt():
    bandit = Bandit((0.0, 50.0, 100.0), (0.0, 100.0), seed=2)

    def worker() -> None:
        for n in range(50):
            point = bandit.draw()
            bandit.observe(point, record(n, Outcome.OK, point))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    arms = bandit._arms.values()
    assert sum(a.trials for a in arms) == 200 and all(a.pending == 0 for a in arms)


def test_bandit_needs_a_delay_and_a_down_time():
    with pytest.raises(ValueError, match="at least one delay and one down time"):
        Bandit((), (0.0,))


def test_sweep_draws_points_with_its_one_down_time_and_does_not_learn():
    sweep = Sweep((0.0, 50.0), seed=4, down_ms=200.0)
    drawn = [sweep.draw() for _ in range(4)]
    assert sorted(drawn) == [Point(0.0, 200.0)] * 2 + [Point(50.0, 200.0)] * 2
    sweep.observe(drawn[0], record(1, Outcome.KNOWN_REGRESSION, drawn[0]))
    assert sorted(sweep.draw() for _ in range(2)) == [Point(0.0, 200.0), Point(50.0, 200.0)]


def test_sampler_learns_only_when_there_are_several_down_times():
    assert isinstance(sampler(Timing(window="provisioned", delays_ms=(0.0, 50.0), downs_ms=(0.0, 100.0))), Bandit)
    one = sampler(Timing(window="framework", delays_ms=(700.0,), down_s=0.2))
    assert isinstance(one, Sweep) and one.points == (Point(700.0, 200.0),)
    idle = sampler(Timing(window="idle", delays_ms=(0.0, 50.0), downs_ms=(0.0, 100.0)))
    assert isinstance(idle, Sweep) and idle.points == (Point(0.0), Point(50.0))


def test_two_parameter_buckets_window_and_best():
    a, b, c = Point(0.0, 0.0), Point(0.0, 100.0), Point(50.0, 100.0)
    records = ([record(i, Outcome.OK, a) for i in range(3)]
               + [record(10 + i, Outcome.KNOWN_REGRESSION, b) for i in range(3)] + [record(20, Outcome.OK, b)]
               + [record(30, Outcome.DEVICE_LOST, c)])
    found = buckets(records, (a, b, c))
    assert [(x.delay_ms, x.down_ms, x.rate.k, x.rate.n) for x in found] == [
        (0.0, 0.0, 0, 3), (0.0, 100.0, 3, 4), (50.0, 100.0, 0, 0)]
    assert best(found) == found[1]
    assert found[1].to_dict()["down_ms"] == 100.0 and found[1].label == "0/100"
    assert window(found) == ("reproduced in 1 of 2 tried delay/down buckets; best bucket delay 0 ms, down 100 ms: "
                             "3/4 (75.0%, 95% CI 30.1%-95.4%)")
    assert window(found[:1]) == "no reproduction in 3 attempts over 1 delay/down buckets"
    assert best(found[2:]) is None


def test_rate_grid_plot_and_html_table_show_every_bucket():
    a, b = Point(0.0, 0.0), Point(50.0, 100.0)
    records = [record(1, Outcome.KNOWN_REGRESSION, a), record(2, Outcome.OK, a), record(3, Outcome.OK, b)]
    found = buckets(records, (a, Point(0.0, 100.0), Point(50.0, 0.0), b))
    png = plots.rate_per_delay(found, "delay (ms)")
    assert png is not None and png.startswith(PNG_MAGIC)
    group = GroupResult("", "sim-android-8.1-buggy", tuple(records), summarize(records), tuple(found), window(found))
    html = _hunt_section([group])
    assert "<th>down (ms)</th>" in html and html.count("<tr>") == 5
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in html.split("<tr>")[2:]]
    assert rows[1] == ["0", "100", "0", "0", "0", "", "", "none"]            # untried: listed, no rate
    assert rows[3] == ["50", "100", "1", "0", "0", "0.0%", "0.0% - 100.0%", "rule-of-three"]


def flap_device() -> ScriptedDevice:
    device = with_caps(ScriptedDevice({"stop; start": ok()}), caps_81())
    return device


def test_provisioned_window_waits_on_the_device_for_eth0_to_be_provisioned_again():
    stimulus = FlapStimulus("provisioned", interface="eth0", down_s=0.0)
    command = stimulus.command(flap_device(), Point(50.0, 100.0))
    assert command == (
        "stop; start; n=0; while ip -4 addr show dev eth0 | grep -q 'inet ' && [ $n -lt 1000 ]; do sleep 0.01; "
        "n=$((n+1)); done; while ! ip -4 addr show dev eth0 | grep -q 'inet ' && [ $n -lt 1000 ]; do sleep 0.01; "
        f"n=$((n+1)); done; [ $n -lt 1000 ] || echo '{ANCHOR_MISSED}'; sleep 0.05; "
        "ip link set dev eth0 down; sleep 0.1; ip link set dev eth0 up")


def test_framework_and_idle_windows_keep_their_commands():
    device = flap_device()
    assert (FlapStimulus("framework", interface="eth0").command(device, Point(700.0, 200.0))
            == "stop; start; sleep 0.7; ip link set dev eth0 down; sleep 0.2; ip link set dev eth0 up")
    assert (FlapStimulus("framework", interface="eth0", down_s=0.3).command(device, Point(700.0))
            == "stop; start; sleep 0.7; ip link set dev eth0 down; sleep 0.3; ip link set dev eth0 up")
    assert (FlapStimulus("idle", interface="eth0").command(device, Point(250.0))
            == "ip link set dev eth0 down; sleep 0.25; ip link set dev eth0 up")


def test_provisioned_window_refuses_bad_interfaces_and_old_sleep():
    with pytest.raises(ValueError, match="interface name"):
        provisioned_wait("eth0; reboot", 27)
    with pytest.raises(ValueError, match="needs Android 6.0"):
        provisioned_wait("eth0", 19)


def test_a_missed_anchor_is_noted_and_the_flap_still_counts():
    device = flap_device()
    device.responses["stop; start; n=0"] = ok(ANCHOR_MISSED + "\n")
    timeline = Timeline(device.serial)
    result = FlapStimulus("provisioned", interface="eth0").apply(device, timeline, None, Point(0.0, 50.0))  # type: ignore[arg-type]
    assert result.error is None
    assert [e.text for e in timeline.events() if ANCHOR_MISSED in e.text] == [
        f"{ANCHOR_MISSED}: eth0 did not lose and regain its IPv4 address within 10 s of device time; "
        "the flap ran anyway"]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["repro", *argv])


def test_hunt_defaults_to_the_provisioned_window_over_delays_and_down_times():
    timing = cli.options_from(parse("--hunt")).timing
    assert (timing.window, timing.delays_ms, timing.downs_ms) == ("provisioned", (0.0, 50.0, 100.0),
                                                                   (0.0, 50.0, 100.0, 150.0))
    plain = cli.options_from(parse("--method", "link-flap", "--delays", "700", "--down-ms", "200")).timing
    assert (plain.window, plain.delays_ms, plain.down_s, plain.downs_ms) == ("framework", (700.0,), 0.2, ())


def test_down_times_are_refused_where_the_delay_is_the_down_time():
    with pytest.raises(BadConfiguration, match="with --window idle the delay is the down time"):
        cli.options_from(parse("--hunt", "--window", "idle", "--down-ms", "100"))
    with pytest.raises(SystemExit):
        parse("--hunt", "--down-ms", "soon")


def test_default_hunt_end_to_end_flaps_after_eth0_is_provisioned_again(tmp_path):
    from test_repro_run import check_consistent, repro
    status, summary, run_dir = repro(tmp_path, "--hunt", "--iterations", "4", "--devices", "1", "--seed", "3",
                                     "--delays", "0", "--down-ms", "50,100", "--no-progress")
    check_consistent(summary, run_dir)
    assert summary["parameters"]["window"] == "provisioned" and summary["parameters"]["downs_ms"] == [50.0, 100.0]
    found = summary["hunt"]["groups"][0]["buckets"]
    assert [(b["delay_ms"], b["down_ms"]) for b in found] == [(0.0, 50.0), (0.0, 100.0)]
    trials = [r for r in summary["iterations"] if r["outcome"] in ("ok", "known-regression", "no-network")]
    assert sum(b["trials"] for b in found) == len(trials) and len(trials) >= 3
    assert all((r["delay_ms"], r["down_ms"]) in ((0.0, 50.0), (0.0, 100.0)) for r in summary["iterations"])
    for timeline in run_dir.glob("iterations/*/timeline.txt"):
        text = timeline.read_text()
        assert "link flap 0 ms after eth0 was provisioned again" in text and ANCHOR_MISSED not in text
