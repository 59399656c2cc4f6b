"""Magnet links with real clients: libtorrent (python3-libtorrent) and bittern read each other's
links; each downloads from the other given only a link (metadata exchange, BEP 9 and 10), as
aria2 does from us; libtorrent learns peers from our peer exchange (BEP 11)."""
import shutil
import signal
import subprocess
import textwrap

import pytest

import bittern
from interop import SYSTEM_PYTHON, free_port, needs_libtorrent, wait_for

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


# A libtorrent peer for a magnet-link swarm. `seed TORRENT DIR` seeds and prints its port once
# its data is checked (`seed-empty`: holds the torrent with no data, once checked);
# `fetch LINK DIR` downloads from the link alone; `idle TORRENT DIR HOST:PORT` holds the torrent
# with no data, connected to one peer. Each prints its peers (address, source flags, client).
LT_PEER = textwrap.dedent("""
    import sys, time
    import libtorrent as lt
    mode, what, folder = sys.argv[1], sys.argv[2], sys.argv[3]
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False, "allow_multiple_connections_per_ip": True})
    if mode == "fetch":
        p = lt.parse_magnet_uri(what)
        p.save_path = folder
    else:
        p = lt.add_torrent_params()
        p.ti, p.save_path = lt.torrent_info(what), folder
    h = s.add_torrent(p)
    while mode == "seed" and not h.status().is_seeding:  # checked, and so answering peers
        time.sleep(0.05)
    while mode == "seed-empty" and h.status().state in (lt.torrent_status.checking_files,
                                                        lt.torrent_status.checking_resume_data):
        time.sleep(0.05)
    print("PORT", s.listen_port(), flush=True)
    if mode == "idle":
        host, port = sys.argv[4].rsplit(":", 1)
        h.connect_peer((host, int(port)))
    deadline = time.time() + 120
    while time.time() < deadline:
        for pi in h.get_peer_info():
            print("PEER", pi.ip[0], pi.ip[1], pi.source, pi.flags, pi.client, flush=True)
        if mode == "fetch" and h.status().is_seeding:
            print("DONE", flush=True)
            sys.exit(0)
        time.sleep(0.2)
""")

SIZE = 2 << 20


