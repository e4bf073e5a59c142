"""One virtual Android device: its state and its lifecycle.

The device owns everything that survives a boot (its scheduler and clock, its file system under
/data, its adbd listening port) and rebuilds everything that a boot resets (properties, process
table, the Android system). The adbd server (harness/sim/adbd) reaches the device only through
the methods in the "adbd side" section; tools reach it through `Proc.device`.
"""

from __future__ import annotations

import random
from typing import Protocol

from harness.sim.clock import Scheduler
from harness.sim.faults import DeviceFaults
from harness.sim.fs import VirtualFS
from harness.sim.processes import ProcessTable
from harness.sim.profile import SimProfile
from harness.sim.props import PropertyService
from harness.sim.shell.api import Input, Output

FEATURES = ("shell_v2", "cmd")   # only what this adbd really implements


class TransportControl(Protocol):
    """What the adbd server lets the device do to its TCP side."""

    def drop_all(self) -> None: ...                  # close every TCP connection now
    def set_listening(self, listening: bool) -> None: ...   # accept TCP, or refuse connections


class _NoTransport:
    def drop_all(self) -> None:
        pass

    def set_listening(self, listening: bool) -> None:
        pass


class VirtualDevice:
    def __init__(self, profile: SimProfile, *, index: int = 0, scheduler: Scheduler,
                 transport: TransportControl | None = None) -> None:
        self.profile = profile
        self.index = index
        self.scheduler = scheduler
        self.rng = random.Random(f"{profile.sim.seed}:{index}")
        self.fs = VirtualFS()
        self.props = PropertyService()
        self.processes = ProcessTable()
        # Given here (not assigned later) so that an adbd started during the first boot's
        # events, which a fast realtime clock may run inside this constructor, is not lost.
        self.transport: TransportControl = transport or _NoTransport()
        self.adbd_root = False
        self.alive = True              # False once killed: never accepts TCP again
        self.boot_count = 0
        self.android = None            # the Android system of the current boot (model)
        self.faults = DeviceFaults(self, profile.sim.faults)    # injected faults (profile, control channel)
        self._init_storage()
        self.power_on()
        self.faults.arm()

    # -- identity ---------------------------------------------------------------------------
    @property
    def sdk(self) -> int:
        return self.profile.android.sdk

    @property
    def debuggable(self) -> bool:
        return self.profile.product.build_type in ("userdebug", "eng")

    def banner(self) -> str:
        """CNXN banner: `device::props;features=...` (serial empty, as adbd sends it)."""
        p = self.props
        items = [f"ro.product.name={p.get('ro.product.name')}",
                 f"ro.product.model={p.get('ro.product.model')}",
                 f"ro.product.device={p.get('ro.product.device')}",
                 "features=" + ",".join(FEATURES)]
        return "device::" + ";".join(i.replace(":", "_") for i in items)

    # -- boot -------------------------------------------------------------------------------
    def _init_storage(self) -> None:
        for path in ("/data/local/tmp", "/data/misc/net", "/data/misc/ethernet", "/sdcard",
                     "/system/bin", "/vendor/bin", "/proc/net", "/sys/class/net", "/dev/socket"):
            self.fs.mkdir(path)
        self.fs.node("/data/local/tmp").mode = 0o40771   # drwxrwx--x shell shell, as on a device

    def _base_props(self) -> dict[str, str]:
        prof = self.profile
        prod = prof.product
        release = prof.android.release
        fingerprint = f"{prod.brand}/{prod.name}/{prod.device}:{release}/{prod.build_id}/{self.index}:{prod.build_type}/test-keys"
        props = {
            "ro.build.version.release": release,
            "ro.build.version.sdk": str(prof.android.sdk),
            "ro.build.id": prod.build_id,
            "ro.build.type": prod.build_type,
            "ro.build.tags": "test-keys",
            "ro.build.fingerprint": fingerprint,
            "ro.product.name": prod.name,
            "ro.product.model": prod.model,
            "ro.product.device": prod.device,
            "ro.product.brand": prod.brand,
            "ro.product.manufacturer": prod.manufacturer,
            "ro.product.cpu.abi": "x86_64",
            "ro.debuggable": "1" if self.debuggable else "0",
            "ro.secure": "1",
            "ro.adb.secure": "0",
            "ro.serialno": f"sim{self.index:04d}",
            "ro.boot.serialno": f"sim{self.index:04d}",
            "persist.sys.timezone": "UTC",
            "service.adb.root": "1" if self.adbd_root else "0",
            "init.svc.adbd": "running",
            "sys.boot_completed": "",
            "dev.bootcomplete": "",
        }
        props.update(prof.props)
        return props

    def power_on(self) -> None:
        """Container start / power on: a fresh boot of the Android system."""
        self.boot_count += 1
        self.boot_vtime = self.scheduler.now()
        self.props = PropertyService(self._base_props())
        self.processes.clear()
        from harness.sim.android.system import AndroidSystem   # the model of this boot
        self.android = AndroidSystem(self)
        self.android.boot()

    def uptime(self) -> float:
        return self.scheduler.now() - self.boot_vtime

    def log(self, process: str, priority: str, tag: str, message: str, *,
            thread: str = "main", buffer: str = "main") -> None:
        """Write one log record as `process`/`thread` would (logd of the current boot)."""
        if self.android is not None:
            self.android.log(process, priority, tag, message, thread=thread, buffer=buffer)

    # -- lifecycle driven from outside (control channel, shell `reboot`, adbd) ----------------
    def shutdown(self) -> None:
        """Everything on the device stops: adb connections drop, nothing listens."""
        if self.android is not None:
            self.android.shutdown()
            self.android = None
        self.transport.drop_all()
        self.transport.set_listening(False)

    def restart_container(self, down_seconds: float = 0.5) -> None:
        """`docker restart`: the container goes away and boots fresh after `down_seconds`."""
        self.shutdown()
        self.adbd_root = False
        self.scheduler.call_later(down_seconds, self._start_if_alive)

    def reboot(self, down_seconds: float = 0.5) -> None:
        self.restart_container(down_seconds)

    def _start_if_alive(self) -> None:
        if self.alive:
            self.power_on()

    def kill(self) -> None:
        """The device is gone for good (host died, container removed)."""
        self.alive = False
        self.shutdown()

    # -- adbd side -------------------------------------------------------------------------
    def adbd_started(self) -> None:
        """Called by the boot sequence when adbd is up: start accepting TCP."""
        if self.alive:
            self.transport.set_listening(True)

    def restart_adbd(self, as_root: bool, delay: float = 0.1) -> None:
        """adbd exits (root:/unroot:) and init restarts it: TCP drops, comes back shortly."""
        self.adbd_root = as_root
        self.props.set("service.adb.root", "1" if as_root else "0")
        self.transport.drop_all()
        self.transport.set_listening(False)
        self.scheduler.call_later(delay, self.adbd_started)

    def shell_uid(self) -> int:
        return 0 if self.adbd_root else 2000

    async def run_shell(self, cmdline: str, stdin: Input, stdout: Output, stderr: Output,
                        *, uid: int | None = None) -> int:
        """Run `sh -c cmdline` as adbd's shell would; returns the exit status."""
        from harness.sim.shell.interpreter import run_command_line
        return await run_command_line(self, cmdline, stdin, stdout, stderr,
                                      uid=self.shell_uid() if uid is None else uid)
