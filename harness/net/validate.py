"""Validation and quoting of every value that reaches a device shell from harness.net.

Values are checked against what Android accepts (interface names, IPv4 addresses, property
names, netd words) and then quoted with shlex.quote when the command line is built, so a
value like "eth0; reboot" is refused with a clear message and could not run even if it
slipped through.
"""

from __future__ import annotations

import ipaddress
import re
import shlex

from harness.net.errors import InvalidNetValue

IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")       # Linux IFNAMSIZ, no shell syntax
PROP_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,90}$")
PROP_VALUE_RE = re.compile(r"^[A-Za-z0-9 ._:/+,=@-]{0,91}$")
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")
NDC_WORD_RE = re.compile(r"^[A-Za-z0-9_.:/@,+-]{1,64}$")       # no spaces, quotes or NUL: ndc framing


def interface_name(value: object) -> str:
    if not isinstance(value, str) or not IFNAME_RE.fullmatch(value):
        raise InvalidNetValue(
            f"interface name {value!r} is invalid: expected 1-15 characters, a letter first, "
            "then letters, digits, '_', '.' or '-' (like eth0)")
    return value


def ipv4_address(value: object, what: str = "IPv4 address") -> str:
    if not isinstance(value, (str, ipaddress.IPv4Address)):
        raise InvalidNetValue(f"{what} {value!r} is invalid: expected a dotted IPv4 address like 172.17.0.1")
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise InvalidNetValue(f"{what} {value!r} is invalid: expected a dotted IPv4 address like 172.17.0.1") from None


def ipv4_interface(value: object) -> ipaddress.IPv4Interface:
    """An address with its prefix, like 172.17.0.2/16 (a bare address is refused: no guessing)."""
    if isinstance(value, ipaddress.IPv4Interface):
        return value
    if not isinstance(value, str) or "/" not in value:
        raise InvalidNetValue(f"address {value!r} is invalid: expected an IPv4 address with prefix like 172.17.0.2/16")
    try:
        iface = ipaddress.IPv4Interface(value)
    except ValueError:
        raise InvalidNetValue(f"address {value!r} is invalid: expected an IPv4 address with prefix like 172.17.0.2/16") from None
    if not 1 <= iface.network.prefixlen <= 32:
        raise InvalidNetValue(f"address {value!r} is invalid: prefix length must be 1-32")
    return iface


def ipv4_destination(value: object) -> str:
    """A route destination: `default` or an IPv4 network like 172.17.0.0/16."""
    if value == "default":
        return "default"
    try:
        return str(ipaddress.IPv4Network(value, strict=True))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise InvalidNetValue(f"route destination {value!r} is invalid: expected 'default' or a network like 172.17.0.0/16") from None


def hostname_or_ipv4(value: object) -> str:
    if isinstance(value, str) and (HOSTNAME_RE.fullmatch(value) or _is_ipv4(value)):
        return value
    raise InvalidNetValue(f"ping target {value!r} is invalid: expected an IPv4 address or a host name like www.google.com")


def prop_name(value: object) -> str:
    if not isinstance(value, str) or not PROP_NAME_RE.fullmatch(value):
        raise InvalidNetValue(f"property name {value!r} is invalid: expected letters, digits, '_', '.', '-' (like net.dns1)")
    return value


def prop_value(value: object) -> str:
    if not isinstance(value, str) or not PROP_VALUE_RE.fullmatch(value):
        raise InvalidNetValue(f"property value {value!r} is invalid: expected at most 91 characters of "
                              "letters, digits, space and ._:/+,=@-")
    return value


def ndc_word(value: object) -> str:
    """One ndc argument: netd splits on spaces and ndc refuses embedded quotes."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not NDC_WORD_RE.fullmatch(text):
        raise InvalidNetValue(f"ndc argument {value!r} is invalid: expected one word of letters, digits and ._:/@,+-")
    return text


def net_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidNetValue(f"netId {value!r} is invalid: expected an integer 1-65535")
    return value


def seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
        raise InvalidNetValue(f"{what} {value!r} is invalid: expected a number of seconds between 0 and 3600")
    return float(value)


def shell_line(*words: object) -> str:
    """One shell command from words, every word quoted (validated values stay readable)."""
    return " ".join(shlex.quote(str(w)) for w in words)


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True
