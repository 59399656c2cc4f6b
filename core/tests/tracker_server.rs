//! The tracker server over real sockets, spoken to in raw HTTP/1.1 (not through our client).

use bittern_core::bencode::{decode, DecodeOptions};
use bittern_core::metainfo::{create, CreateOptions, InfoHash};
use bittern_core::tracker::server::{ServerConfig, TrackerServer};
use bittern_core::tracker::{
    wire, AnnounceRequest, AnnounceResponse, Event, PeerId, ScrapeResponse,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn start(config: ServerConfig) -> TrackerServer {
    TrackerServer::start(ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        threads: 1,
        ..config
    })
    .unwrap()
}

struct Reply {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

/// Reads one response (Content-Length framed) from a connection.
fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "connection closed mid-head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    Reply {
        status,
        headers: head,
        body,
    }
}

fn get_on(stream: &mut TcpStream, target: &str) -> Reply {
    write!(stream, "GET {target} HTTP/1.1\r\nHost: tracker\r\n\r\n").unwrap();
    read_reply(stream)
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    get_on(&mut stream, target)
}

fn announce(addr: SocketAddr, req: &AnnounceRequest) -> Result<AnnounceResponse, String> {
    let reply = get(addr, &format!("/announce?{}", req.to_query()));
    assert_eq!(reply.status, 200);
    AnnounceResponse::decode(&reply.body).map_err(|e| e.to_string())
}

fn request(hash: u8, port: u16, left: u64) -> AnnounceRequest {
    let mut id = [b'x'; 20];
    id[..2].copy_from_slice(&port.to_be_bytes());
    AnnounceRequest::new(InfoHash([hash; 20]), PeerId(id), port, left)
}

#[test]
fn announces_in_both_forms_and_never_to_oneself() {
    let server = start(ServerConfig {
        interval: 900,
        min_interval: 30,
        ..Default::default()
    });
    let addr = server.local_addr();
    let mut first = request(1, 7001, 100);
    first.event = Some(Event::Started);
    let r = announce(addr, &first).unwrap();
    assert!(r.peers.is_empty());
    assert_eq!((r.interval, r.min_interval), (900, Some(30)));

    let second = request(1, 7002, 0);
    let r = announce(addr, &second).unwrap();
    assert_eq!(r.peers.len(), 1);
    assert_eq!(r.peers[0].addr, "127.0.0.1:7001".parse().unwrap());
    assert_eq!((r.complete, r.incomplete), (Some(1), Some(1)));

    // The dictionary form carries peer ids; its bytes are canonical bencode.
    let dict = AnnounceRequest {
        compact: false,
        ..request(1, 7003, 5)
    };
    let reply = get(addr, &format!("/announce?{}", dict.to_query()));
    decode(reply.body.as_slice(), DecodeOptions::strict()).unwrap();
    let r = AnnounceResponse::decode(&reply.body).unwrap();
    assert_eq!(r.peers.len(), 2);
    assert!(r
        .peers
        .iter()
        .all(|p| p.peer_id.is_some() && p.addr.port() != 7003));
    let no_ids = AnnounceRequest {
        compact: false,
        no_peer_id: true,
        ..request(1, 7003, 5)
    };
    assert!(announce(addr, &no_ids)
        .unwrap()
        .peers
        .iter()
        .all(|p| p.peer_id.is_none()));
    server.stop();
}

#[test]
fn stopped_completed_numwant_and_scrape() {
    let server = start(ServerConfig {
        max_numwant: 3,
        ..Default::default()
    });
    let addr = server.local_addr();
    for port in 1..=6 {
        announce(addr, &request(2, port, 10)).unwrap();
    }
    let many = AnnounceRequest {
        numwant: Some(100),
        ..request(2, 1, 10)
    };
    assert_eq!(announce(addr, &many).unwrap().peers.len(), 3);
    let few = AnnounceRequest {
        numwant: Some(2),
        ..request(2, 1, 10)
    };
    assert_eq!(announce(addr, &few).unwrap().peers.len(), 2);

    for _ in 0..2 {
        let done = AnnounceRequest {
            event: Some(Event::Completed),
            ..request(2, 1, 0)
        };
        announce(addr, &done).unwrap();
    }
    let stop = AnnounceRequest {
        event: Some(Event::Stopped),
        ..request(2, 2, 10)
    };
    announce(addr, &stop).unwrap();

    let query = wire::scrape_query(&[InfoHash([2; 20]), InfoHash([9; 20])]);
    let scrape = ScrapeResponse::decode(&get(addr, &format!("/scrape?{query}")).body).unwrap();
    assert_eq!(scrape.files.len(), 1, "unknown torrents are left out");
    let (hash, stats) = scrape.files[0];
    assert_eq!(hash, InfoHash([2; 20]));
    assert_eq!(
        (stats.complete, stats.incomplete, stats.downloaded),
        (1, 4, 1)
    );
    server.stop();
}

