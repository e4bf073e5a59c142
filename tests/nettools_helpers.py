"""Shared by the kernel/netd/net-tool tests: a virtual device whose Android stand-in holds a
Kernel and a Netd we drive directly, and a way to run one tool as the shell would."""

from __future__ import annotations

from dataclasses import dataclass, field

import harness.sim.tools  # noqa: F401  (registers the tools)
from harness.sim.android.kernel import Kernel
from harness.sim.android.netd import Netd
from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.profile import load_sim_profile
from harness.sim.shell import api
from harness.sim.shell.api import BufferOutput, Input, Proc

PROFILE = "sim-android-8.1-buggy"


@dataclass
class LogRecord:
    process: str
    priority: str
    tag: str
    message: str


@dataclass
class StandInAndroid:
    """Just the network part of a boot: the system model is not under test here."""
    device: VirtualDevice
    kernel: Kernel
    netd: Netd | None = None
    logs: list[LogRecord] = field(default_factory=list)

    def log(self, process: str, priority: str, tag: str, message: str, *,
            thread: str = "main", buffer: str = "main") -> None:
        self.logs.append(LogRecord(process, priority, tag, message))

    def shutdown(self) -> None:
        self.kernel.close()

    def lines(self, tag: str) -> list[str]:
        return [f"{r.priority} {r.message}" for r in self.logs if r.tag == tag]


def make_device(*, sdk: int | None = None, scheduler: Scheduler | None = None,
                start_netd: bool = True) -> VirtualDevice:
    """A device with a fresh docker-like kernel and (by default) a started netd."""
    profile = load_sim_profile(PROFILE)
    if sdk is not None:
        release = {19: "4.4", 21: "5.0", 22: "5.1", 23: "6.0", 24: "7.0", 27: "8.1.0", 28: "9",
                   29: "10", 30: "11", 31: "12", 33: "13"}.get(sdk, "8.1.0")
        profile = profile.model_copy(update={
            "android": profile.android.model_copy(update={"sdk": sdk, "release": release})})
    device = VirtualDevice(profile, scheduler=scheduler or Scheduler())
    if device.android is not None:
        device.android.shutdown()           # the boot sequence is not under test
    device.fs.mkdir("/data/misc/net")
    stand_in = StandInAndroid(device, Kernel(device))
    device.android = stand_in
    if start_netd:
        stand_in.netd = Netd(device, stand_in.kernel)
        stand_in.netd.start()
    return device


def connect_ethernet(netd: Netd, net_id: int = 100) -> None:
    """What ConnectivityService does for a healthy eth0 (8.x order)."""
    assert netd.network_create_physical(net_id) == 0
    assert netd.network_add_interface(net_id, "eth0") == 0
    assert netd.network_add_route(net_id, "eth0", "172.17.0.0/16") == 0
    assert netd.network_add_route(net_id, "eth0", "0.0.0.0/0", "172.17.0.1") == 0
    assert netd.set_resolver_configuration(net_id, ["8.8.8.8"], []) == 0
    assert netd.network_set_default(net_id) == 0


async def run_tool(device: VirtualDevice, *argv: str, uid: int = 2000,
                   stdin: bytes = b"") -> tuple[int, str, str]:
    spec = api.lookup(argv[0], device)
    assert spec is not None, f"{argv[0]} is not available on sdk {device.sdk}"
    out, err = BufferOutput(), BufferOutput()
    proc = Proc(list(argv), Input.of(stdin), out, err, device, uid=uid)
    status = await spec.run(proc)
    return status, out.data.decode(), err.data.decode()
