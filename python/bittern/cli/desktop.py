"""`bittern desktop-entry`: the desktop entry that hands clicked .torrent files and links, and
magnet links, to `bittern download`."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

from .errors import PROG, CommandError

DESKTOP_FILE = "bittern.desktop"
TORRENT_MIME = "application/x-bittorrent"
MAGNET_MIME = "x-scheme-handler/magnet"
# What the entry is made the default application for.
MIME_TYPES = (TORRENT_MIME, MAGNET_MIME)


def desktop_entry() -> str:
    """The desktop entry shipped in the package (`bittern/data/bittern.desktop`)."""
    import importlib.resources  # here, not at the top: start-up time of every command

    return (importlib.resources.files("bittern") / "data" / DESKTOP_FILE).read_text(encoding="utf-8")


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
    import subprocess  # here, not at the top: start-up time of every command

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
    types = " ".join(MIME_TYPES)
    if xdg_mime is None:
        print(f"xdg-mime not found: make bittern the application for {types} in your desktop's settings")
        return 0
    done = subprocess.run([xdg_mime, "default", DESKTOP_FILE, *MIME_TYPES], capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise CommandError(f"xdg-mime default {DESKTOP_FILE} {types} failed: {reason}")
    print(f"ran xdg-mime default {DESKTOP_FILE} {types}: .torrent files and links, and magnet links, now open with bittern")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `desktop-entry` to the command line."""
    desktop = commands.add_parser(
        "desktop-entry",
        help="print or install the desktop entry that opens .torrent files and magnet links with bittern",
        description="Print bittern's desktop entry (Exec=bittern download %u, for "
        f"{TORRENT_MIME} and {MAGNET_MIME}), so that a browser or file manager hands a clicked "
        ".torrent file or link, or a magnet link, to `bittern download` in a terminal. With "
        "--install, write it to $XDG_DATA_HOME/applications (default "
        "~/.local/share/applications), with the full path of this bittern, and make it the "
        "default application for .torrent files and magnet links with `xdg-mime default "
        f"bittern.desktop {TORRENT_MIME} {MAGNET_MIME}` where xdg-mime exists. "
        "Downloads go to the folder the desktop starts it in (usually your home folder). "
        "To undo: delete the file (and pick another application in your desktop's settings).",
    )
    desktop.add_argument(
        "--install", action="store_true", help="install it for this user and make it the default"
    )
    desktop.set_defaults(func=cmd_desktop_entry)
