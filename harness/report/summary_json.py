"""summary.json of a `harness repro` run: the schema is documented in harness/report/SCHEMA.md
(`SCHEMA` below is its identifier; bump the number on an incompatible change)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from harness.repro.result import RunResult

SCHEMA = "harness-repro-summary/1"
FILE_NAME = "summary.json"


def _utc(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat(timespec="milliseconds")


def build(result: RunResult) -> dict[str, Any]:
    status, reason = result.exit_status()
    groups = list(result.groups)
    return {
        "schema": SCHEMA,
        "run_id": result.run_id,
        "started_at": _utc(result.started_at),
        "finished_at": _utc(result.finished_at),
        "duration_s": round(result.finished_at - result.started_at, 3),
        "command": list(result.command),
        "parameters": dict(result.parameters),
        "devices": [dict(d) for d in result.devices],
        "stop_reason": result.stop_reason,
        "exit_status": status,
        "exit_reason": reason,
        "infrastructure_failure": result.infrastructure_failure,
        "result": {"profile": result.judged.profile if len(groups) == 1 else None, **result.overall.to_dict()},
        "groups": [g.to_dict() for g in groups] if len(groups) > 1 else [],
        "compare": result.comparison.to_dict() if result.comparison is not None else None,
        "hunt": _hunt(result),
        "iterations": [r.to_dict() for r in result.records],
        "paths": dict(result.paths),
    }


def _hunt(result: RunResult) -> dict[str, Any] | None:
    hunted = [g for g in result.groups if g.buckets]
    if not hunted:
        return None
    return {"window": result.parameters.get("window"),
            "groups": [{"name": g.name, "profile": g.profile, "summary": g.window,
                        "buckets": [b.to_dict() for b in g.buckets]} for g in hunted]}


def write(result: RunResult, path: Path | None = None) -> Path:
    path = path or result.run_dir / FILE_NAME
    path.write_text(json.dumps(build(result), indent=2, default=str) + "\n", encoding="utf-8")
    return path
