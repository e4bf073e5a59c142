"""Errors of harness.net, placed in the harness taxonomy (harness/errors.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.errors import BadConfiguration, CommandFailed, CommandTimeout, FailureClass, HarnessError, RootUnavailable

if TYPE_CHECKING:
    from harness.net.connectivity import Verdict
    from harness.parsers.ndc import NdcReply


class InvalidNetValue(BadConfiguration, ValueError):
    """A value for a device command (interface, address, property...) was refused before any shell saw it."""


class ToolUnavailable(BadConfiguration):
    """The device has no tool for this job (e.g. `ip rule` on a device without `ip`)."""


class NetCommandFailed(CommandFailed):
    """A network command exited non-zero or printed an error; evidence holds its output."""


class NdcUnavailable(RootUnavailable):
    """ndc cannot be used here: missing, or not root (netd's socket and binder need root)."""


class NdcError(HarnessError):
    """netd answered a command with a 4xx (operation failed) or 5xx (syntax/parameter) reply."""
    failure_class = FailureClass.PRODUCT

    def __init__(self, message: str, evidence: Any = None, *, reply: NdcReply | None = None, **fields: Any) -> None:
        super().__init__(message, evidence, **fields)
        self.reply = reply
        self.code = reply.code if reply is not None else None

    def with_evidence(self, **fields: Any) -> NdcError:
        return type(self)(self.message, self.evidence, reply=self.reply, **fields)


class RestoreFailed(HarnessError):
    """The harness could not put the device back as it found it: later tests may see its changes."""
    failure_class = FailureClass.INFRASTRUCTURE


class NetworkTimeout(CommandTimeout):
    """No working network within the timeout; `.verdict` is the last layered check."""

    def __init__(self, message: str, evidence: Any = None, *, verdict: Verdict | None = None, **fields: Any) -> None:
        super().__init__(message, evidence, **fields)
        self.verdict = verdict

    def with_evidence(self, **fields: Any) -> NetworkTimeout:
        return type(self)(self.message, self.evidence, verdict=self.verdict, **fields)

    def __str__(self) -> str:
        text = super().__str__()
        return text if self.verdict is None else text + "\n" + self.verdict.render()
