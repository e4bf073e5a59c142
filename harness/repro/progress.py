"""Live progress with the running reproduction rate.

On a terminal: a tqdm bar (iterations done / planned) whose postfix is the running rate and
its interval. Not a terminal (CI logs, pipes): plain lines, one per reproduction and one every
PLAIN_EVERY_S seconds or tenth of the plan, so a log stays short but shows the run is alive.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from tqdm import tqdm

from harness.repro.outcome import IterationRecord, RunStats, summarize

PLAIN_EVERY_S = 10.0


class Progress:
    def __init__(self, total: int | None, *, stream: TextIO | None = None, enabled: bool = True,
                 tty: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.total = total
        self.enabled = enabled
        self.tty = self.stream.isatty() if tty is None else tty
        self._records: list[IterationRecord] = []
        self._lock = threading.Lock()
        self._last_line = time.monotonic()
        self._last_tenth = 0
        self._bar: tqdm | None = None
        if enabled and self.tty:
            self._bar = tqdm(total=total, file=self.stream, unit="it", dynamic_ncols=True, desc="repro")

    def update(self, record: IterationRecord) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._records.append(record)
            stats = summarize(self._records)
            text = _status(stats)
            if self._bar is not None:
                self._bar.set_postfix_str(text, refresh=False)
                self._bar.update(1)
                return
            done = len(self._records)
            tenth = (done * 10 // self.total) if self.total else 0
            now = time.monotonic()
            if record.reproduced or tenth > self._last_tenth or now - self._last_line >= PLAIN_EVERY_S:
                self._last_tenth, self._last_line = tenth, now
                planned = f"/{self.total}" if self.total else ""
                event = f" #{record.index} {record.serial}: {record.outcome}" if record.outcome.is_failure else ""
                print(f"repro: {done}{planned} done, {text}{event}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _status(stats: RunStats) -> str:
    r = stats.rate
    if r.n == 0:
        return "no verdict yet"
    interval = f"<= {r.high:.0%}" if r.method == "rule-of-three" else f"{r.low:.0%}-{r.high:.0%}"
    return f"{r.k}/{r.n} reproduced ({r.value:.0%}, 95% CI {interval})"
