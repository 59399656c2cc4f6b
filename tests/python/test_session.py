"""Sessions through Python and the CLI: seeding and downloading on loopback."""

from __future__ import annotations

import _thread
import dataclasses
import errno
import functools
import gc
import http.server
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bittern

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


# ----------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def tracker() -> Iterator[bittern.Tracker]:
    with bittern.Tracker("127.0.0.1:0", threads=1) as t:
        yield t


@pytest.fixture
def new_session() -> Iterator[Callable[[], bittern.Session]]:
    """Makes sessions on loopback (any free port; every peer is 127.0.0.1, so many per IP),
    closed at the end of the test."""
    made: list[bittern.Session] = []

    def make() -> bittern.Session:
        s = bittern.Session(listen="127.0.0.1:0", max_peers_per_ip=50)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@dataclasses.dataclass
class Web:
    """A plain HTTP server of a folder: where a browser would find a .torrent link."""

    base: str
    root: Path
    slow_served: threading.Event


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    root = tmp_path / "web"
    root.mkdir()
    served = threading.Event()
    handler = functools.partial(QuietHandler, served, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Web(f"http://127.0.0.1:{server.server_address[1]}/", root, served)
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves quietly; `/slow/<path>` is `<path>` after 0.8 s, and then sets `slow_served`."""

    def __init__(self, slow_served: threading.Event, *args: Any, **kwargs: Any) -> None:
        self.slow_served = slow_served
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if not self.path.startswith("/slow/"):
            return super().do_GET()
        time.sleep(0.8)
        self.path = self.path[len("/slow") :]
        super().do_GET()
        self.slow_served.set()

    def log_message(self, format: str, *args: object) -> None:
        pass


def random_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def content_folder(root: Path) -> Path:
    """A folder whose pieces (32 KiB) span file borders, with an empty file and a short
    last piece."""
    for name, size in [("a.bin", 100_000), ("sub/b.bin", 300_000), ("sub/empty", 0), ("z.bin", 77_777)]:
        random_file(root / name, size)
    return root


def same_tree(a: Path, b: Path) -> None:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files
    for relative in files:
        assert (a / relative).read_bytes() == (b / relative).read_bytes(), relative


def seeded(session: bittern.Session, torrent: bittern.Torrent, folder: Path) -> bittern.TorrentHandle:
    handle = session.add(torrent, folder, seed_only=True)
    assert handle.wait_checked(timeout=30)
    status = handle.status()
    assert status.finished and status.state == "seeding", status
    return handle


# ----------------------------------------------------------------------------------------------
# the Python API


def test_seed_then_download(tmp_path: Path, tracker: bittern.Tracker, new_session: Callable[[], bittern.Session]) -> None:
    content = content_folder(tmp_path / "content")
    torrent = bittern.Torrent.create(content, announce=tracker.url, piece_length=32768)
    with new_session() as seeder:
        seed = seeded(seeder, torrent, tmp_path)
        # Once the tracker knows the seeder, the leecher hears of it in its first answer.
        reply = next(e for e in seeder.events(timeout=5) if e.kind == "tracker_reply")
        assert reply.url == tracker.url and reply.peers == 0
        assert seeder.listen_address == ("127.0.0.1", seeder.port) and seeder.port > 0
        assert len(seeder.peer_id) == 20 and seeder.peer_id.startswith(b"-BI")
        assert repr(seeder) == f"<Session 127.0.0.1:{seeder.port} open>"
        assert seed.info_hash == torrent.info_hash and seed.info_hash_hex == torrent.info_hash_hex
        assert seed.name == "content"

        leecher = new_session()
        assert leecher.peer_id != seeder.peer_id
        out = tmp_path / "out"
        handle = leecher.add(torrent, out)
        # The add returns at once; the check of what is on disk (nothing) follows.
        first = handle.status()
        assert first.state in ("checking", "downloading"), first
        assert first.pieces_done == 0 and first.progress == 0.0
        assert first.eta is None and not first.finished
        assert handle.wait_checked(timeout=30)
        assert handle.status().pieces_checked == torrent.piece_count
        assert handle.wait(timeout=30), handle.status()
        same_tree(content, out / "content")

        s = handle.status()
        assert isinstance(s, bittern.TorrentStatus)
        assert s.state == "seeding" and s.finished and s.progress == 1.0 and s.eta == 0
        assert s.pieces_done == s.piece_count == torrent.piece_count
        assert s.bytes_done == s.total_length == torrent.total_length
        assert s.downloaded >= s.total_length and s.uploaded == 0
        assert s.download_rate >= 0 and s.upload_rate >= 0 and s.peers >= 0
        # Finished, it dropped the seeder: two seeds have nothing for each other.
        assert s.disconnects["both_seeding"] >= 1, s.disconnects
        assert len(s.disconnects) == 12 and set(s.disconnects) >= {"idle", "closed_by_peer"}
        assert s == s and "state='seeding'" in repr(s)
        with pytest.raises(AttributeError):
            s.state = "paused"  # type: ignore[misc]

        # Events wait in the session's queue from its start: nothing was missed.
        events = []
        for event in leecher.events(timeout=5):
            events.append(event)
            if event.kind == "finished":
                break
        assert all(isinstance(e, bittern.Event) and e.info_hash == torrent.info_hash for e in events)
        verified = [e.piece for e in events if e.kind == "piece_verified" and e.piece is not None]
        assert sorted(verified) == list(range(torrent.piece_count))
        replies = [e for e in events if e.kind == "tracker_reply"]
        assert replies and replies[0].url == tracker.url and replies[0].peers == 1
        assert replies[0].piece is None and replies[0].message is None and replies[0].ip is None
        assert replies[0].error is None
        finished = events[-1]
        assert finished.kind == "finished" and finished.info_hash_hex == torrent.info_hash_hex
        assert repr(finished) == f"Event(kind='finished', info_hash='{torrent.info_hash_hex}')"

        # The seeder's count catches up within a status tick.
        deadline = time.monotonic() + 5
        while seed.status().uploaded < torrent.total_length and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seed.status().uploaded >= torrent.total_length
    assert seeder.closed and not leecher.closed
    assert repr(seeder).endswith(" closed>")


def test_resume_from_partial_data(tmp_path: Path, new_session: Callable[[], bittern.Session]) -> None:
    """Half the data already in place (as a stopped download leaves it): only the rest comes."""
    piece = 32768
    source = random_file(tmp_path / "src" / "data.bin", 64 * piece + 1000)
    torrent = bittern.Torrent.create(source, piece_length=piece)
    out = tmp_path / "out"
    out.mkdir()
    half = source.read_bytes()[: 32 * piece]
    (out / "data.bin").write_bytes(half + b"\0" * 5000)  # and some garbage after it

    seeder = new_session()
    seeded(seeder, torrent, source.parent)
    leecher = new_session()
    handle = leecher.add(torrent, out)
    assert handle.wait_checked(timeout=30)
    s = handle.status()
    assert (s.pieces_done, s.piece_count, s.bytes_done) == (32, 65, 32 * piece)
    assert s.state == "downloading" and 0.49 < s.progress < 0.5
    leecher.add_peers(handle, [("127.0.0.1", seeder.port)])
    assert handle.wait(timeout=30), handle.status()
    assert (out / "data.bin").read_bytes() == source.read_bytes()
    assert handle.status().downloaded < torrent.total_length  # the first half was not fetched


def test_add_by_path_and_by_url(tmp_path: Path, tracker: bittern.Tracker, web: Web, new_session: Callable[[], bittern.Session]) -> None:
    base, root = web.base, web.root
    source = random_file(tmp_path / "src" / "movie.bin", 200_000)
    torrent = bittern.Torrent.create(source, announce=tracker.url, piece_length=16384)
    torrent.save(root / "movie.bin.torrent")
    seeder = new_session()
    seeder.add(str(root / "movie.bin.torrent"), source.parent, seed_only=True)  # a path as str

    by_url = new_session().add(base + "movie.bin.torrent", tmp_path / "by-url")
    by_path = new_session().add(root / "movie.bin.torrent", tmp_path / "by-path")
    for handle, folder in [(by_url, "by-url"), (by_path, "by-path")]:
        assert handle.info_hash == torrent.info_hash and handle.name == "movie.bin"
        assert handle.wait(timeout=30), handle.status()
        assert (tmp_path / folder / "movie.bin").read_bytes() == source.read_bytes()


def test_add_failures(tmp_path: Path, new_session: Callable[[], bittern.Session]) -> None:
    s = new_session()
    with pytest.raises(bittern.StorageError) as missing:
        s.add(tmp_path / "nope.torrent", tmp_path)
    assert isinstance(missing.value, OSError) and "nope.torrent" in str(missing.value)
    (tmp_path / "bad.torrent").write_bytes(b"not bencode")
    with pytest.raises(bittern.BencodeError):
        s.add(tmp_path / "bad.torrent", tmp_path)
    with pytest.raises(bittern.NetworkError, match="cannot fetch the torrent file http://127.0.0.1:1/x.torrent: "):
        s.add("http://127.0.0.1:1/x.torrent", tmp_path)
    with pytest.raises(TypeError, match="Torrent, a path or an http"):
        s.add(42, tmp_path)  # type: ignore[arg-type]

    source = random_file(tmp_path / "f.bin", 1000)
    torrent = bittern.Torrent.create(source)
    s.add(torrent, tmp_path / "out")
    with pytest.raises(ValueError, match="added already"):
        s.add(torrent, tmp_path / "elsewhere")


def test_pause_resume_and_add_peers(tmp_path: Path, new_session: Callable[[], bittern.Session]) -> None:
    source = random_file(tmp_path / "src" / "data.bin", 300_000)
    torrent = bittern.Torrent.create(source, piece_length=16384)  # no tracker: peers by hand
    seeder = new_session()
    seeded(seeder, torrent, source.parent)
    leecher = new_session()
    handle = leecher.add(torrent, tmp_path / "out")
    assert not handle.wait(timeout=0.2)
    assert handle.status().peers == 0

    handle.pause()
    assert handle.wait(timeout=0) is False
    deadline = time.monotonic() + 2
    while handle.status().state != "paused" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert handle.status().state == "paused"
    leecher.add_peers(handle, [("localhost", seeder.port)])
    assert not handle.wait(timeout=0.5)  # paused: no connection
    assert handle.status().bytes_done == 0 and handle.status().peers == 0

    handle.resume()
    assert handle.wait(timeout=30), handle.status()
    assert (tmp_path / "out" / "data.bin").read_bytes() == source.read_bytes()

    with pytest.raises(ValueError, match="another session"):
        seeder.add_peers(handle, [("127.0.0.1", 1)])
    with pytest.raises(ValueError, match="resolve"):
        leecher.add_peers(handle, [("no such host.invalid", 1)])


def test_storage_error_stops_the_torrent_until_resumed(tmp_path: Path, new_session: Callable[[], bittern.Session]) -> None:
    source = random_file(tmp_path / "src" / "data.bin", 300_000)
    torrent = bittern.Torrent.create(source, piece_length=16384)
    seeder = new_session()
    seeded(seeder, torrent, source.parent)
    leecher = new_session()
    handle = leecher.add(torrent, tmp_path / "out")
    assert handle.wait_checked(timeout=30)
    # A folder where the file goes (the torrent created it when added): nothing can be written.
    target = tmp_path / "out" / "data.bin"
    target.unlink()
    target.mkdir()
    leecher.add_peers(handle, [("127.0.0.1", seeder.port)])
    started = time.monotonic()
    assert handle.wait(timeout=30) is False  # returns at the error, not at the timeout
    assert time.monotonic() - started < 10
    assert handle.status().state == "error"
    errors = [e for e in leecher.events(timeout=1) if e.kind == "storage_error"]
    assert errors and "data.bin" in (errors[0].message or ""), errors
    # The failure itself, as the exception a call failing so would raise (not raised).
    error = errors[0].error
    assert isinstance(error, bittern.StorageError) and isinstance(error, OSError)
    assert error.filename == str(target) and str(error) == errors[0].message
    assert errors[0] == errors[0]

    target.rmdir()
    handle.resume()
    assert handle.status().state != "error"  # cleared at once
    assert handle.wait(timeout=30), handle.status()
    assert target.read_bytes() == source.read_bytes()


def test_remove(tmp_path: Path, new_session: Callable[[], bittern.Session]) -> None:
    source = random_file(tmp_path / "src" / "data.bin", 100_000)
    torrent = bittern.Torrent.create(source, piece_length=16384)
    s = new_session()
    handle = s.add(torrent, tmp_path / "out")
    s.remove(handle)
    started = time.monotonic()
    assert handle.wait() is False  # removed: returns at once, even with no timeout
    assert time.monotonic() - started < 1
    for call in (handle.pause, handle.resume, lambda: s.remove(handle), lambda: s.add_peers(handle, [])):
        with pytest.raises(ValueError, match="removed"):
            call()
    assert handle.status().piece_count == torrent.piece_count  # the last status stays

    # Added again, it starts over from what is on disk.
    seeder = new_session()
    seeded(seeder, torrent, source.parent)
    again = s.add(torrent, tmp_path / "out")
    s.add_peers(again, [("127.0.0.1", seeder.port)])
    assert again.wait(timeout=30)
    assert (tmp_path / "out" / "data.bin").read_bytes() == source.read_bytes()


def test_closed_session(tmp_path: Path) -> None:
    source = random_file(tmp_path / "data.bin", 50_000)
    torrent = bittern.Torrent.create(source)
    with bittern.Session(listen="127.0.0.1:0") as s:
        assert not s.closed
        handle = s.add(torrent, tmp_path / "out")
        port = s.port
    assert s.closed
    s.close()  # again: nothing
    started = time.monotonic()
    assert handle.wait() is False and list(s.events()) == []
    assert time.monotonic() - started < 1
    for call in (lambda: s.add(torrent, tmp_path), handle.pause, lambda: s.add_peers(handle, [])):
        with pytest.raises(ValueError, match="closed"):
            call()
    # The port is free again.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_garbage_collection_closes_a_session() -> None:
    s = bittern.Session(listen="127.0.0.1:0")
    port = s.port
    del s
    gc.collect()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_events_timeout_and_ctrl_c(tmp_path: Path) -> None:
    source = random_file(tmp_path / "data.bin", 50_000)
    torrent = bittern.Torrent.create(source, announce="http://127.0.0.1:1/announce")
    with bittern.Session(listen="127.0.0.1:0") as s:
        handle = s.add(torrent, tmp_path / "out")
        events = s.events(timeout=3)
        assert iter(events) is events
        first = next(events)  # the tracker cannot be reached
        assert first.kind == "tracker_error" and first.message and "tracker_error" in repr(first)
        assert isinstance(first.error, bittern.TrackerError) and str(first.error) == first.message
        started = time.monotonic()
        assert list(s.events(timeout=0.3)) == []
        assert 0.25 < time.monotonic() - started < 2

        for wait in (lambda: handle.wait(), lambda: next(s.events())):
            timer = threading.Timer(0.3, _thread.interrupt_main)
            timer.start()
            started = time.monotonic()
            try:
                with pytest.raises(KeyboardInterrupt):
                    wait()
            finally:
                timer.cancel()
            assert time.monotonic() - started < 2


def test_a_url_that_serves_no_torrent_is_named(tmp_path: Path, web: Web) -> None:
    """A plain web server's 404, an HTML page and bencode that is no torrent: each error names
    the URL and what failed, in no tracker's words."""
    (web.root / "page.html").write_text("<!DOCTYPE html>\n<html><body>Log in</body></html>")
    (web.root / "bad.torrent").write_bytes(b"d4:infoi1ee")
    with bittern.Session(listen="127.0.0.1:0") as s:
        url = web.base + "missing.torrent"
        with pytest.raises(bittern.NetworkError) as e:
            s.add(url, tmp_path / "out")
        assert str(e.value) == f"cannot fetch the torrent file {url}: HTTP 404 Not Found"
        assert isinstance(e.value, ConnectionError) and not isinstance(e.value, bittern.TrackerError)

        url = web.base + "page.html"
        with pytest.raises(bittern.MetainfoError) as e:
            s.add(url, tmp_path / "out")
        assert str(e.value).startswith(f"{url} is not a torrent file (the server sent text/html, starting ")

        url = web.base + "bad.torrent"
        with pytest.raises(bittern.MetainfoError) as e:
            s.add(url, tmp_path / "out")
        assert str(e.value).startswith(f"{url}: invalid torrent: info")


def test_ctrl_c_while_adding(tmp_path: Path, web: Web) -> None:
    base, root = web.base, web.root
    torrent = bittern.Torrent.create(random_file(tmp_path / "data.bin", 50_000))
    torrent.save(root / "data.torrent")
    with bittern.Session(listen="127.0.0.1:0") as s:
        timer = threading.Timer(0.2, _thread.interrupt_main)
        timer.start()
        started = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt):
                s.add(base + "slow/data.torrent", tmp_path / "out")
        finally:
            timer.cancel()
        assert time.monotonic() - started < 0.7
        # Ctrl-C cancels the fetch itself (core's Cancel, asked on this thread): nothing is
        # added behind the scenes, so the torrent can be added at once.
        handle = s.add(torrent, tmp_path / "out")
        assert handle.info_hash == torrent.info_hash


