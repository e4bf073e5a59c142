"""`triage_file`: the random-access, parallel path gives exactly `triage_stream`'s result."""

from __future__ import annotations

import gzip
import io
import random
import subprocess
import sys
from pathlib import Path

import pytest

from harness.logs import triage as triage_module
from harness.logs.signatures import load_registry
from harness.logs.triage import triage_file, triage_stream

DATA = Path(__file__).parent / "data" / "logs"
LOGS = sorted(DATA.glob("*.log"))


def noisy_log(seed: int) -> bytes:
    """Reproductions of every data log between thousands of ordinary lines."""
    rng = random.Random(seed)
    parts = []
    for i in range(40):
        parts.extend(f"04-30 09:{i % 60:02d}:{s % 60:02d}.{rng.randrange(1000):03d}  1034  1050 I ActivityManager: "
                     f"Start proc {rng.randrange(9999)}:com.x/u0a{s}\n" for s in range(rng.randrange(50, 400)))
        parts.append(rng.choice(LOGS).read_text())
    return "".join(parts).encode()


def stream_result(path: Path):
    with open(path, "rb") as stream:
        return triage_stream(stream, load_registry())


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("path", LOGS, ids=[p.name for p in LOGS])
def test_data_logs_give_the_stream_result(path, workers):
    with open(path, "rb") as stream:
        assert triage_file(stream, load_registry(), workers=workers) == stream_result(path)


@pytest.mark.parametrize("workers", [None, 1, 2, 4])
def test_a_long_noisy_log_gives_the_stream_result(tmp_path, workers):
    path = tmp_path / "noisy.log"
    path.write_bytes(noisy_log(5))
    expected = stream_result(path)
    assert len(expected.findings) >= 20
    with open(path, "rb") as stream:
        assert triage_file(stream, load_registry(), workers=workers) == expected
    with open(path, "rb") as stream, open(path, "rb") as again:
        assert triage_file(stream, load_registry(), android="12", workers=workers) == \
            triage_stream(again, load_registry(), android="12")


def test_a_file_is_read_from_its_current_position(tmp_path):
    lines = (DATA / "race-8.1-reference.log").read_bytes().splitlines(keepends=True)
    path = tmp_path / "log"
    path.write_bytes(b"".join(lines))
    with open(path, "rb") as stream:
        stream.read(len(lines[0]) + len(lines[1]))
        result = triage_file(stream, load_registry(), workers=2)
    assert result.findings[0].primary.line == 5 and result.lines_scanned == len(lines) - 2
    assert result == triage_stream(io.BytesIO(b"".join(lines[2:])), load_registry())


def test_streams_that_are_not_plain_files_go_through_triage_stream(tmp_path):
    packed = tmp_path / "log.gz"
    packed.write_bytes(gzip.compress((DATA / "race-10.log").read_bytes()))
    with gzip.open(packed, "rb") as stream:          # has a fileno(): the compressed file's
        assert triage_file(stream, load_registry()).verdicts() == [
            "KNOWN eth0-ebusy-startup-race: netId 101 eth0"]
    assert triage_file(io.BytesIO((DATA / "race-10.log").read_bytes()), load_registry()).known


def test_a_read_error_falls_back_to_the_stream_path(tmp_path, monkeypatch):
    path = DATA / "race-12.log"

    def fails(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(triage_module, "scan_file", fails)
    with open(path, "rb") as stream:
        assert triage_file(stream, load_registry(), workers=2) == stream_result(path)


def test_cli_prints_the_same_for_a_file_a_pipe_and_redirected_stdin(tmp_path):
    path = tmp_path / "noisy.log"
    path.write_bytes(noisy_log(9))
    command = [sys.executable, "-m", "harness.cli.triage"]
    by_path = subprocess.run([*command, str(path), "--json"], capture_output=True, timeout=120)
    by_pipe = subprocess.run([*command, "-", "--json"], input=path.read_bytes(), capture_output=True, timeout=120)
    with open(path, "rb") as stdin:
        redirected = subprocess.run([*command, "-", "--json"], stdin=stdin, capture_output=True, timeout=120)
    assert by_path.returncode == 1 and by_path.stderr == b""
    assert by_path.stdout == by_pipe.stdout == redirected.stdout
