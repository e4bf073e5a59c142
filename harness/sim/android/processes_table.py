"""Who runs in the container and under which pid/tid: stable across boots, like a redroid image.

The first start of a process takes its pid from this table (system_server is 248 and its
ConnectivityService handler thread 319, netd is 125 with its CommandListener thread 143, as in
the incident note). A process started again (a framework restart, a killed service) gets a
fresh pid, as Linux would give it. Threads created at run time (each IpManager's state machine
thread, for instance) take tids from the same counter, because Linux tids share the pid space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

UIDS = {"root": 0, "system": 1000, "radio": 1001, "shell": 2000, "logd": 1036, "dhcp": 1014}


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    pid: int
    user: str = "root"
    threads: dict[str, int] = field(default_factory=dict)

    @property
    def uid(self) -> int:
        return UIDS[self.user]


BOOT_PROCESSES: tuple[ProcessSpec, ...] = (
    ProcessSpec("init", 1),
    ProcessSpec("ueventd", 82),
    ProcessSpec("logd", 98, "logd", {"logd.reader": 99, "logd.writer": 100}),
    ProcessSpec("servicemanager", 103, "system"),
    ProcessSpec("hwservicemanager", 104, "system"),
    ProcessSpec("vold", 110),
    ProcessSpec("adbd", 121, "shell"),
    ProcessSpec("netd", 125, "root", {"NetlinkListener": 139, "MDnsSdListener": 141,
                                      "CommandListener": 143, "binder": 144,
                                      "DnsProxyListener": 147}),
    ProcessSpec("surfaceflinger", 127, "system"),
    ProcessSpec("zygote", 133, "root"),
    ProcessSpec("dhcpcd", 212, "dhcp"),
    ProcessSpec("system_server", 248, "system", {
        "Binder:248_1": 253, "Binder:248_2": 254, "android.fg": 266, "android.ui": 267,
        "android.io": 268, "android.display": 269, "NetdConnector": 305,
        "NetworkStats": 311, "NetworkPolicy": 312, "ConnectivityServiceThread": 319,
        "NetworkMonitor": 321, "EthernetServiceThread": 339}),
)

SPECS = {spec.name: spec for spec in BOOT_PROCESSES}
FIRST_DYNAMIC_PID = 1200
