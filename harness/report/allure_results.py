"""allure-results for a repro run (`harness repro --allure DIR`), readable by Allure 2 and 3.

One `<uuid>-result.json` per iteration:
  passed   the iteration got its network back
  failed   known-regression (the message starts with `KNOWN <signature id>`, which the categories
           from harness/logs/categories.py match) and no-network (the failing layer)
  broken   boot-timeout and device-lost: infrastructure, not the product
Each result carries the iteration and the device as (non-excluded) parameters, so iterations are
separate tests rather than retries of one (pytest-ecosystem.md §3.4), and the failure artifacts
as attachments (`<uuid>-attachment.<ext>`). The directory also gets categories.json (from the
signature registry) and environment.properties (each device's build, serial and profile).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from harness.logs.categories import write_categories
from harness.logs.signatures import Registry
from harness.repro.artifacts import iteration_dir
from harness.repro.outcome import IterationRecord, Outcome
from harness.repro.result import RunResult

STATUS = {Outcome.OK: "passed", Outcome.KNOWN_REGRESSION: "failed", Outcome.NO_NETWORK: "failed",
          Outcome.BOOT_TIMEOUT: "broken", Outcome.DEVICE_LOST: "broken"}
ATTACHED = (("logcat.txt", "logcat excerpt", "text/plain"), ("timeline.txt", "timeline", "text/plain"),
            ("verdict.txt", "connectivity verdict", "text/plain"),
            ("snapshot-diff.txt", "network snapshot diff", "text/plain"),
            ("snapshot-before.txt", "network snapshot before", "text/plain"),
            ("snapshot-after.txt", "network snapshot after", "text/plain"),
            ("triage.json", "triage", "application/json"))
FULL_NAME = "harness.repro#eth0_startup_race"


def message(record: IterationRecord) -> str | None:
    if record.outcome is Outcome.OK:
        return None
    if record.outcome is Outcome.KNOWN_REGRESSION:
        return record.reason if record.reason.startswith("KNOWN ") else f"KNOWN {', '.join(record.signatures)}: {record.reason}"
    return f"{record.outcome}: {record.reason}"


def result_for(record: IterationRecord, run: RunResult, attachments: list[dict[str, str]]) -> dict[str, Any]:
    parameters = [{"name": "iteration", "value": str(record.index)}, {"name": "device", "value": record.serial},
                  {"name": "method", "value": record.method}]
    if record.group:
        parameters.append({"name": "group", "value": record.group})
    if record.delay_ms is not None:
        parameters.append({"name": "delay_ms", "value": f"{record.delay_ms:g}"})
    identity = FULL_NAME + "|" + "|".join(f"{p['name']}={p['value']}" for p in parameters)
    start_ms = int(record.started_at * 1000)
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "historyId": hashlib.md5(identity.encode()).hexdigest(),
        "testCaseId": hashlib.md5(FULL_NAME.encode()).hexdigest(),
        "fullName": FULL_NAME,
        "name": f"repro iteration {record.index} on {record.serial}",
        "status": STATUS[record.outcome],
        "stage": "finished",
        "start": start_ms,
        "stop": start_ms + int(record.duration_s * 1000),
        "labels": [{"name": "suite", "value": f"harness repro {run.run_id}"},
                   {"name": "feature", "value": "eth0 EBUSY start-up race"},
                   {"name": "host", "value": record.serial}, {"name": "thread", "value": record.serial},
                   {"name": "framework", "value": "harness repro"}]
                  + [{"name": "tag", "value": s} for s in record.signatures],
        "parameters": parameters,
        "attachments": attachments,
    }
    text = message(record)
    if text is not None:
        result["statusDetails"] = {"message": text, "trace": json.dumps(record.error, indent=2) if record.error else ""}
    return result


def write(run: RunResult, directory: Path, registry: Registry) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for record in run.records:
        attachments = _attach(run, record, directory)
        result = result_for(record, run, attachments)
        (directory / f"{result['uuid']}-result.json").write_text(json.dumps(result, indent=2) + "\n",
                                                                 encoding="utf-8")
    write_categories(directory / "categories.json", registry)
    (directory / "environment.properties").write_text(environment(run), encoding="utf-8")
    return directory


def _attach(run: RunResult, record: IterationRecord, directory: Path) -> list[dict[str, str]]:
    if not record.artifacts:
        return []
    source_dir = iteration_dir(run.run_dir, record.index)
    out = []
    for file_name, title, mime in ATTACHED:
        source = source_dir / file_name
        if not source.is_file():
            continue
        target = f"{uuid.uuid4()}-attachment{Path(file_name).suffix}"
        (directory / target).write_bytes(source.read_bytes())
        out.append({"name": title, "source": target, "type": mime})
    return out


def _property_value(value: Any) -> str:
    # .properties: backslash, newlines and leading spaces would change the meaning
    return str(value).replace("\\", "\\\\").replace("\n", "\\n")


def environment(run: RunResult) -> str:
    lines = [f"run_id={run.run_id}", f"method={run.parameters.get('method', '')}"]
    for n, device in enumerate(run.devices, 1):
        build = device.get("build", {})
        prefix = f"device.{n}"
        lines += [f"{prefix}.serial={_property_value(device.get('serial'))}",
                  f"{prefix}.profile={_property_value(device.get('profile'))}",
                  f"{prefix}.build={_property_value(build.get('fingerprint', ''))}",
                  f"{prefix}.model={_property_value(build.get('model', ''))}",
                  f"{prefix}.android={_property_value(build.get('release', ''))} (sdk {build.get('sdk', '')})"]
    return "\n".join(lines) + "\n"
