"""`bittern create`: a .torrent file from a file or a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import bittern

from .errors import CommandError
from .progress import ProgressBar
from .units import non_negative_int, parse_size


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
    for problem in torrent.tracker_problems():
        print(f"warning: {problem}", file=sys.stderr)
    torrent.save(output)
    print(f"info hash: {torrent.info_hash_hex}")
    print(f"saved to:  {output}")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `create` to the command line."""
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
