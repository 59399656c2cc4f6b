//! Loopback swarms started from magnet links (BEP 9's metadata exchange over BEP 10), a peer
//! that serves false metadata, and peer exchange (BEP 11) between downloaders that share no
//! tracker.

use bittern_core::extension::ut_metadata::MetadataMessage;
use bittern_core::extension::{ExtendedHandshake, HANDSHAKE_ID};
use bittern_core::metainfo::{create, CreateOptions, Metainfo};
use bittern_core::peer::{accept_handshake, Handshake, Message, SharedLayout};
use bittern_core::session::{
    AddOptions, Event, EventKind, Session, SessionConfig, State, TorrentHandle,
};
use bittern_core::tracker::server::{ServerConfig, TrackerServer};
use bittern_core::tracker::PeerId;
use bittern_core::Magnet;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::broadcast::Receiver;

const LONG: Duration = Duration::from_secs(60);

/// A session on its own loopback address (127.0.0.0/8 is all ours), so bans by IP hit it alone.
fn session_on(ip: &str) -> Session {
    let config = SessionConfig {
        listen: Some(format!("{ip}:0").parse().unwrap()),
        max_peers_per_ip: 100,
        ..Default::default()
    };
    Session::new(config).unwrap()
}

/// `files` files of a few KiB each under `dir/content`, and their torrent (32 KiB pieces).
fn make_torrent(dir: &Path, files: usize, trackers: Vec<Vec<String>>, private: bool) -> Metainfo {
    let root = dir.join("content");
    let mut rng = fastrand::Rng::with_seed(files as u64);
    for i in 0..files {
        let path = root.join(format!("dir{}/file-{i:05}.bin", i % 7));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let len = 1000 + rng.usize(..20_000);
        std::fs::write(&path, (0..len).map(|_| rng.u8(..)).collect::<Vec<_>>()).unwrap();
    }
    let options = CreateOptions {
        trackers,
        piece_length: Some(32768),
        creation_date: None,
        private,
        ..Default::default()
    };
    create(&root, &options, |_| true).unwrap()
}

fn seed(session: &Session, torrent: &Metainfo, dir: &Path) -> TorrentHandle {
    let options = AddOptions {
        save_dir: dir.into(),
        seed_only: true,
        ..Default::default()
    };
    let handle = session.add(torrent.clone(), options).unwrap();
    assert!(handle.wait_checked(LONG));
    handle
}

fn into(dir: &Path) -> AddOptions {
    AddOptions {
        save_dir: dir.into(),
        ..Default::default()
    }
}

/// The link for `torrent` that names only `peers`: no tracker.
fn magnet_with_peers(torrent: &Metainfo, peers: &[SocketAddr]) -> Magnet {
    Magnet {
        trackers: Vec::new(),
        peers: peers.to_vec(),
        ..torrent.magnet()
    }
}

