#!/usr/bin/env python3
"""Benchmark: a 1 GiB download over loopback, bittern against libtorrent, side by side.

    python3 tests/bench/transfer.py [--rounds 3] [--size 1G] [--baseline DIR]

Seeder and downloader are separate processes; a `bittern tracker` introduces them. Cases:
- libtorrent seeder -> libtorrent downloader (python3-libtorrent in /usr/bin/python3, TCP only,
  DHT, LSD, UPnP and NAT-PMP off);
- bittern seeder (`bittern seed --trust`) -> bittern downloader (`bittern download
  --exit-when-done`);
- libtorrent seeder -> bittern downloader;
- with `--baseline DIR`: another build's `bittern` (DIR/bittern, say an older commit's
  venv/bin) seeding to itself, to compare a change with what came before on the same host.
Measured for the downloader, with GNU time: wall time from its start to verified completion
(it exits then; ours after syncing the data and writing its resume file, libtorrent's without
either), peak RSS and CPU seconds. Rounds alternate the cases; each round's wall time and the
medians are printed (peak RSS: the largest seen).
Every copy is compared with the original.
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

SYSTEM_PYTHON = "/usr/bin/python3"

LIBTORRENT = textwrap.dedent("""
    import sys, time
    import libtorrent as lt
    torrent, save_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
                    "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True})
    h = s.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save_path})
    while True:
        st = h.status()
        if mode == "leech" and st.is_seeding:
            sys.exit(0)
        if mode == "seed" and st.is_seeding:
            print("SEEDING", flush=True)
        time.sleep(0.05 if mode == "leech" else 0.5)
""")


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(argv):
    """Runs argv under GNU time: (wall seconds, peak RSS MiB, CPU seconds)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=int(os.environ.get("BENCH_TIMEOUT", "600")))
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("%s failed: %s" % (argv, proc.stderr[-2000:]))
    rss, user, system = proc.stderr.split()[-3:]
    return wall, int(rss) / 1024, float(user) + float(system)


# The `bittern` executable of each kind that is ours; "baseline" is set by --baseline.
BITTERN = {"bittern": "bittern"}


def start_seeder(kind, torrent, data_dir, port):
    if kind == "libtorrent":
        proc = subprocess.Popen([SYSTEM_PYTHON, "-c", LIBTORRENT, torrent, data_dir, "seed"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        while "SEEDING" not in proc.stdout.readline():
            pass
        return proc
    path = os.path.join(data_dir, "payload.bin")
    return subprocess.Popen([BITTERN[kind], "seed", torrent, path, "--trust", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="1G")
    parser.add_argument("--baseline", metavar="DIR", help="a folder holding another build's bittern")
    args = parser.parse_args()
    if args.baseline:
        BITTERN["baseline"] = os.path.join(args.baseline, "bittern")
        if not os.access(BITTERN["baseline"], os.X_OK):
            sys.exit("no bittern in %s" % args.baseline)
    for tool in ("bittern",):
        if shutil.which(tool) is None:
            sys.exit("bittern CLI not on PATH: pip install ./python")
    if subprocess.run([SYSTEM_PYTHON, "-c", "import libtorrent"], capture_output=True).returncode != 0:
        sys.exit("python3-libtorrent is not installed")
    size = parse_size(args.size)
    work = tempfile.mkdtemp(prefix="bittern-transfer-")
    tracker_port = free_port()
    tracker = subprocess.Popen(["bittern", "tracker", "--bind", "127.0.0.1:%d" % tracker_port, "--interval", "5"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        data_dir = os.path.join(work, "data")
        os.makedirs(data_dir)
        payload = os.path.join(data_dir, "payload.bin")
        with open(payload, "wb") as f:
            for _ in range(size // (1 << 20)):
                f.write(os.urandom(1 << 20))
        torrent = os.path.join(work, "payload.torrent")
        subprocess.run(["bittern", "create", payload, "-t", "http://127.0.0.1:%d/announce" % tracker_port,
                        "--piece-length", str(1 << 20), "-o", torrent], check=True, capture_output=True)
        cases = [("libtorrent", "libtorrent"), ("bittern", "bittern"), ("libtorrent", "bittern")]
        if args.baseline:
            cases.append(("baseline", "baseline"))
        results = {case: [] for case in cases}
        for _ in range(args.rounds):
            for seeder_kind, downloader_kind in cases:
                out = os.path.join(work, "out")
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                seeder = start_seeder(seeder_kind, torrent, data_dir, free_port())
                time.sleep(1.5)  # announced and listening
                try:
                    if downloader_kind == "libtorrent":
                        argv = [SYSTEM_PYTHON, "-c", LIBTORRENT, torrent, out, "leech"]
                    else:
                        argv = [BITTERN[downloader_kind], "download", torrent, "-o", out, "--exit-when-done",
                                "--port", "0"]
                    results[(seeder_kind, downloader_kind)].append(timed(argv))
                finally:
                    seeder.terminate()
                    seeder.wait()
                if not filecmp.cmp(payload, os.path.join(out, "payload.bin"), shallow=False):
                    sys.exit("the copy differs (%s -> %s)" % (seeder_kind, downloader_kind))
    finally:
        tracker.terminate()
        tracker.wait()
        shutil.rmtree(work, ignore_errors=True)

    print("wall seconds of each round, in the order run:")
    for (seeder_kind, downloader_kind), runs in results.items():
        print("  %s -> %s: %s" % (seeder_kind, downloader_kind, " ".join("%.2f" % w for w, _, _ in runs)))
    print()
    reference = statistics.median(w for w, _, _ in results[("libtorrent", "libtorrent")])
    print("| seeder -> downloader | wall s | MB/s | throughput vs libtorrent | downloader peak RSS MiB | downloader CPU s |")
    print("|---|---|---|---|---|---|")
    for (seeder_kind, downloader_kind), runs in results.items():
        wall = statistics.median(w for w, _, _ in runs)
        rss = max(r for _, r, _ in runs)
        cpu = statistics.median(c for _, _, c in runs)
        print("| %s -> %s | %.2f | %.0f | %.2f | %.0f | %.2f |" % (
            seeder_kind, downloader_kind, wall, size / wall / 1e6, reference / wall, rss, cpu))


if __name__ == "__main__":
    main()
