"""LogBuffer and SequenceMatcher on recorded text; LogcatService's resume judgement, offline."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness.device import CommandResult
from harness.logs.buffer import LogBuffer, LogcatTimeout
from harness.logs.logcat import LogcatService, ring_may_have_wrapped
from harness.logs.sequence import SequenceMatcher

RACE = (Path(__file__).parent / "data" / "logs" / "race-8.1-reference.log").read_text().splitlines()


def filled(lines=RACE, capacity=1000) -> LogBuffer:
    buf = LogBuffer(capacity)
    for line in lines:
        buf.append(line)
    return buf


def test_positions_marks_and_excerpts():
    buf = filled(RACE[:5])
    mark = buf.mark()
    assert mark == 5
    for line in RACE[5:8]:
        buf.append(line)
    assert [l.text for l in buf.excerpt(since=mark)] == RACE[5:8]
    assert [l.position for l in buf.excerpt(since=2, until=4)] == [2, 3]
    assert buf.text(since=mark) == "\n".join(RACE[5:8]) + "\n"


def test_excerpt_by_device_time_and_line_fields():
    buf = filled()
    lines = buf.excerpt(since="04-30 09:25:47.894", until="04-30 09:25:47.898")
    assert [l.timestamp for l in lines] == ["04-30 09:25:47.894", "04-30 09:25:47.896", "04-30 09:25:47.896"]
    first = lines[0]
    assert (first.tag, first.level, first.message[:26]) == ("ConnectivityService", "E", "Exception adding interface")
    with pytest.raises(ValueError, match="expected a device time"):
        buf.excerpt(since="yesterday")


def test_lines_filter_by_tag_level_and_pattern():
    buf = filled()
    assert [l.position for l in buf.lines(tag="Netd")] == [5, 7, 9]
    assert len(buf.lines(level="E")) == 6
    assert [l.position for l in buf.lines(tag="ConnectivityService", pattern=r"addRoute for gateway")] == [10]


def test_overflow_is_reported_not_hidden():
    buf = filled(capacity=4)
    excerpt = buf.excerpt(since=0)
    assert excerpt[0].marker == "overflow"
    assert excerpt[0].text == "--- overflow: 10 line(s) dropped from the host buffer (capacity 4) ---"
    assert [l.position for l in excerpt[1:]] == [10, 11, 12, 13]


def test_wait_for_in_order_is_woken_by_new_lines():
    buf = LogBuffer()
    mark = buf.mark()
    feeder = threading.Timer(0.05, lambda: [buf.append(l) for l in RACE])
    feeder.start()
    try:
        found = buf.wait_for([r"Adding iface eth0 to network 101", r"Device or resource busy",
                              r"addRoute\(\) failed"], timeout=10, since=mark)
    finally:
        feeder.join()
    assert [l.position for l in found] == [4, 6, 8]


def test_wait_for_timeout_says_what_was_seen():
    buf = filled(RACE[:3])
    with pytest.raises(LogcatTimeout) as err:
        buf.wait_for(["registerNetworkAgent", "never logged"], timeout=0.05, since=0)
    text = str(err.value)
    assert "expected log lines did not appear (0.05s passed)" in text
    assert "[x] 'registerNetworkAgent' -> 04-30 09:25:47.880" in text
    assert "[ ] 'never logged'" in text
    assert RACE[2] in text.split("last lines seen:")[1]


def test_wait_for_returns_at_once_when_the_buffer_closes():
    buf = LogBuffer()
    threading.Timer(0.05, buf.close).start()
    with pytest.raises(LogcatTimeout, match="the log stream was closed"):
        buf.wait_for("anything", timeout=30)


def test_unordered_wait_and_bad_pattern():
    buf = filled()
    found = buf.wait_for(["not 101", "already assigned"], timeout=1, in_order=False, since=0)
    assert [l.position for l in found] == [7, 5]
    with pytest.raises(ValueError, match="bad regular expression"):
        buf.wait_for("(", timeout=1)


def test_assert_sequence_order_and_window():
    buf = filled()
    steps = ["Adding iface eth0 to network 101", "already assigned to netId 100", "Device or resource busy"]
    assert [l.position for l in buf.assert_sequence(steps, within=0.01)] == [4, 5, 6]
    with pytest.raises(AssertionError, match="first missing step: 'already assigned to netId 100'"):
        buf.assert_sequence(list(reversed(steps)))
    with pytest.raises(AssertionError, match=r"took 0\.004s, more than 0\.001s"):
        buf.assert_sequence(steps, within=0.001)


def test_sequence_matcher_describes_progress():
    m = SequenceMatcher(["a", "b"])
    class L:
        def __init__(self, text): self.text = text
    assert not m.feed(L("b first")) and not m.feed(L("a then"))
    assert m.feed(L("b last"))
    assert m.describe() == "  [x] 'a' -> a then\n  [x] 'b' -> b last"


@pytest.mark.parametrize("text, wrapped", [
    ("main: ring buffer is 256 KiB (12 KiB consumed), max entry is 5120 B, max payload is 4068 B\n"
     "system: ring buffer is 256 KiB (3 KiB consumed), max entry is 5120 B, max payload is 4068 B\n", False),
    ("main: ring buffer is 256Kb (254Kb consumed), max entry is 5120b, max payload is 4076b\n", True),
    ("logcat: Unable to open log device\n", True),
])
def test_ring_wrap_estimate(text, wrapped):
    assert ring_may_have_wrapped(text) is wrapped


class RecordedDevice:
    """Answers the two probes LogcatService makes on resume, from fixed text (no transport)."""
    serial, host, port = "sim", "127.0.0.1", 1

    def __init__(self, boot_id: str | None, ring: str) -> None:
        self.boot_id, self.ring = boot_id, ring

    def run(self, cmd, timeout=None, check=False):
        if "boot_id" in cmd:
            out, status = (self.boot_id + "\n", 0) if self.boot_id else ("", 1)
        else:
            out, status = self.ring, 0
        return CommandResult(cmd, status, out, "", 0.0, self.serial)


QUIET_RING = "main: ring buffer is 256 KiB (12 KiB consumed), max entry is 5120 B, max payload is 4068 B\n"
BOOT_A, BOOT_B = "6a4d9b8e-0c59-4a0e-9d3f-1c2b3a4d5e6f", "0f1e2d3c-4b5a-4968-8776-655443322110"


def resumed(device: RecordedDevice, first_block: list[str], after: list[str]) -> list[str]:
    service = LogcatService(device)                 # never started: lines are fed by hand
    service._boot_id = BOOT_A
    for line in first_block:
        service._accept(line)
    service._prepare_resume(dropped_at=0.0)
    for line in after:
        service._accept(line)
    return [l.marker or l.text for l in service.excerpt()]


def test_resume_drops_the_repeated_lines_and_notes_continuity():
    out = resumed(RecordedDevice(BOOT_A, QUIET_RING), RACE[:8], RACE[7:10])
    assert out[:8] == RACE[:8]
    assert out[8:] == ["resumed", RACE[8], RACE[9]]


def test_resume_after_a_reboot_records_a_reboot_marker():
    later = [l.replace("04-30 09:25:4", "04-30 09:26:1") for l in RACE[:2]]
    out = resumed(RecordedDevice(BOOT_B, QUIET_RING), RACE[:8], later)
    assert out[8:] == ["reboot", *later]


def test_resume_without_repeats_on_a_full_ring_records_a_gap():
    full = "main: ring buffer is 256 KiB (250 KiB consumed), max entry is 5120 B, max payload is 4068 B\n"
    out = resumed(RecordedDevice(BOOT_A, full), RACE[:8], RACE[9:11])
    assert out[8:] == ["gap", RACE[9], RACE[10]]
    # unknown boot id: continuity cannot be proven either
    assert resumed(RecordedDevice(None, QUIET_RING), RACE[:8], RACE[9:11])[8] == "gap"
    # same boot, ring far from full, first line new: nothing was lost
    assert resumed(RecordedDevice(BOOT_A, QUIET_RING), RACE[:8], RACE[9:11])[8] == "resumed"


def test_identical_lines_at_the_same_time_are_kept_while_streaming():
    service = LogcatService(RecordedDevice(BOOT_A, QUIET_RING))
    for _ in range(3):
        service._accept(RACE[7])
    assert len(service.excerpt()) == 3


def test_service_rejects_bad_arguments():
    with pytest.raises(ValueError, match="buffer names"):
        LogcatService(RecordedDevice(None, ""), buffers=["main; reboot"])
    with pytest.raises(ValueError, match="start_from"):
        LogcatService(RecordedDevice(None, ""), start_from="yesterday")


class SocketStream:
    """The part of an adbutils stream the reader uses: `.conn`, a socket, and close()."""

    def __init__(self, sock) -> None:
        self.conn = sock

    def close(self) -> None:
        self.conn.close()


def test_reader_splits_lines_across_reads_and_stops_when_the_stream_is_closed():
    import socket
    service = LogcatService(RecordedDevice(BOOT_A, QUIET_RING))
    ours, theirs = socket.socketpair()
    stream = SocketStream(ours)
    service._conn = stream
    reader = threading.Thread(target=service._pump, args=(stream,))
    reader.start()
    payload = ("--------- beginning of main\r\n" + "\r\n".join(RACE[:3]) + "\r\n").encode()
    theirs.sendall(payload[:50])
    theirs.sendall(payload[50:])
    service.wait_for(["registerNetworkAgent"], timeout=10, since=0)
    service._close_stream()                      # what stop() does: the blocked recv returns
    reader.join(10)
    theirs.close()
    assert not reader.is_alive()
    assert [l.text for l in service.excerpt()] == RACE[:3]
