"""Option resolution: command line > environment > ini > default, with the source remembered."""

from __future__ import annotations

import pytest

from harness.errors import BadConfiguration
from harness.options import AdbServerAddress, RawSources, parse_host_port, resolve


def raw(**overrides) -> RawSources:
    values = dict(cli_serials=None, cli_adb_server=None, cli_profile=None, env={},
                  ini_serials=[], ini_adb_server="", ini_profile="")
    values.update(overrides)
    return RawSources(**values)


def test_defaults_mean_embedded_device_private_server_default_profile():
    options = resolve(raw())
    assert options.embedded
    assert (options.adb_server.value, options.adb_server.source) == (None, "default")
    assert (options.profile.value, options.profile.source) == ("sim-android-8.1-buggy", "default")
    assert options.header_lines() == [
        "android devices: embedded virtual device (from default)",
        "android adb server: private server, bundled adb (from default)",
        "android profile: sim-android-8.1-buggy (from default)",
    ]


def test_command_line_beats_env_beats_ini():
    everything = dict(env={"ANDROID_SERIAL": "env-serial", "ANDROID_ADB_SERVER_PORT": "5040",
                           "HARNESS_PROFILE": "env-profile"},
                      ini_serials=["ini-a", "ini-b"], ini_adb_server="10.0.0.9:5037", ini_profile="ini-profile")
    cli = resolve(raw(cli_serials=["cli-1", "cli-2"], cli_adb_server="10.1.1.1:6000", cli_profile="cli-profile",
                      **everything))
    assert cli.serials.value == ("cli-1", "cli-2") and cli.serials.source == "command line"
    assert cli.adb_server.value == AdbServerAddress("10.1.1.1", 6000)
    assert cli.profile.value == "cli-profile"

    env = resolve(raw(**everything))
    assert (env.serials.value, env.serials.source) == (("env-serial",), "env ANDROID_SERIAL")
    assert env.adb_server.value == AdbServerAddress("127.0.0.1", 5040)
    assert env.adb_server.source == "env ANDROID_ADB_SERVER_PORT"
    assert (env.profile.value, env.profile.source) == ("env-profile", "env HARNESS_PROFILE")

    ini = resolve(raw(**{**everything, "env": {}}))
    assert (ini.serials.value, ini.serials.source) == (("ini-a", "ini-b"), "ini android_serial")
    assert (str(ini.adb_server.value), ini.adb_server.source) == ("10.0.0.9:5037", "ini adb_server")
    assert (ini.profile.value, ini.profile.source) == ("ini-profile", "ini device_profile")


def test_named_devices_default_to_the_standard_server():
    options = resolve(raw(cli_serials=["emulator-5554"]))
    assert not options.embedded
    assert options.adb_server_address == AdbServerAddress("127.0.0.1", 5037)
    assert "android adb server: 127.0.0.1:5037 (from default)" in options.header_lines()


def test_env_host_alone_uses_the_default_port():
    options = resolve(raw(env={"ANDROID_ADB_SERVER_HOST": "farm-host-3"}))
    assert options.adb_server.value == AdbServerAddress("farm-host-3", 5037)
    assert options.adb_server.source == "env ANDROID_ADB_SERVER_HOST"


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:5037", AdbServerAddress("127.0.0.1", 5037)),
    ("farm-3.lab:15037", AdbServerAddress("farm-3.lab", 15037)),
    ("[::1]:5037", AdbServerAddress("::1", 5037)),
])
def test_host_port_accepted(text, expected):
    assert parse_host_port(text, "--adb-server") == expected


@pytest.mark.parametrize("text", ["nonsense", "host:", ":5037", "host:0", "host:65536", "host:50a",
                                  "two words:5037", "a;b:5037", "127.0.0.1:5037:1"])
def test_host_port_rejected_with_one_line_naming_the_option(text):
    with pytest.raises(BadConfiguration) as info:
        parse_host_port(text, "--adb-server")
    assert info.value.message == (f"--adb-server: expected HOST:PORT of an adb server, like 127.0.0.1:5037, "
                                  f"got {text!r}")


def test_bad_env_port_names_the_variable():
    with pytest.raises(BadConfiguration, match=r"^ANDROID_ADB_SERVER_PORT: expected a port number 1-65535, got 'abc'$"):
        resolve(raw(env={"ANDROID_ADB_SERVER_PORT": "abc"}))


@pytest.mark.parametrize("serial", ["", "has space", "x;reboot", "a" * 200])
def test_bad_serials_rejected(serial):
    with pytest.raises(BadConfiguration, match=r"^--serial"):
        resolve(raw(cli_serials=[serial]))
