#!/usr/bin/env python3
"""Writes the seed corpus of one fuzz target into a folder: the vectors of tests/vectors/
(bencode cases, torrent files) where the target reads those, and a handful of well-formed
inputs built here where it reads something else (resume files, peer messages, tracker
queries and answers), so the fuzzer starts past the first checks.

    seeds.py TARGET FOLDER
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
sys.path.insert(0, str(VECTORS))
from make_vectors import ben as bencode  # noqa: E402  (the vectors' own encoder)


def bencode_cases() -> list[bytes]:
    cases = []
    for line in (VECTORS / "bencode.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            hex_ = line.split()[1]
            cases.append(b"" if hex_ == "-" else bytes.fromhex(hex_))  # "-": the empty input
    return cases


def torrents() -> list[bytes]:
    return [p.read_bytes() for p in sorted((VECTORS / "torrents").glob("*.torrent"))]


def resume_files() -> list[bytes]:
    def resume(pieces: int, have: bytes, files: list[list[int]]) -> bytes:
        return bencode({
            "bitfield": have,
            "file sizes": files,
            "info-hash": hashlib.sha1(b"info").digest(),
            "piece count": pieces,
            "piece length": 16384,
            "version": 1,
        })

    return [
        resume(10, b"\xff\xc0", [[163840 - 8192, 1700000000000000000]]),
        resume(10, b"\x00\x00", [[], [100, 5]]),
        resume(64, b"\xaa" * 8, [[1, 2], [3, 4], []]),
        resume(1, b"\x80", []),
    ]


def frame(message_id: int | None, payload: bytes = b"") -> bytes:
    if message_id is None:
        return struct.pack(">I", 0)
    return struct.pack(">IB", 1 + len(payload), message_id) + payload


def peer_streams() -> list[bytes]:
    # Layout bytes: 16 KiB pieces (0), total 1 + 4 * 0x00A000 bytes: 10 pieces, 2 bitfield bytes.
    header = bytes([0, 0x00, 0xA0, 0x00])
    block = struct.pack(">III", 3, 0, 16384)
    messages = [
        frame(None), frame(0), frame(1), frame(2), frame(3),
        frame(4, struct.pack(">I", 9)),
        frame(5, b"\xff\xc0"),
        frame(6, block),
        frame(7, struct.pack(">II", 3, 16384 - 100) + bytes(range(100))),
        frame(8, block),
        frame(20, b"\x00d1:md11:ut_metadatai1eee"),  # BEP 10, skipped
        frame(9, struct.pack(">H", 6881)),  # BEP 5 port, skipped
    ]
    # The input: the 4 layout bytes, 1 byte choosing the chunk sizes, then the stream.
    streams = [header + bytes([chunking]) + b"".join(messages) for chunking in (0, 1, 200)]
    return streams + [header + b"\x05" + m for m in messages]


def queries() -> list[bytes]:
    hash_ = b"info_hash=%12%34%56%78%9A%BC%DE%F1%23%45%67%89%AB%CD%EF%12%34%56%78%9A"
    return [
        hash_ + b"&peer_id=-BT0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=100"
        b"&compact=1&event=started&numwant=50&key=abc&ip=10.0.0.1",
        hash_ + b"&peer_id=%2DBT0001%2D%00%01%02%03%04%05%06%07%08%09%0A%0B&port=1&uploaded=1"
        b"&downloaded=2&left=0&no_peer_id=1&event=completed&trackerid=xyz",
        hash_,
        hash_ + b"&" + hash_ + b"&info_hash=aaaaaaaaaaaaaaaaaaaa",
    ]


def answers() -> list[bytes]:
    compact = bytes([127, 0, 0, 1, 0x1A, 0xE1, 10, 0, 0, 2, 0, 80])
    six = bytes(15) + b"\x01" + b"\x1a\xe1"
    return [
        bencode({"interval": 1800, "min interval": 60, "complete": 3, "incomplete": 1,
                 "peers": compact, "peers6": six, "tracker id": b"t1"}),
        bencode({"interval": 900, "warning message": "slow down",
                 "peers": [{"ip": "10.1.2.3", "peer id": b"-XX0001-" + b"x" * 12, "port": 51413},
                           {"ip": "::1", "port": 6881}]}),
        bencode({"failure reason": "unregistered torrent"}),
        bencode({"files": {b"\x12" * 20: {"complete": 1, "downloaded": 2, "incomplete": 3}}}),
    ]


def magnets() -> list[bytes]:
    hex_ = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    return [
        f"magnet:?xt=urn:btih:{hex_}".encode(),
        f"magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=Big+Buck%20Bunny"
        "&tr=udp%3A%2F%2Ft.example%3A80&tr=http://t2.example/a&ws=http://w.example/f"
        "&x.pe=10.0.0.1:6881&x.pe=[2001:db8::1]:51413&so=0-3".encode(),
        f"magnet:?xt=urn:btih:{hex_}&xt=urn:btmh:1220{'ab' * 32}&dn=%C3%A9t%C3%A9".encode(),
    ]


def extensions() -> list[bytes]:
    """A selector byte (0: extended handshake, 1: ut_metadata, 2: ut_pex), then a payload."""
    v4 = bytes([10, 0, 0, 1]) + struct.pack(">H", 6881)
    v6 = bytes.fromhex("20010db8000000000000000000000001") + struct.pack(">H", 51413)
    return [
        b"\0" + bencode({"m": {"ut_metadata": 2, "ut_pex": 1}, "metadata_size": 31234, "p": 6881,
                          "reqq": 250, "v": "libtorrent 2.0.8", "yourip": bytes([127, 0, 0, 1])}),
        b"\1" + bencode({"msg_type": 0, "piece": 1}),
        b"\1" + bencode({"msg_type": 1, "piece": 0, "total_size": 100}) + bytes(100),
        b"\1" + bencode({"msg_type": 2, "piece": 3}),
        b"\2" + bencode({"added": v4 * 2, "added.f": b"\x02\x10", "added6": v6, "added6.f": b"\x01",
                          "dropped": v4, "dropped6": b""}),
    ]


def udp_packets() -> list[bytes]:
    """A selector byte (even: a request; odd: an answer, 2 set for IPv6), then a BEP 15 packet."""
    tid = struct.pack(">I", 0x1234)
    conn = struct.pack(">Q", 0xC0FFEE)
    announce = (conn + struct.pack(">I", 1) + tid + b"\xaa" * 20 + b"-BI0100-abcdefghijkl"
                + struct.pack(">QQQIIIiH", 1, 2, 3, 2, 0, 7, -1, 6881))
    return [
        b"\0" + struct.pack(">QI", 0x41727101980, 0) + tid,
        b"\0" + announce,
        b"\0" + announce + b"\x01\x02\x09/announce\x00",
        b"\0" + conn + struct.pack(">I", 2) + tid + b"\x01" * 20 + b"\x02" * 20,
        b"\1" + struct.pack(">I", 0) + tid + conn,
        b"\1" + struct.pack(">I", 1) + tid + struct.pack(">III", 1800, 1, 2) + bytes([10, 0, 0, 1, 0x1a, 0xe1]),
        b"\3" + struct.pack(">I", 1) + tid + struct.pack(">III", 1800, 1, 2) + bytes(16) + b"\x1a\xe1",
        b"\1" + struct.pack(">I", 2) + tid + struct.pack(">III", 5, 6, 7),
        b"\1" + struct.pack(">I", 3) + tid + b"unregistered torrent",
    ]


SEEDS = {
    "bencode": lambda: bencode_cases() + torrents(),
    "metainfo": torrents,
    "resume": resume_files,
    "peer_stream": peer_streams,
    "tracker_query": queries,
    "tracker_response": answers,
    "magnet": magnets,
    "extension": extensions,
    "udp_packet": udp_packets,
}


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in SEEDS:
        print(f"usage: seeds.py {{{','.join(SEEDS)}}} FOLDER", file=sys.stderr)
        return 2
    folder = Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    for seed in SEEDS[sys.argv[1]]():
        (folder / ("seed-" + hashlib.sha1(seed).hexdigest())).write_bytes(seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
