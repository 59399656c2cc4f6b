"""The tracker through Python: the server spoken to in raw HTTP, and the client against it."""

from __future__ import annotations

import _thread
import gc
import html
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bittern

HASH_A = bytes(range(20))
HASH_B = bytes(range(100, 120))
# Bytes that must be escaped: '%', '&', '=', '+', ' ', NUL and high bytes.
HASH_ODD = b"%&=+ \x00\xff?#/" + bytes(range(0xF0, 0xFA))


def peer_id(n: int) -> bytes:
    return b"-TE0001-" + n.to_bytes(12, "big")


def quote(data: bytes) -> str:
    return urllib.parse.quote_from_bytes(data, safe="")


@pytest.fixture
def tracker() -> Iterator[bittern.Tracker]:
    with bittern.Tracker("127.0.0.1:0", interval=900, min_interval=30, threads=1) as t:
        yield t


def base(t: bittern.Tracker) -> str:
    """`http://127.0.0.1:<port>`."""
    return t.url.rsplit("/", 1)[0]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def raw(t: bittern.Tracker, path_and_query: str) -> Any:
    """GETs `path_and_query` and decodes the bencoded answer (strictly: our server's bencode is
    canonical)."""
    status, headers, body = fetch(base(t) + path_and_query)
    assert status == 200, body
    return bittern.bdecode(body)


def query(
    info_hash: bytes = HASH_A,
    pid: bytes = peer_id(1),
    port: int = 6881,
    left: int = 1000,
    **extra: object,
) -> str:
    q = (
        f"info_hash={quote(info_hash)}&peer_id={quote(pid)}&port={port}"
        f"&uploaded=0&downloaded=0&left={left}"
    )
    for key, value in extra.items():
        q += f"&{key}={value}"
    return q


def announce_raw(t: bittern.Tracker, **kw: Any) -> dict[bytes, Any]:
    answer = raw(t, "/announce?" + query(**kw))
    assert isinstance(answer, dict)
    assert b"failure reason" not in answer, answer
    return answer


def compact_ports(answer: dict[bytes, Any]) -> list[tuple[str, int]]:
    peers = answer[b"peers"]
    assert isinstance(peers, bytes) and len(peers) % 6 == 0
    return [
        (socket.inet_ntoa(peers[i : i + 4]), int.from_bytes(peers[i + 4 : i + 6], "big"))
        for i in range(0, len(peers), 6)
    ]


def closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


# ----------------------------------------------------------------------------------------------
# The server, in raw HTTP


def test_compact_and_dictionary_answers(tracker: bittern.Tracker) -> None:
    first = announce_raw(tracker, info_hash=HASH_ODD, pid=peer_id(1), port=7001, compact=1)
    assert first[b"interval"] == 900 and first[b"min interval"] == 30
    assert first[b"peers"] == b""
    assert (first[b"complete"], first[b"incomplete"]) == (0, 1)

    second = announce_raw(tracker, info_hash=HASH_ODD, pid=peer_id(2), port=7002, compact=1)
    assert second[b"peers"] == socket.inet_aton("127.0.0.1") + (7001).to_bytes(2, "big")
    assert compact_ports(second) == [("127.0.0.1", 7001)]

    listed = announce_raw(tracker, info_hash=HASH_ODD, pid=peer_id(3), port=7003, compact=0)
    peers = sorted(listed[b"peers"], key=lambda p: p[b"port"])
    assert peers == [
        {b"ip": b"127.0.0.1", b"peer id": peer_id(1), b"port": 7001},
        {b"ip": b"127.0.0.1", b"peer id": peer_id(2), b"port": 7002},
    ]
    anonymous = announce_raw(
        tracker, info_hash=HASH_ODD, pid=peer_id(3), port=7003, compact=0, no_peer_id=1
    )
    assert all(b"peer id" not in p for p in anonymous[b"peers"])
    assert len(anonymous[b"peers"]) == 2
    # The escaped binary hash arrived whole: the tracker knows it under its exact bytes.
    assert bittern.scrape(tracker.url, [HASH_ODD])[HASH_ODD].incomplete == 3


