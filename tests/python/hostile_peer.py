"""A scriptable hostile peer: speaks BEP 3's wire protocol with plain `socket` and `struct`, sends
any bytes (well-formed or not), reads what comes back with deadlines and tells when it was
disconnected. Used by test_hostile_peer.py against bittern's seeder and downloader.

    peer = HostilePeer.connect(session.port)
    peer.handshake(info_hash)
    peer.expect_handshake()
    peer.send(frame(7, b"..."))
    assert peer.closed_within(2.0)
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PROTOCOL = b"BitTorrent protocol"
BLOCK = 16384

CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE, BITFIELD, REQUEST, PIECE, CANCEL = range(9)



def new_peer_id() -> bytes:
    """A fresh peer id (two hostile peers with one id would be one peer connected twice)."""
    return b"-HP0001-" + os.urandom(6).hex().encode()


class Closed(Exception):
    """The other side closed (or reset) the connection."""


# ----------------------------------------------------------------------------------------------
# frames


def handshake_bytes(
    info_hash: bytes,
    peer_id: bytes | None = None,
    *,
    pstr: bytes = PROTOCOL,
    pstrlen: int | None = None,
    reserved: bytes = bytes(8),
) -> bytes:
    n = len(pstr) if pstrlen is None else pstrlen
    peer_id = new_peer_id() if peer_id is None else peer_id
    return bytes([n]) + pstr + reserved + info_hash + peer_id


def frame(msg_id: int | None, payload: bytes = b"", *, length: int | None = None) -> bytes:
    """A message: length prefix (by default the true one), id, payload. `msg_id=None` is a
    keep-alive (prefix only)."""
    body = b"" if msg_id is None else bytes([msg_id]) + payload
    return struct.pack(">I", len(body) if length is None else length) + body


def have(index: int) -> bytes:
    return frame(HAVE, struct.pack(">I", index))


def bitfield(bits: bytes) -> bytes:
    return frame(BITFIELD, bits)


def full_bitfield(pieces: int) -> bytes:
    """Every piece set, spare bits clear."""
    out = bytearray((pieces + 7) // 8)
    for i in range(pieces):
        out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


def request(index: int, begin: int, length: int) -> bytes:
    return frame(REQUEST, struct.pack(">III", index, begin, length))


def cancel(index: int, begin: int, length: int) -> bytes:
    return frame(CANCEL, struct.pack(">III", index, begin, length))


def piece(index: int, begin: int, data: bytes) -> bytes:
    return frame(PIECE, struct.pack(">II", index, begin) + data)


@dataclass
class Message:
    id: int | None  # None: keep-alive
    payload: bytes

    @property
    def piece_header(self) -> tuple[int, int]:
        return struct.unpack(">II", self.payload[:8])

    @property
    def block(self) -> tuple[int, int, int]:
        """(index, begin, length) of a request, cancel or piece."""
        if self.id == PIECE:
            i, b = self.piece_header
            return i, b, len(self.payload) - 8
        return struct.unpack(">III", self.payload)


# ----------------------------------------------------------------------------------------------
# the peer


class HostilePeer:
    """One TCP connection to or from a bittern session, driven by hand."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.sent = 0  # bytes accepted by the kernel
        self.received = 0  # bytes read

    @classmethod
    def connect(
        cls, port: int, host: str = "127.0.0.1", *, source: str | None = None, timeout: float = 5.0
    ) -> HostilePeer:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source is not None:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect((host, port))
        return cls(s)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> HostilePeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # sending

    def send(self, data: bytes, *, timeout: float = 5.0) -> int:
        """Sends `data` (as much as the kernel takes within `timeout`); returns the bytes sent.
        Raises `Closed` if the connection is closed or reset before all is sent."""
        self.sock.settimeout(timeout)
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):
                n = self.sock.send(view[done:])
                done += n
                self.sent += n
        except socket.timeout:
            return done
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as e:
            raise Closed(f"after {done} bytes: {e}") from e
        return done

    def handshake(self, info_hash: bytes, peer_id: bytes | None = None, **kw: object) -> None:
        self.send(handshake_bytes(info_hash, peer_id, **kw))  # type: ignore[arg-type]

    def dribble(self, data: bytes, interval: float, *, deadline: float) -> int:
        """Sends `data` one byte every `interval` seconds until all is sent, the connection is
        closed, or `deadline` seconds pass; returns the bytes sent before it ended."""
        end = time.monotonic() + deadline
        for i in range(len(data)):
            if time.monotonic() > end:
                return i
            try:
                self.send(data[i : i + 1])
            except Closed:
                return i
            if self.is_closed():
                return i + 1
            time.sleep(interval)
        return len(data)

    # receiving

    def _fill(self, deadline: float) -> bool:
        """Reads what is there (waiting until `deadline`, a monotonic time); False on timeout.
        Raises `Closed` at EOF or reset."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        poller = select.poll()  # not select(): a test may hold more than 1024 sockets
        poller.register(self.sock, select.POLLIN)
        if not poller.poll(remaining * 1000):
            return False
        try:
            chunk = self.sock.recv(1 << 20)
        except (ConnectionResetError, ConnectionAbortedError) as e:
            raise Closed(str(e)) from e
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                raise Closed(str(e)) from e
            raise
        if not chunk:
            raise Closed("EOF")
        self.received += len(chunk)
        self.buf += chunk
        return True

    def read_exact(self, n: int, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise TimeoutError(f"waited {timeout}s for {n} bytes, have {len(self.buf)}")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def expect_handshake(self, timeout: float = 5.0) -> tuple[bytes, bytes]:
        """Reads the other side's handshake; returns (info_hash, peer_id)."""
        hs = self.read_exact(68, timeout)
        assert hs[:20] == bytes([19]) + PROTOCOL, hs[:20]
        return hs[28:48], hs[48:68]

    def read_message(self, timeout: float = 5.0) -> Message:
        """The next message (a keep-alive has id None). `TimeoutError` if none within `timeout`,
        `Closed` if the connection ends first."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                assert n <= (1 << 20), f"bittern sent a length prefix of {n}"
                if len(self.buf) >= 4 + n:
                    body = bytes(self.buf[4 : 4 + n])
                    del self.buf[: 4 + n]
                    return Message(body[0], body[1:]) if n else Message(None, b"")
            if not self._fill(deadline):
                raise TimeoutError(f"no whole message within {timeout}s")

    def messages(self, duration: float) -> list[Message]:
        """Every message that arrives within `duration` seconds (stops early at a close, which
        `closed` then tells)."""
        out = []
        deadline = time.monotonic() + duration
        while True:
            try:
                out.append(self.read_message(max(0.0, deadline - time.monotonic())))
            except (TimeoutError, Closed):
                return out

    def wait_for(self, msg_id: int, timeout: float = 5.0) -> tuple[Message, list[Message]]:
        """Reads until a message with `msg_id` comes; returns it and those before it."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            m = self.read_message(max(0.0, deadline - time.monotonic()))
            if m.id == msg_id:
                return m, seen
            seen.append(m)

    def is_closed(self) -> bool:
        """Whether the connection is closed now (reads and discards what is waiting)."""
        try:
            while self._fill(time.monotonic() + 0.001):
                self.buf.clear()
        except Closed:
            return True
        return False

    def closed_within(self, timeout: float) -> float | None:
        """Waits up to `timeout` seconds for the other side to close, discarding what it sends;
        returns the seconds it took, or None if the connection is still open."""
        start = time.monotonic()
        deadline = start + timeout
        try:
            while time.monotonic() < deadline:
                self._fill(deadline)
                self.buf.clear()
        except Closed:
            return time.monotonic() - start
        return None


