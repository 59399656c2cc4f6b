"""Issue 10: a hostile tracker against our client. Each misbehaviour gets a clear error or a
documented clamp or filter, in bounded time and memory, and a torrent keeps working through its
other trackers. The outcomes are listed in SECURITY.md ("Hostile trackers")."""

from __future__ import annotations

import gzip
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import bittern

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vectors"))
from make_vectors import ben as bencode  # noqa: E402  (the vectors' own encoder)

INFO_HASH = bytes(range(20))
Reply = Callable[[socket.socket, bytes], None]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    reply: Reply
    requests: list[bytes]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        server.requests.append(head)
        try:
            server.reply(self.request, head)
        except OSError:  # the client gave up on us: what a hostile server expects
            pass


@contextmanager
def hostile(reply: Reply) -> Iterator[tuple[str, _Server]]:
    """A tracker on loopback answering every request with `reply(socket, request_head)`."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.reply, server.requests = reply, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/announce", server
    finally:
        server.shutdown()
        server.server_close()


def respond(body: bytes, *headers: str, status: str = "200 OK") -> Reply:
    def reply(conn: socket.socket, head: bytes) -> None:
        # Closing after each answer, it says so: else the client may pool the connection.
        lines = [f"HTTP/1.1 {status}", "Connection: close", *headers]
        if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
            lines.append(f"Content-Length: {len(body)}")
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    return reply


def compact(*peers: tuple[str, int]) -> bytes:
    return b"".join(socket.inet_aton(ip) + struct.pack(">H", port) for ip, port in peers)


def refused(url: str, timeout: float = 3.0) -> tuple[bittern.TrackerError, float]:
    """Announces to `url`, which must fail; returns the error and how long it took."""
    started = time.monotonic()
    with pytest.raises(bittern.TrackerError) as caught:
        bittern.announce(url, INFO_HASH, left=0, timeout=timeout)
    return caught.value, time.monotonic() - started


def test_an_html_page_is_named_as_not_bencode() -> None:
    page = b"<!DOCTYPE html><html><body>Welcome to my tracker</body></html>"
    with hostile(respond(page, "Content-Type: text/html")) as (url, _):
        error, _ = refused(url)
    assert "not bencode" in str(error) and "<!DOCTYPE html>" in str(error)


def test_a_failure_reason_cannot_drive_a_terminal_or_forge_lines() -> None:
    reason = b"\x1b[2J\x1b]0;owned\x07banned\r\nLocation: http://evil.example/\r\n\x00" + b"x" * 5000
    with hostile(respond(bencode({"failure reason": reason}))) as (url, _):
        error, _ = refused(url)
    text = str(error)
    assert "banned" in text and "Location: http://evil.example/" in text
    assert not any(c < " " and c != "\t" or c == "\x7f" for c in text), repr(text)
    assert len(text) < 600 and text.endswith("…")


@pytest.mark.parametrize(
    "answer",
    [
        {"interval": 60, "peers": compact(("10.0.0.1", 6881)) + b"\x01\x02\x03"},
        {"interval": 60, "peers": b"", "peers6": b"\x00" * 17},
        {"interval": 60, "peers": 42},
        {"peers": b""},
    ],
    ids=["peers-not-6n", "peers6-not-18n", "peers-an-integer", "no-interval"],
)
def test_malformed_answers_are_errors(answer: dict[str, object]) -> None:
    with hostile(respond(bencode(answer))) as (url, _):
        error, _ = refused(url)
    assert "invalid tracker response" in str(error)


def test_peers_that_cannot_be_dialled_are_filtered() -> None:
    peers = compact(
        ("0.0.0.0", 6881), ("255.255.255.255", 6881), ("224.0.0.5", 6881), ("10.0.0.7", 0),
        ("10.0.0.8", 51413),
    )
    with hostile(respond(bencode({"interval": 60, "peers": peers}))) as (url, _):
        answer = bittern.announce(url, INFO_HASH, left=0, timeout=3)
    assert [(p.ip, p.port) for p in answer.peers] == [("10.0.0.8", 51413)]


def test_a_huge_peer_list_is_read_within_the_size_cap() -> None:
    """170,000 compact peers (about 1 MiB, the cap) are read; more is refused as too large."""
    many = b"".join(struct.pack(">IH", 0x0A000000 + i, 6881) for i in range(1, 170_001))
    with hostile(respond(bencode({"interval": 60, "peers": many}))) as (url, _):
        started = time.monotonic()
        answer = bittern.announce(url, INFO_HASH, left=0, timeout=10)
        took = time.monotonic() - started
    assert len(answer.peers) == 170_000
    print(f"170,000 peers read in {took:.2f} s")
    million = many * 6
    with hostile(respond(bencode({"interval": 60, "peers": million}))) as (url, _):
        error, took = refused(url, timeout=10)
    assert "larger than the limit" in str(error) and took < 5


def test_a_body_of_many_megabytes_is_refused_before_it_is_read() -> None:
    sent: list[int] = []

    def endless(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500000000\r\n\r\n")
        for _ in range(500):
            conn.sendall(b"d" * 1_000_000)
            sent.append(1)

    with hostile(endless) as (url, _):
        error, took = refused(url, timeout=10)
    assert "larger than the limit" in str(error) and took < 5
    assert len(sent) < 100, f"{len(sent)} MB were pushed before the client hung up"


def test_a_chunked_body_without_end_is_cut_at_the_cap() -> None:
    def chunked(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(200):
            conn.sendall(b"100000\r\n" + b"7" * 0x100000 + b"\r\n")

    with hostile(chunked) as (url, _):
        error, took = refused(url, timeout=10)
    assert "larger than the limit" in str(error) and took < 5


def test_an_absurd_chunk_size_is_an_error() -> None:
    def absurd(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nd")

    with hostile(absurd) as (url, _):
        error, took = refused(url, timeout=5)
    assert "reading the answer failed" in str(error) or "larger than the limit" in str(error), error
    assert took < 5


def test_a_gzip_bomb_is_never_inflated() -> None:
    """We never ask for compression, so a compressed answer is bytes that are not bencode."""
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    with hostile(respond(bomb, "Content-Encoding: gzip")) as (url, _):
        error, took = refused(url)
    assert "not bencode" in str(error) and took < 3


@pytest.mark.parametrize(
    "location, expected",
    [
        ("/announce", "more than 3 redirects"),  # to itself, forever
        ("ftp://127.0.0.1/announce", "only http(s) is followed"),
        # Not even offered to our redirect policy: the 302 itself is the answer.
        ("file:///etc/passwd", "tracker answered HTTP 302"),
    ],
    ids=["loop", "ftp", "file"],
)
def test_redirects_that_go_nowhere_or_elsewhere_are_errors(location: str, expected: str) -> None:
    reply = respond(b"", f"Location: {location}", status="302 Found")
    with hostile(reply) as (url, server):
        error, took = refused(url)
    assert expected in str(error), error
    assert took < 3 and len(server.requests) <= 4


def test_a_tracker_sending_a_byte_every_second_times_out() -> None:
    def trickle(conn: socket.socket, head: bytes) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"d" * 100:
            conn.sendall(bytes([byte]))
            time.sleep(1)

    with hostile(trickle) as (url, _):
        started = time.monotonic()
        with pytest.raises(bittern.TrackerTimeoutError):
            bittern.announce(url, INFO_HASH, left=0, timeout=2)
        took = time.monotonic() - started
    assert 1.5 < took < 4


def test_the_next_tier_answers_when_a_tracker_is_hostile() -> None:
    with hostile(respond(b"<html>no</html>")) as (bad, _), bittern.Tracker("127.0.0.1:0") as good:
        answer = bittern.announce([[bad], [good.url]], INFO_HASH, left=0, timeout=3)
    assert answer.url == good.url


@pytest.mark.parametrize("interval", [0, -30, 1 << 40], ids=["zero", "negative", "huge"])
def test_an_interval_never_makes_a_tight_announce_loop(interval: int, tmp_path: Path) -> None:
    """The session takes at least 60 s between announces (a tracker's `min interval` may ask
    for more), at most 2 h: an interval of 0 or less cannot make it hammer the tracker."""
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 100_000)
    answer = bencode({"interval": interval, "min interval": interval, "peers": b""})
    with hostile(respond(answer)) as (url, server):
        torrent = bittern.Torrent.create(data, announce=url)
        with bittern.Session(listen="127.0.0.1:0") as session:
            handle = session.add(torrent, tmp_path, seed_only=True, trust_data=True)
            deadline = time.monotonic() + 10
            while not server.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(3)
            announces = len(server.requests)
            tracker = handle.trackers()[0]
    # One announce, `started`: a torrent complete from the start never announces `completed`
    # (that was sent once the background check finished, and trackers count it a download).
    assert announces == 1, [r.split(b"\r\n")[0] for r in server.requests]
    assert b"event=started" in server.requests[0]
    assert tracker.failures == 0


def test_a_download_goes_on_through_its_other_tracker(tmp_path: Path) -> None:
    """The first tier answers HTML forever; the second tier's tracker brings the seeder, the
    download completes, and the hostile tracker's trouble stays visible in the torrent's list."""
    data = tmp_path / "seed" / "data.bin"
    data.parent.mkdir()
    data.write_bytes(bytes(range(256)) * 2000)
    with hostile(respond(b"<html>tracker moved</html>")) as (bad, _), bittern.Tracker("127.0.0.1:0") as good:
        torrent = bittern.Torrent.create(data, announce=[bad, good.url], piece_length=16384)
        with bittern.Session(listen="127.0.0.1:0") as seeder, bittern.Session(listen="127.0.0.1:0") as leecher:
            seeder.add(torrent, data.parent, seed_only=True, trust_data=True)
            handle = leecher.add(torrent, tmp_path / "out")
            assert handle.wait(timeout=60), handle.status()
            states = {t.url: t.state for t in handle.trackers()}
    assert (tmp_path / "out" / "data.bin").read_bytes() == data.read_bytes()
    assert states == {bad: "failing", good.url: "working"}
