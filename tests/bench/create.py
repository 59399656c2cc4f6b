#!/usr/bin/env python3
"""Benchmark: creating torrents, bittern against mktorrent -t <cores>, side by side.

    python3 tests/bench/create.py [--rounds 7] [--dir /tmp/bittern-bench]

Runs each tool in turn on the same inputs (page cache hot), alternating tools every round, and
reports median wall time, rate, the ratio to mktorrent and each run's peak RSS. Tools:
- `bittern create` (the CLI a user runs: Python start-up included), found on PATH;
- the Rust engine alone (`core/examples/create_torrent`, built with --release);
- `mktorrent -t <cores>`.
Each pair of outputs is checked to have the same info-hash.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANNOUNCE = "http://127.0.0.1:6969/announce"


def run(argv):
    """Runs a command under GNU time; returns (seconds, peak RSS in MiB).

    Peak RSS comes from /usr/bin/time, not from wait4() here: a child forked from this Python
    process would inherit its high-water mark.
    """
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("%s failed: %s" % (argv[0], proc.stderr))
    return elapsed, int(proc.stderr.split()[-1]) / 1024


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

    cases = [("1 GiB file, 256 KiB pieces", big, 1 << 30, 18),
             ("1 GiB file, 1 MiB pieces", big, 1 << 30, 20),
             ("1000 files of 1 MiB, 256 KiB pieces", many, 1000 << 20, 18)]
    print("| input | tool | median s | GB/s | ratio to mktorrent | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for label, path, size, exponent in cases:
        tools = {
            "mktorrent -t %d" % cores: lambda: ["mktorrent", "-t", str(cores), "-l", str(exponent),
                                                "-a", ANNOUNCE, "-o", out("mktorrent"), path],
            "bittern create (CLI)": lambda: [cli, "create", path, "-t", ANNOUNCE, "--piece-length",
                                             str(1 << exponent), "--no-date", "--force", "-o", out("cli")],
            "bittern engine (Rust)": lambda: [engine, path, out("engine"), str(1 << exponent)],
        }
        times = {name: [] for name in tools}
        rss = {name: 0.0 for name in tools}
        for _ in range(args.rounds):
            for name, argv in tools.items():
                if name.startswith("mktorrent") and os.path.exists(out("mktorrent")):
                    os.remove(out("mktorrent"))  # mktorrent refuses to overwrite
                seconds, peak = run(argv())
                times[name].append(seconds)
                rss[name] = max(rss[name], peak)
        hashes = {info_hash(out(n)) for n in ("mktorrent", "cli", "engine")}
        if len(hashes) != 1:
            sys.exit("info-hashes differ for %s: %s" % (label, hashes))
        reference = statistics.median(times["mktorrent -t %d" % cores])
        for name in tools:
            median = statistics.median(times[name])
            print("| %s | %s | %.3f | %.2f | %.2f | %.1f |" % (
                label, name, median, size / median / 1e9, reference / median, rss[name]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
