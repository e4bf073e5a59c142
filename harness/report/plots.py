"""The run's plots as PNG (matplotlib, Agg backend: no display needed, safe in threads-free CLIs).

    ttn_histogram          time to network of the ok iterations, p50/p90 marked
    reproductions          cumulative reproductions over iterations, with the running rate and
                           its 95% interval on a second axis
    rate_per_delay         hunting: reproduction rate per bucket with 95% intervals (bars for one
                           parameter; for delays x down times a grid, each cell k/n, rate, CI)

Each function returns the PNG bytes (or None when there is nothing to draw); `write_plots`
writes them next to summary.json and returns {name: file name}.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # before pyplot: never try a display

import matplotlib.pyplot as plt  # noqa: E402

from harness.repro.hunt import Bucket  # noqa: E402
from harness.repro.outcome import IterationRecord, Outcome  # noqa: E402
from harness.repro.result import RunResult  # noqa: E402
from harness.stats import percentiles, rate  # noqa: E402

DPI = 100
SIZE = (7.0, 3.6)
FILES = {"ttn_histogram": "ttn-histogram.png", "reproductions": "reproductions.png",
         "rate_per_delay": "rate-per-delay.png"}


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()


def ttn_histogram(records: Sequence[IterationRecord], clock_note: str = "") -> bytes | None:
    values = [r.ttn_s for r in records if r.outcome is Outcome.OK and r.ttn_s is not None]
    if not values:
        return None
    fig, ax = plt.subplots(figsize=SIZE)
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#4878a8", edgecolor="white")
    points = percentiles(values, (50, 90))
    for name, style in (("p50", "--"), ("p90", ":")):
        ax.axvline(points[name], color="#b03030", linestyle=style, label=f"{name} {points[name]:.2f}s")
    ax.set_xlabel("time to network after the stimulus (s, host)" + (f" {clock_note}" if clock_note else ""))
    ax.set_ylabel("iterations")
    ax.set_title(f"Time to network ({len(values)} ok iterations)")
    ax.legend()
    return _png(fig)


def reproductions(groups: Sequence[tuple[str, Sequence[IterationRecord]]]) -> bytes | None:
    if not any(records for _, records in groups):
        return None
    fig, ax = plt.subplots(figsize=SIZE)
    rate_ax = ax.twinx()
    colors = ("#b03030", "#3060a0")
    for (label, records), color in zip(groups, colors):
        trials = [r for r in sorted(records, key=lambda r: r.index) if r.outcome.is_trial]
        if not trials:
            continue
        xs, cumulative, lows, highs, values = [], [], [], [], []
        k = 0
        for n, record in enumerate(trials, 1):
            k += record.reproduced
            r = rate(k, n)
            xs.append(n)
            cumulative.append(k)
            values.append(r.value)
            lows.append(r.low)
            highs.append(r.high)
        ax.step(xs, cumulative, where="post", color=color, label=f"{label}: reproductions")
        rate_ax.plot(xs, values, color=color, alpha=0.6, linestyle="--", label=f"{label}: running rate")
        rate_ax.fill_between(xs, lows, highs, color=color, alpha=0.12)
    ax.set_xlabel("iteration (trials, in start order)")
    ax.set_ylabel("reproductions (cumulative)")
    rate_ax.set_ylabel("rate (95% CI band)")
    rate_ax.set_ylim(0, 1)
    handles = ax.get_legend_handles_labels()[0] + rate_ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize="small")
    ax.set_title("Reproductions over iterations")
    return _png(fig)


def rate_per_delay(buckets: Sequence[Bucket], what: str = "delay (ms)") -> bytes | None:
    tried = [b for b in buckets if b.rate.n]
    if not tried:
        return None
    if any(b.down_ms is not None for b in buckets) and len({b.down_ms for b in buckets}) > 1:
        return _rate_grid(buckets, what)
    fig, ax = plt.subplots(figsize=SIZE)
    xs = list(range(len(tried)))
    values = [b.rate.value for b in tried]
    errors = [[b.rate.value - b.rate.low for b in tried], [b.rate.high - b.rate.value for b in tried]]
    ax.bar(xs, values, color="#4878a8", yerr=errors, capsize=3, ecolor="#333333")
    ax.set_xticks(xs, [f"{b.delay_ms:g}" for b in tried], rotation=45 if len(tried) > 10 else 0)
    for x, b in zip(xs, tried):
        ax.annotate(f"{b.rate.k}/{b.rate.n}", (x, b.rate.high), textcoords="offset points", xytext=(0, 3),
                    ha="center", fontsize="x-small")
    ax.set_ylim(0, 1.1)
    ax.set_xlabel(what)
    ax.set_ylabel("reproduction rate (95% CI)")
    ax.set_title("Reproduction rate per delay bucket")
    return _png(fig)


def _rate_grid(buckets: Sequence[Bucket], what: str) -> bytes:
    """Delays across, down times up: colour = rate, text = k/n, rate and its 95% interval."""
    delays = sorted({b.delay_ms for b in buckets})
    downs = sorted({b.down_ms or 0.0 for b in buckets})
    cells = {(b.delay_ms, b.down_ms or 0.0): b for b in buckets}
    values = [[cells[(d, w)].rate.value if (d, w) in cells and cells[(d, w)].rate.n else float("nan")
               for d in delays] for w in downs]
    fig, ax = plt.subplots(figsize=(max(SIZE[0], 1.3 * len(delays) + 2), max(SIZE[1], 0.8 * len(downs) + 1.5)))
    image = ax.imshow(values, origin="lower", cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    for row, w in enumerate(downs):
        for col, d in enumerate(delays):
            b = cells.get((d, w))
            text = "untried" if b is None or not b.rate.n else (
                f"{b.rate.k}/{b.rate.n}\n{b.rate.value:.0%}\n[{b.rate.low:.0%}-{b.rate.high:.0%}]")
            untried = b is None or not b.rate.n
            color = "#666666" if untried else "black" if b.rate.value > 0.6 else "white"
            ax.text(col, row, text, ha="center", va="center", fontsize="x-small", color=color)
    ax.set_xticks(range(len(delays)), [f"{d:g}" for d in delays])
    ax.set_yticks(range(len(downs)), [f"{w:g}" for w in downs])
    ax.set_xlabel(what)
    ax.set_ylabel("link down time (ms)")
    fig.colorbar(image, ax=ax, label="reproduction rate")
    ax.set_title("Reproduction rate per delay x down bucket (k/n, rate, 95% CI)")
    return _png(fig)


def render(result: RunResult) -> dict[str, bytes]:
    """Every plot this run has data for: {name: PNG bytes}."""
    scales = {d.get("clock_scale") for d in result.devices if d.get("virtual")}
    clock_note = ""
    if len(scales) == 1 and (scale := scales.pop()) not in (None, 1.0):
        clock_note = f"(device clock x{1 / scale:g})"
    what = {"framework": "offset of the flap after `start` (ms)",
            "provisioned": "delay of the flap after eth0 was provisioned again (ms)"}.get(
        result.parameters.get("window") or "", "link down time (ms)")
    images = {
        "ttn_histogram": ttn_histogram(result.records, clock_note),
        "reproductions": reproductions([(g.label, g.records) for g in result.groups]),
        "rate_per_delay": rate_per_delay(result.judged.buckets, what) if result.judged.buckets else None,
    }
    return {name: png for name, png in images.items() if png is not None}


def write_plots(images: dict[str, bytes], directory: Path) -> dict[str, str]:
    written = {}
    for name, png in images.items():
        (directory / FILES[name]).write_bytes(png)
        written[name] = FILES[name]
    return written
