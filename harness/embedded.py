"""Virtual devices for the harness: a SimFarm child, an adb server, and the farm's devices
connected to it. What pytest (no --serial), `harness sim` and `harness repro` start.

The harness reaches the virtual device only through `harness.sim.farm` and adb, like a farm's
real devices. Startup failures come out as the harness's own error classes.
"""

from __future__ import annotations

from harness import adb_server
from harness.adb_server import AdbServer
from harness.device import DEFAULT_TIMEOUT, Device
from harness.errors import AdbServerError, BadConfiguration, HarnessError
from harness.sim.farm import FarmError, SimFarm, validate_profile
from harness.yamlcheck import ConfigError

CONNECT_TIMEOUT = 15.0


def check_profile(name_or_path: str) -> None:
    """BadConfiguration (every problem on one line, file:line:col each) for an unusable profile."""
    try:
        validate_profile(name_or_path)
    except ConfigError as e:
        raise BadConfiguration("; ".join(str(e).splitlines())) from None


class EmbeddedDevices:
    """`count` virtual devices of one profile, connected to a private adb server (or to the
    server at `adb_address`, HOST:PORT). stop() undoes exactly what start() did."""

    def __init__(self, profile: str, count: int = 1, *, adb_address: str | None = None,
                 seed: int | None = None, clock_scale: float | None = None) -> None:
        self.profile = profile
        self.count = count
        self.adb_address = adb_address
        self.seed = seed
        self.clock_scale = clock_scale
        self.farm: SimFarm | None = None
        self.server: AdbServer | None = None
        self.serials: list[str] = []

    def start(self, connect_timeout: float = CONNECT_TIMEOUT) -> list[str]:
        check_profile(self.profile)
        try:
            self.farm = SimFarm(self.profile, self.count, seed=self.seed, clock_scale=self.clock_scale)
            self.farm.start()
            self.server = AdbServer.attach(self.adb_address) if self.adb_address else AdbServer.start()
            for serial in self.farm.serials:
                self.server.connect(serial, timeout=connect_timeout)
                self.serials.append(serial)
        except BaseException as e:
            self.stop()
            if isinstance(e, adb_server.AdbServerError):
                raise AdbServerError(str(e)) from e
            if isinstance(e, ValueError):
                raise BadConfiguration(str(e)) from e
            if isinstance(e, FarmError):
                raise HarnessError(f"virtual device farm did not start: {e}") from e
            raise
        return self.serials

    def devices(self, default_timeout: float = DEFAULT_TIMEOUT) -> list[Device]:
        assert self.server is not None, "start() first"
        return [Device(s, self.server, default_timeout=default_timeout, profile=self.profile)
                for s in self.serials]

    @property
    def control_port(self) -> int | None:
        return self.farm.control_port if self.farm else None

    def stop(self) -> None:
        """Disconnect our devices from a server we did not start, stop what we started."""
        server, farm, serials = self.server, self.farm, self.serials
        self.server, self.farm, self.serials = None, None, []
        try:
            if server is not None and not server.owned:
                for serial in serials:
                    try:
                        server.disconnect(serial, timeout=5.0)
                    except adb_server.AdbServerError:
                        pass                # the server is gone: nothing left to clean there
            if server is not None:
                server.stop()
        finally:
            if farm is not None:
                farm.stop()

    def __enter__(self) -> EmbeddedDevices:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
