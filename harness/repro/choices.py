"""What a repro run can be asked for: methods, link-flap windows, delay buckets, pacing, exit
statuses. Imports nothing heavy, so the `harness` command line builds its parser fast."""

from __future__ import annotations

import re
from dataclasses import dataclass

METHODS = ("container", "framework", "reboot", "link-flap")
WINDOWS = ("idle", "framework", "provisioned")
EXIT_OK, EXIT_REPRODUCED, EXIT_INFRASTRUCTURE = 0, 1, 2

MAX_BUCKETS = 200
MAX_DELAY_MS = 60_000.0
DEFAULT_DELAYS = {"idle": "0:400:50", "framework": "0:1500:100", "provisioned": "0:100:50"}
# --hunt sweeps the down time too where the window has one (the idle window's delay IS the down time)
DEFAULT_DOWNS = {"framework": "0:150:50", "provisioned": "0:150:50"}
_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Timing:
    """Bounds and pacing given on the command line (device seconds unless said; None: the profile's)."""

    network_timeout: float | None = None
    boot_timeout: float | None = None       # host seconds (adb reconnects are host time)
    settle: float = 5.0
    window: str = "framework"
    down_s: float = 0.0
    delays_ms: tuple[float, ...] = ()
    downs_ms: tuple[float, ...] = ()        # several: the hunt learns over delays x down times
    seed: int | None = None


def parse_delays(spec: str) -> tuple[float, ...]:
    """Milliseconds: `START:STOP:STEP` (STOP included when the steps land on it) or `A,B,C`."""
    found = _RANGE.match(spec)
    if found:
        start, stop, step = (float(g) for g in found.groups())
        if step <= 0 or stop < start:
            raise ValueError(f"delays {spec!r}: expected START:STOP:STEP with STEP > 0 and STOP >= START")
        count = int((stop - start) / step + 1e-9) + 1
        values = [round(start + i * step, 6) for i in range(count)]
    else:
        try:
            values = [float(part) for part in spec.split(",") if part.strip()]
        except ValueError:
            raise ValueError(f"delays {spec!r}: expected START:STOP:STEP or a comma-separated list of "
                             "milliseconds, like 0:400:50 or 0,10,25,50") from None
    if not values:
        raise ValueError(f"delays {spec!r}: no delay given")
    if len(values) > MAX_BUCKETS:
        raise ValueError(f"delays {spec!r}: {len(values)} buckets, at most {MAX_BUCKETS}")
    if any(not 0 <= v <= MAX_DELAY_MS for v in values):
        raise ValueError(f"delays {spec!r}: every delay must be 0-{MAX_DELAY_MS:g} ms")
    return tuple(dict.fromkeys(values))
