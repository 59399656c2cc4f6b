"""How a command fails: `CommandError`, told as one line `bittern: error: ...` (`PROG` is the
program's name)."""

from __future__ import annotations

import os

import bittern

PROG = "bittern"


class CommandError(Exception):
    """A failure to report as one line, with exit status 1."""


def describe(error: BaseException) -> str:
    """One line for an exception: bittern's own say what was done to which file; Python's
    file errors become `path: reason`."""
    if isinstance(error, bittern.Error):
        return str(error) or type(error).__name__
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{os.fsdecode(error.filename)}: {error.strerror}"
    return str(error) or type(error).__name__
