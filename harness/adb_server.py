"""A private adb server (the binary bundled in the adbutils wheel) or an existing one, and the
few calls the harness makes to it directly. Uses only adbutils and subprocess; every call has a
timeout.

    with AdbServer.start() as server:                 # own server on a free loopback port
        server.connect("127.0.0.1:40123", timeout=15) # "connected to ..." or AdbServerError
        device = server.client().device("127.0.0.1:40123")
        server.cli("-s", "127.0.0.1:40123", "shell", "id", timeout=30)
    server = AdbServer.attach("10.0.0.5:5037")        # someone else's: stop() leaves it running

The private server runs in the foreground (`adb -P PORT nodaemon server`) as our child, so
stop() can always kill exactly the process it started. `client()` never starts a server by
itself: a plain adbutils client runs `adb start-server` on the default port 5037 when the
server it was given does not answer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from typing import Any

import adbutils
from adbutils._adb import AdbConnection

CONNECTED_PREFIXES = ("connected to ", "already connected to ")
RETRY_INTERVAL_S = 0.2
LOOPBACK = "127.0.0.1"


class AdbServerError(RuntimeError):
    """The adb server could not be started, reached, or did not do what was asked."""


class _ExistingServerConnection(AdbConnection):
    def _safe_connect(self):                        # never spawn `adb start-server`
        return self._create_socket()


class PrivateAdbClient(adbutils.AdbClient):
    """adbutils' client, minus its habit of starting a server on 5037 when ours is gone."""

    def __init__(self, host: str, port: int, socket_timeout: float | None = None) -> None:
        super().__init__(host=host, port=port, socket_timeout=socket_timeout)
        self._timeout = socket_timeout

    def make_connection(self, timeout: float | None = None) -> AdbConnection:
        conn = _ExistingServerConnection(self.host, self.port)
        timeout = timeout or self._timeout
        if timeout:
            conn.conn.settimeout(timeout)
        return conn


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def parse_address(address: str) -> tuple[str, int]:
    """HOST:PORT of an adb server."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected an adb server address HOST:PORT, got {address!r}")
    return host, int(port)


class AdbServer:
    def __init__(self, host: str, port: int, *, process: subprocess.Popen[bytes] | None = None,
                 log_file: Any = None) -> None:
        self.host = host
        self.port = port
        self.adb_path = adbutils.adb_path()
        self._process = process
        self._log_file = log_file

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def start(cls, *, port: int | None = None, timeout: float = 20.0) -> "AdbServer":
        """Start a private server on `port` (default: a free loopback port) and wait until it
        answers `host:version`."""
        port = port or free_loopback_port()
        if port == 5037:
            raise ValueError("refusing to start a private adb server on the default port 5037")
        log_file = tempfile.TemporaryFile(prefix="adb-server-", suffix=".log")
        process = subprocess.Popen([adbutils.adb_path(), "-P", str(port), "nodaemon", "server"],
                                   stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                   env=_server_env())
        server = cls(LOOPBACK, port, process=process, log_file=log_file)
        try:
            server._wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    @classmethod
    def attach(cls, address: str) -> "AdbServer":
        """Use an adb server that is already running at HOST:PORT (never stopped by us)."""
        host, port = parse_address(address)
        return cls(host, port)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise AdbServerError(f"adb server on port {self.port} exited with status "
                                     f"{self._process.returncode}:\n{self.log_text()}")
            try:
                self.version(timeout=2.0)
                return
            except (adbutils.AdbError, OSError) as exc:
                if time.monotonic() >= deadline:
                    raise AdbServerError(f"adb server on port {self.port} not ready after "
                                         f"{timeout:g} s: {exc}\n{self.log_text()}") from exc
            time.sleep(RETRY_INTERVAL_S)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def owned(self) -> bool:
        return self._process is not None

    def log_text(self) -> str:
        """The private server's own output (empty for an attached server)."""
        if self._log_file is None:
            return ""
        self._log_file.flush()
        self._log_file.seek(0)
        return self._log_file.read().decode("utf-8", "replace")

    # -- calls ----------------------------------------------------------------------------------
    def client(self, socket_timeout: float | None = None) -> PrivateAdbClient:
        return PrivateAdbClient(self.host, self.port, socket_timeout)

    def version(self, timeout: float = 5.0) -> int:
        with self.client().make_connection(timeout=timeout) as conn:
            conn.send_command("host:version")
            conn.check_okay()
            return int(conn.read_string_block(), 16)

    def connect(self, address: str, timeout: float = 15.0) -> str:
        """`adb connect ADDRESS`; retries refused connections until `timeout`. Returns the
        server's answer; anything but connected/already connected raises with its text."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            try:
                answer = self.client().connect(address, timeout=left)
            except adbutils.AdbError as exc:
                raise AdbServerError(f"adb connect {address}: {exc}") from exc
            if answer.startswith(CONNECTED_PREFIXES):
                return answer
            if "Connection refused" not in answer or time.monotonic() >= deadline:
                raise AdbServerError(f"adb connect {address}: {answer}")
            time.sleep(RETRY_INTERVAL_S)

    def disconnect(self, address: str, timeout: float = 10.0) -> str:
        """`adb disconnect ADDRESS`; a device the server does not know is not an error."""
        try:
            with self.client().make_connection(timeout=timeout) as conn:
                conn.send_command("host:disconnect:" + address)
                conn.check_okay()
                return conn.read_string_block()
        except adbutils.AdbError as exc:
            if "no such device" in str(exc):
                return str(exc)
            raise AdbServerError(f"adb disconnect {address}: {exc}") from exc

    def env(self) -> dict[str, str]:
        """The environment for running the adb CLI (or adbutils) against this server."""
        env = dict(os.environ)
        env["ADB_SERVER_SOCKET"] = f"tcp:{self.host}:{self.port}"
        env["ANDROID_ADB_SERVER_ADDRESS"] = self.host
        env["ANDROID_ADB_SERVER_HOST"] = self.host
        env["ANDROID_ADB_SERVER_PORT"] = str(self.port)
        return env

    def cli(self, *args: str, timeout: float = 60.0, input: bytes = b"",
            text: bool = True) -> subprocess.CompletedProcess:
        """Run the bundled adb CLI against this server, stdin from `input` (never a tty);
        stdout/stderr decoded unless text=False. Raises AdbServerError on timeout."""
        cmd = [self.adb_path, "-H", self.host, "-P", str(self.port), *args]
        try:
            done = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=self.env())
        except subprocess.TimeoutExpired as exc:
            raise AdbServerError(f"{' '.join(cmd)} timed out after {timeout:g} s") from exc
        if text:
            return subprocess.CompletedProcess(cmd, done.returncode, done.stdout.decode("utf-8", "replace"),
                                               done.stderr.decode("utf-8", "replace"))
        return done

    # -- end --------------------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> None:
        """Kill the server if we started it (kill-server, then SIGTERM, then SIGKILL)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                with self.client().make_connection(timeout=min(timeout, 5.0)) as conn:
                    conn.send_command("host:kill")
                    conn.check_okay()
            except (adbutils.AdbError, OSError):
                process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def __enter__(self) -> "AdbServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ADB_SERVER_SOCKET", None)       # -P must decide where the server listens
    # With the libusb backend the server answers nothing for its first ~3 s (initial USB scan);
    # the native backend (still sees USB devices on Linux and macOS) answers at once.
    env.setdefault("ADB_LIBUSB", "0")
    return env
