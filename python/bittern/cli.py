"""The `bittern` command line.

    bittern create PATH [-t URL ...] [-o OUT.torrent] [options]   make a .torrent file
    bittern show FILE.torrent [--json]                            print what a .torrent holds
    bittern tracker [--bind HOST:PORT] [--torrents DIR] [options] run an HTTP tracker
    bittern announce FILE.torrent [--port N] [--event E] [--json] ask its trackers for peers
    bittern scrape FILE.torrent [--json]                          ask its trackers for counts
    bittern seed FILE.torrent PATH [--port N] [--trust]           seed from the original data
    bittern download FILE.torrent|URL [-o DIR] [--exit-when-done] download, then seed
    bittern demo [--peers N] [--size BYTES] [--keep]              a whole swarm on loopback
    bittern desktop-entry [--install]                             open .torrent links with it

Exit status: 0 on success, 1 on a failure, 2 on a usage error, 130 when interrupted (Ctrl-C).
Errors are one line on stderr: `bittern: error: ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import html
import importlib.resources
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import bittern

PROG = "bittern"


class CommandError(Exception):
    """A failure to report as one line, with exit status 1."""


def parse_size(text: str) -> int:
    """Bytes from `262144`, `256K`, `256KiB`, `1M`, `4MB` (K, M and G are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:([kmg])(?:i?b)?|b)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: 262144, 256K, 1M)")
    unit = (match.group(2) or "").lower()
    return int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, not {text!r}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return value


def port_number(text: str) -> int:
    value = non_negative_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, not {text!r}")
    return value


