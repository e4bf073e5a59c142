"""summary.html: one self-contained page (inline CSS, plots as base64 PNG data URIs, no script,
nothing fetched), readable from a CI artifact store or an e-mail attachment.

Sections: verdict, parameters, devices, outcomes (per group), time to network, hunting buckets,
A/B comparison, failing iterations (with links to their artifact folders), every iteration.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from harness.repro.hunt import Point
from harness.repro.outcome import OUTCOMES, IterationRecord
from harness.repro.result import GroupResult, RunResult

FILE_NAME = "summary.html"
PLOT_TITLES = {"ttn_histogram": "Time to network", "reproductions": "Reproductions over iterations",
               "rate_per_delay": "Rate per hunting bucket"}

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1d1d1f; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.verdict { padding: .8em 1em; border-radius: 6px; font-weight: 600; }
.status-0 { background: #e6f4ea; } .status-1 { background: #fce8e6; } .status-2 { background: #fef7e0; }
table { border-collapse: collapse; margin: .6em 0; font-size: .95em; }
th, td { border: 1px solid #d0d0d0; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.known-regression td { background: #fdf0ef; } tr.no-network td { background: #fff8e6; }
tr.boot-timeout td, tr.device-lost td { background: #f1f1f1; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #e0e0e0; }
code { font-size: .92em; } .muted { color: #666; }
"""


def _cell(value: Any, cls: str = "") -> str:
    text = "" if value is None else value
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{escape(str(text))}</td>"


