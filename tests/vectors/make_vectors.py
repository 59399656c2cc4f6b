#!/usr/bin/env python3
"""Writes the shared test vectors read by the Rust, C and Python suites.

Expected results are worked out here, independently of bittern: info-hashes with hashlib over
the info bytes this script itself lays out. Run it again after changing it; the output is
deterministic and committed.

bencode.txt, one case a line, fields separated by spaces:
    NAME HEX STRICT TOLERANT
    STRICT   = ok | err:OFFSET
    TOLERANT = ok:WARNINGS | err:OFFSET
torrents.txt, one torrent a line:
    FILE ok INFO_HASH PIECE_LENGTH PIECE_COUNT TOTAL_LENGTH FILE_COUNT PRIVATE WARNINGS NAME_HEX
    FILE err KIND          (KIND = bencode | metainfo)
"""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))

BENCODE = [
    # name, input, strict, tolerant
    ("int", b"i42e", "ok", "ok:0"),
    ("int-zero", b"i0e", "ok", "ok:0"),
    ("int-negative", b"i-42e", "ok", "ok:0"),
    ("int-max", b"i9223372036854775807e", "ok", "ok:0"),
    ("int-min", b"i-9223372036854775808e", "ok", "ok:0"),
    ("int-overflow", b"i9223372036854775808e", "err:0", "err:0"),
    ("int-underflow", b"i-9223372036854775809e", "err:0", "err:0"),
    ("int-huge", b"i99999999999999999999999e", "err:0", "err:0"),
    ("int-negative-zero", b"i-0e", "err:0", "ok:1"),
    ("int-leading-zero", b"i03e", "err:1", "ok:1"),
    ("int-negative-leading-zero", b"i-03e", "err:2", "ok:1"),
    ("int-plus", b"i+3e", "err:1", "err:1"),
    ("int-empty", b"ie", "err:0", "err:0"),
    ("int-minus-only", b"i-e", "err:0", "err:0"),
    ("int-unterminated", b"i42", "err:3", "err:3"),
    ("int-bad-digit", b"i4x2e", "err:2", "err:2"),
    ("string", b"4:spam", "ok", "ok:0"),
    ("string-empty", b"0:", "ok", "ok:0"),
    ("string-binary", b"3:\x00\xff\x80", "ok", "ok:0"),
    ("string-leading-zero", b"03:abc", "err:0", "ok:1"),
    ("string-negative-length", b"-3:abc", "err:0", "err:0"),
    ("string-truncated", b"5:abc", "err:0", "err:0"),
    ("string-huge-length", b"99999999999999999999:x", "err:0", "err:0"),
    ("string-no-colon", b"3abc", "err:1", "err:1"),
    ("list", b"li1e4:spame", "ok", "ok:0"),
    ("list-empty", b"le", "ok", "ok:0"),
    ("list-nested", b"llleee", "ok", "ok:0"),
    ("list-unterminated", b"li1e", "err:4", "err:4"),
    ("dict", b"d3:bar4:spam3:fooi42ee", "ok", "ok:0"),
    ("dict-empty", b"de", "ok", "ok:0"),
    ("dict-unsorted", b"d3:fooi1e3:bari2ee", "err:9", "ok:1"),
    ("dict-duplicate", b"d3:fooi1e3:fooi2ee", "err:9", "err:9"),
    ("dict-duplicate-unsorted", b"d1:bi1e1:ai2e1:bi3ee", "err:7", "err:13"),
    ("dict-int-key", b"di1ei2ee", "err:1", "err:1"),
    ("dict-list-key", b"dlei2ee", "err:1", "err:1"),
    ("dict-missing-value", b"d3:fooe", "err:6", "err:6"),
    ("dict-unterminated", b"d3:fooi1e", "err:9", "err:9"),
    ("trailing", b"i1ei2e", "err:3", "ok:1"),
    ("trailing-newline", b"le\n", "err:2", "ok:1"),
    ("empty", b"", "err:0", "err:0"),
    ("bad-byte", b"x", "err:0", "err:0"),
    ("end-only", b"e", "err:0", "err:0"),
    ("deep-ok", b"l" * 100 + b"e" * 100, "ok", "ok:0"),
    ("deep-too-deep", b"l" * 101 + b"e" * 101, "err:100", "err:100"),
    ("deep-unterminated", b"l" * 100000, "err:100", "err:100"),
]


