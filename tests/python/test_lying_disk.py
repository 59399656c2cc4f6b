"""Issue 10: resume data and files on disk that lie. Whatever the folder holds, a torrent falls
back to checking, never reports a wrong byte as complete, and never writes through a link or
outside its folder. A link or a folder where a data file belongs never fails the add: the torrent
waits in state "error" with a StorageError naming it, and runs once it is resumed after the way
is cleared. Outcomes are listed in SECURITY.md."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

import bittern

PIECE = 16384
PIECES = 24


def made(tmp_path: Path) -> tuple[bittern.Torrent, Path, bytes]:
    """A multi-file torrent of known data, complete in `tmp_path / "dl"`, with its resume file
    saved by a session that checked it."""
    rng = random.Random(7)
    data = bytes(rng.getrandbits(8) for _ in range(PIECE * PIECES - 1000))
    source = tmp_path / "src" / "album"
    source.mkdir(parents=True)
    (source / "a.bin").write_bytes(data[: PIECE * 10 + 123])
    (source / "b.bin").write_bytes(data[PIECE * 10 + 123 :])
    torrent = bittern.Torrent.create(source, piece_length=PIECE)
    download = tmp_path / "dl"
    (download / "album").mkdir(parents=True)
    for name in ("a.bin", "b.bin"):
        (download / "album" / name).write_bytes((source / name).read_bytes())
    with bittern.Session(listen="127.0.0.1:0") as session:
        handle = session.add(torrent, download)
        assert handle.wait_checked(timeout=30)
        assert handle.status().finished
    assert list((download / ".bittern").glob("*.resume")), "a resume file is saved"
    return torrent, download, data


def restart(torrent: bittern.Torrent, download: Path) -> tuple[int, str, list[str]]:
    """Adds the torrent again and checks: (pieces found, state, events seen)."""
    with bittern.Session(listen="127.0.0.1:0") as session:
        handle = session.add(torrent, download)
        assert handle.wait_checked(timeout=30), "the check finishes"
        status = handle.status()
        events = [f"{e.kind}: {e.message}" for e in session.events(timeout=0)]
        return status.pieces_done, status.state, events


def resume_file(download: Path) -> Path:
    (found,) = (download / ".bittern").glob("*.resume")
    return found


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not bencode at all", b"d7:versioni1ee", b"d8:bitfield3:\xff\xff\xff"],
    ids=["empty", "not-bencode", "fields-missing", "bitfield-wrong-size"],
)
def test_a_garbage_resume_file_means_a_full_check(tmp_path: Path, garbage: bytes) -> None:
    torrent, download, _ = made(tmp_path)
    resume_file(download).write_bytes(garbage)
    done, state, _ = restart(torrent, download)
    assert (done, state) == (PIECES, "seeding")


def test_a_truncated_resume_file_means_a_full_check(tmp_path: Path) -> None:
    torrent, download, _ = made(tmp_path)
    path = resume_file(download)
    path.write_bytes(path.read_bytes()[:-7])
    assert restart(torrent, download)[:2] == (PIECES, "seeding")


def test_a_resume_file_of_another_torrent_is_not_believed(tmp_path: Path) -> None:
    torrent, download, _ = made(tmp_path)
    other = bittern.Torrent.create(download / "album" / "a.bin", piece_length=PIECE)
    with bittern.Session(listen="127.0.0.1:0") as session:
        session.add(other, download / "album").wait_checked(timeout=30)
    (theirs,) = (download / "album" / ".bittern").glob("*.resume")
    # Their resume file, under our torrent's name: it claims pieces of another torrent.
    resume_file(download).write_bytes(theirs.read_bytes())
    (download / "album" / "b.bin").write_bytes(b"\0" * (download / "album" / "b.bin").stat().st_size)
    done, state, _ = restart(torrent, download)
    assert done == 10 and state == "downloading"  # only a.bin's whole pieces are there


def test_truncated_data_files_are_checked_not_trusted(tmp_path: Path) -> None:
    torrent, download, _ = made(tmp_path)
    b = download / "album" / "b.bin"
    with open(b, "r+b") as f:
        f.truncate(PIECE * 3)
    done, state, _ = restart(torrent, download)
    # a.bin holds pieces 0-9 and the start of 10; what is left of b.bin completes 10-12.
    assert (done, state) == (13, "downloading")


def test_a_resume_file_claiming_pieces_of_a_changed_file_is_rechecked(tmp_path: Path) -> None:
    """The resume file says everything is there; b.bin was overwritten with zeros since (its
    size kept, its mtime moved as any write moves it): its pieces are checked and found
    missing."""
    torrent, download, _ = made(tmp_path)
    b = download / "album" / "b.bin"
    b.write_bytes(b"\0" * b.stat().st_size)
    done, state, _ = restart(torrent, download)
    assert state == "downloading" and done == 10


def stopped_by(session: bittern.Session, torrent: bittern.Torrent, download: Path, message: str) -> bittern.TorrentHandle:
    """Adds the torrent (which never fails for what is on disk) and checks that it waits in
    state "error", with a storage_error event and `error()` saying `message`."""
    handle = session.add(torrent, download)
    assert handle.wait_checked(timeout=30)
    assert handle.status().state == "error"
    assert message in str(handle.error())
    assert [e.message for e in session.events(timeout=1) if e.kind == "storage_error"] == [str(handle.error())]
    return handle


def runs_once_resumed(handle: bittern.TorrentHandle, found: int) -> None:
    handle.resume()
    assert handle.wait_checked(timeout=30)
    status = handle.status()
    assert (status.state, status.pieces_done) == ("downloading", found), status


def test_a_data_file_replaced_by_a_link_is_never_written_through(tmp_path: Path) -> None:
    torrent, download, data = made(tmp_path)
    outside = tmp_path / "outside.bin"
    b = download / "album" / "b.bin"
    outside.write_bytes(b"\0" * b.stat().st_size)
    before = outside.read_bytes()
    b.unlink()
    b.symlink_to(outside)
    with bittern.Session(listen="127.0.0.1:0") as session:
        handle = stopped_by(session, torrent, download, "b.bin is a symbolic link")
        assert outside.read_bytes() == before, "nothing was written through the link"
        assert b.is_symlink()
        b.unlink()
        runs_once_resumed(handle, 10)  # a.bin's whole pieces; b.bin made anew
    assert outside.read_bytes() == before


def test_a_data_file_replaced_by_a_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    torrent, download, _ = made(tmp_path)
    b = download / "album" / "b.bin"
    b.unlink()
    b.mkdir()
    (b / "keep.txt").write_text("mine")
    with bittern.Session(listen="127.0.0.1:0") as session:
        handle = stopped_by(session, torrent, download, "b.bin is not a regular file")
        assert (b / "keep.txt").read_text() == "mine", "the folder someone put there is kept"
        b.rename(tmp_path / "moved")
        runs_once_resumed(handle, 10)
    assert (tmp_path / "moved" / "keep.txt").read_text() == "mine"


def test_a_folder_of_the_torrent_replaced_by_a_link_out_is_never_written_through(tmp_path: Path) -> None:
    torrent, download, _ = made(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("a.bin", "b.bin"):
        os.remove(download / "album" / name)
    (download / "album").rmdir()
    (download / "album").symlink_to(elsewhere, target_is_directory=True)
    with bittern.Session(listen="127.0.0.1:0") as session:
        handle = stopped_by(session, torrent, download, "album is a symbolic link")
        assert list(elsewhere.iterdir()) == [], "nothing was created through the link"
        (download / "album").unlink()
        runs_once_resumed(handle, 0)
    assert list(elsewhere.iterdir()) == []
