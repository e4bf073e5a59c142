"""match_profile: a discovered device (its getprop listing and serial) picks the most specific
shipped profile; ties are a configuration error, never a guess."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import BadConfiguration
from harness.profiles import load_profile, load_profiles, match_profile

SHIPPED = [p for p in load_profiles() if not p.name.startswith("sim-")]


def props(**values: str) -> dict[str, str]:
    return {name.replace("_", "."): value for name, value in values.items()}


def sdk(level: int, **more: str) -> dict[str, str]:
    return {"ro.build.version.sdk": str(level), **props(**more)}


@pytest.mark.parametrize("serial, device_props, expected", [
    ("192.168.1.20:5555", sdk(27, ro_product_brand="redroid", ro_product_model="redroid8_x86_64"), "redroid-8.1"),
    ("127.0.0.1:5555", sdk(27, ro_product_brand="ReDroid", ro_product_model="ReDroid 8.1.0"), "redroid-8.1"),
    ("127.0.0.1:5556", sdk(30, ro_product_brand="redroid"), "redroid-11"),
    ("emulator-5554", sdk(30, ro_kernel_qemu="1", ro_hardware="ranchu"), "emulator"),
    ("emulator-5556", sdk(25, ro_kernel_qemu="1", ro_hardware="goldfish"), "emulator"),
    ("0123456789ABCDEF", sdk(28, ro_product_brand="acme"), "generic-android"),
    ("10.0.0.7:5555", sdk(19, ro_product_brand="amlogic"), "box-android-4.4"),
    # an unknown redroid version: no redroid profile fits, the generic one does
    ("127.0.0.1:5555", sdk(33, ro_product_brand="redroid"), "generic-android"),
])
def test_shipped_profiles_pick_the_most_specific(serial, device_props, expected):
    profile = match_profile(device_props, serial, SHIPPED)
    assert profile is not None and profile.name == expected


@pytest.mark.parametrize("serial, device_props", [
    ("emulator-5554", sdk(21, ro_kernel_qemu="1", ro_hardware="ranchu")),     # 5.0: below every range
    ("serial", {}),                                                            # props unreadable
    ("serial", {"ro.build.version.sdk": "twenty"}),
])
def test_no_profile_fits(serial, device_props):
    assert match_profile(device_props, serial, SHIPPED) is None


def test_redroid_by_usb_serial_does_not_match_the_container_profile():
    # redroid is reached with adb connect HOST:PORT; a USB serial with the brand is something else
    profile = match_profile(sdk(27, ro_product_brand="redroid"), "0123456789", SHIPPED)
    assert profile is not None and profile.name == "generic-android"


def test_sim_profiles_are_chosen_by_name_only():
    sim = load_profile("sim-android-8.1-buggy")
    assert sim.match_score(sdk(27, ro_product_brand="redroid"), "127.0.0.1:40000") is None


def _profile(tmp_path: Path, name: str, body: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nkind: generic\n" + textwrap.dedent(body))
    return load_profile(path)


def test_serial_globs_and_regexes(tmp_path):
    lab = _profile(tmp_path, "lab", """\
        match:
          serial: ["lab-*"]
          serial_regex: ['^10\\.1\\.\\d+\\.\\d+:5555$']
        android: {sdk: {min: 23}}
        """)
    assert lab.match_score(sdk(29), "lab-7") == 2
    assert lab.match_score(sdk(29), "10.1.2.3:5555") == 2
    assert lab.match_score(sdk(29), "10.2.2.3:5555") is None
    assert lab.match_score(sdk(29), "LAB-7") is None          # globs are case-sensitive, like serials
    assert lab.match_score(sdk(22), "lab-7") is None          # below the sdk range


def test_equal_matches_are_a_configuration_error(tmp_path):
    a = _profile(tmp_path, "a", "match: {props: {ro.product.model: box}}\nandroid: {sdk: 19}\n")
    b = _profile(tmp_path, "b", "match: {props: {ro.product.brand: acme}}\nandroid: {sdk: {min: 19, max: 19}}\n")
    with pytest.raises(BadConfiguration, match=r"device s1 matches profiles a, b equally well"):
        match_profile(sdk(19, ro_product_model="box", ro_product_brand="acme"), "s1", [a, b])
    assert match_profile(sdk(19, ro_product_model="box"), "s1", [a, b]) is a
