"""`getprop` listing: `[key]: [value]` a property, in the order getprop prints them.

A value may contain newlines; it then runs until a line ending in `]`. A value left open at the
end of input (truncated output) or interrupted by the next `[key]: [` line is kept as unparsed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from harness.parsers.base import Line, ParseResult, frozen_map, split_lines

_COMPLETE = re.compile(r"^\[(?P<key>[^\[\]]*)\]: \[(?P<value>.*)\]$")
_OPEN = re.compile(r"^\[(?P<key>[^\[\]]*)\]: \[(?P<value>.*)$")


@dataclasses.dataclass(frozen=True)
class GetpropResult(ParseResult):
    properties: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.properties.get(key, default)

    def summary_lines(self) -> list[str]:
        return [f"{k} = {v!r}" for k, v in self.properties.items()]


def parse_getprop(text: str | bytes | None) -> GetpropResult:
    properties: dict[str, str] = {}
    unparsed: list[Line] = []
    open_key: str | None = None
    open_lines: list[Line] = []  # the raw lines of the open value, kept in case it never closes
    open_parts: list[str] = []

    for line in split_lines(text):
        # Tools that log getprop output indent it; property keys never start with blanks.
        head = line.text.lstrip()
        if open_key is not None:
            if _OPEN.match(head):  # the next property began: the open value was cut short
                unparsed.extend(open_lines)
                open_key = None
            else:
                open_lines.append(line)
                open_parts.append(line.text)
                if line.text.endswith("]"):
                    properties[open_key] = "\n".join(open_parts)[:-1]
                    open_key = None
                continue
        if m := _COMPLETE.match(head):
            properties[m["key"]] = m["value"]
        elif m := _OPEN.match(head):
            open_key, open_lines, open_parts = m["key"], [line], [m["value"]]
        elif line.text.strip():
            unparsed.append(line)
    if open_key is not None:
        unparsed.extend(open_lines)
    return GetpropResult(properties=frozen_map(properties), unparsed=tuple(unparsed))
