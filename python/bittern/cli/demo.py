"""`bittern demo`: a whole swarm on loopback (a tracker publishing a torrent, its origin seeder,
downloaders fetching the .torrent by URL), checked against the original."""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

import bittern

from .errors import CommandError
from .progress import Display, ProgressBar, say
from .transfer import EventTeller, add_torrent
from .units import average_rate, human_size, positive_int, positive_size


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


def torrent_link(index_url: str) -> str:
    """The first `.torrent` link of the tracker's index page, as a browser would follow it."""
    import urllib.request  # here, not at the top: 40 ms that every command would pay at start-up

    with urllib.request.urlopen(index_url, timeout=10) as response:
        page = response.read().decode("utf-8", "replace")
    match = re.search(r'href="(/torrents/[^"]+)"', page)
    if match is None:
        raise CommandError(f"{index_url}: the index page links no .torrent file")
    return urllib.parse.urljoin(index_url, html.unescape(match.group(1)))


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile  # here, not at the top: start-up time of every command

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
    origin_dir = work / "origin"
    origin_dir.mkdir()
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
    with bittern.Tracker("127.0.0.1:0", interval=60) as tracker:
        # The torrent must name the tracker's URL, known once it listens: `replace()` keeps the
        # info-hash, so nothing is hashed again.
        torrent = plain.replace(announce=tracker.url)
        tracker.publish(torrent)
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
                    add_torrent(EventTeller(s), link, work / f"peer{i + 1}", tty=False) for i, s in enumerate(sessions)
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
        say(f"  peer {i + 1}: {verdict}, {human_size(size)} in {taken:.2f} s ({average_rate(size, taken)})")
    if mismatched:
        raise CommandError(f"the copies of peers {', '.join(map(str, mismatched))} differ from the original")
    total = max(times)
    say(
        f"all {peers} copies match: {human_size(peers * size)} delivered in {total:.2f} s, "
        f"throughput {average_rate(peers * size, total)}"
    )
    return 0


def demo_wait(handles: list[bittern.TorrentHandle], start: float, tty: bool, stall: float = 60.0) -> list[float]:
    """Shows the downloads until every one finishes; returns each one's time from `start`."""
    total = handles[0].status().total_length
    displays = [
        Display(total, tty, label=f"peer {i + 1}", position=i, start=start) for i in range(len(handles))
    ]
    times: list[float | None] = [None] * len(handles)
    last_change, last_bytes = time.monotonic(), -1
    try:
        while None in times:
            time.sleep(0.1)
            now = time.monotonic()
            statuses = [h.status() for h in handles]
            for i, s in enumerate(statuses):
                if times[i] is None:
                    displays[i].update(s, force=s.finished)
                    if s.finished:
                        # The time the bar's last line shows: one source for both.
                        times[i] = displays[i].elapsed
            done = sum(s.bytes_done for s in statuses)
            if done != last_bytes:
                last_change, last_bytes = now, done
            elif now - last_change > stall:
                raise CommandError(f"the downloads made no progress for {stall:.0f} s")
    finally:
        for d in displays:
            d.close()
    return [t for t in times if t is not None]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `demo` to the command line."""
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
