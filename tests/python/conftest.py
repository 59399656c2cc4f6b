"""Shared fixtures. The suite tests the installed package, never the source folder."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"


def _check_installed() -> None:
    """Refuses to test the source folder (python/bittern has no native module, and is not
    what users get): bittern must come from site-packages."""
    spec = importlib.util.find_spec("bittern")
    if spec is None or spec.origin is None:
        raise pytest.UsageError("bittern is not installed: run `pip install ./python` first")
    origin = Path(spec.origin).resolve()
    if (REPO / "python").resolve() in origin.parents:
        raise pytest.UsageError(
            f"bittern would be imported from the source folder ({origin}), not the installed "
            "package: run pytest from outside python/, with --import-mode=importlib"
        )


_check_installed()

import bittern  # noqa: E402


def _script() -> str:
    """The installed `bittern` console script of the Python running the tests."""
    candidate = Path(sysconfig.get_path("scripts")) / "bittern"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("bittern")
    if found is None:
        raise pytest.UsageError("the `bittern` script is not installed (pip install ./python)")
    return found


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS


@pytest.fixture(scope="session")
def bittern_script() -> str:
    return _script()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A small folder: two visible files in a nested layout and one hidden file."""
    root = tmp_path / "album"
    (root / "disc 2").mkdir(parents=True)
    (root / "b.bin").write_bytes(os.urandom(70_000))
    (root / "a.txt").write_bytes(b"hello\n" * 1000)
    (root / "disc 2" / "c.bin").write_bytes(bytes(range(256)) * 300)
    (root / ".hidden").write_bytes(b"secret")
    return root


@pytest.fixture
def big_sparse(tmp_path: Path) -> Path:
    """A 4 GiB sparse file (zeros): takes seconds to hash, nothing on disk."""
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(4 << 30)
    return path


def pytest_report_header(config: pytest.Config) -> str:
    return f"bittern {bittern.__version__} from {Path(bittern.__file__).parent} (python {sys.version.split()[0]})"
