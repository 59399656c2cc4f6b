"""Torrents made by bittern against those made by mktorrent and libtorrent (Debian's packages).

Same content, piece length and announce URL must give the same info-hash. libtorrent lives in
Debian's own Python (python3-libtorrent), so it runs there in a subprocess.
"""
import json
import os
import shutil
import subprocess
import textwrap

import pytest

import bittern
from interop import SYSTEM_PYTHON, needs_libtorrent

ANNOUNCE = "http://127.0.0.1:6969/announce"
needs_mktorrent = pytest.mark.skipif(shutil.which("mktorrent") is None,
                                     reason="mktorrent not installed (Debian package mktorrent)")


def pattern(size, seed):
    block = bytes((i * 31 + seed) & 0xFF for i in range(4096))
    return (block * (size // 4096 + 1))[:size]


def ours(path, piece_length, **options):
    return bittern.Torrent.create(path, announce=ANNOUNCE, piece_length=piece_length, creation_date=None, **options)


def mktorrent(path, piece_length, out, *extra):
    exponent = piece_length.bit_length() - 1
    subprocess.run(["mktorrent", "-t", str(os.cpu_count() or 1), "-l", str(exponent), "-a", ANNOUNCE,
                    "-o", str(out), *extra, str(path)], check=True, capture_output=True)
    return bittern.Torrent.load(out)


def libtorrent(script, *args):
    result = subprocess.run([SYSTEM_PYTHON, "-c", textwrap.dedent(script), *map(str, args)],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


SIZES = [1, 16384, 16385, 1_000_000, 3 * 262144]


# mktorrent's smallest piece length is 32 KiB (-l 15).
@needs_mktorrent
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("piece_length", [32768, 262144, 1 << 20])
def test_single_file_matches_mktorrent(tmp_path, size, piece_length):
    data = tmp_path / "payload.bin"
    data.write_bytes(pattern(size, size % 251))
    theirs = mktorrent(data, piece_length, tmp_path / "m.torrent")
    mine = ours(data, piece_length)
    assert mine.info_hash == theirs.info_hash
    assert mine.info_bytes == theirs.info_bytes


@needs_mktorrent
def test_private_single_file_matches_mktorrent(tmp_path):
    data = tmp_path / "payload.bin"
    data.write_bytes(pattern(100_000, 3))
    theirs = mktorrent(data, 32768, tmp_path / "m.torrent", "-p")
    assert theirs.private
    assert ours(data, 32768, private=True).info_hash == theirs.info_hash


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "album"
    # Names chosen so that ordering by path bytes ("a-c" < "a/b") differs from ordering by component.
    for name, size in [("a/b", 20000), ("a-c", 7000), ("a/z/deep.bin", 70000), ("B.txt", 30000),
                       ("z", 1), ("a/a", 5), ("caf\u00e9.txt", 999)]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pattern(size, len(name)))
    return root


@needs_mktorrent
@pytest.mark.parametrize("piece_length", [32768, 65536])
def test_folder_matches_mktorrent(tmp_path, folder, piece_length):
    theirs = mktorrent(folder, piece_length, tmp_path / "m.torrent")
    mine = ours(folder, piece_length)
    assert [f.path for f in mine.files] == [f.path for f in theirs.files]
    assert mine.info_hash == theirs.info_hash


@needs_libtorrent
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("piece_length", [16384, 262144])
def test_single_file_matches_libtorrent(tmp_path, size, piece_length):
    data = tmp_path / "payload.bin"
    data.write_bytes(pattern(size, 7))
    theirs = libtorrent("""
        import json, os, sys
        import libtorrent as lt
        path, piece_length, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        fs = lt.file_storage()
        lt.add_files(fs, path)
        ct = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v1_only)
        ct.add_tracker(url)
        lt.set_piece_hashes(ct, os.path.dirname(path))
        info = lt.torrent_info(lt.bencode(ct.generate()))
        print(json.dumps({"info_hash": str(info.info_hashes().v1)}))
    """, data, piece_length, ANNOUNCE)
    assert ours(data, piece_length).info_hash_hex == theirs["info_hash"]


@needs_libtorrent
def test_libtorrent_reads_our_folder_torrent(tmp_path, folder):
    mine = ours(folder, 16384, comment="made by bittern", private=True)
    out = tmp_path / "ours.torrent"
    mine.save(out)
    theirs = libtorrent("""
        import json, sys
        import libtorrent as lt
        info = lt.torrent_info(sys.argv[1])
        files = info.files()
        print(json.dumps({
            "info_hash": str(info.info_hashes().v1), "name": info.name(), "pieces": info.num_pieces(),
            "total": info.total_size(), "private": info.priv(), "comment": info.comment(),
            "files": [[files.file_path(i), files.file_size(i)] for i in range(files.num_files())],
        }))
    """, out)
    assert theirs["info_hash"] == mine.info_hash_hex
    assert theirs["name"] == "album"
    assert theirs["pieces"] == mine.piece_count
    assert theirs["total"] == mine.total_length
    assert theirs["private"] is True
    assert theirs["comment"] == "made by bittern"
    assert theirs["files"] == [[f.path, f.length] for f in mine.files]


@needs_libtorrent
@needs_mktorrent
def test_we_hash_what_libtorrent_hashes_for_mktorrent_files(tmp_path, folder):
    out = tmp_path / "m.torrent"
    loaded = mktorrent(folder, 32768, out)
    theirs = libtorrent("""
        import json, sys
        import libtorrent as lt
        print(json.dumps({"info_hash": str(lt.torrent_info(sys.argv[1]).info_hashes().v1)}))
    """, out)
    assert loaded.info_hash_hex == theirs["info_hash"]
