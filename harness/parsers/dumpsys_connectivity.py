"""`dumpsys connectivity`: the default network and the networks ConnectivityService tracks.

Interpreted: `NetworkFactories for:` (<= 11) / `NetworkProviders for:` (12+), `Active default
network: <netId|none>` and the `Current Networks:` section, whose `NetworkAgentInfo{...}` lines are
read in every rendering (5.x `network{null} validated{..}`, 8.x `nethandle{..} everValidated{..}`,
12+ `handle{..} ni{ETHERNET CONNECTED ..} Score(..) firstValidated <ms> lastValidated <ms>`).
Other sections are listed by name only; lines of interpreted sections that match nothing are
returned as unparsed.
"""

from __future__ import annotations

import dataclasses
import re

from harness.parsers.base import Line, ParseResult, parse_int, split_lines
from harness.parsers.dumpsys_common import (LinkPropertiesValue, NetworkInfoValue, Section, capabilities,
                                            is_dumpsys_error, link_properties, network_info, split_sections,
                                            transports)

_DEFAULT = re.compile(r"^Active default network: (?P<v>\S+)\s*$")
_NAI = re.compile(r"^\s*NetworkAgentInfo\s*\{")
_NET_ID = re.compile(r"network\{(?P<v>\d+|null)\}")
_NI = re.compile(r"ni\{(?P<v>.*?)\}\s")
_LP = re.compile(r"lp\{(?P<v>\{.*?\})\}")
_NC = re.compile(r"nc\{(?P<v>\[.*?\])\}")
_OLD_SCORE = re.compile(r"Score\{(?P<v>-?\d+)\}")
_BOOL_FIELD = r"\b{name}(?:\{{(?P<flag>true|false)\}}|\s+(?P<ms>\d+))"
_REQUESTS = re.compile(r"Requests: REQUEST:(?P<req>\d+) LISTEN:(?P<listen>\d+)(?: BACKGROUND_REQUEST:(?P<bg>\d+))?"
                       r" total:(?P<total>\d+)")
_FACTORY_ITEM = re.compile(r"^\s+(?:\d+:\s*)?(?P<name>\S.*?)\s*$")


def _flag(name: str, text: str) -> bool | None:
    """`name{true}` (<= 11) or `name <ms>` (12+, printed only when set)."""
    m = re.search(_BOOL_FIELD.format(name=name), text)
    if m:
        return m["flag"] == "true" if m["flag"] else True
    return None


@dataclasses.dataclass(frozen=True)
class ConnectivityNetwork:
    line: int
    net_id: int | None  # None for `network{null}` (not yet created, 5.x)
    info: NetworkInfoValue | None = None
    link: LinkPropertiesValue | None = None
    transports: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()
    score: int | None = None
    ever_validated: bool | None = None
    last_validated: bool | None = None
    lingering: bool | None = None
    requests_total: int | None = None

    @property
    def interface(self) -> str | None:
        return self.link.interface if self.link else None

    @property
    def validated(self) -> bool:
        return bool(self.last_validated) or "VALIDATED" in self.capabilities

    @property
    def connected(self) -> bool:
        return self.info is not None and self.info.connected


@dataclasses.dataclass(frozen=True)
class SectionName:
    name: str
    line: int


@dataclasses.dataclass(frozen=True)
class DumpsysConnectivityResult(ParseResult):
    default_net_id: int | None = None
    default_network_line: int | None = None  # None when the dump has no such line at all
    networks: tuple[ConnectivityNetwork, ...] = ()
    factories: tuple[str, ...] = ()
    sections: tuple[SectionName, ...] = ()
    errors: tuple[str, ...] = ()

    def network(self, net_id: int) -> ConnectivityNetwork | None:
        return next((n for n in self.networks if n.net_id == net_id), None)

    @property
    def default_network(self) -> ConnectivityNetwork | None:
        return self.network(self.default_net_id) if self.default_net_id is not None else None

    def on_interface(self, interface: str) -> tuple[ConnectivityNetwork, ...]:
        return tuple(n for n in self.networks if n.interface == interface)

    def summary_lines(self) -> list[str]:
        out = [f"default network: {self.default_net_id if self.default_net_id is not None else 'none'}"]
        for n in self.networks:
            state = n.info.state if n.info else "-"
            addrs = ",".join(str(a) for a in n.link.addresses) if n.link else "-"
            out.append(f"network {n.net_id}: {','.join(sorted(n.transports)) or '-'} {n.interface or '-'} "
                       f"{state} validated={n.validated} addresses={addrs or '-'}")
        if self.factories:
            out.append("factories: " + ", ".join(self.factories))
        out.extend(f"error: {e}" for e in self.errors)
        return out


