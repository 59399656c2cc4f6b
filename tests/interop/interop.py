"""What the interop tests share: finding the real clients, free ports, waiting."""
import os
import socket
import subprocess
import time

import pytest

# Debian's python3-libtorrent is importable by the system's Python, not by the venv's.
SYSTEM_PYTHON = "/usr/bin/python3"


def has_libtorrent():
    return os.path.exists(SYSTEM_PYTHON) and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import libtorrent"], capture_output=True).returncode == 0


needs_libtorrent = pytest.mark.skipif(not has_libtorrent(),
                                      reason="libtorrent not importable by /usr/bin/python3 (python3-libtorrent)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)