fn same_files(a: &Path, b: &Path) {
    let mut files = 0;
    for entry in walkdir(a) {
        let relative = entry.strip_prefix(a).unwrap();
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(b.join(relative)).unwrap(),
            "{relative:?}"
        );
        files += 1;
    }
    assert!(files > 0);
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The events of `events` until `wanted` says stop (or `LONG` passed: then `None`).
fn until(
    events: &mut Receiver<Event>,
    wanted: impl Fn(&EventKind) -> bool,
) -> Option<Vec<EventKind>> {
    let deadline = std::time::Instant::now() + LONG;
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        match events.try_recv() {
            Ok(e) => {
                let stop = wanted(&e.kind);
                seen.push(e.kind);
                if stop {
                    return Some(seen);
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

/// Fetches `torrent` by its magnet link alone and checks the result: the metadata is the
/// torrent's, byte for byte, and so are the files.
fn fetch_and_download(
    downloader: &Session,
    magnet: Magnet,
    torrent: &Metainfo,
    content: &Path,
    dir: &Path,
) -> TorrentHandle {
    let mut events = downloader.events();
    let handle = downloader.add_magnet(magnet, into(dir)).unwrap();
    assert!(handle.metainfo().is_none());
    let seen = until(&mut events, |k| matches!(k, EventKind::Finished)).expect("finished");
    let at = |wanted: fn(&EventKind) -> bool| seen.iter().position(wanted);
    let fetching = at(|k| matches!(k, EventKind::FetchingMetadata)).expect("fetching event");
    let received = at(|k| matches!(k, EventKind::MetadataReceived)).expect("received event");
    assert!(fetching < received);
    let meta = handle.metainfo().expect("the metadata is kept");
    assert_eq!(meta.info_hash(), torrent.info_hash());
    assert_eq!(meta.info_bytes(), torrent.info_bytes());
    assert!(handle.wait_finished(LONG), "{:?}", handle.status());
    same_files(content, &dir.join("content"));
    handle
}

#[test]
fn a_magnet_link_with_a_peer_address_downloads_from_one_seeder() {
    let dir = tempfile::tempdir().unwrap();
    let torrent = make_torrent(dir.path(), 20, Vec::new(), false);
    let seeder = session_on("127.0.0.1");
    seed(&seeder, &torrent, dir.path());
    let downloader = session_on("127.0.0.2");
    let out = dir.path().join("out");
    let magnet = magnet_with_peers(&torrent, &[seeder.listen_addr()]);
    assert!(torrent.info_bytes().len() < 16 * 1024, "one metadata piece");
    fetch_and_download(
        &downloader,
        magnet,
        &torrent,
        &dir.path().join("content"),
        &out,
    );
}

#[test]
fn metadata_of_many_pieces_comes_from_several_seeders_found_by_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = TrackerServer::start(ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        interval: 2,
        min_interval: 1,
        threads: 1,
        ..Default::default()
    })
    .unwrap();
    // 1200 files: some 60 KiB of metadata, four pieces of it.
    let torrent = make_torrent(dir.path(), 1200, vec![vec![tracker.url()]], false);
    assert!(torrent.info_bytes().len() > 3 * 16 * 1024);
    let seeders: Vec<Session> = (1..=3)
        .map(|i| session_on(&format!("127.0.0.{i}")))
        .collect();
    for s in &seeders {
        seed(s, &torrent, dir.path());
    }
    let downloader = session_on("127.0.0.9");
    let magnet = Magnet {
        peers: Vec::new(),
        ..torrent.magnet()
    };
    assert_eq!(magnet.trackers, vec![vec![tracker.url()]]);
    let out = dir.path().join("out");
    let handle = fetch_and_download(
        &downloader,
        magnet,
        &torrent,
        &dir.path().join("content"),
        &out,
    );
    // The torrent it made keeps the link's tracker, and saves as a .torrent that loads.
    let saved = out.join("fetched.torrent");
    handle.metainfo().unwrap().save(&saved).unwrap();
    let loaded = Metainfo::load(&saved).unwrap();
    assert_eq!(loaded.info_hash(), torrent.info_hash());
    assert_eq!(loaded.trackers(), vec![tracker.url().as_str()]);
}

/// A peer that speaks the extension protocol and answers every metadata request with bytes
/// that are not the torrent's, claiming the right size.
async fn lying_peer(listener: tokio::net::TcpListener, torrent: Metainfo) {
    let info_hash = torrent.info_hash();
    let size = torrent.info_bytes().len() as u64;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let ours = Handshake::new(info_hash, PeerId(*b"-XX0000-liarliarliar"));
        let lookup =
            |h: &bittern_core::InfoHash| (*h == info_hash).then(|| (ours, SharedLayout::default()));
        let Ok((_, _, mut conn)) =
            accept_handshake(stream, lookup, ours.peer_id, Duration::from_secs(5)).await
        else {
            continue;
        };
        let hello = ExtendedHandshake {
            metadata_size: Some(size),
            ..ExtendedHandshake::local()
        };
        let _ = conn
            .send(Message::Extended {
                id: HANDSHAKE_ID,
                payload: hello.encode().into(),
            })
            .await;
        let mut their_id = None;
        while let Some(Ok(message)) = conn.next().await {
            let Message::Extended { id, payload } = message else {
                continue;
            };
            if id == HANDSHAKE_ID {
                their_id = ExtendedHandshake::decode(&payload).unwrap().metadata_id;
                continue;
            }
            let (Some(their_id), Ok(Some(MetadataMessage::Request { piece }))) =
                (their_id, MetadataMessage::decode(payload))
            else {
                continue;
            };
            let len = bittern_core::extension::ut_metadata::piece_len(size, piece);
            let data = MetadataMessage::Data {
                piece,
                total_size: size,
                data: vec![b'x'; len as usize].into(),
            };
            let _ = conn
                .send(Message::Extended {
                    id: their_id,
                    payload: data.encode().into(),
                })
                .await;
        }
    }
}

#[test]
fn a_peer_serving_false_metadata_is_banned_and_the_metadata_comes_from_another() {
    let dir = tempfile::tempdir().unwrap();
    let torrent = make_torrent(dir.path(), 300, Vec::new(), false);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.5:0"))
        .unwrap();
    let liar = listener.local_addr().unwrap();
    runtime.spawn(lying_peer(listener, torrent.clone()));
    let seeder = session_on("127.0.0.1");
    seed(&seeder, &torrent, dir.path());
    let downloader = session_on("127.0.0.2");
    let mut events = downloader.events();
    let out = dir.path().join("out");
    // The liar alone first: every piece of the metadata is its, so the failed hash proves it.
    let handle = downloader
        .add_magnet(magnet_with_peers(&torrent, &[liar]), into(&out))
        .unwrap();
    let seen = until(&mut events, |k| matches!(k, EventKind::PeerBanned(_))).expect("banned");
    assert!(matches!(seen.last(), Some(EventKind::PeerBanned(ip)) if *ip == liar.ip()));
    assert_eq!(handle.status().state, State::FetchingMetadata);
    assert!(handle.metainfo().is_none());
    downloader
        .add_peers(&handle, vec![seeder.listen_addr(), liar])
        .unwrap();
    assert!(handle.wait_finished(LONG), "{:?}", handle.status());
    assert_eq!(
        handle.metainfo().unwrap().info_bytes(),
        torrent.info_bytes()
    );
    same_files(&dir.path().join("content"), &out.join("content"));
}

/// Two downloaders that know only a third (no tracker): with PEX they learn of each other from
/// it; for a private torrent they must not. None of them has any data, so none finishes and
/// drops the others meanwhile.
fn peers_learnt_through_a_hub(private: bool) -> (u32, u32) {
    let dir = tempfile::tempdir().unwrap();
    let torrent = make_torrent(dir.path(), 5, Vec::new(), private);
    let join = |s: &Session, name: &str| {
        let handle = s
            .add(torrent.clone(), into(&dir.path().join(name)))
            .unwrap();
        assert!(handle.wait_checked(LONG));
        handle
    };
    let hub = session_on("127.0.0.1");
    join(&hub, "hub");
    let (a, b) = (session_on("127.0.0.2"), session_on("127.0.0.3"));
    let (ha, hb) = (join(&a, "a"), join(&b, "b"));
    for (s, h) in [(&a, &ha), (&b, &hb)] {
        s.add_peers(h, vec![hub.listen_addr()]).unwrap();
    }
    // PEX goes out as soon as a peer's extended handshake is in.
    let both = |s: &bittern_core::session::Status| s.peers >= 2;
    let learnt = ha.wait_for(Duration::from_secs(8), both);
    let peers = (ha.status().peers, hb.status().peers);
    if !private {
        assert!(learnt, "{peers:?}");
    }
    peers
}

#[test]
fn peer_exchange_spreads_peers_between_downloaders_that_share_no_tracker() {
    let (a, b) = peers_learnt_through_a_hub(false);
    assert!(a >= 2 && b >= 2, "{a} {b}");
}

#[test]
fn a_private_torrent_exchanges_no_peers() {
    let (a, b) = peers_learnt_through_a_hub(true);
    assert_eq!((a, b), (1, 1));
}
