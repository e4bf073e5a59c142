"""The compiled-registry cache: same registry as a full load, misses on any change, never hides errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.logs import signature_specs
from harness.logs.registry_cache import FILE_NAME
from harness.logs.signatures import DEFAULT_DIRECTORY, load_registry
from harness.yamlcheck import ConfigError

GOOD = textwrap.dedent("""\
    id: demo-signature
    title: Demo
    description: demo
    android: ">=8"
    severity: major
    summary: ["why {why}"]
    patterns:
      - name: demo
        tag: Demo
        level: E
        android: "<=12"
        regex: ^something failed \\((?P<why>[^)]*)\\)$
      - name: helper
        role: companion
        regex: ^helper said (?P<why>\\w+)$
    correlate:
      - companion: helper
        within: 3
        same: [why]
    """)


def fresh(directory: Path):
    return signature_specs.compile_registry(sorted(directory.glob("*.yaml")))


def test_second_load_comes_from_the_cache_and_equals_a_full_load(tmp_path, monkeypatch):
    (tmp_path / "a.yaml").write_text(GOOD)
    first = load_registry(tmp_path)
    assert (tmp_path / "__pycache__" / FILE_NAME).is_file()
    monkeypatch.setattr(signature_specs, "compile_registry", lambda paths: pytest.fail("full load"))
    cached = load_registry(tmp_path)
    assert cached == first
    sig = cached.get("demo-signature")
    assert sig.source == f"{tmp_path / 'a.yaml'}:1:5"
    assert sig.primaries[0].regex.search("something failed (EBUSY)").group("why") == "EBUSY"
    assert (sig.primaries[0].anchor, sig.primaries[0].tags, str(sig.primaries[0].android)) == (
        b"something failed (", frozenset({"Demo"}), "<=12")
    assert sig.companion_rules[0].within == 3.0 and sig.companion_rules[0].same == ("why",)


def test_shipped_registry_from_the_cache_equals_a_full_load():
    load_registry()
    assert load_registry() == fresh(DEFAULT_DIRECTORY)


def test_sources_follow_the_directory_as_spelled(tmp_path, monkeypatch):
    (tmp_path / "a.yaml").write_text(GOOD)
    load_registry(tmp_path)
    monkeypatch.chdir(tmp_path.parent)
    relative = Path(tmp_path.name)
    assert load_registry(relative).get("demo-signature").source == f"{relative / 'a.yaml'}:1:5"
    monkeypatch.chdir(tmp_path)
    assert load_registry(Path(".")).get("demo-signature").source == "a.yaml:1:5"


def test_an_edit_of_the_same_size_and_mtime_is_seen(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(GOOD)
    load_registry(tmp_path)
    stat = path.stat()
    path.write_text(GOOD.replace("title: Demo", "title: Omed"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert load_registry(tmp_path).get("demo-signature").title == "Omed"


def test_added_and_removed_files_are_seen(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    load_registry(tmp_path)
    (tmp_path / "b.yaml").write_text(GOOD.replace("demo-signature", "other-signature"))
    assert [s.id for s in load_registry(tmp_path).signatures] == ["demo-signature", "other-signature"]
    (tmp_path / "a.yaml").unlink()
    assert [s.id for s in load_registry(tmp_path).signatures] == ["other-signature"]


def test_errors_after_a_cached_load_are_reported_exactly_as_without_cache(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(GOOD)
    load_registry(tmp_path)
    path.write_text(GOOD + "    colour: red\n")
    with pytest.raises(ConfigError) as err:
        load_registry(tmp_path)
    assert str(err.value) == f"{path}:20:13: correlate.0.colour: unknown key (got 'red')"
    with pytest.raises(ConfigError) as again:      # a failed load stores nothing
        load_registry(tmp_path)
    assert str(again.value) == str(err.value)


def test_a_corrupt_cache_is_rebuilt(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    expected = load_registry(tmp_path)
    cache = tmp_path / "__pycache__" / FILE_NAME
    for garbage in (b"", b"\x00garbage", cache.read_bytes()[:100]):
        cache.write_bytes(garbage)
        assert load_registry(tmp_path) == expected
        assert cache.read_bytes() not in (b"", b"\x00garbage") and len(cache.read_bytes()) > 100


def test_an_unwritable_cache_place_only_costs_time(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "__pycache__").write_text("a file where the cache directory would go")
    assert load_registry(tmp_path) == fresh(tmp_path)
    assert load_registry(tmp_path) == fresh(tmp_path)


def test_a_warm_start_imports_neither_yaml_nor_pydantic():
    load_registry()
    code = ("import sys; from harness.logs.signatures import load_registry; load_registry(); "
            "print(sorted(m for m in ('yaml', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout == "[]\n", out.stderr
