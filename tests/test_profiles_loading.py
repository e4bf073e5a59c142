"""Device profiles: every shipped profile loads; bad files give one line per problem with
file:line:col, the key path and what was expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.profiles import PROFILE_DIR, ConfigError, load_profile, load_profiles, resolve_path

REAL_PROFILES = ["redroid-8.1", "redroid-11", "emulator", "generic-android", "box-android-4.4"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    return str(caught.value).splitlines()


MINIMAL = """\
name: {name}
kind: generic
android:
  sdk: 23
"""


@pytest.mark.parametrize("name", REAL_PROFILES)
def test_shipped_real_profiles_load_by_name(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.path == PROFILE_DIR / f"{name}.yaml"
    assert profile.network.interface == "eth0"
    assert profile.restart_method in ("docker", "reboot")


def test_every_file_in_device_profiles_loads():
    names = {p.name for p in load_profiles()}
    assert set(REAL_PROFILES) <= names
    assert any(n.startswith("sim-") for n in names)


def test_redroid_profile_restarts_its_container():
    profile = load_profile("redroid-8.1")
    assert profile.kind == "redroid"
    assert profile.restart_method == "docker"
    assert profile.container is not None
    assert (profile.container.runtime, profile.container.name, profile.container.host) == ("docker", "redroid8", None)
    assert profile.android.sdk.min == profile.android.sdk.max == 27
    assert profile.android.release == "8.1.0"
    assert not profile.has("reboot")          # redroid-doc#870: a reboot inside loses adb
    assert profile.network.connectivity_targets().hosts == ("8.8.8.8",)


def test_sim_profile_takes_its_network_from_the_device_side():
    profile = load_profile("sim-android-8.1-buggy")
    assert profile.kind == "sim"
    assert profile.restart_method == "sim"
    assert profile.network.interface == "eth0"
    assert profile.network.gateway == "172.17.0.1"
    assert profile.android.sdk.min == 27
    assert profile.has("root") and profile.has("reboot")
    assert profile.match is None              # chosen by name only


def test_load_by_path(tmp_path):
    path = write(tmp_path, "mine", MINIMAL.format(name="mine"))
    profile = load_profile(str(path))
    assert (profile.name, profile.kind, profile.restart_method) == ("mine", "generic", "reboot")
    assert profile.restart.boot_timeout_s == 120.0 and profile.restart.wait_for_network is True


def test_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"profile 'nope' not found in .*device_profiles \(known: .*redroid-8\.1"):
        resolve_path("nope")


def test_profile_name_that_is_not_a_name_is_refused():
    with pytest.raises(ConfigError, match="profile name 'a b' is invalid"):
        resolve_path("a b")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"no such profile file"):
        load_profile(tmp_path / "absent.yaml")


def test_unknown_key_and_wrong_type(tmp_path):
    path = write(tmp_path, "p", """\
        name: p
        kind: generic
        android:
          sdk: 23
        restart:
          boot_timeout: 30
          network_timeout_s: fast
        """)
    assert problems(path) == [
        f"{path}:6:17: restart.boot_timeout: unknown key (got '30')",
        f"{path}:7:22: restart.network_timeout_s: Input should be a valid number (got 'fast')",
    ]


def test_name_must_be_the_file_name(tmp_path):
    path = write(tmp_path, "p", MINIMAL.format(name="other"))
    assert problems(path) == [f"{path}:1:7: name: must be the file's name 'p' (got 'other')"]


def test_each_problem_on_its_own_line_in_file_order(tmp_path):
    path = write(tmp_path, "p", """\
        name: p
        kind: redroid
        match:
          serial: [0123456, "emulator-*"]
          props:
            ro.kernel.qemu: 1
        android:
          release: 8.1
          sdk: 27
        network:
          interface: "eth0; reboot"
        container:
          runtime: docker
          name: "redroid; rm -rf /"
        restart:
          method: docker
        capabilities: [container, wifi]
        """)
    assert problems(path) == [
        f"{path}:4:12: match.serial.0: expected a string: put the value in quotes in the YAML file (got '0123456')",
        f"{path}:6:21: match.props.ro.kernel.qemu: expected a string: put the value in quotes in the YAML file "
        "(got '1')",
        f"{path}:8:12: android.release: expected a string: put the value in quotes in the YAML file (got '8.1')",
        f"{path}:11:14: network.interface: interface name 'eth0; reboot' is invalid: expected 1-15 characters, "
        "a letter first, then letters, digits, '_', '.' or '-' (like eth0) (got 'eth0; reboot')",
        f"{path}:14:9: container.name: expected a container name: a letter or digit, then letters, digits, '_', "
        "'.' or '-' (got 'redroid; rm -rf /')",
        f"{path}:17:27: capabilities.1: Input should be 'root', 'container', 'ethernet', 'ip', 'ndc', 'netcfg', "
        "'dumpsys' or 'reboot' (got 'wifi')",
    ]


def test_octal_looking_serial_is_kept_as_a_string_when_quoted(tmp_path):
    path = write(tmp_path, "p", """\
        name: p
        kind: generic
        match:
          serial: ["0123456"]
          props:
            ro.kernel.qemu: "1"
        android:
          sdk: {min: 23}
        """)
    profile = load_profile(path)
    assert profile.match is not None
    assert profile.match.serial == ["0123456"]
    assert profile.match.props == {"ro.kernel.qemu": ["1"]}


def test_duplicate_keys_name_both_lines(tmp_path):
    path = write(tmp_path, "p", """\
        name: p
        kind: generic
        android:
          sdk: 23
          sdk: 24
        """)
    assert problems(path) == [f"{path}:5:3: YAML: duplicate key 'sdk' (first defined on line 4)"]


def test_yaml_syntax_error_has_a_line(tmp_path):
    path = write(tmp_path, "p", "name: p\nkind: [generic\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}:3:1: YAML: ")


@pytest.mark.parametrize("field, value, expected", [
    ("gateway", "172.17.0.300", "network.gateway: IPv4 address '172.17.0.300' is invalid: expected a dotted "
                                "IPv4 address like 172.17.0.1"),
    ("targets", '["8.8.8.8", "dns.google"]', "network.targets.1: IPv4 address 'dns.google' is invalid"),
    ("hostname", '"www.google.com; reboot"', "network.hostname: expected a host name like www.google.com"),
    ("interface", "eth0abcdefghijklmn", "network.interface: interface name 'eth0abcdefghijklmn' is invalid"),
    ("expected_within_s", "-1", "network.expected_within_s: Input should be greater than 0"),
])
def test_network_values_that_would_reach_a_shell_are_validated(tmp_path, field, value, expected):
    path = write(tmp_path, "p", MINIMAL.format(name="p") + f"network:\n  {field}: {value}\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}:6:"), line
    assert expected in line


@pytest.mark.parametrize("container, expected", [
    ("{runtime: docker, name: redroid8, host: 'http://10.0.0.5:2375'}",
     "container.host: expected the runtime's URL, like unix:///run/docker.sock"),
    ("{runtime: docker, name: '-x'}", "container.name: expected a container name"),
    ("{runtime: lxc, name: x}", "container.runtime: Input should be 'docker' or 'podman'"),
    ("{runtime: docker, name: x, stop_timeout_s: 1000}",
     "container.stop_timeout_s: Input should be less than or equal to 600"),
])
def test_container_section_is_validated(tmp_path, container, expected):
    path = write(tmp_path, "p", MINIMAL.format(name="p") + f"capabilities: [container]\ncontainer: {container}\n")
    (line,) = problems(path)
    assert expected in line, line
    assert line.startswith(f"{path}:6:"), line


def test_remote_container_hosts_are_accepted(tmp_path):
    path = write(tmp_path, "p", """\
        name: p
        kind: redroid
        android: {sdk: 30}
        container: {runtime: podman, name: redroid11, host: "ssh://ci@10.0.0.5:22/run/podman/podman.sock"}
        restart: {method: podman}
        capabilities: [container]
        """)
    profile = load_profile(path)
    assert profile.container is not None
    assert profile.container.host == "ssh://ci@10.0.0.5:22/run/podman/podman.sock"
    assert profile.restart_method == "podman"


@pytest.mark.parametrize("extra, expected", [
    ("restart: {method: docker}", "restart.method: method docker needs a container section (runtime, name)"),
    ("restart: {method: sim}", "restart.method: method sim restarts virtual devices only"),
    ("restart: {method: framework}", "restart.method: method framework needs capabilities root declared"),
    ("restart: {method: reboot}\ncapabilities: [root]", "restart.method: method reboot needs capabilities reboot"),
    ("container: {runtime: podman, name: x}\ncapabilities: [container]\nrestart: {method: docker}",
     "restart.method: method docker does not fit container.runtime podman"),
    ("container: {runtime: docker, name: x}\ncapabilities: [reboot]",
     "capabilities: a profile with a container section must declare the container capability"),
    ("network: {expected_within_s: 90}\ncapabilities: [reboot]",
     "restart.network_timeout_s: must be at least network.expected_within_s (90)"),
])
def test_rules_across_sections(tmp_path, extra, expected):
    path = write(tmp_path, "p", MINIMAL.format(name="p") + extra + "\n")
    lines = problems(path)
    assert any(expected in line for line in lines), lines


def test_sim_sections_are_refused_on_real_kinds(tmp_path):
    path = write(tmp_path, "p", MINIMAL.format(name="p") + "capabilities: [reboot]\nsim: {seed: 3}\n")
    assert problems(path) == [f"{path}:6:6: sim: only a `kind: sim` profile has this section (it describes the "
                              "virtual device) (got {'seed': 3})"]


def test_sdk_range_and_kind_are_validated(tmp_path):
    path = write(tmp_path, "p", "name: p\nkind: phone\nandroid: {sdk: 23}\n")
    assert problems(path) == [f"{path}:2:7: kind: Input should be 'sim', 'redroid', 'emulator', 'generic' or 'box' "
                              "(got 'phone')"]
    path = write(tmp_path, "q", "name: q\nkind: generic\nandroid: {sdk: {min: 30, max: 23}}\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}:3:16: android.sdk: Value error, min 30 is above max 23")
    path = write(tmp_path, "r", "name: r\nkind: generic\nandroid: {sdk: '27'}\n")
    (line,) = problems(path)
    assert "android.sdk: expected an API level like 27 or a range like {min: 23, max: 30} (got '27')" in line


def test_sim_profile_problems_come_from_both_sides(tmp_path):
    path = write(tmp_path, "simp", """\
        name: simp
        kind: sim
        android: {release: "8.1.0", sdk: 27}
        product: {name: x, model: m, device: d}
        network:
          interface: "eth0; reboot"
        colour: red
        """)
    lines = problems(path)
    assert lines[0].startswith(f"{path}:6:14: network.interface: ")       # the device side's check
    assert "eth0; reboot" in lines[0]
    assert lines[1] == f"{path}:7:9: colour: unknown key (got 'red')"    # the harness side's


def test_sim_profile_restart_rules(tmp_path):
    path = write(tmp_path, "simp", """\
        name: simp
        kind: sim
        android: {release: "8.1.0", sdk: 27}
        product: {name: x, model: m, device: d}
        restart: {method: docker}
        """)
    assert problems(path) == [
        f"{path}:5:19: restart.method: method docker needs a container section (runtime, name) (got 'docker')",
        f"{path}:5:19: restart.method: method docker needs capabilities container declared (got 'docker')"]


def test_load_profiles_reports_every_bad_file(tmp_path):
    write(tmp_path, "good", MINIMAL.format(name="good"))
    write(tmp_path, "bad1", "name: bad1\nkind: generic\n")
    write(tmp_path, "bad2", "name: bad2\nkind: generic\nandroid: {sdk: 23}\nextra: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_profiles(tmp_path)
    text = str(caught.value)
    assert f"{tmp_path / 'bad1.yaml'}:1:1: android: Field required" in text
    assert f"{tmp_path / 'bad2.yaml'}:4:8: extra: unknown key (got '1')" in text
