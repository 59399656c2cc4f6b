#!/usr/bin/env python3
"""Benchmark: creating torrents, bittern against mktorrent -t <cores>, side by side.

    python3 tests/bench/create.py [--rounds 7] [--dir /tmp/bittern-bench]

Runs each tool in turn on the same inputs (page cache hot), alternating the tools' order every
round, and reports median wall time, rate, the ratio to mktorrent, median CPU time (user + system)
and each run's peak RSS. Tools:
- `bittern create` (the CLI a user runs: Python start-up included), found on PATH;
- the Rust engine alone (`core/examples/create_torrent`, built with --release);
- `mktorrent -t <cores>`.
Each pair of outputs is checked to have the same info-hash.

The ratios depend on the host, so it prints the host's figures first: SHA-1 on one core
(hashlib, which is OpenSSL's), the page-cache copy rate (read() of the hot 1 GiB file into a
128 KiB buffer, one thread), and from these the floor of any tool that reads with read() and
hashes on every core; the load average before and after shows whether something else ran.
"""
import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANNOUNCE = "http://127.0.0.1:6969/announce"


def run(argv):
    """Runs a command under GNU time; returns (seconds, CPU seconds, peak RSS in MiB).

    Peak RSS comes from /usr/bin/time, not from wait4() here: a child forked from this Python
    process would inherit its high-water mark.
    """
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("%s failed: %s" % (argv[0], proc.stderr))
    user, system, rss = proc.stderr.split()[-3:]
    return elapsed, float(user) + float(system), int(rss) / 1024


def make_inputs(work):
    os.makedirs(work, exist_ok=True)
    big = os.path.join(work, "1g.bin")
    if not os.path.exists(big):
        with open(big, "wb") as f:
            for _ in range(1024):
                f.write(os.urandom(1 << 20))
    many = os.path.join(work, "1000x1m")
    if not os.path.isdir(many):
        os.makedirs(many)
        for i in range(1000):
            with open(os.path.join(many, "f%04d.bin" % i), "wb") as f:
                f.write(os.urandom(1 << 20))
    # Warm the page cache.
    for path in [big] + [os.path.join(many, n) for n in os.listdir(many)]:
        with open(path, "rb") as f:
            while f.read(8 << 20):
                pass
    return big, many


def host_figures(big, cores):
    """Prints this machine's SHA-1 rate, page-cache copy rate and the floor they set."""
    data = os.urandom(1 << 20)
    sha1 = 0.0
    for _ in range(3):  # best of 3: 256 MiB each
        start = time.perf_counter()
        h = hashlib.sha1()
        for _ in range(256):
            h.update(data)
        sha1 = max(sha1, (256 << 20) / (time.perf_counter() - start))
    size = os.path.getsize(big)
    buf = bytearray(128 << 10)
    copy = 0.0
    for _ in range(3):
        with open(big, "rb", buffering=0) as f:
            start = time.perf_counter()
            while f.readinto(buf):
                pass
            copy = max(copy, size / (time.perf_counter() - start))
    floor = (size / sha1 + size / copy) / cores
    print("Host: %d cores; SHA-1 %.2f GB/s on one core (hashlib); page-cache copy %.1f GB/s "
          "(read() into 128 KiB, one thread); so 1 GiB takes at least %.3f s with read() on "
          "every core, start-up aside. Load average: %s." % (
              cores, sha1 / 1e9, copy / 1e9, floor, load_average()))
    print()


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def info_hash(path):
    import bittern
    return bittern.Torrent.load(path).info_hash_hex


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default="/tmp/bittern-bench")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    engine = os.path.join(ROOT, "target", "release", "examples", "create_torrent")
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "bittern-core", "--example", "create_torrent"],
                   cwd=ROOT, check=True)
    cli = shutil.which("bittern")
    if cli is None:
        sys.exit("bittern CLI not on PATH: pip install ./python first")
    if not os.path.exists("/usr/bin/time"):
        sys.exit("GNU time not installed (apt-get install time)")
    if shutil.which("mktorrent") is None:
        sys.exit("mktorrent not installed (apt-get install mktorrent)")
    big, many = make_inputs(args.dir)
    out = lambda name: os.path.join(args.dir, name + ".torrent")
    host_figures(big, cores)

    cases = [("1 GiB file, 256 KiB pieces", big, 1 << 30, 18),
             ("1 GiB file, 1 MiB pieces", big, 1 << 30, 20),
             ("1000 files of 1 MiB, 256 KiB pieces", many, 1000 << 20, 18)]
    print("| input | tool | median s | GB/s | ratio to mktorrent | median CPU s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for label, path, size, exponent in cases:
        tools = {
            "mktorrent -t %d" % cores: lambda: ["mktorrent", "-t", str(cores), "-l", str(exponent),
                                                "-a", ANNOUNCE, "-o", out("mktorrent"), path],
            "bittern create (CLI)": lambda: [cli, "create", path, "-t", ANNOUNCE, "--piece-length",
                                             str(1 << exponent), "--no-date", "--force", "-o", out("cli")],
            "bittern engine (Rust)": lambda: [engine, path, out("engine"), str(1 << exponent)],
        }
        times = {name: [] for name in tools}
        cpu = {name: [] for name in tools}
        rss = {name: 0.0 for name in tools}
        for i in range(args.rounds):
            order = list(tools.items())
            for name, argv in order if i % 2 == 0 else order[::-1]:
                if name.startswith("mktorrent") and os.path.exists(out("mktorrent")):
                    os.remove(out("mktorrent"))  # mktorrent refuses to overwrite
                seconds, cpu_seconds, peak = run(argv())
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                rss[name] = max(rss[name], peak)
        hashes = {info_hash(out(n)) for n in ("mktorrent", "cli", "engine")}
        if len(hashes) != 1:
            sys.exit("info-hashes differ for %s: %s" % (label, hashes))
        reference = statistics.median(times["mktorrent -t %d" % cores])
        for name in tools:
            median = statistics.median(times[name])
            print("| %s | %s | %.3f | %.2f | %.2f | %.3f | %.1f |" % (
                label, name, median, size / median / 1e9, reference / median,
                statistics.median(cpu[name]), rss[name]))
        sys.stdout.flush()
    print()
    print("Load average at the end: %s." % load_average())


if __name__ == "__main__":
    main()