#[test]
fn every_bad_request_gets_a_failure_reason_and_the_server_goes_on() {
    let server = start(ServerConfig {
        max_scrape: 2,
        ..Default::default()
    });
    let addr = server.local_addr();
    let good = request(3, 6881, 1).to_query();
    let cases = [
        (good.replace("info_hash=", "info_hash=%ff&x="), "info_hash"),
        (good.replace("&peer_id=", "&peer_id=short&y="), "peer_id"),
        (good.replace("&port=6881", ""), "port"),
        (good.replace("port=6881", "port=99999"), "port"),
        (good.replace("port=6881", "port=0"), "port"),
        (good.replace("left=1", "left=lots"), "left"),
        (
            good.replace("info_hash=%03", "info_hash=%zz"),
            "percent-encoding",
        ),
        (format!("{good}&left=5"), "more than once"),
        (format!("{good}&event=paused"), "event"),
        (String::new(), "missing"),
    ];
    for (query, needle) in cases {
        let reply = get(addr, &format!("/announce?{query}"));
        assert_eq!(reply.status, 200);
        let reason = AnnounceResponse::decode(&reply.body)
            .unwrap_err()
            .to_string();
        assert!(reason.contains(needle), "{query}: {reason}");
    }
    let many = wire::scrape_query(&[InfoHash([1; 20]), InfoHash([2; 20]), InfoHash([3; 20])]);
    assert!(ScrapeResponse::decode(&get(addr, &format!("/scrape?{many}")).body).is_err());
    assert!(ScrapeResponse::decode(&get(addr, "/scrape").body).is_err());
    assert_eq!(get(addr, "/nothing-here").status, 404);
    announce(addr, &request(3, 6881, 1)).unwrap();
    assert!(server.tracker().stats().swarms.refused >= 12);
    let log = server.tracker().take_log();
    assert!(
        log.iter().any(|l| l.contains("refused 127.0.0.1")),
        "{log:?}"
    );
    server.stop();
}

#[test]
fn the_ip_parameter_is_ignored_unless_trusted() {
    let server = start(ServerConfig::default());
    let spoof = AnnounceRequest {
        ip: Some("203.0.113.9".into()),
        ..request(4, 1, 1)
    };
    announce(server.local_addr(), &spoof).unwrap();
    let r = announce(server.local_addr(), &request(4, 2, 1)).unwrap();
    assert_eq!(r.peers[0].addr, "127.0.0.1:1".parse().unwrap());
    server.stop();

    let trusting = start(ServerConfig {
        trust_ip_param: true,
        ..Default::default()
    });
    announce(trusting.local_addr(), &spoof).unwrap();
    let r = announce(trusting.local_addr(), &request(4, 2, 1)).unwrap();
    assert_eq!(r.peers[0].addr, "203.0.113.9:1".parse().unwrap());
    let v6 = AnnounceRequest {
        ip: Some("2001:db8::1".into()),
        ..request(4, 3, 1)
    };
    announce(trusting.local_addr(), &v6).unwrap();
    let reply = get(
        trusting.local_addr(),
        &format!("/announce?{}", request(4, 4, 1).to_query()),
    );
    let root = decode(reply.body.as_slice(), DecodeOptions::strict()).unwrap();
    assert_eq!(
        root.root()
            .get(b"peers6")
            .and_then(|p| p.as_bytes())
            .map(<[u8]>::len),
        Some(18),
        "BEP 7 peers6"
    );
}

