"""`ndc` output: netd reply lines `<code> <seq> <message>` (unsolicited `6xx <message>`).

Codes are classified as NativeDaemonEvent does: 1xx continue, 2xx ok, 4xx server error
(the operation failed, e.g. `400 0 addInterfaceToNetwork() failed (Device or resource busy)`),
5xx client error (syntax/parameters), 6xx unsolicited. A reply ends at its first 2xx-5xx line.
Client-side messages (`Error connecting (...)`, `Usage: ...`, `[Connected to Netd]`) are
returned in `notices`. NUL separators (raw socket captures) split replies too; line numbers stay those of the input.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re

from harness.parsers.base import Line, ParseResult, normalize_mac, parse_int, parse_ip, split_lines

_REPLY = re.compile(r"^(?P<code>\d{3})(?: (?P<seq>\d+))?(?: (?P<message>.*))?$")
# A trailing "(strerror)" that sendMsg(..., addErrno=true) appends.
_ERRNO_SUFFIX = re.compile(r"^(?P<text>.*?) \((?P<errno>[^()]*)\)$")
_NOTICE = re.compile(r"^(?:\[Connected to Netd\]|Error connecting.*|Lost connection to Netd.*|Usage: .*ndc.*"
                     r"|argument with embedded quotes not allowed.*|Unable to get binder service.*"
                     r"|/system/bin/sh: ndc: .*|.*ndc: (?:inaccessible or )?not found)$")


class ReplyClass(enum.Enum):
    CONTINUE = "continue"  # 100-199
    OK = "ok"  # 200-299
    SERVER_ERROR = "server_error"  # 400-499: the operation failed
    CLIENT_ERROR = "client_error"  # 500-599: bad command or arguments
    UNSOLICITED = "unsolicited"  # 600-699
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, code: int) -> ReplyClass:
        return {1: cls.CONTINUE, 2: cls.OK, 4: cls.SERVER_ERROR, 5: cls.CLIENT_ERROR,
                6: cls.UNSOLICITED}.get(code // 100, cls.UNKNOWN)


@dataclasses.dataclass(frozen=True)
class NdcReply:
    line: int
    code: int
    seq: int | None  # None for unsolicited broadcasts and replies sent before the seq was known
    message: str
    kind: ReplyClass
    errno_text: str | None = None  # "Device or resource busy" from "... failed (Device or resource busy)"

    @property
    def is_final(self) -> bool:
        return self.kind in (ReplyClass.OK, ReplyClass.SERVER_ERROR, ReplyClass.CLIENT_ERROR)

    @property
    def raw(self) -> str:
        return " ".join(str(p) for p in (self.code, self.seq, self.message) if p not in (None, ""))


@dataclasses.dataclass(frozen=True)
class InterfaceConfig:
    """The `213 <seq> <mac> <ipv4> <prefixlen> <flags...>` reply of `interface getcfg`."""

    mac: str | None
    address: ipaddress.IPv4Interface | None
    flags: frozenset[str]

    @property
    def is_up(self) -> bool:
        return "up" in self.flags


def _interface_config(message: str) -> InterfaceConfig | None:
    tokens = message.split()
    if len(tokens) < 3:
        return None
    addr, plen = parse_ip(tokens[1]), parse_int(tokens[2])
    address = None
    if isinstance(addr, ipaddress.IPv4Address) and plen is not None and 0 <= plen <= 32:
        address = ipaddress.IPv4Interface(f"{addr}/{plen}")
    return InterfaceConfig(mac=normalize_mac(tokens[0]), address=address, flags=frozenset(tokens[3:]))


@dataclasses.dataclass(frozen=True)
class NdcResult(ParseResult):
    replies: tuple[NdcReply, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def final(self) -> NdcReply | None:
        """The reply that ended the (first) command: its first 2xx-5xx line."""
        return next((r for r in self.replies if r.is_final), None)

    @property
    def ok(self) -> bool:
        return self.final is not None and self.final.kind is ReplyClass.OK

    @property
    def continuations(self) -> tuple[NdcReply, ...]:
        return tuple(r for r in self.replies if r.kind is ReplyClass.CONTINUE)

    @property
    def interface_names(self) -> tuple[str, ...]:
        """`interface list`: the names in its `110` lines."""
        return tuple(r.message for r in self.replies if r.code == 110)

    @property
    def interface_config(self) -> InterfaceConfig | None:
        """`interface getcfg <if>`: its `213` line, typed."""
        reply = next((r for r in self.replies if r.code == 213), None)
        return _interface_config(reply.message) if reply else None

    @property
    def unsolicited(self) -> tuple[NdcReply, ...]:
        return tuple(r for r in self.replies if r.kind is ReplyClass.UNSOLICITED)

    def summary_lines(self) -> list[str]:
        out = [f"{r.code} [{r.kind.value}] seq={r.seq if r.seq is not None else '-'} {r.message}"
               + (f"  (errno: {r.errno_text})" if r.errno_text else "") for r in self.replies]
        out.extend(f"notice: {n}" for n in self.notices)
        final = self.final
        out.append(f"result: {final.kind.value if final else 'no final reply'}")
        return out


def _reply(line: Line, m: re.Match[str]) -> NdcReply:
    code = int(m["code"])
    kind = ReplyClass.of(code)
    seq, message = m["seq"], m["message"] or ""
    if kind is ReplyClass.UNSOLICITED and seq is not None:
        # Broadcasts carry no sequence number; a leading number belongs to the message.
        message, seq = f"{seq} {message}".strip(), None
    errno = _ERRNO_SUFFIX.match(message) if kind in (ReplyClass.SERVER_ERROR, ReplyClass.CLIENT_ERROR) else None
    return NdcReply(line=line.number, code=code, seq=int(seq) if seq is not None else None, message=message,
                    kind=kind, errno_text=errno["errno"] if errno else None)


def _reply_lines(text: str | bytes | None) -> list[Line]:
    """Input lines split further at NULs (each netd reply ends in one); numbers stay the input's."""
    return [Line(line.number, part) for line in split_lines(text) for part in line.text.split("\0")]


def parse_ndc(text: str | bytes | None) -> NdcResult:
    replies: list[NdcReply] = []
    notices: list[str] = []
    unparsed: list[Line] = []
    for line in _reply_lines(text):
        stripped = line.text.strip()
        if not stripped:
            continue
        if m := _REPLY.match(stripped):
            replies.append(_reply(line, m))
        elif _NOTICE.match(stripped):
            notices.append(stripped)
        else:
            unparsed.append(line)
    return NdcResult(replies=tuple(replies), notices=tuple(notices), unparsed=tuple(unparsed))
