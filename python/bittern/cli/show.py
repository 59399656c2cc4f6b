"""`bittern show`: what a .torrent file holds, as text or JSON; `bittern magnet`: a torrent's magnet
link, or what a magnet link holds; and loading a torrent for any command."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

import bittern

from .errors import CommandError
from .units import human_size


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


def magnet_json(m: bittern.Magnet) -> dict[str, Any]:
    return {
        "info_hash": m.info_hash_hex,
        "name": m.name,
        "trackers": m.trackers,
        "peers": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in m.peers],
        "web_seeds": m.web_seeds,
    }


def cmd_magnet(args: argparse.Namespace) -> int:
    if not args.source.lower().startswith("magnet:"):
        print(load_torrent(args.source).magnet())
        return 0
    try:
        magnet = bittern.Magnet.parse(args.source)
    except ValueError as e:
        raise CommandError(str(e)) from e
    if args.json:
        print(json.dumps(magnet_json(magnet), indent=2))
    else:
        for key, value in magnet_json(magnet).items():
            if isinstance(value, list):
                for item in value:
                    print(f"{key + ':':<11}{item[0] if isinstance(item, list) else item}")
            elif value is not None:
                print(f"{key + ':':<11}{value}")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `show` and `magnet` to the command line."""
    show = commands.add_parser(
        "show",
        help="print what a .torrent file holds",
        description="Print every field of a .torrent file.",
    )
    show.add_argument("file", metavar="FILE", help="the .torrent file")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=cmd_show)
    magnet = commands.add_parser(
        "magnet",
        help="print a torrent's magnet link, or what a magnet link holds",
        description="Given a .torrent file, print its magnet link (info-hash, name, trackers and "
        "web seeds). Given a magnet link, print what it holds.",
    )
    magnet.add_argument("source", metavar="FILE|LINK", help="a .torrent file, or a magnet: link")
    magnet.add_argument("--json", action="store_true", help="a link's fields as one JSON object")
    magnet.set_defaults(func=cmd_magnet)
