"""Every parser is total: truncated, garbled, binary, empty or wrong-kind input never raises,
and the result is always JSON-ready with valid line numbers for what it could not parse."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from harness.parsers import PARSERS, ParseResult, parser_for
from harness.parsers.base import split_lines

DATA = Path(__file__).parent / "data" / "parsers"

# Which fixture directory holds samples of which kind (file-name prefix where a directory is shared).
KIND_SAMPLES = {
    "ifconfig": ("ifconfig", ""), "netcfg": ("netcfg", ""), "ip-addr": ("ip", "addr"),
    "ip-link": ("ip", "link"), "ip-route": ("ip", "route"), "ip-rule": ("ip", "rule"), "ping": ("ping", ""),
    "getprop": ("getprop", ""), "ndc": ("ndc", ""), "logcat": ("logcat", ""),
    "dumpsys-connectivity": ("dumpsys", "connectivity"), "dumpsys-ethernet": ("dumpsys", "ethernet"),
}
ALL_SAMPLES = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix in (".txt", ".bin"))


def samples(kind: str) -> list[Path]:
    directory, prefix = KIND_SAMPLES[kind]
    return sorted(p for p in (DATA / directory).iterdir() if p.name.startswith(prefix))


def check(result: ParseResult, source: bytes | str | None) -> None:
    """The invariants every result keeps."""
    assert isinstance(result, ParseResult)
    json.dumps(result.to_dict())
    assert isinstance(result.summary(), str)
    lines = split_lines(source)
    for line in result.unparsed:
        assert 1 <= line.number <= len(lines)
        assert line.text in lines[line.number - 1].text  # kept verbatim (ndc may split a line at NULs)


def cut_points(data: bytes) -> list[int]:
    """Every line boundary and the middle of every line: where a capture gets cut short."""
    points = {0, len(data)}
    start = 0
    for i, byte in enumerate(data):
        if byte == 0x0A:
            points.update({i, i + 1, (start + i) // 2})
            start = i + 1
    return sorted(points)


def test_every_kind_has_samples_and_a_parser():
    assert set(KIND_SAMPLES) == set(PARSERS)
    for kind in PARSERS:
        assert samples(kind), kind
    assert parser_for("IP_ROUTE") is PARSERS["ip-route"] and parser_for("nope") is None


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_prefixes_of_every_sample_never_raise(kind):
    parse = PARSERS[kind]
    for path in samples(kind):
        data = path.read_bytes()
        for cut in cut_points(data):
            check(parse(data[:cut]), data[:cut])


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_garbled_empty_and_binary_input_never_raises(kind):
    parse = PARSERS[kind]
    rng = random.Random(f"garble-{kind}")
    inputs: list[bytes | str | None] = [None, "", b"", "\n\n\n", "\0" * 16, "\r\n", " \t ", "\x1b[0m",
                                        bytes(range(256)), rng.randbytes(4096), "[" * 500 + "{" * 500]
    for path in samples(kind):
        data = bytearray(path.read_bytes())
        for _ in range(5):
            garbled = bytearray(data)
            for _ in range(max(1, len(garbled) // 50)):
                if garbled:
                    garbled[rng.randrange(len(garbled))] = rng.randrange(256)
            inputs.append(bytes(garbled))
        inputs.append(data.decode("utf-8", "replace").replace("\n", "\r\n"))
        inputs.append(bytes(data).replace(b" ", b""))
        inputs.append(bytes(data).replace(b"\n", b"\n\0"))
    for item in inputs:
        check(parse(item), item)


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_wrong_kind_input_never_raises(kind):
    parse = PARSERS[kind]
    for path in ALL_SAMPLES:
        data = path.read_bytes()
        check(parse(data), data)


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_str_and_bytes_inputs_agree(kind):
    parse = PARSERS[kind]
    for path in samples(kind):
        data = path.read_bytes()
        assert parse(data) == parse(data.decode("utf-8", "replace"))


def test_results_are_frozen():
    result = PARSERS["ip-rule"]("0:\tfrom all lookup local\n")
    with pytest.raises(AttributeError):
        result.rules = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.rules[0].priority = 1  # type: ignore[misc]
