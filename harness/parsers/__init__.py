"""Pure parsers: device text in, typed frozen results out (never an exception).

Each module parses one kind of output; `PARSERS` maps the kind names the CLI accepts
(`harness parse KIND FILE`) to their functions. This package imports nothing else of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from harness.parsers.base import ParseResult, Text
from harness.parsers.dumpsys_connectivity import parse_dumpsys_connectivity
from harness.parsers.dumpsys_ethernet import parse_dumpsys_ethernet
from harness.parsers.getprop import parse_getprop
from harness.parsers.ifconfig import parse_ifconfig
from harness.parsers.ip import parse_ip_addr, parse_ip_link, parse_ip_route, parse_ip_rule
from harness.parsers.logcat import parse_logcat
from harness.parsers.ndc import parse_ndc
from harness.parsers.netcfg import parse_netcfg
from harness.parsers.ping import parse_ping

Parser = Callable[[Text], ParseResult]

PARSERS: Mapping[str, Parser] = MappingProxyType({
    "ifconfig": parse_ifconfig,
    "netcfg": parse_netcfg,
    "ip-addr": parse_ip_addr,
    "ip-link": parse_ip_link,
    "ip-route": parse_ip_route,
    "ip-rule": parse_ip_rule,
    "ping": parse_ping,
    "getprop": parse_getprop,
    "ndc": parse_ndc,
    "logcat": parse_logcat,
    "dumpsys-connectivity": parse_dumpsys_connectivity,
    "dumpsys-ethernet": parse_dumpsys_ethernet,
})


def parser_for(kind: str) -> Parser | None:
    """The parser of a kind name; `ip_route` and `IP-ROUTE` are accepted for `ip-route`."""
    return PARSERS.get(kind.strip().lower().replace("_", "-"))
