"""`bittern tracker`, `announce` and `scrape`: running an HTTP and UDP tracker, and asking a
torrent's trackers."""

from __future__ import annotations

import argparse
import datetime
import json
import signal
import threading
from typing import Any

import bittern

from .errors import CommandError
from .show import load_torrent
from .units import non_negative_int, port_number, positive_int, seconds


def cmd_tracker(args: argparse.Namespace) -> int:
    if args.allow_only and args.torrents is None:
        raise CommandError("--allow-only needs --torrents")
    if args.no_udp and args.udp_bind is not None:
        raise CommandError("--no-udp and --udp-bind cannot go together")
    tracker = bittern.Tracker(
        args.bind,
        interval=args.interval,
        torrents_dir=args.torrents,
        allow_only=args.allow_only,
        trust_ip=args.trust_ip,
        public_stats=args.public_stats,
        udp=not args.no_udp,
        udp_bind=args.udp_bind,
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
        if tracker.udp_url is not None:
            print(f"UDP announce: {tracker.udp_url}", flush=True)
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


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `tracker`, `announce` and `scrape` to the command line."""
    tracker = commands.add_parser(
        "tracker",
        help="run an HTTP and UDP tracker until Ctrl-C",
        description="Run an HTTP BitTorrent tracker (announce, scrape, and an index page of the "
        "published torrents) and a UDP one (BEP 15, on the same port unless told otherwise) "
        "until Ctrl-C or SIGTERM, printing its log.",
    )
    tracker.add_argument(
        "--bind",
        metavar="HOST:PORT",
        default="127.0.0.1:6969",
        help="where to listen (default 127.0.0.1:6969; port 0 picks a free one; "
        "0.0.0.0:6969 for every address)",
    )
    tracker.add_argument(
        "--udp-bind",
        metavar="HOST:PORT",
        help="answer UDP (BEP 15) here instead of on the --bind address and port",
    )
    tracker.add_argument("--no-udp", action="store_true", help="answer HTTP only, no UDP")
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
        help="publish the .torrent files of this folder on the index page (files added, "
        "changed or removed while it runs are noticed within a second)",
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
