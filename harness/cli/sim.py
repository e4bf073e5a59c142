"""`harness sim`: start virtual Android devices and keep them running for adb, pytest or you.

The devices are connected to a private adb server (the bundled adb, on a free port: a server
you run on 5037 is left alone) or to the server given with --adb-server. Ctrl-C or SIGTERM
disconnects them and stops everything this command started.

  harness sim --count 2
  harness sim --profile device_profiles/my-profile.yaml --clock-scale 0.25
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from harness.cli._argtypes import clock_scale as _clock_scale, seed as _seed
from harness.embedded import EmbeddedDevices
from harness.errors import BadConfiguration, HarnessError
from harness.options import DEFAULT_PROFILE, parse_host_port

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_COUNT = 64


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a number of devices 1-{MAX_COUNT}, got {text!r}")
    return int(text)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("sim", help="run virtual Android devices for adb, pytest or you",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default=DEFAULT_PROFILE, metavar="NAME|PATH",
                        help=f"sim device profile (device_profiles/NAME.yaml or a path; default {DEFAULT_PROFILE})")
    parser.add_argument("--count", type=_count, default=1, metavar="N", help="number of devices (default 1)")
    parser.add_argument("--adb-server", metavar="HOST:PORT",
                        help="connect the devices to this adb server instead of a private one")
    parser.add_argument("--seed", type=_seed, help="seed of the devices' random timings (default: the profile's)")
    parser.add_argument("--clock-scale", type=_clock_scale, metavar="X",
                        help="device time speed: 0.25 runs 4x faster than real time (default: the profile's)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        address = str(parse_host_port(args.adb_server, "--adb-server")) if args.adb_server else None
    except BadConfiguration as e:
        return _error(e.message, EXIT_USAGE)
    lab = EmbeddedDevices(args.profile, args.count, adb_address=address, seed=args.seed,
                          clock_scale=args.clock_scale)
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        lab.start()
        _print_usage(lab)
        while not stopping.wait(1.0):
            pass
        print("harness sim: stopping", flush=True)
    except BadConfiguration as e:
        return _error(e.message, EXIT_USAGE)
    except HarnessError as e:
        return _error(str(e), EXIT_FAILED)
    finally:
        lab.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _error(message: str, status: int) -> int:
    print(f"harness sim: error: {message}", file=sys.stderr)
    return status


def _print_usage(lab: EmbeddedDevices) -> None:
    server = lab.server
    assert server is not None, "started"
    host, port = server.host, server.port
    adb = f"adb -P {port}" if host == "127.0.0.1" else f"adb -H {host} -P {port}"
    owner = "private, started by harness sim" if server.owned else "existing, left running"
    lines = [f"profile: {lab.profile}"]
    lines += [f"device: {serial}" for serial in lab.serials]
    lines += [f"adb server: {host}:{port} ({owner})",
              f"control port: 127.0.0.1:{lab.control_port} (JSON lines, e.g. {{\"op\": \"status\"}})",
              "",
              "point adb at them (the bundled adb is " + server.adb_path + "):",
              f"  export ANDROID_ADB_SERVER_PORT={port}; adb devices -l"
              if host == "127.0.0.1" else
              f"  export ANDROID_ADB_SERVER_HOST={host} ANDROID_ADB_SERVER_PORT={port}; adb devices -l",
              f"  {adb} -s {lab.serials[0]} shell",
              f"  pytest --adb-server {host}:{port} --serial {lab.serials[0]}",
              "Ctrl-C or SIGTERM stops them."]
    print("\n".join(lines), flush=True)
