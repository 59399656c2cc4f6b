"""bittern: a BitTorrent (BEP 3) library with a Rust core.

    >>> import bittern
    >>> bittern.bdecode(b"d3:cow3:mooe")
    {b'cow': b'moo'}
    >>> bittern.bencode({"spam": [1, b"eggs"]})
    b'd4:spamli1e4:eggsee'

`Torrent` reads, edits, writes and creates `.torrent` files; `Magnet` reads and writes magnet
links. `Tracker` runs an HTTP tracker;
`announce()` and `scrape()` (and `Torrent.announce_to_trackers()`, `Torrent.scrape()`) talk to
one. `Session` downloads and seeds torrents:

    with bittern.Session() as session:
        handle = session.add("file.torrent", "downloads")
        handle.wait()

Every exception bittern raises is a `bittern.Error`; most are also a builtin class
(`BencodeError` and `MetainfoError` are `ValueError`s, `StorageError` is an `OSError`,
`TrackerError` a `ConnectionError`, `TimeoutError` the builtin `TimeoutError`; a tracker that
does not answer in time raises `TrackerTimeoutError`, both a `TrackerError` and a
`TimeoutError`).

The engine's diagnostics are off by default; `set_log_level("debug")` shows them on stderr
(`set_log_level(None)` switches them off again).
"""

from ._bittern import (
    AnnounceResult,
    BencodeError,
    CancelledError,
    Error,
    Event,
    EventIterator,
    File,
    Magnet,
    MetainfoError,
    NetworkError,
    Peer,
    PublishedTorrent,
    ScrapeResult,
    Session,
    StorageError,
    TimeoutError,
    Torrent,
    TorrentHandle,
    TorrentStatus,
    Tracker,
    TrackerError,
    TrackerStats,
    TrackerStatus,
    TrackerTimeoutError,
    __version__,
    announce,
    bdecode,
    bencode,
    scrape,
    set_log_level,
)

__all__ = [
    "AnnounceResult",
    "BencodeError",
    "CancelledError",
    "Error",
    "Event",
    "EventIterator",
    "File",
    "Magnet",
    "MetainfoError",
    "NetworkError",
    "Peer",
    "PublishedTorrent",
    "ScrapeResult",
    "Session",
    "StorageError",
    "TimeoutError",
    "Torrent",
    "TorrentHandle",
    "TorrentStatus",
    "Tracker",
    "TrackerError",
    "TrackerStats",
    "TrackerStatus",
    "TrackerTimeoutError",
    "__version__",
    "announce",
    "bdecode",
    "bencode",
    "scrape",
    "set_log_level",
]