def listen_port(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, not {text!r}")
    return value


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


def describe(error: BaseException) -> str:
    """One line for an exception: `path: reason` for file errors."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{os.fsdecode(error.filename)}: {error.strerror}"
    return str(error) or type(error).__name__


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


def default_name(source: Path) -> str:
    """The name a torrent made from `source` gets: the file's or folder's own name."""
    if source.name not in ("", ".", ".."):
        return source.name
    return source.resolve().name


def cmd_create(args: argparse.Namespace) -> int:
    source = Path(args.path)
    tiers = [[url.strip() for url in tier.split(",") if url.strip()] for tier in args.trackers]
    tiers = [tier for tier in tiers if tier]
    output = Path(args.output) if args.output else Path(f"{args.name or default_name(source)}.torrent")
    if output.exists() and not args.force:
        raise CommandError(f"{output} already exists (use --force to overwrite it)")
    if not output.absolute().parent.is_dir():
        raise CommandError(f"{output.parent}: no such folder")

    options: dict[str, Any] = {}
    if args.no_date:
        options["creation_date"] = None
    progress = ProgressBar() if sys.stderr.isatty() else None
    try:
        torrent = bittern.Torrent.create(
            source,
            announce=tiers or None,
            piece_length=args.piece_length,
            name=args.name,
            comment=args.comment,
            private=args.private,
            url_list=args.web_seeds,
            include_hidden=args.include_hidden,
            threads=args.threads,
            progress=progress,
            **options,
        )
    finally:
        if progress is not None:
            progress.close()
    torrent.save(output)
    print(f"info hash: {torrent.info_hash_hex}")
    print(f"saved to:  {output}")
    return 0


def torrent_json(t: bittern.Torrent) -> dict[str, Any]:
    return {
        "name": t.name,
        "info_hash": t.info_hash_hex,
        "piece_length": t.piece_length,
        "piece_count": t.piece_count,
        "total_length": t.total_length,
        "is_multi_file": t.is_multi_file,
        "private": t.private,
        "files": [{"path": f.path, "length": f.length, "offset": f.offset} for f in t.files],
        "announce": t.announce,
        "announce_list": t.announce_list,
        "trackers": t.trackers,
        "comment": t.comment,
        "created_by": t.created_by,
        "creation_date": t.creation_date,
        "url_list": t.url_list,
        "warnings": t.warnings,
    }


def format_date(timestamp: int) -> str:
    try:
        when = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return str(timestamp)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC ({timestamp})"


def torrent_text(t: bittern.Torrent) -> str:
    rows: list[tuple[str, str]] = [
        ("Name", t.name),
        ("Info hash", t.info_hash_hex),
        ("Total size", f"{human_size(t.total_length)} ({t.total_length} bytes)"),
        ("Piece length", f"{human_size(t.piece_length)} ({t.piece_length} bytes)"),
        ("Pieces", str(t.piece_count)),
        ("Private", "yes" if t.private else "no"),
        ("Announce", t.announce or "-"),
    ]
    for number, tier in enumerate(t.announce_list, 1):
        rows.append(("Tier %d" % number, ", ".join(tier)))
    for url in t.url_list:
        rows.append(("Web seed", url))
    rows += [
        ("Comment", t.comment if t.comment is not None else "-"),
        ("Created by", t.created_by if t.created_by is not None else "-"),
        ("Creation date", format_date(t.creation_date) if t.creation_date is not None else "-"),
    ]
    for warning in t.warnings:
        rows.append(("Warning", warning))
    kind = "multi-file" if t.is_multi_file else "single file"
    rows.append(("Files", f"{len(t.files)} ({kind})"))
    lines = [f"{label + ':':<15}{value}" for label, value in rows]
    width = max(len(human_size(f.length)) for f in t.files)
    lines += [f"  {human_size(f.length):>{width}}  {f.path}" for f in t.files]
    return "\n".join(lines)


def load_torrent(file: str) -> bittern.Torrent:
    try:
        return bittern.Torrent.load(file)
    except (bittern.BencodeError, bittern.MetainfoError) as e:
        raise CommandError(f"{file}: {e}") from e


def cmd_show(args: argparse.Namespace) -> int:
    torrent = load_torrent(args.file)
    if args.json:
        print(json.dumps(torrent_json(torrent), indent=2))
    else:
        print(torrent_text(torrent))
    return 0


def cmd_tracker(args: argparse.Namespace) -> int:
    if args.allow_only and args.torrents is None:
        raise CommandError("--allow-only needs --torrents")
    tracker = bittern.Tracker(
        args.bind,
        interval=args.interval,
        torrents_dir=args.torrents,
        allow_only=args.allow_only,
        trust_ip=args.trust_ip,
        public_stats=args.public_stats,
    )
    # SIGTERM ends it as cleanly as Ctrl-C does; the previous handler comes back afterwards.
    stopping = threading.Event()
    previous: Any = None
    try:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    except ValueError:  # not the main thread: only Ctrl-C (or the caller) stops it
        pass

    def log(line: str) -> None:
        print(f"{datetime.datetime.now():%Y-%m-%d %H:%M:%S} {line}", flush=True)

    def flush_log() -> None:
        for line in tracker.take_log():
            log(line)

    try:
        print(f"announce URL: {tracker.url}", flush=True)
        if args.torrents is not None:
            print(f"index page:   {tracker.url.rsplit('/', 1)[0]}/", flush=True)
            for t in tracker.published:
                print(f"publishing:   {t.file_name} ({t.name}, {t.info_hash_hex})", flush=True)
        try:
            while not stopping.wait(0.2):
                flush_log()
        except KeyboardInterrupt:
            pass
        tracker.stop()
        flush_log()
        log("stopped")
    finally:
        tracker.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def peer_json(p: bittern.Peer) -> dict[str, Any]:
    return {"ip": p.ip, "port": p.port, "peer_id": None if p.peer_id is None else p.peer_id.hex()}


def cmd_announce(args: argparse.Namespace) -> int:
    torrent = load_torrent(args.file)
    result = torrent.announce_to_trackers(
        port=args.port,
        left=args.left,
        event=args.event,
        numwant=args.numwant,
        timeout=args.timeout,
    )
    if args.json:
        answer = {
            "url": result.url,
            "info_hash": torrent.info_hash_hex,
            "interval": result.interval,
            "min_interval": result.min_interval,
            "complete": result.complete,
            "incomplete": result.incomplete,
            "warning": result.warning,
            "peers": [peer_json(p) for p in result.peers],
        }
        print(json.dumps(answer, indent=2))
        return 0
    unknown = "?"
    interval = f"{result.interval} s"
    if result.min_interval is not None:
        interval += f" (min {result.min_interval} s)"
    rows = [
        ("Tracker", result.url),
        ("Interval", interval),
        ("Seeders", unknown if result.complete is None else str(result.complete)),
        ("Leechers", unknown if result.incomplete is None else str(result.incomplete)),
    ]
    if result.warning is not None:
        rows.append(("Warning", result.warning))
    rows.append(("Peers", str(len(result.peers))))
    lines = [f"{label + ':':<10}{value}" for label, value in rows]
    lines += [f"  [{p.ip}]:{p.port}" if ":" in p.ip else f"  {p.ip}:{p.port}" for p in result.peers]
    print("\n".join(lines))
    return 0


def cmd_scrape(args: argparse.Namespace) -> int:
    torrent = load_torrent(args.file)
    result = torrent.scrape(timeout=args.timeout)
    if args.json:
        counts = {
            "complete": None if result is None else result.complete,
            "incomplete": None if result is None else result.incomplete,
            "downloaded": None if result is None else result.downloaded,
        }
        answer = {"info_hash": torrent.info_hash_hex, "known": result is not None, **counts}
        print(json.dumps(answer, indent=2))
    elif result is None:
        print(f"the tracker does not know {torrent.info_hash_hex}")
    else:
        print(f"{'Seeders:':<12}{result.complete}")
        print(f"{'Leechers:':<12}{result.incomplete}")
        print(f"{'Downloaded:':<12}{result.downloaded}")
    return 0


# ----------------------------------------------------------------------------------------------
# seed, download, demo: sessions


def say(line: str) -> None:
    """A line of the log on stdout, above any progress bar or status line."""
    bar = _ACTIVE_BARS[-1] if _ACTIVE_BARS else None
    if _STATUS_LINE.shown:
        _STATUS_LINE.clear()
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


_STATUS_LINE = StatusLine()


def listen_on(port: int | None, host: str = "0.0.0.0") -> str | None:
    """The `listen` of a Session: `None` lets the core pick the first free of 6881-6889."""
    return None if port is None else f"{host}:{port}"


def rate(n: int) -> str:
    return f"{human_size(n)}/s"


def duration(seconds: float | None) -> str:
    """`1:02:03`, `2:03`, or `?` when unknown."""
    if seconds is None:
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def percent(status: bittern.TorrentStatus) -> str:
    return f"{100 * status.progress:.1f}%"


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Makes SIGTERM stop the command as Ctrl-C does (a `KeyboardInterrupt`)."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous: Any = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: only Ctrl-C (or the caller) stops it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """From here on, Ctrl-C and SIGTERM ask to stop (the event yielded is set) instead of
    raising: a clean stop cannot then be cut short at a bad moment."""
    stopping = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    try:
        for which in (signal.SIGINT, signal.SIGTERM):
            previous[which] = signal.signal(which, lambda signum, frame: stopping.set())
    except ValueError:  # not the main thread: signals go elsewhere
        pass
    try:
        yield stopping
    finally:
        for which, handler in previous.items():
            signal.signal(which, handler if handler is not None else signal.SIG_DFL)


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


def drain_events(session: bittern.Session) -> None:
    """Reports what needs telling from the events waiting; a storage error ends the command."""
    for event in session.events(timeout=0):
        if event.kind == "tracker_error":
            say(f"tracker: {event.message}")
        elif event.kind == "peer_banned":
            say(f"banned {event.ip}: it sent data that failed the hash check")
        elif event.kind == "storage_error":
            raise CommandError(f"storage: {event.message}")


def seed_until_stopped(
    session: bittern.Session, handle: bittern.TorrentHandle, tty: bool, stopping: threading.Event
) -> None:
    """Seeds, with a status line (peers, upload rate, uploaded), until `stopping` is set: in
    place on a terminal, else a line every 10 seconds when something changed."""
    last, logged = 0.0, ""
    try:
        while not stopping.wait(0.5):
            drain_events(session)
            s = handle.status()
            line = (
                f"seeding: {s.peers} peer{'' if s.peers == 1 else 's'}, "
                f"{rate(s.upload_rate)} up, {human_size(s.uploaded)} uploaded"
            )
            if tty:
                _STATUS_LINE.show(line)
            elif time.monotonic() - last >= 10 and line != logged:
                say(line)
                last, logged = time.monotonic(), line
    finally:
        _STATUS_LINE.clear()


def stop_session(session: bittern.Session) -> None:
    say("stopping (telling the trackers)...")
    session.close()
    say("stopped")


def add_torrent(
    session: bittern.Session, source: str | Path | bittern.Torrent, save_dir: Path, **options: bool
) -> bittern.TorrentHandle:
    """`session.add` (which loads a path or an http(s) URL), with a failure to load the torrent
    told with where it came from."""
    try:
        return session.add(source, save_dir, **options)
    except (bittern.BencodeError, bittern.MetainfoError) as e:
        raise CommandError(f"{source}: {e}") from e
    except bittern.TrackerError as e:  # fetching the .torrent by URL
        raise CommandError(f"cannot fetch {source}: {e}") from e


def cmd_download(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out}: not a folder")
    out.mkdir(parents=True, exist_ok=True)
    tty = sys.stderr.isatty()
    with terminate_as_interrupt(), bittern.Session(listen=listen_on(args.port)) as session:
        handle = add_torrent(session, args.torrent, out)
        s = handle.status()
        say(f"torrent:   {handle.name} ({handle.info_hash_hex})")
        say(f"size:      {human_size(s.total_length)} in {s.piece_count} pieces")
        say(f"saving to: {out / handle.name}")
        say(f"peers:     listening on port {session.port}")
        if s.finished:
            say(f"complete:  all {s.piece_count} pieces are already here")
        elif s.pieces_done:
            say(f"resuming:  {s.pieces_done} of {s.piece_count} pieces already here ({percent(s)})")
        start, start_bytes = time.monotonic(), s.bytes_done
        display = Display(s.total_length, tty)
        try:
            display.update(s, force=True)
            while not handle.wait(timeout=0.25):
                drain_events(session)
                display.update(handle.status())
            display.update(handle.status(), force=True)
        except KeyboardInterrupt:
            display.close()
            with stop_signals():
                say(f"interrupted at {percent(handle.status())}; run the same command to resume")
                stop_session(session)
            return 130
        finally:
            display.close()
        with stop_signals() as stopping:
            elapsed = time.monotonic() - start
            got = handle.status().total_length - start_bytes
            if got:
                say(f"finished:  {human_size(got)} in {elapsed:.1f} s ({rate(int(got / max(elapsed, 1e-3)))})")
            else:
                say("finished")
            if not args.exit_when_done:
                say(f"seeding on port {session.port}; press Ctrl-C to stop")
                seed_until_stopped(session, handle, tty, stopping)
            stop_session(session)
    return 0


def seed_location(torrent: bittern.Torrent, path: Path) -> Path:
    """The folder to seed `torrent` from, given the file or folder it was made from."""
    if not path.exists():
        raise CommandError(f"{path}: No such file or directory")
    full = path.absolute()
    if full.name in ("", ".", ".."):
        full = path.resolve()
    if full.name != torrent.name:
        raise CommandError(
            f"{path}: the torrent is of {torrent.name!r}, not {full.name!r} "
            "(give the file or folder the torrent was made from)"
        )
    if torrent.is_multi_file and not path.is_dir():
        raise CommandError(f"{path}: the torrent is of a folder, not a file")
    if not torrent.is_multi_file and not path.is_file():
        raise CommandError(f"{path}: the torrent is of a file, not a folder")
    # A file missing or of another size is refused by the session (seed_only never touches it).
    return full.parent


def cmd_seed(args: argparse.Namespace) -> int:
    torrent = load_torrent(args.file)
    path = Path(args.path)
    save_dir = seed_location(torrent, path)
    tty = sys.stderr.isatty()
    with terminate_as_interrupt(), bittern.Session(listen=listen_on(args.port)) as session:
        if not args.trust:
            say(f"checking {path} ({human_size(torrent.total_length)})...")
        handle = add_torrent(session, torrent, save_dir, seed_only=True, trust_data=args.trust)
        s = handle.status()
        if not s.finished:
            raise CommandError(
                f"{path}: the data does not match the torrent "
                f"({s.pieces_done} of {s.piece_count} pieces check)"
            )
        with stop_signals() as stopping:
            say(f"seeding {torrent.name} ({torrent.info_hash_hex}) on port {session.port}; press Ctrl-C to stop")
            seed_until_stopped(session, handle, tty, stopping)
            stop_session(session)
    return 0


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = min(left, 1 << 20)
            f.write(os.urandom(chunk))
            left -= chunk


def same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def start_publishing_tracker(
    torrent: bittern.Torrent, folder: Path
) -> tuple[bittern.Tracker, bittern.Torrent]:
    """A tracker on a free loopback port that publishes `torrent`, announcing to itself.

    The tracker reads its torrents folder when it starts, and the torrent must name the
    tracker's URL: so the port is found first, and taken again if another program took it
    meanwhile. `replace()` keeps the info-hash, so nothing is hashed again.
    """
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        announced = torrent.replace(announce=f"http://127.0.0.1:{port}/announce")
        announced.save(folder / f"{torrent.name}.torrent")
        try:
            return bittern.Tracker(f"127.0.0.1:{port}", interval=60, torrents_dir=folder), announced
        except bittern.StorageError:
            continue
    raise CommandError("cannot find a free port for the tracker")


def torrent_link(index_url: str) -> str:
    """The first `.torrent` link of the tracker's index page, as a browser would follow it."""
    with urllib.request.urlopen(index_url, timeout=10) as response:
        page = response.read().decode("utf-8", "replace")
    match = re.search(r'href="(/torrents/[^"]+)"', page)
    if match is None:
        raise CommandError(f"{index_url}: the index page links no .torrent file")
    return urllib.parse.urljoin(index_url, html.unescape(match.group(1)))


def cmd_demo(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="bittern-demo-"))
    try:
        return run_demo(work, args.peers, args.size)
    finally:
        if args.keep:
            print(f"kept the demo's files in {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_demo(work: Path, peers: int, size: int) -> int:
    tty = sys.stderr.isatty()
    name = "bittern-demo.bin"
    origin_dir, torrents = work / "origin", work / "torrents"
    origin_dir.mkdir()
    torrents.mkdir()
    original = origin_dir / name
    say(f"[1/6] writing {human_size(size)} of random data to {original}")
    write_random(original, size)

    say("[2/6] making its torrent")
    progress = ProgressBar() if tty else None
    try:
        plain = bittern.Torrent.create(original, comment="bittern demo", progress=progress)
    finally:
        if progress is not None:
            progress.close()
    tracker, torrent = start_publishing_tracker(plain, torrents)
    with tracker:
        index = tracker.url.rsplit("/", 1)[0] + "/"
        say(f"[3/6] tracker on {tracker.url}, publishing {torrent.name}.torrent on {index}")
        # Every session is on 127.0.0.1: let each take all the others.
        limit = peers + 4
        with bittern.Session(listen="127.0.0.1:0", max_peers_per_ip=limit) as origin:
            origin.add(torrent, origin_dir, seed_only=True, trust_data=True)
            say(f"[4/6] origin seeder on 127.0.0.1:{origin.port}")
            link = torrent_link(index)
            say(f"[5/6] {peers} downloader{'s' if peers != 1 else ''} fetch {link}")
            sessions: list[bittern.Session] = []
            try:
                for _ in range(peers):
                    sessions.append(bittern.Session(listen="127.0.0.1:0", max_peers_per_ip=limit))
                start = time.monotonic()
                handles = [
                    add_torrent(s, link, work / f"peer{i + 1}") for i, s in enumerate(sessions)
                ]
                times = demo_wait(handles, start, tty)
            finally:
                for s in sessions:
                    s.close()

    say(f"[6/6] verifying every copy against {original.name}")
    mismatched = []
    for i, taken in enumerate(times):
        copy = work / f"peer{i + 1}" / name
        same = copy.is_file() and same_bytes(original, copy)
        if not same:
            mismatched.append(i + 1)
        verdict = "identical" if same else "DIFFERENT"
        say(f"  peer {i + 1}: {verdict}, {human_size(size)} in {taken:.2f} s ({size / taken / 1e6:.1f} MB/s)")
    if mismatched:
        raise CommandError(f"the copies of peers {', '.join(map(str, mismatched))} differ from the original")
    total = max(times)
    say(
        f"all {peers} copies match: {peers * size / 1e6:.1f} MB delivered in {total:.2f} s, "
        f"throughput {peers * size / total / 1e6:.1f} MB/s"
    )
    return 0


def demo_wait(handles: list[bittern.TorrentHandle], start: float, tty: bool, stall: float = 60.0) -> list[float]:
    """Shows the downloads until every one finishes; returns each one's time from `start`."""
    total = handles[0].status().total_length
    displays = [Display(total, tty, label=f"peer {i + 1}", position=i) for i in range(len(handles))]
    times: list[float | None] = [None] * len(handles)
    last_change, last_bytes = time.monotonic(), -1
    try:
        while None in times:
            time.sleep(0.1)
            now = time.monotonic()
            statuses = [h.status() for h in handles]
            for i, s in enumerate(statuses):
                if times[i] is None:
                    if s.finished:
                        times[i] = now - start
                    displays[i].update(s, force=s.finished)
            done = sum(s.bytes_done for s in statuses)
            if done != last_bytes:
                last_change, last_bytes = now, done
            elif now - last_change > stall:
                raise CommandError(f"the downloads made no progress for {stall:.0f} s")
    finally:
        for d in displays:
            d.close()
    return [t for t in times if t is not None]


def desktop_entry() -> str:
    """The desktop entry shipped in the package (`bittern/data/bittern.desktop`)."""
    return (importlib.resources.files("bittern") / "data" / DESKTOP_FILE).read_text(encoding="utf-8")


DESKTOP_FILE = "bittern.desktop"
TORRENT_MIME = "application/x-bittorrent"


def desktop_quote(arg: str) -> str:
    """An argument of a desktop entry's `Exec` line: quoted where the spec asks, and `%`
    doubled (a lone `%` starts a field code)."""
    if arg and not re.search(r"[\s\"'\\><~|&;$*?#()`]", arg):
        return arg.replace("%", "%%")
    # A backslash is unescaped twice (as a string value, then in quotes): four stand for one.
    quoted = re.sub(r'(["`$])', r"\\\1", arg.replace("\\", "\\" * 4))
    return '"' + quoted.replace("%", "%%") + '"'


def own_command() -> list[str]:
    """How to run this very bittern: its script, or this Python with `-m bittern`."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == PROG and script.is_file():
        return [str(script.resolve())]
    return [sys.executable, "-m", "bittern"]


def cmd_desktop_entry(args: argparse.Namespace) -> int:
    text = desktop_entry()
    if not args.install:
        sys.stdout.write(text)
        return 0
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = data_home / "applications"
    folder.mkdir(parents=True, exist_ok=True)
    # The installed copy runs this bittern by its full path: a desktop's PATH often lacks the
    # folder pip put the script in.
    command = " ".join(desktop_quote(part) for part in own_command())
    text = re.sub(r"^Exec=bittern ", f"Exec={command} ", text, flags=re.MULTILINE)
    target = folder / DESKTOP_FILE
    temporary = folder / f".{DESKTOP_FILE}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
    print(f"installed {target}")
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    print(f"  {exec_line}")
    updater = shutil.which("update-desktop-database")
    if updater is not None:
        done = subprocess.run([updater, str(folder)], capture_output=True, text=True)
        if done.returncode == 0:
            print(f"ran update-desktop-database {folder}")
    xdg_mime = shutil.which("xdg-mime")
    if xdg_mime is None:
        print(f"xdg-mime not found: make bittern the application for {TORRENT_MIME} in your desktop's settings")
        return 0
    done = subprocess.run([xdg_mime, "default", DESKTOP_FILE, TORRENT_MIME], capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise CommandError(f"xdg-mime default {DESKTOP_FILE} {TORRENT_MIME} failed: {reason}")
    print(f"ran xdg-mime default {DESKTOP_FILE} {TORRENT_MIME}: .torrent files and links now open with bittern")
    return 0



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Create and inspect BitTorrent (.torrent) files; run and ask trackers; "
        "seed and download torrents. Try `bittern demo`.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {bittern.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    create = commands.add_parser(
        "create",
        help="make a .torrent file from a file or a folder",
        description="Make a .torrent file from a file or a folder.",
    )
    create.add_argument("path", metavar="PATH", help="the file or folder to share")
    create.add_argument(
        "-t",
        "--tracker",
        dest="trackers",
        metavar="URL",
        action="append",
        default=[],
        help="tracker announce URL; repeat for more. Each -t is its own tier; "
        "'-t URL1,URL2' puts several URLs in one tier",
    )
    create.add_argument(
        "-o", "--output", metavar="FILE", help="where to write (default: NAME.torrent here)"
    )
    create.add_argument("-f", "--force", action="store_true", help="overwrite the output file")
    create.add_argument(
        "--piece-length",
        metavar="BYTES",
        type=parse_size,
        help="bytes per piece, a power of two from 16K to 256M (e.g. 262144, 256K, 1M); "
        "default: chosen from the size",
    )
    create.add_argument("--private", action="store_true", help="set the private flag (BEP 27)")
    create.add_argument("--comment", metavar="TEXT", help="a comment")
    create.add_argument("--name", metavar="NAME", help="the torrent's name (default: PATH's name)")
    create.add_argument(
        "--no-date", action="store_true", help="leave the creation date out (reproducible output)"
    )
    create.add_argument(
        "--web-seed",
        dest="web_seeds",
        metavar="URL",
        action="append",
        default=[],
        help="web seed URL (BEP 19); repeat for more",
    )
    create.add_argument(
        "--include-hidden", action="store_true", help="include files and folders starting with '.'"
    )
    create.add_argument(
        "--threads",
        metavar="N",
        type=non_negative_int,
        default=0,
        help="hashing threads (default 0: one per core)",
    )
    create.set_defaults(func=cmd_create)

    show = commands.add_parser(
        "show",
        help="print what a .torrent file holds",
        description="Print every field of a .torrent file.",
    )
    show.add_argument("file", metavar="FILE", help="the .torrent file")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=cmd_show)

    tracker = commands.add_parser(
        "tracker",
        help="run an HTTP tracker until Ctrl-C",
        description="Run an HTTP BitTorrent tracker (announce, scrape, and an index page of the "
        "published torrents) until Ctrl-C or SIGTERM, printing its log.",
    )
    tracker.add_argument(
        "--bind",
        metavar="HOST:PORT",
        default="127.0.0.1:6969",
        help="where to listen (default 127.0.0.1:6969; port 0 picks a free one; "
        "0.0.0.0:6969 for every address)",
    )
    tracker.add_argument(
        "--interval",
        metavar="S",
        type=positive_int,
        default=1800,
        help="seconds peers wait between announces (default 1800)",
    )
    tracker.add_argument(
        "--torrents",
        metavar="DIR",
        help="publish the .torrent files of this folder on the index page",
    )
    tracker.add_argument(
        "--allow-only", action="store_true", help="track only the torrents of --torrents"
    )
    tracker.add_argument(
        "--trust-ip",
        action="store_true",
        help="honour the 'ip' parameter of announces (only on a trusted network)",
    )
    tracker.add_argument(
        "--public-stats", action="store_true", help="serve /stats to every host, not only loopback"
    )
    tracker.set_defaults(func=cmd_tracker)

    announce = commands.add_parser(
        "announce",
        help="announce a torrent to its trackers and print the peers",
        description="Announce a torrent to its trackers (BEP 12 fail-over) and print the answer.",
    )
    announce.add_argument("file", metavar="FILE", help="the .torrent file")
    announce.add_argument(
        "--port",
        type=port_number,
        default=6881,
        help="the port peers would connect to (default 6881)",
    )
    announce.add_argument(
        "--event", choices=["started", "completed", "stopped"], help="the event to report"
    )
    announce.add_argument(
        "--left",
        metavar="BYTES",
        type=non_negative_int,
        help="bytes still to download (default: the whole torrent; 0 announces a seeder)",
    )
    announce.add_argument(
        "--numwant", metavar="N", type=non_negative_int, help="how many peers to ask for"
    )
    announce.add_argument(
        "--timeout",
        metavar="S",
        type=seconds,
        default=15.0,
        help="seconds per tracker (default 15)",
    )
    announce.add_argument("--json", action="store_true", help="print one JSON object")
    announce.set_defaults(func=cmd_announce)

    scrape = commands.add_parser(
        "scrape",
        help="ask a torrent's trackers for its seeders, leechers and downloads",
        description="Scrape (BEP 48) a torrent's trackers for its counts.",
    )
    scrape.add_argument("file", metavar="FILE", help="the .torrent file")
    scrape.add_argument(
        "--timeout",
        metavar="S",
        type=seconds,
        default=15.0,
        help="seconds per tracker (default 15)",
    )
    scrape.add_argument("--json", action="store_true", help="print one JSON object")
    scrape.set_defaults(func=cmd_scrape)

    seed = commands.add_parser(
        "seed",
        help="seed a torrent from the file or folder it was made from",
        description="Seed a torrent (as its origin) from PATH, the file or folder it was made "
        "from, until Ctrl-C or SIGTERM; then tell the trackers and stop. The data is checked "
        "first, unless --trust.",
    )
    seed.add_argument("file", metavar="FILE.torrent", help="the .torrent file")
    seed.add_argument("path", metavar="PATH", help="the file or folder the torrent was made from")
    seed.add_argument(
        "--port",
        metavar="N",
        type=listen_port,
        help="the port to take peers on (default: the first free of 6881-6889; 0: any)",
    )
    seed.add_argument(
        "--trust",
        action="store_true",
        help="skip the check: take the data as complete (it is what the torrent was made from)",
    )
    seed.set_defaults(func=cmd_seed)

    download = commands.add_parser(
        "download",
        help="download a torrent (a .torrent file or its http(s) URL), then seed it",
        description="Download a torrent, given as a .torrent file or its http(s) URL, into DIR, "
        "with a progress bar. Then it keeps seeding until Ctrl-C or SIGTERM (unless "
        "--exit-when-done), tells the trackers it stopped, and exits. Interrupted, it resumes "
        "where it was when run again. To open .torrent links from a browser with it, see "
        "`bittern desktop-entry`.",
    )
    download.add_argument("torrent", metavar="TORRENT", help="a .torrent file, or its http(s) URL")
    download.add_argument(
        "-o", "--output", metavar="DIR", default=".", help="the download folder (default: here)"
    )
    download.add_argument(
        "--port",
        metavar="N",
        type=listen_port,
        help="the port to take peers on (default: the first free of 6881-6889; 0: any)",
    )
    download.add_argument(
        "--exit-when-done",
        action="store_true",
        help="stop when the download is complete instead of seeding",
    )
    download.set_defaults(func=cmd_download)

    demo = commands.add_parser(
        "demo",
        help="show the whole story on this machine: tracker, seeder, downloaders",
        description="Run a swarm on loopback in a temporary folder: a tracker publishing a "
        "torrent of a file of random data, the origin seeder, and downloaders that fetch the "
        ".torrent by its URL as a browser would and download it; then check every copy "
        "against the original and report the throughput.",
    )
    demo.add_argument(
        "--peers", metavar="N", type=positive_int, default=3, help="downloaders (default 3)"
    )
    demo.add_argument(
        "--size",
        metavar="BYTES",
        type=positive_size,
        default=64 << 20,
        help="the file's size (e.g. 4M, 1G; default 64M)",
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary folder")
    demo.set_defaults(func=cmd_demo)

    desktop = commands.add_parser(
        "desktop-entry",
        help="print or install the desktop entry that opens .torrent files with bittern",
        description="Print bittern's desktop entry (Exec=bittern download %u, for "
        f"{TORRENT_MIME}), so that a browser or file manager hands a clicked .torrent file or "
        "link to `bittern download` in a terminal. With --install, write it to "
        "$XDG_DATA_HOME/applications (default ~/.local/share/applications), with the full "
        "path of this bittern, and make it the default application for .torrent files with "
        "`xdg-mime default bittern.desktop application/x-bittorrent` where xdg-mime exists. "
        "Downloads go to the folder the desktop starts it in (usually your home folder). "
        "To undo: delete the file (and pick another application in your desktop's settings).",
    )
    desktop.add_argument(
        "--install", action="store_true", help="install it for this user and make it the default"
    )
    desktop.set_defaults(func=cmd_desktop_entry)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors (status 2)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`bittern show x | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (CommandError, bittern.Error, OSError, ValueError) as e:
        print(f"{PROG}: error: {describe(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