def ben(v):
    """Canonical bencode of ints, bytes, lists and dicts (keys sorted)."""
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(ben(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(ben(k) + ben(x) for k, x in items) + b"e"
    raise TypeError(v)


def raw_dict(entries):
    """A dictionary with its entries in the order given, values already encoded."""
    return b"d" + b"".join(ben(k) + v for k, v in entries) + b"e"


def pieces_for(total, piece_length, seed):
    count = -(-total // piece_length)
    return b"".join(hashlib.sha1(b"%s-%d" % (seed, i)).digest() for i in range(count))


def single(name=b"file.bin", length=100000, piece_length=32768, **extra):
    info = {"name": name, "length": length, "piece length": piece_length,
            "pieces": pieces_for(length, piece_length, b"s")}
    info.update(extra)
    return info


def multi(files, name=b"folder", piece_length=16384, **extra):
    total = sum(length for _, length in files)
    info = {"name": name, "piece length": piece_length, "pieces": pieces_for(total, piece_length, b"m"),
            "files": [{"length": length, "path": path} for path, length in files]}
    info.update(extra)
    return info


TORRENTS = []


def ok(file, info_bytes, outer, name, piece_length, total, file_count, private=0, warnings=0):
    data = raw_dict(outer(info_bytes))
    digest = hashlib.sha1(info_bytes).hexdigest()
    count = -(-total // piece_length)
    TORRENTS.append((file, data, "ok %s %d %d %d %d %d %d %s" % (
        digest, piece_length, count, total, file_count, private, warnings, name.hex())))


def err(file, data, kind):
    TORRENTS.append((file, data, "err " + kind))


def with_announce(info_bytes):
    return [(b"announce", ben("http://tracker.example/announce")), (b"info", info_bytes)]


def main():
    ok("single.torrent", ben(single()), with_announce, b"file.bin", 32768, 100000, 1)
    ok("multi.torrent", ben(multi([([b"a.txt"], 10), ([b"sub", b"b.bin"], 40000), ([b"z"], 0)])),
       with_announce, b"folder", 16384, 40010, 3)
    ok("private.torrent", ben(single(private=1)), with_announce, b"file.bin", 32768, 100000, 1, private=1)
    # Unknown keys inside info change the hash and must be kept.
    ok("unknown-keys.torrent", ben(single(**{"x-custom": [1, b"two"], "source": b"lab"})),
       lambda i: [(b"announce", ben("http://t/a")), (b"info", i), (b"zz-extra", ben({"k": 1}))],
       b"file.bin", 32768, 100000, 1)
    # Unsorted keys inside info: loads with a warning and hashes the bytes as they are.
    unsorted_info = raw_dict([(b"pieces", ben(pieces_for(5000, 16384, b"u"))), (b"name", ben("u.bin")),
                              (b"length", ben(5000)), (b"piece length", ben(16384))])
    ok("unsorted.torrent", unsorted_info, with_announce, b"u.bin", 16384, 5000, 1, warnings=2)
    # A name that is not UTF-8 (latin-1) loads, raw bytes kept.
    ok("latin1-name.torrent", ben(single(name=b"caf\xe9.txt")), with_announce, b"caf\xe9.txt", 32768, 100000, 1)
    ok("announce-list.torrent", ben(single()),
       lambda i: [(b"announce", ben("http://a/ann")),
                  (b"announce-list", ben([["http://a/ann", "http://b/ann"], ["udp://c:80"]])),
                  (b"comment", ben("hello")), (b"created by", ben("vectors")), (b"creation date", ben(1700000000)),
                  (b"info", i), (b"url-list", ben(["http://seed/one"]))],
       b"file.bin", 32768, 100000, 1)

    base = single()
    err("not-bencode.torrent", b"this is not a torrent", "bencode")
    err("truncated.torrent", raw_dict(with_announce(ben(base)))[:-40], "bencode")
    err("not-a-dict.torrent", ben([1, 2]), "metainfo")
    err("no-info.torrent", ben({"announce": "http://t/a"}), "metainfo")
    err("info-not-dict.torrent", ben({"info": [1]}), "metainfo")
    err("both-length-files.torrent", ben({"info": dict(base, files=[{"length": 1, "path": ["a"]}])}), "metainfo")
    err("no-length-no-files.torrent", ben({"info": {k: v for k, v in base.items() if k != "length"}}), "metainfo")
    err("negative-length.torrent", ben({"info": dict(base, length=-1)}), "metainfo")
    err("zero-piece-length.torrent", ben({"info": dict(base, **{"piece length": 0})}), "metainfo")
    err("pieces-not-20.torrent", ben({"info": dict(base, pieces=base["pieces"][:-1])}), "metainfo")
    err("pieces-too-few.torrent", ben({"info": dict(base, pieces=base["pieces"][:-20])}), "metainfo")
    err("pieces-too-many.torrent", ben({"info": dict(base, pieces=base["pieces"] + b"x" * 20)}), "metainfo")
    for label, bad in [("dotdot", b".."), ("dot", b"."), ("empty", b""), ("slash", b"a/b"),
                       ("backslash", b"a\\b"), ("nul", b"a\x00b"), ("control", b"a\nb")]:
        err("name-%s.torrent" % label, ben({"info": single(name=bad)}), "metainfo")
        err("path-%s.torrent" % label, ben({"info": multi([([b"ok", bad], 10)])}), "metainfo")
    err("path-absolute.torrent", ben({"info": multi([([b"/etc", b"passwd"], 10)])}), "metainfo")
    err("path-empty-list.torrent", ben({"info": multi([([], 10)])}), "metainfo")
    err("files-empty.torrent", ben({"info": dict(multi([([b"a"], 1)]), files=[], pieces=b"")}), "metainfo")
    err("duplicate-path.torrent", ben({"info": multi([([b"a"], 10), ([b"a"], 10)])}), "metainfo")
    err("file-dir-conflict.torrent", ben({"info": multi([([b"a"], 10), ([b"a", b"b"], 10)])}), "metainfo")
    err("length-overflow.torrent",
        ben({"info": dict(multi([([b"a"], 1)]), files=[{"length": 2**63 - 1, "path": [b"a"]},
                                                        {"length": 2**63 - 1, "path": [b"b"]},
                                                        {"length": 2**63 - 1, "path": [b"c"]}])}), "metainfo")
    err("no-data.torrent", ben({"info": dict(single(length=0), pieces=b"")}), "metainfo")
    err("duplicate-key.torrent", b"d4:infod4:name1:a4:name1:bee", "bencode")

    os.makedirs(os.path.join(HERE, "torrents"), exist_ok=True)
    lines = []
    for file, data, expected in TORRENTS:
        with open(os.path.join(HERE, "torrents", file), "wb") as f:
            f.write(data)
        lines.append("%s %s" % (file, expected))
    with open(os.path.join(HERE, "torrents.txt"), "w") as f:
        f.write("# FILE ok INFO_HASH PIECE_LENGTH PIECE_COUNT TOTAL_LENGTH FILE_COUNT PRIVATE WARNINGS NAME_HEX\n")
        f.write("# FILE err KIND\n")
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(HERE, "bencode.txt"), "w") as f:
        f.write("# NAME HEX STRICT TOLERANT (strict: ok | err:OFFSET; tolerant: ok:WARNINGS | err:OFFSET)\n")
        for name, data, strict, tolerant in BENCODE:
            f.write("%s %s %s %s\n" % (name, data.hex() or "-", strict, tolerant))


if __name__ == "__main__":
    main()
