"""The network library: what a device's tools can do, changing interfaces (and undoing it),
talking to netd, the layered connectivity check and network-state snapshots.

    caps = capabilities(device)                      # probed once per Device, cached
    with InterfaceControl(device, "eth0") as eth0:   # every change journalled, restored on exit
        eth0.flap(count=3, down_s=0.5, up_s=2)
    verdict = check(device, ConnectivityTargets(hosts=("8.8.8.8",), hostname="www.google.com"))
    seconds = wait_for_network(device, timeout=60, logcat=logcat_service)
    changes = diff(before, take_snapshot(device), ignore_net_ids=True)
"""

from harness.net.capabilities import DeviceCapabilities, capabilities
from harness.net.commands import InterfaceState, NetCommands
from harness.net.connectivity import (ConnectivityLayer, ConnectivityTargets, LayerResult, LayerStatus, Verdict,
                                      check, wait_for_network)
from harness.net.errors import (InvalidNetValue, NdcError, NdcUnavailable, NetCommandFailed, NetworkTimeout,
                                RestoreFailed, ToolUnavailable)
from harness.net.iface import InterfaceControl
from harness.net.ndc import Ndc
from harness.net.snapshot import NetworkSnapshot, SnapshotDiff, diff, take_snapshot

__all__ = [
    "ConnectivityLayer", "ConnectivityTargets", "DeviceCapabilities", "InterfaceControl", "InterfaceState",
    "InvalidNetValue", "LayerResult", "LayerStatus", "Ndc", "NdcError", "NdcUnavailable", "NetCommandFailed",
    "NetCommands", "NetworkSnapshot", "NetworkTimeout", "RestoreFailed", "SnapshotDiff", "ToolUnavailable",
    "Verdict", "capabilities", "check", "diff", "take_snapshot", "wait_for_network",
]
