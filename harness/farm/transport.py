"""The farm's adb transport events, live, in the lease log: one `host:track-devices` watcher per
adb server (harness.timeline.TransportWatcher) for the devices of the farm on it. A device that
went offline, came back, or vanished during the run is then on record, with the time, beside
the leases and the tests it touched (and counted in the summary)."""

from __future__ import annotations

from harness.farm.inventory import Inventory
from harness.farm.lease import LeaseLog
from harness.options import parse_host_port
from harness.timeline import Timeline, TimelineEvent, TransportWatcher

WHEN_WATCHING_BEGAN = " (when watching began)"       # TransportWatcher's note on the first listing


class _LoggedTimeline(Timeline):
    """A timeline that also appends each transport change of its server to the lease log."""

    def __init__(self, server: str, log: LeaseLog) -> None:
        super().__init__()
        self.server = server
        self.log = log

    def transport(self, serial: str, state: str, at: float | None = None) -> TimelineEvent:
        if not state.endswith(WHEN_WATCHING_BEGAN):
            self.log.append("transport", device=f"{serial}@{self.server}", state=state)
        return super().transport(serial, state, at)


class TransportLog:
    """Watchers of every server that serves a device of the inventory; stop() ends them."""

    def __init__(self, inventory: Inventory, log: LeaseLog) -> None:
        self.watchers: list[TransportWatcher] = []
        servers = sorted({d.server for d in inventory.devices})
        for server in servers:
            serials = {d.serial for d in inventory.devices if d.server == server}
            address = parse_host_port(server, "adb server")
            self.watchers.append(TransportWatcher(address.host, address.port, _LoggedTimeline(server, log),
                                                  serials=serials))

    def start(self) -> TransportLog:
        for watcher in self.watchers:
            watcher.start()
        return self

    def stop(self) -> None:
        for watcher in self.watchers:
            watcher.stop()
