"""`harness devices`: the farm's devices, as pytest would lease them.

Each device of every adb server (the farm file's, or the one adb server from --adb-server /
ANDROID_ADB_SERVER_HOST/PORT / 127.0.0.1:5037) with its adb state, model, Android release,
profile, lease (who holds it, or why it is quarantined) and probed capabilities. TCP devices of
the farm file are `adb connect`ed first. Nothing is started: a server that does not answer is
reported.

  harness devices --farm farms/two-hosts.yaml
  harness devices --adb-server 10.0.0.12:5037 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from harness.errors import BadConfiguration
from harness.options import DEFAULT_ADB_PORT, parse_host_port

EXIT_OK, EXIT_NO_DEVICE, EXIT_USAGE = 0, 1, 2
COLUMNS = ("SERIAL", "SERVER", "STATE", "MODEL", "RELEASE", "PROFILE", "LEASE", "CAPABILITIES")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("devices", help="list a farm's devices: state, profile, lease, capabilities",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--farm", metavar="FILE", default=os.environ.get("HARNESS_FARM"),
                        help="farm file (YAML); env HARNESS_FARM. Default: one adb server")
    parser.add_argument("--adb-server", metavar="HOST:PORT",
                        help="the adb server to list without a farm file (default: ANDROID_ADB_SERVER_HOST/PORT, "
                             f"else 127.0.0.1:{DEFAULT_ADB_PORT})")
    parser.add_argument("--no-probe", action="store_true", help="list only; do not probe build and capabilities")
    parser.add_argument("--json", action="store_true", help="print the inventory as JSON")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from harness.farm.inventory import discover
    from harness.farm.lease import read_state
    from harness.farm.run import default_lease_dir
    try:
        spec = _spec(args)
    except BadConfiguration as e:
        print(f"harness devices: error: {e.message}", file=sys.stderr)
        return EXIT_USAGE
    inventory = discover(spec, probe=not args.no_probe)
    lease_dir = Path(spec.leases.dir) if spec.leases.dir else default_lease_dir(spec.name)
    leases = {d.id: read_state(lease_dir, d.id) for d in inventory.devices}
    if args.json:
        data = inventory.to_json()
        for device in data["devices"]:
            device["lease"] = leases[f"{device['serial']}@{device['server']}"].as_dict()
        print(json.dumps(data, indent=2))
    else:
        rows = [(d.serial, d.server, d.state, d.model or "-", d.release or "-", d.profile or "-",
                 _lease_text(leases[d.id]), "excluded" if d.excluded else " ".join(d.capabilities) or d.problem or "-")
                for d in inventory.devices]
        print(_table(rows))
        for problem in inventory.problems:
            print(f"problem: {problem}")
    return EXIT_OK if inventory.units() else EXIT_NO_DEVICE


def _spec(args: argparse.Namespace):
    from harness.farm.spec import AdbServerSpec, FarmSpec, load_farm
    from harness.yamlcheck import ConfigError
    if args.farm:
        try:
            return load_farm(args.farm)
        except ConfigError as e:
            raise BadConfiguration("; ".join(str(e).splitlines())) from None
    if args.adb_server:
        address = parse_host_port(args.adb_server, "--adb-server")
    else:
        host = os.environ.get("ANDROID_ADB_SERVER_HOST", "127.0.0.1")
        port = os.environ.get("ANDROID_ADB_SERVER_PORT", str(DEFAULT_ADB_PORT))
        address = parse_host_port(f"{host}:{port}", "ANDROID_ADB_SERVER_HOST/ANDROID_ADB_SERVER_PORT")
    return FarmSpec(adb_servers=[AdbServerSpec(address=str(address))])


def _lease_text(state) -> str:
    if state.state == "quarantined":
        return f"quarantined ({state.reason})" if state.reason else "quarantined"
    if state.holder:
        return f"{state.state} by {state.holder}"
    return state.state


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(row[i])) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
