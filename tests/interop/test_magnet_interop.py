"""Magnet links between bittern and libtorrent (python3-libtorrent): each reads the other's."""
import subprocess
import textwrap

import bittern
from interop import SYSTEM_PYTHON, needs_libtorrent

# Reads a link with libtorrent, prints what it found; then prints libtorrent's own link of a
# torrent file.
LIBTORRENT = textwrap.dedent("""
    import sys
    import libtorrent as lt
    p = lt.parse_magnet_uri(sys.argv[1])
    print(str(p.info_hashes.v1))
    print(p.name)
    print(" ".join(p.trackers))
    print(" ".join(p.url_seeds))
    print(lt.make_magnet_uri(lt.torrent_info(sys.argv[2])))
""")


@needs_libtorrent
def test_libtorrent_reads_our_links_and_we_read_its(tmp_path):
    data = tmp_path / "a song & more.ogg"
    data.write_bytes(b"z" * 100_000)
    torrent = bittern.Torrent.create(
        data, announce=["http://a.example/announce", "udp://b.example:80"],
        url_list=["http://seed.example/a.ogg"])
    torrent.save(tmp_path / "t.torrent")
    out = subprocess.run([SYSTEM_PYTHON, "-c", LIBTORRENT, torrent.magnet(), str(tmp_path / "t.torrent")],
                         capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    assert out[0] == torrent.info_hash_hex
    assert out[1] == "a song & more.ogg"
    assert out[2].split() == ["http://a.example/announce", "udp://b.example:80"]
    assert out[3].split() == ["http://seed.example/a.ogg"]
    theirs = bittern.Magnet.parse(out[4])
    assert theirs.info_hash == torrent.info_hash
    assert theirs.name == "a song & more.ogg"
    assert [url for tier in theirs.trackers for url in tier] == ["http://a.example/announce", "udp://b.example:80"]