def test_peers_never_returned_to_themselves(tracker: bittern.Tracker) -> None:
    for _ in range(3):
        assert announce_raw(tracker, port=7001, compact=1)[b"peers"] == b""
    assert compact_ports(announce_raw(tracker, pid=peer_id(2), port=7002, compact=1)) == [
        ("127.0.0.1", 7001)
    ]
    assert compact_ports(announce_raw(tracker, port=7001, compact=1)) == [("127.0.0.1", 7002)]


def test_numwant_is_clamped() -> None:
    with bittern.Tracker("127.0.0.1:0", default_numwant=2, max_numwant=3) as t:
        for port in range(7001, 7007):
            announce_raw(t, pid=peer_id(port), port=port, compact=1)
        asker = {"pid": peer_id(1), "port": 8000, "compact": 1}
        assert len(compact_ports(announce_raw(t, **asker, numwant=100))) == 3
        assert len(compact_ports(announce_raw(t, **asker))) == 2
        assert len(compact_ports(announce_raw(t, **asker, numwant=1))) == 1
        assert len(compact_ports(announce_raw(t, **asker, numwant=0))) == 0
        assert announce_raw(t, **asker)[b"incomplete"] == 7


def test_stopped_removes_the_peer(tracker: bittern.Tracker) -> None:
    announce_raw(tracker, pid=peer_id(1), port=7001, compact=1)
    announce_raw(tracker, pid=peer_id(2), port=7002, compact=1)
    assert tracker.stats().peers == 2
    gone = announce_raw(tracker, pid=peer_id(1), port=7001, compact=1, event="stopped")
    assert gone[b"peers"] == b""
    assert tracker.stats().peers == 1
    after = announce_raw(tracker, pid=peer_id(2), port=7002, compact=1)
    assert after[b"peers"] == b"" and after[b"incomplete"] == 1


def test_completed_is_counted_once(tracker: bittern.Tracker) -> None:
    announce_raw(tracker, port=7001, left=1000, event="started")
    for _ in range(3):
        done = announce_raw(tracker, port=7001, left=0, event="completed")
    assert (done[b"complete"], done[b"incomplete"]) == (1, 0)
    [stats] = bittern.scrape(tracker.url, [HASH_A]).values()
    assert (stats.complete, stats.incomplete, stats.downloaded) == (1, 0, 1)
    assert tracker.stats().downloaded == 1 and tracker.stats().seeders == 1
    assert any("completed by 127.0.0.1" in line for line in tracker.take_log())


def test_scrape_several_hashes(tracker: bittern.Tracker) -> None:
    announce_raw(tracker, info_hash=HASH_A, port=7001)
    announce_raw(tracker, info_hash=HASH_A, port=7002)
    announce_raw(tracker, info_hash=HASH_B, port=7001, left=0, event="completed")
    unknown = b"\x55" * 20
    answer = raw(tracker, "/scrape?" + "&".join(f"info_hash={quote(h)}" for h in (HASH_A, HASH_B, unknown)))
    assert answer == {
        b"files": {
            HASH_A: {b"complete": 0, b"downloaded": 0, b"incomplete": 2},
            HASH_B: {b"complete": 1, b"downloaded": 1, b"incomplete": 0},
        }
    }
    got = bittern.scrape(tracker.url, [HASH_A, HASH_B, unknown])
    assert set(got) == {HASH_A, HASH_B}
    assert (got[HASH_B].complete, got[HASH_B].downloaded, got[HASH_B].incomplete) == (1, 1, 0)
    assert tracker.stats().scrapes == 2


GOOD = query()


@pytest.mark.parametrize(
    "bad,needle",
    [
        (query(info_hash=b"x" * 19), "info_hash"),
        (query(pid=b"y" * 19), "peer_id"),
        (GOOD.replace("&port=6881", ""), "missing 'port'"),
        (GOOD.replace("port=6881", "port=0"), "port"),
        (GOOD.replace("port=6881", "port=70000"), "port"),
        (GOOD.replace("left=1000", "left=lots"), "left"),
        (GOOD.replace("left=1000", "left=-1"), "left"),
        (GOOD.replace("&uploaded=0", ""), "missing 'uploaded'"),
        (GOOD + "&key=%zz", "percent-encoding"),
        (GOOD + "&port=6882", "more than once"),
        (GOOD + "&event=paused", "event"),
        (GOOD + "&numwant=many", "numwant"),
    ],
    ids=[
        "short-info-hash", "short-peer-id", "missing-port", "port-0", "port-70000",
        "left-not-a-number", "left-negative", "missing-uploaded", "bad-percent", "repeated-key",
        "unknown-event", "numwant-not-a-number",
    ],
)  # fmt: skip
def test_bad_announce_gets_a_failure_reason(tracker: bittern.Tracker, bad: str, needle: str) -> None:
    status, _, body = fetch(base(tracker) + "/announce?" + bad)
    assert status == 200
    answer = bittern.bdecode(body)
    assert list(answer) == [b"failure reason"]
    assert needle in answer[b"failure reason"].decode(), answer
    assert tracker.stats().refused == 1
    assert any(line.startswith("refused 127.0.0.1") for line in tracker.take_log())
    # And it goes on serving.
    assert announce_raw(tracker)[b"incomplete"] == 1
    assert tracker.stats().peers == 1


