"""The shared vectors (tests/vectors, format in make_vectors.py), read by every face's suite."""

from __future__ import annotations

from pathlib import Path

import pytest

import bittern

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _lines(name: str) -> list[list[str]]:
    text = (VECTORS / name).read_text()
    return [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]


BENCODE = _lines("bencode.txt")
TORRENTS = _lines("torrents.txt")


def _data(hex_field: str) -> bytes:
    return b"" if hex_field == "-" else bytes.fromhex(hex_field)


def test_vectors_present() -> None:
    assert len(BENCODE) > 40
    assert len(TORRENTS) > 30


@pytest.mark.parametrize("name,hexdata,strict,tolerant", BENCODE, ids=[v[0] for v in BENCODE])
def test_bencode_vector(name: str, hexdata: str, strict: str, tolerant: str) -> None:
    data = _data(hexdata)

    if strict == "ok":
        value = bittern.bdecode(data, strict=True)
        # Canonical input encodes back to itself.
        assert bittern.bencode(value) == data
    else:
        offset = int(strict.split(":")[1])
        with pytest.raises(bittern.BencodeError) as info:
            bittern.bdecode(data, strict=True)
        assert info.value.offset == offset, str(info.value)

    if tolerant.startswith("ok"):
        value = bittern.bdecode(data, strict=False)
        if strict == "ok":
            assert value == bittern.bdecode(data)
    else:
        offset = int(tolerant.split(":")[1])
        with pytest.raises(bittern.BencodeError) as info:
            bittern.bdecode(data, strict=False)
        assert info.value.offset == offset, str(info.value)


def test_bdecode_default_is_strict() -> None:
    with pytest.raises(bittern.BencodeError):
        bittern.bdecode(b"i03e")


OK_TORRENTS = [v for v in TORRENTS if v[1] == "ok"]
ERR_TORRENTS = [v for v in TORRENTS if v[1] == "err"]


@pytest.mark.parametrize("vector", OK_TORRENTS, ids=[v[0] for v in OK_TORRENTS])
def test_torrent_vector_ok(vector: list[str]) -> None:
    file, _, info_hash, piece_length, piece_count, total, file_count, private, warnings, name_hex = vector
    path = VECTORS / "torrents" / file
    t = bittern.Torrent.load(path)
    assert t.info_hash_hex == info_hash
    assert t.info_hash == bytes.fromhex(info_hash)
    assert t.piece_length == int(piece_length)
    assert t.piece_count == int(piece_count)
    assert len(t.pieces) == 20 * t.piece_count
    assert t.total_length == int(total)
    assert len(t.files) == int(file_count)
    assert sum(f.length for f in t.files) == t.total_length
    assert t.private is (private == "1")
    assert len(t.warnings) == int(warnings)
    assert t.name_bytes == bytes.fromhex(name_hex)
    # Loaded from a str path and from bytes alike; saved back byte for byte.
    assert bittern.Torrent.load(str(path)) == t
    assert bittern.Torrent.from_bytes(path.read_bytes()) == t
    assert t.to_bytes() == path.read_bytes()


@pytest.mark.parametrize("vector", ERR_TORRENTS, ids=[v[0] for v in ERR_TORRENTS])
def test_torrent_vector_err(vector: list[str]) -> None:
    file, _, kind = vector
    path = VECTORS / "torrents" / file
    expected = {"bencode": bittern.BencodeError, "metainfo": bittern.MetainfoError}[kind]
    with pytest.raises(expected) as info:
        bittern.Torrent.load(path)
    assert type(info.value) is expected
    assert isinstance(info.value, bittern.Error)
    assert isinstance(info.value, ValueError)
    with pytest.raises(expected):
        bittern.Torrent.from_bytes(path.read_bytes())


def test_torrent_vector_fields() -> None:
    t = bittern.Torrent.load(VECTORS / "torrents" / "announce-list.torrent")
    assert t.announce == "http://a/ann"
    assert t.announce_list == [["http://a/ann", "http://b/ann"], ["udp://c:80"]]
    assert t.trackers == ["http://a/ann", "http://b/ann", "udp://c:80"]
    assert t.comment == "hello"
    assert t.created_by == "vectors"
    assert t.creation_date == 1700000000
    assert t.url_list == ["http://seed/one"]
    assert not t.is_multi_file
    [f] = t.files
    assert (f.path, f.path_bytes, f.length, f.offset) == ("file.bin", (b"file.bin",), 100000, 0)


def test_multi_file_vector_paths() -> None:
    t = bittern.Torrent.load(VECTORS / "torrents" / "multi.torrent")
    assert t.is_multi_file
    assert [f.path for f in t.files] == ["folder/a.txt", "folder/sub/b.bin", "folder/z"]
    assert [f.path_bytes for f in t.files] == [
        (b"folder", b"a.txt"),
        (b"folder", b"sub", b"b.bin"),
        (b"folder", b"z"),
    ]
    assert [(f.length, f.offset) for f in t.files] == [(10, 0), (40000, 10), (0, 40010)]


def test_non_utf8_name_is_lossy() -> None:
    t = bittern.Torrent.load(VECTORS / "torrents" / "latin1-name.torrent")
    assert t.name_bytes == b"caf\xe9.txt"
    assert t.name == "caf\ufffd.txt"
    assert t.files[0].path == "caf\ufffd.txt"
    assert t.files[0].path_bytes == (b"caf\xe9.txt",)


def test_unsorted_vector_warns_and_hashes_raw_bytes() -> None:
    t = bittern.Torrent.load(VECTORS / "torrents" / "unsorted.torrent")
    assert len(t.warnings) == 2
    assert all(isinstance(w, str) and w for w in t.warnings)
    assert bittern.bdecode(t.info_bytes, strict=False)[b"name"] == b"u.bin"
    with pytest.raises(bittern.BencodeError):
        bittern.bdecode(t.info_bytes)  # not canonical


def test_unknown_keys_are_kept() -> None:
    path = VECTORS / "torrents" / "unknown-keys.torrent"
    t = bittern.Torrent.load(path)
    info = bittern.bdecode(t.info_bytes)
    assert info[b"x-custom"] == [1, b"two"]
    assert info[b"source"] == b"lab"
    edited = t.replace(comment="edited")
    assert bittern.bdecode(edited.to_bytes())[b"zz-extra"] == {b"k": 1}
    assert edited.info_hash == t.info_hash
