"""The farm file (harness.farm.spec): strict YAML, every problem with file:line:col and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.farm.spec import load_farm
from harness.yamlcheck import ConfigError

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "farms").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_example_farm_files_are_valid(path):
    spec = load_farm(path)
    assert spec.adb_servers and spec.name == path.stem


def load(tmp_path: Path, text: str):
    path = tmp_path / "farm.yaml"
    path.write_text(text)
    return path, lambda: load_farm(path)


def test_a_complete_farm_file(tmp_path):
    path, loaded = load(tmp_path, """\
name: lab
adb_servers:
  - {name: a, address: "127.0.0.1:5037"}
  - {address: "10.0.0.12:5037"}
tcp_devices:
  - {address: "10.0.0.21:5555", server: "10.0.0.12:5037", container: {host: d, name: redroid-21}}
  - {address: "10.0.0.22:5555"}
container_hosts:
  - {name: d, runtime: docker, url: "tcp://10.0.0.12:2375"}
profiles:
  - {profile: redroid-11, serial: ["10.0.0.*:5555"], props: {ro.product.brand: redroid}}
groups:
  - {name: pair, devices: ["10.0.0.21:5555", "10.0.0.22:5555"]}
""")
    spec = loaded()
    assert spec.server("10.0.0.12:5037").label == "10.0.0.12:5037" and spec.server(None).name == "a"
    assert spec.tcp_devices[0].container.name == "redroid-21"
    assert spec.profiles[0].props == {"ro.product.brand": ["redroid"]}
    assert spec.leases.wait_s == 60.0 and spec.health.recovery_budget_s == 180.0


def test_type_and_value_problems_name_the_line_and_key(tmp_path):
    path, loaded = load(tmp_path, """\
adb_servers:
  - {address: "nohost"}
tcp_devices:
  - address: 0123
container_hosts:
  - {name: s, runtime: sim}
  - {name: k, runtime: kubernetes}
profiles:
  - {profile: x}
health: {recovery_budget_s: -1}
surprise: 1
""")
    with pytest.raises(ConfigError) as error:
        loaded()
    assert str(error.value).splitlines() == [
        f"{path}:2:15: adb_servers.0.address: expected HOST:PORT, like 127.0.0.1:5037 (got 'nohost')",
        f"{path}:4:14: tcp_devices.0.address: expected a string: put the value in quotes in the YAML file "
        "(got '0123')",
        f"{path}:6:5: container_hosts.0: runtime sim needs `control: HOST:PORT` (the virtual-device farm's "
        "control channel) (got {'name': 's', 'runtime': 'sim'})",
        f"{path}:7:24: container_hosts.1.runtime: Input should be 'docker', 'podman' or 'sim' (got 'kubernetes')",
        f"{path}:9:5: profiles.0: a rule needs `serial` globs or `props` to match devices by (got {{'profile': 'x'}})",
        f"{path}:10:29: health.recovery_budget_s: Input should be greater than 0 (got '-1')",
        f"{path}:11:11: surprise: unknown key (got '1')",
    ]


def test_names_that_point_at_nothing_and_duplicates(tmp_path):
    path, loaded = load(tmp_path, """\
adb_servers:
  - {name: a, address: "127.0.0.1:5037"}
  - {name: a, address: "127.0.0.1:5038"}
tcp_devices:
  - {address: "10.0.0.1:5555", server: b, container: {host: nope}}
  - {address: "10.0.0.1:5555", container: {host: d}}
container_hosts:
  - {name: d, runtime: docker}
groups:
  - {name: g, devices: ["x1", "x2"]}
  - {name: h, devices: ["x1", "x3"]}
""")
    with pytest.raises(ConfigError) as error:
        loaded()
    assert str(error.value).splitlines() == [
        f"{path}:3:5: adb_servers.1: 'a' is already adb_servers.0 (got 'a')",
        f"{path}:5:40: tcp_devices.0.server: no such adb server (known: a, a) (got 'b')",
        f"{path}:5:61: tcp_devices.0.container.host: no such container host (known: d) (got 'nope')",
        f"{path}:6:15: tcp_devices.1.address: listed twice (got '10.0.0.1:5555')",
        f"{path}:6:43: tcp_devices.1.container: a docker container needs its `name` (got 'd')",
        f"{path}:11:25: groups.1.devices.0: already in group g (got 'x1')",
    ]


def test_duplicate_keys_and_yaml_syntax_are_reported_with_their_line(tmp_path):
    path, loaded = load(tmp_path, "adb_servers: []\nadb_servers: []\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2:1: YAML: duplicate key 'adb_servers' \(first defined on line 1\)$"):
        loaded()
    path, loaded = load(tmp_path, "adb_servers: [\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2:1: YAML: "):
        loaded()
    path, loaded = load(tmp_path, "- just a list\n")
    with pytest.raises(ConfigError, match=r":1:1: \(top level\): expected a mapping"):
        loaded()
