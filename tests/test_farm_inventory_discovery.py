"""Discovery (harness.farm.inventory) on virtual devices behind two real adb servers, and what
`harness devices` prints about them."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from farm_helpers import CLOCK_SCALE, FIXED_PROFILE, clean_env

from harness.adb_server import AdbServer
from harness.farm.inventory import Inventory, discover, parse_devices_l
from harness.farm.lease import LeaseLog, LeasePool
from harness.farm.spec import load_farm
from harness.sim.farm import SimFarm

CAPABILITIES = ("adb-root", "ip", "ifconfig", "route", "ndc(text)", "ping", "dumpsys", "su", "ethernet(eth0)",
                "ethernet-service", "container(redroid)")


@pytest.fixture(scope="module")
def lab():
    with SimFarm(FIXED_PROFILE, count=3, clock_scale=CLOCK_SCALE) as farm, \
            AdbServer.start() as host_a, AdbServer.start() as host_b:
        yield farm, host_a, host_b


def refused_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"       # nothing listens there once closed


def farm_file(tmp_path: Path, lab, extra: str = "", rules: str | None = None) -> Path:
    farm, host_a, host_b = lab
    s = farm.serials
    path = tmp_path / "farm.yaml"
    path.write_text(f"""\
name: discovery
adb_servers:
  - {{name: host-a, address: "{host_a.address}"}}
  - {{name: host-b, address: "{host_b.address}"}}
tcp_devices:
  - {{address: "{s[0]}", server: host-a, container: {{host: sims}}}}
  - {{address: "{s[1]}", server: host-b}}
  - {{address: "{s[2]}", server: host-b}}
container_hosts:
  - {{name: sims, runtime: sim, control: "127.0.0.1:{farm.control_port}"}}
profiles:
{rules if rules is not None else f'  - {{profile: {FIXED_PROFILE}, serial: ["127.0.0.1:*"]}}'}
leases: {{dir: "{tmp_path / 'leases'}"}}
{extra}""")
    return path


def test_devices_of_both_servers_with_profile_build_and_capabilities(tmp_path, lab):
    farm, host_a, host_b = lab
    inventory = discover(load_farm(farm_file(tmp_path, lab)))
    assert inventory.problems == ()
    by_serial = {d.serial: d for d in inventory.devices}
    assert set(by_serial) == set(farm.serials)
    first = by_serial[farm.serials[0]]
    assert (first.server, first.state, first.model, first.release, first.sdk, first.profile) == \
        (host_a.address, "device", "redroid8_x86_64", "8.1.0", 27, FIXED_PROFILE)
    assert first.capabilities == CAPABILITIES and first.usable
    assert (first.container.runtime, first.container.control) == ("sim", f"127.0.0.1:{farm.control_port}")
    assert by_serial[farm.serials[1]].server == host_b.address and by_serial[farm.serials[1]].container is None
    assert [u.name for u in inventory.units()] == [d.id for d in inventory.devices]
    assert Inventory.from_json(inventory.to_json()) == inventory


def test_profiles_by_properties_then_by_the_profiles_own_match_sections(tmp_path, lab):
    farm = lab[0]
    rules = f'  - {{profile: sim-android-11, props: {{ro.product.model: "no-such-model"}}}}\n' \
            f'  - {{profile: {FIXED_PROFILE}, serial: ["{farm.serials[0]}"], props: {{ro.build.version.sdk: "27"}}}}'
    inventory = discover(load_farm(farm_file(tmp_path, lab, rules=rules)))
    profiles = {d.serial: d.profile for d in inventory.devices}
    assert profiles[farm.serials[0]] == FIXED_PROFILE
    # No rule fits the others: redroid-8.1 matches them (brand redroid, a host:port serial, sdk 27).
    assert profiles[farm.serials[1]] == profiles[farm.serials[2]] == "redroid-8.1"


def test_include_exclude_and_groups_decide_the_lease_units(tmp_path, lab):
    farm = lab[0]
    s = farm.serials
    extra = f'exclude: ["{s[0]}"]\ngroups:\n  - {{name: pair, devices: ["{s[1]}", "{s[2]}"]}}\n'
    inventory = discover(load_farm(farm_file(tmp_path, lab, extra)))
    excluded = next(d for d in inventory.devices if d.serial == s[0])
    assert excluded.excluded and not excluded.usable
    (pair,) = inventory.units()
    assert pair.name == "pair" and {d.serial for d in pair.devices} == {s[1], s[2]}
    only = discover(load_farm(farm_file(tmp_path, lab, f'include: ["{s[2]}"]\n')), probe=False)
    assert [u.devices[0].serial for u in only.units()] == [s[2]]


def test_a_device_that_refuses_and_a_server_that_is_gone_are_named(tmp_path, lab):
    farm, host_a, _ = lab
    missing, gone = refused_address(), refused_address()
    path = tmp_path / "farm.yaml"
    path.write_text(f"""\
