"""Recorded outputs and a scripted device for the harness.net unit tests (no tests here).

Outputs are the real formats of shared/reference/android-net.md: §4.3 `ip addr`, §1.6 `ip rule`
(healthy and after the race), §4.3 `ip route show table eth0` and its `table id value is
invalid` error, §4.6 ping, §4.1 netcfg, §4.2 ifconfig, §4.5 ndc, §3.4 dumpsys connectivity.
"""

from __future__ import annotations

import importlib

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.device import CommandResult
from harness.net.capabilities import DeviceCapabilities

DATA = Path(__file__).parent / "data" / "parsers"

IP_ADDR_HEALTHY = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
4: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0
       valid_lft forever preferred_lft forever
    inet6 fe80::42:acff:fe11:2/64 scope link 
       valid_lft forever preferred_lft forever
"""
IP_ADDR_ETH0 = "4: eth0" + IP_ADDR_HEALTHY.split("4: eth0", 1)[1]
IP_ADDR_ETH0_DOWN = """\
4: eth0@if5: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default qlen 1000
    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0
       valid_lft forever preferred_lft forever
"""
IP_ADDR_ETH0_NO_ADDRESS = """\
4: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet6 fe80::42:acff:fe11:2/64 scope link 
       valid_lft forever preferred_lft forever
"""

RULES_HEALTHY = """\
0:\tfrom all lookup local 
10000:\tfrom all fwmark 0xc0000/0xd0000 lookup legacy_system 
10500:\tfrom all oif eth0 uidrange 0-0 lookup eth0 
13000:\tfrom all fwmark 0x10063/0x1ffff lookup local_network 
13000:\tfrom all fwmark 0x10064/0x1ffff lookup eth0 
14000:\tfrom all oif eth0 lookup eth0 
15000:\tfrom all fwmark 0x0/0x10000 lookup legacy_system 
16000:\tfrom all fwmark 0x0/0x10000 lookup legacy_network 
17000:\tfrom all fwmark 0x0/0x10000 lookup local_network 
19000:\tfrom all fwmark 0x64/0x1ffff lookup eth0 
22000:\tfrom all fwmark 0x0/0xffff lookup eth0 
23000:\tfrom all fwmark 0x0/0xffff uidrange 0-0 lookup main 
32000:\tfrom all unreachable
"""
RULES_AFTER_RACE = "".join(line + "\n" for line in RULES_HEALTHY.splitlines()
                           if "eth0" not in line)
TABLE_ETH0 = "default via 172.17.0.1 dev eth0 proto static \n172.17.0.0/16 dev eth0 proto static scope link \n"
TABLE_INVALID = 'Error: argument "eth0" is wrong: table id value is invalid\n'
TABLE_MAIN = "172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \n"
RT_TABLES_HEALTHY = "255 local\n254 main\n97 local_network\n98 legacy_network\n99 legacy_system\n1004 eth0\n"
RT_TABLES_RACE = "255 local\n254 main\n97 local_network\n98 legacy_network\n99 legacy_system\n"

PING_OK = """\
PING {host} ({ip}) 56(84) bytes of data.
64 bytes from {ip}: icmp_seq=1 ttl=117 time=10.2 ms

--- {host} ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 10.213/10.213/10.213/0.000 ms
"""
PING_UNREACHABLE = "connect: Network is unreachable\n"
PING_UNKNOWN_HOST = "ping: unknown host {host}\n"

NETCFG_44 = """\
lo       UP                                   127.0.0.1/8   0x00000049 00:00:00:00:00:00
eth0     UP                                  172.17.0.2/16  0x00001043 02:42:ac:11:00:02
"""
IFCONFIG_TOYBOX_LO = """\
lo        Link encap:Local Loopback  
          inet addr:127.0.0.1  Mask:255.0.0.0 
          UP LOOPBACK RUNNING  MTU:65536  Metric:1
          RX packets:0 errors:0 dropped:0 overruns:0 frame:0 
          TX packets:0 errors:0 dropped:0 overruns:0 carrier:0 
          collisions:0 txqueuelen:1000 
          RX bytes:0 TX bytes:0 

"""
IFCONFIG_TOOLBOX_LO = "lo: ip 127.0.0.1 mask 255.0.0.0 flags [up loopback running]\n"

DUMPSYS_HEALTHY = (DATA / "dumpsys" / "connectivity_81_healthy.txt").read_text()
DUMPSYS_AFTER_RACE = (DATA / "dumpsys" / "connectivity_81_after_race.txt").read_text()
DUMPSYS_NO_DEFAULT = """\
NetworkFactories for: Ethernet

Active default network: none

Current Networks:

