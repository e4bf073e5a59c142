"""What an iteration does to the device to provoke the race: a restart, or a timed link flap.

    container | framework | reboot   harness.container's restarters (restart, reconnect, boot, root,
                                     device clock); the network is waited for by the loop
    link-flap                        one on-device shell command, so adb latency does not blur the
                                     timing:  [stop; start; sleep OFFSET;] <if> down; sleep DOWN; <if> up

Link-flap windows (where the swept delay goes):

    idle       the flap hits a device whose network is up and quiet; the delay is the DOWN time.
    framework  `stop; start` first (a framework restart: adbd and the transport stay up), then the
               flap OFFSET seconds after `start`; the delay is the OFFSET. ConnectivityService is
               busy with the apps' start-up requests for a while after start: a flap in that
               backlog leaves the old network's teardown queued behind the new agent (the race
               window of android-net.md §2.7), which an idle device rarely offers.
"""

from __future__ import annotations

import math
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from harness.container import Restarter
from harness.device import Device
from harness.errors import HarnessError
from harness.logs.logcat import LogcatService
from harness.net.capabilities import capabilities
from harness.repro.choices import WINDOWS
from harness.timeline import Timeline

# ConnectivityService connecting a network (8.x: `... going from null to CONNECTED`): after a flap
# the network only counts once the framework has reconnected, not while the old one still looks up.
RECONNECTED = re.compile(r"ConnectivityService: .*EVENT_NETWORK_INFO_CHANGED, going from \S+ to CONNECTED")
FLAP_TIMEOUT = 30.0          # host seconds for the flap command, on top of its own sleeps
_TOYBOX_SDK = 23             # toybox sleep (6.0+) takes fractions; toolbox sleep only whole seconds


@dataclass(frozen=True)
class StimulusResult:
    started: float                    # host monotonic time the stimulus began (ttn counts from it)
    error: HarnessError | None = None
    boot_s: float | None = None


class Stimulus(ABC):
    method: str
    fresh: re.Pattern[str] | None = None     # the log line that proves the network came back anew

    @abstractmethod
    def apply(self, device: Device, timeline: Timeline, logcat: LogcatService,
              delay_s: float | None = None) -> StimulusResult:
        """Provoke; never raises a HarnessError (the result carries it)."""


class RestartStimulus(Stimulus):
    def __init__(self, method: str, restarter: Restarter) -> None:
        self.method = method
        self.restarter = restarter

    def apply(self, device: Device, timeline: Timeline, logcat: LogcatService,
              delay_s: float | None = None) -> StimulusResult:
        started = time.monotonic()
        result = self.restarter.restart(device, timeline=timeline, logcat=logcat)
        return StimulusResult(started, result.error, result.boot_s)


def sleep_word(seconds: float, sdk: int) -> str:
    """A validated `sleep` argument; fractions only where the device's sleep takes them."""
    if not (math.isfinite(seconds) and 0 <= seconds <= 3600):
        raise ValueError(f"sleep of {seconds!r} s is invalid: expected 0-3600 seconds")
    if float(seconds).is_integer():
        return str(int(seconds))
    if sdk < _TOYBOX_SDK:
        raise ValueError(f"a sleep of {seconds:g} s needs Android 6.0+ (toolbox sleep takes whole seconds)")
    return f"{seconds:.3f}".rstrip("0")


class FlapStimulus(Stimulus):
    method = "link-flap"
    fresh = RECONNECTED

    def __init__(self, window: str, *, interface: str | None = None, down_s: float = 0.0) -> None:
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
        self.window = window
        self.interface = interface
        self.down_s = down_s

    def command(self, device: Device, delay_s: float) -> str:
        caps = capabilities(device, interface=self.interface)
        iface = self.interface or caps.interface or "eth0"
        if self.window == "idle":
            return caps.commands.flap(iface, 1, delay_s, 0.0)
        flap = caps.commands.flap(iface, 1, self.down_s, 0.0)
        return f"stop; start; sleep {sleep_word(delay_s, caps.sdk)}; {flap}"

    def describe(self, delay_s: float) -> str:
        if self.window == "idle":
            return f"link flap: down, {delay_s * 1000:g} ms, up (one on-device command)"
        return (f"framework restart, then link flap {delay_s * 1000:g} ms after start "
                f"(down {self.down_s * 1000:g} ms; one on-device command)")

    def apply(self, device: Device, timeline: Timeline, logcat: LogcatService,
              delay_s: float | None = None) -> StimulusResult:
        delay = 0.0 if delay_s is None else delay_s
        started = time.monotonic()
        try:
            with timeline.action(self.describe(delay)) as step:
                command = self.command(device, delay)
                step.note(command)
                device.run(command, timeout=FLAP_TIMEOUT + delay + self.down_s, check=True)
        except HarnessError as e:
            return StimulusResult(started, e)
        return StimulusResult(started)
