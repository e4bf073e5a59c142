"""Timeline with recorded inputs: harness actions, adb transport events and logcat lines placed on
the host clock through a measured device clock offset."""

from __future__ import annotations

import calendar

import pytest

from harness.errors import BootTimeout
from harness.logs.buffer import LogBuffer
from harness.timeline import ClockSync, Timeline, format_time

# 2024-04-30 09:25:40 UTC
T0 = calendar.timegm((2024, 4, 30, 9, 25, 40))
EBUSY = ("04-30 09:25:47.894   248   319 E ConnectivityService: Exception adding interface: "
         "java.lang.IllegalStateException: command '30 network interface add 101 eth0' failed with "
         "'400 30 addInterfaceToNetwork() failed (Device or resource busy)'")


class FakeClock:
    """Host wall clock of a recorded run: returns the given times in order."""

    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def lines(*texts: str, markers: dict[int, tuple[str, str, float | None]] | None = None):
    buffer = LogBuffer()
    for i, text in enumerate(texts):
        if markers and i in markers:
            buffer.append_marker(*markers[i])
        buffer.append(text)
    return buffer.excerpt()


@pytest.mark.parametrize("output, device_time, zone, uncertainty", [
    ("1714469147.500000000 +0000\n", T0 + 7.5, 0, 0.1),          # toybox date: %N gives nanoseconds
    ("1714469147.N +0000\n", T0 + 7, 0, 1.1),                    # toolbox date (4.4): no %N
    ("1714469147.250 -0130", T0 + 7.25, -5400, 0.1),
    ("1714469147", T0 + 7, 0, 1.1),
])
def test_clock_sync_parses_date_outputs(output, device_time, zone, uncertainty):
    sync = ClockSync.parse(output, host_before=T0 + 10.0, host_after=T0 + 10.2)
    assert sync.host_time == pytest.approx(T0 + 10.1)
    assert sync.device_time == pytest.approx(device_time)
    assert sync.utc_offset_s == zone
    assert sync.uncertainty_s == pytest.approx(uncertainty)
    assert sync.offset == pytest.approx(T0 + 10.1 - device_time)


@pytest.mark.parametrize("output", ["", "date: bad format", "Tue Apr 30 09:25:47 UTC 2024"])
def test_clock_sync_refuses_other_output(output):
    with pytest.raises(ValueError, match="unexpected output of date"):
        ClockSync.parse(output, T0, T0)


def test_recorded_run_merges_in_host_time_order():
    # harness clock: action start, action end, adb events are stamped explicitly
    timeline = Timeline("127.0.0.1:5555", clock=FakeClock(T0 + 0.0, T0 + 1.25))
    with timeline.action("docker restart redroid8") as step:
        step.note("redroid8")
    timeline.transport("127.0.0.1:5555", "offline", at=T0 + 1.0)
    timeline.transport("127.0.0.1:5555", "device", at=T0 + 9.0)
    # the device clock runs 2.5 s behind the host: device 09:25:45.0 was read at host 09:25:47.5
    timeline.add_clock_sync(ClockSync.parse("1714469145.000000000 +0000", T0 + 7.4, T0 + 7.6))
    timeline.add_log_lines(lines(
        "04-30 09:25:43.000   120   120 I netd    : Netd 1.0 starting",
        EBUSY,
    ))
    assert timeline.render_text() == (
        "2024-04-30T09:25:40.000Z  harness docker restart redroid8 [ok after 1.250s]: redroid8\n"
        "2024-04-30T09:25:41.000Z  adb     127.0.0.1:5555 offline\n"
        "2024-04-30T09:25:45.500Z  logcat  04-30 09:25:43.000   120   120 I netd    : Netd 1.0 starting\n"
        "2024-04-30T09:25:49.000Z  adb     127.0.0.1:5555 device\n"
        f"2024-04-30T09:25:50.394Z  logcat  {EBUSY}\n"
    )
    data = timeline.to_dict()
    assert data["serial"] == "127.0.0.1:5555"
    assert [e["source"] for e in data["events"]] == ["harness", "adb", "logcat", "adb", "logcat"]
    first = data["events"][0]
    assert (first["outcome"], first["duration"], first["time_text"]) == ("ok", 1.25, "2024-04-30T09:25:40.000Z")
    assert data["clock_syncs"][0]["device_time"] == T0 + 5.0
    assert data["unplaced_log_lines"] == 0


def test_device_zone_is_applied_to_log_times():
    timeline = Timeline(clock=FakeClock())
    # device in UTC+02:00: logcat prints 11:25, the same instant as 09:25 UTC; clocks agree
    timeline.add_clock_sync(ClockSync.parse("1714469140.000000000 +0200", T0, T0))
    timeline.add_log_lines(lines("04-30 11:25:47.894   248   319 E ConnectivityService: busy"))
    (event,) = timeline.events()
    assert format_time(event.time) == "2024-04-30T09:25:47.894Z"