Network Requests:
"""

GETPROP_81 = """\
[dhcp.eth0.result]: [ok]
[net.dns1]: [8.8.8.8]
[net.dns2]: []
[ro.build.version.release]: [8.1.0]
[ro.build.version.sdk]: [27]
[ro.product.name]: [redroid_x86_64]
"""

Response = tuple[int, str, str]


@dataclass
class ScriptedDevice:
    """Answers each command from a table (exact command line, then the longest matching prefix);
    unknown commands get mksh's `not found` with status 127, as on a device without the tool."""

    responses: dict[str, Response | Callable[[str], Response]] = field(default_factory=dict)
    serial: str = "fake-1"
    root: bool = True
    calls: list[str] = field(default_factory=list)

    def __hash__(self) -> int:         # usable as a weak-dict key, like harness.device.Device
        return id(self)

    def run(self, cmd: str, timeout: float | None = None, check: bool = False) -> CommandResult:
        self.calls.append(cmd)
        answer = self.responses.get(cmd)
        if answer is None:
            prefixes = sorted((p for p in self.responses if cmd.startswith(p)), key=len, reverse=True)
            answer = self.responses[prefixes[0]] if prefixes else (
                127, "", f"/system/bin/sh: {cmd.split()[0]}: not found\n")
        status, out, err = answer(cmd) if callable(answer) else answer
        return CommandResult(cmd=cmd, exit_status=status, stdout=out, stderr=err, duration=0.01, serial=self.serial)

    def is_root(self, timeout: float | None = None) -> bool:
        return self.root


def ok(stdout: str = "") -> Response:
    return (0, stdout, "")


def ping_answers(replies: dict[str, Response]) -> Callable[[str], Response]:
    """A `ping -c 1 -W 1 <target>` responder: target -> response (default: a reply)."""
    def answer(cmd: str) -> Response:
        target = cmd.split()[-1]
        if target in replies:
            status, out, err = replies[target]
            return status, out.format(host=target, ip=target), err.format(host=target)
        ip = "142.250.74.68" if not target[0].isdigit() else target
        return 0, PING_OK.format(host=target, ip=ip), ""
    return answer


def caps_81(**changes: object) -> DeviceCapabilities:
    values: dict[str, object] = dict(
        serial="fake-1", release="8.1.0", sdk=27, root=True,
        tools={t: f"/system/bin/{t}" for t in ("ip", "ifconfig", "route", "ndc", "ping", "dumpsys")},
        ifconfig_style="toybox", ndc_mode="text", netd_socket=True, ethernet_service=True,
        interface="eth0", interface_source="given", container="redroid")
    values.update(changes)
    return DeviceCapabilities(**values)  # type: ignore[arg-type]


def caps_44(**changes: object) -> DeviceCapabilities:
    values: dict[str, object] = dict(
        serial="fake-1", release="4.4.4", sdk=19, root=True,
        tools={t: f"/system/bin/{t}" for t in ("ifconfig", "netcfg", "route", "ndc", "ping", "dumpsys")},
        ifconfig_style="toolbox", ndc_mode="text", netd_socket=True, interface="eth0", interface_source="given")
    values.update(changes)
    return DeviceCapabilities(**values)  # type: ignore[arg-type]


def with_caps(device: ScriptedDevice, caps: DeviceCapabilities) -> ScriptedDevice:
    """Seed the capability cache, as a probe would have."""
    # The module, not the package's `capabilities` function of the same name.
    importlib.import_module("harness.net.capabilities")._cache[device] = caps  # the tests stand in for the probe
    return device


def healthy_81(**overrides: Response | Callable[[str], Response]) -> ScriptedDevice:
    responses: dict[str, Response | Callable[[str], Response]] = {
        "ip addr show dev eth0": ok(IP_ADDR_ETH0),
        "ip addr show": ok(IP_ADDR_HEALTHY),
        "ip rule show": ok(RULES_HEALTHY),
        "ip route show table eth0": ok(TABLE_ETH0),
        "ip route show table main": ok(TABLE_MAIN),
        "ip route show table local": ok(""),
        "ip route show table local_network": ok(""),
        "ip route show table legacy_network": ok(""),
        "ip route show table legacy_system": ok(""),
        "cat /data/misc/net/rt_tables": ok(RT_TABLES_HEALTHY),
        "dumpsys connectivity": ok(DUMPSYS_HEALTHY),
        "getprop": ok(GETPROP_81),
        "ping ": ping_answers({}),
    }
    responses.update(overrides)
    return with_caps(ScriptedDevice(responses), caps_81())


def race_81() -> ScriptedDevice:
    """§2.7 end state: CS default 101 on eth0, netd has eth0 in no network."""
    return healthy_81(**{
        "ip rule show": ok(RULES_AFTER_RACE),
        "ip route show table eth0": (255, "", TABLE_INVALID),
        "cat /data/misc/net/rt_tables": ok(RT_TABLES_RACE),
        "dumpsys connectivity": ok(DUMPSYS_AFTER_RACE),
        "ping ": ping_answers({"172.17.0.1": (2, "", PING_UNREACHABLE), "8.8.8.8": (2, "", PING_UNREACHABLE),
                               "www.google.com": (2, "", PING_UNKNOWN_HOST)}),
    })
