//! Loopback swarms: our seeders, our downloaders and our tracker on 127.0.0.0/8, and a downloader
//! killed (SIGKILL) in a child process.

use bittern_core::cancel::Cancel;
use bittern_core::metainfo::{create, CreateOptions, Metainfo};
use bittern_core::session::{
    AddOptions, DisconnectReason, EventKind, Session, SessionConfig, State, TorrentHandle,
    TorrentSource,
};
use bittern_core::tracker::server::{ServerConfig, TrackerServer};
use std::path::Path;
use std::time::Duration;

fn session() -> Session {
    session_on("127.0.0.1")
}

/// A session on its own loopback address (127.0.0.0/8 is all ours), so bans by IP hit it alone.
fn session_on(ip: &str) -> Session {
    let config = SessionConfig {
        listen: Some(format!("{ip}:0").parse().unwrap()),
        max_peers_per_ip: 100,
        ..Default::default()
    };
    Session::new(config).unwrap()
}

fn tracker() -> TrackerServer {
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        interval: 2,
        min_interval: 1,
        threads: 1,
        ..Default::default()
    };
    TrackerServer::start(config).unwrap()
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// A folder of files whose pieces span file borders, with a short last piece.
fn make_content(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("content");
    for (name, len) in [
        ("a.bin", 100_000),
        ("sub/b.bin", 1_000_000),
        ("sub/c.bin", 0),
        ("z.bin", 777_777),
    ] {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, random_bytes(len, len as u64)).unwrap();
    }
    root
}

fn make_torrent(content: &Path, tracker: &TrackerServer) -> Metainfo {
    let options = CreateOptions {
        trackers: vec![vec![tracker.url()]],
        piece_length: Some(32768),
        creation_date: None,
        ..Default::default()
    };
    create(content, &options, |_| true).unwrap()
}

/// A temporary folder holding [`make_content`], a tracker and their torrent (the tracker runs
/// as long as its handle lives).
fn multi_file_swarm() -> (
    tempfile::TempDir,
    TrackerServer,
    std::path::PathBuf,
    Metainfo,
) {
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker();
    let content = make_content(dir.path());
    let torrent = make_torrent(&content, &tracker);
    (dir, tracker, content, torrent)
}

/// Adds `torrent` to `session` as an origin seeder of the data in `dir`.
fn add_seed(session: &Session, torrent: &Metainfo, dir: &Path) -> TorrentHandle {
    let options = AddOptions {
        save_dir: dir.into(),
        seed_only: true,
        ..Default::default()
    };
    checked(session.add(torrent.clone(), options).unwrap())
}

/// `torrent` once the check of its data on disk is done (an add returns before).
fn checked(torrent: TorrentHandle) -> TorrentHandle {
    let done = torrent.wait_for(Duration::from_secs(30), |s| s.state != State::Checking);
    assert!(done, "{:?}", torrent.status());
    torrent
}

/// Loads a torrent from a path or URL, as `bittern download` does.
fn load(source: &str) -> Result<Metainfo, bittern_core::Error> {
    TorrentSource::parse(source)?.load(&Default::default(), Cancel::NEVER)
}

/// Adds `torrent` to `session`, to be downloaded into `dir`.
fn add_download(session: &Session, torrent: &Metainfo, dir: &Path) -> TorrentHandle {
    let options = AddOptions {
        save_dir: dir.into(),
        ..Default::default()
    };
    checked(session.add(torrent.clone(), options).unwrap())
}

