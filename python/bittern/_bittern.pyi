"""Type stubs of the native module `bittern._bittern` (re-exported by `bittern`)."""

import builtins
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, final

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
    "Torrent",
    "TorrentHandle",
    "TorrentStatus",
    "Tracker",
    "TrackerError",
    "TrackerStats",
    "TrackerStatus",
    "__version__",
    "announce",
    "bdecode",
    "bencode",
    "scrape",
    "set_log_level",
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

def set_log_level(level: str | None) -> None:
    """Shows bittern's diagnostics of `level` (`"error"`, `"warn"`, `"info"`, `"debug"` or
    `"trace"`, any case) and above on stderr, or none with `None` or `"off"` (the default).

    Process-wide; it can be switched on, changed and off again any number of times. The lines
    go to the process's stderr (file descriptor 2) directly, not through `sys.stderr`. Raises
    `ValueError` for an unknown name.
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
    """Reading or writing a file failed (`errno`, `strerror` and `filename` set when known), or a
    `Tracker` could not start (its address taken, its folder unreadable)."""

class CancelledError(Error):
    """The work was cancelled."""

class TimeoutError(Error, builtins.TimeoutError):
    """Something did not happen within its deadline."""

class TrackerError(Error, ConnectionError):
    """A tracker could not be reached, did not answer in time, answered nonsense, or refused
    (its `failure reason` is in the message)."""

class TrackerTimeoutError(TrackerError, TimeoutError):
    """A tracker did not answer in time: caught by `except TrackerError` and by
    `except TimeoutError` alike."""

class NetworkError(Error, ConnectionError):
    """A peer connection failed, or a `.torrent` could not be fetched from its URL (the server
    cannot be reached, or answers with an HTTP error)."""

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
        url_list: Sequence[str] | None = None,
        include_hidden: bool = False,
        threads: int = 0,
        progress: Callable[[int, int], object] | None = None,
    ) -> Torrent:
        """Creates a torrent from a file (single-file torrent) or a folder (multi-file).

        `announce` is a URL, or a sequence whose items are each a URL (a tier of its own) or a
        sequence of URLs (one tier, BEP 12). `piece_length` must be a power of two from 16 KiB
        to 256 MiB; by default it is chosen from the size. `created_by` defaults to
        `"bittern <version>"` and `creation_date` to now; `None` leaves either out (use
        `creation_date=None` for reproducible bytes); their `...` defaults are deliberate, as
        `None` means "left out". `url_list` is BEP 19 web seeds (`None`: none). `threads=0`
        hashes on every core.

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
        out keeps it). The `info` bytes, and so the info-hash, stay the same. The `...` defaults
        are deliberate: they mean "left out", which `None` cannot."""
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
    def tracker_problems(self) -> list[str]:
        """What keeps peers from finding each other through the trackers, one line each: no
        tracker at all, or URLs that are not http, https or udp with a host. Empty when every
        tracker URL can work (`bittern create` warns with these)."""
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
    def magnet(self) -> str:
        """The torrent's magnet link (BEP 9): its info-hash, name, trackers (a tier each) and web
        seeds; `Magnet.parse()` reads it back."""
    @property
    def warnings(self) -> list[str]:
        """What loading accepted that was not canonical, or ignored."""
    def announce_to_trackers(
        self,
        *,
        peer_id: bytes | None = None,
        port: int = 6881,
        uploaded: int = 0,
        downloaded: int = 0,
        left: int | None = None,
        event: _Event | None = None,
        numwant: int | None = None,
        timeout: float = 15.0,
    ) -> AnnounceResult:
        """Announces this torrent to its trackers and returns the first answer.

        (Named so because `announce` is the torrent's announce URL.) The trackers are the
        `announce-list` tiers if there are any, else `announce` (BEP 12): tiers in order, each
        shuffled, the next URL tried when one fails or refuses. `left` defaults to
        `total_length` (nothing downloaded yet); the other options are as in `bittern.announce`.
        Raises `TrackerError` with the last tracker's error if none answers (also when the
        torrent names no tracker).
        """
    def scrape(self, *, timeout: float = 15.0) -> ScrapeResult | None:
        """This torrent's counts (BEP 48) from the first of its trackers that answers a scrape,
        in the order of `announce_to_trackers`; `None` if that tracker does not know the torrent.
        Raises `TrackerError` if none answers. Waits and Ctrl-C as in `bittern.announce`."""

_Event = Literal["started", "completed", "stopped"]
"""What an announce tells the tracker happened; `None` is a regular re-announce."""

def announce(
    url: str | Sequence[str | Sequence[str]],
    info_hash: bytes,
    *,
    left: int,
    peer_id: bytes | None = None,
    port: int = 6881,
    uploaded: int = 0,
    downloaded: int = 0,
    event: _Event | None = None,
    numwant: int | None = None,
    timeout: float = 15.0,
) -> AnnounceResult:
    """Announces `info_hash` (20 bytes) to an HTTP(S) or UDP (BEP 15) tracker and returns its answer.

    `url` is an announce URL, or BEP 12 tiers as in `Torrent.create(announce=...)`: the first
    tracker that answers wins. `left` is the bytes still to download (0: a seeder). `peer_id`
    (20 bytes) defaults to this process's own, `-BI0100-` (bittern 0.1.0) and 12 random
    letters and digits made once. `port` is where peers can connect (1 to 65535). `numwant`
    asks for that many peers (the tracker caps it). Compact peers are asked for.

    `timeout` (seconds) bounds each tracker's request (connecting, at most 10 s of it,
    redirects and reading the answer). The call waits with the GIL released, and Ctrl-C raises
    `KeyboardInterrupt` within 0.1 s; the abandoned request ends on its own within `timeout`.

    Raises `TrackerError` (a `ConnectionError`) if the tracker cannot be reached, does not
    answer in time, answers something that is not a tracker answer, or refuses (its `failure
    reason` is the message); `ValueError` for a bad argument.
    """

def scrape(
    url: str, info_hashes: Sequence[bytes], *, timeout: float = 15.0
) -> dict[bytes, ScrapeResult]:
    """Scrapes (BEP 48) the tracker whose announce URL is `url` (its last path segment must
    start with `announce`) for `info_hashes` (20 bytes each; none asks for every torrent, which
    many trackers refuse). A `udp://` tracker (BEP 15) is asked at its own address, and only for
    named torrents. Torrents the tracker does not know are left out of the answer.
    Raises `TrackerError`; waits and Ctrl-C as in `announce`."""

@final
class Peer:
    """A peer from a tracker's answer."""

    @property
    def ip(self) -> str:
        """The address, e.g. `"10.0.0.1"` or `"2001:db8::1"`."""
    @property
    def port(self) -> int: ...
    @property
    def peer_id(self) -> bytes | None:
        """Only in a tracker's dictionary answer; `None` in a compact one."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class AnnounceResult:
    """A tracker's answer to an announce."""

    @property
    def url(self) -> str:
        """The tracker that answered."""
    @property
    def interval(self) -> int:
        """Seconds to wait before the next regular announce, as the tracker said."""
    @property
    def min_interval(self) -> int | None: ...
    @property
    def complete(self) -> int | None:
        """Seeders, if the tracker said."""
    @property
    def incomplete(self) -> int | None:
        """Leechers, if the tracker said."""
    @property
    def peers(self) -> list[Peer]:
        """Other peers (IPv4 and IPv6), never the one announcing."""
    @property
    def warning(self) -> str | None:
        """The tracker's `warning message`."""

