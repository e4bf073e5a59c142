"""InterfaceControl's journal and restore against a small stateful model of eth0 (no device)."""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field

import pytest

from harness.device import CommandResult
from harness.net.errors import InvalidNetValue, NetCommandFailed, RestoreFailed
from harness.net.iface import InterfaceControl
from test_net_fakes import caps_81, with_caps


@dataclass
class ModelEth0:
    """eth0 as `ip`, `getprop` and `setprop` see it. Like the kernel, taking the link down drops its
    static routes, and removing the addresses drops the routes through a gateway."""

    serial: str = "model-1"
    up: bool = True
    addresses: list[str] = field(default_factory=lambda: ["172.17.0.2/16"])
    static_routes: list[str] = field(default_factory=lambda: ["default via 172.17.0.1 dev eth0"])
    props: dict[str, str] = field(default_factory=lambda: {"net.dns1": "8.8.8.8", "net.dns2": ""})
    calls: list[str] = field(default_factory=list)
    refuse: str | None = None              # a command prefix that fails like a non-root shell

    def __hash__(self) -> int:
        return id(self)

    def is_root(self, timeout=None) -> bool:
        return True

    def run(self, cmd: str, timeout=None, check=False) -> CommandResult:
        self.calls.append(cmd)
        out, err, status = "", "", 0
        for part in cmd.split("; "):
            o, e, status = self._one(shlex.split(part))
            out, err = out + o, err + e
        return CommandResult(cmd, status, out, err, 0.0, self.serial)

    def _one(self, argv: list[str]) -> tuple[str, str, int]:
        line = " ".join(argv)
        if self.refuse and line.startswith(self.refuse):
            return "", "RTNETLINK answers: Operation not permitted\n", 2
        match argv:
            case ["ip", "addr", "show", "dev", "eth0"]:
                return self._render(), "", 0
            case ["ip", "link", "set", "dev", "eth0", state]:
                self.up = state == "up"
                if not self.up:
                    self.static_routes.clear()
                return "", "", 0
            case ["ip", "-4", "addr", "flush", "dev", "eth0"]:
                self.addresses.clear()
                self.static_routes[:] = [r for r in self.static_routes if " via " not in r]
                return "", "", 0
            case ["ip", "addr", "add", address, "brd", "+", "dev", "eth0"]:
                self.addresses.append(address)
                return "", "", 0
            case ["ip", "route", "show", "table", "main"]:
                kernel = [f"{ipaddress.IPv4Interface(a).network} dev eth0 proto kernel scope link "
                          f"src {ipaddress.IPv4Interface(a).ip}" for a in self.addresses] if self.up else []
                return "".join(r + " \n" for r in self.static_routes + kernel), "", 0
            case ["ip", "route", "add", *route]:
                text = " ".join(route)
                if text in self.static_routes:
                    return "", "RTNETLINK answers: File exists\n", 2
                self.static_routes.append(text)
                return "", "", 0
            case ["ip", "route", "del", *route]:
                self.static_routes.remove(" ".join(route))
                return "", "", 0
            case ["getprop"]:
                return "".join(f"[{k}]: [{v}]\n" for k, v in self.props.items()), "", 0
            case ["getprop", name]:
                return self.props.get(name, "") + "\n", "", 0
            case ["setprop", name, value]:
                self.props[name] = value
                return "", "", 0
            case ["sleep", _]:
                return "", "", 0
        return "", f"/system/bin/sh: {argv[0]}: not found\n", 127

    def _render(self) -> str:
        flags = "BROADCAST,MULTICAST,UP,LOWER_UP" if self.up else "BROADCAST,MULTICAST"
        text = f"4: eth0@if5: <{flags}> mtu 1500 qdisc noqueue state {'UP' if self.up else 'DOWN'} qlen 1000\n"
        text += "    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n"
        for a in self.addresses:
            text += f"    inet {a} scope global eth0\n       valid_lft forever preferred_lft forever\n"
        return text


def control(model: ModelEth0 | None = None, **kw) -> tuple[ModelEth0, InterfaceControl]:
    model = model or ModelEth0()
    with_caps(model, caps_81())  # type: ignore[arg-type]
    return model, InterfaceControl(model, "eth0", verify_timeout=0, **kw)  # type: ignore[arg-type]


def test_down_up_and_restore_puts_the_dropped_route_back():
    model, eth0 = control()
    eth0.down()
    assert not model.up and model.static_routes == []
    eth0.restore()
    assert model.up and model.static_routes == ["default via 172.17.0.1 dev eth0"]
    assert eth0.journal == []
    assert "ip route add default via 172.17.0.1 dev eth0" in model.calls


def test_flap_is_one_command_and_restore_has_nothing_to_do_but_routes():
    model, eth0 = control()
    eth0.flap(count=3, down_s=0.5, up_s=1)
    flap = [c for c in model.calls if "sleep" in c]
    assert len(flap) == 1 and flap[0].count("ip link set dev eth0 down") == 3
    assert model.up and model.static_routes == []
    eth0.restore()
    assert model.static_routes == ["default via 172.17.0.1 dev eth0"]


