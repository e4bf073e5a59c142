"""Allure 2 `categories.json` entries for the signature registry.

Allure 2 matches `messageRegex` against the whole failure message (Java `Pattern` with DOTALL,
`matches()`), so each regex is `.*<id>.*` with the id bounded on both sides: a test failure
message that names a signature id (e.g. `KNOWN eth0-ebusy-startup-race: ...`) lands in that
signature's category, and `eth0-ebusy-startup-race-2` would not match `eth0-ebusy-startup-race`.
Categories are listed specific first (Allure 2.41+ keeps only the first matching category).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.logs.signatures import Registry

MATCHED_STATUSES = ["failed", "broken"]   # assertion failures and errors alike
_SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}


def category_name(signature_id: str, title: str, kind: str) -> str:
    label = "Known infrastructure problem" if kind == "infrastructure" else "Known regression"
    return f"{label}: {title} ({signature_id})"


def message_regex(signature_id: str) -> str:
    # Ids are [a-z0-9-]; '-' needs no escaping outside a character class, in Java or Python.
    return rf".*(?<![\w-]){signature_id}(?![\w-]).*"


def allure_categories(registry: Registry) -> list[dict[str, Any]]:
    ordered = sorted(registry.signatures, key=lambda s: (_SEVERITY_ORDER[s.severity], s.id))
    return [{"name": category_name(s.id, s.title, s.kind),
             "matchedStatuses": list(MATCHED_STATUSES),
             "messageRegex": message_regex(s.id),
             "flaky": False}
            for s in ordered]


def write_categories(path: Path, registry: Registry) -> None:
    path.write_text(json.dumps(allure_categories(registry), indent=2) + "\n", encoding="utf-8")
