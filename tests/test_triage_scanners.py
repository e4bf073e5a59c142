"""The candidate scanners: the streaming one and the random-access one (1 or several processes)
give exactly the candidates that `scan`'s definition names, whatever the chunking."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from harness.logs import filescan, newlines, scan
from harness.logs.filescan import scan_file
from harness.logs.memmem import finder
from harness.logs.scan import CandidateScanner, RawLine, whole_lines

PRIMARY = (b"resource busy", b"RouteController")
COMPANION = (b"Adding iface ", b"already assigned", b" rule: ")


@pytest.fixture(autouse=True, params=["memmem", "bytes.find"])
def search(request, monkeypatch):
    """The scanners with each of their two ways of searching (memmem from a size on)."""
    monkeypatch.setattr(filescan, "MEMMEM_MIN_BYTES", 0 if request.param == "memmem" else 1 << 62)
    monkeypatch.setattr(scan, "MEMMEM_MIN_CHUNK", 0 if request.param == "memmem" else 1 << 62)
    return request.param


@pytest.fixture(autouse=True, params=["wc", "counted here"])
def counting(request, monkeypatch):
    """...and with each of its two ways of counting newlines, in segments of 50 bytes and more."""
    monkeypatch.setattr(newlines, "MIN_SEGMENT_BYTES", 50)
    if request.param == "wc":
        assert newlines.wc_available()
        monkeypatch.setattr(filescan, "WC_MIN_BYTES", 0)
    else:
        monkeypatch.setattr(filescan, "wc_available", lambda: False)
    return request.param


def test_memmem_finds_what_bytes_find_finds():
    rng = random.Random(4)
    data = bytearray(b"".join(rng.choice((b"ab", b"abc", b"resource busy", b"\n", b"\x00", b"busy"))
                              for _ in range(3000)))
    find = finder(data)
    assert find is not data.find                       # the C library's memmem is reachable here
    for needle in (b"resource busy", b"abcab", b"busy\n", b"\x00ab", b"zzzzzz", b"a"):
        for begin, stop in ((0, len(data)), (5, 100), (len(data) - 3, len(data)), (10, 10), (7, 3),
                            (0, len(data) + 50), *((rng.randrange(len(data)), rng.randrange(len(data))) for _ in range(50))):
            assert find(needle, begin, stop) == data.find(needle, begin, stop), (needle, begin, stop)


def reference(data: bytes, context: int) -> tuple[list[RawLine], int]:
    """The definition, computed the slow and obvious way."""
    lines, starts, pos = [], [], 0
    for line in data.split(b"\n"):
        starts.append(pos)
        lines.append(line)
        pos += len(line) + 1
    if data.endswith(b"\n") or not data:
        lines.pop()
        starts.pop()
    primary = [i for i, line in enumerate(lines) if any(a in line for a in PRIMARY)]
    covered = set()
    for i in primary:
        covered.update(range(max(0, starts[i] - context), starts[i] + context))
    chosen = set(primary)
    for i, line in enumerate(lines):
        for anchor in COMPANION:
            at = line.find(anchor)
            while at != -1:
                first = starts[i] + at
                if all(b in covered for b in range(first, first + len(anchor))):
                    chosen.add(i)
                at = line.find(anchor, at + 1)
    return [RawLine(i + 1, lines[i].removesuffix(b"\r")) for i in sorted(chosen)], len(lines)


def streamed(data: bytes, context: int, block: int) -> tuple[list[RawLine], int]:
    scanner = CandidateScanner(PRIMARY, COMPANION, context)
    for number, chunk in enumerate(whole_lines(data[i:i + block] for i in range(0, len(data), block))):
        scanner.feed(chunk if number % 2 else bytearray(chunk))    # as triage() and read_chunks() hand them
    return scanner.finish(), scanner.lines


def from_file(path: Path, context: int, chunk: int, workers: int) -> tuple[list[RawLine], int]:
    fd = os.open(path, os.O_RDONLY)
    try:
        scan = scan_file(fd, PRIMARY, COMPANION, workers=workers, context=context, chunk_size=chunk)
    finally:
        os.close(fd)
    assert scan.byte_count == path.stat().st_size
    return scan.lines, scan.line_count


def random_log(seed: int, lines: int) -> bytes:
    rng = random.Random(seed)
    words = [b"x" * rng.randrange(1, 30), b"resource busy", b"RouteController", b"Adding iface ",
             b"already assigned", b" rule: ", b"noise", b"\r", b"\xff\xfe", b"Adding", b" iface "]
    weights = [40, 1, 1, 2, 2, 2, 30, 1, 1, 3, 3]
    out = []
    for _ in range(lines):
        n = rng.choice((0, 1, 3, 8, 40 if rng.random() < 0.02 else 5))
        out.append(b" ".join(rng.choices(words, weights, k=n)))
    data = b"\n".join(out)
    return data if rng.random() < 0.5 else data + b"\n"


CASES = [(seed, lines, context) for seed, lines, context in
         [(1, 400, 300), (2, 2000, 64), (3, 2000, 2000), (4, 50, 10_000), (5, 3000, 1), (6, 1, 50),
          (7, 0, 50), (8, 5000, 700)]]


@pytest.mark.parametrize("seed, lines, context", CASES)
def test_every_scanner_finds_exactly_the_defined_candidates(tmp_path, seed, lines, context):
    data = random_log(seed, lines)
    path = tmp_path / "log"
    path.write_bytes(data)
    expected = reference(data, context)
    assert expected[0] or lines < 50           # the cases do exercise the scanners
    for block in (len(data) or 1, 997, 64, 7):
        assert streamed(data, context, block) == expected, block
    for chunk, workers in ((1 << 20, 1), (256, 1), (64, 3), (1000, 2), (97, 5)):
        assert from_file(path, context, chunk, workers) == expected, (chunk, workers)


def test_lines_longer_than_a_chunk_and_dense_hits(tmp_path):
    long = b"a" * 5000 + b" resource busy " + b"b" * 5000
    data = b"\n".join([b"Adding iface eth0"] * 3 + [b"f" * 300] + [long] * 4 + [b"x already assigned y"] * 3
                      + [b"resource busy"] * 200 + [b"pre rule: post"])
    path = tmp_path / "log"
    path.write_bytes(data)
    expected = reference(data, 100)
    assert [line.number for line in expected[0]] == list(range(5, 213))   # lines 1-4 too far
    assert from_file(path, 100, 512, 3) == expected
    assert streamed(data, 100, 300) == expected


def test_a_file_read_from_its_middle_numbers_lines_from_there(tmp_path):
    data = b"first line resource busy\nsecond Adding iface x\nthird resource busy\n"
    path = tmp_path / "log"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        scan = scan_file(fd, PRIMARY, COMPANION, start=data.index(b"second"))
    finally:
        os.close(fd)
    assert scan.lines == [RawLine(1, b"second Adding iface x"), RawLine(2, b"third resource busy")]
    assert (scan.line_count, scan.byte_count) == (2, len(data) - data.index(b"second"))


def _big_log(tmp_path: Path) -> tuple[Path, tuple[list[RawLine], int]]:
    data = random_log(11, 20000)
    path = tmp_path / "log"
    path.write_bytes(data)
    return path, reference(data, 500)


def test_a_failing_worker_is_replaced_by_scanning_its_range_here(tmp_path, monkeypatch):
    path, expected = _big_log(tmp_path)
    parent, real = os.getpid(), filescan._scan_range

    def dies_in_children(*args):
        if os.getpid() != parent:
            os._exit(3)
        return real(*args)

    monkeypatch.setattr(filescan, "_scan_range", dies_in_children)
    assert from_file(path, 500, 4096, 3) == expected


def test_a_stuck_worker_is_killed_at_its_deadline(tmp_path, monkeypatch):
    path, expected = _big_log(tmp_path)
    parent, real = os.getpid(), filescan._scan_range
    pids = []

    def hangs_in_children(*args):
        if os.getpid() != parent:
            time.sleep(600)
        return real(*args)

    real_worker = filescan._Worker

    class Recorded(real_worker):
        def __init__(self, *args):
            super().__init__(*args)
            pids.append(self.pid)

    monkeypatch.setattr(filescan, "_scan_range", hangs_in_children)
    monkeypatch.setattr(filescan, "_Worker", Recorded)
    monkeypatch.setattr(filescan, "WORKER_TIME_FLOOR", 0.3)
    monkeypatch.setattr(filescan, "WORKER_SECONDS_PER_BYTE", 0.0)
    started = time.monotonic()
    assert from_file(path, 500, 4096, 2) == expected
    assert time.monotonic() - started < 60
    assert len(pids) == 1
    with pytest.raises(ChildProcessError):    # killed and reaped
        os.waitpid(pids[0], os.WNOHANG)


def test_a_file_that_shrinks_while_read_is_an_os_error(tmp_path, monkeypatch):
    path = tmp_path / "log"
    path.write_bytes(b"resource busy\n" * 1000)
    real_pread = os.preadv

    def shrinking(fd, buffers, position):
        os.truncate(path, 100)
        return real_pread(fd, buffers, position)

    monkeypatch.setattr(filescan.os, "preadv", shrinking)
    with pytest.raises(filescan.FileChangedError, match="file shrank while being read"):
        from_file(path, 50, 4096, 1)


def test_windows_that_only_touch_still_form_one_window(tmp_path):
    # windows [0, 20) and [20, 60): "Adding iface " at [14, 27) lies in their union only
    data = b"resource busy\n" + b"Adding iface " + b"x" * 12 + b"\nresource busy\n"
    assert data.index(b"resource busy", 1) == 40
    path = tmp_path / "log"
    path.write_bytes(data)
    expected = ([RawLine(1, b"resource busy"), RawLine(2, b"Adding iface xxxxxxxxxxxx"),
                 RawLine(3, b"resource busy")], 3)
    assert reference(data, 20) == expected
    assert streamed(data, 20, 5) == expected
    assert from_file(path, 20, 16, 2) == expected
    assert reference(data, 19)[0] == [expected[0][0], expected[0][2]]   # one byte less: apart
