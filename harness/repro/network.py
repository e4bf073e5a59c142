"""Waiting for the network after a stimulus, without waiting out the whole bound on a reproduction.

`await_network()` repeats `harness.net.wait_for_network` in slices. Between slices it triages the
iteration's logcat: once a known product signature (the eth0 EBUSY race) has been seen and the
network has stayed down for `settle_s` more, the wait ends early. On 8.x nothing re-adds eth0
after the race (android-net.md §2.7, step 6: the new network's LinkProperties never change), so
a device in that state would only burn the profile's whole bound; `settle_s` covers the model's
(and a device's) few seconds of late IpManager restarts that can still bring the network back.
Without a signature the wait runs to the bound and the last verdict names the failing layer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.device import Device
from harness.errors import HarnessError
from harness.logs.buffer import LogcatTimeout
from harness.logs.logcat import LogcatService
from harness.logs.signatures import Registry
from harness.logs.triage import Finding, TriageResult, triage
from harness.net.connectivity import ConnectivityTargets, Verdict, check, wait_for_network
from harness.net.errors import NetworkTimeout

_MIN_SLICE_S = 0.05
_SLICES_PER_SETTLE = 4        # look at the log this often, so a signature is noticed soon after it lands
_SYNC_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class NetworkWait:
    up: bool
    seconds: float                    # since the wait began (up: time to network)
    verdict: Verdict | None           # the last check (None when none completed)
    triage: TriageResult              # of the iteration's logcat at the end of the wait
    ended_early: bool = False         # a signature was seen and the network stayed down
    error: HarnessError | None = None  # the device stopped answering during the wait

    @property
    def product_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.triage.findings if f.kind == "product")


def iteration_triage(logcat: LogcatService, since: int, registry: Registry,
                     android: str | None = None) -> TriageResult:
    return triage([line.text for line in logcat.excerpt(since)], registry, android)


def await_network(device: Device, logcat: LogcatService, since: int, *, bound_s: float, settle_s: float,
                  registry: Registry, targets: ConnectivityTargets | None, interface: str | None,
                  android: str | None = None, fresh: re.Pattern[str] | None = None, fresh_since: int | None = None,
                  clock: Callable[[], float] = time.monotonic) -> NetworkWait:
    """Wait up to `bound_s` for every connectivity layer to pass; see the module docstring.

    `fresh`: the network only counts once a line matching it was logged after `fresh_since`
    (a link flap leaves the old network looking fine until the framework has reacted)."""
    start = clock()
    seen_at: float | None = None                # when a product signature was first seen
    verdict: Verdict | None = None
    result = TriageResult((), 0, 0)
    while True:
        elapsed = clock() - start
        slice_s = max(_MIN_SLICE_S, min(bound_s - elapsed, settle_s / _SLICES_PER_SETTLE))
        network_up = False
        try:
            wait_for_network(device, slice_s, logcat, targets=targets, interface=interface)
            network_up = True
        except NetworkTimeout as e:
            verdict = e.verdict or verdict
        except HarnessError as e:                 # ToolUnavailable, AdbServerError...: no verdict possible
            return NetworkWait(False, clock() - start, verdict, result, error=e)
        if network_up and (fresh is None or _logged(logcat, fresh, fresh_since, slice_s)):
            return NetworkWait(True, clock() - start, None, iteration_triage(logcat, since, registry, android))
        result = iteration_triage(logcat, since, registry, android)
        now = clock()
        if not network_up and any(f.kind == "product" for f in result.findings):
            seen_at = seen_at if seen_at is not None else now
            if now - seen_at >= settle_s:
                return NetworkWait(False, now - start, verdict, result, ended_early=True)
        if now - start >= bound_s:
            # up, but the framework never reconnected: the stimulus did not disturb the network
            return NetworkWait(network_up, now - start, None if network_up else verdict, result)


def _logged(logcat: LogcatService, pattern: re.Pattern[str], since: int | None, timeout: float) -> bool:
    try:
        logcat.wait_for(pattern, timeout=max(_MIN_SLICE_S, timeout), since=since)
    except LogcatTimeout:
        return False
    return True


def final_verdict(device: Device, targets: ConnectivityTargets | None, interface: str | None) -> Verdict | None:
    """The whole layered picture (every layer, not only up to the first failure) for the report."""
    try:
        return check(device, targets, interface=interface)
    except HarnessError:            # the device went away: the artifacts say so without a verdict
        return None


def catch_up(device: Device, logcat: LogcatService, since: int, timeout: float = _SYNC_TIMEOUT_S) -> bool:
    """Wait until the background logcat stream holds the device's newest line, so an excerpt
    taken now is complete (after a restart the stream reconnects with a backoff). False when
    it did not catch up in time; the excerpt may then miss the last lines."""
    buffers = " ".join(f"-b {b}" for b in logcat.buffers)
    try:
        result = device.run(f"logcat -d -v threadtime -t 1 {buffers}", timeout=timeout)
    except HarnessError:
        return False
    lines = [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("--------- ")]
    if not result.ok:
        return False
    if not lines:
        return True                   # nothing logged yet: nothing to wait for
    try:
        logcat.wait_for(re.compile(re.escape(lines[-1].rstrip("\r"))), timeout, since=since)
    except LogcatTimeout:
        return False
    return True
