"""The files Allure's report generator reads from the results directory besides the results:
`environment.properties`, `categories.json` and `executor.json`.

allure-pytest writes none of them. The controller writes them once, at the end of the session
(under xdist the workers' device facts have reached it by then), each atomically.

Categories (Allure 2: the first matching category wins, regexes must match the whole message):
the signature registry's known regressions first (harness.logs.categories, messages
`KNOWN <id>: ...`), then infrastructure problems recognised by the harness's error classes
(harness.errors, grouped by failure class) and by xdist's crash message.
"""

from __future__ import annotations

import importlib
import json
import platform
import socket
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest

from harness.errors import FailureClass, HarnessError
from harness.logs.categories import allure_categories
from harness.logs.signatures import Registry
from harness.reporting.devices import ReportedDevice
from harness.reporting.files import write_atomic

DISTRIBUTION = "android-net-harness"


def harness_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


# -- environment.properties ---------------------------------------------------------------------

def _escape(text: str, *, key: bool) -> str:
    """What java.util.Properties.load() (Allure 2's reader) needs escaped. Separators are escaped
    in keys only: load() reads them literally in a value, and so do the simple `key=value`
    readers of other tools, which would show `127.0.0.1\\:5555` for an escaped serial."""
    out = []
    for position, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char in "\t\n\r\f":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[char])
        elif (key and char in "=:#!") or (char == " " and (key or position == 0)):
            out.append("\\" + char)
        elif not " " <= char <= "~":
            units = char.encode("utf-16-be")      # \uXXXX per UTF-16 unit, as Properties.load expects
            out.append("".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2)))
        else:
            out.append(char)
    return "".join(out)


def properties_text(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f"{_escape(k, key=True)}={_escape(v, key=False)}\n" for k, v in pairs)


def environment(devices: Sequence[ReportedDevice]) -> list[tuple[str, str]]:
    """`harness.version`, `python.version`, `pytest.version`, then `device.<n>.<field>` per device."""
    pairs = [("harness.version", harness_version()), ("python.version", platform.python_version()),
             ("pytest.version", pytest.__version__)]
    for number, device in enumerate(devices, start=1):
        pairs += [(f"device.{number}.{name}", value) for name, value in device.as_dict().items()]
    return pairs


# -- executor.json ------------------------------------------------------------------------------

def executor(env: Mapping[str, str]) -> dict[str, Any]:
    """Who ran the tests (Allure links history entries to builds with it): the CI's build when
    one of the common CI variables is set, else this host."""
    name = f"{DISTRIBUTION} {harness_version()}"
    if env.get("GITHUB_ACTIONS") == "true":
        run_url = f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
        return _executor("GitHub Actions", "github", env.get("GITHUB_RUN_NUMBER"), env.get("GITHUB_WORKFLOW"), run_url, name)
    if env.get("GITLAB_CI") == "true":
        return _executor("GitLab CI", "gitlab", env.get("CI_PIPELINE_IID"), env.get("CI_JOB_NAME"),
                         env.get("CI_PIPELINE_URL"), name)
    if env.get("JENKINS_URL"):
        return _executor("Jenkins", "jenkins", env.get("BUILD_NUMBER"), env.get("JOB_NAME"), env.get("BUILD_URL"), name)
    return {"name": socket.gethostname(), "type": "local", "reportName": name}


def _executor(ci: str, kind: str, order: str | None, job: str | None, url: str | None, report: str) -> dict[str, Any]:
    info: dict[str, Any] = {"name": ci, "type": kind, "reportName": report}
    if order and order.isdigit():
        info["buildOrder"] = int(order)
    if job or order:
        info["buildName"] = " #".join(filter(None, [job, order]))
    if url:
        info["buildUrl"] = url
    return info


# -- categories.json ----------------------------------------------------------------------------

# Where the harness's error classes live: categories list exactly these modules' classes, so
# categories.json does not depend on which other modules a run happened to import.
ERROR_MODULES = ("harness.errors", "harness.net.errors", "harness.container.base")


def _error_names(failure_class: FailureClass) -> list[str]:
    """Names of the harness error classes of one failure class (as they appear in messages)."""
    for module in ERROR_MODULES:
        importlib.import_module(module)
    found, pending = set(), [HarnessError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__ in ERROR_MODULES and cls.failure_class == failure_class:
            found.add(cls.__name__)
    return sorted(found)


_QUALIFIED = r"(?:[A-Za-z_]\w*\.)*"     # the module path exconly() puts before a class name


def _starting_with(types: Sequence[str], *messages: str) -> str:
    """A whole-message regex for a failure raised as one of `types` (any module), or whose message
    starts with one of `messages` (regexes). Anchored at the start: a message that merely mentions
    `DeviceLost` is no infrastructure failure."""
    alternatives = [*([rf"{_QUALIFIED}(?:{'|'.join(types)})(?::.*)?"] if types else []), *messages]
    return f"(?:{'|'.join(alternatives)})"


def infrastructure_categories() -> list[dict[str, Any]]:
    def category(name: str, statuses: list[str], regex: str) -> dict[str, Any]:
        return {"name": f"Infrastructure: {name}", "matchedStatuses": statuses, "messageRegex": regex, "flaky": False}

    both = ["failed", "broken"]
    return [
        category("xdist worker crash", ["broken"], "xdist worker crash: .*"),
        category("device lost or offline", both, _starting_with(
            _error_names(FailureClass.DEVICE_LOST), rf"{_QUALIFIED}AdbError: device (?:offline|'[^']*' not found).*")),
        category("timeout", both, _starting_with(_error_names(FailureClass.TIMEOUT), r"Failed: Timeout >.*")),
        category("adb server or host", both, _starting_with(_error_names(FailureClass.INFRASTRUCTURE))),
        category("bad configuration", both, _starting_with(_error_names(FailureClass.BAD_CONFIGURATION))),
    ]


def categories(registry: Registry) -> list[dict[str, Any]]:
    return [*allure_categories(registry), *infrastructure_categories()]


def write_metadata(directory: Path, devices: Sequence[ReportedDevice], registry: Registry,
                   env: Mapping[str, str]) -> None:
    write_atomic(directory / "environment.properties", properties_text(environment(devices)))
    write_atomic(directory / "categories.json", json.dumps(categories(registry), indent=2) + "\n")
    write_atomic(directory / "executor.json", json.dumps(executor(env), indent=2) + "\n")
