"""SIGTERM handled like Ctrl-C, so what the harness started (virtual devices, a private adb
server) is stopped by the same cleanup paths: CI systems and process managers send SIGTERM."""

from __future__ import annotations

import signal
import threading


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def terminate_like_ctrl_c() -> None:
    """Install the handler unless someone else already handles SIGTERM (or we are not in the
    main thread, where Python cannot install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