adb_servers:
  - {{name: host-a, address: "{host_a.address}"}}
  - {{name: dead, address: "{gone}"}}
tcp_devices:
  - {{address: "{missing}", server: host-a}}
  - {{address: "{farm.serials[0]}", server: host-a}}
leases: {{dir: "{tmp_path / 'leases'}"}}
""")
    inventory = discover(load_farm(path), connect_timeout=1.0)
    assert f"host-a: adb connect {missing}: failed to connect to '{missing}': Connection refused" in inventory.problems
    assert any(p.startswith(f"adb server dead ({gone}) did not list its devices: ") for p in inventory.problems)
    absent = next(d for d in inventory.devices if d.serial == missing)
    assert (absent.state, absent.problem, absent.usable) == ("absent", "adb state absent", False)
    assert [u.devices[0].serial for u in inventory.units()] == [farm.serials[0]]


def test_devices_l_lines_with_padding_spaces_in_the_state_and_usb_paths():
    text = ("127.0.0.1:40321        device product:redroid_x86_64 model:redroid8_x86_64 device:redroid_x86_64 "
            "transport_id:1\n"
            "0123456789ABCDEF       no permissions (missing udev rules? user is in the plugdev group); see "
            "[http://developer.android.com/tools/device.html] usb:1-1 transport_id:2\n")
    (first, second) = parse_devices_l(text)
    assert first == ("127.0.0.1:40321", "device", {"product": "redroid_x86_64", "model": "redroid8_x86_64",
                                                   "device": "redroid_x86_64", "transport_id": "1"})
    assert second[0] == "0123456789ABCDEF" and second[1].startswith("no permissions (missing udev rules?")
    assert second[2] == {"usb": "1-1", "transport_id": "2"}


def test_harness_devices_prints_state_profile_lease_and_capabilities(tmp_path, lab):
    farm, host_a, host_b = lab
    path = farm_file(tmp_path, lab)
    inventory = discover(load_farm(path), probe=False)
    pool = LeasePool(tmp_path / "leases", inventory.units(), LeaseLog(tmp_path / "leases.jsonl", "run"))
    held = pool.acquire("gw3/4242", prefer=f"{farm.serials[1]}@{host_b.address}")
    try:
        done = subprocess.run([sys.executable, "-m", "harness.cli", "devices", "--farm", str(path)],
                              capture_output=True, text=True, timeout=120, env=clean_env())
    finally:
        held.release()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["SERIAL", "SERVER", "STATE", "MODEL", "RELEASE", "PROFILE", "LEASE", "CAPABILITIES"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[farm.serials[0]] == [farm.serials[0], host_a.address, "device", "redroid8_x86_64", "8.1.0",
                                     FIXED_PROFILE, "available", *CAPABILITIES]
    assert rows[farm.serials[1]][1] == host_b.address and rows[farm.serials[1]][6:9] == ["leased", "by", "gw3/4242"]


def test_harness_devices_with_a_bad_farm_file_names_the_line(tmp_path):
    path = tmp_path / "farm.yaml"
    path.write_text("adb_servers:\n  - {address: 5037}\n")
    done = subprocess.run([sys.executable, "-m", "harness.cli", "devices", "--farm", str(path)],
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert done.returncode == 2
    assert done.stderr == (f"harness devices: error: {path}:2:15: adb_servers.0.address: expected a string: put the "
                           "value in quotes in the YAML file (got '5037')\n")