class Listener:
    """A listening socket a bittern downloader is told about (`add_peers`); `accept()` gives
    a `HostilePeer` for each connection it makes."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.host = host
        self.port = self.sock.getsockname()[1]

    def accept(self, timeout: float = 5.0) -> HostilePeer:
        self.sock.settimeout(timeout)
        s, _ = self.sock.accept()
        return HostilePeer(s)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def vm_rss_kib() -> int:
    """This process's resident set (KiB), from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def accept_from(listener: Listener, info_hash: bytes, pieces: int, *, timeout: float = 10.0) -> HostilePeer:
    """Accepts a downloader's connection and answers its handshake as a seed (a full bitfield
    and an unchoke follow)."""
    p = listener.accept(timeout)
    theirs, _ = p.expect_handshake(timeout)
    assert theirs == info_hash
    p.handshake(info_hash)
    p.send(bitfield(full_bitfield(pieces)) + frame(UNCHOKE))
    return p


class Server(threading.Thread):
    """Serves a downloader from `peer` in a thread: answers each request with `answer(index,
    begin, length)` (the true bytes for an honest seed, wrong ones for a liar), waiting `delay`
    seconds before each. Counts the blocks and payload bytes sent."""

    def __init__(self, peer: HostilePeer, answer: Callable[[int, int, int], bytes], delay: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.peer, self.answer, self.delay = peer, answer, delay
        self.blocks = 0
        self.bytes = 0
        self.requests = 0
        self.stop = threading.Event()
        self.closed = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    m = self.peer.read_message(0.2)
                except TimeoutError:
                    continue
                if m.id != REQUEST:
                    continue
                self.requests += 1
                if self.delay:
                    time.sleep(self.delay)
                index, begin, length = m.block
                data = self.answer(index, begin, length)
                self.peer.send(piece(index, begin, data))
                self.blocks += 1
                self.bytes += len(data)
        except (Closed, OSError):
            pass
        finally:
            self.closed.set()


def engine_cpu_seconds() -> float:
    """CPU time (user + system) of this process's bittern threads (named `bittern-*`: the
    sessions' runtimes and their disk and hash threads), from /proc/self/task."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name.startswith("bittern"):
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick
