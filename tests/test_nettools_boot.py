"""The network tools on fully booted devices (the real AndroidSystem drives netd): what `ip`,
`ndc` and `ping` show must agree with netd's state, healthy or after the EBUSY race."""

from __future__ import annotations

import asyncio

import pytest

import harness.sim.tools  # noqa: F401  (registers the tools)
from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.profile import load_sim_profile
from nettools_helpers import run_tool

BOOT_SECONDS = 60.0
SCALE = 0.0005          # device time runs 2000x faster than real time


async def booted(index: int) -> VirtualDevice:
    profile = load_sim_profile("sim-android-8.1-buggy")
    scheduler = Scheduler(realtime=True, scale=SCALE)
    device = VirtualDevice(profile, index=index, scheduler=scheduler)
    await asyncio.sleep(BOOT_SECONDS * SCALE)
    while scheduler.now() < BOOT_SECONDS:
        await asyncio.sleep(0.005)
    return device


@pytest.mark.parametrize("index", range(3))
def test_tools_agree_with_netd_after_boot(index):
    async def scenario():
        device = await booted(index)
        netd = device.android.netd
        assert netd is not None and netd.running
        default = netd.default_net_id
        healthy = default != 0 and netd.iface_net("eth0") == default
        rules = await run_tool(device, "ip", "rule")
        table = await run_tool(device, "ip", "route", "show", "table", "eth0")
        ping = await asyncio.wait_for(run_tool(device, "ping", "-c", "1", "-W", "1", "8.8.8.8"), 30)
        getcfg = await run_tool(device, "ndc", "interface", "getcfg", "eth0", uid=0)
        device.shutdown()
        return healthy, default, rules, table, ping, getcfg

    healthy, default, rules, table, ping, getcfg = asyncio.run(scenario())
    assert getcfg == (0, "213 0 02:42:ac:11:00:02 172.17.0.2 16 up broadcast running multicast\n", "")
    if healthy:
        assert f"fwmark 0x{default:x}/0x1ffff lookup eth0 \n" in rules[1]
        assert "22000:\tfrom all fwmark 0x0/0xffff lookup eth0 \n" in rules[1]
        assert table == (0, "default via 172.17.0.1 dev eth0 proto static \n"
                            "172.17.0.0/16 dev eth0 proto static scope link \n", "")
        assert ping[0] == 0 and "1 received, 0% packet loss" in ping[1]
    else:
        assert "eth0" not in rules[1]
        assert table == (255, "", 'Error: argument "eth0" is wrong: table id value is invalid\n\n')
        assert ping == (2, "", "connect: Network is unreachable\n")
