"""One reproduction iteration on one device, and bringing a device back to a usable state.

An iteration: mark logcat -> snapshot -> stimulus (restart, or timed link flap) -> wait for the
network within the bound (ending early on a settled known signature, see network.py) ->
classify (outcome.py) -> for a failure: snapshot, full connectivity verdict, timeline and
logcat excerpt written as artifacts. `recover()` brings a device back to a network (the runner
calls it before link flaps, and after a link flap broke the network).

Errors are classified, never raised, except `RunAborted` (the adb server itself is gone: no
device can go on, the run ends as an infrastructure failure).
"""

from __future__ import annotations

import time
from dataclasses import replace

from harness.adb_server import AdbServer
from harness.device import Device
from harness.errors import AdbServerError, BootTimeout, FailureClass, HarnessError
from harness.net.snapshot import NetworkSnapshot, take_snapshot
from harness.repro.artifacts import FailureEvidence, write_artifacts
from harness.repro.network import NetworkWait, await_network, catch_up, final_verdict, iteration_triage
from harness.repro.outcome import IterationRecord, Outcome
from harness.repro.session import DeviceSession, IterationSettings, error_text
from harness.timeline import Timeline


_SERVER_PROBE_S = 3.0


class RunAborted(Exception):
    """An infrastructure failure that ends the whole run (the adb server stopped answering)."""

    def __init__(self, error: HarnessError) -> None:
        super().__init__(error_text(error))
        self.error = error


def server_alive(device: Device) -> bool:
    """Does the device's adb server still answer? A stream cut by a device going away can read
    as "the server closed the connection"; only a server that no longer answers ends the run."""
    try:
        AdbServer.attach(f"{device.host}:{device.port}").version(timeout=_SERVER_PROBE_S)
    except Exception:
        return False
    return True


def check_server(device: Device, error: HarnessError) -> None:
    """RunAborted when `error` is the adb server's and the server is really gone."""
    if isinstance(error, AdbServerError) and not server_alive(device):
        raise RunAborted(error)


def classify_error(error: HarnessError, device: Device) -> Outcome:
    """boot-timeout or device-lost for an error that ended an iteration; RunAborted for a dead
    adb server."""
    check_server(device, error)
    if isinstance(error, BootTimeout) or error.failure_class is FailureClass.TIMEOUT:
        return Outcome.BOOT_TIMEOUT
    return Outcome.DEVICE_LOST


def _snapshot(session: DeviceSession, evidence: FailureEvidence, which: str) -> NetworkSnapshot | None:
    try:
        return take_snapshot(session.device)
    except HarnessError as e:
        check_server(session.device, e)
        evidence.note(f"snapshot {which}: {error_text(e)}")
        return None


def run_iteration(session: DeviceSession, settings: IterationSettings, index: int) -> IterationRecord:
    assert session.logcat is not None, "session.open() first"
    logcat = session.logcat
    started_at, t0 = time.time(), time.monotonic()
    point = settings.sweep.draw() if settings.sweep is not None else None
    timeline = Timeline(session.serial)
    mark = logcat.mark()
    timeline.follow_logcat(logcat, since=mark)
    if session.last_sync is not None:
        timeline.add_clock_sync(session.last_sync)
    evidence = FailureEvidence(timeline=timeline)
    evidence.before = _snapshot(session, evidence, "before")

    stimulus = settings.stimulus.apply(session.device, timeline, logcat, point)
    after_stimulus = logcat.mark()
    if timeline.clock_syncs:
        session.last_sync = timeline.clock_syncs[-1]
    base = dict(index=index, serial=session.serial, group=session.group, method=settings.stimulus.method,
                started_at=started_at, delay_ms=point.delay_ms if point else None,
                down_ms=point.down_ms if point else None, boot_s=stimulus.boot_s)
    if stimulus.error is not None:
        outcome = classify_error(stimulus.error, session.device)
        record = IterationRecord(outcome=outcome, duration_s=time.monotonic() - t0,
                                 reason=error_text(stimulus.error), error=stimulus.error.as_dict(), **base)
    else:
        with timeline.action(f"wait for network (up to {settings.network_bound_s:g}s)") as step:
            wait = await_network(session.device, logcat, mark, bound_s=settings.network_bound_s,
                                 settle_s=settings.settle_s, registry=settings.registry,
                                 targets=settings.targets, interface=settings.interface, android=session.android,
                                 fresh=settings.stimulus.fresh, fresh_since=after_stimulus)
            step.note("network up" if wait.up else f"no network after {wait.seconds:.2f}s"
                      + (" (known signature, settled)" if wait.ended_early else ""))
        if wait.error is not None:
            check_server(session.device, wait.error)
        signatures = tuple(wait.triage.signature_ids())
        if wait.up:
            record = IterationRecord(outcome=Outcome.OK, duration_s=time.monotonic() - t0,
                                     ttn_s=time.monotonic() - stimulus.started, signatures=signatures,
                                     reason="network up" + (f" (recovered after {', '.join(signatures)})"
                                                            if signatures else ""), **base)
        else:
            record = _no_network(session, settings, wait, mark, evidence, t0, base)
    session.iterations += 1
    if settings.sweep is not None and point is not None:
        settings.sweep.observe(point, record)       # the hunt learns before the evidence is kept
    if record.outcome.is_failure:
        record = _keep_evidence(session, settings, record, evidence, mark, timeline, t0)
    return record


