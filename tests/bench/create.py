#!/usr/bin/env python3
"""Benchmark: creating torrents, bittern against mktorrent -t <cores>, side by side.

    python3 tests/bench/create.py [--rounds 7] [--dir /tmp/bittern-bench] [--mib 1024] [--files 1000]

Runs each tool in turn on the same inputs (page cache hot), alternating the tools' order every
round, and reports median wall time, rate, the ratio to mktorrent, median CPU time (user + system)
and each run's peak RSS. Tools:
- `bittern create` (the CLI a user runs: Python start-up included), found on PATH;
- the Rust engine alone (`core/examples/create_torrent`, built with --release);
- `mktorrent -t <cores>`.
Each pair of outputs is checked to have the same info-hash.

The ratios depend on the host, so it prints the host's figures first: SHA-1 on one core
(hashlib, which is OpenSSL's), the page-cache copy rate (read() of the hot big file into a
128 KiB buffer, one thread), and from these the floor of any tool that reads with read() and
hashes on every core; the load average before and after shows whether something else ran.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

from host import describe, load_average, page_cache_read_rate, sha1_rate

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


def make_inputs(work, mib, files):
    """A file of `mib` MiB and a folder of `files` files of 1 MiB, of random bytes (kept)."""
    os.makedirs(work, exist_ok=True)
    big = os.path.join(work, "%dm.bin" % mib)
    if not os.path.exists(big):
        with open(big, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
    many = os.path.join(work, "%dx1m" % files)
    if not os.path.isdir(many):
        os.makedirs(many)
        for i in range(files):
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
    sha1, copy = sha1_rate(), page_cache_read_rate(big)
    size = os.path.getsize(big)
    floor = (size / sha1 + size / copy) / cores
    print("%s; so %s takes at least %.3f s with read() on every core, start-up aside." % (
        describe(sha1=sha1, page_cache_copy=copy), human(size), floor))
    print()


def human(n):
    return "%d GiB" % (n >> 30) if n % (1 << 30) == 0 else "%d MiB" % (n >> 20)


def info_hash(path):
    import bittern
    return bittern.Torrent.load(path).info_hash_hex


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default="/tmp/bittern-bench")
    parser.add_argument("--mib", type=int, default=1024, help="size of the big file in MiB")
    parser.add_argument("--files", type=int, default=1000, help="files of 1 MiB in the folder")
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
    big, many = make_inputs(args.dir, args.mib, args.files)
    out = lambda name: os.path.join(args.dir, name + ".torrent")
    host_figures(big, cores)

    cases = [("%s file, 256 KiB pieces" % human(args.mib << 20), big, args.mib << 20, 18),
             ("%s file, 1 MiB pieces" % human(args.mib << 20), big, args.mib << 20, 20),
             ("%d files of 1 MiB, 256 KiB pieces" % args.files, many, args.files << 20, 18)]
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