@final
class ScrapeResult:
    """One torrent's counts from a scrape."""

    @property
    def complete(self) -> int:
        """Seeders."""
    @property
    def downloaded(self) -> int:
        """Completed downloads the tracker has counted."""
    @property
    def incomplete(self) -> int:
        """Leechers."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class TrackerStats:
    """A tracker's counters at one moment."""

    @property
    def torrents(self) -> int: ...
    @property
    def peers(self) -> int: ...
    @property
    def seeders(self) -> int: ...
    @property
    def leechers(self) -> int: ...
    @property
    def downloaded(self) -> int:
        """`completed` events counted (once per peer and torrent), over all torrents."""
    @property
    def announces(self) -> int: ...
    @property
    def scrapes(self) -> int: ...
    @property
    def refused(self) -> int:
        """Requests answered with a `failure reason`."""
    @property
    def connections(self) -> int:
        """Connections open now."""
    @property
    def udp_connects(self) -> int:
        """UDP connect requests answered."""
    @property
    def udp_announces(self) -> int:
        """UDP announces answered with peers (also counted in `announces`)."""
    @property
    def udp_scrapes(self) -> int:
        """UDP scrapes answered (also counted in `scrapes`)."""
    @property
    def udp_errors(self) -> int:
        """UDP error answers sent (bad connection ids, malformed or refused requests)."""
    @property
    def udp_dropped(self) -> int:
        """UDP packets left unanswered: oversized, too short, from unroutable sources."""
    def as_dict(self) -> dict[str, int]:
        """The counters as a new `dict`, in the order above."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class PublishedTorrent:
    """A `.torrent` file a `Tracker` publishes: from its `torrents_dir`, or by
    `Tracker.publish()`."""

    @property
    def file_name(self) -> str:
        """The file's name in the folder (or made by `publish()`); it is served at
        `/torrents/<file_name>`."""
    @property
    def info_hash(self) -> bytes: ...
    @property
    def info_hash_hex(self) -> str: ...
    @property
    def name(self) -> str:
        """The torrent's name."""
    @property
    def total_length(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Tracker:
    """An HTTP BitTorrent tracker (BEP 3, 23 compact peers, 7 IPv6, 48 scrape) and a UDP one
    (BEP 15) serving on threads of its own from construction until `stop()`.

        with bittern.Tracker("127.0.0.1:0") as tracker:
            print(tracker.url)   # http://127.0.0.1:<port>/announce

    Routes: `/announce`, `/scrape`, `/` (an index page linking the published torrents with live
    counts), `/torrents/<file>` (a published file, as `application/x-bittorrent`) and `/stats`
    (the counters as JSON, to loopback clients only unless `public_stats`). Every bad request
    gets a bencoded `failure reason`, and the tracker goes on serving.

    `bind` is `"host:port"` (port 0 picks a free port; `"[::]:6969"` for IPv6). BEP 15 is
    answered on the same address and port (see `udp_url`), or at `udp_bind` (`"host:port"`), or
    not at all with `udp=False`; HTTP and UDP share the swarms. Peers are told
    to re-announce every `interval` seconds (at least `min_interval` apart) and are dropped after
    twice that in silence. `torrents_dir` publishes the folder's `.torrent` files (files added,
    changed or removed while it runs are noticed within a second; unreadable ones are skipped and
    logged); `publish()` adds a torrent from code. `allow_only` then tracks only the published
    torrents (it needs `torrents_dir`). The `ip` parameter of announces is ignored unless
    `trust_ip` (honouring it lets anyone point a swarm at a third party; turn it on only on a
    trusted network).

    Peers per answer: `default_numwant` when not asked, at most `max_numwant`; `max_scrape`
    info-hashes per scrape; `max_connections` open at once (past it the oldest is closed to
    make room); `idle_timeout` seconds for a request's head or between requests; `threads`
    threads serve HTTP and as many UDP (0: one of each per core).

    Starting releases the GIL while it binds. Raises `StorageError` (an `OSError`) if it cannot
    listen (the address is taken or not local) or cannot read `torrents_dir`; `ValueError` for a
    bad argument. The tracker stops on `stop()`, at the end of a `with` block, or when garbage
    collected.
    """

    def __new__(
        cls,
        bind: str = "127.0.0.1:6969",
        *,
        interval: int = 1800,
        min_interval: int = 60,
        torrents_dir: str | os.PathLike[str] | None = None,
        allow_only: bool = False,
        trust_ip: bool = False,
        public_stats: bool = False,
        max_torrents: int = 1000000,
        max_peers_per_torrent: int = 100000,
        default_numwant: int = 50,
        max_numwant: int = 200,
        max_scrape: int = 64,
        max_connections: int = 4096,
        idle_timeout: float = 30.0,
        threads: int = 0,
        udp: bool = True,
        udp_bind: str | None = None,
    ) -> Tracker: ...
    @property
    def url(self) -> str:
        """The announce URL, e.g. `http://127.0.0.1:6969/announce` (with 127.0.0.1 when bound
        to every address)."""
    @property
    def udp_url(self) -> str | None:
        """The UDP announce URL, e.g. `udp://127.0.0.1:6969/announce` (with 127.0.0.1 when bound
        to every address); `None` with `udp=False`."""
    @property
    def address(self) -> tuple[str, int]:
        """The address listened on, as `(host, port)`."""
    @property
    def port(self) -> int: ...
    @property
    def running(self) -> bool:
        """True until `stop()`."""
    @property
    def published(self) -> list[PublishedTorrent]:
        """The torrents published, from `torrents_dir` (rescanned when the last scan is over a
        second old) and by `publish()`, sorted by file name."""
    def publish(self, torrent: Torrent) -> PublishedTorrent:
        """Publishes `torrent` at once: listed on the index page, served at
        `/torrents/<file_name>` and, with `allow_only`, tracked. Its file name is the torrent's
        name plus `.torrent` (leading dots dropped, at most 200 bytes), with `-<8 hex digits of
        the info-hash>` added when another published torrent has that name. Publishing it again
        keeps its name. Raises `StorageError` past 10,000 torrents or for a file over 16 MiB."""
    def unpublish(self, info_hash: bytes) -> bool:
        """Withdraws the torrent with `info_hash` that `publish()` published; returns whether
        there was one. A file in `torrents_dir` stays published while it is there."""
    def stats(self) -> TrackerStats:
        """The counters now."""
    def take_log(self) -> list[str]:
        """The log lines since the last call: start, new torrents, completed downloads, refused
        requests, skipped files. The newest 1024 are kept when nobody takes them."""
    def stop(self) -> None:
        """Stops accepting, lets open requests finish (up to 2 s) and ends the tracker's
        threads, with the GIL released. Calling it again does nothing; `url`, `published`,
        `stats()` and `take_log()` still work afterwards, `publish()` and `unpublish()` raise
        `ValueError`."""
    def __enter__(self) -> Tracker: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        """Stops the tracker."""

_State = Literal["checking", "fetching_metadata", "downloading", "seeding", "paused", "error"]
"""What a torrent is doing."""

_DisconnectReason = Literal[
    "closed_by_peer",
    "idle",
    "io",
    "malformed",
    "rule_broken",
    "banned",
    "limit",
    "slow_reader",
    "both_seeding",
    "paused",
    "stopped",
    "duplicate",
]
"""Why a peer connection ended."""

_EventKind = Literal[
    "piece_verified",
    "hash_failed",
    "finished",
    "tracker_reply",
    "tracker_error",
    "peer_banned",
    "storage_error",
    "fetching_metadata",
    "metadata_received",
]
"""What happened to a torrent."""

@final
class Session:
    """A BitTorrent session: a listen socket, a runtime and threads of its own, and the
    torrents it downloads and seeds.

        with bittern.Session() as session:
            handle = session.add("file.torrent", "downloads")
            handle.wait()                # until every piece is verified
            for event in session.events(timeout=1):
                print(event)

    `listen` is `"host:port"` where peers connect (port 0 picks a free port); by default the
    first free port of 6881 to 6889 on every address. At most `max_connections` peer
    connections are open at once over every torrent, `max_peers_per_torrent` per torrent and
    `max_peers_per_ip` per torrent from one IP address, which may have as many handshakes in
    progress at most (raise it when every peer is on one machine). `unchoke_slots` peers are
    uploaded to by rate, plus one optimistic unchoke. `handshake_timeout` bounds connecting
    and the handshake; a peer silent for `idle_timeout` seconds is dropped, and so is one
    that takes none of what we send for as long.

    Every call that blocks releases the GIL: starting (binding), `add()` (fetching, reading and
    checking), `remove()` and `close()` (announcing `stopped`), and the waits of
    `TorrentHandle.wait()` and the event iterator, which wake every 100 ms so that Ctrl-C
    raises `KeyboardInterrupt` at once. No engine thread ever calls Python.

    Raises `StorageError` (an `OSError`) if it cannot listen; `ValueError` for a setting that
    cannot work (a limit below 1, a timeout of 0; 0 `unchoke_slots` leaves only the
    optimistic unchoke: core's rules, the same in C).
    The session stops (announcing `stopped` for every torrent and saving resume data) on
    `close()`, at the end of a `with` block, or when garbage collected. A session that another
    thread is still using (inside `add()`, say) stops when that call returns.
    """

    def __new__(
        cls,
        *,
        listen: str | None = None,
        max_connections: int = 200,
        max_peers_per_torrent: int = 50,
        max_peers_per_ip: int = 4,
        unchoke_slots: int = 4,
        handshake_timeout: float = 10.0,
        idle_timeout: float = 120.0,
    ) -> Session: ...
    @property
    def listen_address(self) -> tuple[str, int]:
        """The address listened on for peers, as `(host, port)`."""
    @property
    def port(self) -> int:
        """The port listened on for peers."""
    @property
    def peer_id(self) -> bytes:
        """This session's peer id (20 bytes), as sent to trackers and peers."""
    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
    def add(
        self,
        torrent: Torrent | Magnet | str | os.PathLike[str] | bytes,
        save_dir: str | os.PathLike[str],
        *,
        seed_only: bool = False,
        trust_data: bool = False,
    ) -> TorrentHandle:
        """Adds a torrent and starts it (announcing to its trackers); returns its handle.

        `torrent` is a `Torrent`, a `.torrent` file's bytes, its path, or its `http://` or
        `https://` URL (the scheme in any case; fetched as a browser would, at most 16 MiB, 15 s; a
        `file:` URL is a path), or a magnet link (a `"magnet:?..."` string or a `Magnet`): its
        metadata is asked of peers first (state `fetching_metadata`, a `fetching_metadata` event,
        then `metadata_received`, and `torrent()` gives it). Its file (or its folder, for a
        multi-file torrent) goes into `save_dir`. What is there already is checked first, in the background (the state is
        `checking`, with `pieces_checked` counting), or taken from the fast resume data when the
        files are as they were when it was saved, so an interrupted download resumes. `seed_only`
        never asks for pieces and never creates, truncates or resizes a file (an origin seeder on
        the original data: a file missing or of another size is a storage error); `trust_data`
        skips the check and takes the data as complete (an origin seeder that made the torrent from
        these very files).

        What is on disk never fails the add: the files are opened in the background too, and one
        that cannot be opened or made (a link or a folder where a file belongs, a missing file
        with `seed_only`, no permission, ...) is a `storage_error` event and state `error`, with
        `error()` saying why, until `resume()` opens and checks them again.

        Blocks while fetching the torrent, with the GIL released; Ctrl-C stops a fetch within
        0.1 s, adds nothing and raises `KeyboardInterrupt`. Raises `BencodeError` or `MetainfoError`
        for a bad torrent (`MetainfoError` too when a URL answers with something else, such as an
        HTML page), `NetworkError` when a URL cannot be fetched (`TimeoutError` past 15 s); the
        message names the URL. `TypeError` for another type, and `ValueError` for another URL scheme
        or a malformed magnet link, if the torrent is in the session already or the session is
        closed.
        """
    def add_peers(self, torrent: TorrentHandle, peers: Sequence[tuple[str, int]]) -> None:
        """Gives a torrent peers to connect to, as `(host, port)` pairs (a host name is
        resolved), besides those its trackers name. A paused torrent connects on `resume()`.
        `ValueError` for a host that does not resolve, or a handle of another session."""
    def remove(self, torrent: TorrentHandle) -> None:
        """Stops a torrent (announcing `stopped`, saving its resume data) and forgets it; its
        files stay. The handle's last status stays readable. `ValueError` if it was removed
        already or is of another session. Waits up to about 3 s for trackers to take the
        `stopped` announce; Ctrl-C raises `KeyboardInterrupt` at once (the torrent is removed
        all the same)."""
    def events(self, *, timeout: float | None = None) -> EventIterator:
        """An iterator over the session's events, oldest first.

        Events wait in one queue from the session's start until an iterator takes them (each
        is yielded once, whichever iterator asks); past 4096 waiting, the oldest are dropped.
        Each step waits up to `timeout` seconds for the next event (`None`: no limit; 0: only
        what is waiting) and the iteration ends when none comes, or when the session closes.
        Waits release the GIL and wake every 100 ms for Ctrl-C.

            for event in session.events(timeout=5):
                if event.kind == "finished":
                    break
        """
    def close(self) -> None:
        """Stops every torrent (announcing `stopped`, saving resume data) and the session's
        threads, with the GIL released. Calling it again does nothing. Afterwards `add`,
        `add_peers` and `remove` raise `ValueError`, as do `pause` and `resume` of its handles;
        `events` yields nothing; `listen_address`, `port` and `peer_id` still tell what they
        were. Ctrl-C raises `KeyboardInterrupt` at once; the session is closed all the same."""
    def __enter__(self) -> Session: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        """Closes the session."""

@final
class Magnet:
    """A magnet link (BEP 9): the info-hash that names a torrent, with what helps find it.

    `Magnet.parse(link)` reads one; `str(magnet)` writes it back (`Torrent.magnet()` makes the
    link of a torrent). Each `tr` is a tier of its own in `trackers`; `peers` are the `x.pe`
    addresses, `web_seeds` the `ws` URLs. Keys bittern does not know are skipped."""

    @staticmethod
    def parse(link: str) -> Magnet:
        """Parses a magnet link: exactly one `xt=urn:btih:` info-hash (40 hex digits or 32
        base32 letters), then `dn`, `tr`, `x.pe` and `ws`. Raises `ValueError` saying what is
        wrong (not a magnet link, no or two info-hashes, a malformed hash or peer address, a
        link over 64 KiB)."""
    @property
    def info_hash(self) -> bytes:
        """The info-hash, 20 bytes."""
    @property
    def info_hash_hex(self) -> str:
        """The info-hash as 40 lowercase hex digits."""
    @property
    def name(self) -> str | None:
        """`dn`: the name to show until the torrent's metadata is known, or None."""
    @property
    def trackers(self) -> list[list[str]]:
        """`tr`: tracker URLs by tier, a tier for each (the first is asked first)."""
    @property
    def peers(self) -> list[tuple[str, int]]:
        """`x.pe`: peers to connect to directly, as `(host, port)`."""
    @property
    def web_seeds(self) -> list[str]:
        """`ws`: web seed URLs (BEP 19)."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class TorrentHandle:
    """A torrent in a `Session`, from `Session.add()`. Usable from any thread; after its
    removal or its session's end, its last status stays readable."""

    @property
    def info_hash(self) -> bytes:
        """SHA-1 of the torrent's `info` (20 bytes)."""
    @property
    def info_hash_hex(self) -> str: ...
    @property
    def name(self) -> str:
        """The torrent's name: a magnet link's `dn` (else its info-hash in hex) until its
        metadata is in."""
    def torrent(self) -> Torrent | None:
        """The torrent's metainfo, to save as a `.torrent` file: None for a magnet link's until
        its metadata is in (state no longer `"fetching_metadata"`)."""
    def status(self) -> TorrentStatus:
        """A snapshot now (refreshed every half second, and when a piece is verified)."""
    def wait(self, timeout: float | None = None) -> bool:
        """Waits until every piece is verified, or `timeout` seconds pass (`None`: no limit);
        returns whether it finished. Returns `False` at once if the torrent was removed, its
        session closed, or a storage error stopped it (state `"error"`; `resume()` retries).
        The GIL is released; Ctrl-C raises `KeyboardInterrupt` within 0.1 s."""
    def wait_checked(self, timeout: float | None = None) -> bool:
        """Waits until the check of the data on disk that follows an add is over (state
        `checking` no more: the torrent runs, or the check failed with state `error`), or
        `timeout` seconds pass; returns whether it is over. `False` at once if the torrent was
        removed or its session closed. The GIL is released; Ctrl-C raises `KeyboardInterrupt`
        within 0.1 s."""
    def trackers(self) -> list[TrackerStatus]:
        """Each tracker URL of the torrent with how it fares (tier order); empty when the
        torrent names no tracker."""
    def tracker_trouble(self) -> Literal["no_tracker", "unreachable"] | None:
        """What is wrong with the torrent's trackers: `"no_tracker"` (it names none),
        `"unreachable"` (none works and at least one failed: `trackers()` says why), or
        None."""
    def error(self) -> StorageError | None:
        """The storage error that stopped the torrent (state `"error"`), as the `StorageError` it
        is (not raised: with `errno` and `filename`), or None; None again once `resume()`d."""
    def pause(self) -> None:
        """Stops exchanging data: drops every peer and makes no new connection until
        `resume()`. `ValueError` if removed or the session is closed."""
    def resume(self) -> None:
        """Undoes `pause()` (it connects again to the peers it had, and to those its trackers
        name), or tries again after a storage error stopped the torrent (state `"error"`): its
        files are opened and checked again (state `"checking"`), then it runs. `ValueError` if
        removed or the session is closed."""

@final
class TrackerStatus:
    """One tracker of a torrent as its announcer last found it, from
    `TorrentHandle.trackers()` (a snapshot)."""

    @property
    def url(self) -> str: ...
    @property
    def tier(self) -> int:
        """Its BEP 12 tier (0 for the first)."""
    @property
    def state(self) -> Literal["not_tried", "working", "failing"]: ...
    @property
    def peers(self) -> int:
        """Peers its last reply named (0 until one came)."""
    @property
    def interval(self) -> float | None:
        """Seconds between announces its last reply asked for; None before one."""
    @property
    def message(self) -> str | None:
        """Why its last announce failed, while `"failing"`; else None."""
    @property
    def failures(self) -> int:
        """Announces that failed in a row (0 once one is answered)."""
    @property
    def since(self) -> float | None:
        """Seconds since it last answered or failed; None before it was asked."""
    @property
    def retry_in(self) -> float | None:
        """Seconds until the trackers are asked again; None before the first announce."""

@final
class TorrentStatus:
    """A snapshot of a torrent, from `TorrentHandle.status()`."""

    @property
    def state(self) -> _State: ...
    @property
    def progress(self) -> float:
        """Verified bytes over the total, from 0.0 to 1.0."""
    @property
    def finished(self) -> bool:
        """Whether every piece is verified."""
    @property
    def pieces_done(self) -> int:
        """Pieces verified."""
    @property
    def piece_count(self) -> int: ...
    @property
    def pieces_checked(self) -> int:
        """Pieces looked at by the check of the data on disk (state `checking`, which follows
        an add); `piece_count` once it is done."""
    @property
    def pieces_found(self) -> int:
        """Pieces the check found on disk when the torrent started (the download resumed from
        them); 0 while checking."""
    @property
    def bytes_done(self) -> int:
        """Bytes of the verified pieces."""
    @property
    def total_length(self) -> int: ...
    @property
    def download_rate(self) -> int:
        """Bytes per second, over the last few seconds."""
    @property
    def upload_rate(self) -> int:
        """Bytes per second, over the last few seconds."""
    @property
    def uploaded(self) -> int:
        """Payload bytes sent since the torrent was added."""
    @property
    def downloaded(self) -> int:
        """Payload bytes received since the torrent was added."""
    @property
    def peers(self) -> int:
        """Peers connected now (one connected both ways counts once)."""
    @property
    def disconnects(self) -> dict[_DisconnectReason, int]:
        """Peer connections ended so far, by reason (every reason, zeros included): the peer
        closed it (`closed_by_peer`), it went quiet (`idle`), the socket failed (`io`), it sent
        what is not the protocol (`malformed`) or broke a rule (`rule_broken`), it was banned
        for bad data (`banned`), a connection limit (`limit`), it stopped reading
        (`slow_reader`), both sides are seeds (`both_seeding`), the torrent was paused
        (`paused`) or stopped (`stopped`), a second connection with one peer (`duplicate`)."""
    @property
    def eta(self) -> int | None:
        """Seconds to completion at the current rate; 0 when finished, `None` when it cannot
        be told (nothing is coming in)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class Event:
    """Something that happened to a torrent of a session, from `Session.events()`."""

    @property
    def info_hash(self) -> bytes:
        """The torrent's info-hash (20 bytes)."""
    @property
    def info_hash_hex(self) -> str: ...
    @property
    def kind(self) -> _EventKind:
        """What happened: a piece passed (`piece_verified`) or failed (`hash_failed`) its hash
        check; every piece is verified (`finished`, also when added complete); a tracker
        answered (`tracker_reply`) or could not be reached or refused (`tracker_error`); an
        address was banned for sending bad data (`peer_banned`); a file could not be read or
        written (`storage_error`)."""
    @property
    def piece(self) -> int | None:
        """The piece, for `piece_verified` and `hash_failed`."""
    @property
    def url(self) -> str | None:
        """The tracker, for `tracker_reply` and `tracker_error`."""
    @property
    def peers(self) -> int | None:
        """How many peers the tracker named, for `tracker_reply`."""
    @property
    def ip(self) -> str | None:
        """The address banned, for `peer_banned`."""
    @property
    def message(self) -> str | None:
        """What went wrong, for `tracker_error` and `storage_error`."""
    @property
    def error(self) -> Error | None:
        """For `tracker_error` and `storage_error`: the failure as the exception it is, not
        raised (a `StorageError` with `errno` and `filename`, a `TrackerError`, ...)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class EventIterator:
    """The events of a session, from `Session.events()`."""

    def __iter__(self) -> EventIterator: ...
    def __next__(self) -> Event:
        """The next event; `StopIteration` when the timeout passes without one, or when the
        session is closed."""
