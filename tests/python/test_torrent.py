"""Torrent: create, load, save, replace, fields and errors."""

from __future__ import annotations

import _thread
import datetime
import errno
import hashlib
import os
import pickle
import threading
import time
from pathlib import Path

import pytest

import bittern


def test_create_single_file(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    source = tmp_path / "movie.bin"
    source.write_bytes(data)
    t = bittern.Torrent.create(source, announce="http://t.example/announce", piece_length=32768)
    assert t.name == "movie.bin"
    assert not t.is_multi_file
    assert t.total_length == 100_000
    assert t.piece_length == 32768
    assert t.piece_count == 4
    for i in range(4):
        assert t.piece_hash(i) == hashlib.sha1(data[i * 32768 : (i + 1) * 32768]).digest()
    assert t.piece_hash(-1) == t.piece_hash(3)
    with pytest.raises(IndexError):
        t.piece_hash(4)
    with pytest.raises(IndexError):
        t.piece_hash(-5)
    assert t.pieces == b"".join(t.piece_hash(i) for i in range(4))
    [f] = t.files
    assert (f.path, f.path_bytes, f.length, f.offset) == ("movie.bin", (b"movie.bin",), 100_000, 0)
    assert t.info_hash == hashlib.sha1(t.info_bytes).digest()
    assert t.info_hash_hex == t.info_hash.hex()
    assert len(t.info_hash_hex) == 40 and t.info_hash_hex == t.info_hash_hex.lower()
    assert t.announce == "http://t.example/announce"
    assert t.announce_list == []
    assert t.trackers == ["http://t.example/announce"]
    assert t.private is False
    assert t.warnings == []


def test_create_folder(folder: Path) -> None:
    t = bittern.Torrent.create(folder, creation_date=None)
    assert t.is_multi_file
    assert t.name == "album"
    # Ordered by relative path bytes; hidden files left out.
    assert [f.path for f in t.files] == ["album/a.txt", "album/b.bin", "album/disc 2/c.bin"]
    assert t.files[2].path_bytes == (b"album", b"disc 2", b"c.bin")
    offsets = [f.offset for f in t.files]
    assert offsets == [0, 6000, 76000]
    assert t.total_length == 6000 + 70_000 + 76_800
    data = b"".join((folder / f.path.split("/", 1)[1]).read_bytes() for f in t.files)
    pl = t.piece_length
    assert t.piece_count == -(-len(data) // pl)
    assert t.piece_hash(1) == hashlib.sha1(data[pl : 2 * pl]).digest()

    hidden = bittern.Torrent.create(folder, creation_date=None, include_hidden=True)
    assert [f.path for f in hidden.files][0] == "album/.hidden"
    assert hidden.info_hash != t.info_hash


def test_create_folder_name_and_threads(folder: Path) -> None:
    a = bittern.Torrent.create(folder, creation_date=None, threads=1)
    b = bittern.Torrent.create(str(folder), creation_date=None, threads=3)
    assert a == b
    renamed = bittern.Torrent.create(folder, creation_date=None, name="other")
    assert renamed.name == "other"
    assert [f.path for f in renamed.files][0] == "other/a.txt"


def test_piece_length_auto(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"x" * 1000)
    assert bittern.Torrent.create(small).piece_length == 16384
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    t = bittern.Torrent.create(big)
    assert t.piece_length == 65536  # smallest power of two giving at most 2000 pieces
    assert t.piece_count == 1024
    assert t.piece_hash(7) == hashlib.sha1(bytes(65536)).digest()


@pytest.mark.parametrize("bad", [0, 1000, 8192, 512 << 20])
def test_bad_piece_length(tmp_path: Path, bad: int) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(bittern.MetainfoError):
        bittern.Torrent.create(source, piece_length=bad)


def test_reproducible_without_date(folder: Path) -> None:
    a = bittern.Torrent.create(folder, announce="http://t/a", creation_date=None)
    b = bittern.Torrent.create(folder, announce="http://t/a", creation_date=None)
    assert a.to_bytes() == b.to_bytes()
    assert a == b and hash(a) == hash(b)
    assert a.creation_date is None
    assert b"creation date" not in a.to_bytes()


def test_defaults_created_by_and_date(folder: Path) -> None:
    before = int(time.time())
    t = bittern.Torrent.create(folder)
    assert t.created_by == f"bittern {bittern.__version__}"
    assert t.creation_date is not None and before - 1 <= t.creation_date <= time.time() + 1
    t = bittern.Torrent.create(folder, created_by=None, creation_date=1234)
    assert t.created_by is None and b"created by" not in t.to_bytes()
    assert t.creation_date == 1234
    when = datetime.datetime(2021, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    assert bittern.Torrent.create(folder, creation_date=when).creation_date == int(when.timestamp())
    with pytest.raises(TypeError):
        bittern.Torrent.create(folder, creation_date="yesterday")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bittern.Torrent.create(folder, creation_date=True)


def test_private_comment_web_seeds(folder: Path) -> None:
    t = bittern.Torrent.create(
        folder, private=True, comment="for friends", url_list=["http://seed/one"], creation_date=None
    )
    assert t.private is True
    assert bittern.bdecode(t.info_bytes)[b"private"] == 1
    assert t.comment == "for friends"
    assert t.url_list == ["http://seed/one"]
    public = bittern.Torrent.create(folder, creation_date=None)
    assert public.info_hash != t.info_hash
    two = bittern.Torrent.create(folder, url_list=("http://a/", "http://b/"))
    assert two.url_list == ["http://a/", "http://b/"]


def test_announce_tiers(folder: Path) -> None:
    one = bittern.Torrent.create(folder, announce="http://a/ann")
    assert (one.announce, one.announce_list) == ("http://a/ann", [])
    each = bittern.Torrent.create(folder, announce=["http://a/ann", "http://b/ann"])
    assert each.announce == "http://a/ann"
    assert each.announce_list == [["http://a/ann"], ["http://b/ann"]]
    mixed = bittern.Torrent.create(folder, announce=[["http://a/1", "http://a/2"], "udp://b:80"])
    assert mixed.announce_list == [["http://a/1", "http://a/2"], ["udp://b:80"]]
    assert mixed.trackers == ["http://a/1", "http://a/2", "udp://b:80"]
    none = bittern.Torrent.create(folder, announce=None)
    assert none.announce is None and none.trackers == []
    with pytest.raises(TypeError):
        bittern.Torrent.create(folder, announce=[b"http://a/ann"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        bittern.Torrent.create(folder, announce=42)  # type: ignore[arg-type]


def test_progress_reaches_total(tmp_path: Path) -> None:
    source = tmp_path / "sparse"
    with open(source, "wb") as f:
        f.truncate(256 << 20)
    calls: list[tuple[int, int]] = []
    t = bittern.Torrent.create(source, progress=lambda done, total: calls.append((done, total)))
    assert calls, "progress was never called"
    assert calls[-1] == (t.total_length, t.total_length)
    assert all(total == t.total_length for _, total in calls)
    dones = [done for done, _ in calls]
    assert dones == sorted(dones)


def test_progress_runs_on_the_calling_thread(folder: Path) -> None:
    seen: set[int] = set()
    result: list[object] = []

    def work() -> None:
        result.append(bittern.Torrent.create(folder, progress=lambda d, t: seen.add(threading.get_ident())))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert isinstance(result[0], bittern.Torrent)
    assert seen == {worker.ident}


class Stop(Exception):
    pass


def test_exception_from_progress_cancels(big_sparse: Path) -> None:
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        raise Stop("enough")

    started = time.monotonic()
    with pytest.raises(Stop, match="enough"):
        bittern.Torrent.create(big_sparse, progress=progress)
    assert len(calls) == 1
    assert time.monotonic() - started < 3


def test_keyboard_interrupt_cancels(big_sparse: Path) -> None:
    def progress(done: int, total: int) -> None:
        _thread.interrupt_main()  # as Ctrl-C would: a pending SIGINT

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        bittern.Torrent.create(big_sparse, progress=progress)
    assert time.monotonic() - started < 3


def test_progress_must_be_callable(folder: Path) -> None:
    with pytest.raises(TypeError):
        bittern.Torrent.create(folder, progress=42)  # type: ignore[arg-type]


def test_create_errors(tmp_path: Path) -> None:
    with pytest.raises(bittern.StorageError) as info:
        bittern.Torrent.create(tmp_path / "missing")
    assert info.value.errno == errno.ENOENT
    assert isinstance(info.value, OSError)
    (tmp_path / "empty").mkdir()
    with pytest.raises(bittern.MetainfoError):
        bittern.Torrent.create(tmp_path / "empty")
    (tmp_path / "zero").write_bytes(b"")
    with pytest.raises(bittern.MetainfoError):
        bittern.Torrent.create(tmp_path / "zero")


def test_save_and_load(folder: Path, tmp_path: Path) -> None:
    t = bittern.Torrent.create(folder, announce="http://t/a", comment="c")
    out = tmp_path / "album.torrent"
    t.save(out)
    assert out.read_bytes() == t.to_bytes() == bytes(t)
    loaded = bittern.Torrent.load(out)
    assert loaded == t
    assert loaded.info_hash == t.info_hash
    assert loaded.comment == "c"
    t.save(str(tmp_path / "again.torrent"))
    assert bittern.Torrent.from_bytes(bytearray(out.read_bytes())) == t
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_save_errors(folder: Path, tmp_path: Path) -> None:
    t = bittern.Torrent.create(folder)
    with pytest.raises(bittern.StorageError) as info:
        t.save(tmp_path / "no" / "such" / "dir.torrent")
    assert info.value.errno == errno.ENOENT


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(bittern.StorageError) as info:
        bittern.Torrent.load(tmp_path / "missing.torrent")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(tmp_path / "missing.torrent")
    assert isinstance(info.value, OSError) and isinstance(info.value, bittern.Error)
    with pytest.raises(bittern.StorageError):
        bittern.Torrent.load(tmp_path)  # a folder
    with pytest.raises(bittern.BencodeError):
        bittern.Torrent.from_bytes(b"")
    with pytest.raises(TypeError):
        bittern.Torrent.load(42)  # type: ignore[arg-type]


def test_replace_keeps_info(tmp_path: Path) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"data" * 10_000)
    t = bittern.Torrent.create(
        source, announce=["http://a/1", "http://b/1"], comment="old", url_list=["http://s/"]
    )
    r = t.replace(comment="new", announce="http://c/1", created_by="me", creation_date=7)
    assert r.info_hash == t.info_hash
    assert r.info_bytes == t.info_bytes
    assert (r.comment, r.announce, r.created_by, r.creation_date) == ("new", "http://c/1", "me", 7)
    assert r.announce_list == t.announce_list  # left out: kept
    assert r.url_list == ["http://s/"]
    assert t.comment == "old"  # the original is unchanged
    assert r != t

    cleared = t.replace(
        comment=None, announce=None, announce_list=None, url_list=None, created_by=None, creation_date=None
    )
    assert cleared.info_hash == t.info_hash
    assert (cleared.comment, cleared.announce, cleared.created_by, cleared.creation_date) == (None,) * 4
    assert cleared.announce_list == [] and cleared.url_list == [] and cleared.trackers == []
    assert bittern.bdecode(cleared.to_bytes()).keys() == {b"info"}

    tiers = t.replace(announce_list=[["http://x/1", "http://x/2"], "http://y/1"])
    assert tiers.announce_list == [["http://x/1", "http://x/2"], ["http://y/1"]]
    assert t.replace() == t
    assert bittern.Torrent.from_bytes(r.to_bytes()) == r
    with pytest.raises(TypeError):
        t.replace(comment=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        t.replace("positional")  # type: ignore[call-arg]


def test_non_utf8_name_from_disk(tmp_path: Path) -> None:
    raw = b"caf\xe9.bin"
    path = os.path.join(os.fsencode(tmp_path), raw)
    try:
        with open(path, "wb") as f:
            f.write(b"x" * 100)
    except OSError:
        pytest.skip("the filesystem refuses non-UTF-8 names")
    t = bittern.Torrent.create(os.fsdecode(path))
    assert t.name_bytes == raw
    assert t.name == "caf\ufffd.bin"
    assert t.files[0].path_bytes == (raw,)


def test_immutable_and_not_constructible(folder: Path) -> None:
    t = bittern.Torrent.create(folder)
    with pytest.raises(AttributeError):
        t.comment = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        t.files[0].length = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        bittern.Torrent()


def test_repr_eq_hash_pickle(folder: Path) -> None:
    t = bittern.Torrent.create(folder, creation_date=None)
    assert repr(t).startswith("Torrent(name='album', info_hash='" + t.info_hash_hex)
    assert repr(t.files[0]) == "File(path='album/a.txt', length=6000, offset=0)"
    assert t != "not a torrent"
    assert {t, bittern.Torrent.from_bytes(t.to_bytes())} == {t}
    assert t.files[0] == bittern.Torrent.from_bytes(t.to_bytes()).files[0]
    assert len({f for f in t.files}) == 3
    assert pickle.loads(pickle.dumps(t)) == t
    assert type(t).__module__ == "bittern"


def test_exception_hierarchy() -> None:
    assert issubclass(bittern.Error, Exception)
    for cls, builtin in [
        (bittern.BencodeError, ValueError),
        (bittern.MetainfoError, ValueError),
        (bittern.StorageError, OSError),
        (bittern.TrackerError, ConnectionError),
        (bittern.NetworkError, ConnectionError),
    ]:
        assert issubclass(cls, bittern.Error) and issubclass(cls, builtin)
        assert cls.__module__ == "bittern"
    assert issubclass(bittern.CancelledError, bittern.Error)
    assert not issubclass(bittern.CancelledError, ValueError)
    assert bittern.Error is bittern._bittern.Error


def test_tracker_problems_name_what_no_tracker_can_answer(tmp_path: Path) -> None:
    data = tmp_path / "d.bin"
    data.write_bytes(b"x" * 1000)
    bare = bittern.Torrent.create(data)
    assert len(bare.tracker_problems()) == 1 and "no tracker" in bare.tracker_problems()[0]
    bad = bittern.Torrent.create(data, announce="tracker.example/announce")
    assert bad.tracker_problems() == [
        "tracker.example/announce: not a tracker URL (http://, https:// or udp:// with a host)"
    ]
    for good in ("http://t.example/announce", "https://t.example/a?passkey=1", "udp://t.example:6969"):
        assert bittern.Torrent.create(data, announce=good).tracker_problems() == [], good
