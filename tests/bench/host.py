"""The host's own figures, printed beside a benchmark's ratios: hosts change between sessions,
so a ratio is read against what this machine could do that day."""
import hashlib
import os
import subprocess
import time


def sha1_rate(megabytes=256):
    """SHA-1 bytes per second on one core (hashlib, which is OpenSSL's: SHA-NI where the CPU has
    it), best of 3."""
    block = os.urandom(1 << 20)
    best = 0.0
    for _ in range(3):
        h = hashlib.sha1()
        start = time.perf_counter()
        for _ in range(megabytes):
            h.update(block)
        best = max(best, megabytes * (1 << 20) / (time.perf_counter() - start))
    return best


def page_cache_read_rate(path):
    """Bytes per second copied from the page cache by read() into a 128 KiB buffer, one thread
    (`path` hot in the cache), best of 3."""
    size = os.path.getsize(path)
    buf = bytearray(128 << 10)
    best = 0.0
    for _ in range(3):
        with open(path, "rb", buffering=0) as f:
            start = time.perf_counter()
            while f.readinto(buf):
                pass
            best = max(best, size / (time.perf_counter() - start))
    return best


def durable_write_rate(folder, megabytes=1024, direct=False):
    """Bytes per second written durably in `folder`'s file system: through the page cache then
    synced (`dd bs=1M conv=fdatasync`), or with `direct` straight to the disk (`dd bs=4M
    oflag=direct`), the disk's own rate and so the floor of any writer that overlaps its writes
    with other work."""
    path = os.path.join(folder, "dd-probe.bin")
    how = ["bs=4M", "count=%d" % (megabytes // 4), "oflag=direct"] if direct else \
        ["bs=1M", "count=%d" % megabytes, "conv=fdatasync"]
    start = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", "of=" + path, *how], check=True, capture_output=True)
    rate = megabytes * (1 << 20) / (time.perf_counter() - start)
    os.remove(path)
    return rate


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def describe(**rates):
    """One line: the core count, each rate in GB/s or MB/s, and the load average."""
    parts = ["%d cores" % os.cpu_count()]
    for name, rate in rates.items():
        parts.append("%s %s" % (name.replace("_", " "), "%.2f GB/s" % (rate / 1e9) if rate >= 1e9 else "%.0f MB/s" % (rate / 1e6)))
    parts.append("load average %s" % load_average())
    return "host: " + ", ".join(parts)
