"""bittern's tracker with real clients, and bittern's tracker client with a real tracker.

- libtorrent (Debian's python3-libtorrent, in /usr/bin/python3) seeds and aria2 (Debian's aria2)
  downloads, both announcing to our tracker over HTTP or over UDP: the download completing
  proves each got the other from it.
- Our client announces to and scrapes Debian's opentracker (built with a whitelist), over HTTP
  and over UDP.
"""
import os
import re
import shutil
import signal
import subprocess
import textwrap

import pytest

import bittern
from interop import SYSTEM_PYTHON, free_port, has_libtorrent, wait_for


LIBTORRENT_SEEDER = textwrap.dedent("""
    import sys, time
    import libtorrent as lt
    torrent, save_path = sys.argv[1], sys.argv[2]
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
                    "announce_to_all_trackers": True})
    h = s.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save_path})
    while True:
        st = h.status()
        print(st.state, st.num_peers, st.total_upload, flush=True)
        time.sleep(0.5)
""")


@pytest.mark.skipif(not has_libtorrent(), reason="libtorrent not importable by /usr/bin/python3 (python3-libtorrent)")
@pytest.mark.skipif(shutil.which("aria2c") is None, reason="aria2c not installed (Debian package aria2)")
@pytest.mark.parametrize("scheme", ["http", "udp"])
def test_libtorrent_seeds_to_aria2_through_our_tracker(tmp_path, scheme):
    """Over HTTP, and over UDP (BEP 15) on the same port."""
    seed_dir, leech_dir = tmp_path / "seed", tmp_path / "leech"
    seed_dir.mkdir()
    leech_dir.mkdir()
    payload = os.urandom(3 << 20)
    (seed_dir / "payload.bin").write_bytes(payload)
    with bittern.Tracker("127.0.0.1:0", interval=5, min_interval=1) as tracker:
        url = tracker.url if scheme == "http" else tracker.udp_url
        torrent = bittern.Torrent.create(seed_dir / "payload.bin", announce=url, piece_length=65536)
        torrent_path = tmp_path / "payload.torrent"
        torrent.save(torrent_path)
        seeder = subprocess.Popen([SYSTEM_PYTHON, "-c", LIBTORRENT_SEEDER, str(torrent_path), str(seed_dir)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: tracker.stats().seeders == 1, 30, "libtorrent to announce as a seeder")
            # aria2 speaks to UDP trackers through its DHT socket: on, with no node to ask.
            dht = ["--enable-dht=false"] if scheme == "http" else [
                "--enable-dht=true", "--dht-listen-port=%d" % free_port(),
                "--dht-file-path=%s" % (tmp_path / "dht.dat")]
            aria = subprocess.run(
                ["aria2c", *dht, "--enable-dht6=false", "--bt-enable-lpd=false",
                 "--enable-peer-exchange=false", "--seed-time=0", "--listen-port=%d" % free_port(),
                 "--bt-tracker-interval=5", "--summary-interval=0", "--console-log-level=warn",
                 "--dir", str(leech_dir), str(torrent_path)],
                capture_output=True, text=True, timeout=120)
            assert aria.returncode == 0, aria.stdout + aria.stderr
            assert (leech_dir / "payload.bin").read_bytes() == payload
            stats = tracker.stats()
            assert stats.announces >= 2
            assert stats.torrents == 1
            if scheme == "udp":
                assert stats.udp_announces >= 2 and stats.udp_connects >= 2, stats
        finally:
            seeder.send_signal(signal.SIGTERM)
            seeder.wait(timeout=10)


@pytest.mark.parametrize("scheme", ["http", "udp"])
def test_our_client_announces_and_scrapes_opentracker(opentracker, scheme):
    """Over HTTP and over UDP (BEP 15: opentracker listens for both on one port)."""
    known, unknown = os.urandom(20), os.urandom(20)
    url = opentracker([known])
    if scheme == "udp":
        url = url.replace("http://", "udp://")
    first = bittern.announce(url, known, port=40001, left=1000, event="started", timeout=5)
    assert first.interval > 0
    # opentracker may hand a peer back its own address; bittern's tracker never does.
    assert {(p.ip, p.port) for p in first.peers} <= {("127.0.0.1", 40001)}
    second = bittern.announce(url, known, port=40002, left=0, event="started", timeout=5)
    assert ("127.0.0.1", 40001) in {(p.ip, p.port) for p in second.peers}
    assert (second.complete, second.incomplete) == (1, 1)
    counts = bittern.scrape(url, [known], timeout=5)
    assert (counts[known].complete, counts[known].incomplete) == (1, 1)
    # Over UDP, opentracker answers a torrent off its list with a bare 8-byte announce header.
    refused = "not authorized|refused" if scheme == "http" else "announce response of 8 bytes"
    with pytest.raises(bittern.TrackerError, match=refused):
        bittern.announce(url, unknown, port=40003, left=1, timeout=5)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed (Debian package curl)")
def test_curl_saves_a_published_torrent_under_its_name(tmp_path):
    # Issue 9: `curl -OJ` saved album%2Etorrent (over-escaped link, and only `filename*=`).
    folder, downloads = tmp_path / "published", tmp_path / "downloads"
    folder.mkdir()
    downloads.mkdir()
    (tmp_path / "album").write_bytes(os.urandom(5000))
    bittern.Torrent.create(tmp_path / "album", creation_date=None).save(folder / "album.torrent")
    with bittern.Tracker("127.0.0.1:0", torrents_dir=folder) as tracker:
        base = tracker.url.rsplit("/", 1)[0]
        page = subprocess.run(["curl", "-sSf", base + "/"], capture_output=True, text=True, timeout=30)
        assert page.returncode == 0, page.stderr
        link = re.search(r'href="(/torrents/[^"]+)"', page.stdout).group(1)
        assert link == "/torrents/album.torrent"
        # An over-escaped link (what the page used to give) is still served under the plain name.
        for url in [base + link, base + "/torrents/album%2Etorrent"]:
            for old in downloads.iterdir():
                old.unlink()
            got = subprocess.run(["curl", "-sSfOJ", url], cwd=downloads, capture_output=True, text=True,
                                 timeout=30)
            assert got.returncode == 0, got.stderr
            assert [p.name for p in downloads.iterdir()] == ["album.torrent"], url
            assert (downloads / "album.torrent").read_bytes() == (folder / "album.torrent").read_bytes()
