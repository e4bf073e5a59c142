"""What every parser shares: line splitting, kept-but-unparsed lines, and JSON-ready export.

Parsers are pure and total: they take whatever text a device printed (or bytes, or nothing),
never raise, and return what they understood plus the lines they did not, with line numbers.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

Text = str | bytes | None

# ANSI colour codes (`logcat -v color`, coloured `ls`/`ip -c`) carry no data.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclasses.dataclass(frozen=True)
class Line:
    """One input line: 1-based number and text without its line ending."""

    number: int
    text: str



def as_text(data: Text) -> str:
    """Text from whatever a transport handed over; undecodable bytes become U+FFFD, not errors."""
    if data is None:
        return ""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data).decode("utf-8", errors="replace")
    return str(data)


def split_lines(data: Text) -> list[Line]:
    """Lines split on '\\n' only (str.splitlines would also split on form feeds and the like
    inside log messages), stripped of trailing '\\r' (pty output; old Windows adb made '\\r\\r\\n')
    and of colour codes."""
    text = as_text(data)
    if not text:
        return []
    raw = text.split("\n")
    if raw[-1] == "":
        raw.pop()
    return [Line(n, _ANSI_ESCAPE.sub("", s.rstrip("\r"))) for n, s in enumerate(raw, start=1)]


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping for fields of frozen results."""
    return MappingProxyType(dict(items or {}))


def parse_int(text: str | None, base: int = 10) -> int | None:
    if text is None:
        return None
    try:
        return int(text, base)
    except ValueError:
        return None


def parse_hex(text: str | None) -> int | None:
    """'0x1ffff', '1ffff' and iproute2's bare '0' all read as hex."""
    if text is None:
        return None
    return parse_int(text[2:] if text.lower().startswith("0x") else text, 16)


def parse_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, ignoring a '%scope' suffix and Java's leading '/' (InetAddress.toString)."""
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.lstrip("/").split("%", 1)[0])
    except ValueError:
        return None


def parse_ip_interface(text: str | None) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    if not text:
        return None
    try:
        return ipaddress.ip_interface(text.lstrip("/"))
    except ValueError:
        return None


def parse_network(text: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not text:
        return None
    try:
        return ipaddress.ip_network(text.lstrip("/"), strict=False)
    except ValueError:
        return None


_MAC = re.compile(r"^[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){5}$")


def normalize_mac(text: str | None) -> str | None:
    """'40:8B:F6:96:1:FE' -> '40:8b:f6:96:01:fe'; None when it is not a 6-byte MAC."""
    if not text or not _MAC.match(text):
        return None
    return ":".join(part.rjust(2, "0") for part in text.lower().split(":"))


def to_jsonable(value: Any) -> Any:
    """Dataclasses, ipaddress objects, sets, enums and mappings as plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
                          ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class ParseResult:
    """Base of every parser result. Subclasses add their typed fields and a summary."""

    # Keyword-only so subclasses may declare fields without defaults.
    unparsed: tuple[Line, ...] = dataclasses.field(default=(), kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        data = to_jsonable(self)
        data["unparsed"] = data.pop("unparsed")  # data first, leftovers last
        return data

    def summary_lines(self) -> list[str]:
        """Readable lines for humans; subclasses describe their data."""
        return []

    def summary(self) -> str:
        lines = self.summary_lines()
        if self.unparsed:
            lines.append(f"unparsed lines: {len(self.unparsed)}")
            lines.extend(f"  {u.number}: {u.text}" for u in self.unparsed[:20])
            if len(self.unparsed) > 20:
                lines.append(f"  ... {len(self.unparsed) - 20} more")
        return "\n".join(lines)
