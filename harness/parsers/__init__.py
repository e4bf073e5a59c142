"""Pure parsers: device text in, typed frozen results out (never an exception).

Each module parses one kind of output; `PARSERS` maps the kind names the CLI accepts
(`harness parse KIND FILE`) to their functions. This package imports nothing else of the project.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping

from harness.parsers.base import ParseResult, Text

Parser = Callable[[Text], ParseResult]

# kind -> (module, function). Modules load on first use: a caller that needs one parser (triage
# needs logcat) does not pay for importing the other eleven.
_LOCATIONS: dict[str, tuple[str, str]] = {
    "ifconfig": ("ifconfig", "parse_ifconfig"),
    "netcfg": ("netcfg", "parse_netcfg"),
    "ip-addr": ("ip", "parse_ip_addr"),
    "ip-link": ("ip", "parse_ip_link"),
    "ip-route": ("ip", "parse_ip_route"),
    "ip-rule": ("ip", "parse_ip_rule"),
    "ping": ("ping", "parse_ping"),
    "getprop": ("getprop", "parse_getprop"),
    "ndc": ("ndc", "parse_ndc"),
    "logcat": ("logcat", "parse_logcat"),
    "dumpsys-connectivity": ("dumpsys_connectivity", "parse_dumpsys_connectivity"),
    "dumpsys-ethernet": ("dumpsys_ethernet", "parse_dumpsys_ethernet"),
}


class _LazyParsers(Mapping[str, Parser]):
    def __getitem__(self, kind: str) -> Parser:
        module, function = _LOCATIONS[kind]
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)

    def __iter__(self) -> Iterator[str]:
        return iter(_LOCATIONS)

    def __len__(self) -> int:
        return len(_LOCATIONS)


PARSERS: Mapping[str, Parser] = _LazyParsers()


def parser_for(kind: str) -> Parser | None:
    """The parser of a kind name; `ip_route` and `IP-ROUTE` are accepted for `ip-route`."""
    return PARSERS.get(kind.strip().lower().replace("_", "-"))
