"""Type stubs of the native module `bittern._bittern` (re-exported by `bittern`)."""

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, final

__all__ = [
    "BencodeError",
    "CancelledError",
    "Error",
    "File",
    "MetainfoError",
    "NetworkError",
    "StorageError",
    "Torrent",
    "TrackerError",
    "__version__",
    "bdecode",
    "bencode",
]

__version__: str

def bdecode(data: bytes | bytearray, *, strict: bool = True) -> Any:
    """Decodes one bencoded value into `int`, `bytes`, `list` or `dict` (bytes keys, in input
    order).

    `strict=True` accepts canonical BEP 3 only; `strict=False` also accepts what is non-canonical
    but unambiguous (unsorted keys, leading zeros, `i-0e`, trailing bytes). Nesting is limited
    to 100 levels. Raises `BencodeError` (with `.offset`) for malformed input.
    """

def bencode(obj: object) -> bytes:
    """Encodes `int`, `bytes`, `bytearray`, `str` (as UTF-8), `list`, `tuple` and `dict` (keys
    `bytes` or `str`, written sorted by their bytes).

    Raises `TypeError` for any other type (`bool` included), `OverflowError` for an int beyond
    64 bits, and `ValueError` for a reference cycle or nesting deeper than 100 levels.
    """

class Error(Exception):
    """Base class of every exception bittern raises."""

class BencodeError(Error, ValueError):
    """Malformed or (in strict mode) non-canonical bencode."""

    offset: int
    """Byte offset of the first byte at fault."""

class MetainfoError(Error, ValueError):
    """A torrent that is invalid, or that cannot be made as asked."""

class StorageError(Error, OSError):
    """Reading or writing a file failed (`errno`, `strerror` and `filename` set when known)."""

class CancelledError(Error):
    """The work was cancelled."""

class TrackerError(Error, ConnectionError):
    """A tracker could not be reached or answered with a failure."""

class NetworkError(Error, ConnectionError):
    """A peer connection failed."""

@final
class File:
    """One file of a torrent."""

    @property
    def path(self) -> str:
        """The path relative to the download folder, components joined by `/`, invalid UTF-8
        replaced. A multi-file torrent's paths start with the torrent's name."""
    @property
    def path_bytes(self) -> tuple[bytes, ...]:
        """The path's components as raw bytes."""
    @property
    def length(self) -> int: ...
    @property
    def offset(self) -> int:
        """Where the file starts in the torrent's concatenated data."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Torrent:
    """A `.torrent` file (BEP 3 metainfo). Immutable: `replace()` makes an edited copy.

    Loading is tolerant of non-canonical bencode (reported in `warnings`); the info-hash is
    SHA-1 over the exact `info` bytes of the file, and unknown keys are kept.
    """

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Torrent:
        """Loads a `.torrent` file. Raises `StorageError`, `BencodeError` or `MetainfoError`."""
    @staticmethod
    def from_bytes(data: bytes | bytearray) -> Torrent:
        """Loads a torrent from its bytes. Raises `BencodeError` or `MetainfoError`."""
    @staticmethod
    def create(
        path: str | os.PathLike[str],
        *,
        announce: str | Sequence[str | Sequence[str]] | None = None,
        piece_length: int | None = None,
        name: str | None = None,
        comment: str | None = None,
        created_by: str | None = ...,
        creation_date: int | datetime | None = ...,
        private: bool = False,
        url_list: Sequence[str] = ...,
        include_hidden: bool = False,
        threads: int = 0,
        progress: Callable[[int, int], object] | None = None,
    ) -> Torrent:
        """Creates a torrent from a file (single-file torrent) or a folder (multi-file).

        `announce` is a URL, or a sequence whose items are each a URL (a tier of its own) or a
        sequence of URLs (one tier, BEP 12). `piece_length` must be a power of two from 16 KiB
        to 256 MiB; by default it is chosen from the size. `created_by` defaults to
        `"bittern <version>"` and `creation_date` to now; `None` leaves either out (use
        `creation_date=None` for reproducible bytes). `threads=0` hashes on every core.

        A folder's files are ordered by their relative path's bytes (as mktorrent orders
        them). Hidden entries (names starting with `.`) are left out unless `include_hidden`;
        symbolic links are followed (a loop or a broken link is an error); sockets, FIFOs and
        devices are left out; empty folders leave no trace.

        Hashing runs with the GIL released. `progress(bytes_done, bytes_total)` is called on
        the calling thread about every 100 ms and once at the end; an exception it raises
        (or a `KeyboardInterrupt`) cancels creation and propagates as it is.
        """
    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the torrent to `path` through a temporary file and a rename."""
    def to_bytes(self) -> bytes:
        """The torrent's bytes, as they would be saved."""
    def __bytes__(self) -> bytes: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Callable[[bytes], Torrent], tuple[bytes]]: ...
    def replace(
        self,
        *,
        announce: str | None = ...,
        announce_list: str | Sequence[str | Sequence[str]] | None = ...,
        comment: str | None = ...,
        created_by: str | None = ...,
        creation_date: int | datetime | None = ...,
        url_list: Sequence[str] | None = ...,
    ) -> Torrent:
        """A copy with the given outer fields changed (`None` removes a field, an argument left
        out keeps it). The `info` bytes, and so the info-hash, stay the same."""
    def piece_hash(self, index: int) -> bytes:
        """The SHA-1 of piece `index` (negative counts from the end); `IndexError` if none."""
    @property
    def name(self) -> str:
        """The suggested name (file or top folder), invalid UTF-8 replaced."""
    @property
    def name_bytes(self) -> bytes: ...
    @property
    def info_hash(self) -> bytes:
        """SHA-1 of the exact `info` bytes (20 bytes)."""
    @property
    def info_hash_hex(self) -> str:
        """The info-hash as 40 lowercase hex digits."""
    @property
    def info_bytes(self) -> bytes:
        """The exact bytes of the encoded `info` value."""
    @property
    def piece_length(self) -> int: ...
    @property
    def piece_count(self) -> int: ...
    @property
    def pieces(self) -> bytes:
        """Every piece's SHA-1, 20 bytes each, concatenated."""
    @property
    def total_length(self) -> int: ...
    @property
    def files(self) -> list[File]: ...
    @property
    def is_multi_file(self) -> bool: ...
    @property
    def private(self) -> bool: ...
    @property
    def announce(self) -> str | None: ...
    @property
    def announce_list(self) -> list[list[str]]: ...
    @property
    def trackers(self) -> list[str]:
        """Every tracker URL: `announce-list` tiers first, then `announce` if not among them."""
    @property
    def comment(self) -> str | None: ...
    @property
    def created_by(self) -> str | None: ...
    @property
    def creation_date(self) -> int | None:
        """Seconds since the Unix epoch."""
    @property
    def url_list(self) -> list[str]:
        """BEP 19 web seeds."""
    @property
    def warnings(self) -> list[str]:
        """What loading accepted that was not canonical, or ignored."""
