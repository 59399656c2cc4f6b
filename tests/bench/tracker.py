#!/usr/bin/env python3
"""Benchmark: announces per second, bittern's tracker against opentracker, side by side.

    python3 tests/bench/tracker.py [--rounds 5] [--duration 5] [--connections 32]

Needs wrk and opentracker (Debian packages) and the `bittern` CLI on PATH (pip install ./python).
Both trackers run on loopback on this machine; wrk sends announces with a random info-hash
(from 1000, all on opentracker's whitelist, which Debian's build requires), a random peer id and
port, compact answers of up to 50 peers. Two modes: a new connection per announce
(`Connection: close`) and keep-alive. Rounds alternate the two trackers; medians are printed
with p99 latency from wrk's --latency table, and the memory per tracked peer from
core/examples/tracker_memory (unless --no-memory).

wrk shares the machine's cores with the tracker it measures, so each round also measures the
harness's ceiling: the same requests sent to a path of bittern's tracker that does nothing
(a 404 before any query is read). A tracker near that rate is as fast as this harness can tell.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from host import describe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LUA = r"""
local hashes = {}
for line in io.lines("%(hashes)s") do hashes[#hashes + 1] = line end
math.randomseed(os.time())
%(close)s
request = function()
  local h = hashes[math.random(#hashes)]
  local id = string.format("-WR0001-%%06d%%06d", math.random(0, 999999), math.random(0, 999999))
  local port = math.random(1025, 65535)
  return wrk.format("GET", "%(path)s?info_hash=" .. h .. "&peer_id=" .. id .. "&port=" .. port ..
    "&uploaded=0&downloaded=0&left=100&compact=1&numwant=50")
end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("nothing listens on port %d" % port)


def wrk(port, script, duration, connections, answered=True):
    """(requests per second, p99 latency in ms) of wrk's run; every answer must be a 2xx
    unless `answered` is false (the ceiling's 404s)."""
    out = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % duration, "--latency", "-s", script,
                          "http://127.0.0.1:%d/" % port], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors and answered:
        sys.exit("errors from port %d: %s" % (port, out))
    return rate, float(p99.group(1)) * scale


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory per peer")
    args = parser.parse_args()
    for tool in ("wrk", "opentracker", "bittern"):
        if shutil.which(tool) is None:
            sys.exit("%s not found (apt-get install wrk opentracker; pip install ./python)" % tool)

    work = tempfile.mkdtemp(prefix="bittern-tracker-bench-")
    os.chmod(work, 0o755)  # opentracker drops to 'nobody' and reads its whitelist there
    hashes = [os.urandom(20) for _ in range(1000)]
    with open(os.path.join(work, "whitelist"), "w") as f:
        f.write("".join(h.hex() + "\n" for h in hashes))
    with open(os.path.join(work, "hashes"), "w") as f:
        f.write("".join("".join("%%%02X" % b for b in h) + "\n" for h in hashes))
    scripts, ceilings = {}, {}
    for mode, close in (("new connection per announce", 'wrk.headers["Connection"] = "close"'),
                        ("keep-alive", "")):
        for path, into in (("/announce", scripts), ("/nothing", ceilings)):
            into[mode] = os.path.join(work, "%s-%s.lua" % (mode.split()[0], path[1:]))
            with open(into[mode], "w") as f:
                f.write(LUA % {"hashes": os.path.join(work, "hashes"), "close": close, "path": path})

    ports = {"opentracker": free_port(), "bittern": free_port()}
    servers = [
        subprocess.Popen(["opentracker", "-i", "127.0.0.1", "-p", str(ports["opentracker"]), "-P",
                          str(ports["opentracker"]), "-d", work, "-w", "whitelist"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["bittern", "tracker", "--bind", "127.0.0.1:%d" % ports["bittern"]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        for port in ports.values():
            wait_port(port)
        time.sleep(1)  # opentracker loads its whitelist in the background
        results = {(mode, name): [] for mode in scripts for name in [*ports, "ceiling"]}
        for _ in range(args.rounds):
            for mode, script in scripts.items():
                for name, port in ports.items():
                    results[(mode, name)].append(wrk(port, script, args.duration, args.connections))
                results[(mode, "ceiling")].append(
                    wrk(ports["bittern"], ceilings[mode], args.duration, args.connections, answered=False))
    finally:
        for s in servers:
            s.terminate()
            s.wait()
        shutil.rmtree(work, ignore_errors=True)

    print(describe())
    print("| mode | tracker | announces/s (median) | p99 latency ms (median) | ratio to opentracker "
          "| share of the harness's ceiling |")
    print("|---|---|---|---|---|---|")
    for mode in scripts:
        reference = statistics.median(r for r, _ in results[(mode, "opentracker")])
        ceiling = statistics.median(r for r, _ in results[(mode, "ceiling")])
        for name in [*ports, "ceiling"]:
            rate = statistics.median(r for r, _ in results[(mode, name)])
            p99 = statistics.median(p for _, p in results[(mode, name)])
            label = "harness ceiling (404)" if name == "ceiling" else name
            print("| %s | %s | %.0f | %.2f | %.2f | %.2f |" % (mode, label, rate, p99, rate / reference, rate / ceiling))
    if args.no_memory:
        return
    print()
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "bittern-core", "--example", "tracker_memory"],
                   cwd=ROOT, check=True)
    for torrents in (1, 10_000):
        subprocess.run([os.path.join(ROOT, "target", "release", "examples", "tracker_memory"), "1000000",
                        str(torrents)], check=True)


if __name__ == "__main__":
    main()
