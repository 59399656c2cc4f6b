"""Magnet links (BEP 9): `bittern.Magnet`, `Torrent.magnet()` and `bittern magnet`."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

import bittern

HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
BASE32 = base64.b32encode(bytes.fromhex(HEX)).decode()


def run(script: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_every_field_is_read_and_each_tracker_is_a_tier() -> None:
    m = bittern.Magnet.parse(
        f"magnet:?xt=urn:btih:{HEX}&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Ft.example%3A80"
        "&tr=http://t2.example/a%3Fk%3D1&ws=https://w.example/f&x.pe=10.0.0.1:6881"
        "&x.pe=[2001:db8::1]:51413&so=0-3&unknown=1"
    )
    assert m.info_hash == bytes.fromhex(HEX) and m.info_hash_hex == HEX
    assert m.name == "Big Buck Bunny"
    assert m.trackers == [["udp://t.example:80"], ["http://t2.example/a?k=1"]]
    assert m.web_seeds == ["https://w.example/f"]
    assert m.peers == [("10.0.0.1", 6881), ("2001:db8::1", 51413)]


@pytest.mark.parametrize("hash_text", [HEX, HEX.upper(), BASE32, BASE32.lower()])
def test_hex_and_base32_name_the_same_torrent(hash_text: str) -> None:
    m = bittern.Magnet.parse(f"MAGNET:?xt=urn:btih:{hash_text}")
    assert m.info_hash_hex == HEX
    assert (m.name, m.trackers, m.peers, m.web_seeds) == (None, [], [], [])


def test_written_back_it_reads_the_same() -> None:
    m = bittern.Magnet.parse(
        f"magnet:?xt=urn:btih:{BASE32}&dn=a%26b%3Dc+%2B100%25+%C3%A9t%C3%A9"
        "&tr=http://t.example/announce%3Fpasskey%3Da%26b&x.pe=[::1]:6881"
    )
    assert m.name == "a&b=c +100% été"
    link = str(m)
    assert link.startswith(f"magnet:?xt=urn:btih:{HEX}&dn=a%26b%3Dc%20%2B100%25%20%C3%A9t%C3%A9&tr=")
    again = bittern.Magnet.parse(link)
    assert again == m and hash(again) == hash(m)
    assert repr(m) == f"Magnet.parse({link!r})"


@pytest.mark.parametrize(
    "link, message",
    [
        ("http://example.com/", "not a magnet link"),
        ("magnet:?dn=x", "names no BitTorrent info-hash"),
        ("magnet:?xt=urn:btmh:1220abcd", "names no BitTorrent info-hash"),
        ("magnet:?xt=urn:btih:abc", "neither 40 hex digits nor 32 base32 letters"),
        ("magnet:?xt=urn:btih:" + "g" * 40, "neither 40 hex digits"),
        (f"magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{'0' * 40}", "two different info-hashes"),
        (f"magnet:?xt=urn:btih:{HEX}&x.pe=tracker.example", "is not an address and port"),
        (f"magnet:?xt=urn:btih:{HEX}&dn={'x' * 70000}", "more than the 65536 accepted"),
    ],
)
def test_malformed_links_raise_value_error(link: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bittern.Magnet.parse(link)


def test_wrong_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        bittern.Magnet.parse(b"magnet:?")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bittern.Magnet()  # type: ignore[call-arg]


def test_a_torrent_prints_its_magnet_link(tmp_path: Path) -> None:
    data = tmp_path / "song & dance.ogg"
    data.write_bytes(b"x" * 50_000)
    torrent = bittern.Torrent.create(
        data,
        announce=[["http://a.example/announce", "http://b.example/announce"], "udp://c.example:80"],
        url_list=["http://seed.example/song.ogg"],
    )
    m = bittern.Magnet.parse(torrent.magnet())
    assert m.info_hash == torrent.info_hash
    assert m.name == "song & dance.ogg"
    assert m.trackers == [["http://a.example/announce"], ["http://b.example/announce"], ["udp://c.example:80"]]
    assert m.web_seeds == ["http://seed.example/song.ogg"]
    assert "&dn=song%20%26%20dance.ogg&" in torrent.magnet()


def test_cli_prints_a_torrents_link_and_reads_a_link(bittern_script: str, tmp_path: Path) -> None:
    data = tmp_path / "f.bin"
    data.write_bytes(b"y" * 40_000)
    torrent = bittern.Torrent.create(data, announce="http://t.example/announce")
    torrent.save(tmp_path / "f.torrent")
    out = run(bittern_script, "magnet", tmp_path / "f.torrent")
    assert out.returncode == 0, out.stderr
    assert out.stdout == torrent.magnet() + "\n"
    shown = run(bittern_script, "magnet", torrent.magnet() + "&x.pe=[::1]:7", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {
        "info_hash": torrent.info_hash_hex,
        "name": "f.bin",
        "trackers": [["http://t.example/announce"]],
        "peers": ["[::1]:7"],
        "web_seeds": [],
    }
    text = run(bittern_script, "magnet", torrent.magnet())
    assert f"info_hash: {torrent.info_hash_hex}\n" in text.stdout and "trackers:  http://t.example/announce" in text.stdout
    bad = run(bittern_script, "magnet", "magnet:?xt=urn:btih:zz")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        'bittern: error: the magnet link\'s info-hash "zz" is neither 40 hex digits nor 32 base32 letters'
    ]
    missing = run(bittern_script, "magnet", tmp_path / "nope.torrent")
    assert missing.returncode == 1 and "nope.torrent" in missing.stderr


def wait_until(done, timeout: float = 10) -> None:
    import time

    deadline = time.time() + timeout
    while not done():
        assert time.time() < deadline
        time.sleep(0.05)


def seeded(tmp_path: Path, files: int) -> tuple[bittern.Session, bittern.Torrent, Path]:
    """A session seeding `files` small files (no tracker), its torrent, and the data's folder."""
    root = tmp_path / "seed" / "album"
    root.mkdir(parents=True)
    for i in range(files):
        (root / f"track-{i:03}.ogg").write_bytes(bytes([i % 251]) * (3000 + 17 * i))
    torrent = bittern.Torrent.create(root, piece_length=16384)
    seeder = bittern.Session(listen="127.0.0.1:0")
    seeder.add(torrent, tmp_path / "seed", seed_only=True).wait_checked(timeout=30)
    return seeder, torrent, root


