"""bittern's peer protocol with real clients from Debian's packages, on loopback.

- libtorrent (python3-libtorrent, run by /usr/bin/python3) and aria2 download from our seeder.
- We download from a libtorrent seeder and from a transmission seeder (transmission-cli 3.00
  drops 127.0.0.0/8 peers from tracker replies, so it only seeds here: we connect to it).
- Through our tracker, and through opentracker (over HTTP and over UDP).
Every copy is compared byte for byte with the original.
"""
import os
import shutil
import signal
import subprocess
import textwrap

import pytest

import bittern
from interop import SYSTEM_PYTHON, free_port, needs_libtorrent, wait_for


LIBTORRENT = textwrap.dedent("""
    import sys, time
    import libtorrent as lt
    torrent, save_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
                    "announce_to_all_trackers": True})
    h = s.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save_path})
    deadline = time.time() + 120
    while time.time() < deadline:
        st = h.status()
        print(st.state, st.progress, st.num_peers, flush=True)
        if mode == "leech" and st.is_seeding:
            print("DONE", flush=True)
            sys.exit(0)
        time.sleep(0.2)
    sys.exit(1)
""")

SIZE = 3 << 20


@pytest.fixture
def swarm(tmp_path):
    """A tracker, a payload and its torrent."""
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    payload = os.urandom(SIZE)
    (seed_dir / "payload.bin").write_bytes(payload)
    with bittern.Tracker("127.0.0.1:0", interval=5, min_interval=1) as tracker:
        torrent = bittern.Torrent.create(seed_dir / "payload.bin", announce=tracker.url, piece_length=65536)
        path = tmp_path / "payload.torrent"
        torrent.save(path)
        yield tracker, torrent, path, seed_dir, payload


def our_session():
    return bittern.Session(listen="127.0.0.1:0", max_peers_per_ip=50)


@needs_libtorrent
def test_libtorrent_downloads_from_our_seeder(swarm, tmp_path):
    tracker, torrent, path, seed_dir, payload = swarm
    with our_session() as s:
        s.add(torrent, seed_dir, seed_only=True)
        out = tmp_path / "lt"
        out.mkdir()
        lt = subprocess.run([SYSTEM_PYTHON, "-c", LIBTORRENT, str(path), str(out), "leech"],
                            capture_output=True, text=True, timeout=150)
        assert "DONE" in lt.stdout, lt.stdout[-2000:] + lt.stderr
        assert (out / "payload.bin").read_bytes() == payload


@pytest.mark.skipif(shutil.which("aria2c") is None, reason="aria2c not installed (Debian package aria2)")
def test_aria2_downloads_from_our_seeder(swarm, tmp_path):
    tracker, torrent, path, seed_dir, payload = swarm
    with our_session() as s:
        s.add(torrent, seed_dir, seed_only=True)
        out = tmp_path / "aria"
        aria = subprocess.run(
            ["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
             "--enable-peer-exchange=false", "--seed-time=0", "--listen-port=%d" % free_port(),
             "--summary-interval=0", "--console-log-level=warn", "--dir", str(out), str(path)],
            capture_output=True, text=True, timeout=120)
        assert aria.returncode == 0, aria.stdout + aria.stderr
        assert (out / "payload.bin").read_bytes() == payload


@needs_libtorrent
def test_we_download_from_a_libtorrent_seeder(swarm, tmp_path):
    tracker, torrent, path, seed_dir, payload = swarm
    seeder = subprocess.Popen([SYSTEM_PYTHON, "-c", LIBTORRENT, str(path), str(seed_dir), "seed"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: tracker.stats().seeders == 1, 30, "libtorrent to announce as a seeder")
        with our_session() as s:
            h = s.add(torrent, tmp_path / "ours")
            assert h.wait(timeout=60), h.status()
        assert (tmp_path / "ours" / "payload.bin").read_bytes() == payload
    finally:
        seeder.send_signal(signal.SIGTERM)
        seeder.wait(timeout=10)


@pytest.mark.skipif(shutil.which("transmission-cli") is None,
                    reason="transmission-cli not installed (Debian package transmission-cli)")
def test_we_download_from_a_transmission_seeder(swarm, tmp_path):
    tracker, torrent, path, seed_dir, payload = swarm
    config = tmp_path / "transmission"
    port = free_port()
    seeder = subprocess.Popen(["transmission-cli", "-g", str(config), "-w", str(seed_dir), "-p", str(port),
                               "-et", "-M", "-D", "-U", "-v", str(path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: tracker.stats().seeders == 1, 60, "transmission to verify and announce as a seeder")
        with our_session() as s:
            h = s.add(torrent, tmp_path / "ours")
            assert h.wait(timeout=60), h.status()
        assert (tmp_path / "ours" / "payload.bin").read_bytes() == payload
    finally:
        seeder.send_signal(signal.SIGTERM)
        try:
            seeder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            seeder.kill()


@needs_libtorrent
@pytest.mark.parametrize("scheme", ["http", "udp"])
def test_through_opentracker_libtorrent_seeds_and_we_download(tmp_path, opentracker, scheme):
    """The torrent's only tracker is opentracker, over HTTP or over UDP (BEP 15)."""
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    payload = os.urandom(SIZE)
    (seed_dir / "payload.bin").write_bytes(payload)
    probe = bittern.Torrent.create(seed_dir / "payload.bin", announce="http://x/announce", piece_length=65536)
    url = opentracker([probe.info_hash])
    if scheme == "udp":
        url = url.replace("http://", "udp://")
    torrent = probe.replace(announce=url)
    path = tmp_path / "payload.torrent"
    torrent.save(path)
    seeder = subprocess.Popen([SYSTEM_PYTHON, "-c", LIBTORRENT, str(path), str(seed_dir), "seed"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: bittern.scrape(url, [torrent.info_hash], timeout=5).get(torrent.info_hash) is not None
                 and bittern.scrape(url, [torrent.info_hash], timeout=5)[torrent.info_hash].complete == 1,
                 30, "libtorrent to announce to opentracker")
        with our_session() as s:
            h = s.add(torrent, tmp_path / "ours")
            assert h.wait(timeout=60), h.status()
        assert (tmp_path / "ours" / "payload.bin").read_bytes() == payload
    finally:
        seeder.send_signal(signal.SIGTERM)
        seeder.wait(timeout=10)
