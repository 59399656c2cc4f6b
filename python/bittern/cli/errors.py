"""How a command fails: `CommandError`, told as one line `bittern: error: ...` (`PROG` is the
program's name)."""

from __future__ import annotations

import os

PROG = "bittern"


class CommandError(Exception):
    """A failure to report as one line, with exit status 1."""


def describe(error: BaseException) -> str:
    """One line for an exception: `path: reason` for file errors."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{os.fsdecode(error.filename)}: {error.strerror}"
    return str(error) or type(error).__name__