@pytest.mark.parametrize(
    "bad,needle",
    [("", "at least one info_hash"), (f"info_hash={quote(b'z' * 21)}", "info_hash"), ("info_hash=%g0", "percent-encoding")],
)
def test_bad_scrape_gets_a_failure_reason(tracker: bittern.Tracker, bad: str, needle: str) -> None:
    answer = raw(tracker, "/scrape?" + bad)
    assert needle in answer[b"failure reason"].decode()
    assert tracker.stats().refused == 1


def test_scrape_limit() -> None:
    with bittern.Tracker("127.0.0.1:0", max_scrape=2) as t:
        hashes = [bytes([i]) * 20 for i in range(3)]
        assert bittern.scrape(t.url, hashes[:2]) == {}
        answer = raw(t, "/scrape?" + "&".join(f"info_hash={quote(h)}" for h in hashes))
        assert b"more than 2" in answer[b"failure reason"]


def test_ip_parameter_ignored_unless_trusted() -> None:
    for trust, expected in [(False, "127.0.0.1"), (True, "10.1.2.3")]:
        with bittern.Tracker("127.0.0.1:0", trust_ip=trust) as t:
            announce_raw(t, pid=peer_id(1), port=7001, ip="10.1.2.3")
            seen = announce_raw(t, pid=peer_id(2), port=7002, compact=1)
            assert compact_ports(seen) == [(expected, 7001)]
    with bittern.Tracker("127.0.0.1:0", trust_ip=True) as t:
        answer = raw(t, "/announce?" + query(ip="not-an-address"))
        assert b"ip" in answer[b"failure reason"]


@pytest.fixture
def published(tmp_path: Path) -> Path:
    folder = tmp_path / "published"
    folder.mkdir()
    for name, size in [("song & dance <live>", 3000), ("plain", 70_000)]:
        source = tmp_path / name
        source.write_bytes(os.urandom(size))
        bittern.Torrent.create(source, creation_date=None).save(folder / f"{name}.torrent")
    (folder / "broken.torrent").write_bytes(b"not bencode")
    (folder / "notes.txt").write_text("not a torrent")
    return folder


