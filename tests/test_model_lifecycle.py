"""The boot and its services: processes, properties, init's start/stop/kill rules, framework
restarts, and the 4.4 and 11 personalities."""

from __future__ import annotations

import re

import pytest

from harness.sim.android.kernel import RT_TABLE_MAIN
from harness.sim.profile import PROFILE_DIR, load_sim_profile
from harness.yamlcheck import ConfigError
from model_helpers import BUGGY, EBUSY_LINE, boot, outcome, profile, records, run_tool
from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice


class RecordingTransport:
    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self.scheduler: Scheduler | None = None

    def drop_all(self) -> None:
        self.events.append((self.scheduler.now(), "drop"))

    def set_listening(self, listening: bool) -> None:
        self.events.append((self.scheduler.now(), f"listen={listening}"))


def test_boot_sequence_processes_and_properties():
    scheduler = Scheduler(realtime=False, epoch=0.0)
    device = VirtualDevice(profile(BUGGY), index=0, scheduler=scheduler)
    transport = RecordingTransport()
    transport.scheduler = scheduler
    device.transport = transport
    scheduler.run_until(1.4)
    assert device.props.get("sys.boot_completed") == ""
    scheduler.run_until(3.0)
    assert device.props.get("sys.boot_completed") == "1" and device.props.get("dev.bootcomplete") == "1"
    assert (0.3, "listen=True") in [(round(t, 3), e) for t, e in transport.events]
    procs = {p.name: p for p in device.processes.all()}
    assert procs["init"].pid == 1 and procs["netd"].pid == 125 and procs["system_server"].pid == 248
    assert procs["system_server"].threads["ConnectivityServiceThread"] == 319
    assert procs["netd"].threads["CommandListener"] == 143
    assert device.props.get("init.svc.netd") == "running" and device.props.get("init.svc.zygote") == "running"
    assert device.props.get("net.dns1") == "8.8.8.8"


def test_pids_are_stable_across_boots_and_container_restarts():
    device = boot(BUGGY, 3)
    first = [(r.pid, r.tid, r.tag) for r in records(device) if r.tag == "ConnectivityService"][:1]
    device.restart_container(0.5)
    device.scheduler.run_until(device.scheduler.now() + 5.0)
    again = [(r.pid, r.tid, r.tag) for r in records(device) if r.tag == "ConnectivityService"][:1]
    assert first == again == [(248, 248, "ConnectivityService")]
    assert device.boot_count == 2
    ndc = run_tool(device, ["dumpsys", "network_management"])[1]
    assert re.search(r" - SND -> \{1 interface list\}$", ndc, re.M)     # a new system_server counts from 1


def test_stop_without_argument_stops_netd_and_start_brings_the_network_back():
    device = boot(BUGGY, 0)
    android = device.android
    assert android.stop_service() is True
    assert android.system_server is None and android.netd is None
    assert device.props.get("init.svc.netd") == "stopped"
    assert run_tool(device, ["dumpsys", "connectivity"])[2] == "Can't find service: connectivity\n"
    assert android.start_service() is True
    device.scheduler.run_until(device.scheduler.now() + 5.0)
    assert device.processes.find("system_server").pid != 248
    assert outcome(device).network_up


def test_stop_zygote_keeps_netd_networks_and_the_next_cs_meets_them():
    device = next(d for d in (boot(BUGGY, i) for i in range(20))
                  if outcome(d).network_up and outcome(d).default_net_id != 100)
    android = device.android
    old = outcome(device).default_net_id
    mark = android.logd.last_seq
    android.stop_service("zygote")
    assert android.netd.networks[old].interfaces == {"eth0"}     # netd keeps its state
    android.start_service("zygote")
    device.scheduler.run_until(device.scheduler.now() + 5.0)
    new_lines = [r for r in android.logd.records(("system",), mark) if EBUSY_LINE.search(r.message)]
    assert new_lines, "the new ConnectivityService allocates netId 100 again and meets eth0 in the old network"
    match = EBUSY_LINE.search(new_lines[0].message)
    assert match.group(2) == "100" and int(match.group(1)) < 30     # sequence numbers restarted
    assert android.netd.iface_net("eth0") == old


def test_killing_system_server_restarts_zygote_and_netd():
    device = boot(BUGGY, 0)
    android = device.android
    assert android.kill_process(248, 9) is True
    assert android.system_server is None
    assert device.processes.find("netd").pid != 125       # onrestart restart netd
    device.scheduler.run_until(device.scheduler.now() + 6.0)
    assert device.processes.find("system_server") is not None
    assert outcome(device).network_up


def test_unknown_services_and_processes():
    device = boot(BUGGY, 0, until=0.5)
    android = device.android
    assert android.start_service("nope") is False and android.stop_service("nope") is False
    assert android.kill_process(99999, 9) is False
    assert android.kill_process(1, 9) is True and device.processes.get(1) is not None