def _no_network(session: DeviceSession, settings: IterationSettings, wait: NetworkWait, mark: int,
                evidence: FailureEvidence, t0: float, base: dict) -> IterationRecord:
    logcat = session.logcat
    assert logcat is not None
    if not catch_up(session.device, logcat, mark):
        evidence.note("logcat: the stream had not caught up with the device; the excerpt may miss the last lines")
    triage = iteration_triage(logcat, mark, settings.registry, session.android)
    evidence.triage = triage
    products = [f for f in triage.findings if f.kind == "product"]
    verdict = wait.verdict
    layer = str(verdict.failing_layer) if verdict is not None and verdict.failing_layer else None
    signatures = tuple(triage.signature_ids())
    if wait.error is not None:
        outcome = classify_error(wait.error, session.device)
        return IterationRecord(outcome=outcome, duration_s=time.monotonic() - t0, signatures=signatures,
                               reason=error_text(wait.error), error=wait.error.as_dict(),
                               failing_layer=layer, **base)
    if products:
        return IterationRecord(outcome=Outcome.KNOWN_REGRESSION, duration_s=time.monotonic() - t0,
                               signatures=signatures, reason=products[0].verdict, failing_layer=layer, **base)
    if triage.findings:
        reason = f"no network; known infrastructure problem: {triage.findings[0].verdict}"
    elif verdict is not None:
        reason = verdict.headline()
    else:
        reason = f"no network within {settings.network_bound_s:g}s (no check completed)"
    return IterationRecord(outcome=Outcome.NO_NETWORK, duration_s=time.monotonic() - t0, signatures=signatures,
                           reason=reason, failing_layer=layer, **base)


def _keep_evidence(session: DeviceSession, settings: IterationSettings, record: IterationRecord,
                   evidence: FailureEvidence, mark: int, timeline: Timeline, t0: float) -> IterationRecord:
    logcat = session.logcat
    assert logcat is not None
    if evidence.triage is None:
        catch_up(session.device, logcat, mark, timeout=2.0)
        evidence.triage = iteration_triage(logcat, mark, settings.registry, session.android)
    evidence.log_lines = logcat.excerpt(mark)
    evidence.after = _snapshot(session, evidence, "after")
    evidence.verdict = final_verdict(session.device, settings.targets, settings.interface)
    for event in session.transport_events(record.started_at, time.time()):
        timeline.record(event.source, event.text, event.time)
    relative = write_artifacts(settings.run_dir, record, evidence)
    return replace(record, artifacts=relative, duration_s=time.monotonic() - t0)


def recover(session: DeviceSession, settings: IterationSettings) -> str | None:
    """Restart the device (its profile's container method) until it has a network again, at
    most `recovery_attempts` times (a restart of a buggy build can itself hit the race).
    Returns None when the network is up, else why not (the caller excludes the device)."""
    assert session.logcat is not None
    why = "not attempted"
    for attempt in range(1, settings.recovery_attempts + 1):
        timeline = Timeline(session.serial)
        mark = session.logcat.mark()
        result = settings.recovery.restart(session.device, timeline=timeline, logcat=session.logcat)
        if timeline.clock_syncs:
            session.last_sync = timeline.clock_syncs[-1]
        if result.error is not None:
            check_server(session.device, result.error)
            why = f"recovery restart {attempt} failed: {error_text(result.error)}"
            continue
        wait = await_network(session.device, session.logcat, mark, bound_s=settings.network_bound_s,
                             settle_s=settings.settle_s, registry=settings.registry, targets=settings.targets,
                             interface=settings.interface, android=session.android)
        if wait.up:
            return None
        if wait.error is not None:
            check_server(session.device, wait.error)
        why = f"no network after recovery restart {attempt}"
    return why