def test_published_folder(published: Path) -> None:
    with bittern.Tracker("127.0.0.1:0", torrents_dir=published) as t:
        files = t.published
        assert [p.file_name for p in files] == ["plain.torrent", "song & dance <live>.torrent"]
        for p in files:
            torrent = bittern.Torrent.load(published / p.file_name)
            assert (p.info_hash, p.info_hash_hex) == (torrent.info_hash, torrent.info_hash_hex)
            assert (p.name, p.total_length) == (torrent.name, torrent.total_length)
        assert any("skipped broken.torrent" in line for line in t.take_log())

        song = next(p for p in files if p.name.startswith("song"))
        announce_raw(t, info_hash=song.info_hash, port=7001, left=0)
        announce_raw(t, info_hash=song.info_hash, port=7002, left=5)
        status, headers, body = fetch(base(t) + "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        page = body.decode()
        assert "<live>" not in page  # escaped
        links = re.findall(r'<a href="(/torrents/[^"]+)">([^<]*)</a>', page)
        assert sorted(html.unescape(name) for _, name in links) == sorted(p.name for p in files)
        for link, name in links:
            p = next(p for p in files if p.name == html.unescape(name))
            status, headers, body = fetch(base(t) + link)
            assert status == 200
            assert headers["content-type"] == "application/x-bittorrent"
            assert body == (published / p.file_name).read_bytes()
        # Live counts: seeders, leechers, downloads in the song's row.
        row = next(line for line in page.splitlines() if html.escape(song.name) in line)
        assert "<td>1</td><td>1</td><td>0</td>" in row
        assert fetch(base(t) + "/torrents/nothing.torrent")[0] == 404
        assert fetch(base(t) + "/torrents/notes.txt")[0] == 404


def plain_filename(disposition: str) -> str | None:
    """The `filename="..."` of a Content-Disposition, the one `curl -OJ` saves under (it ignores
    `filename*=`)."""
    match = re.search(r'(?:^|;)\s*filename="([^"]*)"', disposition)
    return match.group(1) if match else None


def utf8_filename(disposition: str) -> str | None:
    """The RFC 5987 `filename*=UTF-8''...` of a Content-Disposition, decoded."""
    match = re.search(r"(?:^|;)\s*filename\*=UTF-8''([^;\s]+)", disposition)
    return urllib.parse.unquote(match.group(1), errors="strict") if match else None


def test_index_links_escape_only_what_they_must(published: Path) -> None:
    # Issue 9: links came out as /torrents/plain%2Etorrent.
    with bittern.Tracker("127.0.0.1:0", torrents_dir=published) as t:
        page = fetch(base(t) + "/")[2].decode()
        links = re.findall(r'<a href="(/torrents/[^"]+)">', page)
        # Python's quote(safe="") keeps exactly RFC 3986's unreserved characters.
        expected = ["/torrents/" + urllib.parse.quote(p.file_name, safe="") for p in t.published]
        assert sorted(links) == sorted(expected) == [
            "/torrents/plain.torrent",
            "/torrents/song%20%26%20dance%20%3Clive%3E.torrent",
        ]
        plain = (published / "plain.torrent").read_bytes()
        for spelling in ["plain.torrent", "plain%2Etorrent", "%70lain.torrent"]:
            assert fetch(base(t) + "/torrents/" + spelling)[2] == plain, spelling
        for outside in ["..%2Fplain", "%2E%2E%2Fpublished%2Fplain.torrent", "notes.txt"]:
            assert fetch(base(t) + "/torrents/" + outside)[0] == 404, outside


def test_download_is_named_for_curl_oj_and_browsers(tmp_path: Path) -> None:
    # Issue 9: only filename*= was sent, so `curl -OJ` saved album%2Etorrent.
    folder = tmp_path / "published"
    folder.mkdir()
    names = ["album.torrent", "chanson d'été ☃.torrent", '100% "live".torrent']
    for i, name in enumerate(names):
        source = tmp_path / f"data{i}"
        source.write_bytes(os.urandom(1000))
        bittern.Torrent.create(source, creation_date=None).save(folder / name)
    with bittern.Tracker("127.0.0.1:0", torrents_dir=folder) as t:
        page = fetch(base(t) + "/")[2].decode()
        seen = {}
        for link in re.findall(r'<a href="(/torrents/[^"]+)">', page):
            status, headers, body = fetch(base(t) + link)
            assert status == 200
            disposition = headers["content-disposition"]
            assert disposition.startswith("attachment;"), disposition
            seen[utf8_filename(disposition)] = plain_filename(disposition)
            assert body == (folder / utf8_filename(disposition)).read_bytes()
        assert seen == {
            "album.torrent": "album.torrent",
            "chanson d'été ☃.torrent": "chanson d'_t_ _.torrent",
            '100% "live".torrent': "100_ _live_.torrent",
        }


def test_index_shows_the_full_announce_url(published: Path) -> None:
    # Issue 9: the page showed "/announce", which no client accepts.
    with bittern.Tracker("127.0.0.1:0", torrents_dir=published) as t:
        page = fetch(base(t) + "/")[2].decode()
        assert f"Announce URL: <code>{t.url}</code>" in page
        request = urllib.request.Request(base(t) + "/", headers={"Host": "tracker.example:6969"})
        with urllib.request.urlopen(request, timeout=10) as r:
            page = r.read().decode()
        assert "Announce URL: <code>http://tracker.example:6969/announce</code>" in page


def test_allow_only_refuses_others(published: Path) -> None:
    with bittern.Tracker("127.0.0.1:0", torrents_dir=published, allow_only=True) as t:
        known = t.published[0].info_hash
        assert announce_raw(t, info_hash=known)[b"incomplete"] == 1
        answer = raw(t, "/announce?" + query(info_hash=HASH_A))
        assert b"unregistered torrent" in answer[b"failure reason"]
        assert t.stats().refused == 1 and t.stats().torrents == 1


def test_stats_from_loopback(tracker: bittern.Tracker) -> None:
    announce_raw(tracker, port=7001)
    announce_raw(tracker, port=7002, left=0)
    status, headers, body = fetch(base(tracker) + "/stats")
    assert status == 200 and headers["content-type"] == "application/json"
    served = json.loads(body)
    stats = tracker.stats()
    assert list(served) == list(stats.as_dict())
    expected = {"torrents": 1, "peers": 2, "seeders": 1, "leechers": 1, "announces": 2}
    assert {k: served[k] for k in expected} == expected
    assert {k: getattr(stats, k) for k in expected} == expected
    assert served["connections"] >= 1
    assert stats == stats and isinstance(hash(repr(stats)), int)
    assert "announces=2" in repr(stats)


def test_other_paths_and_methods(tracker: bittern.Tracker) -> None:
    assert fetch(base(tracker) + "/nowhere")[0] == 404
    request = urllib.request.Request(tracker.url + "?" + GOOD, method="POST", data=b"")
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("POST was served")
    except urllib.error.HTTPError as e:
        assert e.code == 405
    assert "No torrents are published" in fetch(base(tracker) + "/")[2].decode()


def test_properties_and_log(tracker: bittern.Tracker) -> None:
    host, port = tracker.address
    assert (host, port) == ("127.0.0.1", tracker.port)
    assert tracker.url == f"http://127.0.0.1:{port}/announce"
    assert tracker.running and tracker.published == []
    assert repr(tracker) == f"Tracker(url='{tracker.url}', running=True)"
    assert tracker.take_log() == [f"listening on {tracker.url}", f"listening on {tracker.udp_url}"]
    assert tracker.take_log() == []
    announce_raw(tracker)
    assert tracker.take_log() == [f"new torrent {HASH_A.hex()} from 127.0.0.1"]


def test_context_manager_stops(tmp_path: Path) -> None:
    with bittern.Tracker("127.0.0.1:0") as t:
        port = t.port
        assert not closed(port)
        announce_raw(t)
    assert closed(port)
    assert not t.running
    t.stop()  # idempotent
    assert t.stats().torrents == 1  # still readable
    assert "running=False" in repr(t)


def test_stop_and_garbage_collection_close_the_port() -> None:
    t = bittern.Tracker("127.0.0.1:0")
    port = t.port
    t.stop()
    t.stop()
    assert closed(port)

    t = bittern.Tracker("127.0.0.1:0")
    port = t.port
    del t
    gc.collect()
    assert closed(port)


def test_exception_in_with_block_still_stops() -> None:
    with pytest.raises(KeyError):
        with bittern.Tracker("127.0.0.1:0") as t:
            port = t.port
            raise KeyError("boom")
    assert closed(port)


def test_bind_on_a_taken_port_is_an_oserror() -> None:
    with bittern.Tracker("127.0.0.1:0") as t:
        with pytest.raises(OSError) as info:
            bittern.Tracker(f"127.0.0.1:{t.port}")
        assert isinstance(info.value, bittern.StorageError)
        assert "cannot listen" in str(info.value)


def test_bad_tracker_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="host:port"):
        bittern.Tracker("nonsense")
    with pytest.raises(ValueError, match="allow-only needs a torrents folder"):
        bittern.Tracker("127.0.0.1:0", allow_only=True)
    with pytest.raises(ValueError, match="max connections"):
        bittern.Tracker("127.0.0.1:0", max_connections=0)
    # A min interval above the interval is capped by it, so `interval=5` alone just works.
    with bittern.Tracker("127.0.0.1:0", interval=5) as short:
        assert short.url
    with pytest.raises(ValueError, match="idle_timeout"):
        bittern.Tracker("127.0.0.1:0", idle_timeout=0)
    with pytest.raises(bittern.StorageError, match="missing"):
        bittern.Tracker("127.0.0.1:0", torrents_dir=tmp_path / "missing")
    with pytest.raises(TypeError):
        bittern.Tracker("127.0.0.1:0", 1800)  # type: ignore[call-arg]
    with pytest.raises(OverflowError):
        bittern.Tracker("127.0.0.1:0", interval=-1)


