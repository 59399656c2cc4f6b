"""Adversarial peers (issue 10): a hostile peer (hostile_peer.py) speaks the wire protocol and
misbehaves against bittern's seeder and downloader. Each test states the outcome it expects;
SECURITY.md ("Hostile peers") lists them with their bounds.

Every session here runs in this process, so the memory and CPU figures measured with
/proc/self/status and getrusage include the engine's."""

from __future__ import annotations

import hashlib
import os
import resource
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import bittern

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_peer import (  # noqa: E402
    BLOCK,
    CANCEL,
    CHOKE,
    HAVE,
    INTERESTED,
    NOT_INTERESTED,
    PIECE,
    REQUEST,
    UNCHOKE,
    Closed,
    HostilePeer,
    Listener,
    Server,
    accept_from,
    engine_cpu_seconds,
    bitfield,
    cancel,
    frame,
    full_bitfield,
    handshake_bytes,
    have,
    piece,
    request,
    vm_rss_kib,
)

PIECE_LENGTH = 32768
# 9 pieces, the last one short (5000 bytes: one block that is not a whole 16 KiB).
SIZE = 8 * PIECE_LENGTH + 5000
PIECES = 9
# Disconnect bounds: a refusal that needs no timer must come within QUICK seconds, while the
# session's timeouts are far longer (so only the rule can explain it).
QUICK = 3.0
LONG = 60.0


# ----------------------------------------------------------------------------------------------
# fixtures


@dataclass
class Seed:
    session: bittern.Session
    handle: bittern.TorrentHandle
    torrent: bittern.Torrent
    data: bytes

    @property
    def info_hash(self) -> bytes:
        return self.torrent.info_hash

    def block(self, index: int, begin: int, length: int) -> bytes:
        start = index * self.torrent.piece_length + begin
        return self.data[start : start + length]

    def disconnects(self) -> dict[str, int]:
        return self.handle.status().disconnects