#[test]
fn keep_alive_serves_many_requests_and_idle_connections_are_closed() {
    let server = start(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..Default::default()
    });
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for port in 1..=50 {
        let reply = get_on(
            &mut stream,
            &format!("/announce?{}", request(5, port, 1).to_query()),
        );
        assert_eq!(reply.status, 200);
    }
    assert_eq!(server.tracker().stats().connections, 1);
    std::thread::sleep(Duration::from_millis(800));
    let mut rest = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut rest).unwrap_or(0),
        0,
        "the idle connection was closed"
    );

    // A request head larger than the limit is refused, and the server still serves others.
    let mut big = TcpStream::connect(server.local_addr()).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let huge = "a".repeat(20_000);
    let _ = write!(big, "GET /announce?{huge} HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(get(server.local_addr(), "/").status, 200);
}

#[test]
fn past_the_connection_limit_the_oldest_connection_makes_room() {
    let server = start(ServerConfig {
        max_connections: 2,
        ..Default::default()
    });
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(server.local_addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // A third is answered; the oldest idle one is closed for it, the other stays open.
    assert_eq!(get(server.local_addr(), "/").status, 200);
    for (i, stream) in held.iter_mut().enumerate() {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut byte = [0u8; 1];
        let read = stream.read(&mut byte);
        if i == 0 {
            assert!(matches!(read, Ok(0)), "the oldest is closed: {read:?}");
        } else {
            assert!(read.is_err(), "the newer one stays open: {read:?}");
        }
    }
}

#[test]
fn publishes_a_folder_of_torrents_and_can_allow_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("<i>song&.ogg"), vec![7u8; 100_000]).unwrap();
    let torrents = dir.path().join("torrents");
    std::fs::create_dir(&torrents).unwrap();
    let t = create(data.join("<i>song&.ogg"), &CreateOptions::default(), |_| {
        true
    })
    .unwrap();
    t.save(torrents.join("song & dance.torrent")).unwrap();
    std::fs::write(torrents.join("broken.torrent"), b"not a torrent").unwrap();

    let server = start(ServerConfig {
        torrents_dir: Some(torrents.clone()),
        allow_only: true,
        ..Default::default()
    });
    let addr = server.local_addr();
    let mut peer = request(0, 9, 0);
    peer.info_hash = t.info_hash();
    announce(addr, &peer).unwrap();
    let stranger = announce(addr, &request(6, 9, 0)).unwrap_err();
    assert!(stranger.contains("unregistered torrent"), "{stranger}");

    let index = get(addr, "/");
    assert!(index.headers.contains("text/html"));
    let page = String::from_utf8(index.body).unwrap();
    assert!(
        page.contains("&lt;i&gt;song&amp;.ogg"),
        "names are escaped: {page}"
    );
    assert!(page.contains("<td>1</td><td>0</td>"), "live counts: {page}");
    let href = page
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let file = get(addr, &href);
    assert_eq!(file.status, 200);
    assert!(
        file.headers.contains("application/x-bittorrent"),
        "{}",
        file.headers
    );
    assert_eq!(
        file.body,
        std::fs::read(torrents.join("song & dance.torrent")).unwrap()
    );
    let log = server.tracker().take_log();
    assert!(
        log.iter().any(|l| l.contains("skipped broken.torrent")),
        "{log:?}"
    );
    assert_eq!(get(addr, "/torrents/missing.torrent").status, 404);

    let stats = String::from_utf8(get(addr, "/stats").body).unwrap();
    assert!(
        stats.contains("\"torrents\":1") && stats.contains("\"seeders\":1"),
        "{stats}"
    );
}

#[test]
fn min_interval_never_exceeds_the_interval() {
    let server = start(ServerConfig {
        interval: 5,
        ..Default::default()
    });
    let r = announce(server.local_addr(), &request(8, 1, 1)).unwrap();
    assert_eq!((r.interval, r.min_interval), (5, Some(5)));
}