def test_bind_by_name() -> None:
    with bittern.Tracker("localhost:0") as t:
        assert t.address[0] in ("127.0.0.1", "::1")


# ----------------------------------------------------------------------------------------------
# The client


@pytest.fixture
def torrent_for(tmp_path: Path) -> Any:
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(50_000))

    def make(announce: Any) -> bittern.Torrent:
        return bittern.Torrent.create(source, announce=announce, creation_date=None)

    return make


def dead_url() -> str:
    """An announce URL on a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/announce"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """An announce URL whose server accepts connections (the kernel does) but never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/announce"


def test_torrent_announce_twice(tracker: bittern.Tracker, torrent_for: Any) -> None:
    t = torrent_for(tracker.url)
    first = t.announce_to_trackers(port=7001, event="started", peer_id=peer_id(1))
    assert first.url == tracker.url
    assert (first.interval, first.min_interval) == (900, 30)
    assert (first.complete, first.incomplete) == (0, 1)
    assert first.peers == [] and first.warning is None

    second = t.announce_to_trackers(port=7002, peer_id=peer_id(2))
    assert second.peers == [second.peers[0]]
    [peer] = second.peers
    assert (peer.ip, peer.port, peer.peer_id) == ("127.0.0.1", 7001, None)  # compact: no ids
    assert "port=7001" in repr(peer) and "1 peers" in repr(second)
    assert second.incomplete == 2
    # `left` defaulted to the whole torrent: both are leechers until one says otherwise.
    seeder = t.announce_to_trackers(port=7001, left=0, event="completed", peer_id=peer_id(1))
    assert (seeder.complete, seeder.incomplete) == (1, 1)
    assert [p.port for p in seeder.peers] == [7002]
    assert tracker.stats().downloaded == 1


