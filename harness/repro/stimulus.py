"""What an iteration does to the device to provoke the race: a restart, or a timed link flap.

    container | framework | reboot   harness.container's restarters (restart, reconnect, boot, root,
                                     device clock); the network is waited for by the loop
    link-flap                        one on-device shell command, so adb latency does not blur the
                                     timing: [stop; start; <wait>;] sleep DELAY; <if> down; sleep DOWN; <if> up

Link-flap windows (what the bucket's delay means; DOWN is the bucket's down time, or --down-ms):

    idle         the flap hits a device whose network is up and quiet; the delay is the DOWN time.
    framework    `stop; start` first (a framework restart: adbd and the transport stay up), then the
                 flap DELAY after `start`. ConnectivityService is busy with the apps' start-up
                 requests for a while after start: a flap in that backlog leaves the old network's
                 teardown queued behind the new agent (the race window of android-net.md §2.7),
                 which an idle device rarely offers.
    provisioned  `stop; start`, then the device itself watches eth0: its IPv4 address goes (the new
                 IpManager's stopAllIP) and comes back (the new lease: the NetworkAgent is being
                 registered, behind the start-up backlog); the flap starts DELAY after that. Anchoring
                 on what the framework did, not on the clock, takes the start-up's own spread
                 (zygote, system_server, DHCP) out of the timing. A DOWN about as long as the old
                 IpManager's late address wipe keeps that wipe from hitting the new lease (which would
                 start one more provisioning cycle and bring the network back).
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
from harness.net import validate
from harness.net.capabilities import capabilities
from harness.repro.choices import WINDOWS
from harness.repro.hunt import Point
from harness.timeline import HARNESS, Timeline

# ConnectivityService connecting a network (8.x: `... going from null to CONNECTED`): after a flap
# the network only counts once the framework has reconnected, not while the old one still looks up.
RECONNECTED = re.compile(r"ConnectivityService: .*EVENT_NETWORK_INFO_CHANGED, going from \S+ to CONNECTED")
FLAP_TIMEOUT = 30.0          # host seconds for the flap command, on top of its own sleeps
_TOYBOX_SDK = 23             # toybox sleep (6.0+) takes fractions; toolbox sleep only whole seconds
ANCHOR_POLL_S = 0.01         # provisioned window: how often the device looks at eth0's address
ANCHOR_POLLS = 1000          # at most this many looks (10 s of device time) for both changes
ANCHOR_MISSED = "anchor missed"   # printed by the command when eth0 did not lose and regain its address


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
              point: Point | None = None) -> StimulusResult:
        """Provoke (link flaps: with the bucket's timing); never raises a HarnessError (the
        result carries it)."""


class RestartStimulus(Stimulus):
    def __init__(self, method: str, restarter: Restarter) -> None:
        self.method = method
        self.restarter = restarter

    def apply(self, device: Device, timeline: Timeline, logcat: LogcatService,
              point: Point | None = None) -> StimulusResult:
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
        self.down_s = down_s          # when the bucket gives no down time

    def timing(self, point: Point | None) -> tuple[float, float]:
        """(delay, down) in seconds for a bucket."""
        delay = 0.0 if point is None else point.delay_ms / 1000.0
        down = self.down_s if point is None or point.down_ms is None else point.down_ms / 1000.0
        return delay, down

    def command(self, device: Device, point: Point | None) -> str:
        caps = capabilities(device, interface=self.interface)
        iface = self.interface or caps.interface or "eth0"
        delay, down = self.timing(point)
        if self.window == "idle":
            return caps.commands.flap(iface, 1, delay, 0.0)
        flap = caps.commands.flap(iface, 1, down, 0.0)
        wait = f"sleep {sleep_word(delay, caps.sdk)}; " if delay else ""
        if self.window == "framework":
            return f"stop; start; {wait}{flap}"
        return f"stop; start; {provisioned_wait(iface, caps.sdk)}; {wait}{flap}"

    def describe(self, point: Point | None) -> str:
        delay, down = (s * 1000 for s in self.timing(point))
        if self.window == "idle":
            return f"link flap: down, {delay:g} ms, up (one on-device command)"
        after = "start" if self.window == "framework" else "eth0 was provisioned again"
        return (f"framework restart, then link flap {delay:g} ms after {after} "
                f"(down {down:g} ms; one on-device command)")

    def apply(self, device: Device, timeline: Timeline, logcat: LogcatService,
              point: Point | None = None) -> StimulusResult:
        delay, down = self.timing(point)
        started = time.monotonic()
        try:
            with timeline.action(self.describe(point)) as step:
                command = self.command(device, point)
                step.note(command)
                budget = ANCHOR_POLLS * ANCHOR_POLL_S if self.window == "provisioned" else 0.0
                result = device.run(command, timeout=FLAP_TIMEOUT + budget + delay + down, check=True)
            if ANCHOR_MISSED in result.stdout:       # its own line: the command above is long
                timeline.record(HARNESS, f"{ANCHOR_MISSED}: eth0 did not lose and regain its IPv4 address "
                                         f"within {budget:g} s of device time; the flap ran anyway")
        except HarnessError as e:
            return StimulusResult(started, e)
        return StimulusResult(started)


def provisioned_wait(iface: str, sdk: int) -> str:
    """Shell that waits, on the device, until `iface` has lost its IPv4 address and got one again
    (bounded: prints ANCHOR_MISSED when it gave up)."""
    if sdk < _TOYBOX_SDK:
        raise ValueError("the provisioned window polls every 10 ms: it needs Android 6.0+ "
                         "(toolbox sleep takes whole seconds)")
    has = f"ip -4 addr show dev {validate.interface_name(iface)} | grep -q 'inet '"
    poll = f"sleep {ANCHOR_POLL_S:g}; n=$((n+1))"
    return (f"n=0; while {has} && [ $n -lt {ANCHOR_POLLS} ]; do {poll}; done; "
            f"while ! {has} && [ $n -lt {ANCHOR_POLLS} ]; do {poll}; done; "
            f"[ $n -lt {ANCHOR_POLLS} ] || echo '{ANCHOR_MISSED}'")
