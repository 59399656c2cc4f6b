#!/usr/bin/env python3
"""Benchmark: from adding a magnet link to having the metadata, bittern against libtorrent.

    python3 tests/bench/metadata.py [--rounds 5] [--files 100000] [--sources 1,4]

The torrent has `--files` files (100,000 by default: some 6 MB of metadata, 16 KiB a piece of
it); only its `.torrent` exists, no data, since the metadata exchange never reads it. The
sources are libtorrent sessions (python3-libtorrent in /usr/bin/python3) holding the torrent
with no data, which serve its metadata all the same: the same sources for both downloaders, so
only the downloaders differ. Each downloader is a fresh process given the link with every
source as an `x.pe` peer (no tracker, no DHT), and times itself from the add until it has the
metadata (bittern: `torrent()` gives it; libtorrent: `has_metadata`), and again from its first
connected peer (libtorrent dials on its own tick, half a second, which the first time holds);
process start-up is not counted. Rounds alternate the downloaders; medians are printed, with the ratio
(below 1: bittern is faster).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from host import describe, sha1_rate

SYSTEM_PYTHON = "/usr/bin/python3"

SOURCE = textwrap.dedent("""
    import sys, time
    import libtorrent as lt
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
                    "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True})
    h = s.add_torrent({"ti": lt.torrent_info(sys.argv[1]), "save_path": sys.argv[2]})
    while h.status().state in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data):
        time.sleep(0.05)
    print(s.listen_port(), flush=True)
    while True:
        time.sleep(1)
""")

LIBTORRENT = textwrap.dedent("""
    import sys, time
    import libtorrent as lt
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
                    "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True})
    p = lt.parse_magnet_uri(sys.argv[1])
    p.save_path = sys.argv[2]
    start = time.monotonic()
    h = s.add_torrent(p)
    connected = None
    while True:
        st = h.status()
        if connected is None and st.num_peers > 0:
            connected = time.monotonic()
        if st.has_metadata:
            break
        time.sleep(0.002)
    end = time.monotonic()
    print("%.4f %.4f" % (end - start, end - (connected or start)), flush=True)
""")

BITTERN = textwrap.dedent("""
    import sys, time
    import bittern
    with bittern.Session(listen="127.0.0.2:0") as session:
        start = time.monotonic()
        h = session.add(sys.argv[1], sys.argv[2])
        connected = None
        while h.torrent() is None:
            if connected is None and h.status().peers > 0:
                connected = time.monotonic()
            time.sleep(0.002)
        end = time.monotonic()
        print("%.4f %.4f" % (end - start, end - (connected or start)), flush=True)
""")


def make_torrent(path, files):
    """A torrent of `files` files of 1000 bytes in nested folders, with made-up piece hashes."""
    import bittern

    entries = [{"length": 1000, "path": [b"dir%03d" % (i % 500), b"file-%06d.dat" % i]} for i in range(files)]
    piece_length = 1 << 20
    pieces = -(-files * 1000 // piece_length)
    info = {"files": entries, "name": b"many-files", "piece length": piece_length,
            "pieces": os.urandom(20 * pieces)}
    data = bittern.bencode({"info": info})
    with open(path, "wb") as f:
        f.write(data)
    torrent = bittern.Torrent.load(path)
    return torrent, len(torrent.info_bytes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--sources", default="1,4", help="numbers of sources, comma-separated")
    args = parser.parse_args()
    if subprocess.run([SYSTEM_PYTHON, "-c", "import libtorrent"], capture_output=True).returncode != 0:
        sys.exit("python3-libtorrent is not installed")
    counts = [int(n) for n in args.sources.split(",")]
    work = tempfile.mkdtemp(prefix="bittern-metadata-")
    host = describe(sha1=sha1_rate())
    print(host, flush=True)
    sources = []
    results = {(n, kind): [] for n in counts for kind in ("libtorrent", "bittern")}
    try:
        torrent_path = os.path.join(work, "many.torrent")
        torrent, size = make_torrent(torrent_path, args.files)
        print("%d files, %.2f MB of metadata (%d pieces of 16 KiB)" % (args.files, size / 1e6, -(-size // 16384)),
              flush=True)
        for i in range(max(counts)):
            folder = os.path.join(work, "source%d" % i)
            os.makedirs(folder)
            proc = subprocess.Popen([SYSTEM_PYTHON, "-c", SOURCE, torrent_path, folder],
                                    stdout=subprocess.PIPE, text=True)
            sources.append((proc, int(proc.stdout.readline())))
        for _ in range(args.rounds):
            for n in counts:
                link = "magnet:?xt=urn:btih:%s%s" % (
                    torrent.info_hash_hex, "".join("&x.pe=127.0.0.1:%d" % port for _, port in sources[:n]))
                for kind, script, python in (("libtorrent", LIBTORRENT, SYSTEM_PYTHON),
                                             ("bittern", BITTERN, sys.executable)):
                    out = os.path.join(work, "out")
                    shutil.rmtree(out, ignore_errors=True)
                    os.makedirs(out)
                    run = subprocess.run([python, "-c", script, link, out], capture_output=True, text=True,
                                         timeout=300)
                    if run.returncode != 0:
                        sys.exit("%s failed: %s" % (kind, run.stderr[-2000:]))
                    results[(n, kind)].append(tuple(float(x) for x in run.stdout.split()[-2:]))
    finally:
        for proc, _ in sources:
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)

    print("seconds from the add to the metadata / from the first connection to it, each round in the order run:")
    for (n, kind), runs in results.items():
        print("  %d source%s, %s: %s" % (n, "s" if n > 1 else "", kind, " ".join("%.3f/%.3f" % t for t in runs)))
    print()
    print(host)
    print("| sources | libtorrent s | bittern s | bittern / libtorrent | from the first connection: libtorrent s "
          "| bittern s | bittern / libtorrent |")
    print("|---|---|---|---|---|---|---|")
    for n in counts:
        lt = [statistics.median(t[i] for t in results[(n, "libtorrent")]) for i in (0, 1)]
        ours = [statistics.median(t[i] for t in results[(n, "bittern")]) for i in (0, 1)]
        print("| %d | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f |"
              % (n, lt[0], ours[0], ours[0] / lt[0], lt[1], ours[1], ours[1] / lt[1]))


if __name__ == "__main__":
    main()
