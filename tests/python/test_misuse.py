"""Misuse of the Python face: wrong types, out-of-range values, invalid Unicode in paths, use
after close, interpreter exit with a session running, and Ctrl-C during every blocking wait.
Each gives a clear exception (TypeError, ValueError/OverflowError, a bittern.Error) or works:
never a SystemError, a crash, or a hang."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import bittern

HASH = bytes(range(20))


def fake_torrent(length: int = 1 << 20, piece_length: int = 1 << 18, name: bytes = b"data.bin") -> bittern.Torrent:
    """A torrent whose data nobody has: it never finishes."""
    pieces = (length + piece_length - 1) // piece_length
    info = {b"length": length, b"name": name, b"piece length": piece_length, b"pieces": os.urandom(20) * pieces}
    return bittern.Torrent.from_bytes(bittern.bencode({b"info": info}))


def raises_cleanly(call: Callable[[], Any], *allowed: type[BaseException]) -> BaseException:
    """`call()` raises one of `allowed`, with a message, and never a SystemError."""
    with pytest.raises(allowed) as info:
        call()
    assert not isinstance(info.value, SystemError)
    assert str(info.value), f"{type(info.value).__name__} without a message"
    return info.value


@pytest.fixture
def session() -> Any:
    with bittern.Session(listen="127.0.0.1:0") as s:
        yield s


# -- wrong types -------------------------------------------------------------------------------

WRONG_TYPES: list[tuple[str, Callable[[], Any]]] = [
    ("bdecode(str)", lambda: bittern.bdecode("d1:ai1ee")),
    ("bdecode(None)", lambda: bittern.bdecode(None)),  # type: ignore[arg-type]
    ("bdecode(strict=list)", lambda: bittern.bdecode(b"i1e", strict=[])),  # type: ignore[arg-type]
    ("bencode(object)", lambda: bittern.bencode(object())),
    ("bencode(float)", lambda: bittern.bencode(1.5)),
    ("bencode({1: 2})", lambda: bittern.bencode({1: 2})),
    ("set_log_level(3)", lambda: bittern.set_log_level(3)),  # type: ignore[arg-type]
    ("Torrent.load(3)", lambda: bittern.Torrent.load(3)),  # type: ignore[arg-type]
    ("Torrent.load(None)", lambda: bittern.Torrent.load(None)),  # type: ignore[arg-type]
    ("Torrent.from_bytes(str)", lambda: bittern.Torrent.from_bytes("d4:infode")),  # type: ignore[arg-type]
    ("Torrent.from_bytes(1)", lambda: bittern.Torrent.from_bytes(1)),  # type: ignore[arg-type]
    ("Torrent.create(1)", lambda: bittern.Torrent.create(1)),  # type: ignore[arg-type]
    ("Torrent.create(piece_length=str)", lambda: bittern.Torrent.create(".", piece_length="16384")),  # type: ignore[arg-type]
    ("Torrent.create(piece_length=float)", lambda: bittern.Torrent.create(".", piece_length=16384.0)),  # type: ignore[arg-type]
    ("Torrent.create(announce=1)", lambda: bittern.Torrent.create(".", announce=1)),  # type: ignore[arg-type]
    ("Torrent.create(threads=str)", lambda: bittern.Torrent.create(".", threads="2")),  # type: ignore[arg-type]
    ("Torrent.create(progress=1)", lambda: bittern.Torrent.create(".", progress=1)),  # type: ignore[arg-type]
    ("Torrent.create(creation_date=str)", lambda: bittern.Torrent.create(".", creation_date="now")),  # type: ignore[arg-type]
    ("announce(url=1)", lambda: bittern.announce(1, HASH, left=0)),  # type: ignore[arg-type]
    ("announce(info_hash=str)", lambda: bittern.announce("http://127.0.0.1:1/a", "x" * 20, left=0)),  # type: ignore[arg-type]
    ("announce(port=str)", lambda: bittern.announce("http://127.0.0.1:1/a", HASH, left=0, port="1")),  # type: ignore[arg-type]
    ("announce(timeout=str)", lambda: bittern.announce("http://127.0.0.1:1/a", HASH, left=0, timeout="1")),  # type: ignore[arg-type]
    ("announce(event=1)", lambda: bittern.announce("http://127.0.0.1:1/a", HASH, left=0, event=1)),  # type: ignore[arg-type]
    ("scrape(info_hashes=bytes)", lambda: bittern.scrape("http://127.0.0.1:1/a", HASH)),  # type: ignore[arg-type]
    ("scrape(url=None)", lambda: bittern.scrape(None, [HASH])),  # type: ignore[arg-type]
    ("Tracker(bind=1)", lambda: bittern.Tracker(bind=1)),  # type: ignore[arg-type]
    ("Tracker(interval=str)", lambda: bittern.Tracker(bind="127.0.0.1:0", interval="60")),  # type: ignore[arg-type]
    ("Tracker(torrents_dir=1)", lambda: bittern.Tracker(bind="127.0.0.1:0", torrents_dir=1)),  # type: ignore[arg-type]
    ("Tracker(idle_timeout=str)", lambda: bittern.Tracker(bind="127.0.0.1:0", idle_timeout="1")),  # type: ignore[arg-type]
    ("Session(listen=1)", lambda: bittern.Session(listen=1)),  # type: ignore[arg-type]
    ("Session(max_connections=str)", lambda: bittern.Session(listen="127.0.0.1:0", max_connections="9")),  # type: ignore[arg-type]
    ("Session(handshake_timeout=str)", lambda: bittern.Session(listen="127.0.0.1:0", handshake_timeout="1")),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("what,call", WRONG_TYPES, ids=[w for w, _ in WRONG_TYPES])
def test_wrong_types_raise_type_error(what: str, call: Callable[[], Any]) -> None:
    raises_cleanly(call, TypeError)


def test_wrong_types_on_session_and_handle(session: bittern.Session, tmp_path: Path) -> None:
    handle = session.add(fake_torrent(), tmp_path / "dl")
    calls: list[Callable[[], Any]] = [
        lambda: session.add(1, tmp_path),  # type: ignore[arg-type]
        lambda: session.add(None, tmp_path),  # type: ignore[arg-type]
        lambda: session.add(fake_torrent(name=b"b"), 1),  # type: ignore[arg-type]
        lambda: session.add(fake_torrent(name=b"c"), None),  # type: ignore[arg-type]
        lambda: session.add_peers(handle, "127.0.0.1:1"),  # type: ignore[arg-type]
        lambda: session.add_peers(handle, [("127.0.0.1", "1")]),  # type: ignore[list-item]
        lambda: session.add_peers(handle, [1]),  # type: ignore[list-item]
        lambda: session.add_peers("handle", []),  # type: ignore[arg-type]
        lambda: session.remove("handle"),  # type: ignore[arg-type]
        lambda: session.remove(None),  # type: ignore[arg-type]
        lambda: session.events(timeout="1"),  # type: ignore[arg-type]
        lambda: session.add(fake_torrent(name=b"d"), tmp_path, seed_only="yes"),  # type: ignore[arg-type]
        lambda: session.add(fake_torrent(name=b"e"), tmp_path, trust_data=1),  # type: ignore[arg-type]
        lambda: handle.wait("1"),  # type: ignore[arg-type]
        lambda: handle.wait_checked([]),  # type: ignore[arg-type]
    ]
    for call in calls:
        raises_cleanly(call, TypeError)


def test_wrong_types_on_torrent_and_tracker() -> None:
    torrent = fake_torrent()
    raises_cleanly(lambda: torrent.piece_hash("0"), TypeError)  # type: ignore[arg-type]
    raises_cleanly(lambda: torrent.save(3), TypeError)  # type: ignore[arg-type]
    raises_cleanly(lambda: torrent.replace(comment=3), TypeError)  # type: ignore[arg-type]
    raises_cleanly(lambda: torrent.replace(url_list="http://x/"), TypeError)  # type: ignore[arg-type]
    raises_cleanly(lambda: torrent.announce_to_trackers(port="1"), TypeError)  # type: ignore[arg-type]
    with bittern.Tracker(bind="127.0.0.1:0") as tracker:
        raises_cleanly(lambda: tracker.publish(b"torrent"), TypeError)  # type: ignore[arg-type]
        raises_cleanly(lambda: tracker.unpublish("hash"), TypeError)  # type: ignore[arg-type]


# -- out-of-range values -----------------------------------------------------------------------

# 1.8e19 s fits a Rust Duration but overflows a deadline: it once raised PanicException.
BAD_NUMBERS = [-1.0, -1e-9, math.nan, math.inf, -math.inf, 1e300, 1.8e19, 2e16]
LONGEST = 1.8e16  # seconds: 2^64 - 1 ms, as the C interface takes


@pytest.mark.parametrize("port", [-1, 65536, 1 << 70])
def test_ports_out_of_range(port: int) -> None:
    err = raises_cleanly(lambda: bittern.announce("http://127.0.0.1:1/a", HASH, left=0, port=port), ValueError, OverflowError)
    assert "port" in str(err) or "int" in str(err)
    raises_cleanly(lambda: fake_torrent().announce_to_trackers(port=port), ValueError, OverflowError)
    raises_cleanly(lambda: bittern.Session(listen=f"127.0.0.1:{port}"), ValueError)
    raises_cleanly(lambda: bittern.Tracker(bind=f"127.0.0.1:{port}"), ValueError)


def test_add_peers_port_out_of_range(session: bittern.Session, tmp_path: Path) -> None:
    handle = session.add(fake_torrent(), tmp_path)
    for port in (-1, 65536, 1 << 70):
        raises_cleanly(lambda: session.add_peers(handle, [("127.0.0.1", port)]), ValueError, OverflowError)


@pytest.mark.parametrize("piece_length", [0, 3, 16385, 1000, -16384, 1 << 40, 1 << 70])
def test_piece_lengths_out_of_range(tmp_path: Path, piece_length: int) -> None:
    data = tmp_path / "d.bin"
    data.write_bytes(b"x" * 1000)
    err = raises_cleanly(lambda: bittern.Torrent.create(data, piece_length=piece_length), ValueError, OverflowError)
    assert "piece" in str(err) or "int" in str(err), err


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=str)
def test_bad_timeouts(value: float, session: bittern.Session, tmp_path: Path) -> None:
    handle = session.add(fake_torrent(), tmp_path)
    calls: list[Callable[[], Any]] = [
        lambda: handle.wait(value),
        lambda: handle.wait_checked(value),
        lambda: session.events(timeout=value),
        lambda: bittern.announce("http://127.0.0.1:1/a", HASH, left=0, timeout=value),
        lambda: bittern.scrape("http://127.0.0.1:1/a", [HASH], timeout=value),
        lambda: bittern.Session(listen="127.0.0.1:0", handshake_timeout=value),
        lambda: bittern.Session(listen="127.0.0.1:0", idle_timeout=value),
        lambda: bittern.Tracker(bind="127.0.0.1:0", idle_timeout=value),
    ]
    for call in calls:
        err = raises_cleanly(call, ValueError, OverflowError)
        assert "timeout" in str(err) or "second" in str(err), err


def test_longest_timeouts_work(tmp_path: Path) -> None:
    """The longest timeout taken is usable: no deadline overflows."""
    with bittern.Tracker(bind="127.0.0.1:0", idle_timeout=LONGEST) as tracker:
        assert bittern.announce(tracker.url, HASH, left=0, timeout=LONGEST).interval > 0
    with bittern.Session(listen="127.0.0.1:0", handshake_timeout=LONGEST, idle_timeout=LONGEST) as session:
        handle = session.add(fake_torrent(), tmp_path)
        session.add_peers(handle, [("127.0.0.1", 1)])
        assert handle.wait_checked(LONGEST)
        events = session.events(timeout=LONGEST)
    assert handle.wait(LONGEST) is False  # the session is closed: returns at once
    assert list(events) is not None


@pytest.mark.parametrize("value", [-1, 1 << 64, 1 << 70])
def test_limits_out_of_range(value: int) -> None:
    for name in ("max_connections", "max_peers_per_torrent", "max_peers_per_ip", "unchoke_slots"):
        raises_cleanly(lambda: bittern.Session(listen="127.0.0.1:0", **{name: value}), ValueError, OverflowError)
    for name in ("interval", "min_interval", "max_torrents", "max_numwant", "max_scrape", "threads"):
        raises_cleanly(lambda: bittern.Tracker(bind="127.0.0.1:0", **{name: value}), ValueError, OverflowError)
    raises_cleanly(lambda: bittern.announce("http://127.0.0.1:1/a", HASH, left=value), ValueError, OverflowError)
    if value > 0:  # a negative index counts from the end, as in a list
        raises_cleanly(lambda: fake_torrent().piece_hash(value), IndexError, ValueError, OverflowError)


def test_bad_hash_lengths() -> None:
    for h in (b"", b"x" * 19, b"x" * 21):
        raises_cleanly(lambda: bittern.announce("http://127.0.0.1:1/a", h, left=0), ValueError)
        raises_cleanly(lambda: bittern.scrape("http://127.0.0.1:1/a", [h]), ValueError)
    raises_cleanly(lambda: bittern.announce("http://127.0.0.1:1/a", HASH, left=0, peer_id=b"short"), ValueError)


# -- invalid Unicode in paths and strings --------------------------------------------------------


def test_surrogateescape_paths(tmp_path: Path) -> None:
    """A str path holding undecodable bytes (as os.listdir gives them) names those bytes."""
    raw = os.fsencode(tmp_path) + b"/t\xff\xfe"
    os.mkdir(raw)
    (Path(os.fsdecode(raw)) / "data.bin").write_bytes(b"y" * 5000)
    path = os.fsdecode(raw)
    assert "\udcff" in path
    torrent = bittern.Torrent.create(path)
    assert "\ufffd" in torrent.name
    assert torrent.name_bytes == b"t\xff\xfe"
    saved = os.fsdecode(raw + b"/saved\xff.torrent")
    torrent.save(saved)
    assert os.path.exists(raw + b"/saved\xff.torrent")
    assert bittern.Torrent.load(saved) == torrent
    assert bittern.Torrent.load(Path(saved)) == torrent
    missing = os.fsdecode(raw + b"/missing\xff.torrent")
    err = raises_cleanly(lambda: bittern.Torrent.load(missing), bittern.StorageError)
    assert isinstance(err, OSError)
    with bittern.Session(listen="127.0.0.1:0") as session:
        handle = session.add(torrent, path + "/dl\udcfe")
        assert handle.wait_checked(10)
        # A str path that is not UTF-8 is a path to load (it once raised UnicodeEncodeError).
        session.remove(handle)
        assert session.add(saved, path + "/dl\udcfe").info_hash == torrent.info_hash
    assert os.path.isdir(raw + b"/dl\xfe")
    with bittern.Tracker(bind="127.0.0.1:0", torrents_dir=path) as tracker:
        assert tracker.running


def test_bytes_paths(tmp_path: Path) -> None:
    """bytes paths: taken as the OS takes them where accepted, else a TypeError."""
    data = tmp_path / "data.bin"
    data.write_bytes(b"z" * 3000)
    raw = os.fsencode(tmp_path / "b\xff.torrent".encode("latin-1").decode("utf-8", "surrogateescape"))
    torrent = bittern.Torrent.create(data)
    for call in (lambda: torrent.save(raw), lambda: bittern.Torrent.load(raw), lambda: bittern.Torrent.create(os.fsencode(data))):
        try:
            call()
        except TypeError as e:
            assert str(e)


def test_lone_surrogates_in_strings(tmp_path: Path) -> None:
    """A str that cannot be UTF-8 (a lone surrogate) where a URL or text is wanted."""
    data = tmp_path / "data.bin"
    data.write_bytes(b"z" * 3000)
    bad = "http://127.0.0.1:1/\ud800"
    for call in (
        lambda: bittern.Torrent.create(data, comment="\ud800"),
        lambda: bittern.Torrent.create(data, announce=bad),
        lambda: bittern.Torrent.create(data, name="\udcff"),
        lambda: fake_torrent().replace(comment="\ud800"),
        lambda: bittern.announce(bad, HASH, left=0, timeout=1),
        lambda: bittern.Session(listen="127.0.0.1:\ud800"),
        lambda: bittern.Tracker(bind="\ud800:0"),
        lambda: bittern.bencode({"\ud800": 1}),
    ):
        raises_cleanly(call, ValueError)  # UnicodeEncodeError is a ValueError


def test_nul_in_paths_and_strings(tmp_path: Path) -> None:
    raises_cleanly(lambda: bittern.Torrent.load(str(tmp_path) + "/a\0b"), ValueError, bittern.StorageError)
    raises_cleanly(lambda: bittern.Torrent.create(str(tmp_path) + "/a\0b"), ValueError, bittern.StorageError)
    raises_cleanly(lambda: bittern.Session(listen="127.0.0.1\0:0"), ValueError)
    with bittern.Session(listen="127.0.0.1:0") as session:
        raises_cleanly(lambda: session.add(fake_torrent(), str(tmp_path) + "/a\0b"), ValueError, bittern.StorageError)
    # A NUL inside a torrent's name is kept as data (bytes exact), never cuts the name short.
    try:
        torrent = fake_torrent(name=b"a\0b")
    except bittern.MetainfoError:
        return
    assert torrent.name_bytes == b"a\0b"
    assert len(torrent.name) == 3


# -- use after close -----------------------------------------------------------------------------


def test_session_use_after_close(tmp_path: Path) -> None:
    session = bittern.Session(listen="127.0.0.1:0")
    handle = session.add(fake_torrent(), tmp_path)
    session.close()
    session.close()  # twice is fine
    assert session.closed
    for call in (
        lambda: session.add(fake_torrent(name=b"other"), tmp_path),
        lambda: session.add_peers(handle, [("127.0.0.1", 1)]),
        lambda: session.remove(handle),
        lambda: handle.pause(),
        lambda: handle.resume(),
    ):
        err = raises_cleanly(call, ValueError, bittern.Error)
        assert "closed" in str(err) or "removed" in str(err) or "session" in str(err), err
    # What stays readable (documented): the session's address and peer id, the handle's last
    # status and its identity.
    assert session.port > 0 and session.listen_address[1] == session.port
    start = time.monotonic()
    assert list(session.events(timeout=None)) == []  # ends at once, never blocks
    assert time.monotonic() - start < 1
    assert len(session.peer_id) == 20
    assert handle.status().piece_count == 4
    assert handle.wait(0) is False
    assert handle.wait_checked(0) in (True, False)
    assert len(handle.info_hash) == 20
    handle.trackers()
    repr(session), repr(handle)
    with session:
        pass  # entering a closed session is allowed or refused, never a crash


def test_event_iterator_after_close(tmp_path: Path) -> None:
    session = bittern.Session(listen="127.0.0.1:0")
    session.add(fake_torrent(), tmp_path)
    events = session.events(timeout=None)
    session.close()
    # A closed session ends the iteration instead of blocking.
    start = time.monotonic()
    assert all(isinstance(e, bittern.Event) for e in events)
    assert time.monotonic() - start < 2


def test_tracker_with_a_fifo_in_its_folder(tmp_path: Path) -> None:
    """A FIFO named like a torrent in the torrents folder is skipped, never read (which would
    block the tracker's start, or its rescans, for ever)."""
    os.mkfifo(tmp_path / "x.torrent")
    fake_torrent().save(tmp_path / "real.torrent")
    start = time.monotonic()
    with bittern.Tracker(bind="127.0.0.1:0", torrents_dir=tmp_path) as tracker:
        assert [p.file_name for p in tracker.published] == ["real.torrent"]
        time.sleep(1.2)  # a rescan
        assert len(tracker.published) == 1
    assert time.monotonic() - start < 5


def test_tracker_use_after_stop() -> None:
    tracker = bittern.Tracker(bind="127.0.0.1:0")
    tracker.stop()
    tracker.stop()
    assert not tracker.running
    # Documented to work after stop():
    tracker.url, tracker.port, tracker.address, tracker.published, repr(tracker)
    assert tracker.stats().connections == 0
    assert any("listening" in line for line in tracker.take_log())
    # Publishing into a stopped tracker served nobody and said nothing: now a ValueError.
    for call in (lambda: tracker.publish(fake_torrent()), lambda: tracker.unpublish(HASH)):
        err = raises_cleanly(call, ValueError)
        assert "stopped" in str(err)
    assert tracker.published == []


# -- interpreter exit and Ctrl-C, in subprocesses ------------------------------------------------

PRELUDE = textwrap.dedent(
    """
    import os, sys, time, socket, bittern
    def fake(name=b"data.bin", length=1 << 20):
        info = {b"length": length, b"name": name, b"piece length": 1 << 18,
                b"pieces": os.urandom(20) * ((length + (1 << 18) - 1) // (1 << 18))}
        return bittern.Torrent.from_bytes(bittern.bencode({b"info": info}))
    def ready():
        print("ready", flush=True)
    """
)


def run_child(body: str, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_interpreter_exit_with_session_and_tracker_running(tmp_path: Path) -> None:
    child = run_child(
        """
        tracker = bittern.Tracker(bind="127.0.0.1:0")
        session = bittern.Session(listen="127.0.0.1:0")
        t = fake().replace(announce=tracker.url)
        handle = session.add(t, "dl")
        session.add_peers(handle, [("127.0.0.1", 1)])
        events = session.events(timeout=0.1)
        other = bittern.Session(listen="127.0.0.1:0")
        other.add(fake(b"two"), "dl2")
        ready()
        # exits here, nothing closed
        """,
        tmp_path,
    )
    start = time.monotonic()
    try:
        out, err = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert out == "ready\n"
    assert err == "", err
    assert time.monotonic() - start < 10


def test_interpreter_exit_from_a_thread_waiting(tmp_path: Path) -> None:
    """A daemon thread blocked in wait() when the interpreter exits."""
    child = run_child(
        """
        import threading
        session = bittern.Session(listen="127.0.0.1:0")
        handle = session.add(fake(), "dl")
        threading.Thread(target=handle.wait, daemon=True).start()
        threading.Thread(target=lambda: list(session.events()), daemon=True).start()
        time.sleep(0.3)
        ready()
        """,
        tmp_path,
    )
    try:
        out, err = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert "ready" in out and "Fatal" not in err and "panicked" not in err, err


def black_hole() -> socket.socket:
    """A listening socket nobody accepts from: connecting works, no answer ever comes."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


BLOCKING = {
    "wait": """
        session = bittern.Session(listen="127.0.0.1:0")
        handle = session.add(fake(), "dl")
        ready(); handle.wait()
    """,
    "wait_checked": """
        length = 64 << 30
        with open("big.bin", "wb") as f:
            f.truncate(length)
        session = bittern.Session(listen="127.0.0.1:0")
        handle = session.add(fake(b"big.bin", length), ".")
        ready(); handle.wait_checked()
    """,
    "events": """
        session = bittern.Session(listen="127.0.0.1:0")
        ready()
        for event in session.events(timeout=None):
            pass
    """,
    "announce": """
        ready(); bittern.announce(f"http://127.0.0.1:{PORT}/announce", bytes(20), left=0, timeout=60)
    """,
    "scrape": """
        ready(); bittern.scrape(f"http://127.0.0.1:{PORT}/announce", [bytes(20)], timeout=60)
    """,
    "announce_to_trackers": """
        t = fake().replace(announce=f"http://127.0.0.1:{PORT}/announce")
        ready(); t.announce_to_trackers(timeout=60)
    """,
    "add_url": """
        session = bittern.Session(listen="127.0.0.1:0")
        ready(); session.add(f"http://127.0.0.1:{PORT}/x.torrent", "dl")
    """,
    # A FIFO nobody writes to (or reads from) blocks open() in the kernel, which Rust retries
    # on EINTR: these once ignored Ctrl-C for ever.
    "load_fifo": """
        os.mkfifo("x.torrent")
        ready(); bittern.Torrent.load("x.torrent")
    """,
    "add_fifo": """
        os.mkfifo("x.torrent")
        session = bittern.Session(listen="127.0.0.1:0")
        ready(); session.add("x.torrent", "dl")
    """,
    # A tracker that never answers the `stopped` announce keeps these up to 3 s.
    "remove": """
        session = bittern.Session(listen="127.0.0.1:0")
        handle = session.add(fake().replace(announce=f"http://127.0.0.1:{PORT}/announce"), "dl")
        time.sleep(0.5)
        ready(); session.remove(handle)
    """,
    "close": """
        session = bittern.Session(listen="127.0.0.1:0")
        handle = session.add(fake().replace(announce=f"http://127.0.0.1:{PORT}/announce"), "dl")
        time.sleep(0.5)
        ready(); session.close()
    """,
    "create": """
        with open("big.bin", "wb") as f:
            f.truncate(64 << 30)
        ready(); bittern.Torrent.create("big.bin")
    """,
}


@pytest.mark.parametrize("name", sorted(BLOCKING))
def test_ctrl_c_interrupts_blocking_waits(name: str, tmp_path: Path) -> None:
    hole = black_hole()
    port = hole.getsockname()[1]
    body = f"PORT = {port}\n" + textwrap.dedent(BLOCKING[name]) + "\nprint('returned', flush=True)\n"
    body = textwrap.dedent(
        """
        import signal
        try:
        """
    ) + textwrap.indent(body, "    ") + textwrap.dedent(
        """
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        """
    )
    child = run_child(body, tmp_path)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n", child.stderr.read() if child.stderr else ""
        time.sleep(0.5)
        assert child.poll() is None, "the call returned before Ctrl-C"
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline()
        elapsed = time.monotonic() - sent
        out, err = child.communicate(timeout=15)
    finally:
        child.kill()
        hole.close()
    assert line == "interrupted\n", (line, err)
    assert elapsed < 1.0, f"KeyboardInterrupt after {elapsed:.2f} s"
    assert child.returncode == 0, err
    assert "panicked" not in err and "SystemError" not in err, err


# -- many threads on one session -----------------------------------------------------------------


def test_many_threads_on_one_session(tmp_path: Path) -> None:
    """8 threads add, look at, pause, resume and remove torrents of one session (the GIL is
    released in each call), and share one handle: every result is one the docs allow."""
    import threading

    torrents = [fake_torrent(name=f"t{i}".encode()) for i in range(4)]
    problems: list[BaseException] = []
    with bittern.Session(listen="127.0.0.1:0") as session:
        shared = session.add(fake_torrent(name=b"shared"), tmp_path / "shared")

        def work(n: int) -> None:
            try:
                for round in range(10):
                    torrent = torrents[(n + round) % len(torrents)]
                    try:
                        handle = session.add(torrent, tmp_path / f"dl{n}")
                    except ValueError as e:  # another thread has it in the session now
                        assert "already" in str(e), e
                    else:
                        handle.status()
                        handle.pause()
                        session.add_peers(handle, [("127.0.0.1", 1)])
                        handle.resume()
                        handle.wait_checked(0.01)
                        session.remove(handle)
                        raises_cleanly(lambda: session.remove(handle), ValueError)
                    shared.status()
                    (shared.pause if round % 2 else shared.resume)()
                    shared.trackers()
                    for _ in session.events(timeout=0):
                        pass
            except BaseException as e:  # reported by the main thread
                problems.append(e)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    assert not problems, problems
