"""The host's own figures, printed beside a benchmark's ratios: hosts change between sessions,
so a ratio is read against what this machine could do that day."""
import hashlib
import os
import subprocess
import time


def sha1_rate(megabytes=256):
    """SHA-1 bytes per second on one core (OpenSSL through hashlib: SHA-NI where the CPU has it)."""
    block = os.urandom(1 << 20)
    h = hashlib.sha1()
    start = time.perf_counter()
    for _ in range(megabytes):
        h.update(block)
    return megabytes * (1 << 20) / (time.perf_counter() - start)


def durable_write_rate(folder, megabytes=1024):
    """Bytes per second written and synced (`dd bs=1M conv=fdatasync`) in `folder`'s file system."""
    path = os.path.join(folder, "dd-probe.bin")
    start = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M", "count=%d" % megabytes, "conv=fdatasync"],
                   check=True, capture_output=True)
    rate = megabytes * (1 << 20) / (time.perf_counter() - start)
    os.remove(path)
    return rate


def cached_read_rate(path):
    """Bytes per second reading `path` from the page cache (`dd bs=1M`, read twice, the second timed)."""
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"], check=True, capture_output=True)
    return os.path.getsize(path) / (time.perf_counter() - start)


def describe(**rates):
    """One line: the core count and each rate in GB/s or MB/s."""
    parts = ["%d cores" % os.cpu_count()]
    for name, rate in rates.items():
        parts.append("%s %s" % (name.replace("_", " "), "%.2f GB/s" % (rate / 1e9) if rate >= 1e9 else "%.0f MB/s" % (rate / 1e6)))
    return "host: " + ", ".join(parts)
