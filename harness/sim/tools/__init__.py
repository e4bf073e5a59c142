from harness.sim.tools import ifconfig, ip  # noqa: F401  network tools register themselves
