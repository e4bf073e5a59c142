"""`harness parse KIND FILE [--json]`, driven through its argparse registration."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from harness.cli import parse as parse_cmd
from harness.parsers import PARSERS

DATA = Path(__file__).parent / "data" / "parsers"


def run(*argv: str) -> int:
    top = argparse.ArgumentParser(prog="harness")
    parse_cmd.add_parser(top.add_subparsers())
    args = top.parse_args(["parse", *argv])
    return args.func(args)


def test_summary_of_a_rule_dump(capsys):
    assert run("ip-rule", str(DATA / "ip" / "rule_after_race.txt")) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[-1] == "32000: from all unreachable" and out.err == ""


def test_json_output_is_the_typed_result(capsys):
    assert run("ping", str(DATA / "ping" / "iputils_healthy.txt"), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["statistics"]["received"] == 1 and data["address"] == "8.8.8.8" and data["unparsed"] == []


def test_unparsed_lines_are_reported_with_numbers(capsys):
    assert run("logcat", str(DATA / "logcat" / "garbage_mixed.txt")) == 0
    out = capsys.readouterr().out
    assert "unparsed lines: 3" in out and "  3: this line is not a log line" in out


def test_stdin_and_kind_spelling(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"200 0 success\n")))
    assert run("NDC", "-", "--json") == 0
    assert json.loads(capsys.readouterr().out)["replies"][0]["kind"] == "ok"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"default via 10.0.2.2 dev eth0\n")))
    assert run("ip_route", "-") == 0
    assert capsys.readouterr().out.startswith("default via 10.0.2.2 dev eth0")


def test_unknown_kind_is_one_error_line(capsys):
    assert run("ipconfig", str(DATA / "ip" / "rule_after_race.txt")) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert "unknown kind 'ipconfig'" in out.err and all(kind in out.err for kind in PARSERS)


@pytest.mark.parametrize("name", ["missing.txt", "."])
def test_unreadable_file_is_one_error_line(tmp_path, capsys, name):
    target = tmp_path / name
    assert run("ifconfig", str(target)) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert f"cannot read {target}" in out.err and "expected a readable file" in out.err


def test_binary_file_prints_without_crashing(tmp_path, capsys):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    for kind in PARSERS:
        assert run(kind, str(blob)) == 0
        assert run(kind, str(blob), "--json") == 0
    capsys.readouterr()


def test_help_lists_every_kind(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run("--help")
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert all(kind in help_text for kind in PARSERS)


def test_discovered_by_the_harness_command(capsys):
    from harness.cli import main

    assert main(["parse", "netcfg", str(DATA / "netcfg" / "reference_redroid.txt")]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("eth0: UP 172.17.0.2/16 flags=0x00001043")
