#!/usr/bin/env python3
"""Benchmark: UDP announces per second (BEP 15), bittern's tracker against opentracker.

    python3 tests/bench/udp_tracker.py [--rounds 5] [--duration 5] [--threads 2] [--sockets 4] [--in-flight 8]

Needs opentracker (Debian's, which serves whitelisted torrents only and listens for UDP with
`-P`) and the `bittern` CLI on PATH (pip install ./python). opentracker runs twice: as Debian
ships it (UDP answered by its main thread alone) and with `listen.udp.workers` set to the
number of cores, as bittern's tracker runs a thread per core: like with like.

The load generator is ours, core/examples/udp_load (built here with cargo): each of `--threads`
threads drives `--sockets` clients, each of which connects, then keeps `--in-flight` announces
outstanding, each for one of 1000 info-hashes (all on opentracker's whitelist) with a fresh peer
id and port, and times every answer; packets go a batch per system call (recvmmsg/sendmmsg).
Every tracker gets the same generator; each goes first in turn; medians of the rate, of the p99
latency and of the tracker's CPU time per answer (user + system, from /proc) are printed with
the ratio. The generator shares the machine's cores with the tracker it measures, as wrk does
for the HTTP benchmark (tests/bench/tracker.py, which also measures memory per tracked peer:
both protocols share one registry), so each round also measures the harness's ceiling: the
same announces to bittern's tracker with BEP 41 URL data naming a path it does not serve, which
it answers with a short error before looking at the torrent. A tracker near that rate is as fast
as this harness can tell.
"""
import argparse
import hashlib
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from host import describe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TORRENTS = 1000


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u.bind(("127.0.0.1", port))  # free for both
        return port


def load_generator():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "bittern-core", "--example", "udp_load"],
                   cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "examples", "udp_load")


WORKERS = "opentracker, %d UDP workers" % os.cpu_count()


def start(kind, port, folder):
    if kind.startswith("opentracker"):
        # The workers' setting must come before -P, which binds as it is read.
        config = ["-f", os.path.join(folder, "workers.conf")] if kind == WORKERS else []
        cmd = ["opentracker"] + config + ["-i", "127.0.0.1", "-p", str(port), "-P", str(port), "-d", folder,
                                          "-w", "whitelist"]
    else:
        cmd = ["bittern", "tracker", "--bind", "127.0.0.1:%d" % port]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # listening, and opentracker's whitelist loaded
    return proc


def cpu_seconds(pid):
    """User + system time of process `pid`, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(generator, proc, port, args, ceiling=False):
    """One run of the generator: (answers/s, p99 ms, tracker CPU µs per answer)."""
    cmd = [generator, "127.0.0.1:%d" % port, str(args.duration), str(args.threads), str(args.sockets),
           str(args.in_flight), str(TORRENTS)] + (["/ceiling"] if ceiling else [])
    cpu = cpu_seconds(proc.pid)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("the load generator failed: %s" % done.stderr.strip())
    out = done.stdout
    cpu = cpu_seconds(proc.pid) - cpu
    fields = dict(item.split("=") for item in out.split())
    if int(fields["errors"]) and not ceiling:
        sys.exit("the tracker answered with errors: %s" % out)
    rate = float(fields["answers_per_s"])
    return rate, float(fields["p99_ms"]), cpu * 1e6 / max(1.0, rate * args.duration)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--threads", type=int, default=2, help="generator threads")
    parser.add_argument("--sockets", type=int, default=4, help="clients per generator thread")
    parser.add_argument("--in-flight", type=int, default=8, help="announces in flight per client")
    args = parser.parse_args()
    for tool in ("opentracker", "bittern", "cargo"):
        if shutil.which(tool) is None:
            sys.exit("%s is not on PATH" % tool)
    generator = load_generator()
    folder = tempfile.mkdtemp(prefix="bittern-udp-bench-")
    os.chmod(folder, 0o755)  # opentracker drops to 'nobody' and reads the whitelist from there
    with open(os.path.join(folder, "workers.conf"), "w") as f:
        f.write("listen.udp.workers %d\n" % os.cpu_count())
    with open(os.path.join(folder, "whitelist"), "w") as f:
        for i in range(TORRENTS):
            # As the generator makes them: SHA-1 of the torrent's number.
            f.write(hashlib.sha1(struct.pack(">I", i)).hexdigest() + "\n")
    host = describe()
    print(host, flush=True)
    results = {"opentracker": [], WORKERS: [], "bittern": [], "harness ceiling": []}
    try:
        for r in range(args.rounds):
            kinds = ["opentracker", WORKERS, "bittern"]
            kinds = kinds[r % 3:] + kinds[:r % 3]  # each goes first in turn
            for kind in kinds:
                port = free_port()
                proc = start(kind, port, folder)
                try:
                    results[kind].append(run(generator, proc, port, args))
                    if kind == "bittern":
                        results["harness ceiling"].append(run(generator, proc, port, args, ceiling=True))
                finally:
                    proc.terminate()
                    proc.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("announces/s / p99 ms / tracker CPU µs per answer, each round in the order run:")
    for kind, runs in results.items():
        print("  %s: %s" % (kind, " ".join("%.0f/%.2f/%.2f" % r for r in runs)))
    print()
    print(host)
    print("load: %d threads of %d clients, %d announces in flight each, %s s a run"
          % (args.threads, args.sockets, args.in_flight, args.duration))
    print("| tracker | announces/s (median) | p99 latency ms (median) | tracker CPU µs per answer (median) "
          "| ratio to opentracker | same, median of each round's ratio | share of the harness's ceiling |")
    print("|---|---|---|---|---|---|---|")
    reference = statistics.median(r[0] for r in results["opentracker"])
    ceiling = statistics.median(r[0] for r in results["harness ceiling"])
    for kind, runs in results.items():
        rate, p99, cpu = (statistics.median(r[i] for r in runs) for i in range(3))
        paired = statistics.median(r[0] / o[0] for r, o in zip(runs, results["opentracker"]))
        print("| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f |"
              % (kind, rate, p99, cpu, rate / reference, paired, rate / ceiling))


if __name__ == "__main__":
    main()