def test_toggle_twice_and_context_manager_restore():
    model = ModelEth0()
    with control(model)[1] as eth0:
        assert eth0.toggle() is False and not model.up
        assert eth0.toggle() is True and model.up
    assert model.up and model.static_routes == ["default via 172.17.0.1 dev eth0"]


def test_static_configuration_and_restore_in_reverse_order():
    model, eth0 = control()
    eth0.set_address("10.0.0.9/24")
    assert model.static_routes == []             # the gateway is no longer on a connected network
    eth0.set_default_route("10.0.0.1")
    eth0.set_dns("1.1.1.1", "9.9.9.9")
    assert model.addresses == ["10.0.0.9/24"]
    assert model.static_routes == ["default via 10.0.0.1 dev eth0"]
    assert model.props == {"net.dns1": "1.1.1.1", "net.dns2": "9.9.9.9"}
    assert [e.kind for e in eth0.journal] == ["addresses", "routes", "property", "property"]
    eth0.restore()
    assert model.addresses == ["172.17.0.2/16"]
    assert model.static_routes == ["default via 172.17.0.1 dev eth0"]
    assert model.props == {"net.dns1": "8.8.8.8", "net.dns2": ""}
    undo = model.calls[model.calls.index("setprop net.dns2 9.9.9.9") + 1:]
    changes = [c for c in undo if c.startswith(("setprop", "ip route add", "ip route del", "ip -4"))]
    # Newest first; the flush takes 10.0.0.1's route with it, then the routes are settled.
    assert changes == ["setprop net.dns2 ''", "setprop net.dns1 8.8.8.8",
                       "ip -4 addr flush dev eth0; ip addr add 172.17.0.2/16 brd + dev eth0",
                       "ip route add default via 172.17.0.1 dev eth0"]


def test_one_dns_server_leaves_an_unset_second_slot_alone():
    model, eth0 = control(ModelEth0(props={"net.dns1": "8.8.8.8"}))
    eth0.set_dns("1.1.1.1")
    assert model.props == {"net.dns1": "1.1.1.1"}
    eth0.restore()
    assert model.props == {"net.dns1": "8.8.8.8"}


def test_restore_runs_even_when_the_test_body_fails():
    model = ModelEth0()
    with pytest.raises(ZeroDivisionError):
        with control(model)[1] as eth0:
            eth0.down()
            1 / 0
    assert model.up


def test_a_refused_change_is_an_error_with_evidence_and_still_restorable():
    model, eth0 = control(ModelEth0(refuse="ip addr add"))
    with pytest.raises(NetCommandFailed) as info:
        eth0.set_address("10.0.0.9/24")
    assert info.value.evidence.stderr == "RTNETLINK answers: Operation not permitted\n"
    assert model.addresses == []                 # the flush went through: the journal has it
    model.refuse = None
    eth0.restore()
    assert model.addresses == ["172.17.0.2/16"]
    assert model.static_routes == ["default via 172.17.0.1 dev eth0"]


def test_replaced_default_route_is_deleted_and_the_old_one_put_back():
    model, eth0 = control()
    eth0.set_default_route("172.17.0.254")
    assert model.static_routes == ["default via 172.17.0.254 dev eth0"]
    eth0.restore()
    assert model.static_routes == ["default via 172.17.0.1 dev eth0"]
    changes = [c for c in model.calls if c.startswith(("ip route add", "ip route del"))]
    assert changes == ["ip route del default via 172.17.0.1 dev eth0", "ip route add default via 172.17.0.254 dev eth0",
                       "ip route del default via 172.17.0.254 dev eth0", "ip route add default via 172.17.0.1 dev eth0"]


def test_a_route_that_cannot_come_back_is_reported_after_retries():
    model, eth0 = control()
    eth0.down()
    model.refuse = "ip route add"
    with pytest.raises(RestoreFailed, match="routes not restored: add default via 172.17.0.1 dev eth0: "
                                            "RTNETLINK answers: Operation not permitted"):
        eth0.restore()
    assert model.up


def test_restore_failure_names_what_differs():
    model, eth0 = control()
    eth0.set_dns("1.1.1.1")
    model.refuse = "setprop"
    with pytest.raises(RestoreFailed) as info:
        eth0.restore()
    assert str(info.value).startswith("eth0 on model-1 was not fully restored: undo \"setprop net.dns1 '1.1.1.1'\": "
                                      "`setprop net.dns1 8.8.8.8` failed on model-1; net.dns1='1.1.1.1', was '8.8.8.8'")


def test_values_are_validated_before_any_command():
    model, eth0 = control()
    calls = len(model.calls)
    with pytest.raises(InvalidNetValue):
        eth0.set_address("10.0.0.9")
    with pytest.raises(InvalidNetValue):
        eth0.set_default_route("10.0.0.1; reboot")
    with pytest.raises(InvalidNetValue):
        eth0.set_dns("dns.google")
    with pytest.raises(InvalidNetValue):
        InterfaceControl(model, "eth0; reboot")  # type: ignore[arg-type]
    assert len(model.calls) == calls and eth0.journal == []
