from harness.sim.tools import ifconfig, ip, ndc, netcfg, ping, route  # noqa: F401  network tools
from harness.sim.tools import dumpsys, logcat, services  # noqa: F401,E402  framework tools
