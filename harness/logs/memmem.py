"""Literal search in a bytearray with the C library's memmem, reached through ctypes.

glibc's memmem (a Horspool variant that hashes byte pairs) searches log text 1.3 to 2.6 times
faster than CPython 3.11's bytes.find (two-way with a 64-entry skip table). Measured on the
benchmark's 200 MB logcat: "Device or resource busy" 36 ms against 62 ms, "Error creating
network" 42 against 69 ms, " rule: " 130 against 248 ms. Importing ctypes costs 3 ms, so it is
worth it from a few MB on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

Find = Callable[[bytes, int, int], int]     # (needle, begin, stop) -> offset or -1, as bytes.find


@cache
def _memmem():
    try:
        import ctypes
        memmem = ctypes.CDLL(None).memmem
    except (ImportError, OSError, AttributeError):
        return None, None                    # no ctypes, or a C library without memmem
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    return ctypes, memmem


def available() -> bool:
    """Whether memmem can be reached (imports ctypes on the first call)."""
    return _memmem()[1] is not None


def finder(buffer: bytearray) -> Find:
    """`buffer.find` for needles, by memmem when it is available.

    The function holds the buffer's address: it is valid until the buffer is resized."""
    ctypes, memmem = _memmem()
    if memmem is None or not buffer:
        return buffer.find
    # The ctypes view is dropped at once, so the bytearray stays resizable (no export kept).
    base = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
    size = len(buffer)

    def find(needle: bytes, begin: int, stop: int) -> int:
        stop = min(stop, size)
        if stop - begin < len(needle) or begin < 0:
            return buffer.find(needle, begin, stop)       # the edge cases, as bytes.find has them
        hit = memmem(base + begin, stop - begin, needle, len(needle))
        return -1 if hit is None else hit - base

    return find
