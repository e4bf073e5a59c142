"""`@pytest.mark.requires`: parsing (usage errors that name the test) and evaluation against
probed capabilities (skip reasons); `restarts` given to tests that use the restart fixture."""

from __future__ import annotations

import pytest

from harness.markers import DeviceFacts, RequiresError, parse_requires, unmet
from test_net_fakes import caps_44, caps_81

TEST = "suites/test_x.py::test_y"


def facts(caps=None, restarts=None, problems=None) -> DeviceFacts:
    return DeviceFacts(caps or caps_81(), restarts if restarts is not None else {"container": "docker"},
                       problems or {})


def test_parsed_requirements_keep_their_values():
    parsed = parse_requires((), {"root": True, "tool": "ndc", "android": ">=8,<10", "restart": "framework"}, TEST)
    assert parsed["root"] is True and parsed["tool"] == ("ndc",) and parsed["restart"] == "framework"
    assert str(parsed["android"]) == ">=8,<10"


@pytest.mark.parametrize("args, kwargs, expected", [
    (("root",), {}, f"{TEST}: @pytest.mark.requires: takes keyword arguments only (like root=True, tool='ndc'), "
                    "got positional ('root',)"),
    ((), {}, f"{TEST}: @pytest.mark.requires: names no requirement; known: root, container, android, tool, "
             "netd_networks, ndc, ethernet, ethernet_service, restart"),
    ((), {"rot": True}, f"{TEST}: @pytest.mark.requires: unknown requirement 'rot'; known: root, container, "
                        "android, tool, netd_networks, ndc, ethernet, ethernet_service, restart"),
    ((), {"root": "yes"}, f"{TEST}: @pytest.mark.requires(root=...): expected True or False, got 'yes'"),
    ((), {"android": ">=eight"}, f"{TEST}: @pytest.mark.requires(android=...): expected a version range like "
                                 "'>=8,<10' or '==11', got '>=eight'"),
    ((), {"tool": []}, f"{TEST}: @pytest.mark.requires(tool=...): expected a tool name like 'ndc' or a list of "
                       "them, got []"),
    ((), {"ndc": "socket"}, f"{TEST}: @pytest.mark.requires(ndc=...): expected one of 'text', 'binder', got 'socket'"),
    ((), {"restart": "docker"}, f"{TEST}: @pytest.mark.requires(restart=...): expected one of 'container', "
                                "'framework', 'reboot', got 'docker'"),
])
def test_malformed_requirements_name_the_test_and_what_was_expected(args, kwargs, expected):
    with pytest.raises(RequiresError) as error:
        parse_requires(args, kwargs, TEST)
    assert str(error.value) == expected


def test_a_capable_device_meets_everything():
    requirements = parse_requires((), {"root": True, "container": True, "android": ">=8,<10", "tool": ["ndc", "ip"],
                                       "netd_networks": True, "ndc": "text", "ethernet": True,
                                       "ethernet_service": True}, TEST)
    assert unmet(requirements, facts()) == []


def test_each_missing_capability_gives_its_reason():
    requirements = parse_requires((), {"root": True, "android": ">=8", "tool": ["ip", "ndc"], "netd_networks": True,
                                       "ndc": "binder", "container": True, "restart": "reboot",
                                       "ethernet_service": True}, TEST)
    device = facts(caps_44(root=False), restarts={}, problems={"container": "no device profile names its "
                                                               "container: give --profile",
                                                               "reboot": "profile box does not declare the "
                                                               "reboot capability"})
    assert unmet(requirements, device) == [
        "requires root: the device gives no root shell (adb root refused, no working su)",
        "requires android >=8: the device runs Android 4.4.4 (sdk 19)",
        "requires tool ip: not on this device (Android 4.4.4; has ifconfig, netcfg, route, ndc, ping, dumpsys)",
        "requires netd_networks=True: netd keeps per-network rules and tables only from Android 5.0; the device "
        "runs 4.4.4 (sdk 19)",
        "requires ndc='binder': ndc talks to netd over text (Android 4.4.4)",
        "requires container=True: no device profile names its container: give --profile",
        "requires restart='reboot': profile box does not declare the reboot capability",
        "requires ethernet_service=True: `dumpsys ethernet` does not answer on this device",
    ]


def test_negated_requirements_select_the_devices_without():
    requirements = parse_requires((), {"netd_networks": False, "ethernet_service": False}, TEST)
    assert unmet(requirements, facts(caps_44())) == []
    assert unmet(requirements, facts(caps_81())) == [
        "requires netd_networks=False: the device's netd has per-network rules and tables",
        "requires ethernet_service=False: the Ethernet service manages the interface (its IpManager/IpClient "
        "replaces what a shell configures)",
    ]


# -- through pytest (collection only: no device is needed) ---------------------------------------

def test_a_malformed_marker_stops_the_run_with_one_line_naming_the_test(pytester):
    pytester.makepyfile(test_typo="""
        import pytest

        @pytest.mark.requires(rooot=True)
        def test_needs_root():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if line.strip()]
    assert lines == ["ERROR: test_typo.py::test_needs_root: @pytest.mark.requires: unknown requirement 'rooot'; "
                     "known: root, container, android, tool, netd_networks, ndc, ethernet, ethernet_service, restart"]


def test_tests_using_the_restart_fixture_are_marked_restarts(pytester):
    pytester.makepyfile(test_mix="""
        def test_restarting(restart):
            pass

        def test_quiet(net):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q", "-m", "not restarts")
    result.stdout.fnmatch_lines(["test_mix.py::test_quiet", "1/2 tests collected (1 deselected)*"])
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q", "-m", "restarts")
    result.stdout.fnmatch_lines(["test_mix.py::test_restarting", "1/2 tests collected (1 deselected)*"])


def test_the_markers_are_registered_for_strict_runs(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.requires(root=, container=, android=, tool=*",
                                 "@pytest.mark.restarts:*", "@pytest.mark.slow:*"])
