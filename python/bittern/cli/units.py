"""Sizes, rates and durations: parsing them from arguments (argparse `type=` helpers) and
printing them."""

from __future__ import annotations

import argparse
import re
from typing import Callable


def parse_size(text: str) -> int:
    """Bytes from `262144`, `256K`, `256KiB`, `1M`, `4MB` (K, M and G are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:([kmg])(?:i?b)?|b)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: 262144, 256K, 1M)")
    unit = (match.group(2) or "").lower()
    return int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def whole_number(low: int, high: int | None, expected: str) -> Callable[[str], int]:
    """An argparse `type=` for a whole number from `low` to `high` (no bound: None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")
        return value

    return parse


non_negative_int = whole_number(0, None, "a whole number of 0 or more")
positive_int = whole_number(1, None, "a whole number of 1 or more")
port_number = whole_number(1, 65535, "a port from 1 to 65535")
listen_port = whole_number(0, 65535, "a port from 0 to 65535")


def positive_size(text: str) -> int:
    value = parse_size(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a size of 1 byte or more, not {text!r}")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value


def human_size(n: int) -> str:
    """`n` bytes in binary units, e.g. `1.5 MiB`."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            if unit == "B":
                return f"{n} B"
            return f"{size:.0f} {unit}" if size.is_integer() else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def rate(n: float) -> str:
    """`n` bytes per second in binary units, e.g. `1.5 MiB/s`."""
    return f"{human_size(int(n))}/s"


def average_rate(n: int, seconds: float) -> str:
    """The rate of `n` bytes moved in `seconds`: what every summary of a transfer shows."""
    return rate(n / max(seconds, 1e-3))


def duration(seconds: float | None) -> str:
    """`1:02:03`, `2:03`, or `?` when unknown."""
    if seconds is None:
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