fn same_tree(a: &Path, b: &Path) {
    for entry in walk(a) {
        let relative = entry.strip_prefix(a).unwrap();
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(b.join(relative)).unwrap(),
            "{}",
            relative.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn one_seeder_to_one_downloader() {
    let (dir, _tracker, content, torrent) = multi_file_swarm();

    let seeder = session();
    let seed = add_seed(&seeder, &torrent, dir.path());
    assert!(
        seed.wait_finished(Duration::from_secs(5)),
        "the seeder's data checks complete"
    );

    let leecher = session();
    let out = dir.path().join("out");
    let download = add_download(&leecher, &torrent, &out);
    assert!(
        download.wait_finished(Duration::from_secs(60)),
        "downloaded: {:?}",
        download.status()
    );
    same_tree(&content, &out.join("content"));
    // Finished, the downloader dropped the seeder: both seed. Nothing else ended a connection
    // but, when each side dialled the other, the second of the two: dropped as a duplicate by
    // the side that saw both first, seen by the other as closed by its peer (when it had not
    // met the other connection yet).
    let disconnects = download.status().disconnects;
    let seeder_disconnects = seed.status().disconnects;
    let both_seeding = disconnects.get(DisconnectReason::BothSeeding);
    let closed_by_peer = disconnects.get(DisconnectReason::ClosedByPeer);
    assert!(both_seeding >= 1, "{disconnects:?}");
    assert!(
        closed_by_peer <= seeder_disconnects.get(DisconnectReason::Duplicate),
        "{disconnects:?} {seeder_disconnects:?}"
    );
    assert_eq!(
        disconnects.total(),
        u64::from(both_seeding + closed_by_peer + disconnects.get(DisconnectReason::Duplicate)),
        "{disconnects:?}"
    );
    leecher.shutdown();
    seeder.shutdown();
}

#[test]
fn one_seeder_to_many_downloaders() {
    let (dir, _tracker, content, torrent) = multi_file_swarm();
    let seeder = session();
    add_seed(&seeder, &torrent, dir.path());

    let leechers: Vec<Session> = (0..4).map(|_| session()).collect();
    let downloads: Vec<_> = leechers
        .iter()
        .enumerate()
        .map(|(i, s)| add_download(s, &torrent, &dir.path().join(format!("out{i}"))))
        .collect();
    for (i, d) in downloads.iter().enumerate() {
        assert!(
            d.wait_finished(Duration::from_secs(90)),
            "downloader {i}: {:?}",
            d.status()
        );
        same_tree(
            &content,
            &dir.path().join(format!("out{i}")).join("content"),
        );
    }
}

#[test]
fn a_liar_is_banned_and_the_download_still_completes_byte_exact() {
    let (dir, _tracker, content, torrent) = multi_file_swarm();
    // The liar claims every piece (it trusts its data) but its copy of z.bin is corrupt. It
    // is alone at first, so the downloader takes corrupt pieces from it.
    let liar_dir = dir.path().join("liar");
    let liar_content = liar_dir.join("content");
    copy_tree(&content, &liar_content);
    let z = liar_content.join("z.bin");
    let mut bytes = std::fs::read(&z).unwrap();
    for b in bytes.iter_mut().step_by(1000) {
        *b ^= 0xff;
    }
    std::fs::write(&z, bytes).unwrap();
    let liar = session_on("127.0.0.2");
    liar.add(
        torrent.clone(),
        AddOptions {
            save_dir: liar_dir,
            seed_only: true,
            trust_data: true,
        },
    )
    .unwrap();

    let leecher = session();
    let events = leecher.events();
    let out = dir.path().join("out");
    let download = add_download(&leecher, &torrent, &out);
    // The tracker saw the liar's announce come from 127.0.0.1; point the downloader at it.
    leecher
        .add_peers(&download, vec![liar.listen_addr()])
        .unwrap();
    let banned = wait_event(events, Duration::from_secs(30), |k| {
        matches!(k, EventKind::PeerBanned(_))
    });
    let liar_ip: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    assert!(
        matches!(banned, Some(EventKind::PeerBanned(ip)) if ip == liar_ip),
        "{banned:?}"
    );
    assert!(download.status().pieces_done < download.status().piece_count);

    // Honest seeders arrive; the liar is not let back in.
    let seeders: Vec<Session> = (0..2).map(|_| session()).collect();
    for s in &seeders {
        add_seed(s, &torrent, dir.path());
    }
    assert!(
        download.wait_finished(Duration::from_secs(90)),
        "downloaded: {:?}",
        download.status()
    );
    same_tree(&content, &out.join("content"));
}

#[test]
fn many_seeders_to_one_downloader() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker();
    let content = dir.path().join("big.bin");
    std::fs::write(&content, random_bytes(4 << 20, 7)).unwrap();
    let torrent = make_torrent(&content, &tracker);
    // Each on its own address, as the tracker would not tell them apart.
    let seeders: Vec<Session> = (2..5)
        .map(|i| session_on(&format!("127.0.0.{i}")))
        .collect();
    let seeds: Vec<_> = seeders
        .iter()
        .map(|s| {
            let h = add_seed(s, &torrent, dir.path());
            assert!(h.wait_finished(Duration::from_secs(10)));
            h
        })
        .collect();
    let leecher = session();
    let out = dir.path().join("out");
    let download = add_download(&leecher, &torrent, &out);
    leecher
        .add_peers(&download, seeders.iter().map(|s| s.listen_addr()).collect())
        .unwrap();
    assert!(
        download.wait_finished(Duration::from_secs(60)),
        "{:?}",
        download.status()
    );
    assert_eq!(
        std::fs::read(&content).unwrap(),
        std::fs::read(out.join("big.bin")).unwrap()
    );
    // The pieces came from several of them (upload counts are published every half second).
    let served = seeds
        .iter()
        .filter(|h| h.wait_for(Duration::from_secs(3), |s| s.uploaded > 0))
        .count();
    assert!(served >= 2, "only {served} of 3 seeders sent anything");
}

#[test]
fn a_storage_error_stops_the_torrent_until_it_is_resumed() {
    let (dir, _tracker, content, torrent) = multi_file_swarm();
    let leecher = session();
    let events = leecher.events();
    let out = dir.path().join("out");
    let download = add_download(&leecher, &torrent, &out);
    // A folder where z.bin should go (added, the torrent created it): its pieces cannot be
    // written.
    let blocker = out.join("content/z.bin");
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir(&blocker).unwrap();
    let seeder = session();
    add_seed(&seeder, &torrent, dir.path());
    let error = wait_event(events, Duration::from_secs(30), |k| {
        matches!(k, EventKind::StorageError(_))
    });
    assert!(
        matches!(&error, Some(EventKind::StorageError(e))
            if e.kind() == bittern_core::ErrorKind::Io
                && e.path().is_some_and(|p| p.ends_with("content/z.bin"))),
        "{error:?}"
    );
    assert!(download.wait_for(Duration::from_secs(5), |s| s.state == State::Error));
    assert!(
        !download.wait_finished(Duration::from_secs(10)),
        "it stops at the error"
    );
    assert_eq!(download.status().state, State::Error);
    let kept = download.error().expect("the handle keeps the error");
    assert!(kept.path().is_some_and(|p| p.ends_with("content/z.bin")));

    std::fs::remove_dir(&blocker).unwrap();
    download.resume().unwrap();
    assert_ne!(download.status().state, State::Error, "cleared at once");
    assert!(download.error().is_none());

    assert!(
        download.wait_finished(Duration::from_secs(60)),
        "{:?}",
        download.status()
    );
    same_tree(&content, &out.join("content"));
}

/// Set in the child process of [`a_killed_download_loses_nothing_verified`]: what it downloads.
const KILL_CHILD: &str = "BITTERN_SWARM_KILL_CHILD";

#[test]
fn a_killed_download_loses_nothing_verified() {
    if let Ok(spec) = std::env::var(KILL_CHILD) {
        return download_until_killed(&spec);
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker();
    let content = dir.path().join("big.bin");
    let data = random_bytes(8 << 20, 11);
    std::fs::write(&content, &data).unwrap();
    let torrent = make_torrent(&content, &tracker);
    let torrent_path = dir.path().join("big.torrent");
    torrent.save(&torrent_path).unwrap();
    // The first seeder has only the first half, so the download stops there for sure.
    let half_dir = dir.path().join("half");
    std::fs::create_dir(&half_dir).unwrap();
    let mut half = data.clone();
    half[4 << 20..].fill(0);
    std::fs::write(half_dir.join("big.bin"), &half).unwrap();
    let seeder = session();
    let half_seed = add_seed(&seeder, &torrent, &half_dir);
    let pieces = half_seed.status().piece_count;
    assert_eq!(half_seed.status().pieces_done, pieces / 2);

    // The downloader runs in a child process (this test again), killed once it has that half.
    let out = dir.path().join("out");
    let spec = format!(
        "{}|{}|{}",
        torrent_path.display(),
        out.display(),
        seeder.listen_addr()
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_download_loses_nothing_verified",
            "--nocapture",
        ])
        .env(KILL_CHILD, spec)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let mut verified = 0;
    for line in lines {
        if let Some(n) = line.unwrap().strip_prefix("verified ") {
            verified = n.parse().unwrap();
            if verified == pieces / 2 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL: no clean stop, no resume file
    child.wait().unwrap();
    assert_eq!(verified, pieces / 2);
    seeder.remove(&half_seed).unwrap();

    // Started again: it finds what it had verified, fetches the rest, and the copy is exact.
    add_seed(&seeder, &torrent, dir.path());
    let leecher = session();
    let download = add_download(&leecher, &torrent, &out);
    assert!(
        download.status().pieces_done >= verified,
        "{:?}",
        download.status()
    );
    leecher
        .add_peers(&download, vec![seeder.listen_addr()])
        .unwrap();
    assert!(
        download.wait_finished(Duration::from_secs(60)),
        "{:?}",
        download.status()
    );
    assert_eq!(std::fs::read(out.join("big.bin")).unwrap(), data);
    assert!(
        download.status().downloaded <= (4 << 20) + 32768,
        "{:?}",
        download.status()
    );
}

/// The child's part: downloads and prints how many pieces are verified until it is killed.
fn download_until_killed(spec: &str) {
    let mut parts = spec.split('|');
    let (torrent, out, seeder) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let torrent = load(torrent).unwrap();
    let leecher = session();
    let download = add_download(&leecher, &torrent, Path::new(out));
    leecher
        .add_peers(&download, vec![seeder.parse().unwrap()])
        .unwrap();
    // Ends by itself if the parent never kills it (the parent's test then fails).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        println!("verified {}", download.status().pieces_done);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first event of `kind` within `timeout`.
fn wait_event(
    mut events: tokio::sync::broadcast::Receiver<bittern_core::session::Event>,
    timeout: Duration,
    wanted: impl Fn(&EventKind) -> bool,
) -> Option<EventKind> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        match events.try_recv() {
            Ok(e) if wanted(&e.kind) => return Some(e.kind),
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

#[test]
fn a_stopped_download_resumes_where_it_was() {
    let (dir, _tracker, content, torrent) = multi_file_swarm();
    let out = dir.path().join("out");
    // Half the data is already there (as after an interrupted download).
    copy_tree(&content, &out.join("content"));
    std::fs::remove_file(out.join("content/z.bin")).unwrap();
    let leecher = session();
    let download = add_download(&leecher, &torrent, &out);
    let status = download.status();
    assert!(
        status.pieces_done > 0 && status.pieces_done < status.piece_count,
        "{status:?}"
    );
    let seeder = session();
    add_seed(&seeder, &torrent, dir.path());
    assert!(
        download.wait_finished(Duration::from_secs(60)),
        "{:?}",
        download.status()
    );
    same_tree(&content, &out.join("content"));
    // Only the missing part came over the wire.
    assert!(
        download.status().downloaded <= 777_777 + 2 * 32768,
        "{:?}",
        download.status()
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for file in walk(from) {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
}

#[test]
fn a_finished_download_restarts_from_its_resume_file() {
    let (dir, _tracker, _content, torrent) = multi_file_swarm();
    let seeder = session();
    add_seed(&seeder, &torrent, dir.path());
    let out = dir.path().join("out");
    let leecher = session();
    let download = add_download(&leecher, &torrent, &out);
    assert!(download.wait_finished(Duration::from_secs(60)));
    leecher.shutdown();
    let resume = out
        .join(".bittern")
        .join(format!("{}.resume", torrent.info_hash().to_hex()));
    assert!(resume.exists(), "the stop saved the resume file");
    // Started again, it is complete without downloading anything.
    let again = add_download(&session(), &torrent, &out);
    let status = again.status();
    assert_eq!(
        (status.pieces_done, status.downloaded),
        (status.piece_count, 0),
        "{status:?}"
    );
}

#[test]
fn a_torrent_fetched_by_url_downloads_and_events_and_removal_work() {
    let dir = tempfile::tempdir().unwrap();
    let content = make_content(dir.path());
    // The publisher's tracker serves the .torrent from its folder, like a web page link.
    let published = dir.path().join("published");
    std::fs::create_dir(&published).unwrap();
    let probe = tracker();
    make_torrent(&content, &probe)
        .save(published.join("content.torrent"))
        .unwrap();
    let config = ServerConfig {
        bind: probe.local_addr(),
        torrents_dir: Some(published.clone()),
        interval: 2,
        min_interval: 1,
        threads: 1,
        ..Default::default()
    };
    probe.stop();
    let tracker = TrackerServer::start(config).unwrap();
    let url = format!("http://{}/torrents/content.torrent", tracker.local_addr());
    let torrent = load(&url).unwrap();
    assert_eq!(
        torrent.as_bytes(),
        std::fs::read(published.join("content.torrent"))
            .unwrap()
            .as_slice()
    );

    let seeder = session();
    add_seed(&seeder, &torrent, dir.path());
    let leecher = session();
    let mut events = leecher.event_receiver();
    let download = add_download(&leecher, &torrent, &dir.path().join("out"));
    let mut finished = false;
    while let Some(event) = events.recv_timeout(Duration::from_secs(30)) {
        if matches!(event.kind, EventKind::Finished) {
            finished = true;
            break;
        }
    }
    assert!(finished, "{:?}", download.status());
    leecher.remove(&download).unwrap();
    // Removed, it can be added again.
    add_download(&leecher, &torrent, &dir.path().join("out"));
    assert!(load("http://127.0.0.1:1/none.torrent").is_err());
}

#[test]
fn the_total_connection_cap_holds() {
    let (dir, _tracker, _content, torrent) = multi_file_swarm();
    let seeders: Vec<Session> = (0..3).map(|_| session()).collect();
    for s in &seeders {
        add_seed(s, &torrent, dir.path());
    }
    let config = SessionConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        max_peers_per_ip: 100,
        max_connections: 1,
        ..Default::default()
    };
    let leecher = Session::new(config).unwrap();
    let download = add_download(&leecher, &torrent, &dir.path().join("out"));
    let most = std::cell::Cell::new(0);
    let done = download.wait_for(Duration::from_secs(60), |s| {
        most.set(most.get().max(s.peers));
        s.pieces_done == s.piece_count
    });
    assert!(done, "{:?}", download.status());
    // Status is a sample (twice a second), so a fast download may show no peer at all.
    assert!(most.get() <= 1, "{} peers", most.get());
}