/// The value of header `name` (case-insensitive) in a reply's head.
fn header(reply: &Reply, name: &str) -> Option<String> {
    reply.headers.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// A tracker publishing a folder with one distinct torrent saved under each of `names`;
/// returns the folder's parent, each torrent's bytes (in the order of `names`) and the tracker.
fn publishing(names: &[&str]) -> (tempfile::TempDir, Vec<Vec<u8>>, TrackerServer) {
    let dir = tempfile::tempdir().unwrap();
    let torrents = dir.path().join("torrents");
    std::fs::create_dir(&torrents).unwrap();
    let mut bytes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let data = dir.path().join(format!("data{i}"));
        std::fs::write(&data, vec![i as u8; 1000 + i]).unwrap();
        let t = create(&data, &CreateOptions::default(), |_| true).unwrap();
        t.save(torrents.join(name)).unwrap();
        bytes.push(std::fs::read(torrents.join(name)).unwrap());
    }
    let server = start(ServerConfig {
        torrents_dir: Some(torrents),
        ..Default::default()
    });
    (dir, bytes, server)
}

fn hrefs(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

#[test]
fn links_escape_only_what_a_path_segment_must() {
    // Issue 9: links came out as `/torrents/bittern%2Ddemo%2Ebin%2Etorrent`.
    let (_dir, bytes, server) = publishing(&[
        "bittern-demo.bin.torrent",
        "a_b~c.torrent",
        "100% #1 ?.torrent",
        "chanson d'été ☃.torrent",
    ]);
    let addr = server.local_addr();
    let page = String::from_utf8(get(addr, "/").body).unwrap();
    let mut links = hrefs(&page);
    links.sort();
    let mut expected = vec![
        "/torrents/bittern-demo.bin.torrent",
        "/torrents/a_b~c.torrent",
        "/torrents/100%25%20%231%20%3F.torrent",
        "/torrents/chanson%20d%27%C3%A9t%C3%A9%20%E2%98%83.torrent",
    ];
    expected.sort();
    assert_eq!(links, expected, "{page}");
    // Each link, and an over-escaped spelling of it, gives its own file.
    for (link, body) in [
        ("/torrents/bittern-demo.bin.torrent", &bytes[0]),
        ("/torrents/bittern%2Ddemo%2Ebin%2Etorrent", &bytes[0]),
        ("/torrents/a_b~c.torrent", &bytes[1]),
        ("/torrents/a%5Fb%7Ec.torrent", &bytes[1]),
        ("/torrents/100%25%20%231%20%3F.torrent", &bytes[2]),
        (
            "/torrents/chanson%20d%27%C3%A9t%C3%A9%20%E2%98%83.torrent",
            &bytes[3],
        ),
        (
            "/torrents/chanson%20d'%C3%A9t%C3%A9%20%E2%98%83.torrent",
            &bytes[3],
        ),
    ] {
        let reply = get(addr, link);
        assert_eq!(reply.status, 200, "{link}");
        assert_eq!(&reply.body, body, "{link}");
    }
    // Nothing outside the published names is reachable.
    for link in [
        "/torrents/..%2Ftorrents%2Fa_b~c.torrent",
        "/torrents/%2E%2E%2Fdata0",
        "/torrents/../data0",
        "/torrents/%2Fetc%2Fpasswd",
        "/torrents/a_b~c.torrent%00",
        "/torrents/%FF.torrent",
        "/torrents/",
    ] {
        assert_eq!(get(addr, link).status, 404, "{link}");
    }
}

#[test]
fn downloads_name_the_file_plainly_and_in_utf8() {
    // Issue 9: only `filename*=` was sent, which `curl -OJ` ignores.
    let (_dir, _, server) = publishing(&[
        "album.torrent",
        "chanson d'été ☃.torrent",
        "say \"hi\" \\ 100%.torrent",
    ]);
    let addr = server.local_addr();
    let disposition = |link: &str| {
        let reply = get(addr, link);
        assert_eq!(reply.status, 200, "{link}");
        header(&reply, "content-disposition").unwrap_or_default()
    };
    assert_eq!(
        disposition("/torrents/album.torrent"),
        "attachment; filename=\"album.torrent\"; filename*=UTF-8''album.torrent"
    );
    assert_eq!(
        disposition("/torrents/chanson%20d%27%C3%A9t%C3%A9%20%E2%98%83.torrent"),
        "attachment; filename=\"chanson d'_t_ _.torrent\"; \
         filename*=UTF-8''chanson%20d%27%C3%A9t%C3%A9%20%E2%98%83.torrent"
    );
    assert_eq!(
        disposition("/torrents/say%20%22hi%22%20%5C%20100%25.torrent"),
        "attachment; filename=\"say _hi_ _ 100_.torrent\"; \
         filename*=UTF-8''say%20%22hi%22%20%5C%20100%25.torrent"
    );
}

#[test]
fn the_index_page_shows_the_full_announce_url() {
    // Issue 9: the page said `/announce`, which nobody can paste into a client.
    let (_dir, _, server) = publishing(&["album.torrent"]);
    let addr = server.local_addr();
    let announce_url = |request: &str| {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let page = String::from_utf8(read_reply(&mut stream).body).unwrap();
        page.split("Announce URL: <code>")
            .nth(1)
            .and_then(|s| s.split("</code>").next())
            .unwrap_or_default()
            .to_owned()
    };
    // As the request reached the server: its Host header...
    assert_eq!(
        announce_url("GET / HTTP/1.1\r\nHost: tracker.example:6969\r\n\r\n"),
        "http://tracker.example:6969/announce"
    );
    assert_eq!(
        announce_url("GET / HTTP/1.1\r\nHost: [::1]:7000\r\n\r\n"),
        "http://[::1]:7000/announce"
    );
    assert_eq!(
        announce_url("GET http://proxied.example/ HTTP/1.1\r\nHost: proxied.example\r\n\r\n"),
        "http://proxied.example/announce"
    );
    // ...or, without one (or with one that is no host), the address it was accepted on.
    let bound = format!("http://{addr}/announce");
    assert_eq!(announce_url("GET / HTTP/1.0\r\n\r\n"), bound);
    assert_eq!(
        announce_url("GET / HTTP/1.1\r\nHost: <b>x</b>\r\n\r\n"),
        bound
    );
    assert_eq!(
        announce_url("GET / HTTP/1.1\r\nHost: user@evil.example\r\n\r\n"),
        bound
    );
}

/// Polls `check` until it holds or 3 s pass (the folder is rescanned at most once a second).
fn within_rescan(mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A torrent of `len` bytes of `fill`, made in `dir`.
fn torrent_of(dir: &std::path::Path, fill: u8, len: usize) -> bittern_core::metainfo::Metainfo {
    let data = dir.join(format!("data-{fill}-{len}"));
    std::fs::write(&data, vec![fill; len]).unwrap();
    create(&data, &CreateOptions::default(), |_| true).unwrap()
}

#[test]
fn the_folder_is_rescanned_while_the_tracker_runs() {
    // Issue 9: the folder was read once at start.
    let (dir, _bytes, server) = publishing(&["first.torrent"]);
    let addr = server.local_addr();
    let torrents = dir.path().join("torrents");

    // Added: listed and served.
    let added = torrent_of(dir.path(), 1, 5000);
    added.save(torrents.join("added later.torrent")).unwrap();
    assert!(
        within_rescan(|| String::from_utf8(get(addr, "/").body)
            .unwrap()
            .contains("/torrents/added%20later.torrent")),
        "a file dropped into the folder is listed"
    );
    let file = get(addr, "/torrents/added%20later.torrent");
    assert_eq!(file.status, 200);
    assert_eq!(file.body, added.to_bytes());
    assert!(server
        .tracker()
        .published()
        .iter()
        .any(|p| p.file_name == "added later.torrent" && p.info_hash == added.info_hash()));

    // Changed: re-read (another torrent, of another size, under the same name).
    let changed = torrent_of(dir.path(), 2, 70_000);
    changed.save(torrents.join("added later.torrent")).unwrap();
    assert!(
        within_rescan(|| get(addr, "/torrents/added%20later.torrent").body == changed.to_bytes()),
        "a changed file is re-read"
    );

    // Removed: gone from the index, 404.
    std::fs::remove_file(torrents.join("first.torrent")).unwrap();
    assert!(
        within_rescan(|| get(addr, "/torrents/first.torrent").status == 404),
        "a removed file is no longer served"
    );
    let page = String::from_utf8(get(addr, "/").body).unwrap();
    assert!(!page.contains("first.torrent"), "{page}");
    assert!(page.contains("added%20later.torrent"), "{page}");

    // A broken file dropped in is skipped and logged once, not at every rescan.
    std::fs::write(torrents.join("broken.torrent"), b"d4:spam").unwrap();
    assert!(within_rescan(|| {
        get(addr, "/");
        server
            .tracker()
            .take_log()
            .iter()
            .any(|l| l.contains("skipped broken.torrent"))
    }));
    std::thread::sleep(Duration::from_millis(1200));
    get(addr, "/");
    let log = server.tracker().take_log();
    assert!(!log.iter().any(|l| l.contains("broken")), "{log:?}");
}

/// An allow-only tracker of an empty folder, a torrent it does not know (of `fill` bytes) and
/// an announce for it.
fn allow_only_with_a_stranger(
    fill: u8,
) -> (
    tempfile::TempDir,
    TrackerServer,
    bittern_core::metainfo::Metainfo,
    AnnounceRequest,
) {
    let dir = tempfile::tempdir().unwrap();
    let torrents = dir.path().join("torrents");
    std::fs::create_dir(&torrents).unwrap();
    let server = start(ServerConfig {
        torrents_dir: Some(torrents),
        allow_only: true,
        ..Default::default()
    });
    let t = torrent_of(dir.path(), fill, 1000 * usize::from(fill));
    let mut peer = request(0, 9, 0);
    peer.info_hash = t.info_hash();
    (dir, server, t, peer)
}

#[test]
fn allow_only_tracks_a_torrent_dropped_into_the_folder() {
    let (dir, server, t, peer) = allow_only_with_a_stranger(3);
    let (addr, torrents) = (server.local_addr(), dir.path().join("torrents"));
    let refused = announce(addr, &peer).unwrap_err();
    assert!(refused.contains("unregistered torrent"), "{refused}");
    t.save(torrents.join("new.torrent")).unwrap();
    assert!(
        within_rescan(|| announce(addr, &peer).is_ok()),
        "a torrent dropped into the folder is tracked"
    );
    std::fs::remove_file(torrents.join("new.torrent")).unwrap();
    assert!(
        within_rescan(|| announce(addr, &peer).is_err()),
        "a torrent removed from the folder is no longer tracked"
    );
}

#[test]
fn torrents_published_from_code_are_listed_served_and_tracked() {
    let (_dir, server, t, peer) = allow_only_with_a_stranger(4);
    let addr = server.local_addr();
    assert!(announce(addr, &peer).is_err());

    let published = server.tracker().publish(&t).unwrap();
    assert_eq!(published.info_hash, t.info_hash());
    assert_eq!(published.file_name, format!("{}.torrent", t.info().name()));
    // At once: no rescan needed.
    announce(addr, &peer).unwrap();
    let page = String::from_utf8(get(addr, "/").body).unwrap();
    let link = format!("/torrents/{}", published.file_name);
    assert!(page.contains(&link), "{page}");
    assert_eq!(get(addr, &link).body, t.to_bytes());
    // Publishing again changes nothing.
    assert_eq!(
        server.tracker().publish(&t).unwrap().file_name,
        published.file_name
    );
    assert_eq!(server.tracker().published().len(), 1);

    assert!(server.tracker().unpublish(&t.info_hash()));
    assert!(!server.tracker().unpublish(&t.info_hash()));
    assert_eq!(get(addr, &link).status, 404);
    assert!(announce(addr, &peer).is_err());
}

#[test]
fn names_published_from_code_have_no_path_in_them() {
    let server = start(ServerConfig::default());
    // Metainfo refuses separators and control characters in a name; leading dots (a hidden
    // file, or `..` itself) are left to the tracker.
    let name = "..pass wd";
    let raw = format!(
        "d4:infod6:lengthi3e4:name{}:{}12:piece lengthi16384e6:pieces20:{}ee",
        name.len(),
        name,
        "a".repeat(20)
    );
    let t = bittern_core::metainfo::Metainfo::from_bytes(raw.as_bytes()).unwrap();
    let p = server.tracker().publish(&t).unwrap();
    assert_eq!(p.file_name, "pass wd.torrent");
    let link = format!("/torrents/{}", percent_encoding_segment(&p.file_name));
    assert_eq!(get(server.local_addr(), &link).status, 200, "{link}");
}

fn percent_encoding_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