def _network(line: Line) -> ConnectivityNetwork:
    text = line.text
    net_id = _NET_ID.search(text)
    ni = _NI.search(text)
    lp = _LP.search(text)
    nc = _NC.search(text)
    nc_text = nc["v"] if nc else text
    score = _OLD_SCORE.search(text)
    ever = _flag("everValidated", text)
    if ever is None:
        ever = _flag("firstValidated", text)
    last = _flag("lastValidated", text)
    if last is None:
        last = _flag("validated", text)
    if last is None and "Score(" in text:
        # 12+ prints the lastValidated/firstValidated times only when set.
        last, ever = "IS_VALIDATED" in text, bool(ever)
    lingering = _flag("lingering", text)
    if lingering is None and "Score(" in text:
        lingering = " lingering" in text
    return ConnectivityNetwork(
        line=line.number, net_id=parse_int(net_id["v"]) if net_id else None,
        info=network_info(ni["v"]) if ni else None, link=link_properties(lp["v"] if lp else text),
        transports=transports(nc_text), capabilities=capabilities(nc_text),
        score=parse_int(score["v"]) if score else None, ever_validated=ever, last_validated=last,
        lingering=lingering)


def _current_networks(section: Section, unparsed: list[Line]) -> list[ConnectivityNetwork]:
    """NAI lines, each followed by deeper-indented detail lines (requests, lingering, clat...)."""
    networks: list[ConnectivityNetwork] = []
    nai_indent: int | None = None
    for line in section.body:
        if not line.text.strip():
            continue
        indent = len(line.text) - len(line.text.lstrip())
        if _NAI.match(line.text):
            networks.append(_network(line))
            nai_indent = indent
        elif networks and nai_indent is not None and indent > nai_indent:
            if m := _REQUESTS.search(line.text):
                networks[-1] = dataclasses.replace(networks[-1], requests_total=int(m["total"]))
        else:
            unparsed.append(line)
    return networks


def parse_dumpsys_connectivity(text: str | bytes | None) -> DumpsysConnectivityResult:
    lines = split_lines(text)
    preamble, sections = split_sections(lines)
    unparsed: list[Line] = [line for line in preamble if line.text.strip()]
    errors: list[str] = []
    default_net_id: int | None = None
    default_line: int | None = None
    networks: list[ConnectivityNetwork] = []
    factories: list[str] = []
    names: list[SectionName] = []
    for section in sections:
        header = section.header.text
        names.append(SectionName(section.name, section.header.number))
        if is_dumpsys_error(header):
            errors.append(header.strip())
        elif m := _DEFAULT.match(header):
            default_line = section.header.number
            default_net_id = parse_int(m["v"])  # "none" -> None
        elif header.startswith(("NetworkFactories for:", "NetworkProviders for:")):
            inline = header.split(":", 1)[1].split()
            factories.extend(inline)
            factories.extend(m["name"] for line in section.body if (m := _FACTORY_ITEM.match(line.text)))
        elif header.startswith("Current Networks:"):
            networks.extend(_current_networks(section, unparsed))
    return DumpsysConnectivityResult(
        default_net_id=default_net_id, default_network_line=default_line, networks=tuple(networks),
        factories=tuple(factories), sections=tuple(names), errors=tuple(errors), unparsed=tuple(unparsed))
