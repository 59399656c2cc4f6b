"""What long work shows: the hashing bar, a download's `Display`, the seeding `StatusLine`, and
`say()` for log lines that must not tear them."""

from __future__ import annotations

import sys
import time
from typing import Any

import bittern

from .units import duration, human_size, rate


class ProgressBar:
    """A tqdm byte counter on stderr, made on the first report (when the total is known)."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

            self._bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                desc="hashing",
                leave=False,
                dynamic_ncols=True,
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def say(line: str) -> None:
    """A line of the log on stdout, above any progress bar or status line."""
    bar = _ACTIVE_BARS[-1] if _ACTIVE_BARS else None
    if STATUS_LINE.shown:
        STATUS_LINE.clear()
    if bar is not None:
        bar.write(line, file=sys.stdout)
    else:
        print(line, flush=True)
    sys.stdout.flush()


_ACTIVE_BARS: list[Any] = []


class StatusLine:
    """One line on a terminal's stderr, rewritten in place; `say()` clears it first."""

    def __init__(self) -> None:
        self.shown = ""

    def show(self, line: str) -> None:
        if line != self.shown:
            sys.stderr.write("\r\x1b[K" + line)
            sys.stderr.flush()
            self.shown = line

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = ""


STATUS_LINE = StatusLine()


def percent(status: bittern.TorrentStatus) -> str:
    return f"{100 * status.progress:.1f}%"


class Display:
    """Progress of one download: a tqdm bar on a terminal (percent, rates, peers, ETA), plain
    lines every `every` seconds otherwise."""

    def __init__(self, total: int, tty: bool, label: str = "", position: int = 0, every: float = 1.0) -> None:
        self.tty = tty
        self.label = label
        self.every = every
        self.last = 0.0
        self.bar: Any = None
        if tty:
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

            self.bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                desc=f"{label}: " if label else "",
                position=position,
                leave=True,
                dynamic_ncols=True,
                bar_format="{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}",
            )
            _ACTIVE_BARS.append(self.bar)

    @staticmethod
    def text(s: bittern.TorrentStatus) -> str:
        return (
            f"{rate(s.download_rate)} down, {rate(s.upload_rate)} up, "
            f"{s.peers} peer{'' if s.peers == 1 else 's'}, ETA {duration(s.eta)}"
        )

    def update(self, s: bittern.TorrentStatus, force: bool = False) -> None:
        if self.bar is not None:
            self.bar.update(s.bytes_done - self.bar.n)
            self.bar.set_postfix_str(self.text(s), refresh=True)
            return
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            label = f"{self.label}: " if self.label else ""
            say(f"{label}{percent(s):>6} of {human_size(s.total_length)}, {self.text(s)}")

    def close(self) -> None:
        if self.bar is not None:
            _ACTIVE_BARS.remove(self.bar)
            self.bar.close()
            self.bar = None
