"""Capability probing on scripted device answers."""

from __future__ import annotations

from harness.net.capabilities import PROBED_TOOLS, capabilities, probe
from test_net_fakes import (DATA, GETPROP_81, IFCONFIG_TOOLBOX_LO, IFCONFIG_TOYBOX_LO, NETCFG_44, ScriptedDevice,
                            ok)

COMMAND_V = "; ".join(f"command -v {t}" for t in PROBED_TOOLS)


def paths(*tools: str) -> str:
    return "".join(f"/system/bin/{t}\n" for t in tools)


def device_81() -> ScriptedDevice:
    return ScriptedDevice({
        "getprop": ok(GETPROP_81),
        COMMAND_V: (1, paths("ip", "ifconfig", "route", "ndc", "ping", "dumpsys"), ""),
        "ifconfig lo": ok(IFCONFIG_TOYBOX_LO),
        "ls /dev/socket/netd": ok("/dev/socket/netd\n"),
        "dumpsys ethernet": ok((DATA / "dumpsys" / "ethernet_81_tracking.txt").read_text()),
    })


def test_android_81_redroid():
    caps = probe(device_81())
    assert (caps.release, caps.sdk, caps.root) == ("8.1.0", 27, True)
    assert set(caps.tools) == {"ip", "ifconfig", "route", "ndc", "ping", "dumpsys"}
    assert caps.ifconfig_style == "toybox" and caps.ndc_mode == "text" and caps.netd_socket
    assert caps.ethernet_service and caps.interface == "eth0" and caps.interface_source == "dumpsys ethernet"
    assert caps.container == "redroid" and caps.netd_networks and caps.notes == ()
    assert "Android 8.1.0 (sdk 27), root=yes, container=redroid" in caps.summary()


def test_android_10_ndc_is_binder_even_without_the_socket_check():
    device = device_81()
    device.responses["getprop"] = ok(GETPROP_81.replace("[27]", "[29]").replace("[8.1.0]", "[10]"))
    device.responses["ls /dev/socket/netd"] = (1, "", "ls: /dev/socket/netd: No such file or directory\n")
    caps = probe(device)
    assert caps.ndc_mode == "binder" and not caps.netd_socket


def test_android_44_legacy_tools_and_interface_from_the_list():
    device = ScriptedDevice({
        "getprop": ok("[ro.build.version.release]: [4.4.4]\n[ro.build.version.sdk]: [19]\n"),
        COMMAND_V: (1, paths("ifconfig", "netcfg", "route", "ndc", "ping", "dumpsys"), ""),
        "ifconfig lo": ok(IFCONFIG_TOOLBOX_LO),
        "ls /dev/socket/netd": ok("/dev/socket/netd\n"),
        "dumpsys ethernet": ok("Can't find service: ethernet\n"),
        "netcfg": ok(NETCFG_44),
        "cat /proc/1/cgroup": ok("1:cpu:/\n"),
    }, root=False)
    caps = probe(device)
    assert caps.ifconfig_style == "toolbox" and caps.ndc_mode == "text" and not caps.root
    assert not caps.ethernet_service and caps.interface == "eth0" and caps.interface_source == "interface list"
    assert caps.container is None and not caps.netd_networks


def test_given_interface_wins_and_the_cache_is_per_device():
    device = device_81()
    first = capabilities(device, interface="eth1")
    assert first.interface == "eth1" and first.interface_source == "given"
    calls = len(device.calls)
    assert capabilities(device) is first and len(device.calls) == calls
    assert capabilities(device, refresh=True) is not first


def test_docker_container_from_cgroup_and_missing_ethernet():
    device = ScriptedDevice({
        "getprop": ok("[ro.build.version.release]: [11]\n[ro.build.version.sdk]: [30]\n"),
        COMMAND_V: (1, paths("ip"), ""),
        "ip addr show": ok("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n"),
        "cat /proc/1/cgroup": ok("12:pids:/docker/4f3c2a\n"),
    })
    caps = probe(device)
    assert caps.container == "docker" and caps.interface is None
    assert caps.notes == ("no interface named like eth<N>: give the Ethernet interface in the device profile",)


def test_missing_netd_socket_before_10_is_a_note_not_binder():
    device = device_81()
    device.responses["ls /dev/socket/netd"] = (1, "", "ls: /dev/socket/netd: No such file or directory\n")
    caps = probe(device)
    assert caps.ndc_mode == "text" and not caps.netd_socket
    assert caps.notes == ("/dev/socket/netd is missing on Android 8.1.0: netd may not be running "
                          "(ndc will fail to connect)",)


def test_unknown_release_falls_back_to_the_socket():
    device = device_81()
    device.responses["getprop"] = ok("[ro.product.name]: [x]\n")
    assert probe(device).ndc_mode == "text"
    device.responses["ls /dev/socket/netd"] = (1, "", "")
    assert probe(device).ndc_mode == "binder"
