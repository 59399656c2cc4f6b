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

Before the command, `-v` shows the engine's diagnostics (debug level) on stderr, `-vv` all of
them (trace).

Sizes and rates are in binary units: 1 KiB = 1024 bytes, 1 MiB = 1024 KiB (and KiB/s, MiB/s).

Exit status: 0 on success, 1 on a failure, 2 on a usage error, 130 when interrupted (Ctrl-C).
Errors are one line on stderr: `bittern: error: ...`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

import bittern

from . import create, demo, desktop, show, tracker, transfer
from .errors import PROG, CommandError, describe

__all__ = ["CommandError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Create and inspect BitTorrent (.torrent) files; run and ask trackers; "
        "seed and download torrents. Try `bittern demo`. Sizes and rates are in binary units: "
        "1 KiB = 1024 bytes, 1 MiB = 1024 KiB (and KiB/s, MiB/s).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {bittern.__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="show the engine's diagnostics on stderr: -v for debug, -vv for trace "
        "(before the command: bittern -v download ...)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for topic in (create, show, tracker, transfer, demo, desktop):
        topic.add_commands(commands)
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
        if args.verbose:
            bittern.set_log_level("debug" if args.verbose == 1 else "trace")
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