def test_waits_release_the_gil(tmp_path: Path) -> None:
    source = random_file(tmp_path / "data.bin", 50_000)
    torrent = bittern.Torrent.create(source)
    counted = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counted
        while not stop.is_set():
            counted += 1
            time.sleep(0.001)

    with bittern.Session(listen="127.0.0.1:0") as s:
        handle = s.add(torrent, tmp_path / "out")
        thread = threading.Thread(target=count)
        thread.start()
        try:
            assert not handle.wait(timeout=0.5)
            assert list(s.events(timeout=0.3)) == []
        finally:
            stop.set()
            thread.join()
    assert counted > 50


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="host:port"):
        bittern.Session(listen="nowhere")
    for options in ({"max_peers_per_ip": 0}, {"max_peers_per_torrent": 0}, {"handshake_timeout": 0}, {"idle_timeout": -1}):
        with pytest.raises(ValueError):
            bittern.Session(listen="127.0.0.1:0", **options)
    # The rules are core's, so the message names the setting as C's does.
    for name in ("max_connections", "max_peers_per_torrent", "max_peers_per_ip"):
        with pytest.raises(ValueError, match=f"{name} must be 1 or more"):
            bittern.Session(listen="127.0.0.1:0", **{name: 0})
    with pytest.raises(ValueError, match="idle_timeout must be more than 0"):
        bittern.Session(listen="127.0.0.1:0", idle_timeout=0)
    bittern.Session(listen="127.0.0.1:0", unchoke_slots=0).close()  # the optimistic unchoke only
    with pytest.raises(TypeError):
        bittern.Session("127.0.0.1:0")  # type: ignore[call-arg]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(bittern.StorageError):
            bittern.Session(listen=f"127.0.0.1:{taken.getsockname()[1]}")
    with bittern.Session(listen="127.0.0.1:0") as s:
        with pytest.raises(ValueError):
            s.events(timeout=-1)
        handle = s.add(bittern.Torrent.create(random_file(tmp_path / "x", 10)), tmp_path / "out")
        with pytest.raises(ValueError):
            handle.wait(timeout=-1)


