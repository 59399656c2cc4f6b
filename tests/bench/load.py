#!/usr/bin/env python3
"""Benchmark: loading a torrent of 100,000 files, bittern against libtorrent, both from Python.

    python3 tests/bench/load.py [--rounds 7] [--files 100000]

bittern: `bittern.Torrent.from_bytes(buf)` in the Python that has bittern installed (run this
script with it). libtorrent: `lt.torrent_info(buf)` in Debian's /usr/bin/python3 (package
python3-libtorrent). Each round runs one process of each, alternating; each process times 20
calls and reports their median. Printed: the median over rounds, and the ratio.
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

TIMER = """
import json, sys, time
buf = open(sys.argv[1], "rb").read()
{setup}
times = []
for _ in range(20):
    start = time.perf_counter()
    t = {call}
    times.append(time.perf_counter() - start)
    del t
times.sort()
print(json.dumps({{"median": times[len(times) // 2], "check": {check}}}))
"""

OURS = dict(setup="import bittern", call="bittern.Torrent.from_bytes(buf)",
            check="len(bittern.Torrent.from_bytes(buf).files)")
THEIRS = dict(setup="import libtorrent as lt", call="lt.torrent_info(buf)",
              check="lt.torrent_info(buf).num_files()")


def ben_str(b):
    return b"%d:%s" % (len(b), b)


def make_torrent(path, files):
    piece_length = 1 << 20
    entries = []
    total = 0
    for i in range(files):
        length = 1000 + (i * 7919) % 100000
        total += length
        parts = [b"dir%03d" % (i // 1000), b"sub%02d" % (i // 100 % 10), b"file-%06d.bin" % i]
        entries.append(b"d6:lengthi%de4:pathl%see" % (length, b"".join(ben_str(p) for p in parts)))
    pieces = b"".join(hashlib.sha1(b"%d" % i).digest() for i in range(-(-total // piece_length)))
    info = (b"d5:filesl" + b"".join(entries) + b"e4:name" + ben_str(b"many") +
            b"12:piece lengthi%de6:pieces" % piece_length + ben_str(pieces) + b"e")
    with open(path, "wb") as f:
        f.write(b"d8:announce" + ben_str(b"http://127.0.0.1:6969/announce") + b"4:info" + info + b"e")


def time_in(python, spec, torrent):
    out = subprocess.run([python, "-c", TIMER.format(**spec), torrent], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--libtorrent-python", default="/usr/bin/python3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        torrent = os.path.join(work, "many.torrent")
        make_torrent(torrent, args.files)
        ours, theirs = [], []
        for _ in range(args.rounds):
            o = time_in(sys.executable, OURS, torrent)
            t = time_in(args.libtorrent_python, THEIRS, torrent)
            assert o["check"] == t["check"] == args.files, (o, t)
            ours.append(o["median"])
            theirs.append(t["median"])
        size = os.path.getsize(torrent)
    o, t = statistics.median(ours), statistics.median(theirs)
    print("torrent: %d files, %.1f MiB" % (args.files, size / 2**20))
    print("| loader | median ms per load |")
    print("|---|---|")
    print("| bittern.Torrent.from_bytes | %.2f |" % (o * 1e3))
    print("| libtorrent torrent_info | %.2f |" % (t * 1e3))
    print("ratio (libtorrent time / bittern time): %.2f" % (t / o))


if __name__ == "__main__":
    main()
