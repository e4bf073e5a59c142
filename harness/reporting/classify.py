"""Failure labels for reports: a known regression, the harness's failure class, a worker crash,
or the exception's type.

The worker labels the exception it saw (`label_exception`), since only it has the exception
object; the controller adds what may only be known later: the known-regression labelling that
the device plugin applies to the report (`KNOWN <signature-id>: ...`, user property `signature`).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import pytest

from harness.errors import HarnessError

LABEL_ATTRIBUTE = "harness_failure_label"   # set on failed reports by the worker; JSON-safe, so it crosses xdist
FAILURE_CLASS_PROPERTY = "failure_class"    # user property (JUnit) for HarnessErrors
SIGNATURE_PROPERTY = "signature"            # user property set by the known-regression labelling
WORKER_CRASH = "worker crash"

_KNOWN = re.compile(r"^(?:[\w.]+: )?KNOWN (?P<id>[a-z0-9][a-z0-9-]*):")
_CRASH = re.compile(r"^worker '(?P<worker>[^']+)' crashed while running '(?P<nodeid>.+)'$", re.DOTALL)
_EXCEPTION_TYPE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*(?P<name>[A-Za-z_]\w*)(?::|$)")


def label_exception(exc: BaseException) -> str:
    """The harness's failure class for its own errors (`device-lost`), else the type name."""
    if isinstance(exc, HarnessError):
        return str(exc.failure_class)
    return type(exc).__name__


def failure_message(report: pytest.TestReport) -> str:
    """The one-line failure text: `ExcType: message` for an exception, the text otherwise."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr or "")


def is_worker_crash(report: pytest.TestReport) -> bool:
    """The controller's report for a test whose xdist worker died under it."""
    return report.failed and isinstance(report.longrepr, str) and bool(_CRASH.match(report.longrepr))


def known_signature(report: pytest.TestReport, properties: Mapping[str, Any]) -> str | None:
    if (signature := properties.get(SIGNATURE_PROPERTY)):
        return str(signature)
    match = _KNOWN.match(failure_message(report))
    return match["id"] if match else None


def failure_label(report: pytest.TestReport, properties: Mapping[str, Any]) -> str:
    """`KNOWN <id>`, `worker crash`, a failure class such as `device-lost`, or an exception type."""
    if (signature := known_signature(report, properties)):
        return f"KNOWN {signature}"
    if is_worker_crash(report):
        return WORKER_CRASH
    if (label := getattr(report, LABEL_ATTRIBUTE, None)):
        return str(label)
    match = _EXCEPTION_TYPE.match(failure_message(report))
    return match["name"] if match else "unknown"


def origin(report: pytest.TestReport) -> tuple[str, str | None]:
    """(test id, xdist worker id or None): one run of one test, also under `--dist each`.

    Reports forwarded by xdist carry `worker_id`; its own crash report carries the worker's node.
    """
    worker = getattr(report, "worker_id", None)
    if worker is None:
        workerinput = getattr(getattr(report, "node", None), "workerinput", None)
        worker = workerinput.get("workerid") if isinstance(workerinput, dict) else None
    return report.nodeid, worker