def test_lines_logged_before_new_year_are_placed_in_the_old_year():
    new_year = calendar.timegm((2025, 1, 1, 0, 0, 5))
    timeline = Timeline(clock=FakeClock())
    timeline.add_clock_sync(ClockSync.parse(f"{new_year}.000000000 +0000", new_year, new_year))
    timeline.add_log_lines(lines("12-31 23:59:58.000     1     1 I init    : old year",
                                 "01-01 00:00:01.000     1     1 I init    : new year"))
    assert [format_time(e.time) for e in timeline.events()] == ["2024-12-31T23:59:58.000Z",
                                                                "2025-01-01T00:00:01.000Z"]


def test_markers_without_a_time_take_the_time_of_the_line_before():
    timeline = Timeline(clock=FakeClock())
    timeline.add_clock_sync(ClockSync.parse("1714469140.000000000 +0000", T0, T0))
    timeline.add_log_lines(lines("04-30 09:25:41.000   248   319 I ActivityManager: one",
                                 "04-30 09:25:42.000   248   319 I ActivityManager: two",
                                 markers={1: ("lost", "device did not come back", None)}))
    assert timeline.render_text().splitlines() == [
        "2024-04-30T09:25:41.000Z  logcat  04-30 09:25:41.000   248   319 I ActivityManager: one",
        "2024-04-30T09:25:41.000Z~ logcat  --- lost: device did not come back ---",
        "2024-04-30T09:25:42.000Z  logcat  04-30 09:25:42.000   248   319 I ActivityManager: two",
    ]


def test_each_boot_uses_its_own_clock_reading():
    # an emulator whose clock restarted 1000 s early after the reboot: the second reading says so
    buffer = LogBuffer()
    buffer.append("04-30 09:25:41.000   248   319 I ActivityManager: first boot")
    first_mark = 0
    buffer.append_marker("reboot", "device booted again while the stream was down")
    buffer.append("04-30 09:09:05.000   248   319 I ActivityManager: second boot")
    second_mark = buffer.mark()
    timeline = Timeline(clock=FakeClock())
    timeline.add_clock_sync(ClockSync.parse(f"{T0}.000000000 +0000", T0, T0, log_mark=first_mark))
    timeline.add_clock_sync(ClockSync.parse(f"{T0 - 1000 + 10}.000000000 +0000", T0 + 10, T0 + 10,
                                            log_mark=second_mark))
    timeline.add_log_lines(buffer.excerpt())
    assert [format_time(e.time) for e in timeline.events()] == [
        "2024-04-30T09:25:41.000Z",      # first boot: clocks agree
        "2024-04-30T09:25:41.000Z",      # the reboot marker: after the line before it
        "2024-04-30T09:25:45.000Z",      # 09:09:05 on the reset clock = host 09:25:45
    ]


def test_log_lines_without_a_clock_reading_are_counted_not_guessed():
    timeline = Timeline(clock=FakeClock(T0, T0 + 1))
    with timeline.action("reboot"):
        pass
    timeline.add_log_lines(lines(EBUSY))
    assert timeline.render_text() == ("2024-04-30T09:25:40.000Z  harness reboot [ok after 1.000s]\n"
                                      "(1 device log line(s) not placed: no device clock reading)\n")
    assert timeline.to_dict()["unplaced_log_lines"] == 1


def test_failed_action_records_the_error_class_and_reraises():
    timeline = Timeline(clock=FakeClock(T0, T0 + 120))
    with pytest.raises(BootTimeout):
        with timeline.action("wait for boot"):
            raise BootTimeout("127.0.0.1:5555 did not boot within 120s: still waiting for sys.boot_completed=1")
    (event,) = timeline.events()
    assert event.outcome == "BootTimeout: 127.0.0.1:5555 did not boot within 120s: still waiting for " \
                            "sys.boot_completed=1"
    assert event.duration == 120
    assert event.render().endswith("[BootTimeout: 127.0.0.1:5555 did not boot within 120s: still waiting for "
                                   "sys.boot_completed=1 after 120.000s]")


def test_equal_times_keep_the_order_they_were_recorded_in():
    timeline = Timeline(clock=FakeClock())
    for state in ("offline", "absent", "device"):
        timeline.transport("s", state, at=T0)
    assert [e.text for e in timeline.events()] == ["s offline", "s absent", "s device"]


def test_two_readings_in_a_boot_give_the_device_clock_rate():
    # a virtual device whose clock runs 5x faster than the host's: device +5 s = host +1 s
    timeline = Timeline(clock=FakeClock())
    timeline.add_clock_sync(ClockSync.parse(f"{T0}.000000000 +0000", T0, T0))
    timeline.add_clock_sync(ClockSync.parse(f"{T0 + 10}.000000000 +0000", T0 + 2, T0 + 2))
    timeline.add_log_lines(lines("04-30 09:25:35.000   248   319 I ActivityManager: before both",
                                 "04-30 09:25:45.000   248   319 I ActivityManager: between",
                                 "04-30 09:25:55.000   248   319 I ActivityManager: after both"))
    assert [format_time(e.time) for e in timeline.events()] == ["2024-04-30T09:25:39.000Z",
                                                                "2024-04-30T09:25:41.000Z",
                                                                "2024-04-30T09:25:43.000Z"]
