"""What long work shows: the hashing bar, a download's `Display`, the seeding `StatusLine`, and
`say()` for log lines that must not tear them."""

from __future__ import annotations

import sys
import time
from typing import Any

import bittern

from .units import average_rate, duration, human_size, rate


def text_bar(text: str, **options: Any) -> Any:
    """A tqdm bar whose right side is `text` (tqdm's own sizes and rates would mix `M`, `MB/s`
    and binary units), changed with `show()`."""
    from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

    class TextBar(tqdm):  # type: ignore[misc,valid-type,unused-ignore]
        @property
        def format_dict(self) -> dict[str, Any]:
            return {**super().format_dict, "text": self.text}

        def show(self, n: int, text: str, refresh: bool) -> None:
            self.text = text
            if refresh:
                self.n = n
                self.refresh()
            else:
                self.update(n - self.n)

    TextBar.text = text  # a class attribute: tqdm draws the bar before __init__ returns
    return TextBar(bar_format="{desc}{percentage:3.0f}%|{bar}| {text}", dynamic_ncols=True, **options)


class ProgressBar:
    """A tqdm byte counter on stderr, made on the first report (when the total is known); its
    sizes and rate in binary units, as every line of the CLI."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = text_bar(f"0 B/{human_size(total)}", total=total, file=sys.stderr, desc="hashing: ", leave=False)
        elapsed = time.monotonic() - self._start
        self._bar.show(done, f"{human_size(done)}/{human_size(total)}, {average_rate(done, elapsed)}", False)

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


def tracker_trouble(handle: bittern.TorrentHandle) -> str:
    """What the status line says while the torrent's trackers fail it (issue 9): the torrent
    has none, or none is reachable (each failing URL with its reason); "" otherwise."""
    trouble = handle.tracker_trouble()
    if trouble == "no_tracker":
        return "the torrent has no tracker (add peers, or a tracker)"
    if trouble == "unreachable":
        failing = [t for t in handle.trackers() if t.state == "failing"]
        return "no tracker reachable: " + "; ".join(f"{t.url}: {t.message}" for t in failing)
    return ""


class Display:
    """Progress of one download: a tqdm bar on a terminal (percent, rates, peers, ETA), plain
    lines every `every` seconds otherwise.

    While downloading it shows the engine's current rates; once finished (when the seeds are
    dropped and the current rates and peers fall to 0) it shows `done` and the average rate of
    the whole transfer, the figure `summary()` gives too: one source for what the bar's last
    line and the summary say. Closing shows the latest status first, even when the rate limit
    held it back: the bar never ends behind the real state.
    """

    def __init__(
        self,
        total: int,
        tty: bool,
        label: str = "",
        position: int = 0,
        every: float = 1.0,
        start: float | None = None,
    ) -> None:
        self.tty = tty
        self.label = label
        self.every = every
        self.last = 0.0
        self.start = time.monotonic() if start is None else start
        self.finished_at: float | None = None
        self.latest: bittern.TorrentStatus | None = None
        self.shown: bittern.TorrentStatus | None = None
        self.bar: Any = None
        # What is wrong with the trackers (shown while no peer is connected).
        self.trouble = ""
        if tty:
            self.bar = text_bar(
                "",
                total=total,
                file=sys.stderr,
                desc=f"{label}: " if label else "",
                position=position,
                leave=True,
            )
            _ACTIVE_BARS.append(self.bar)

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the end of the transfer (or to now, until it finished)."""
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.start

    @staticmethod
    def fetched(s: bittern.TorrentStatus) -> int:
        """Bytes this transfer brought: received since the torrent was added (not what was on
        disk already), without those received twice (at most the torrent's size)."""
        return min(s.downloaded, s.total_length)

    def summary(self, s: bittern.TorrentStatus) -> str:
        """`32 MiB in 0.4 s (80 MiB/s)`: what was fetched, in how long, at what average rate."""
        got = self.fetched(s)
        return f"{human_size(got)} in {self.elapsed:.1f} s ({average_rate(got, self.elapsed)})"

    def text(self, s: bittern.TorrentStatus) -> str:
        if s.finished:
            got = self.fetched(s)
            return f"done, {average_rate(got, self.elapsed)} on average" if got else "done"
        line = (
            f"{rate(s.download_rate)} down, {rate(s.upload_rate)} up, "
            f"{s.peers} peer{'' if s.peers == 1 else 's'}, ETA {duration(s.eta)}"
        )
        if s.peers == 0 and self.trouble:
            line += f"; {self.trouble}"
        return line

    def update(
        self, s: bittern.TorrentStatus, force: bool = False, handle: bittern.TorrentHandle | None = None
    ) -> None:
        if handle is not None:
            self.trouble = tracker_trouble(handle)
        if s.finished and self.finished_at is None:
            self.finished_at = time.monotonic()
        self.latest = s
        if self.bar is not None:
            self.bar.show(s.bytes_done, f"{human_size(s.bytes_done)}/{human_size(s.total_length)}, {self.text(s)}", True)
            self.shown = s
            return
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            self.shown = s
            label = f"{self.label}: " if self.label else ""
            say(f"{label}{percent(s):>6} of {human_size(s.total_length)}, {self.text(s)}")

    def close(self) -> None:
        """Shows the latest status if the rate limit held it back, then ends the bar."""
        if self.latest is not None and self.shown is not self.latest:
            self.update(self.latest, force=True)
        if self.bar is not None:
            _ACTIVE_BARS.remove(self.bar)
            self.bar.close()
            self.bar = None
