"""bittern: a BitTorrent (BEP 3) library with a Rust core.

    >>> import bittern
    >>> bittern.bdecode(b"d3:cow3:mooe")
    {b'cow': b'moo'}
    >>> bittern.bencode({"spam": [1, b"eggs"]})
    b'd4:spamli1e4:eggsee'

`Torrent` reads, edits, writes and creates `.torrent` files. Every exception bittern raises is a
`bittern.Error`; most are also a builtin class (`BencodeError` and `MetainfoError` are
`ValueError`s, `StorageError` is an `OSError`).
"""

from ._bittern import (
    BencodeError,
    CancelledError,
    Error,
    File,
    MetainfoError,
    NetworkError,
    StorageError,
    Torrent,
    TrackerError,
    __version__,
    bdecode,
    bencode,
)

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
