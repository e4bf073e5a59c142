from harness.sim.tools import ifconfig, ip, ndc, netcfg, ping, route  # noqa: F401  network tools