def test_default_peer_id_is_made_once(tracker: bittern.Tracker) -> None:
    bittern.announce(tracker.url, HASH_A, left=1, port=7001)
    bittern.announce(tracker.url, HASH_A, left=1, port=7002)
    listed = announce_raw(tracker, pid=peer_id(9), port=7003, compact=0)
    ids = {p[b"peer id"] for p in listed[b"peers"]}
    assert len(ids) == 1
    [pid] = ids
    assert len(pid) == 20 and pid.startswith(b"-BI0100-")


def test_module_announce_options(tracker: bittern.Tracker) -> None:
    for port in range(7001, 7006):
        bittern.announce(tracker.url, HASH_A, left=1, port=port, peer_id=peer_id(port))
    answer = bittern.announce(
        tracker.url, HASH_A, left=0, port=8000, peer_id=peer_id(1), numwant=2,
        uploaded=10, downloaded=20, event="started", timeout=5,
    )  # fmt: skip
    assert len(answer.peers) == 2
    assert len({(p.ip, p.port) for p in answer.peers}) == 2
    everyone = bittern.announce(tracker.url, HASH_A, left=0, port=8000, numwant=200)
    assert set(answer.peers) < set(everyone.peers) and len(everyone.peers) == 5
    stopped = bittern.announce(tracker.url, HASH_A, left=0, port=8000, event="stopped")
    assert stopped.peers == []
    assert tracker.stats().peers == 5


def test_scrape_counts(tracker: bittern.Tracker, torrent_for: Any) -> None:
    t = torrent_for(tracker.url)
    assert t.scrape() is None  # the tracker does not know it yet
    t.announce_to_trackers(port=7001)
    t.announce_to_trackers(port=7002, left=0, event="completed")
    counts = t.scrape(timeout=5)
    assert counts is not None
    assert (counts.complete, counts.incomplete, counts.downloaded) == (1, 1, 1)
    assert counts == bittern.scrape(tracker.url, [t.info_hash])[t.info_hash]
    assert repr(counts) == "ScrapeResult(complete=1, downloaded=1, incomplete=1)"
    assert len({counts, bittern.scrape(tracker.url, [t.info_hash])[t.info_hash]}) == 1


