"""The signature registry: validation errors with file:line, anchors, versions, categories."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from harness.logs.categories import allure_categories, message_regex
from harness.logs.literals import check_anchor, required_literals
from harness.logs.signatures import load_registry
from harness.logs.versions import VersionSpec, parse_version
from harness.yamlcheck import ConfigError

GOOD = """\
id: demo-signature
title: Demo
description: demo
android: ">=8"
severity: major
patterns:
  - name: demo
    tag: Demo
    level: E
    regex: ^something failed \\((?P<why>[^)]*)\\)$
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_registry_loads_and_covers_every_ebusy_form():
    registry = load_registry()
    ebusy = registry.get("eth0-ebusy-startup-race")
    assert {p.name: str(p.android) for p in ebusy.primaries} == {
        "cs_ebusy_text": "<=9", "cs_ebusy_10": "==10", "cs_ebusy_11": "==11", "cs_ebusy_12": ">=12"}
    assert {p.name: p.levels for p in ebusy.primaries}["cs_ebusy_12"] == frozenset({"W"})
    assert "netd_already_assigned" in ebusy.companions
    assert {s.id for s in registry.signatures} >= {
        "eth0-ebusy-startup-race", "cs-error-creating-network", "netd-routecontroller-init-failed",
        "netd-ipv6-rules-unsupported"}


def test_primary_anchors_drop_anchors_that_contain_another(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD.replace("demo-signature", "other").replace(
        "^something failed", "^oh no, something failed"))
    assert load_registry(tmp_path).primary_anchors() == (b"something failed (",)


def test_bad_regex_is_reported_with_file_line_and_key_path(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.replace("[^)]*)\\)$", "[^)]*\\)$"))
    with pytest.raises(ConfigError) as err:
        load_registry(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{path}:10:12: patterns.0.regex: Value error, bad regular expression: "
                              "missing ), unterminated subpattern")


def test_unknown_key_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD + "    colour: red\n")
    with pytest.raises(ConfigError) as err:
        load_registry(tmp_path)
    assert str(err.value) == f"{path}:11:13: patterns.0.colour: unknown key (got 'red')"


def test_duplicate_id_names_both_definitions(tmp_path):
    first = write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", GOOD)
    with pytest.raises(ConfigError) as err:
        load_registry(tmp_path)
    assert str(err.value) == (f"{second}:1:5: id: duplicate signature id 'demo-signature' "
                              f"(first defined at {first}:1:5)")


def test_every_problem_of_every_file_is_listed(tmp_path):
    write(tmp_path, "a.yaml", GOOD.replace("severity: major", "severity: huge"))
    write(tmp_path, "b.yaml", GOOD.replace("id: demo-signature", "id: Demo_Signature"))
    with pytest.raises(ConfigError) as err:
        load_registry(tmp_path)
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'a.yaml'}:5:11: severity: Input should be 'critical', 'major' or 'minor'")
    assert lines[1].startswith(f"{tmp_path / 'b.yaml'}:1:5: id: String should match pattern")


@pytest.mark.parametrize("change, expected", [
    (("regex: ^something failed \\((?P<why>[^)]*)\\)$", "regex: ^(?:a|b)\\d+ x"), "needs a literal part of at least 6 characters"),
    (("    level: E\n", "    level: E\n    anchor: nothing here\n"), "'nothing here' is not literal text"),
    (("android: \">=8\"", "android: \"8+\""), "bad version specifier '8+'"),
    (("severity: major\n", "severity: major\ncorrelate:\n  - companion: missing\n"),
     "companion: 'missing' is not a pattern with role 'companion'"),
    (("severity: major\n", "severity: major\ncorrelate:\n  - equal: [why, nope]\n"),
     "equal: ['nope'] are not named groups of a primary pattern"),
    (("severity: major\n", "severity: major\nsummary: ['{nope}']\n"), "uses unknown fields ['nope']"),
    (("regex: ^something failed \\((?P<why>[^)]*)\\)$", "regex: ^something failed\\non two lines$"),
     "anchor 'something failed\\non two lines' contains a line break, which no log line does"),
])
def test_inconsistent_signatures_are_rejected(tmp_path, change, expected):
    write(tmp_path, "a.yaml", GOOD.replace(*change))
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_registry(tmp_path)


def test_yaml_syntax_error_and_missing_directory(tmp_path):
    path = write(tmp_path, "a.yaml", "id: [unclosed\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2:1: YAML:")):
        load_registry(tmp_path)
    with pytest.raises(ConfigError, match="signature directory not found"):
        load_registry(tmp_path / "nope")


def test_required_literals_follow_regex_structure():
    assert required_literals(r"ab(c|d)e+f?[x]\d{2}(?P<n>gh)") == ["ab", "gh", "e", "x"]
    assert required_literals(r"(?i)case insensitive") == []
    assert check_anchor(r"^Exception adding interface: (a|b)", "adding inter", min_length=6) == "adding inter"
    with pytest.raises(ValueError, match="not literal text"):
        check_anchor(r"^Exception (?:adding|removing) interface", "adding interface", min_length=6)


def test_version_specifiers():
    spec = VersionSpec.parse(">=5, <=9")
    assert spec.contains(parse_version("8.1")) and spec.contains(parse_version("9"))
    assert not spec.contains(parse_version("10"))
    assert VersionSpec.parse("==11").contains((11, 0))
    with pytest.raises(ValueError, match="not an Android version"):
        parse_version("R")


def test_allure_categories_match_whole_messages_naming_the_id():
    categories = allure_categories(load_registry())
    ebusy = next(c for c in categories if "eth0-ebusy-startup-race" in c["name"])
    assert ebusy == {
        "name": "Known regression: eth0 cannot join the new network (EBUSY) while the old network still "
                "holds it (eth0-ebusy-startup-race)",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": ".*(?<![\\w-])eth0-ebusy-startup-race(?![\\w-]).*",
        "flaky": False}
    assert [c["name"].split(":")[0] for c in categories if "netd-" in c["name"]] == [
        "Known infrastructure problem", "Known infrastructure problem"]
    regex = re.compile(message_regex("eth0-ebusy-startup-race"), re.DOTALL)
    # Allure 2 uses Java's matches(): the whole message, DOTALL.
    assert regex.fullmatch("AssertionError: KNOWN eth0-ebusy-startup-race: netId 101 eth0 seq 30\nmore")
    assert not regex.fullmatch("AssertionError: KNOWN eth0-ebusy-startup-race-v2: netId 101")
    assert not regex.fullmatch("AssertionError: no eth0 network")
    # critical signatures first (Allure 2.41+ keeps only the first matching category)
    severities = [load_registry().get(re.search(r"\(([a-z0-9-]+)\)$", c["name"]).group(1)).severity
                  for c in categories]
    assert severities == sorted(severities, key=["critical", "major", "minor"].index)
