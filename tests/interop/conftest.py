"""Shared fixtures for the interop tests."""
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

# The suite runs with --import-mode=importlib, which leaves sys.path alone: this folder's
# helpers (interop.py) are found because conftest puts the folder there, before any test.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import free_port  # noqa: E402


@pytest.fixture
def opentracker(tmp_path):
    """Starts Debian's opentracker (built to serve only whitelisted torrents) for the given
    info-hashes; returns its announce URL."""
    if shutil.which("opentracker") is None:
        pytest.skip("opentracker not installed (Debian package opentracker)")
    procs = []

    def start(hashes):
        folder = tmp_path / ("opentracker%d" % len(procs))
        folder.mkdir()
        (folder / "whitelist").write_text("".join(h.hex() + "\n" for h in hashes))
        os.chmod(folder, 0o755)  # it drops to 'nobody' and reads the whitelist from there
        port = free_port()
        procs.append(subprocess.Popen(["opentracker", "-i", "127.0.0.1", "-p", str(port), "-P", str(port),
                                       "-d", str(folder), "-w", "whitelist"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.time() < deadline, "opentracker did not start"
            time.sleep(0.05)
        time.sleep(0.5)  # the whitelist loads in the background
        return "http://127.0.0.1:%d/announce" % port

    yield start
    for p in procs:
        p.terminate()
        p.wait()