@pytest.fixture
def album(tmp_path):
    """A tracker, two files of data and their torrent."""
    import os

    root = tmp_path / "seed" / "album"
    root.mkdir(parents=True)
    for name in ("a.bin", "b.bin"):
        (root / name).write_bytes(os.urandom(SIZE // 2))
    with bittern.Tracker("127.0.0.1:0", interval=5, min_interval=1) as tracker:
        torrent = bittern.Torrent.create(root, announce=tracker.url, piece_length=65536)
        torrent.save(tmp_path / "album.torrent")
        yield tracker, torrent, root


def start_lt(*args):
    """A libtorrent peer (see LT_PEER) and its listen port."""
    proc = subprocess.Popen([SYSTEM_PYTHON, "-c", LT_PEER, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline().split()
    assert first[:1] == ["PORT"], first
    return proc, int(first[1])


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=10)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def same_files(a, b):
    for f in a.iterdir():
        assert (b / f.name).read_bytes() == f.read_bytes(), f.name


@needs_libtorrent
@pytest.mark.parametrize("found_by", ["tracker", "x.pe"])
def test_we_download_from_a_libtorrent_seeder_given_only_a_magnet_link(album, tmp_path, found_by):
    tracker, torrent, root = album
    seeder, port = start_lt("seed", tmp_path / "album.torrent", root.parent)
    try:
        if found_by == "tracker":
            wait_for(lambda: tracker.stats().seeders == 1, 30, "libtorrent to announce as a seeder")
            link = torrent.magnet()
        else:
            link = "magnet:?xt=urn:btih:%s&x.pe=127.0.0.1:%d" % (torrent.info_hash_hex, port)
        with bittern.Session(listen="127.0.0.2:0") as s:
            h = s.add(link, tmp_path / "ours")
            assert h.wait(timeout=90), h.status()
            assert h.torrent().info_bytes == torrent.info_bytes
    finally:
        stop(seeder)
    same_files(root, tmp_path / "ours" / "album")


@needs_libtorrent
def test_libtorrent_downloads_from_our_seeder_given_only_a_magnet_link(album, tmp_path):
    tracker, torrent, root = album
    with bittern.Session(listen="127.0.0.1:0", max_peers_per_ip=50) as s:
        s.add(torrent, root.parent, seed_only=True).wait_checked(timeout=30)
        host, port = s.listen_address
        link = "magnet:?xt=urn:btih:%s&dn=album&x.pe=%s:%d" % (torrent.info_hash_hex, host, port)
        lt, _ = start_lt("fetch", link, tmp_path / "lt")
        out = lt.communicate(timeout=150)[0]
    assert "DONE" in out, out[-3000:]
    same_files(root, tmp_path / "lt" / "album")
    # libtorrent took the metadata from us alone (the link names no tracker), so the extension
    # protocol and ut_metadata were spoken. (Its peer flags cannot tell: on loopback the whole
    # download may end between two of its status polls.)


@pytest.mark.skipif(shutil.which("aria2c") is None, reason="aria2c not installed (Debian package aria2)")
def test_aria2_downloads_from_our_seeder_given_only_a_magnet_link(album, tmp_path):
    tracker, torrent, root = album
    # aria2 announces `left=0` until it has the metadata, and trackers give a seed no seeds:
    # our seeder dials it instead, as a peer it learnt of would.
    aria_port = free_port()
    with bittern.Session(listen="127.0.0.1:0", max_peers_per_ip=50) as s:
        seeding = s.add(torrent, root.parent, seed_only=True)
        seeding.wait_checked(timeout=30)
        aria = subprocess.Popen(
            ["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
             "--seed-time=0", "--listen-port=%d" % aria_port, "--summary-interval=0",
             "--console-log-level=warn", "--dir", str(tmp_path / "aria"), torrent.magnet()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: s.add_peers(seeding, [("127.0.0.1", aria_port)]) or aria.poll() is not None,
                     120, "aria2 to finish")
            out = aria.communicate(timeout=10)[0]
        finally:
            if aria.poll() is None:
                aria.kill()
    assert aria.returncode == 0, out
    same_files(root, tmp_path / "aria" / "album")


@needs_libtorrent
def test_libtorrent_learns_a_peer_from_our_pex(album, tmp_path):
    """A bittern hub with two peers, libtorrent and another bittern; none has data, so none
    finishes. The hub's PEX tells libtorrent of the other, which it then dials."""
    tracker, torrent, root = album
    bare = bittern.Torrent.create(root, piece_length=65536)  # no tracker: PEX is the only way
    with bittern.Session(listen="127.0.0.1:0") as hub, bittern.Session(listen="127.0.0.3:0") as other:
        hub_handle = hub.add(bare, tmp_path / "hub")
        other_handle = other.add(bare, tmp_path / "other")
        hub_handle.wait_checked(timeout=30)
        other_handle.wait_checked(timeout=30)
        hub_host, hub_port = hub.listen_address
        bare.save(tmp_path / "bare.torrent")
        lt, _ = start_lt("idle", tmp_path / "bare.torrent", tmp_path / "lt", "%s:%d" % (hub_host, hub_port))
        try:
            other.add_peers(other_handle, [(hub_host, hub_port)])
            other_port = other.listen_address[1]
            wait_for(lambda: other_handle.status().peers >= 2, 60, "libtorrent to dial the peer our PEX named")
        finally:
            out = stop(lt)
    learnt = [line.split() for line in out.splitlines()
              if line.startswith("PEER") and line.split()[2] == str(other_port)]
    assert learnt, out[-2000:]
    assert int(learnt[-1][3]) & 0x4, "libtorrent's source flag says pex"


@needs_libtorrent
def test_we_learn_a_peer_from_libtorrents_pex(album, tmp_path):
    """A libtorrent hub with two bittern peers that dialled it; none has data, so none finishes.
    The hub's PEX tells each of the other (our handshake gave it our listen port)."""
    tracker, torrent, root = album
    bare = bittern.Torrent.create(root, piece_length=65536)  # no tracker: PEX is the only way
    bare.save(tmp_path / "bare.torrent")
    hub, hub_port = start_lt("seed-empty", tmp_path / "bare.torrent", tmp_path / "hub")
    try:
        with bittern.Session(listen="127.0.0.2:0") as a, bittern.Session(listen="127.0.0.3:0") as b:
            ha, hb = a.add(bare, tmp_path / "a"), b.add(bare, tmp_path / "b")
            for s, h in ((a, ha), (b, hb)):
                h.wait_checked(timeout=30)
                s.add_peers(h, [("127.0.0.1", hub_port)])
            wait_for(lambda: ha.status().peers >= 2 and hb.status().peers >= 2, 90,
                     "each bittern peer to dial the other, named by libtorrent's PEX")
    finally:
        stop(hub)


# libtorrent downloading from our seeder with its peer log on: what it received from us.
LT_PEER_LOG = textwrap.dedent("""
    import sys, time
    import libtorrent as lt
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False,
                    "alert_mask": lt.alert.category_t.peer_log_notification})
    h = s.add_torrent({"ti": lt.torrent_info(sys.argv[1]), "save_path": sys.argv[2]})
    h.connect_peer(("127.0.0.1", int(sys.argv[3])))
    deadline = time.time() + 60
    while time.time() < deadline and not h.status().is_seeding:
        s.wait_for_alert(200)
        for a in s.pop_alerts():
            if isinstance(a, lt.peer_log_alert):
                print(a.message(), flush=True)
    print("DONE" if h.status().is_seeding else "TIMEOUT", flush=True)
""")


@needs_libtorrent
def test_the_fast_extension_is_negotiated_with_libtorrent(album, tmp_path):
    """Both handshakes offer BEP 6, so our seeder says `have all` in place of a bitfield, which
    libtorrent takes only from a peer that negotiated the fast extension (it disconnects others),
    and grants allowed-fast pieces."""
    tracker, torrent, root = album
    with bittern.Session(listen="127.0.0.1:0") as s:
        s.add(torrent, root.parent, seed_only=True).wait_checked(timeout=30)
        lt = subprocess.run([SYSTEM_PYTHON, "-c", LT_PEER_LOG, str(tmp_path / "album.torrent"),
                             str(tmp_path / "lt"), str(s.listen_address[1])],
                            capture_output=True, text=True, timeout=90)
    log = lt.stdout
    assert "DONE" in log, log[-3000:]
    assert "<== HAVE_ALL" in log, log[-3000:]
    assert "<== ALLOWED_FAST" in log, log[-3000:]
    assert "<== EXTENDED_HANDSHAKE" in log or "<== EXTENSION_HANDSHAKE" in log or "EXTENSION" in log, log[-3000:]