def test_dead_tracker_fails_quickly(torrent_for: Any) -> None:
    url = dead_url()
    started = time.monotonic()
    with pytest.raises(bittern.TrackerError) as info:
        bittern.announce(url, HASH_A, left=1, timeout=2)
    assert time.monotonic() - started < 2
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, bittern.Error)
    assert "cannot reach tracker" in str(info.value)
    with pytest.raises(ConnectionError):
        torrent_for(url).announce_to_trackers(timeout=2)
    with pytest.raises(bittern.TrackerError):
        torrent_for(url).scrape(timeout=2)
    with pytest.raises(bittern.TrackerError):
        bittern.scrape(url, [HASH_A], timeout=2)


def test_silent_tracker_times_out(silent_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(bittern.TrackerError, match="in time"):
        bittern.announce(silent_url, HASH_A, left=1, timeout=0.5)
    assert 0.4 < time.monotonic() - started < 3
    # A timeout is a kind of its own: a TimeoutError as well as a TrackerError.
    with pytest.raises(TimeoutError) as e:
        bittern.scrape(silent_url, [HASH_A], timeout=0.3)
    assert isinstance(e.value, bittern.TrackerTimeoutError)
    assert isinstance(e.value, bittern.TimeoutError) and isinstance(e.value, bittern.TrackerError)


def test_ctrl_c_interrupts_a_waiting_announce(silent_url: str) -> None:
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            bittern.announce(silent_url, HASH_A, left=1, timeout=30)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2


def test_announce_from_another_thread(tracker: bittern.Tracker) -> None:
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda p=p: results.append(bittern.announce(tracker.url, HASH_A, left=1, port=p)))
        for p in range(7001, 7005)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert len(results) == 4
    assert tracker.stats().peers == 4


def test_fail_over_to_the_next_tier(tracker: bittern.Tracker, torrent_for: Any) -> None:
    t = torrent_for([dead_url(), tracker.url])
    assert len(t.announce_list) == 2
    answer = t.announce_to_trackers(port=7001, timeout=5)
    assert answer.url == tracker.url
    counts = t.scrape(timeout=5)
    assert counts is not None and counts.incomplete == 1
    # The module function takes tiers too.
    answer = bittern.announce([[dead_url()], [tracker.url]], t.info_hash, left=1, port=7002)
    assert answer.url == tracker.url and [p.port for p in answer.peers] == [7001]


def test_tracker_refusal_is_a_tracker_error(published: Path) -> None:
    with bittern.Tracker("127.0.0.1:0", torrents_dir=published, allow_only=True) as t:
        with pytest.raises(bittern.TrackerError, match="unregistered torrent"):
            bittern.announce(t.url, HASH_A, left=1)
        with pytest.raises(bittern.TrackerError, match="at least one"):
            bittern.scrape(t.url, [])


def test_no_tracker(torrent_for: Any) -> None:
    with pytest.raises(bittern.TrackerError, match="no tracker"):
        torrent_for(None).announce_to_trackers()
    with pytest.raises(bittern.TrackerError, match="no tracker"):
        torrent_for(None).scrape()


def test_bad_client_arguments(tracker: bittern.Tracker) -> None:
    url = tracker.url
    with pytest.raises(ValueError, match="info_hash"):
        bittern.announce(url, b"short", left=1)
    with pytest.raises(ValueError, match="peer_id"):
        bittern.announce(url, HASH_A, left=1, peer_id=b"short")
    with pytest.raises(ValueError, match="event"):
        bittern.announce(url, HASH_A, left=1, event="paused")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        bittern.announce(url, HASH_A, left=1, port=0)
    with pytest.raises(OverflowError):
        bittern.announce(url, HASH_A, left=1, port=70000)
    with pytest.raises(ValueError, match="timeout"):
        bittern.announce(url, HASH_A, left=1, timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        bittern.announce(url, HASH_A, left=1, timeout=float("nan"))
    with pytest.raises(TypeError):
        bittern.announce(url, HASH_A)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        bittern.scrape(url, HASH_A)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="20 bytes"):
        bittern.scrape(url, [b"short"])
    with pytest.raises(bittern.TrackerError, match="scheme"):
        bittern.announce("wss://127.0.0.1:1/announce", HASH_A, left=1)
    with pytest.raises(bittern.TrackerError, match="scrape URL"):
        bittern.scrape(base(tracker) + "/tracker", [HASH_A])
    assert tracker.stats().announces == 0