def test_android_11_uses_binder_and_never_races():
    results = [outcome(boot("sim-android-11", i)) for i in range(60)]
    assert all(r.network_up and not r.ebusy_lines for r in results)
    device = boot("sim-android-11", 0)
    out = run_tool(device, ["dumpsys", "network_management"])[1]
    assert "NativeDaemonConnector" not in out and out.startswith("Bandwidth control enabled: false\n")
    assert any(r.message.startswith("[100 ETHERNET] EVENT_NETWORK_INFO_CHANGED, going from CONNECTING to CONNECTED")
               for r in records(device))


def test_android_11_framework_restart_reports_ebusy_in_binder_form():
    device = next(d for d in (boot("sim-android-11", i) for i in range(20))
                  if outcome(d).default_net_id != 100)
    android = device.android
    mark = android.logd.last_seq
    android.stop_service("zygote")
    android.start_service("zygote")
    device.scheduler.run_until(device.scheduler.now() + 5.0)
    errors = [r.message for r in android.logd.records(("system",), mark) if r.letter == "E"]
    assert ("Exception adding interface: android.os.ServiceSpecificException: "
            "Device or resource busy (code 16)") in errors


def test_android_44_runs_dhcpcd_and_has_no_netd_networks():
    device = boot("sim-android-4.4", 0, until=4.0)
    props = device.props
    assert props.get("dhcp.eth0.result") == "ok" and props.get("dhcp.eth0.ipaddress") == "172.17.0.2"
    assert props.get("dhcp.eth0.gateway") == "172.17.0.1" and props.get("dhcp.eth0.dns1") == "8.8.8.8"
    assert props.get("net.dns1") == "8.8.8.8" and props.get("init.svc.dhcpcd_eth0") == "running"
    assert device.android.netd.networks == {}
    assert any(r.gateway is not None for r in device.android.kernel.table(RT_TABLE_MAIN))
    messages = [r.message for r in records(device)]
    assert "eth0: adding default route via 172.17.0.1" in messages
    assert "ConnectivityChange for ETHERNET: CONNECTED/CONNECTED" in messages


def test_profile_sim_section_is_validated_with_file_and_line(tmp_path):
    text = tmp_path / "p.yaml"
    base = (PROFILE_DIR / "sim-android-11.yaml").read_text()
    text.write_text(base.replace("  clock_scale: 1.0\n", "  clock_scale: 1.0\n  dhcp_ms: 3\n"))
    with pytest.raises(ConfigError, match=r"p\.yaml:\d+:\d+: sim\.dhcp_ms: unknown key"):
        load_sim_profile(str(text))
    text.write_text(base.replace("  clock_scale: 1.0\n", "  clock_scale: 1.0\n  timing:\n"
                                 "    dhcp_ms: {fixed: 3, median: 4, sigma: 1}\n"))
    with pytest.raises(ConfigError, match=r"sim\.timing\.dhcp_ms: .*exactly one of"):
        load_sim_profile(str(text))
    for name in ("sim-android-8.1-buggy", "sim-android-8.1-fixed", "sim-android-11", "sim-android-4.4"):
        assert load_sim_profile(name).name == name


def test_stop_zygote_when_netd_holds_network_100_gives_eexist_and_no_cs_network():
    device = next(d for d in (boot(BUGGY, i) for i in range(40)) if outcome(d).default_net_id == 100)
    android = device.android
    mark = android.logd.last_seq
    android.stop_service("zygote")
    android.start_service("zygote")
    device.scheduler.run_until(device.scheduler.now() + 5.0)
    errors = [r.message for r in android.logd.records(("system",), mark) if r.letter == "E"]
    assert any(re.fullmatch(r"Error creating network 100: command '(\d+) network create 100' failed with "
                            r"'400 \1 createPhysicalNetwork\(\) failed \(File exists\)'", e) for e in errors)
    assert android.system_server.cs.default_network() is None      # CS never connects it...
    assert android.netd.default_net_id == 100                       # ...while netd still routes
    assert run_tool(device, ["dumpsys", "connectivity"])[1].count("Active default network: none") == 1


def test_killing_netd_on_10_plus_restarts_the_framework_too():
    device = boot("sim-android-11", 0)
    android = device.android
    assert android.kill_process(125, 9) is True
    assert android.system_server is None and android.netd is None
    device.scheduler.run_until(device.scheduler.now() + 6.0)
    assert device.processes.find("netd").pid != 125
    assert outcome(device).network_up


def test_a_dead_system_server_sends_nothing_more_to_netd():
    """Its IpManagers die with it: an old one's pending stopAllIP() never reaches netd."""
    for index in range(40):
        device = boot(BUGGY, index, until=1.05)
        android = device.android
        stopping = [l for l in android.loopers if l.thread.startswith("IpManager") and l.queue]
        if not stopping:
            continue
        mark = android.logd.last_seq
        android.stop_service("zygote")
        device.scheduler.run_until(3.0)
        assert not [r for r in android.logd.records(("main",), mark) if r.tag == "CommandListener"]
        assert not [l for l in android.loopers if l.process == "system_server"]
        return
    raise AssertionError("no boot had an IpManager with queued work at 1.05 s")
