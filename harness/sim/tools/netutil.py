"""What the network tools share: reaching the current boot's kernel and netd, privileges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.sim.android.kernel import Kernel

if TYPE_CHECKING:
    from harness.sim.android.netd import Netd
    from harness.sim.shell.api import Proc

AID_ROOT = 0
AID_SYSTEM = 1000


def kernel_of(proc: "Proc") -> Kernel | None:
    android = proc.device.android
    return getattr(android, "kernel", None) if android is not None else None


def netd_of(proc: "Proc") -> "Netd | None":
    """The running netd of this boot, or None (not started yet, stopped, crashed)."""
    android = proc.device.android
    netd = getattr(android, "netd", None) if android is not None else None
    return netd if netd is not None and netd.running else None


def has_net_admin(proc: "Proc") -> bool:
    """CAP_NET_ADMIN: only root has it among shell users (adb root, su)."""
    return proc.uid == AID_ROOT


def exit_code(status: int) -> int:
    """exit(-1) and friends as the shell sees them (0-255)."""
    return status & 0xff
