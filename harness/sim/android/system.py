"""The Android system of one boot: init's start sequence, its services, logd, the network stack.

`boot()` plays the container start on the device scheduler (all times from `sim.boot`):

    0        docker has set up the kernel (eth0 up with its address and default route)
    logd     logd starts; from now on log records are kept
    netd     netd starts (NetlinkHandler + CommandListener)
    zygote   zygote starts, and forks system_server a little later: NetworkManagementService
             connects to netd (sequence numbers restart at 1), ConnectivityService and the
             Ethernet service start, apps register network callbacks after systemReady
    adbd     adbd accepts connections (`device.adbd_started()`)
    steps    docker attaching the veth: eth0 carrier changes (`kernel.set_carrier`)
    done     sys.boot_completed=1, dev.bootcomplete=1

init's services can then be stopped and started (`stop`/`start`, `kill`), with init's real
rules: toolbox `stop` with no argument stops zygote_secondary, zygote, surfaceflinger and netd
(so netd loses its networks); `stop zygote` keeps netd running with its networks, and the next
system_server's ConnectivityService allocates netIds from 100 again (`network create 100` then
fails with EEXIST, or `network interface add 100 eth0` with EBUSY when netd kept eth0 in
another network). A dying system_server takes zygote with it; init restarts zygote, and
zygote's `onrestart restart netd` restarts netd too; on 9+ a dying netd restarts zygote.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Callable

from harness.sim.android import procfs
from harness.sim.android import processes_table as table
from harness.sim.android.kernel import Kernel
from harness.sim.android.handler import Looper
from harness.sim.android.logd import BUFFERS, Logd
from harness.sim.android.netd import unlink_init_sockets
from harness.sim.android.timing import Latency
from harness.sim.clock import Timer
from harness.sim.processes import Process

if TYPE_CHECKING:
    from harness.sim.android.system_server import SystemServer
    from harness.sim.device import VirtualDevice

# toolbox start/stop without arguments (system/core toolbox start.c / stop.c, Android <= 8.1;
# 9+ keeps the same list in start.cpp).
DEFAULT_STOP_ORDER = ("zygote_secondary", "zygote", "surfaceflinger", "netd")
DEFAULT_START_ORDER = ("netd", "surfaceflinger", "zygote", "zygote_secondary")
RESTART_PERIOD_S = 5.0          # init restarts a crashed service at most every 5 s
ZYGOTE_ONRESTART = ("netd",)    # init.zygote64.rc: onrestart restart netd (among non-network ones)
SIGKILL, SIGTERM = 9, 15


class AndroidSystem:
    def __init__(self, device: "VirtualDevice") -> None:
        self.device = device
        self.scheduler = device.scheduler
        # Each boot draws its latencies from its own stream (seed, device, boot number), so what a
        # boot does depends neither on earlier boots nor on tools (ping jitter) using device.rng.
        self.rng = random.Random(f"{device.profile.sim.seed}:{device.index}:boot{device.boot_count}")
        self.profile = device.profile
        self.timing = device.profile.sim.timing
        self.boot_model = device.profile.sim.boot
        self.kernel: Kernel | None = None
        self.logd = self._new_logd()
        self.logd_running = False
        self.netd: Any = None                      # harness.sim.android.netd.Netd while running
        self.system_server: "SystemServer | None" = None
        self.running: set[str] = set()              # init services that are running
        self.loopers: list[Looper] = []             # every Java thread of this boot
        self.booted = False
        self._timers: list[Timer] = []
        self._next_tid = table.FIRST_DYNAMIC_PID
        self._started_at: dict[str, float] = {}
        self._boot_completed_due = False

    # -- helpers ------------------------------------------------------------------------------
    @property
    def sdk(self) -> int:
        return self.device.sdk

    @property
    def interface(self) -> str:
        return self.profile.network.interface

    def now(self) -> float:
        return self.scheduler.now()

    def sample(self, name: str) -> float:
        """A sample (seconds) of the timing parameter `name` (sim.timing)."""
        latency: Latency = getattr(self.timing, name)
        return latency.sample(self.rng)

    def at(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run `fn` after `delay` device seconds unless this boot ends first."""
        if len(self._timers) > 256:
            self._timers = [t for t in self._timers if not t.cancelled and t.when >= self.now()]
        timer = self.scheduler.call_later(delay, fn, *args)
        self._timers.append(timer)
        return timer

    def alloc_tid(self) -> int:
        self._next_tid += 1
        return self._next_tid

    # -- processes ----------------------------------------------------------------------------
    def spawn(self, name: str) -> Process:
        """Start process `name`: its table pid the first time, a fresh pid afterwards."""
        processes = self.device.processes
        spec = table.SPECS.get(name)
        first_time = spec is not None and processes.get(spec.pid) is None and name not in self._started_at
        pid = spec.pid if first_time else self.alloc_tid()
        user = spec.user if spec else "root"
        threads = dict(spec.threads) if spec and first_time else {}
        proc = processes.spawn(name, uid=user, pid=pid, threads=threads)
        self._started_at[name] = self.now()
        return proc

    def process(self, name: str) -> Process:
        """The running process `name` (started on demand for processes that only log)."""
        proc = self.device.processes.find(name)
        return proc if proc is not None else self.spawn(name)

    def tid(self, proc: Process, thread: str) -> int:
        if thread == "main" or thread == proc.name:
            return proc.pid
        if thread not in proc.threads:
            proc.threads[thread] = self.alloc_tid()
        return proc.threads[thread]

    def _kill(self, name: str) -> None:
        proc = self.device.processes.find(name)
        if proc is not None:
            self.device.processes.kill(proc.pid)
        self.quit_threads(lambda process: process == name)

    def quit_threads(self, dies: Callable[[str], bool]) -> None:
        """The threads of dying processes stop: nothing they had queued runs any more."""
        alive = []
        for looper in self.loopers:
            if dies(looper.process):
                looper.quit()
            else:
                alive.append(looper)
        self.loopers = alive

    # -- logging ------------------------------------------------------------------------------
    def log(self, process: str, priority: str | int, tag: str, message: str, *,
            thread: str = "main", buffer: str = "main") -> None:
        """Write a record as `process`/`thread` (dropped while logd is not running)."""
        if buffer not in BUFFERS:
            raise ValueError(f"unknown log buffer {buffer!r}; expected one of {', '.join(BUFFERS)}")
        if not self.logd_running:
            return
        proc = self.process(process)
        self.logd.write(buffer, time=self.now(), pid=proc.pid, tid=self.tid(proc, thread),
                        uid=table.UIDS.get(proc.uid, 0), priority=priority, tag=tag, message=message)

    # -- boot ---------------------------------------------------------------------------------
    def boot(self) -> None:
        dev = self.device
        boot = self.boot_model
        self.kernel = Kernel(dev)
        procfs.install(dev)
        self.spawn("init")
        self.spawn("ueventd")
        self.running.update(("ueventd",))
        self._set_svc("ueventd", "running")
        self.at(boot.logd_ms.sample(self.rng), self.start_service, "logd")
        self.at(boot.netd_ms.sample(self.rng), self.start_service, "netd")
        self.at(boot.zygote_ms.sample(self.rng), self._boot_zygote)
        self.at(boot.adbd_ms / 1000.0, self.start_service, "adbd")
        for step in boot.carrier_steps:
            self.at(step.at_ms.sample(self.rng), self._set_carrier, step.carrier)
        self.at(boot.boot_completed_ms / 1000.0, self._boot_completed)

    def _boot_zygote(self) -> None:
        self.start_service("servicemanager")
        self.start_service("surfaceflinger")
        self.start_service("zygote")

    def _set_carrier(self, carrier: bool) -> None:
        if self.kernel is not None and self.interface in self.kernel.links:
            self.kernel.set_carrier(self.interface, carrier)

    def _boot_completed(self) -> None:
        if self.device.faults.boot_hangs:
            self.device.faults.record("boot_hang", "boot never completes: sys.boot_completed not set")
            return
        server = self.system_server
        if server is None or not server.ready:
            self._boot_completed_due = True        # completes when system_server is ready
            return
        self.device.props.set("sys.boot_completed", "1")
        self.device.props.set("dev.bootcomplete", "1")
        self.booted = True

    def system_server_ready(self) -> None:
        """Called by system_server after systemReady."""
        if self._boot_completed_due:
            self._boot_completed_due = False
            self._boot_completed()

    # -- init services ------------------------------------------------------------------------
    def _set_svc(self, name: str, state: str) -> None:
        self.device.props.set(f"init.svc.{name}", state)

    def start_service(self, name: str | None = None) -> bool:
        """`start [name]`: False when init knows no such service."""
        if name is None:
            return all([self.start_service(n) for n in DEFAULT_START_ORDER])
        starter = self._starters().get(name)
        if starter is None:
            return False
        if name not in self.running:
            self.running.add(name)
            self._set_svc(name, "running")
            starter()
        return True

    def stop_service(self, name: str | None = None) -> bool:
        """`stop [name]`: False when init knows no such service."""
        if name is None:
            return all([self.stop_service(n) for n in DEFAULT_STOP_ORDER])
        if name not in self._starters():
            return False
        if name in self.running:
            self.running.discard(name)
            self._set_svc(name, "stopped")
            self._stoppers().get(name, lambda: self._kill(name))()
        return True

    def kill_process(self, pid: int, signal: int = SIGTERM) -> bool:
        """`kill -SIG pid`: False when no such process. Only 9 and 15 end a process here."""
        proc = self.device.processes.get(pid)
        if proc is None:
            return False
        if signal not in (SIGKILL, SIGTERM) or proc.name == "init":
            return True
        if proc.name in ("system_server", "zygote"):
            self._zygote_died()
        elif proc.name == "netd" and self.sdk >= 28:
            self._service_died("netd")          # 9+ netd.rc: onrestart restart zygote
            if "zygote" in self.running:
                self._service_died("zygote")
        elif proc.name in self._starters():
            self._service_died(proc.name)
        else:
            self.device.processes.kill(pid)
        return True

    def _service_died(self, name: str) -> None:
        """A service process died: init restarts it (not before 5 s after its last start)."""
        self._stoppers().get(name, lambda: self._kill(name))()
        self.running.discard(name)
        self._set_svc(name, "restarting")
        wait = max(0.0, self._started_at.get(name, 0.0) + RESTART_PERIOD_S - self.now())
        self.at(wait, self.start_service, name)

    def _zygote_died(self) -> None:
        """system_server or zygote died: zygote exits, init restarts it and its onrestart list."""
        self._service_died("zygote")
        for name in ZYGOTE_ONRESTART:
            if name in self.running:
                self._stoppers()[name]()
                self.running.discard(name)
                self.start_service(name)

    def _starters(self) -> dict[str, Callable[[], None]]:
        simple = ("servicemanager", "hwservicemanager", "vold", "surfaceflinger", "zygote_secondary")
        starters: dict[str, Callable[[], None]] = {n: (lambda n=n: self._spawn_simple(n)) for n in simple}
        starters.update(logd=self._start_logd, netd=self._start_netd, zygote=self._start_zygote,
                        adbd=self._start_adbd, ueventd=lambda: self._spawn_simple("ueventd"))
        if self.sdk < 21:       # init.rc `service dhcpcd_eth0 /system/bin/dhcpcd ...` (disabled, oneshot)
            starters[f"dhcpcd_{self.interface}"] = lambda: self._spawn_simple("dhcpcd")
        return starters

    def _stoppers(self) -> dict[str, Callable[[], None]]:
        return {"logd": self._stop_logd, "netd": self._stop_netd, "zygote": self._stop_zygote,
                "adbd": self._stop_adbd, f"dhcpcd_{self.interface}": lambda: self._kill("dhcpcd")}

    def start_dhcpcd(self, iface: str) -> None:
        """NetworkUtils.runDhcp(): `ctl.start dhcpcd_<if>` (KitKat)."""
        self.stop_service(f"dhcpcd_{iface}")
        self.start_service(f"dhcpcd_{iface}")

    def stop_dhcpcd(self, iface: str) -> None:
        self.stop_service(f"dhcpcd_{iface}")

    def _spawn_simple(self, name: str) -> None:
        self.spawn(name)

    def _start_logd(self) -> None:
        self.spawn("logd")
        if not self.logd_running:
            self.logd = self._new_logd() if self.logd.last_seq or self.logd.closed else self.logd
            self.logd_running = True

    def _new_logd(self) -> Logd:
        """logd's buffers start empty (they live in logd's memory) with the profile's sizes."""
        return Logd({name: kb * 1024 for name, kb in self.profile.sim.log_buffer_kb.items()})

    def _stop_logd(self) -> None:
        self._kill("logd")
        self.logd_running = False
        self.logd.close()

    def _start_netd(self) -> None:
        from harness.sim.android.netd import Netd
        self.spawn("netd")
        assert self.kernel is not None
        netd = Netd(self.device, self.kernel)
        netd.start()
        self.netd = netd
        if self.system_server is not None:
            self.system_server.netd_started()

    def _stop_netd(self) -> None:
        if self.netd is not None:
            self.netd.stop()
            self.netd = None
        self._kill("netd")
        unlink_init_sockets(self.device)
        if self.system_server is not None:
            self.system_server.netd_lost()

    def _start_zygote(self) -> None:
        self.spawn("zygote")
        self.at(self.boot_model.system_server_ms.sample(self.rng), self._start_system_server)

    def _start_system_server(self) -> None:
        if "zygote" not in self.running:
            return
        from harness.sim.android.system_server import SystemServer
        self.spawn("system_server")
        self.system_server = SystemServer(self)
        self.system_server.start()

    def _stop_zygote(self) -> None:
        """zygote's death takes system_server and every app process (NetworkStack...) with it."""
        if self.system_server is not None:
            self.system_server.kill()
            self.system_server = None
        self._kill("system_server")
        self._kill("zygote")
        self.quit_threads(lambda process: process.startswith("com.android."))

    def _start_adbd(self) -> None:
        self.spawn("adbd")
        self.device.adbd_started()

    def _stop_adbd(self) -> None:
        self._kill("adbd")
        self.device.transport.drop_all()
        self.device.transport.set_listening(False)

    # -- end of the boot ----------------------------------------------------------------------
    def shutdown(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.quit_threads(lambda process: True)
        if self.system_server is not None:
            self.system_server.kill()
            self.system_server = None
        if self.netd is not None:
            self.netd.stop()
            self.netd = None
        unlink_init_sockets(self.device)            # /dev is a tmpfs: gone with the container
        if self.kernel is not None:
            self.kernel.close()
        self.logd_running = False
        self.logd.close()
        self.running.clear()
