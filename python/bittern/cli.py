"""The `bittern` command line.

    bittern create PATH [-t URL ...] [-o OUT.torrent] [options]   make a .torrent file
    bittern show FILE.torrent [--json]                            print what a .torrent holds
    bittern tracker [--bind HOST:PORT] [--torrents DIR] [options] run an HTTP tracker
    bittern announce FILE.torrent [--port N] [--event E] [--json] ask its trackers for peers
    bittern scrape FILE.torrent [--json]                          ask its trackers for counts

Exit status: 0 on success, 1 on a failure, 2 on a usage error, 130 when interrupted (Ctrl-C).
Errors are one line on stderr: `bittern: error: ...`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Create and inspect BitTorrent (.torrent) files; run and ask trackers.",
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
