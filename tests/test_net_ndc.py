"""The ndc client on recorded replies (android-net.md §1.3-§1.4, §4.5)."""

from __future__ import annotations

import pytest

from harness.net.errors import InvalidNetValue, NdcError, NdcUnavailable
from harness.net.ndc import Ndc
from harness.parsers.ndc import ReplyClass
from test_net_fakes import ScriptedDevice, caps_81, ok, with_caps


def device(responses, root=True, **caps):
    return with_caps(ScriptedDevice(responses, root=root), caps_81(**caps))


def test_success_reply():
    d = device({"ndc network create 101": ok("200 0 success\n")})
    reply = Ndc(d).network_create(101)
    assert (reply.code, reply.seq, reply.message, reply.kind) == (200, 0, "success", ReplyClass.OK)


def test_double_add_raises_ebusy_with_code_400():
    d = device({"ndc network interface add 101 eth0":
                ok("400 0 addInterfaceToNetwork() failed (Device or resource busy)\n")})
    with pytest.raises(NdcError) as info:
        Ndc(d).interface_add(101, "eth0")
    err = info.value
    assert err.code == 400 and err.reply.errno_text == "Device or resource busy"
    assert err.reply.kind is ReplyClass.SERVER_ERROR
    assert err.evidence.command == "ndc network interface add 101 eth0"
    assert "400 0 addInterfaceToNetwork() failed (Device or resource busy)" in str(err)
    assert err.failure_class == "product"


def test_check_false_returns_the_error_reply():
    d = device({"ndc network route add 101 eth0 0.0.0.0/0 172.17.0.1":
                ok("400 0 addRoute() failed (No such file or directory)\n")})
    reply = Ndc(d).send("network", "route", "add", 101, "eth0", "0.0.0.0/0", "172.17.0.1", check=False)
    assert reply.code == 400 and reply.errno_text == "No such file or directory"


def test_syntax_error_is_5xx():
    d = device({"ndc bogus": ok("500 0 Command not recognized\n")})
    with pytest.raises(NdcError) as info:
        Ndc(d).send("bogus")
    assert info.value.code == 500


def test_interface_list_reads_the_110_lines():
    d = device({"ndc interface list": ok("110 0 lo\n110 0 eth0\n200 0 Interface list completed\n")})
    assert Ndc(d).list_interfaces() == ("lo", "eth0")


def test_route_add_default_and_nexthop():
    d = device({"ndc network route add 100 eth0 0.0.0.0/0 172.17.0.1": ok("200 0 success\n")})
    assert Ndc(d).route_add(100, "eth0", "default", "172.17.0.1").code == 200


def test_not_root_is_said_before_anything_is_sent():
    d = device({}, root=False)
    with pytest.raises(NdcUnavailable, match=r"ndc needs root.*/dev/socket/netd is root:system 0660.*device.root\(\)"):
        Ndc(d).default_clear()
    assert d.calls == []
    binder = device({}, root=False, ndc_mode="binder")
    with pytest.raises(NdcUnavailable, match="binder service is root-only"):
        Ndc(binder).default_clear()


def test_connect_error_is_unavailable():
    d = device({"ndc network default clear": (4, "", "Error connecting (Permission denied)\n")})
    with pytest.raises(NdcUnavailable, match=r"Error connecting \(Permission denied\)"):
        Ndc(d).default_clear()


def test_missing_ndc():
    d = device({}, tools={"ip": "/system/bin/ip"})
    with pytest.raises(NdcUnavailable, match="no ndc"):
        Ndc(d).default_clear()


def test_words_are_validated():
    d = device({})
    with pytest.raises(InvalidNetValue):
        Ndc(d).send("network", "create", "101; reboot")
    with pytest.raises(InvalidNetValue, match="netId"):
        Ndc(d).network_destroy(0)
    with pytest.raises(InvalidNetValue, match="permission"):
        Ndc(d).network_create(101, "ROOT")
    assert d.calls == []
