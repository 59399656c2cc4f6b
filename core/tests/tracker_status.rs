//! Issue 9: a torrent whose trackers cannot be reached, or that has none, says so through its
//! handle (a state per tracker URL) and its events name the URL that failed.

use bittern_core::metainfo::{create, CreateOptions, Metainfo};
use bittern_core::session::{
    AddOptions, EventKind, Session, SessionConfig, TrackerState, TrackerTrouble,
};
use std::path::Path;
use std::time::{Duration, Instant};

fn session() -> Session {
    let config = SessionConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    Session::new(config).unwrap()
}

fn torrent_of(path: &Path, trackers: Vec<Vec<String>>) -> Metainfo {
    let options = CreateOptions {
        piece_length: Some(16384),
        trackers,
        ..Default::default()
    };
    create(path, &options, |_| true).unwrap()
}

/// A URL on a port of this host that nothing listens on (bound, read back, closed).
fn dead_tracker() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/announce")
}

#[test]
fn a_tracker_on_a_closed_port_is_failing_with_its_url_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    std::fs::write(&data, vec![7u8; 50_000]).unwrap();
    let url = dead_tracker();
    let torrent = torrent_of(&data, vec![vec![url.clone()]]);
    let session = session();
    let mut events = session.event_receiver();
    let out = dir.path().join("out");
    let options = AddOptions {
        save_dir: out,
        ..Default::default()
    };
    let handle = session.add(torrent, options).unwrap();
    let listed = handle.trackers();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].url.as_str(), listed[0].tier), (url.as_str(), 0));

    let deadline = Instant::now() + Duration::from_secs(20);
    let failing = loop {
        let trackers = handle.trackers();
        if trackers[0].state == TrackerState::Failing {
            break trackers[0].clone();
        }
        assert!(Instant::now() < deadline, "still {:?}", trackers[0]);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(failing.url, url);
    assert!(failing.failures >= 1);
    assert!(failing.error.is_some(), "{failing:?}");
    assert!(failing.next_announce.is_some());
    match handle.tracker_trouble() {
        Some(TrackerTrouble::Unreachable(failed)) => assert_eq!(failed[0].url, url),
        other => panic!("{other:?}"),
    }

    // The event names the URL too.
    let named = loop {
        let event = events
            .recv_timeout(Duration::from_secs(10))
            .expect("a tracker error event");
        if let EventKind::TrackerError { url, error } = event.kind {
            break (url, error.to_string());
        }
    };
    assert_eq!(named.0, url);
    assert!(!named.1.is_empty());
}

#[test]
fn a_torrent_with_no_tracker_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    std::fs::write(&data, vec![7u8; 50_000]).unwrap();
    let torrent = torrent_of(&data, vec![]);
    let session = session();
    let options = AddOptions {
        save_dir: dir.path().join("out"),
        ..Default::default()
    };
    let handle = session.add(torrent, options).unwrap();
    assert!(handle.trackers().is_empty());
    assert!(matches!(
        handle.tracker_trouble(),
        Some(TrackerTrouble::NoTracker)
    ));
}
