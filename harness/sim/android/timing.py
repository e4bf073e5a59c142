"""Latency distributions of the modelled Android stack (profile sections `sim.timing`, `sim.boot`).

Every duration is in milliseconds of device time and is drawn from the device's `rng`, so a
boot's outcome depends only on the profile and the device index. A distribution is written in
the profile as one of:

    {fixed: 3}                                  always 3 ms
    {uniform: [2, 8]}                           uniform between 2 and 8 ms
    {median: 120, sigma: 0.4, min: 40, max: 400}  log-normal (median, shape), clamped to [min, max]

`min`/`max` also apply to the other forms. Bounded distributions are what lets the fixed
profile promise "network up within N s": every latency in a boot has an upper bound.

Nothing here decides an outcome. The eth0 EBUSY start-up race follows from the order in which
messages reach ConnectivityService's single handler queue; these numbers only set how long
each step takes (see ConnectivityService / EthernetNetworkFactory / IpManager).
"""

from __future__ import annotations

import math
import random
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Latency(_Strict):
    """One latency distribution in milliseconds (see the module docstring for the forms)."""

    fixed: float | None = Field(default=None, ge=0, description="constant latency, ms")
    uniform: tuple[float, float] | None = Field(default=None, description="[low, high] ms, uniform")
    median: float | None = Field(default=None, gt=0, description="log-normal median, ms")
    sigma: float | None = Field(default=None, ge=0, le=3, description="log-normal shape (sigma of ln)")
    min: float = Field(default=0.0, ge=0, description="lower clamp, ms")
    max: float | None = Field(default=None, ge=0, description="upper clamp, ms")

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        forms = [self.fixed is not None, self.uniform is not None,
                 self.median is not None or self.sigma is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of: fixed, uniform, or median+sigma")
        if (self.median is None) != (self.sigma is None):
            raise ValueError("a log-normal needs both median and sigma")
        if self.uniform is not None and not 0 <= self.uniform[0] <= self.uniform[1]:
            raise ValueError("uniform needs 0 <= low <= high")
        if self.max is not None and self.max < self.min:
            raise ValueError("max must be >= min")
        return self

    def sample_ms(self, rng: random.Random) -> float:
        if self.fixed is not None:
            value = self.fixed
        elif self.uniform is not None:
            value = rng.uniform(*self.uniform)
        else:
            assert self.median is not None and self.sigma is not None
            value = self.median * math.exp(rng.gauss(0.0, self.sigma)) if self.sigma else self.median
        value = max(value, self.min)
        return min(value, self.max) if self.max is not None else value

    def sample(self, rng: random.Random) -> float:
        """A sample in seconds (what the scheduler takes)."""
        return self.sample_ms(rng) / 1000.0

    @classmethod
    def ms(cls, value: float) -> "Latency":
        return cls(fixed=value)

    @classmethod
    def lognormal(cls, median: float, sigma: float, low: float = 0.0,
                  high: float | None = None) -> "Latency":
        return cls(median=median, sigma=sigma, min=low, max=high)


def _lat(description: str, default: Latency):
    return Field(default=default, description=description)


class TimingModel(_Strict):
    """How long each step of the network stack takes (profile section `sim.timing`)."""

    # -- netd and its socket ------------------------------------------------------------------
    socket_ms: Latency = _lat(
        "one way over /dev/socket/netd: a command reaching netd, a reply or a broadcast reaching "
        "system_server's NativeDaemonConnector", Latency.lognormal(0.15, 0.3, 0.05, 1.0))
    netd_command_ms: Latency = _lat(
        "netd's CommandListener executing a simple command (interface getcfg/setcfg/clearaddrs, "
        "ipv6, strict, firewall...); netd executes commands one at a time",
        Latency.lognormal(0.6, 0.4, 0.2, 4.0))
    netd_network_ms: Latency = _lat(
        "netd executing a network command (create/destroy, interface add/remove, route add): "
        "RouteController programs rules and tables for IPv4 and IPv6",
        Latency.lognormal(3.0, 0.4, 1.0, 15.0))
    nms_event_ms: Latency = _lat(
        "NetworkManagementService dispatching one unsolicited netd event (600/614) on its "
        "callback thread before observers (Ethernet, IpManager's NetlinkTracker) see it",
        Latency.lognormal(1.0, 0.5, 0.2, 8.0))
    handler_post_ms: Latency = _lat(
        "a Handler post reaching another thread's looper (wake-up and dispatch)",
        Latency.lognormal(0.2, 0.4, 0.05, 2.0))
    binder_ms: Latency = _lat(
        "one binder call into netd (resolver configuration on 8.1; every netd call on 10+)",
        Latency.lognormal(0.5, 0.4, 0.1, 4.0))

    # -- ConnectivityService -------------------------------------------------------------------
    cs_message_ms: Latency = _lat(
        "ConnectivityService handling one message on its handler thread, besides the netd calls "
        "it makes (which add their own time)", Latency.lognormal(1.2, 0.5, 0.3, 10.0))
    cs_request_ms: Latency = _lat(
        "ConnectivityService handling one NetworkRequest/callback registration from an app "
        "(rematch, callbacks, score updates to factories): the start-up backlog is made of these",
        Latency.lognormal(9.0, 0.5, 2.0, 40.0))
    channel_connect_ms: Latency = _lat(
        "AsyncChannel.connect() to a NetworkAgent: CMD_CHANNEL_HALF_CONNECTED reaching "
        "ConnectivityService's queue", Latency.lognormal(0.5, 0.4, 0.1, 3.0))
    channel_disconnect_ms: Latency = _lat(
        "AsyncChannel.disconnect() of a NetworkAgent: time until CMD_CHANNEL_DISCONNECTED is "
        "queued on ConnectivityService's handler (and delivered to the agent); together with the "
        "queue backlog this is the teardown latency that opens the race window",
        Latency.lognormal(40.0, 0.5, 5.0, 200.0))
    validation_ms: Latency = _lat(
        "NetworkMonitor's first evaluation of a new network (DNS + HTTP probe)",
        Latency.lognormal(1800.0, 0.2, 1500.0, 4000.0))

    # -- Ethernet service, IpManager/IpClient, DHCP --------------------------------------------
    enf_message_ms: Latency = _lat(
        "the Ethernet service handling one message on its handler thread",
        Latency.lognormal(0.5, 0.4, 0.1, 4.0))
    ipmanager_start_ms: Latency = _lat(
        "new IpManager/IpClient: state machine thread start until it handles its first message",
        Latency.lognormal(4.0, 0.4, 1.0, 20.0))
    ipmanager_message_ms: Latency = _lat(
        "IpManager/IpClient handling one message on its state machine thread",
        Latency.lognormal(0.5, 0.4, 0.1, 4.0))
    ipmanager_shutdown_ms: Latency = _lat(
        "an old IpManager after shutdown(): CMD_STOP, DhcpClient quitting, until StoppedState "
        "runs stopAllIP() (interface ipv6 disable + clearaddrs). 8.1 never waits for this; 9+ "
        "waits (awaitShutdown)", Latency.lognormal(140.0, 0.45, 40.0, 450.0))
    dhcp_ms: Latency = _lat(
        "DhcpClient: DHCPDISCOVER until DHCPACK (offer and request round trips)",
        Latency.lognormal(110.0, 0.45, 30.0, 600.0))
    dhcp_offer_fraction: float = Field(
        default=0.45, gt=0, lt=1,
        description="share of dhcp_ms spent before the DHCPOFFER arrives (the rest is REQUEST/ACK)")
    dhcpcd_ms: Latency = _lat(
        "Android 4.4 dhcpcd: start until the lease is bound (props dhcp.<if>.* written)",
        Latency.lognormal(900.0, 0.3, 300.0, 3000.0))


class CarrierStep(_Strict):
    """One carrier change of the container's veth during boot (docker attaching it)."""

    at_ms: Latency = Field(description="time of the change, ms after container start")
    carrier: StrictBool = Field(description="carrier after the change")


def _default_carrier_steps() -> list[CarrierStep]:
    return [CarrierStep(at_ms=Latency(uniform=(820.0, 980.0)), carrier=False),
            CarrierStep(at_ms=Latency(uniform=(1000.0, 1060.0)), carrier=True)]


class BootModel(_Strict):
    """When each part of the container's boot happens (profile section `sim.boot`)."""

    adbd_ms: float = Field(default=300.0, ge=0, description="container start -> adbd accepts TCP, ms")
    boot_completed_ms: float = Field(
        default=1500.0, ge=0,
        description="container start -> sys.boot_completed=1 (not before system_server is ready), ms")
    logd_ms: Latency = _lat("container start -> logd running", Latency.ms(30.0))
    netd_ms: Latency = _lat("container start -> netd started", Latency.lognormal(90.0, 0.2, 50.0, 200.0))
    zygote_ms: Latency = _lat("container start -> zygote started", Latency.lognormal(150.0, 0.2, 80.0, 300.0))
    system_server_ms: Latency = _lat(
        "zygote start -> system_server forked", Latency.lognormal(180.0, 0.2, 100.0, 400.0))
    nms_connect_ms: Latency = _lat(
        "system_server start -> NetworkManagementService connected to netd",
        Latency.lognormal(120.0, 0.2, 60.0, 300.0))
    ethernet_start_ms: Latency = _lat(
        "system_server start -> Ethernet service started (PHASE_SYSTEM_SERVICES_READY)",
        Latency.lognormal(330.0, 0.15, 200.0, 600.0))
    system_ready_ms: Latency = _lat(
        "system_server start -> systemReady: apps start and register network callbacks",
        Latency.lognormal(380.0, 0.15, 250.0, 700.0))
    app_requests: StrictInt = Field(
        default=36, ge=0, le=1000,
        description="network requests/callbacks registered by apps after systemReady (the CS start-up backlog)")
    app_requests_window_ms: Latency = _lat(
        "how long after systemReady the apps' registrations keep arriving (they arrive uniformly)",
        Latency.lognormal(250.0, 0.3, 100.0, 800.0))
    app_default_requests: StrictInt = Field(
        default=4, ge=0, le=100,
        description="how many of app_requests are requests the default network satisfies (the rest are listens)")
    carrier_steps: list[CarrierStep] = Field(
        default_factory=_default_carrier_steps, max_length=20,
        description="eth0 carrier changes while docker attaches the veth (kernel.set_carrier)")
