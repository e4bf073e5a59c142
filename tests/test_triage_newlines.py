"""Newline counting for the file scanner: wc's answer is checked, and a wc that fails, lies or
hangs only costs time (the count is then done here)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from harness.logs import filescan, newlines
from harness.logs.filescan import scan_file
from harness.logs.newlines import WcCounter, count_between, segment_bounds

PRIMARY = (b"resource busy",)
COMPANION = (b"Adding iface ",)


def sample(tmp_path: Path) -> Path:
    rng = random.Random(2)
    lines = [rng.choice([b"noise " * rng.randrange(9), b"x resource busy", b"Adding iface eth0", b""])
             for _ in range(2999)]
    path = tmp_path / "log"
    path.write_bytes(b"\n".join([*lines, b"tail"]))   # no final newline: the last line counts too
    return path


def scan(path: Path, use_wc: bool):
    fd = os.open(path, os.O_RDONLY)
    try:
        return scan_file(fd, PRIMARY, COMPANION, workers=2, context=200, use_wc=use_wc)
    finally:
        os.close(fd)


@pytest.fixture(autouse=True)
def small_segments(monkeypatch):
    monkeypatch.setattr(newlines, "MIN_SEGMENT_BYTES", 100)


def fake_wc(tmp_path: Path, monkeypatch, body: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "wc").write_text(f"#!/bin/sh\n{body}\n")
    (bin_dir / "wc").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_segments_cover_the_input_and_wc_counts_each(tmp_path):
    path = sample(tmp_path)
    data = path.read_bytes()
    bounds = segment_bounds(10, len(data))
    assert bounds[0] == 10 and bounds[-1] == len(data) and len(bounds) == newlines.SEGMENTS + 1
    fd = os.open(path, os.O_RDONLY)
    try:
        counts = WcCounter(fd, bounds).counts(timeout=60)
        here = [count_between(fd, a, b, bytearray(7)) for a, b in zip(bounds, bounds[1:])]
    finally:
        os.close(fd)
    assert counts == here == [data.count(b"\n", a, b) for a, b in zip(bounds, bounds[1:])]


def test_wc_output_is_parsed_only_when_it_names_every_segment():
    names = ["/dev/fd/5", "/dev/fd/6"]
    assert newlines._parse("  12 /dev/fd/5\n  30 /dev/fd/6\n  42 total\n", names) == [12, 30]
    assert newlines._parse("  12 /dev/fd/5\n", names) is None
    assert newlines._parse("  12 /dev/fd/6\n  30 /dev/fd/5\n", names) is None
    assert newlines._parse("wc: /dev/fd/5: No such file\n  30 /dev/fd/6\n", names) is None
    assert newlines._parse("", names) is None


@pytest.mark.parametrize("body", [
    "echo '  1 /dev/fd/3'",                     # answers, but not for these pipes
    "exit 1",
    "echo nonsense; exit 0",
])
def test_a_wc_that_fails_or_lies_leaves_the_count_to_this_process(tmp_path, monkeypatch, body):
    path = sample(tmp_path)
    expected = scan(path, use_wc=False)
    fake_wc(tmp_path, monkeypatch, body)
    assert scan(path, use_wc=True) == expected
    assert expected.line_count == 3000


def test_a_stuck_wc_is_killed_at_the_deadline(tmp_path, monkeypatch):
    path = sample(tmp_path)
    expected = scan(path, use_wc=False)
    fake_wc(tmp_path, monkeypatch, "exec sleep 600")
    counters = []
    real = newlines.WcCounter

    class Recorded(real):
        def __init__(self, *args):
            super().__init__(*args)
            counters.append(self)

    monkeypatch.setattr(filescan, "WcCounter", Recorded)
    monkeypatch.setattr(filescan, "WORKER_TIME_FLOOR", 0.5)
    monkeypatch.setattr(filescan, "WORKER_SECONDS_PER_BYTE", 0.0)
    started = time.monotonic()
    assert scan(path, use_wc=True) == expected
    assert time.monotonic() - started < 30
    assert len(counters) == 1 and counters[0].process.returncode is not None   # killed and reaped


def test_without_wc_on_the_path_the_count_is_done_here(tmp_path, monkeypatch):
    path = sample(tmp_path)
    expected = scan(path, use_wc=False)
    monkeypatch.setattr(filescan, "WC_MIN_BYTES", 0)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert not newlines.wc_available()
    fd = os.open(path, os.O_RDONLY)
    try:
        assert scan_file(fd, PRIMARY, COMPANION, workers=2, context=200) == expected
    finally:
        os.close(fd)
