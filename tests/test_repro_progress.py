"""Progress output: a tqdm bar with the running rate on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from harness.repro.outcome import IterationRecord, Outcome
from harness.repro.progress import Progress


def _record(index: int, outcome: Outcome) -> IterationRecord:
    return IterationRecord(index=index, serial="127.0.0.1:40001", group="", method="container", outcome=outcome,
                           started_at=0.0, duration_s=1.0, signatures=("eth0-ebusy-startup-race",)
                           if outcome is Outcome.KNOWN_REGRESSION else ())


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    progress = Progress(20, stream=out, tty=False)
    for i in range(1, 21):
        progress.update(_record(i, Outcome.KNOWN_REGRESSION if i == 3 else Outcome.OK))
    progress.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0] == "repro: 2/20 done, 0/2 reproduced (0%, 95% CI <= 100%)"
    assert lines[1] == ("repro: 3/20 done, 1/3 reproduced (33%, 95% CI 6%-79%) #3 127.0.0.1:40001: "
                        "known-regression")
    assert lines[-1] == "repro: 20/20 done, 1/20 reproduced (5%, 95% CI 1%-24%)"
    assert len(lines) == 11        # every tenth of the plan, plus the reproduction


def test_a_bar_with_the_running_rate_on_a_terminal():
    out = io.StringIO()
    progress = Progress(4, stream=out, tty=True)
    for i in range(1, 5):
        progress.update(_record(i, Outcome.KNOWN_REGRESSION if i % 2 else Outcome.OK))
    progress.close()
    text = out.getvalue()
    assert "\r" in text and "4/4" in text and "2/4 reproduced (50%, 95% CI 15%-85%)" in text


def test_disabled_prints_nothing():
    out = io.StringIO()
    progress = Progress(2, stream=out, enabled=False)
    progress.update(_record(1, Outcome.OK))
    progress.close()
    assert out.getvalue() == ""