# ----------------------------------------------------------------------------------------------
# the command line


class Command:
    """A `bittern ...` subprocess whose stdout is read line by line as it comes."""

    def __init__(self, script: str, *args: str | os.PathLike[str]) -> None:
        self.proc = subprocess.Popen(
            [script, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """The first line (from now) that contains `text`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in {timeout} s: {self.seen}") from None
            if line is None:
                raise AssertionError(f"ended without a line with {text!r}: {self.seen} {self.stderr()}")
            self.seen.append(line)
            if text in line:
                return line

    def finish(self, timeout: float = 60) -> tuple[int, list[str], str]:
        """Waits for the exit: the status, every line of stdout, stderr."""
        self.proc.wait(timeout=timeout)
        while (line := self.lines.get(timeout=10)) is not None:
            self.seen.append(line)
        return self.proc.returncode, self.seen, self.stderr()

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def run(script: str, *args: str | os.PathLike[str], timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `bittern ...` to its end; one that outlives `timeout` is killed and fails the test
    with what it printed."""
    try:
        return subprocess.run([script, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        output = [x.decode() if isinstance(x, bytes) else (x or "") for x in (e.stdout, e.stderr)]
        raise AssertionError(f"bittern {' '.join(map(str, args))} ran over {timeout} s: {output}") from None


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bittern: error: "), result.stderr
    return lines[0]


def test_cli_demo(bittern_script: str) -> None:
    result = run(bittern_script, "demo", "--peers", "2", "--size", "4M")
    assert result.returncode == 0, (result.stdout, result.stderr)
    out = result.stdout
    assert "/torrents/" in out and "2 downloaders fetch http://127.0.0.1:" in out
    assert out.count(": identical, 4 MiB in ") == 2
    # One unit system (binary), rates from one source: each peer's bar ends with the average
    # its verification line shows.
    assert "all 2 copies match: 8 MiB delivered in" in out and "MB" not in out
    assert re.search(r"throughput [\d.]+ MiB/s$", out.splitlines()[-1]), out
    for n in (1, 2):
        bar = [line for line in out.splitlines() if line.startswith(f"peer {n}: ")]
        average = re.fullmatch(r"peer \d: 100\.0% of 4 MiB, done, (.+) on average", bar[-1])
        assert average, bar
        assert f"  peer {n}: identical, 4 MiB in " in out and f"({average.group(1)})" in out
        # Each downloader has 2 peers: the origin and the other downloader; one connected
        # both ways counts once.
        assert all(int(peers) <= 2 for peers in re.findall(r"(\d+) peers?,", "\n".join(bar))), bar
    assert result.stderr == ""  # no progress bars when stderr is not a terminal
    folder = out.split(" of random data to ")[1].split()[0]
    assert not Path(folder).exists()  # the temporary folder is gone


@posix_only
def test_cli_seed_then_download_by_url(bittern_script: str, tmp_path: Path, tracker: bittern.Tracker, web: Web) -> None:
    base, root = web.base, web.root
    data = random_file(tmp_path / "origin" / "song.bin", 3_000_000)
    bittern.Torrent.create(data, announce=tracker.url).save(root / "song.torrent")
    seed = Command(bittern_script, "seed", root / "song.torrent", data, "--port", "0")
    try:
        seed.wait_for("seeding song.bin")
        out = tmp_path / "new folder"
        result = run(bittern_script, "download", base + "song.torrent", "-o", out, "--port", "0", "--exit-when-done")
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert (out / "song.bin").read_bytes() == data.read_bytes()
        lines = result.stdout.splitlines()
        assert f"saving to: {out / 'song.bin'}" in lines
        finished = [line for line in lines if line.startswith("finished:  2.9 MiB in ")]
        assert finished, lines
        # The bar's last line is the final state, with the average rate the summary shows.
        bar = [line for line in lines if "% of 2.9 MiB, " in line]
        average = re.fullmatch(r"100\.0% of 2\.9 MiB, done, (.+ [KMG]iB/s) on average", bar[-1])
        assert average, bar
        assert finished[0].endswith(f"({average.group(1)})"), (finished, bar)
        assert lines[-2:] == ["stopping (telling the trackers)...", "stopped"]
        assert result.stderr == ""

        sent = time.monotonic()
        seed.proc.send_signal(signal.SIGTERM)
        status, seen, stderr = seed.finish(timeout=10)
        assert status == 0 and seen[-1] == "stopped" and stderr == ""
        assert time.monotonic() - sent < 5
    finally:
        seed.kill()
    # Both said `stopped`: the tracker knows no peer of it now.
    assert tracker.stats().peers == 0


@posix_only
def test_cli_download_seeds_until_ctrl_c(bittern_script: str, tmp_path: Path, tracker: bittern.Tracker, new_session: Callable[[], bittern.Session]) -> None:
    data = random_file(tmp_path / "origin" / "clip.bin", 500_000)
    torrent = bittern.Torrent.create(data, announce=tracker.url)
    torrent.save(tmp_path / "clip.torrent")
    seeded(new_session(), torrent, data.parent)
    download = Command(bittern_script, "download", tmp_path / "clip.torrent", "-o", tmp_path / "out", "--port", "0")
    try:
        download.wait_for("seeding on port")
        assert (tmp_path / "out" / "clip.bin").read_bytes() == data.read_bytes()
        sent = time.monotonic()
        download.proc.send_signal(signal.SIGINT)
        status, seen, stderr = download.finish(timeout=10)
        assert time.monotonic() - sent < 5
    finally:
        download.kill()
    assert status == 0, (seen, stderr)
    assert seen[-1] == "stopped" and stderr == ""


@posix_only
def test_cli_download_magnet_saves_the_torrent(bittern_script: str, tmp_path: Path, tracker: bittern.Tracker, new_session: Callable[[], bittern.Session]) -> None:
    data = random_file(tmp_path / "origin" / "clip.bin", 600_000)
    torrent = bittern.Torrent.create(data, announce=tracker.url)
    seeder = new_session()
    seeded(seeder, torrent, data.parent)
    # The link names the seeder (x.pe) besides the tracker: the metadata comes from it.
    link = f"{torrent.magnet()}&x.pe=127.0.0.1:{seeder.port}"
    out, saved = tmp_path / "out", tmp_path / "saved" / "clip.torrent"
    saved.parent.mkdir()
    result = run(bittern_script, "download", link, "-o", out, "--port", "0", "--exit-when-done", "--save-torrent", saved)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert (out / "clip.bin").read_bytes() == data.read_bytes()
    lines = result.stdout.splitlines()
    assert f"magnet:    clip.bin ({torrent.info_hash_hex}): fetching its metadata from peers" in lines, lines
    # The bar starts once the metadata is in: its total is the torrent's size.
    size = [line for line in lines if line.startswith("size:      ")]
    assert size == [f"size:      585.9 KiB in {torrent.piece_count} pieces"], lines
    assert all(" of 0 B" not in line for line in lines), lines
    assert any(re.fullmatch(r"100\.0% of 585\.9 KiB, done.*", line) for line in lines), lines
    assert f"saved:     {saved} (the .torrent of clip.bin)" in lines
    copy = bittern.Torrent.load(saved)
    assert copy.info_hash == torrent.info_hash and copy.total_length == 600_000
    assert result.stderr == ""

    # A .torrent source: --save-torrent keeps a copy (the data is here already).
    torrent.save(tmp_path / "clip.torrent")
    again = tmp_path / "again.torrent"
    result = run(bittern_script, "download", tmp_path / "clip.torrent", "-o", out, "--port", "0", "--exit-when-done", "--save-torrent", again)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert bittern.Torrent.load(again).info_hash == torrent.info_hash
    assert "complete:  all " + str(torrent.piece_count) + " pieces are already here" in result.stdout.splitlines()


@posix_only
def test_cli_download_magnet_without_peers_waits_for_its_metadata(bittern_script: str, tmp_path: Path) -> None:
    link = "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=nowhere.iso"
    download = Command(bittern_script, "download", link, "-o", tmp_path / "out", "--port", "0", "--save-torrent", tmp_path / "x.torrent")
    try:
        assert "nowhere.iso (c12fe1c06bba254a9dc9f519b335aa7c1367a88a)" in download.wait_for("magnet:")
        line = download.wait_for("fetching metadata: ")
        assert line.startswith("fetching metadata: 0 peers; the torrent has no tracker"), line
        download.proc.send_signal(signal.SIGINT)
        status, seen, stderr = download.finish(timeout=10)
    finally:
        download.kill()
    assert status == 130, (seen, stderr)
    assert seen[-3:] == ["interrupted before the download started", "stopping (telling the trackers)...", "stopped"]
    assert not (tmp_path / "x.torrent").exists()
    assert stderr == ""


@posix_only
def test_cli_download_killed_then_resumed(bittern_script: str, tmp_path: Path, tracker: bittern.Tracker, new_session: Callable[[], bittern.Session]) -> None:
    """SIGKILL midway (no clean stop, no resume file), then the same command again: it finds
    the pieces it had, fetches only the rest, and ends with the exact bytes."""
    piece = 256 << 10
    data = random_file(tmp_path / "src" / "big.bin", 32 << 20)
    torrent = bittern.Torrent.create(data, announce=tracker.url, piece_length=piece)
    torrent.save(tmp_path / "big.torrent")
    # The source has only the first half, so the first download stops there for sure.
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "big.bin").write_bytes(data.read_bytes()[: 16 << 20] + bytes(16 << 20))
    source = new_session()
    half = source.add(torrent, origin, seed_only=True)
    assert half.wait_checked(timeout=30)
    assert half.status().pieces_done == half.status().pieces_found == 64

    out = tmp_path / "out"
    first = Command(bittern_script, "download", tmp_path / "big.torrent", "-o", out, "--port", "0")
    try:
        first.wait_for(" 50.0% of 32 MiB")
        first.proc.kill()
        first.proc.wait(10)
    finally:
        first.kill()

    source.remove(half)
    shutil.copyfile(data, origin / "big.bin")
    whole = source.add(torrent, origin, seed_only=True)
    assert whole.wait_checked(timeout=30) and whole.status().finished

    again = run(bittern_script, "download", tmp_path / "big.torrent", "-o", out, "--port", "0", "--exit-when-done")
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert "resuming:  64 of 128 pieces already here (50.0%)" in again.stdout.splitlines()
    assert "finished:  16 MiB in " in again.stdout
    assert (out / "big.bin").read_bytes() == data.read_bytes()


def test_cli_tells_a_url_that_serves_no_torrent_once(bittern_script: str, tmp_path: Path, web: Web) -> None:
    (web.root / "page.html").write_text("<html><body>Log in</body></html>")
    for name, says in [
        ("missing.torrent", "cannot fetch the torrent file {url}: HTTP 404 Not Found"),
        ("page.html", '{url} is not a torrent file (the server sent text/html, starting "<html><body>Log in</body></html>")'),
    ]:
        url = web.base + name
        line = one_error_line(run(bittern_script, "download", url, "-o", tmp_path / "out"))
        assert line == "bittern: error: " + says.format(url=url)


def test_cli_bad_inputs(bittern_script: str, tmp_path: Path) -> None:
    line = one_error_line(run(bittern_script, "download", tmp_path / "missing.torrent"))
    assert "missing.torrent" in line and "No such file" in line
    line = one_error_line(run(bittern_script, "download", "http://127.0.0.1:1/x.torrent", "-o", tmp_path))
    assert line.startswith("bittern: error: cannot fetch the torrent file http://127.0.0.1:1/x.torrent: "), line
    assert "tracker" not in line and line.count("127.0.0.1:1") == 1
    # A magnet link is taken; a malformed one is refused, saying what is wrong with it.
    line = one_error_line(run(bittern_script, "download", "magnet:?xt=urn:btih:00", "-o", tmp_path))
    assert "magnet link" in line and '"00" is neither 40 hex digits' in line, line
    (tmp_path / "bad.torrent").write_bytes(b"d4:infoi1ee")
    assert "bad.torrent" in one_error_line(run(bittern_script, "download", tmp_path / "bad.torrent", "-o", tmp_path))
    data = random_file(tmp_path / "data.bin", 40_000)
    bittern.Torrent.create(data).save(tmp_path / "data.torrent")
    line = one_error_line(run(bittern_script, "download", tmp_path / "data.torrent", "-o", data))
    assert "not a folder" in line

    other = random_file(tmp_path / "other.bin", 40_000)
    line = one_error_line(run(bittern_script, "seed", tmp_path / "data.torrent", other, "--port", "0"))
    assert "'data.bin'" in line and "'other.bin'" in line
    one_error_line(run(bittern_script, "seed", tmp_path / "data.torrent", tmp_path / "nothing", "--port", "0"))
    one_error_line(run(bittern_script, "seed", tmp_path / "missing.torrent", data, "--port", "0"))
    data.write_bytes(os.urandom(40_000))  # changed since the torrent was made
    line = one_error_line(run(bittern_script, "seed", tmp_path / "data.torrent", data, "--port", "0"))
    assert "does not match" in line
    data.write_bytes(os.urandom(30_000))  # shorter: refused before the session would extend it
    line = one_error_line(run(bittern_script, "seed", tmp_path / "data.torrent", data, "--port", "0"))
    assert "30000 bytes, but 40000" in line and data.stat().st_size == 30_000
    folder = content_folder(tmp_path / "album")
    bittern.Torrent.create(folder).save(tmp_path / "album.torrent")
    (folder / "sub" / "b.bin").unlink()
    line = one_error_line(run(bittern_script, "seed", tmp_path / "album.torrent", folder, "--port", "0"))
    assert "b.bin: missing" in line and not (folder / "sub" / "b.bin").exists()
    line = one_error_line(run(bittern_script, "seed", tmp_path / "album.torrent", folder / "a.bin", "--port", "0"))
    assert "the torrent is of 'album', not 'a.bin'" in line

    for args in (["demo", "--peers", "0"], ["demo", "--size", "0"], ["download", "x", "--port", "70000"]):
        assert run(bittern_script, *args).returncode == 2


def test_cli_desktop_entry(bittern_script: str, tmp_path: Path) -> None:
    shown = run(bittern_script, "desktop-entry")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "[Desktop Entry]"
    for expected in ["Type=Application", "Exec=bittern download %u", "MimeType=application/x-bittorrent;x-scheme-handler/magnet;"]:
        assert expected in lines

    # Installed for a user whose PATH has an xdg-mime that records how it is called.
    home, tools = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    tools.mkdir()
    calls = tmp_path / "calls"
    (tools / "xdg-mime").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    (tools / "xdg-mime").chmod(0o755)
    env = {"HOME": str(home), "PATH": str(tools), "XDG_DATA_HOME": str(home / "data")}
    installed = run(bittern_script, "desktop-entry", "--install", env=env)
    assert installed.returncode == 0, installed.stderr
    entry = home / "data" / "applications" / "bittern.desktop"
    text = entry.read_text()
    assert f"Exec={Path(bittern_script).resolve()} download %u" in text.splitlines()
    assert "MimeType=application/x-bittorrent;x-scheme-handler/magnet;" in text.splitlines()
    # The default for .torrent files and links, and for magnet links a browser hands over.
    assert calls.read_text() == "default bittern.desktop application/x-bittorrent x-scheme-handler/magnet\n"
    assert f"installed {entry}" in installed.stdout
    assert "ran xdg-mime default bittern.desktop application/x-bittorrent x-scheme-handler/magnet" in installed.stdout

    # Without xdg-mime (and XDG_DATA_HOME), it goes to ~/.local/share and says what is left.
    env = {"HOME": str(home), "PATH": str(tmp_path / "empty")}
    installed = run(bittern_script, "desktop-entry", "--install", env=env)
    assert installed.returncode == 0, installed.stderr
    assert (home / ".local" / "share" / "applications" / "bittern.desktop").is_file()
    assert "xdg-mime not found" in installed.stdout


def test_seed_only_never_touches_the_original_data(tmp_path: Path) -> None:
    folder = tmp_path / "album"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(os.urandom(40_000))
    (folder / "sub" / "b.bin").write_bytes(os.urandom(30_000))
    torrent = bittern.Torrent.create(folder, piece_length=16384)
    (folder / "sub" / "b.bin").unlink()
    with bittern.Session(listen="127.0.0.1:0") as s:
        # Added all the same: the torrent waits in state "error", saying why, until resumed.
        handle = s.add(torrent, tmp_path, seed_only=True)
        assert not handle.wait(timeout=30) and handle.status().state == "error"
        missing = handle.error()
        assert isinstance(missing, bittern.StorageError) and "b.bin: missing" in str(missing)
        assert missing.filename == str(folder / "sub" / "b.bin")
        assert [e.error for e in s.events(timeout=1) if e.kind == "storage_error"] != []
        assert not (folder / "sub" / "b.bin").exists()
        (folder / "sub" / "b.bin").write_bytes(os.urandom(20_000))
        handle.resume()  # opens the files again: their new size is told
        assert not handle.wait(timeout=30) and handle.status().state == "error"
        assert "20000 bytes, but 30000" in str(handle.error())
        assert (folder / "sub" / "b.bin").stat().st_size == 20_000


def test_storage_errors_keep_errno_and_filename(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"x")
    torrent = bittern.Torrent.create(random_file(tmp_path / "data.bin", 1000))
    with bittern.Session(listen="127.0.0.1:0") as s:
        handle = s.add(torrent, blocker / "below")  # a folder below a file cannot be made
        assert not handle.wait(timeout=30)
        error = handle.error()
        assert isinstance(error, bittern.StorageError)
        assert error.errno in (errno.ENOTDIR, errno.EEXIST), error
        assert error.filename is not None and "below" in error.filename
        assert "below" in str(error)
        with pytest.raises(bittern.StorageError) as e:
            s.add(tmp_path / "missing.torrent", tmp_path / "out")
        assert e.value.errno == errno.ENOENT and e.value.filename == str(tmp_path / "missing.torrent")
        # One style of message in every face: the number is `errno`, not a suffix of the text.
        assert str(e.value).endswith("No such file or directory"), str(e.value)


def test_torrents_load_from_bytes_urls_in_any_case_and_file_urls(tmp_path: Path) -> None:
    torrent = bittern.Torrent.create(random_file(tmp_path / "src" / "data.bin", 1000))
    torrent.save(tmp_path / "t.torrent")
    with bittern.Session(listen="127.0.0.1:0") as s:
        s.remove(s.add(torrent.to_bytes(), tmp_path / "a"))
        s.remove(s.add((tmp_path / "t.torrent").as_uri(), tmp_path / "b"))
        with pytest.raises(bittern.NetworkError):
            s.add("HTTP://127.0.0.1:1/x.torrent", tmp_path / "c")
        with pytest.raises(ValueError, match="neither 40 hex digits"):  # a malformed magnet link
            s.add("magnet:?xt=urn:btih:00", tmp_path / "c")
        with pytest.raises(ValueError, match="only http and https"):
            s.add("ftp://example.invalid/x.torrent", tmp_path / "c")


def dead_tracker_url() -> str:
    """An announce URL on a loopback port nothing listens on (bound, read back, closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/announce"


def test_trackers_tell_each_url_state(tmp_path: Path, new_session: Callable[[], bittern.Session]) -> None:
    """Issue 9: an unreachable tracker is `failing` with its URL and why; no tracker says so."""
    data = random_file(tmp_path / "data.bin", 50_000)
    url = dead_tracker_url()
    torrent = bittern.Torrent.create(data, announce=url, piece_length=16384)
    session = new_session()
    handle = session.add(torrent, tmp_path / "out")
    deadline = time.monotonic() + 20
    while (trackers := handle.trackers())[0].state != "failing":
        assert time.monotonic() < deadline, trackers
        time.sleep(0.05)
    (t,) = trackers
    assert (t.url, t.tier, t.peers) == (url, 0, 0)
    assert t.message and t.failures >= 1 and t.retry_in is not None
    assert handle.tracker_trouble() == "unreachable"
    assert "failing" in repr(t)
    event = next(e for e in session.events(timeout=10) if e.kind == "tracker_error")
    assert event.url == url and event.message

    bare = bittern.Torrent.create(random_file(tmp_path / "bare.bin", 20_000), piece_length=16384)
    lone = session.add(bare, tmp_path / "out")
    assert lone.trackers() == []
    assert lone.tracker_trouble() == "no_tracker"
