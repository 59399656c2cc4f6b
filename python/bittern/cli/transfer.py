"""`bittern download` and `seed`: a session that downloads or seeds one torrent until done or
stopped, and stops cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import bittern

from .errors import CommandError
from .progress import STATUS_LINE, Display, percent, say, tracker_trouble
from .show import load_torrent
from .units import human_size, listen_port, rate


def listen_on(port: int | None, host: str = "0.0.0.0") -> str | None:
    """The `listen` of a Session: `None` lets the core pick the first free of 6881-6889."""
    return None if port is None else f"{host}:{port}"


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


class EventTeller:
    """Tells what needs telling from a session's events: a tracker's trouble once (until its
    message changes: the status line keeps saying it), bans; a storage error ends the command."""

    def __init__(self, session: bittern.Session) -> None:
        self.session = session
        self.trackers: dict[str, str] = {}

    def drain(self) -> None:
        for event in self.session.events(timeout=0):
            if event.kind == "tracker_error":
                if self.trackers.get(event.url) != event.message:
                    self.trackers[event.url] = event.message
                    say(f"tracker: {event.url}: {event.message}")
            elif event.kind == "peer_banned":
                say(f"banned {event.ip}: it sent data that failed the hash check")
            elif event.kind == "storage_error":
                raise CommandError(f"storage: {event.message}")


def seed_until_stopped(
    events: EventTeller, handle: bittern.TorrentHandle, tty: bool, stopping: threading.Event
) -> None:
    """Seeds, with a status line (peers, upload rate, uploaded), until `stopping` is set: in
    place on a terminal, else a line every 10 seconds when something changed."""
    last, logged = 0.0, ""
    try:
        while not stopping.wait(0.5):
            events.drain()
            s = handle.status()
            line = (
                f"seeding: {s.peers} peer{'' if s.peers == 1 else 's'}, "
                f"{rate(s.upload_rate)} up, {human_size(s.uploaded)} uploaded"
            )
            if tty:
                STATUS_LINE.show(line)
            elif time.monotonic() - last >= 10 and line != logged:
                say(line)
                last, logged = time.monotonic(), line
    finally:
        STATUS_LINE.clear()


def stop_session(session: bittern.Session) -> None:
    say("stopping (telling the trackers)...")
    session.close()
    say("stopped")


def save_torrent(handle: bittern.TorrentHandle, path: Path) -> bool:
    """Saves the handle's torrent as a .torrent file at `path` once its metadata is in; whether
    it did."""
    torrent = handle.torrent()
    if torrent is None:
        return False
    try:
        torrent.save(path)
    except OSError as e:
        raise CommandError(f"--save-torrent {path}: {e.strerror or e}") from e
    say(f"saved:     {path} (the .torrent of {torrent.name})")
    return True


def waiting_line(handle: bittern.TorrentHandle, s: bittern.TorrentStatus) -> str:
    """What the torrent waits for before it downloads: its metadata (a magnet link), or the
    check of the data on disk."""
    if s.state == "fetching_metadata":
        line = f"fetching metadata: {s.peers} peer{'' if s.peers == 1 else 's'}"
        trouble = tracker_trouble(handle) if s.peers == 0 else ""
        return f"{line}; {trouble}" if trouble else line
    return f"checking:  {s.pieces_checked} of {s.piece_count} pieces"


def add_torrent(
    events: EventTeller,
    source: str | Path | bittern.Torrent,
    save_dir: Path,
    tty: bool,
    save_as: Path | None = None,
    **options: bool,
) -> bittern.TorrentHandle:
    """`session.add` (which loads a path or an http(s) URL, or takes a magnet link), with a
    failure to load the torrent told with where it came from; returns once the metadata of a
    magnet link is in (saved at `save_as` if given) and the data on disk is checked, showing
    how far each is meanwhile."""
    try:
        handle = events.session.add(source, save_dir, **options)
    except (bittern.BencodeError, bittern.MetainfoError) as e:
        # A URL's failures name it already (as do fetch failures, told by bittern as they are).
        if str(source) in str(e):
            raise
        raise CommandError(f"{source}: {e}") from e
    if handle.status().state == "fetching_metadata":
        say(f"magnet:    {handle.name} ({handle.info_hash_hex}): fetching its metadata from peers")
    saved = False
    last, fetching_told = time.monotonic(), False
    try:
        while not handle.wait_checked(timeout=0.25):
            events.drain()
            if save_as is not None and not saved:
                saved = save_torrent(handle, save_as)
            s = handle.status()
            line = waiting_line(handle, s)
            fetching = s.state == "fetching_metadata"
            if tty:
                STATUS_LINE.show(line)
            # Off a terminal: the fetching of the metadata at once, then every 10 s.
            elif (fetching and not fetching_told) or time.monotonic() - last >= 10:
                say(line)
                last, fetching_told = time.monotonic(), fetching_told or fetching
    finally:
        STATUS_LINE.clear()
    events.drain()
    if save_as is not None and not saved:
        save_torrent(handle, save_as)
    if handle.status().state == "error":
        raise CommandError(f"storage: {handle.error() or 'checking ' + str(save_dir / handle.name) + ' failed'}")
    return handle


def cmd_download(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out}: not a folder")
    out.mkdir(parents=True, exist_ok=True)
    tty = sys.stderr.isatty()
    with terminate_as_interrupt(), bittern.Session(listen=listen_on(args.port)) as session:
        events = EventTeller(session)
        save_as = Path(args.save_torrent) if args.save_torrent else None
        try:
            handle = add_torrent(events, args.torrent, out, tty, save_as)
        except KeyboardInterrupt:
            with stop_signals():
                say("interrupted before the download started")
                stop_session(session)
            return 130
        start = time.monotonic()  # metadata in, data checked: the download starts
        s = handle.status()
        say(f"torrent:   {handle.name} ({handle.info_hash_hex})")
        say(f"size:      {human_size(s.total_length)} in {s.piece_count} pieces")
        say(f"saving to: {out / handle.name}")
        say(f"peers:     listening on port {session.port}")
        # What the check found: the download may have gone on since.
        if s.pieces_found == s.piece_count:
            say(f"complete:  all {s.piece_count} pieces are already here")
        elif s.pieces_found:
            found = s.pieces_found / max(s.piece_count, 1)
            say(f"resuming:  {s.pieces_found} of {s.piece_count} pieces already here ({found:.1%})")
        display = Display(s.total_length, tty, start=start)
        try:
            display.update(s, force=True, handle=handle)
            while not handle.wait(timeout=0.25):
                events.drain()
                display.update(handle.status(), handle=handle)
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
            # The figures of the bar's last line: one source for both.
            final = handle.status()
            say(f"finished:  {display.summary(final)}" if display.fetched(final) else "finished")
            if not args.exit_when_done:
                say(f"seeding on port {session.port}; press Ctrl-C to stop")
                seed_until_stopped(events, handle, tty, stopping)
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
    # A file missing or of another size stops the torrent with a storage error, told by
    # add_torrent (seed_only never touches it).
    return full.parent


def cmd_seed(args: argparse.Namespace) -> int:
    torrent = load_torrent(args.file)
    path = Path(args.path)
    save_dir = seed_location(torrent, path)
    tty = sys.stderr.isatty()
    with terminate_as_interrupt(), bittern.Session(listen=listen_on(args.port)) as session:
        if not args.trust:
            say(f"checking {path} ({human_size(torrent.total_length)})...")
        events = EventTeller(session)
        handle = add_torrent(events, torrent, save_dir, tty, seed_only=True, trust_data=args.trust)
        s = handle.status()
        if not s.finished:
            raise CommandError(
                f"{path}: the data does not match the torrent "
                f"({s.pieces_done} of {s.piece_count} pieces check)"
            )
        with stop_signals() as stopping:
            say(f"seeding {torrent.name} ({torrent.info_hash_hex}) on port {session.port}; press Ctrl-C to stop")
            seed_until_stopped(events, handle, tty, stopping)
            stop_session(session)
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `seed` and `download` to the command line."""
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
        help="download a torrent (a .torrent file, its http(s) URL or a magnet link), then seed it",
        description="Download a torrent, given as a .torrent file, its http(s) URL or a magnet "
        "link, into DIR, with a progress bar. A magnet link's metadata (what a .torrent holds) "
        "is fetched from peers first: those the link names (x.pe) and those its trackers (tr) "
        "give. Then it keeps seeding until Ctrl-C or SIGTERM (unless --exit-when-done), tells "
        "the trackers it stopped, and exits. Interrupted, it resumes where it was when run "
        "again. To open .torrent and magnet links from a browser with it, see "
        "`bittern desktop-entry`.",
    )
    download.add_argument(
        "torrent",
        metavar="TORRENT",
        help='a .torrent file, its http(s) URL, or a magnet link ("magnet:?xt=urn:btih:...", quoted)',
    )
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
    download.add_argument(
        "--save-torrent",
        metavar="PATH",
        help="save the torrent as a .torrent file at PATH (for a magnet link, once its metadata "
        "is in)",
    )
    download.set_defaults(func=cmd_download)
