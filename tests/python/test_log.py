"""`bittern.set_log_level`: the engine's diagnostics on stderr, off by default.

The diagnostics are process-wide and written to file descriptor 2, so each case runs in a
subprocess of its own."""

from __future__ import annotations

import subprocess
import sys

import pytest

import bittern

# Runs a tracker and announces to it, after `set_log_level(argv[1])` unless argv[1] is
# "default" ("none" stands for None).
SCRIPT = """
import sys
import bittern

setting = sys.argv[1]
if setting != "default":
    bittern.set_log_level(None if setting == "none" else setting)
with bittern.Tracker("127.0.0.1:0") as tracker:
    bittern.announce(tracker.url, b"0123456789abcdefghij", left=0, port=6881, timeout=5)
print("done")
"""


def announce_with(setting: str) -> str:
    """The stderr of an announce to a local tracker, with the diagnostics set to `setting`."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, setting], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    return result.stderr


def test_off_by_default() -> None:
    assert announce_with("default") == ""


@pytest.mark.parametrize("setting", ["none", "off", "OFF"])
def test_off(setting: str) -> None:
    assert announce_with(setting) == ""


def test_debug_shows_the_tracker_and_the_announce() -> None:
    stderr = announce_with("debug")
    assert "tracker listening" in stderr
    assert "announced" in stderr
    assert "3031323334353637383961626364656667686" in stderr  # the info-hash, in hex
    assert "DEBUG" in stderr and "INFO" in stderr


def test_info_leaves_out_debug() -> None:
    stderr = announce_with("Info")
    assert "tracker listening" in stderr
    assert "announced" not in stderr


def test_on_and_off_again_in_one_process() -> None:
    script = (
        "import bittern\n"
        "for level in ['trace', 'debug', None, 'warn', 'off', None]:\n"
        "    bittern.set_log_level(level)\n"
        "with bittern.Tracker('127.0.0.1:0'):\n"
        "    pass\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("name", ["verbose", "", "debug "])
def test_unknown_level(name: str) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        bittern.set_log_level(name)


def test_not_a_string() -> None:
    with pytest.raises(TypeError):
        bittern.set_log_level(3)  # type: ignore[arg-type]