def eventually(check: Any, seconds: float = 3.0) -> bool:
    """Whether `check()` holds within `seconds` (the folder is rescanned once a second)."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_the_folder_is_watched_while_the_tracker_runs(published: Path, tmp_path: Path) -> None:
    # Issue 9: the folder was read once at start.
    source = tmp_path / "later.bin"
    source.write_bytes(os.urandom(5000))
    later = bittern.Torrent.create(source, creation_date=None)
    with bittern.Tracker("127.0.0.1:0", torrents_dir=published, allow_only=True) as t:
        with pytest.raises(bittern.TrackerError, match="unregistered torrent"):
            bittern.announce(t.url, later.info_hash, left=1)
        later.save(published / "later.torrent")
        assert eventually(lambda: "later.torrent" in [p.file_name for p in t.published])
        status, _, body = fetch(base(t) + "/torrents/later.torrent")
        assert (status, body) == (200, bytes(later))
        assert "/torrents/later.torrent" in fetch(base(t) + "/")[2].decode()
        bittern.announce(t.url, later.info_hash, left=1)

        # Changed: re-read.
        source.write_bytes(os.urandom(90_000))
        changed = bittern.Torrent.create(source, creation_date=None)
        changed.save(published / "later.torrent")
        assert eventually(lambda: fetch(base(t) + "/torrents/later.torrent")[2] == bytes(changed))

        # Removed: gone.
        (published / "later.torrent").unlink()
        assert eventually(lambda: fetch(base(t) + "/torrents/later.torrent")[0] == 404)
        assert "later.torrent" not in [p.file_name for p in t.published]


def test_publish_from_code(tmp_path: Path, torrent_for: Any) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    torrent = torrent_for(None)
    with bittern.Tracker("127.0.0.1:0", torrents_dir=folder, allow_only=True) as t:
        with pytest.raises(bittern.TrackerError, match="unregistered torrent"):
            bittern.announce(t.url, torrent.info_hash, left=1)
        p = t.publish(torrent)
        assert isinstance(p, bittern.PublishedTorrent)
        assert (p.file_name, p.name) == ("data.bin.torrent", "data.bin")
        assert p.info_hash == torrent.info_hash
        assert t.published == [p]
        bittern.announce(t.url, torrent.info_hash, left=1)
        assert fetch(base(t) + "/torrents/data.bin.torrent")[2] == bytes(torrent)
        assert "/torrents/data.bin.torrent" in fetch(base(t) + "/")[2].decode()
        assert t.publish(torrent) == p
        assert any("published data.bin.torrent" in line for line in t.take_log())

        assert t.unpublish(torrent.info_hash) is True
        assert t.unpublish(torrent.info_hash) is False
        assert t.published == []
        assert fetch(base(t) + "/torrents/data.bin.torrent")[0] == 404
        with pytest.raises(ValueError, match="20 bytes"):
            t.unpublish(b"short")
        with pytest.raises(TypeError):
            t.publish("data.bin.torrent")  # type: ignore[arg-type]


def test_udp_connect_on_the_http_port(tracker: bittern.Tracker) -> None:
    assert tracker.udp_url == f"udp://127.0.0.1:{tracker.port}/announce"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        # BEP 15 connect: protocol id, action 0, transaction id.
        s.sendto((0x41727101980).to_bytes(8, "big") + (0).to_bytes(4, "big") + b"\x12\x34\x56\x78", ("127.0.0.1", tracker.port))
        answer, _ = s.recvfrom(2048)
    assert len(answer) == 16
    assert answer[:8] == (0).to_bytes(4, "big") + b"\x12\x34\x56\x78"
    assert tracker.stats().udp_connects == 1
    with bittern.Tracker("127.0.0.1:0", udp=False) as off:
        assert off.udp_url is None
    with bittern.Tracker("127.0.0.1:0", udp_bind="127.0.0.1:0") as moved:
        assert moved.udp_url is not None and moved.udp_url.startswith("udp://127.0.0.1:")
    for bad in [{"udp_bind": "nowhere"}, {"udp": False, "udp_bind": "127.0.0.1:0"}]:
        with pytest.raises(ValueError):
            bittern.Tracker("127.0.0.1:0", **bad)  # type: ignore[arg-type]