def test_session_add_fetches_a_magnet_links_metadata_then_downloads(tmp_path: Path) -> None:
    seeder, torrent, root = seeded(tmp_path, 400)
    host, port = seeder.listen_address
    link = f"{torrent.magnet()}&x.pe={host}:{port}"
    with seeder, bittern.Session(listen="127.0.0.2:0") as s:
        h = s.add(link, tmp_path / "out")
        assert h.torrent() is None
        assert h.name == "album"
        assert h.wait(timeout=60), h.status()
        kinds = [e.kind for e in s.events(timeout=0)]
        assert kinds.index("fetching_metadata") < kinds.index("metadata_received") < kinds.index("finished")
        fetched = h.torrent()
        assert fetched is not None and fetched.info_hash == torrent.info_hash
        assert fetched.info_bytes == torrent.info_bytes
        fetched.save(tmp_path / "fetched.torrent")
        assert bittern.Torrent.load(tmp_path / "fetched.torrent").info_hash == torrent.info_hash
    for f in root.iterdir():
        assert (tmp_path / "out" / "album" / f.name).read_bytes() == f.read_bytes()


def test_a_magnet_link_with_no_peer_waits_in_fetching_metadata(tmp_path: Path) -> None:
    hash_hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    with bittern.Session(listen="127.0.0.1:0") as s:
        h = s.add(bittern.Magnet.parse(f"magnet:?xt=urn:btih:{hash_hex}"), tmp_path)
        assert h.status().state == "fetching_metadata"
        assert h.name == hash_hex and h.torrent() is None
        assert not h.wait(timeout=0.5)
        h.pause()
        wait_until(lambda: h.status().state == "paused")
        h.resume()
        wait_until(lambda: h.status().state == "fetching_metadata")
        with pytest.raises(ValueError, match="already"):
            s.add(f"magnet:?xt=urn:btih:{hash_hex}", tmp_path)
    with bittern.Session(listen="127.0.0.1:0") as s, pytest.raises(ValueError, match="neither 40 hex"):
        s.add("magnet:?xt=urn:btih:00", tmp_path)
