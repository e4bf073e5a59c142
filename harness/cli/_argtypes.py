"""argparse `type=` converters shared by the subcommands (one clear line per bad value).

The leading underscore keeps this module out of subcommand discovery.
"""

from __future__ import annotations

import argparse
import math


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def bounded_float(low: float, high: float, expected: str, *, low_inclusive: bool = False):
    """A converter accepting finite numbers in (low, high] (or [low, high])."""

    def convert(text: str) -> float:
        value = _number(text)
        above = value >= low if low_inclusive else value > low
        if not (math.isfinite(value) and above and value <= high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return convert


clock_scale = bounded_float(0, 100, "a number > 0 and <= 100 (0.25 = 4x faster)")


def seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
