#!/usr/bin/env python3
"""Benchmark: a 1 GiB download over loopback, bittern against libtorrent, side by side.

    python3 tests/bench/transfer.py [--rounds 3] [--size 1G] [--pieces 256K,1M] [--baseline DIR]

Seeder and downloader are separate processes; a `bittern tracker` introduces them. Cases, for
each piece length:
- libtorrent seeder -> libtorrent downloader (python3-libtorrent in /usr/bin/python3, TCP only,
  DHT, LSD, UPnP and NAT-PMP off);
- bittern seeder (`bittern seed --trust`) -> bittern downloader (the Python module);
- libtorrent seeder -> bittern downloader;
- with `--baseline DIR`: another build's `bittern` seeding to itself (DIR/bittern and
  DIR/python, say an older commit's venv/bin), to compare a change with what came before.
Both downloaders are driven alike, by a few lines of Python, and each is timed twice from its
start: to its last verified piece (the data may still be in the page cache), and until the data
is durable (bittern: its session closed, which syncs the files and saves the resume file;
libtorrent: each file fsynced). The host's durable write rates on the same disk are printed
beside its SHA-1 rate: written then synced (dd conv=fdatasync) and straight to the disk (dd
oflag=direct), the floor of the second time for a downloader that writes back as it goes. Peak RSS and CPU seconds of
the downloader from GNU time. Rounds alternate the cases; medians are printed. Every copy is
compared with the original.
"""
import argparse
import filecmp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from host import describe, durable_write_rate, sha1_rate

SYSTEM_PYTHON = "/usr/bin/python3"

LIBTORRENT = textwrap.dedent("""
    import os, sys, time
    import libtorrent as lt
    torrent, save_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
                    "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True})
    info = lt.torrent_info(torrent)
    h = s.add_torrent({"ti": info, "save_path": save_path})
    print("STARTED", flush=True)
    first = False
    while True:
        st = h.status()
        if mode == "leech" and not first and st.total_payload_download > 0:
            print("FIRST", flush=True)
            first = True
        if mode == "leech" and st.is_seeding:
            print("VERIFIED", flush=True)
            files = info.files()
            for i in range(files.num_files()):
                fd = os.open(os.path.join(save_path, files.file_path(i)), os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            print("DURABLE", flush=True)
            sys.exit(0)
        if mode == "seed" and st.is_seeding:
            print("SEEDING", flush=True)
        time.sleep(0.01 if mode == "leech" else 0.5)
""")

# The downloader through bittern's Python module, told as libtorrent's is.
BITTERN_LEECH = textwrap.dedent("""
    import sys, bittern
    torrent, save_path = sys.argv[1], sys.argv[2]
    session = bittern.Session(listen="127.0.0.1:0")
    handle = session.add(torrent, save_path)
    print("STARTED", flush=True)
    while handle.status().downloaded == 0 and not handle.wait(timeout=0.01):
        pass
    print("FIRST", flush=True)
    while not handle.wait(timeout=0.05):
        pass
    print("VERIFIED", flush=True)
    session.close()  # saves the resume file, syncing the data first
    print("DURABLE", flush=True)
""")


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MARKS = ("STARTED", "FIRST", "VERIFIED", "DURABLE")


