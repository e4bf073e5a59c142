"""`@pytest.mark.requires(...)`: what a test needs from the device, checked against what was probed.

    @pytest.mark.requires(root=True, tool="ndc", netd_networks=True)
    @pytest.mark.requires(android=">=8,<10", container=True)

Arguments are checked when the test is collected (`parse_requires`): an unknown name, a value of
the wrong type or a bad version range is a usage error that names the test, so a typo never turns
into a silently skipped test. At setup the parsed requirements are compared with the device's
`DeviceFacts` (`unmet`); every unmet one gives a reason, and the test is skipped with all of them.

Requirements: root (a root shell: adb root or su), container (the harness can restart the device
as a container: docker/podman from its profile, or the virtual device's control channel),
android (a release range), tool (on the device's PATH), netd_networks (Android 5.0+ per-network
rules and tables), ndc ("text" socket or "binder"), ethernet (an Ethernet interface was found),
ethernet_service (`dumpsys ethernet` answers: the framework manages the interface), restart
("container", "framework" or "reboot" can be done). A boolean requirement also works negated:
`requires(netd_networks=False)` runs only on devices without netd networks (before Android 5.0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.logs.versions import VersionSpec, parse_version
from harness.net.capabilities import DeviceCapabilities

RESTART_KINDS = ("container", "framework", "reboot")
NDC_MODES = ("text", "binder")


class RequiresError(ValueError):
    """A malformed `requires` marker; the message names the test and what was expected."""


@dataclass(frozen=True)
class DeviceFacts:
    """What `requires` is evaluated against: the probed capabilities, and the restart kinds the
    harness can use on this device (kind -> method, e.g. container -> docker) with, for each kind
    it cannot use, the reason."""

    caps: DeviceCapabilities
    restarts: Mapping[str, str] = field(default_factory=dict)
    restart_problems: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Requirement:
    expected: str                                      # for usage errors: what a value looks like
    parse: Callable[[Any], Any]                        # raises ValueError/TypeError on a bad value
    unmet: Callable[[DeviceFacts, Any], str | None]    # why the device does not satisfy it


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not True or False")
    return value


def _tools(value: Any) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError("not a tool name or a list of them")
    return tuple(names)


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError("not one of the choices")
        return value
    return parse


def _version_spec(value: Any) -> VersionSpec:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return VersionSpec.parse(value)


def _flag(name: str, has: Callable[[DeviceFacts], bool], without: str, with_: str) -> _Requirement:
    """A yes/no capability: the reason says what the device has (or lacks) instead; the texts
    may name {release} and {sdk}."""
    def unmet(facts: DeviceFacts, wanted: bool) -> str | None:
        if has(facts) == wanted:
            return None
        why = (without if wanted else with_).format(release=facts.caps.release, sdk=facts.caps.sdk)
        return f"requires {name}={wanted}: {why}"
    return _Requirement("True or False", _boolean, unmet)


def _unmet_root(facts: DeviceFacts, wanted: bool) -> str | None:
    if facts.caps.root == wanted:
        return None
    return ("requires root: the device gives no root shell (adb root refused, no working su)" if wanted
            else "requires root=False: the shell is root on this device")


def _unmet_android(facts: DeviceFacts, spec: VersionSpec) -> str | None:
    try:
        version = parse_version(facts.caps.release)
    except ValueError:
        return f"requires android {spec}: the device's release {facts.caps.release!r} is unknown"
    if spec.contains(version):
        return None
    return f"requires android {spec}: the device runs Android {facts.caps.release} (sdk {facts.caps.sdk})"


def _unmet_tool(facts: DeviceFacts, names: tuple[str, ...]) -> str | None:
    missing = [n for n in names if not facts.caps.has(n)]
    if not missing:
        return None
    have = ", ".join(facts.caps.tools) or "none"
    return f"requires tool {', '.join(missing)}: not on this device (Android {facts.caps.release}; has {have})"


def _unmet_ndc(facts: DeviceFacts, mode: str) -> str | None:
    if facts.caps.has("ndc") and facts.caps.ndc_mode == mode:
        return None
    found = f"ndc talks to netd over {facts.caps.ndc_mode}" if facts.caps.has("ndc") else "the device has no ndc"
    return f"requires ndc={mode!r}: {found} (Android {facts.caps.release})"


def _unmet_restart(facts: DeviceFacts, kind: str) -> str | None:
    if kind in facts.restarts:
        return None
    return f"requires restart={kind!r}: {facts.restart_problems.get(kind, 'not available on this device')}"


def _unmet_container(facts: DeviceFacts, wanted: bool) -> str | None:
    if ("container" in facts.restarts) == wanted:
        return None
    if wanted:
        return f"requires container=True: {facts.restart_problems.get('container', 'not a container')}"
    return f"requires container=False: the device is a container ({facts.restarts['container']})"


REQUIREMENTS: dict[str, _Requirement] = {
    "root": _Requirement("True or False", _boolean, _unmet_root),
    "container": _Requirement("True or False", _boolean, _unmet_container),
    "android": _Requirement("a version range like '>=8,<10' or '==11'", _version_spec, _unmet_android),
    "tool": _Requirement("a tool name like 'ndc' or a list of them", _tools, _unmet_tool),
    "netd_networks": _flag(
        "netd_networks", lambda f: f.caps.netd_networks,
        "netd keeps per-network rules and tables only from Android 5.0; the device runs "
        "{release} (sdk {sdk})", "the device's netd has per-network rules and tables"),
    "ndc": _Requirement(f"one of {', '.join(map(repr, NDC_MODES))}", _choice(NDC_MODES), _unmet_ndc),
    "ethernet": _flag("ethernet", lambda f: f.caps.interface is not None,
                      "no Ethernet interface found (name it in the device profile: network.interface)",
                      "the device has an Ethernet interface"),
    "ethernet_service": _flag("ethernet_service", lambda f: f.caps.ethernet_service,
                              "`dumpsys ethernet` does not answer on this device",
                              "the Ethernet service manages the interface (its IpManager/IpClient "
                              "replaces what a shell configures)"),
    "restart": _Requirement(f"one of {', '.join(map(repr, RESTART_KINDS))}", _choice(RESTART_KINDS),
                            _unmet_restart),
}


def parse_requires(args: tuple[Any, ...], kwargs: Mapping[str, Any], test: str) -> dict[str, Any]:
    """The requirements of one `requires` marker, parsed; RequiresError naming `test` otherwise."""
    where = f"{test}: @pytest.mark.requires"
    if args:
        raise RequiresError(f"{where}: takes keyword arguments only (like root=True, tool='ndc'), "
                            f"got positional {args!r}")
    if not kwargs:
        raise RequiresError(f"{where}: names no requirement; known: {', '.join(REQUIREMENTS)}")
    parsed: dict[str, Any] = {}
    for name, value in kwargs.items():
        requirement = REQUIREMENTS.get(name)
        if requirement is None:
            raise RequiresError(f"{where}: unknown requirement {name!r}; known: {', '.join(REQUIREMENTS)}")
        try:
            parsed[name] = requirement.parse(value)
        except (TypeError, ValueError):
            raise RequiresError(f"{where}({name}=...): expected {requirement.expected}, got {value!r}") from None
    return parsed


def unmet(requirements: Mapping[str, Any], facts: DeviceFacts) -> list[str]:
    """Why the device does not meet the requirements (empty: it does)."""
    reasons = (REQUIREMENTS[name].unmet(facts, value) for name, value in requirements.items())
    return [reason for reason in reasons if reason is not None]
