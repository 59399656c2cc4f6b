"""The README's Python example runs as written, in an empty folder, as a reader would copy it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.M | re.S)


def test_the_python_example_runs_as_written(tmp_path: Path) -> None:
    blocks = python_blocks()
    assert blocks, "README.md has a Python example"
    for block in blocks:
        script = tmp_path / "example.py"
        script.write_text(block, encoding="utf-8")
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        # The download completed, and the events said so.
        assert any(line.startswith("1.0 {") for line in lines), lines
        assert "finished None" in lines, lines
    assert (tmp_path / "downloads" / "album" / "track01.flac").read_bytes() == (
        tmp_path / "album" / "track01.flac"
    ).read_bytes()