def timed(argv):
    """Runs argv under GNU time, reading the lines it prints at each of MARKS: (seconds from
    its start to each mark, peak RSS MiB, CPU seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M %U %S", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    marks = {}
    for line in proc.stdout:
        marks[line.strip()] = time.perf_counter() - start
    stderr = proc.stderr.read()
    if proc.wait(timeout=int(os.environ.get("BENCH_TIMEOUT", "600"))) != 0 or set(marks) != set(MARKS):
        sys.exit("%s failed: %s" % (argv, stderr[-2000:]))
    rss, user, system = stderr.split()[-3:]
    return [marks[m] for m in MARKS], int(rss) / 1024, float(user) + float(system)


# Where each kind of ours is: its `bittern` CLI (the seeder) and the Python holding its module
# (the downloader); "baseline" is set by --baseline.
BITTERN = {}


def start_seeder(kind, torrent, data_dir, port):
    if kind == "libtorrent":
        proc = subprocess.Popen([SYSTEM_PYTHON, "-c", LIBTORRENT, torrent, data_dir, "seed"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        while "SEEDING" not in proc.stdout.readline():
            pass
        return proc
    path = os.path.join(data_dir, "payload.bin")
    return subprocess.Popen([BITTERN[kind][0], "seed", torrent, path, "--trust", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def downloader(kind, torrent, out):
    if kind == "libtorrent":
        return [SYSTEM_PYTHON, "-c", LIBTORRENT, torrent, out, "leech"]
    return [BITTERN[kind][1], "-c", BITTERN_LEECH, torrent, out]


def ours(folder):
    """The `bittern` CLI and the Python beside it in `folder` (a virtual environment's bin)."""
    return os.path.join(folder, "bittern"), os.path.join(folder, "python")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="1G")
    parser.add_argument("--pieces", default="256K,1M", help="piece lengths, comma-separated")
    parser.add_argument("--baseline", metavar="DIR", help="a folder holding another build's bittern and python")
    args = parser.parse_args()
    if shutil.which("bittern") is None:
        sys.exit("bittern CLI not on PATH: pip install ./python")
    BITTERN["bittern"] = ours(os.path.dirname(shutil.which("bittern")))
    if args.baseline:
        BITTERN["baseline"] = ours(args.baseline)
    for cli, python in BITTERN.values():
        if not (os.access(cli, os.X_OK) and os.access(python, os.X_OK)):
            sys.exit("no bittern and python in %s" % os.path.dirname(cli))
    if subprocess.run([SYSTEM_PYTHON, "-c", "import libtorrent"], capture_output=True).returncode != 0:
        sys.exit("python3-libtorrent is not installed")
    size = parse_size(args.size)
    pieces = [parse_size(p) for p in args.pieces.split(",")]
    work = tempfile.mkdtemp(prefix="bittern-transfer-")
    direct = durable_write_rate(work, direct=True)
    host = describe(sha1=sha1_rate(), written_then_synced=durable_write_rate(work), written_direct=direct)
    host += "; %s straight to this disk takes %.2f s, the floor of the durable times" % (human(size), size / direct)
    print(host, flush=True)
    tracker_port = free_port()
    tracker = subprocess.Popen(["bittern", "tracker", "--bind", "127.0.0.1:%d" % tracker_port, "--interval", "5"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cases = [("libtorrent", "libtorrent"), ("bittern", "bittern"), ("libtorrent", "bittern")]
    if args.baseline:
        cases.append(("baseline", "baseline"))
    results = {(piece, case): [] for piece in pieces for case in cases}
    try:
        data_dir = os.path.join(work, "data")
        os.makedirs(data_dir)
        payload = os.path.join(data_dir, "payload.bin")
        with open(payload, "wb") as f:
            for _ in range(size // (1 << 20)):
                f.write(os.urandom(1 << 20))
        torrents = {}
        for piece in pieces:
            torrents[piece] = os.path.join(work, "payload-%d.torrent" % piece)
            subprocess.run(["bittern", "create", payload, "-t", "http://127.0.0.1:%d/announce" % tracker_port,
                            "--piece-length", str(piece), "-o", torrents[piece]], check=True, capture_output=True)
        for _ in range(args.rounds):
            for piece in pieces:
                for seeder_kind, downloader_kind in cases:
                    out = os.path.join(work, "out")
                    shutil.rmtree(out, ignore_errors=True)
                    os.makedirs(out)
                    seeder = start_seeder(seeder_kind, torrents[piece], data_dir, free_port())
                    time.sleep(1.5)  # announced and listening
                    try:
                        run = timed(downloader(downloader_kind, torrents[piece], out))
                        results[(piece, (seeder_kind, downloader_kind))].append(run)
                    finally:
                        seeder.terminate()
                        seeder.wait()
                    if not filecmp.cmp(payload, os.path.join(out, "payload.bin"), shallow=False):
                        sys.exit("the copy differs (%s -> %s)" % (seeder_kind, downloader_kind))
    finally:
        tracker.terminate()
        tracker.wait()
        shutil.rmtree(work, ignore_errors=True)

    print("seconds to the last verified piece / until durable, each round in the order run:")
    for (piece, (seeder_kind, downloader_kind)), runs in results.items():
        print("  %s, %s -> %s: %s" % (human(piece), seeder_kind, downloader_kind,
                                      " ".join("%.2f/%.2f" % tuple(marks[2:]) for marks, _, _ in runs)))
    print()
    print(host)
    print("| pieces | seeder -> downloader | verified s | vs libtorrent | durable s | vs libtorrent "
          "| downloader peak RSS MiB | downloader CPU s | where the time goes (medians, s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for piece in pieces:
        reference = [statistics.median(m[i] for m, _, _ in results[(piece, ("libtorrent", "libtorrent"))])
                     for i in range(len(MARKS))]
        for case in cases:
            runs = results[(piece, case)]
            at = [statistics.median(m[i] for m, _, _ in runs) for i in range(len(MARKS))]
            phases = "start %.2f, to the first byte %.2f, transfer %.2f, to durable %.2f" % (
                at[0], at[1] - at[0], at[2] - at[1], at[3] - at[2])
            print("| %s | %s -> %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.2f | %s |" % (
                human(piece), case[0], case[1], at[2], reference[2] / at[2], at[3], reference[3] / at[3],
                max(r for _, r, _ in runs), statistics.median(c for _, _, c in runs), phases))


def human(n):
    return "%d MiB" % (n >> 20) if n >= 1 << 20 and n % (1 << 20) == 0 else "%d KiB" % (n >> 10)


if __name__ == "__main__":
    main()