def _table(table_id: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
           row_classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{escape(row_classes[i])}"' if row_classes else ""
        body.append(f"<tr{cls}>" + "".join(
            v if isinstance(v, _Raw) else _cell(v, "num" if isinstance(v, (int, float)) else "") for v in row)
            + "</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _outcomes_table(groups: Sequence[GroupResult]) -> str:
    headers = ["group", *[str(o) for o in OUTCOMES], "trials", "reproductions", "rate (95% CI)", "recovered"]
    rows = [[g.label, *[g.stats.counts[str(o)] for o in OUTCOMES], g.stats.trials, g.stats.reproductions,
             str(g.stats.rate), g.stats.recovered] for g in groups]
    return _table("outcomes", headers, rows)


def _ttn_table(groups: Sequence[GroupResult]) -> str:
    rows = []
    for g in groups:
        t = g.stats.ttn
        rows.append([g.label, t.count, *[_seconds(t.points.get(k)) for k in ("p50", "p90", "p99", "max")],
                     _seconds(t.mean)])
    return _table("ttn", ["group", "ok iterations", "p50 (s)", "p90 (s)", "p99 (s)", "max (s)", "mean (s)"], rows)


def _hunt_section(groups: Sequence[GroupResult]) -> str:
    parts = []
    for g in groups:
        if not g.buckets:
            continue
        two_d = any(b.down_ms is not None for b in g.buckets)
        rows = [[f"{b.delay_ms:g}", *([f"{b.down_ms:g}" if b.down_ms is not None else ""] if two_d else []),
                 b.rate.n, b.rate.k, b.races, f"{b.rate.value:.1%}" if b.rate.n else "",
                 f"{b.rate.low:.1%} - {b.rate.high:.1%}" if b.rate.n else "", b.rate.method] for b in g.buckets]
        headers = ["delay (ms)", *(["down (ms)"] if two_d else []), "trials", "reproductions", "races seen",
                   "rate", "95% CI", "method"]
        parts.append(f"<p>{escape(g.label)}: {escape(g.window)}</p>"
                     + _table("hunt-buckets" + (f"-{g.name}" if g.name else ""), headers, rows))
    return "".join(parts)


def _iteration_rows(records: Sequence[IterationRecord], *, links: bool) -> tuple[list[list[Any]], list[str]]:
    rows, classes = [], []
    for r in records:
        link: Any = ""
        if links and r.artifacts:
            link = _Raw(f'<td><a href="{escape(r.artifacts)}/">{escape(r.artifacts)}</a></td>')
        rows.append([r.index, r.serial, r.group, str(r.outcome),
                     "" if r.delay_ms is None else Point(r.delay_ms, r.down_ms).label(),
                     _seconds(r.ttn_s), _seconds(r.duration_s), ", ".join(r.signatures), r.failing_layer or "",
                     r.reason, link])
        classes.append(str(r.outcome))
    return rows, classes


ITERATION_HEADERS = ["#", "device", "group", "outcome", "delay[/down] (ms)", "ttn (s)", "duration (s)", "signatures",
                     "failing layer", "reason", "artifacts"]


def _image(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    title = PLOT_TITLES.get(name, name)
    return (f'<figure id="plot-{escape(name)}"><img alt="{escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(title)}</figcaption></figure>")


def render(result: RunResult, images: dict[str, bytes]) -> str:
    status, reason = result.exit_status()
    overall = result.overall
    started = datetime.datetime.fromtimestamp(result.started_at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    parameters = [[k, json.dumps(v) if isinstance(v, (list, dict)) else v] for k, v in result.parameters.items()]
    devices = [[d.get("serial"), d.get("group") or "", d.get("profile"), d.get("build", {}).get("model", ""),
                d.get("build", {}).get("release", ""), d.get("build", {}).get("sdk", ""),
                d.get("build", {}).get("fingerprint", ""), d.get("iterations", 0), d.get("excluded") or ""]
               for d in result.devices]
    failing = [r for r in result.records if r.outcome.is_failure]
    failing_rows, failing_classes = _iteration_rows(failing, links=True)
    all_rows, all_classes = _iteration_rows(result.records, links=True)
    compare = ""
    if result.comparison is not None:
        c = result.comparison
        compare = ("<h2>A/B comparison</h2>" + f"<p class=\"verdict\">{escape(c.text)}</p>"
                   + _table("compare", ["", "group", "reproductions / trials", "rate (95% CI)"],
                            [["A", c.label_a, f"{c.comparison.a.k}/{c.comparison.a.n}", str(c.comparison.a)],
                             ["B", c.label_b, f"{c.comparison.b.k}/{c.comparison.b.n}", str(c.comparison.b)]])
                   + f"<p>Fisher's exact test (two-sided): p = {c.comparison.p_value:.3g}; "
                     f"significant at {c.alpha:g}: {'yes' if c.significant else 'no'}</p>")
    hunt = _hunt_section(result.groups)
    plots = "".join(_image(name, png) for name, png in images.items())
    body = f"""
<h1>eth0 EBUSY start-up race: reproduction run {escape(result.run_id)}</h1>
<p class="muted">started {escape(started)}, {result.finished_at - result.started_at:.1f} s;
stopped because: {escape(result.stop_reason)}</p>
<p class="verdict status-{status}">exit status {status}: {escape(reason)}</p>
<h2>Reproduction rate</h2>
<p>{escape(str(overall.rate))} &mdash; reproductions are iterations that ended without a network with a known
signature in their log; trials exclude boot timeouts and lost devices.</p>
{_outcomes_table(result.groups)}
<h2>Time to network</h2>
{_ttn_table(result.groups)}
{"<h2>Race hunting</h2>" + hunt if hunt else ""}
{compare}
<h2>Plots</h2>
{plots or '<p class="muted">no data to plot</p>'}
<h2>Failing iterations</h2>
{_table("failures", ITERATION_HEADERS, failing_rows, failing_classes) if failing else '<p>none</p>'}
<h2>Parameters</h2>
{_table("parameters", ["parameter", "value"], parameters)}
<h2>Devices</h2>
{_table("devices", ["serial", "group", "profile", "model", "release", "sdk", "fingerprint", "iterations", "excluded"], devices)}
<h2>Every iteration</h2>
<details><summary>{len(all_rows)} iterations</summary>
{_table("iterations", ITERATION_HEADERS, all_rows, all_classes)}
</details>
"""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>harness repro {escape(result.run_id)}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def write(result: RunResult, images: dict[str, bytes], path: Path | None = None) -> Path:
    path = path or result.run_dir / FILE_NAME
    path.write_text(render(result, images), encoding="utf-8")
    return path