def make_data(folder: Path, size: int = SIZE, piece_length: int = PIECE_LENGTH) -> tuple[bittern.Torrent, bytes, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path = folder / "data.bin"
    path.write_bytes(data)
    torrent = bittern.Torrent.create(path, piece_length=piece_length, creation_date=None)
    return torrent, data, path


@pytest.fixture
def sessions() -> Iterator[Callable[..., bittern.Session]]:
    """Makes sessions on loopback, closed at the end of the test. Timeouts are long unless a
    test asks otherwise, so that a quick disconnect can only be the rule under test."""
    made: list[bittern.Session] = []

    def make(**kw: object) -> bittern.Session:
        options: dict[str, object] = {
            "listen": "127.0.0.1:0",
            "handshake_timeout": LONG,
            "idle_timeout": LONG,
            "max_peers_per_ip": 50,
        }
        options.update(kw)
        s = bittern.Session(**options)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def make_seed(tmp_path: Path, sessions: Callable[..., bittern.Session]) -> Callable[..., Seed]:
    """A seeder (seed_only, trust_data) of a fresh random file, with the session options given."""
    made = 0

    def make(size: int = SIZE, piece_length: int = PIECE_LENGTH, **kw: object) -> Seed:
        nonlocal made
        made += 1
        torrent, data, path = make_data(tmp_path / f"seed{made}", size, piece_length)
        session = sessions(**kw)
        handle = session.add(torrent, path.parent, seed_only=True, trust_data=True)
        assert handle.wait_checked(timeout=10)
        assert handle.status().finished
        return Seed(session, handle, torrent, data)

    return make


@pytest.fixture
def seed(make_seed: Callable[..., Seed]) -> Seed:
    return make_seed()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def counted(seed_or_handle: Seed | bittern.TorrentHandle, reason: str, at_least: int = 1, timeout: float = 5.0) -> bool:
    handle = seed_or_handle.handle if isinstance(seed_or_handle, Seed) else seed_or_handle
    return wait_until(lambda: handle.status().disconnects[reason] >= at_least, timeout)


def open_to(seed: Seed, *, interested: bool = False, source: str | None = None) -> HostilePeer:
    """A hostile peer with a valid handshake, past the seeder's handshake and bitfield; if
    `interested`, unchoked too."""
    p = HostilePeer.connect(seed.session.port, source=source)
    p.handshake(seed.info_hash)
    info_hash, _ = p.expect_handshake()
    assert info_hash == seed.info_hash
    m = p.read_message()
    assert m.id == 5 and m.payload == full_bitfield(PIECES if seed.torrent.piece_count == PIECES else seed.torrent.piece_count)
    if interested:
        p.send(frame(INTERESTED))
        p.wait_for(UNCHOKE)
    return p


def served_correctly(seed: Seed, p: HostilePeer, asked: set[tuple[int, int, int]], count: int, timeout: float = 10.0) -> int:
    """Reads `count` piece messages; each must answer a block asked for, byte for byte."""
    got = 0
    deadline = time.monotonic() + timeout
    while got < count:
        m = p.read_message(max(0.01, deadline - time.monotonic()))
        if m.id != PIECE:
            continue
        index, begin, length = m.block
        assert (index, begin, length) in asked, (index, begin, length)
        assert m.payload[8:] == seed.block(index, begin, length)
        got += 1
    return got


# ----------------------------------------------------------------------------------------------
# handshakes


@pytest.mark.parametrize(
    "name",
    ["pstrlen_18", "pstrlen_0", "pstr_wrong", "http_request", "unknown_info_hash", "own_peer_id", "short_then_close"],
)
def test_broken_handshake_is_refused_at_once(seed: Seed, name: str) -> None:
    """A handshake that is not BEP 3's, for a torrent we do not serve, or carrying our own
    peer id: the connection is closed within QUICK seconds (the handshake timeout is 60 s),
    and nothing of ours is sent (no handshake, no bitfield)."""
    good = handshake_bytes(seed.info_hash)
    bad = {
        "pstrlen_18": bytes([18]) + good[1:],
        "pstrlen_0": bytes(68),
        "pstr_wrong": good[:1] + b"BitTorrent_protocol" + good[20:],
        "http_request": b"GET /announce?info_hash=x HTTP/1.1\r\nHost: a\r\n\r\n" + bytes(20),
        "unknown_info_hash": handshake_bytes(hashlib.sha1(b"not served").digest()),
        "own_peer_id": handshake_bytes(seed.info_hash, seed.session.peer_id),
        "short_then_close": good[:40],
    }[name]
    with HostilePeer.connect(seed.session.port) as p:
        p.send(bad)
        if name == "short_then_close":
            p.sock.shutdown(1)  # half-close: "the rest never comes"
        took = p.closed_within(QUICK)
        assert took is not None, f"{name}: still connected after {QUICK}s"
        assert p.received == 0, f"{name}: bittern sent {p.received} bytes to a refused peer"
    assert seed.handle.status().peers == 0


def test_silence_before_the_handshake_times_out(make_seed: Callable[..., Seed]) -> None:
    """Connecting and saying nothing: closed at the handshake timeout (1 s here), within
    4 timeouts, having sent nothing."""
    seed = make_seed(handshake_timeout=1.0)
    with HostilePeer.connect(seed.session.port) as p:
        took = p.closed_within(4.0)
        assert took is not None and took >= 0.9, took
        assert p.received == 0
    print(f"silent peer closed after {took:.2f}s (handshake timeout 1 s)")


def test_a_byte_a_second_handshake_is_cut_at_the_handshake_timeout(make_seed: Callable[..., Seed]) -> None:
    """Slowloris: the handshake one byte a second. The handshake timeout (2 s here) bounds the
    whole handshake, not each read: cut off within 3 timeouts, after a few bytes of 68."""
    seed = make_seed(handshake_timeout=2.0)
    with HostilePeer.connect(seed.session.port) as p:
        start = time.monotonic()
        sent = p.dribble(handshake_bytes(seed.info_hash), 1.0, deadline=6.0)
        assert p.closed_within(max(0.1, start + 6.0 - time.monotonic())) is not None
        took = time.monotonic() - start
        assert sent < 10 and took < 6.0, (sent, took)
        assert p.received == 0
    print(f"slowloris handshake cut after {sent} bytes, {took:.2f}s (handshake timeout 2 s)")


def test_silence_after_the_handshake_is_dropped_at_the_idle_timeout(make_seed: Callable[..., Seed]) -> None:
    """A valid handshake, then nothing: dropped at the idle timeout (1 s here), within 4
    timeouts, counted as `idle`."""
    seed = make_seed(idle_timeout=1.0)
    with open_to(seed) as p:
        took = p.closed_within(4.0)
        assert took is not None and took >= 0.5, took
    assert counted(seed, "idle"), seed.disconnects()
    print(f"silent peer after its handshake dropped after {took:.2f}s (idle timeout 1 s)")


def test_a_message_a_byte_at_a_time_is_dropped_at_the_idle_timeout(make_seed: Callable[..., Seed]) -> None:
    """Slowloris after the handshake: requests sent a byte every 0.5 s. The idle timeout
    (2 s here) counts whole messages, not bytes: dropped within 4 timeouts, counted as
    `idle`, before the second 17-byte request is complete."""
    seed = make_seed(idle_timeout=2.0)
    with open_to(seed, interested=True) as p:
        start = time.monotonic()
        sent = p.dribble(request(0, 0, BLOCK) * 4, 0.5, deadline=8.0)
        took = time.monotonic() - start
    assert sent < 34 and took < 8.0, (sent, took)
    assert counted(seed, "idle"), seed.disconnects()
    print(f"message dribbled a byte every 0.5 s: dropped after {sent} bytes, {took:.2f}s (idle timeout 2 s)")


def test_zeros_instead_of_a_handshake_are_cut_off_after_bounded_bytes(seed: Seed) -> None:
    """`nc < /dev/zero`: a stream of zero bytes (pstrlen 0) is refused after its first 20
    bytes. Bytes the sender manages to push before the reset are bounded by the socket
    buffers (asserted under 8 MiB of the gigabyte on offer), within QUICK seconds."""
    chunk = bytes(1 << 20)
    with HostilePeer.connect(seed.session.port) as p:
        start = time.monotonic()
        sent = 0
        with pytest.raises(Closed):
            while sent < (1 << 30):
                n = p.send(chunk, timeout=QUICK)
                sent += n
                if n < len(chunk):  # the kernel stopped taking them: the reader is gone
                    assert p.closed_within(QUICK) is not None
                    raise Closed("stopped reading")
        took = time.monotonic() - start
        assert p.sent < 8 << 20 and took < 2 * QUICK, (p.sent, took)
    print(f"zeros: cut off after {p.sent} bytes sent, {took:.2f}s")


def test_zeros_after_the_handshake_are_a_keep_alive_flood_cut_off(seed: Seed) -> None:
    """A gigabyte of zero bytes after a valid handshake is a stream of keep-alives (4 bytes
    each): legal one by one, but more than 16 within 10 s is a flood, closed as `rule_broken`
    within QUICK seconds, after at most 8 MiB accepted by the kernel (our reads stop at the
    17th). (Before, a core was kept busy for as long as the zeros flowed, about 70 MB/s.)"""
    before = seed.disconnects()["rule_broken"]
    chunk = bytes(1 << 20)
    with open_to(seed) as p:
        start = time.monotonic()
        cpu0 = engine_cpu_seconds()
        try:
            while p.sent < (1 << 30) and time.monotonic() - start < 2 * QUICK:
                if p.send(chunk, timeout=QUICK) < len(chunk):
                    break
        except Closed:
            pass
        took = p.closed_within(QUICK)
        elapsed = time.monotonic() - start
        cpu = engine_cpu_seconds() - cpu0
    print(f"zeros after the handshake: cut off after {p.sent} bytes sent, {elapsed:.2f}s, engine CPU {cpu:.2f}s")
    assert took is not None and elapsed < 2 * QUICK, elapsed
    assert p.sent < 8 << 20, p.sent
    assert counted(seed, "rule_broken", before + 1), seed.disconnects()


def test_a_few_keep_alives_are_fine(seed: Seed) -> None:
    """16 keep-alives at once (more than any honest peer sends in 10 s) break no rule."""
    with open_to(seed, interested=True) as p:
        p.send(frame(None) * 16)
        p.send(request(0, 0, BLOCK))
        assert served_correctly(seed, p, {(0, 0, BLOCK)}, 1) == 1
        assert not p.is_closed()


# ----------------------------------------------------------------------------------------------
# malformed messages after the handshake


# The largest message this torrent allows (its bitfield is 2 bytes): an extended message
# (BEP 10) of 17 KiB of payload, room for a ut_metadata piece.
MAX_LEN = 2 + 17 * 1024

MALFORMED = {
    # length prefixes
    "length_4_GiB": struct.pack(">I", 0xFFFFFFFF) + bytes([PIECE]),
    "length_prefix_only_4_GiB": struct.pack(">I", 0xFFFFFFFF),
    "oversized_unknown_id": frame(99, bytes(MAX_LEN)),
    "oversized_piece": piece(0, 0, bytes(BLOCK + 1)),
    # payload sizes that do not fit their id
    "choke_with_payload": frame(CHOKE, b"\0"),
    "interested_with_payload": frame(INTERESTED, b"\0\0\0\0"),
    "have_short": frame(HAVE, b"\0\0\0"),
    "have_long": frame(HAVE, b"\0\0\0\0\0"),
    "request_short": frame(REQUEST, bytes(11)),
    "request_long": frame(REQUEST, bytes(13)),
    "cancel_short": frame(CANCEL, bytes(8)),
    "piece_without_begin": frame(PIECE, bytes(4)),
    "piece_empty": piece(0, 0, b""),
    # bitfields
    "bitfield_short": bitfield(b"\xff"),
    "bitfield_long": bitfield(b"\xff\x80\x00"),
    "bitfield_spare_bits": bitfield(b"\xff\xc0"),  # 9 pieces: bit 10 is spare
    "bitfield_empty": bitfield(b""),
    # indices and blocks out of range
    "have_out_of_range": have(PIECES),
    "have_u32_max": have(0xFFFFFFFF),
    "request_index_out_of_range": request(PIECES, 0, BLOCK),
    "request_past_piece_end": request(0, PIECE_LENGTH - BLOCK + 1, BLOCK),
    "request_past_short_last_piece": request(PIECES - 1, 0, 5001),
    "request_length_zero": request(0, 0, 0),
    "request_larger_than_16_KiB": request(0, 0, BLOCK + 1),
    "request_offset_plus_length_overflows_u32": request(0, 0xFFFFC000, 0x4000),
    "request_offset_u32_max": request(0, 0xFFFFFFFF, 1),
    "cancel_out_of_range": cancel(PIECES, 0, BLOCK),
    "piece_past_piece_end": piece(0, PIECE_LENGTH - 10, bytes(11)),
    "piece_index_out_of_range": piece(PIECES, 0, bytes(16)),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_message_disconnects_at_once(seed: Seed, name: str) -> None:
    """Each message breaking the wire format or the torrent's layout closes the connection
    within QUICK seconds (the idle timeout is 60 s), counted as `malformed`. A length prefix
    of 4 GiB is refused on its 4 bytes: nothing of the claimed payload is awaited."""
    before = seed.disconnects()["malformed"]
    with open_to(seed, interested=True) as p:
        p.send(MALFORMED[name])
        took = p.closed_within(QUICK)
        assert took is not None, f"{name}: still connected after {QUICK}s"
    assert counted(seed, "malformed", before + 1), seed.disconnects()


def test_unknown_message_ids_are_skipped_and_the_connection_goes_on(seed: Seed) -> None:
    """Ids we do not speak (BEP 5's port, ids nobody defined), up to the torrent's largest
    message size, are skipped by their length; the peer is then served as before."""
    with open_to(seed, interested=True) as p:
        for msg_id in (9, 21, 99, 255):
            p.send(frame(msg_id, bytes(100)))
        p.send(frame(99, os.urandom(MAX_LEN - 1)))  # exactly at the limit
        p.send(request(0, 0, BLOCK))
        assert served_correctly(seed, p, {(0, 0, BLOCK)}, 1) == 1
        assert not p.is_closed()


# ----------------------------------------------------------------------------------------------
# requests


def test_requests_while_choked_are_dropped_not_served(seed: Seed) -> None:
    """BEP 3: a request from a choked peer is not served (and not an offence: requests can
    cross a choke). Once unchoked, the same peer is served."""
    with open_to(seed) as p:
        for b in range(4):
            p.send(request(0, 0, BLOCK))
        got = p.messages(1.0)
        assert not [m for m in got if m.id == PIECE], got
        assert not p.is_closed()
        p.send(frame(INTERESTED))
        p.wait_for(UNCHOKE)
        p.send(request(1, BLOCK, BLOCK))
        assert served_correctly(seed, p, {(1, BLOCK, BLOCK)}, 1) == 1


def test_every_block_served_is_exactly_the_block_asked_for(seed: Seed) -> None:
    """Every block of the torrent in odd sizes and offsets (1 byte, 16 KiB, the short last
    piece's tail): each piece message carries exactly the requested range of verified data."""
    asked = set()
    for index in range(PIECES):
        size = PIECE_LENGTH if index < PIECES - 1 else 5000
        for begin, length in [(0, 1), (0, min(BLOCK, size)), (size - 1, 1), (size - min(BLOCK, size), min(BLOCK, size)), (777, 1000)]:
            asked.add((index, begin, length))
    with open_to(seed, interested=True) as p:
        for block in sorted(asked):
            p.send(request(*block))
        assert served_correctly(seed, p, asked, len(asked)) == len(asked)


def test_cancels_for_blocks_never_asked_for_are_ignored(seed: Seed) -> None:
    """A cancel for a block never requested does nothing: the connection stays, and the blocks
    that were asked for are still served."""
    with open_to(seed, interested=True) as p:
        for index in range(PIECES - 1):
            p.send(cancel(index, BLOCK, BLOCK))
        p.send(request(2, 0, BLOCK))
        assert served_correctly(seed, p, {(2, 0, BLOCK)}, 1) == 1
        assert not p.is_closed()


def test_unsolicited_pieces_to_a_seeder_are_ignored(seed: Seed) -> None:
    """Piece messages nobody asked for (valid in size and range) are neither written nor
    counted; the connection goes on, and the seeder's data is untouched."""
    with open_to(seed, interested=True) as p:
        for index in range(PIECES - 1):
            p.send(piece(index, 0, bytes(BLOCK)))
        p.send(request(3, 0, BLOCK))
        assert served_correctly(seed, p, {(3, 0, BLOCK)}, 1) == 1
    st = seed.handle.status()
    assert st.downloaded == 0 and st.finished, st


# ----------------------------------------------------------------------------------------------
# floods


def flood_requests(p: HostilePeer, blocks: list[tuple[int, int, int]], count: int, seconds: float) -> int:
    """Sends up to `count` requests cycling over `blocks`, never reading; returns how many the
    kernel took before the connection closed or stopped taking them for `seconds`."""
    frames = b"".join(request(*b) for b in blocks)
    sent = 0
    try:
        while sent < count:
            n = p.send(frames, timeout=seconds)
            sent += n // 17
            if n < len(frames):
                break
    except Closed:
        pass
    return sent


def test_a_slow_but_reading_peer_is_not_a_slow_reader(make_seed: Callable[..., Seed]) -> None:
    """A peer with a small receive buffer (64 KiB) that reads about 80 KiB/s and keeps 32
    requests queued: our writes wait on it again and again, but each makes progress within the
    idle timeout (2 s here), so it is served for 6 s (3 timeouts) and not dropped."""
    seed = make_seed(size=4 << 20, piece_length=65536, idle_timeout=2.0)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    s.connect(("127.0.0.1", seed.session.port))
    served = 0
    with HostilePeer(s) as p:
        p.handshake(seed.info_hash)
        p.expect_handshake()
        p.read_message()
        p.send(frame(INTERESTED))
        p.wait_for(UNCHOKE)
        blocks = [(i, b, BLOCK) for i in range(64) for b in range(0, 65536, BLOCK)]
        asked = 0
        for b in blocks[:32]:
            p.send(request(*b))
            asked += 1
        end = time.monotonic() + 6.0
        while time.monotonic() < end:
            m = p.read_message(2.0)
            if m.id == PIECE:
                index, begin, length = m.block
                assert m.payload[8:] == seed.block(index, begin, length)
                served += 1
                p.send(request(*blocks[asked % len(blocks)]))
                asked += 1
                time.sleep(0.2)  # about 80 KiB/s
        assert not p.is_closed()
    assert seed.disconnects()["slow_reader"] == 0, seed.disconnects()
    print(f"slow reader at about 80 KiB/s: {served} blocks served in 6 s, not dropped")


def test_a_request_flood_from_a_reading_peer_is_served_one_for_one(make_seed: Callable[..., Seed]) -> None:
    """20 000 requests (every block of a 4 MiB torrent, cycled) from a peer that reads: no
    more blocks are served than were asked for (a request repeated while the first is still
    being read is served once), and each one is exactly the block asked for."""
    seed = make_seed(size=4 << 20, piece_length=65536)
    blocks = [(i, b, BLOCK) for i in range(64) for b in range(0, 65536, BLOCK)]
    wanted = set(blocks)
    frames = b"".join(request(*b) for b in blocks)
    rounds = 20_000 // len(blocks)
    served = 0
    with open_to(seed, interested=True) as p:

        def flood() -> None:
            try:
                for _ in range(rounds):
                    p.send(frames, timeout=20.0)
            except Closed:
                pass

        sender = threading.Thread(target=flood, daemon=True)
        sender.start()
        try:
            while True:
                m = p.read_message(2.0)
                if m.id == PIECE:
                    assert m.block in wanted
                    index, begin, length = m.block
                    assert m.payload[8:] == seed.block(index, begin, length)
                    served += 1
        except (TimeoutError, Closed):
            pass
        sender.join(5)
    asked = rounds * len(blocks)
    print(f"request flood from a reading peer: {asked} asked, {served} served, disconnects {({k: v for k, v in seed.disconnects().items() if v})}")
    assert 0 < served <= asked


def test_a_request_flood_from_a_peer_that_never_reads_is_dropped(make_seed: Callable[..., Seed]) -> None:
    """A peer asks for 100 000 blocks of a 4 MiB torrent and never reads. Requests queued with
    us stay capped (512 being read, 2048 messages queued; a peer whose queue fills, or that
    takes no batch of our messages within the idle timeout, is a slow reader), so it is
    dropped within 4 idle timeouts (2 s here), memory grows by less than 64 MiB, and every
    block it finds in its socket afterwards is exactly a block it asked for."""
    seed = make_seed(size=4 << 20, piece_length=65536, idle_timeout=2.0)
    blocks = [(i, b, BLOCK) for i in range(64) for b in range(0, 65536, BLOCK)]
    rss0 = vm_rss_kib()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    with open_to(seed, interested=True) as p:
        start = time.monotonic()
        sent = flood_requests(p, blocks, 100_000, 2.0)
        dropped = wait_until(lambda: seed.handle.status().peers == 0, 8.0)
        took = time.monotonic() - start
        rss_peak = vm_rss_kib()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        assert dropped, f"a peer that never reads is still connected after {took:.1f}s"
        assert seed.disconnects()["slow_reader"] == 1, seed.disconnects()
        served = 0
        try:
            while True:
                m = p.read_message(5.0)
                if m.id == PIECE:
                    index, begin, length = m.block
                    assert (index, begin, length) in set(blocks)
                    assert m.payload[8:] == seed.block(index, begin, length)
                    served += 1
        except Closed:
            pass
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    grew = (rss_peak - rss0) / 1024
    print(
        f"flood without reading: {sent} requests taken by the kernel, dropped after {took:.2f}s, "
        f"{served} blocks served, RSS +{grew:.1f} MiB, CPU {cpu:.2f}s"
    )
    assert served <= 2048 + 512 + 2048, served
    assert grew < 64, grew


# ----------------------------------------------------------------------------------------------
# against our downloader


@dataclass
class Download:
    session: bittern.Session
    handle: bittern.TorrentHandle
    torrent: bittern.Torrent
    data: bytes
    out: Path

    def block(self, index: int, begin: int, length: int) -> bytes:
        start = index * self.torrent.piece_length + begin
        return self.data[start : start + length]

    def complete_and_exact(self, timeout: float) -> bool:
        return self.handle.wait(timeout=timeout) and (self.out / "data.bin").read_bytes() == self.data


@pytest.fixture
def make_download(tmp_path: Path, sessions: Callable[..., bittern.Session]) -> Callable[..., Download]:
    """A downloading session of a fresh random file (no tracker: peers are given by hand)."""
    made = 0

    def make(size: int = SIZE, piece_length: int = PIECE_LENGTH, **kw: object) -> Download:
        nonlocal made
        made += 1
        torrent, data, _ = make_data(tmp_path / f"src{made}", size, piece_length)
        session = sessions(**kw)
        out = tmp_path / f"out{made}"
        handle = session.add(torrent, out)
        assert handle.wait_checked(timeout=10)
        return Download(session, handle, torrent, data, out)

    return make


def test_a_silent_peer_is_dropped_at_the_idle_timeout_while_we_keep_talking_to_it(make_download: Callable[..., Download]) -> None:
    """A peer that handshakes and then says nothing is dropped at the idle timeout (2 s here),
    counted as `idle`, within 2.5 timeouts: what we send it meanwhile (a `have` for each piece a
    slow seeder lets us verify, every 0.3 s) does not keep it alive. (It did before: the timer
    restarted whenever we wrote.)"""
    dl = make_download(size=24 * BLOCK, piece_length=BLOCK, idle_timeout=2.0)
    pieces = dl.torrent.piece_count
    with Listener("127.0.0.1") as slow_l, Listener("127.0.0.3") as silent_l:
        dl.session.add_peers(dl.handle, [("127.0.0.1", slow_l.port), ("127.0.0.3", silent_l.port)])
        slow = Server(accept_from(slow_l, dl.torrent.info_hash, pieces), dl.block, delay=0.3)
        slow.start()
        silent = silent_l.accept()
        theirs, _ = silent.expect_handshake()
        silent.handshake(dl.torrent.info_hash)
        took = silent.closed_within(5.0)
        done_by_then = dl.handle.status().pieces_done
        assert took is not None, f"silent peer still connected after 5 s ({done_by_then} pieces verified meanwhile)"
        assert took >= 1.5, took
        assert counted(dl.handle, "idle"), dl.handle.status().disconnects
        assert dl.complete_and_exact(30), (dl.handle.status(), dl.handle.status().disconnects, slow.requests, slow.blocks, slow.closed.is_set())
        slow.stop.set()
    print(f"silent peer dropped after {took:.2f}s (idle timeout 2 s) while {done_by_then} pieces were verified")


def hostile_seed_for(dl: Download, host: str = "127.0.0.2") -> tuple[Listener, HostilePeer]:
    """A hostile peer the downloader is told about and connects to; it answers as a seed."""
    listener = Listener(host)
    dl.session.add_peers(dl.handle, [(host, listener.port)])
    return listener, accept_from(listener, dl.torrent.info_hash, dl.torrent.piece_count)


DOWNLOADER_MALFORMED = [
    "length_4_GiB",
    "oversized_piece",
    "piece_empty",
    "piece_past_piece_end",
    "piece_index_out_of_range",
    "have_out_of_range",
    "have_short",
    "bitfield_spare_bits",
    "bitfield_long",
    "request_offset_plus_length_overflows_u32",
    "interested_with_payload",
]


@pytest.mark.parametrize("name", DOWNLOADER_MALFORMED)
def test_malformed_message_to_our_downloader_disconnects_at_once(make_download: Callable[..., Download], name: str) -> None:
    """The same rules hold on connections our downloader opened: closed within QUICK seconds,
    counted as `malformed`, nothing written."""
    dl = make_download()
    listener, p = hostile_seed_for(dl)
    with listener, p:
        p.wait_for(REQUEST)
        p.send(MALFORMED[name])
        assert p.closed_within(QUICK) is not None, name
    assert counted(dl.handle, "malformed"), dl.handle.status().disconnects
    st = dl.handle.status()
    assert st.bytes_done == 0 and st.downloaded == 0, st


def test_a_request_for_a_piece_our_downloader_does_not_have_breaks_a_rule(make_download: Callable[..., Download]) -> None:
    """A peer our downloader unchokes asks for a piece we do not have yet: the connection is
    closed within QUICK seconds, counted as `rule_broken`."""
    dl = make_download()
    listener, p = hostile_seed_for(dl)
    with listener, p:
        p.wait_for(REQUEST)
        p.send(frame(INTERESTED))
        p.wait_for(UNCHOKE)
        p.send(request(0, 0, BLOCK))
        assert p.closed_within(QUICK) is not None
    assert counted(dl.handle, "rule_broken"), dl.handle.status().disconnects


def test_unsolicited_piece_messages_are_not_written(make_download: Callable[..., Download]) -> None:
    """A seed that also sends blocks nobody asked for: whenever our downloader announces a
    verified piece (`have`), the peer sends random bytes for every block of it. They are neither
    written nor counted as downloaded; the download completes byte-exact and the peer is not
    banned (the blocks it was asked for were right)."""
    dl = make_download()
    listener, p = hostile_seed_for(dl)
    garbage = 0
    with listener, p:
        deadline = time.monotonic() + 20
        while not dl.handle.status().finished and time.monotonic() < deadline:
            try:
                m = p.read_message(0.5)
                if m.id == REQUEST:
                    index, begin, length = m.block
                    p.send(piece(index, begin, dl.block(index, begin, length)))
                elif m.id == HAVE:
                    (index,) = struct.unpack(">I", m.payload)
                    size = PIECE_LENGTH if index < PIECES - 1 else SIZE - (PIECES - 1) * PIECE_LENGTH
                    for begin in range(0, size, BLOCK):
                        length = min(BLOCK, size - begin)
                        p.send(piece(index, begin, os.urandom(length)))
                        garbage += length
            except TimeoutError:
                continue
            except Closed:
                break  # dropped once we are a seed too
        assert dl.complete_and_exact(10)
    st = dl.handle.status()
    assert st.downloaded == SIZE, (st.downloaded, garbage)
    assert garbage > 0
    # Dropped only once we were a seed too.
    assert {k: v for k, v in st.disconnects.items() if v} in ({}, {"both_seeding": 1}), st.disconnects


def test_corrupt_pieces_are_never_kept(make_download: Callable[..., Download], tmp_path: Path) -> None:
    """A lone liar serving wrong bytes for every block: each piece fails its hash check, none
    is counted as done, the liar's address is banned (event `peer_banned`, reason `banned`), and
    a fresh session checking the folder finds no piece there."""
    dl = make_download()
    events = dl.session.events(timeout=0.2)
    listener, p = hostile_seed_for(dl, "127.0.0.2")
    liar = Server(p, lambda i, b, n: os.urandom(n))
    with listener, p:
        liar.start()
        assert liar.closed.wait(QUICK * 2), "the liar was not dropped"
    banned = [e.ip for e in events if e.kind == "peer_banned"]
    assert banned == ["127.0.0.2"], banned
    st = dl.handle.status()
    assert st.pieces_done == 0 and st.bytes_done == 0 and st.disconnects["banned"] == 1, st
    dl.session.close()
    with bittern.Session(listen="127.0.0.1:0") as again:
        h = again.add(dl.torrent, dl.out)
        assert h.wait_checked(timeout=10)
        assert h.status().pieces_found == 0 and h.status().pieces_done == 0
    print(f"lone liar: {liar.blocks} blocks ({liar.bytes} bytes) sent before its ban")


def corrupt_copy(folder: Path, data: bytes, piece_length: int = BLOCK) -> Path:
    """The data with one byte changed in every 16 KiB block (every block differs)."""
    bad = bytearray(data)
    for at in range(100, len(bad), BLOCK):
        bad[at] ^= 0xFF
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.bin").write_bytes(bad)
    return folder


def test_a_swarm_with_liars(make_download: Callable[..., Download], sessions: Callable[..., bittern.Session], tmp_path: Path) -> None:
    """Six liars beside one honest seeder: three bittern seeders over corrupted copies (one
    byte wrong in every block, served as trusted data) and three hostile peers answering every
    request with random bytes, each on an address of its own. The liars come first, the
    honest seeder 1 s later. The download completes byte-exact, every liar is banned (when a
    piece it sent alone fails, or when the good copy of a piece shows its block differed), the
    honest seeder never, and the bytes wasted stay bounded: each liar sends less than twice
    the torrent's size before its ban, and the bytes we receive and throw away are under the
    torrent's size per liar."""
    size = 1 << 20
    dl = make_download(size=size, piece_length=PIECE_LENGTH)
    events = dl.session.events(timeout=0)
    liar_sessions = []
    for n in range(3):
        host = f"127.0.0.{10 + n}"
        s = sessions(listen=f"{host}:0")
        h = s.add(dl.torrent, corrupt_copy(tmp_path / f"liar{n}", dl.data), seed_only=True, trust_data=True)
        assert h.wait_checked(timeout=10)
        liar_sessions.append((host, s, h))
    dl.session.add_peers(dl.handle, [(host, s.port) for host, s, _ in liar_sessions])
    hostile = []
    for n in range(3):
        listener, p = hostile_seed_for(dl, f"127.0.0.{20 + n}")
        server = Server(p, lambda i, b, k: os.urandom(k))
        server.start()
        hostile.append((listener, p, server))
    time.sleep(float(os.environ.get("LIARS_ALONE", "1.0")))
    print("banned before the honest seed:", dl.handle.status().disconnects["banned"])
    honest = sessions(listen="127.0.0.1:0")
    h = honest.add(dl.torrent, _honest_folder(tmp_path, dl.data), seed_only=True, trust_data=True)
    assert h.wait_checked(timeout=10)
    start = time.monotonic()
    dl.session.add_peers(dl.handle, [("127.0.0.1", honest.port)])
    assert dl.complete_and_exact(60), dl.handle.status()
    took = time.monotonic() - start
    kinds = [e for e in events]
    banned = {e.ip for e in kinds if e.kind == "peer_banned"}
    failed = sum(1 for e in kinds if e.kind == "hash_failed")
    liars = {host for host, _, _ in liar_sessions} | {f"127.0.0.{20 + n}" for n in range(3)}
    assert banned == liars, (banned, liars)  # the honest seeder (127.0.0.1) among them never
    assert dl.handle.status().disconnects["banned"] >= len(liars)
    wasted = sum(h.status().uploaded for _, _, h in liar_sessions) + sum(s.bytes for _, _, s in hostile)
    per_liar = [h.status().uploaded for _, _, h in liar_sessions] + [s.bytes for _, _, s in hostile]
    for listener, p, server in hostile:
        server.stop.set()
        p.close()
        listener.close()
    thrown_away = dl.handle.status().downloaded - size
    print(
        f"swarm with {len(liars)} liars: complete in {took:.2f}s after the honest seed came, "
        f"{failed} hash failures; liars sent {wasted} bytes ({per_liar}), of which we received "
        f"and threw away {thrown_away}; torrent {size} bytes"
    )
    assert max(per_liar) <= 2 * size, per_liar
    assert thrown_away <= len(liars) * size, thrown_away


def _honest_folder(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "honest"
    folder.mkdir()
    (folder / "data.bin").write_bytes(data)
    return folder


# ----------------------------------------------------------------------------------------------
# many connections, floods, and the honest peer beside them


def honest_download(dl_session: bittern.Session, seed: Seed, out: Path, timeout: float) -> float | None:
    """Downloads `seed`'s torrent with a bittern session; returns the seconds it took (None
    if not within `timeout`), after checking every byte."""
    start = time.monotonic()
    h = dl_session.add(seed.torrent, out)
    dl_session.add_peers(h, [("127.0.0.1", seed.session.port)])
    if not h.wait(timeout=timeout):
        return None
    took = time.monotonic() - start
    assert (out / "data.bin").read_bytes() == seed.data
    return took


def test_a_thousand_connections_from_one_address(make_seed: Callable[..., Seed], sessions: Callable[..., bittern.Session], tmp_path: Path) -> None:
    """1000 connections from 127.0.0.2 against a seeder with the default limits (200
    connections, 4 peers per address; handshake timeout 3 s): first 500 that stay silent, then
    an honest downloader from 127.0.0.1, then, once the silent ones are gone, 500 that
    handshake. The silent ones hold at most 4 connection slots (handshakes in progress per
    address are capped like peers per address), so the honest downloader is served at once:
    it completes within 30 s. (Before, they took all 200 slots until the handshake timeout,
    and the honest downloader was refused and never served.) Every silent connection is closed
    within the handshake timeout plus 5 s; at most 4 of the address's connections are ever
    peers of the torrent, the others refused (as `limit` when they got as far as the torrent)."""
    seed = make_seed(handshake_timeout=3.0, max_peers_per_ip=4, max_connections=200)
    silent: list[HostilePeer] = []
    talking: list[HostilePeer] = []
    start = time.monotonic()
    for _ in range(500):
        try:
            silent.append(HostilePeer.connect(seed.session.port, source="127.0.0.2", timeout=2.0))
        except OSError:
            pass  # refused or reset at once: fine
    took = honest_download(sessions(), seed, tmp_path / "honest", 30.0)
    assert took is not None, seed.handle.status()
    deadline = start + 3.0 + 5.0
    still = [p for p in silent if p.closed_within(max(0.0, deadline - time.monotonic())) is None]
    assert not still, len(still)
    most = 0
    for _ in range(500):
        try:
            p = HostilePeer.connect(seed.session.port, source="127.0.0.2", timeout=2.0)
            p.handshake(seed.info_hash)
            talking.append(p)
        except (OSError, Closed):
            pass
        most = max(most, seed.handle.status().peers)
    for _ in range(20):
        most = max(most, seed.handle.status().peers)
        time.sleep(0.05)
    open_talking = sum(1 for p in talking if not p.is_closed())
    for p in silent + talking:
        p.close()
    st = seed.handle.status()
    print(
        f"1000 connections from one address: honest download in {took:.2f}s; silent ones all closed; "
        f"at most {most} peers; {open_talking} handshaken ones open; disconnects {({k: v for k, v in st.disconnects.items() if v})}"
    )
    assert most <= 4 + 1, most  # the honest downloader may still be there
    assert open_talking <= 4, open_talking
    assert st.disconnects["limit"] >= 1, st.disconnects


class Flood(threading.Thread):
    """A hostile peer from `source` that handshakes with the seeder, then sends `unit` over and
    over (optionally after `interested`), never reading, until stopped or disconnected; it
    reconnects when dropped, so the flood lasts."""

    def __init__(self, seed: Seed, source: str, unit: bytes, interested: bool = False) -> None:
        super().__init__(daemon=True)
        self.seed, self.source, self.unit, self.interested = seed, source, unit, interested
        self.stop = threading.Event()
        self.sent = 0
        self.connections = 0

    def run(self) -> None:
        chunk = self.unit * max(1, (64 << 10) // len(self.unit))
        while not self.stop.is_set():
            try:
                p = HostilePeer.connect(self.seed.session.port, source=self.source, timeout=2.0)
                self.connections += 1
                with p:
                    p.handshake(self.seed.info_hash)
                    if self.interested:
                        p.send(frame(INTERESTED))
                    while not self.stop.is_set():
                        n = p.send(chunk, timeout=0.5)
                        self.sent += n
            except (OSError, Closed):
                time.sleep(0.05)


def test_honest_downloads_keep_their_pace_while_hostile_peers_flood(make_seed: Callable[..., Seed], sessions: Callable[..., bittern.Session], tmp_path: Path) -> None:
    """While eight hostile peers flood the seeder (requests without reading, zeros, unknown
    messages of the largest size, `have`s and interest toggles, each reconnecting when
    dropped), honest bittern downloaders of its 4 MiB still complete byte-exact, each within
    30 s. Memory and CPU stay bounded: the process's RSS grows by less than 128 MiB over the
    flood; the figures (and the time of an honest download without flood) are printed."""
    seed = make_seed(size=4 << 20, piece_length=65536, idle_timeout=3.0, handshake_timeout=3.0)
    calm = honest_download(sessions(), seed, tmp_path / "calm", 30.0)
    assert calm is not None
    blocks = b"".join(request(i, b, BLOCK) for i in range(64) for b in range(0, 65536, BLOCK))
    units = [
        (blocks, True),
        (blocks, True),
        (bytes(4096), False),
        (bytes(4096), False),
        (frame(99, bytes(MAX_LEN - 1)), False),
        (frame(99, b"x"), False),
        (have(0) + have(1), False),
        (frame(INTERESTED) + frame(NOT_INTERESTED), False),
    ]
    rss0 = vm_rss_kib()
    cpu0 = engine_cpu_seconds()
    floods = [Flood(seed, f"127.0.0.{30 + n}", unit, interested) for n, (unit, interested) in enumerate(units)]
    for f in floods:
        f.start()
    peak = rss0
    times = []
    try:
        time.sleep(1.0)
        for n in range(3):
            took = honest_download(sessions(), seed, tmp_path / f"honest{n}", 30.0)
            peak = max(peak, vm_rss_kib())
            assert took is not None, (n, seed.handle.status())
            times.append(took)
    finally:
        for f in floods:
            f.stop.set()
        for f in floods:
            f.join(5)
    cpu = engine_cpu_seconds() - cpu0
    flooded = sum(f.sent for f in floods)
    grew = (peak - rss0) / 1024
    print(
        f"flood: honest 4 MiB downloads took {', '.join(f'{t:.2f}' for t in times)} s "
        f"(calm: {calm:.2f} s); hostile peers sent {flooded >> 20} MiB over "
        f"{sum(f.connections for f in floods)} connections; RSS +{grew:.1f} MiB; engine CPU {cpu:.2f} s; "
        f"seeder disconnects {({k: v for k, v in seed.disconnects().items() if v})}"
    )
    assert grew < 128, grew


class Liar(threading.Thread):
    """A hostile seed listening on `host`: it accepts our downloader's connections and answers
    every request with random bytes, counting the bytes it sends."""

    def __init__(self, host: str, info_hash: bytes, pieces: int) -> None:
        super().__init__(daemon=True)
        self.listener = Listener(host)
        self.info_hash, self.pieces = info_hash, pieces
        self.bytes = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                p = accept_from(self.listener, self.info_hash, self.pieces, timeout=0.5)
            except (OSError, TimeoutError, Closed, AssertionError):
                continue
            server = Server(p, lambda i, b, n: os.urandom(n))
            server.run()  # in this thread, until the connection ends
            self.bytes += server.bytes
            p.close()

    def close(self) -> None:
        self.stop.set()
        self.join(5)
        self.listener.close()


def test_a_hundred_liars(make_download: Callable[..., Download], sessions: Callable[..., bittern.Session], tmp_path: Path) -> None:
    """A simulation with a hundred hostile liars (random bytes for every block, one address
    each) given to our downloader with one honest seeder 2 s later. The download completes
    byte-exact within 60 s; every liar our downloader got blocks from is banned, the honest
    seeder never, and the bytes received and thrown away stay under 384 KiB per liar (twelve
    32 KiB pieces; the torrent is 1 MiB, and the downloader talks to at most 50 peers at
    once)."""
    size = 1 << 20
    dl = make_download(size=size, piece_length=PIECE_LENGTH)
    events = dl.session.events(timeout=0)
    liars = [Liar(f"127.0.1.{n + 1}", dl.torrent.info_hash, dl.torrent.piece_count) for n in range(100)]
    for liar in liars:
        liar.start()
    try:
        dl.session.add_peers(dl.handle, [(liar.listener.host, liar.listener.port) for liar in liars])
        time.sleep(2.0)
        honest = sessions(listen="127.0.0.1:0")
        h = honest.add(dl.torrent, _honest_folder(tmp_path, dl.data), seed_only=True, trust_data=True)
        assert h.wait_checked(timeout=10)
        start = time.monotonic()
        dl.session.add_peers(dl.handle, [("127.0.0.1", honest.port)])
        assert dl.complete_and_exact(60), dl.handle.status()
        took = time.monotonic() - start
    finally:
        for liar in liars:
            liar.stop.set()
        for liar in liars:
            liar.close()
    banned = {e.ip for e in events if e.kind == "peer_banned"}
    served = {liar.listener.host for liar in liars if liar.bytes > 0}
    thrown_away = dl.handle.status().downloaded - size
    print(
        f"100 liars: complete {took:.2f}s after the honest seed came; {len(served)} liars sent blocks "
        f"({sum(liar.bytes for liar in liars)} bytes), {len(banned)} banned; "
        f"{thrown_away} bytes received and thrown away"
    )
    assert "127.0.0.1" not in banned
    assert served <= banned, served - banned
    assert thrown_away <= len(liars) * (4 * PIECE_LENGTH + 16 * BLOCK), thrown_away
