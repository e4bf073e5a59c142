"""Run virtual Android devices in a child process, and control them: the only door from the
harness into `harness.sim`.

Public API (parent side, what the harness uses):

    validate_profile(name_or_path) -> SimProfile     load + validate a sim profile (ConfigError)
    with SimFarm("sim-android-8.1-buggy", count=2) as farm:   # start() on enter, stop() on exit
        farm.serials                                  ["127.0.0.1:PORT", ...]: `adb connect` them
        farm.control("status")                        {"ok": True, "devices": [...]}
        farm.control("restart", serial=s, down_s=1)   container restart: TCP drops, fresh boot
        farm.control("reboot", serial=s)              same as the device's own reboot
        farm.control("kill", serial=s)                the device is gone for good
        farm.control("fault", serial=s, set={...})    fault settings (harness/sim/faults.py), or clear=True
        farm.control("faults", serial=s)              fault settings, counts and events (evidence)
        farm.control("adbd_restart" | "netd_crash" | "reboot_after" | "log_flood", serial=s, ...)
    SimFarm.attach("127.0.0.1", control_port)         control a farm another process started
    FarmError                                         start/stop/control failures, with the
                                                      child's stderr when it died

Child side: `python -m harness.sim.farm serve --profile NAME|PATH --count N [--host 127.0.0.1]
[--seed S] [--clock-scale X] [--control-port P] [--exit-with-stdin]` runs N `VirtualDevice`s on
one asyncio loop, each with its realtime `Scheduler` and its adbd on a free loopback port
(never 5555-5585). When every adbd listens (or after READY_WAIT_S, or as soon as the model
raised an error) it prints one JSON line: {"control": PORT, "devices": [{"serial":
"127.0.0.1:PORT", "port": PORT, "index": i, "listening": bool}, ...], "errors": [...]}.
`errors` lists exceptions raised on the loop (a crash of the device model); SimFarm.start()
refuses a farm that reports any, and `status` keeps reporting them afterwards.

Control channel: JSON lines on loopback TCP, one request object per line with an "op" key, one
reply line each: {"ok": true, ...} or {"ok": false, "error": "..."}. Ops live in `OPS` and are
added with `@control_op("name")`, so faults can be added without touching the server loop.
SIGTERM/SIGINT (and stdin EOF with --exit-with-stdin) shut the farm down cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import math
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError

from harness.sim.adbd.server import AdbdServer
from harness.sim.android.logd import BUFFERS
from harness.sim.clock import Scheduler
from harness.sim.device import VirtualDevice
from harness.sim.faults import DeviceFaults, FaultSettings
from harness.sim.profile import SimProfile, load_sim_profile
from harness.yamlcheck import ConfigError

__all__ = ["SimFarm", "FarmDevice", "FarmError", "validate_profile", "DEFAULT_PROFILE"]

DEFAULT_PROFILE = "sim-android-8.1-buggy"
MAX_DEVICES = 256
READY_WAIT_S = 10.0            # host seconds the child waits for every adbd before reporting
MAX_REQUEST_BYTES = 64 * 1024
MAX_DOWN_S = 3600.0
MAX_ERRORS_KEPT = 20

log = logging.getLogger("harness.sim.farm")


class FarmError(RuntimeError):
    """The farm could not start, stop or execute a control request."""


def validate_profile(name_or_path: str) -> SimProfile:
    """Load a sim profile by name (device_profiles/NAME.yaml) or path; ConfigError names
    file:line and key path of every problem."""
    return load_sim_profile(name_or_path)


# =============================================================================================
# Child side: the devices, their adbds, the control server
# =============================================================================================
class OpError(Exception):
    """A control request that cannot be served; the text goes back as {"error": ...}."""


OpHandler = Callable[["FarmRuntime", dict[str, Any]], dict[str, Any]]
OPS: dict[str, OpHandler] = {}


FAULT_OPS: set[str] = set()      # listed apart in the unknown-op error: the container runtime's ops first


def control_op(name: str, *, fault: bool = False) -> Callable[[OpHandler], OpHandler]:
    """Register a control op: `handler(runtime, request) -> extra reply fields`; raise OpError.
    `fault`: the op injects a fault (harness/sim/faults.py) rather than playing the runtime."""

    def register(handler: OpHandler) -> OpHandler:
        OPS[name] = handler
        if fault:
            FAULT_OPS.add(name)
        return handler

    return register


@dataclass
class HostedDevice:
    device: VirtualDevice
    scheduler: Scheduler
    adbd: AdbdServer

    @property
    def serial(self) -> str:
        return self.adbd.serial

    def describe(self) -> dict[str, Any]:
        return {"serial": self.serial, "port": self.adbd.port, "index": self.device.index}


class FarmRuntime:
    def __init__(self, profile: SimProfile, count: int, host: str, clock_scale: float) -> None:
        self.profile = profile
        self.host = host
        self.clock_scale = clock_scale
        self.count = count
        self.devices: list[HostedDevice] = []
        self.stopping = asyncio.Event()
        self.errors: list[str] = []
        self._control: asyncio.AbstractServer | None = None

    def on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Keep what went wrong in the model (status reports it), and log it as usual."""
        exc = context.get("exception")
        text = f"{type(exc).__name__}: {exc}" if exc is not None else str(context.get("message"))
        self.errors = (self.errors + [text])[-MAX_ERRORS_KEPT:]
        loop.default_exception_handler(context)

    async def start(self, control_port: int) -> dict[str, Any]:
        for index in range(self.count):
            scheduler = Scheduler(realtime=True, scale=self.clock_scale)
            adbd = AdbdServer(self.host)
            device = VirtualDevice(self.profile, index=index, scheduler=scheduler, transport=adbd)
            adbd.attach(device)
            self.devices.append(HostedDevice(device, scheduler, adbd))
        self._control = await asyncio.start_server(self._serve_control, self.host, control_port,
                                                   limit=MAX_REQUEST_BYTES)
        deadline = time.monotonic() + READY_WAIT_S
        while not all(d.adbd.listening for d in self.devices) and not self.errors \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        port = self._control.sockets[0].getsockname()[1]
        return {"control": port, "errors": self.errors,
                "devices": [{**d.describe(), "listening": d.adbd.listening} for d in self.devices]}

    async def close(self) -> None:
        if self._control is not None:
            self._control.close()
        for hosted in self.devices:
            hosted.adbd.close()
            hosted.scheduler.close()
        for hosted in self.devices:
            await hosted.adbd.wait_closed()

    def find(self, request: dict[str, Any]) -> HostedDevice:
        serial = request.get("serial")
        for hosted in self.devices:
            if hosted.serial == serial:
                return hosted
        known = ", ".join(d.serial for d in self.devices)
        raise OpError(f"unknown serial {serial!r} (known: {known})")

    def handle(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError as exc:
            return {"ok": False, "error": f"expected one JSON object per line: {exc}"}
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return {"ok": False, "error": 'expected a JSON object with a string "op"'}
        handler = OPS.get(request["op"])
        if handler is None:
            runtime_ops = ", ".join(sorted(set(OPS) - FAULT_OPS))
            return {"ok": False, "error": f"unknown op {request['op']!r} (known: {runtime_ops}; "
                                         f"faults: {', '.join(sorted(FAULT_OPS))})"}
        try:
            return {"ok": True, **handler(self, request)}
        except OpError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:       # a bug in an op must not take the farm down
            log.exception("control op %s failed", request["op"])
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(json.dumps(self.handle(line)).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):     # ValueError: a line over the size limit
            pass
        finally:
            writer.close()


def _number(request: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = request.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise OpError(f"{key} must be a number between {low:g} and {high:g}, got {value!r}")
    return float(value)


@control_op("status")
def _op_status(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    devices = []
    for hosted in runtime.devices:
        d = hosted.device
        devices.append({**hosted.describe(), "boot_count": d.boot_count, "alive": d.alive,
                        "powered": d.android is not None, "listening": hosted.adbd.listening,
                        "uptime": round(d.uptime(), 3), "adbd_root": d.adbd_root})
    return {"devices": devices, "errors": runtime.errors}


@control_op("restart")
def _op_restart(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    hosted = runtime.find(request)
    hosted.device.restart_container(_number(request, "down_s", 0.5, 0.0, MAX_DOWN_S))
    return {}


@control_op("reboot")
def _op_reboot(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    runtime.find(request).device.reboot()
    return {}


@control_op("kill")
def _op_kill(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    runtime.find(request).device.kill()
    return {}


def _faults_of(request: dict[str, Any], runtime: FarmRuntime) -> DeviceFaults:
    return runtime.find(request).device.faults


@control_op("fault", fault=True)
def _op_fault(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    """{"set": {...FaultSettings...}} replaces the device's fault settings; {"clear": true} ends them."""
    faults = _faults_of(request, runtime)
    if request.get("clear") is True:
        faults.apply(FaultSettings())
    elif isinstance(request.get("set"), dict):
        try:
            faults.apply(FaultSettings.model_validate(request["set"]))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'set'}: {e['msg']}" for e in exc.errors())
            raise OpError(f"bad fault settings: {problems}") from None
    else:
        raise OpError('expected {"set": {fault settings}} or {"clear": true}')
    return faults.describe()


@control_op("faults", fault=True)
def _op_faults(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    """The device's fault settings, how often each fault fired, and the latest fault events."""
    return _faults_of(request, runtime).describe()


@control_op("adbd_restart", fault=True)
def _op_adbd_restart(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    _faults_of(request, runtime).restart_adbd()
    return {}


@control_op("reboot_after", fault=True)
def _op_reboot_after(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    """A spontaneous reboot `delay_s` device seconds from now."""
    hosted = runtime.find(request)
    hosted.scheduler.call_later(_number(request, "delay_s", 0.0, 0.0, MAX_DOWN_S), hosted.device.faults.reboot)
    return {}


@control_op("netd_crash", fault=True)
def _op_netd_crash(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    if not _faults_of(request, runtime).crash_netd():
        raise OpError("netd is not running on this device")
    return {}


@control_op("log_flood", fault=True)
def _op_log_flood(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    """`lines` records written at once to `buffer` (default main): logd's ring wraps."""
    buffer = request.get("buffer", "main")
    if buffer not in BUFFERS:
        raise OpError(f"buffer must be one of {', '.join(BUFFERS)}, got {buffer!r}")
    faults = _faults_of(request, runtime)
    faults.flood_log(int(_number(request, "lines", 5000, 1, 1_000_000)), buffer)
    return {}


@control_op("shutdown")
def _op_shutdown(runtime: FarmRuntime, request: dict[str, Any]) -> dict[str, Any]:
    runtime.stopping.set()
    return {}


async def serve(profile: SimProfile, count: int, host: str, clock_scale: float,
                control_port: int, exit_with_stdin: bool) -> int:
    loop = asyncio.get_running_loop()
    runtime = FarmRuntime(profile, count, host, clock_scale)
    loop.set_exception_handler(runtime.on_loop_error)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, runtime.stopping.set)
    if exit_with_stdin:
        _stop_on_stdin_eof(loop, runtime.stopping)
    try:
        try:
            ready = await runtime.start(control_port)
        except OSError as exc:
            print(f"error: cannot listen on {host}: {exc}", file=sys.stderr)
            return 1
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        await runtime.stopping.wait()
    finally:
        await runtime.close()
    return 0


def _stop_on_stdin_eof(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
    """The parent holds our stdin: when it dies the pipe closes and the farm must not linger."""
    fd = sys.stdin.fileno()

    def on_readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stopping.set()

    loop.add_reader(fd, on_readable)


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _device_count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_DEVICES:
        raise argparse.ArgumentTypeError(f"expected 1..{MAX_DEVICES} devices, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.sim.farm")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run virtual devices until shut down")
    p.add_argument("--profile", default=DEFAULT_PROFILE, help="profile name or YAML path")
    p.add_argument("--count", type=_device_count, default=1)
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    p.add_argument("--seed", type=int, help="override the profile's sim.seed")
    p.add_argument("--clock-scale", type=_positive_float, help="override the profile's sim.clock_scale")
    p.add_argument("--control-port", type=int, default=0, help="0: any free port")
    p.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin reaches EOF")
    p.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        profile = validate_profile(args.profile)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sim = profile.sim
    updates = {k: v for k, v in (("seed", args.seed), ("clock_scale", args.clock_scale)) if v is not None}
    if updates:
        profile = profile.model_copy(update={"sim": sim.model_copy(update=updates)})
    return asyncio.run(serve(profile, args.count, args.host, profile.sim.clock_scale,
                             args.control_port, args.exit_with_stdin))


# =============================================================================================
# Parent side
# =============================================================================================
@dataclass(frozen=True)
class FarmDevice:
    serial: str
    port: int
    index: int


_PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SimFarm:
    """A farm child process; see the module docstring. Every call has a timeout."""

    def __init__(self, profile: str = DEFAULT_PROFILE, count: int = 1, *, host: str = "127.0.0.1",
                 seed: int | None = None, clock_scale: float | None = None,
                 control_port: int = 0, startup_timeout: float = 30.0) -> None:
        if not 1 <= count <= MAX_DEVICES:
            raise ValueError(f"count must be 1..{MAX_DEVICES}, got {count}")
        if clock_scale is not None and not (math.isfinite(clock_scale) and clock_scale > 0):
            raise ValueError(f"clock_scale must be a number > 0, got {clock_scale!r}")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"host must be an IP address to listen on, like 127.0.0.1, got {host!r}") from None
        if not 0 <= control_port < 65536:
            raise ValueError(f"control_port must be 0 (any) or a TCP port, got {control_port}")
        self.profile = profile
        self.count = count
        self.host = host
        self.seed = seed
        self.clock_scale = clock_scale
        self.requested_control_port = control_port
        self.startup_timeout = startup_timeout
        self.devices: list[FarmDevice] = []
        self.control_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = None

    @classmethod
    def attach(cls, host: str, control_port: int) -> "SimFarm":
        """The control channel of a farm that another process started (an xdist controller, a
        `harness sim`): control() works, stop() leaves the farm running."""
        farm = cls(host=host, control_port=control_port)
        farm.control_port = control_port
        return farm

    @property
    def serials(self) -> list[str]:
        return [d.serial for d in self.devices]

    @property
    def pid(self) -> int | None:
        """The child process running the devices (None when not started): for measuring it."""
        return self._proc.pid if self._proc is not None else None

    def stderr_text(self) -> str:
        """What the child wrote to stderr so far (its log)."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def start(self) -> list[str]:
        if self._proc is not None:
            raise FarmError("farm already started")
        validate_profile(self.profile)           # a bad profile is a ConfigError here, not a crash there
        cmd = [sys.executable, "-m", "harness.sim.farm", "serve", "--profile", str(self.profile),
               "--count", str(self.count), "--host", self.host, "--exit-with-stdin",
               "--control-port", str(self.requested_control_port)]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        if self.clock_scale is not None:
            cmd += ["--clock-scale", repr(self.clock_scale)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
        self._stderr = tempfile.TemporaryFile(prefix="simfarm-", suffix=".log")
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, env=env)
        try:
            self._take_ready(self._read_ready_line())
        except BaseException:
            self._kill()
            raise
        return self.serials

    def _take_ready(self, line: bytes) -> None:
        try:
            ready = json.loads(line)
            self.control_port = int(ready["control"])
            self.devices = [FarmDevice(d["serial"], int(d["port"]), int(d["index"]))
                            for d in ready["devices"]]
            errors = list(ready.get("errors", []))
        except (ValueError, KeyError, TypeError) as exc:
            raise FarmError(f"virtual device farm sent an unreadable ready line {line!r}: {exc}\n"
                            f"{self.stderr_text()}") from exc
        if errors:
            raise FarmError(f"virtual devices failed while starting: {'; '.join(errors)}\n"
                            f"{self.stderr_text()}")

    def _read_ready_line(self) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + self.startup_timeout
        data = b""
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FarmError(f"virtual device farm not ready after {self.startup_timeout:g} s\n"
                                f"{self.stderr_text()}")
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = self._proc.wait(timeout=5)
                    raise FarmError(f"virtual device farm exited with status {code} before it was "
                                    f"ready:\n{self.stderr_text()}")
                data += chunk
        return data.split(b"\n", 1)[0]

    def control(self, op: str, *, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """Send one control request; returns the reply, raises FarmError when it is not ok."""
        if self.control_port is None:
            raise FarmError("farm not started")
        request = json.dumps({"op": op, **args}).encode() + b"\n"
        try:
            with socket.create_connection((self.host, self.control_port), timeout=timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(request)
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
        except OSError as exc:
            raise FarmError(f"farm control {op!r} failed: {exc}") from exc
        try:
            answer = json.loads(reply)
        except ValueError as exc:
            raise FarmError(f"farm control {op!r}: unreadable reply {reply!r}") from exc
        if not answer.get("ok"):
            raise FarmError(f"farm control {op!r}: {answer.get('error', answer)}")
        return answer

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the child down (control `shutdown`, then SIGTERM, then SIGKILL)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self.control("shutdown", timeout=min(timeout, 5.0))
            except FarmError:
                proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        self._release()

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._release()

    def _release(self) -> None:
        if self._proc is not None:
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
        self._proc = None
        self.control_port = None

    def __enter__(self) -> "SimFarm":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
