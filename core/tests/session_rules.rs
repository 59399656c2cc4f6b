//! The rules the session decides once for every face: which handles are live, which settings
//! can work, and that seeding never touches the original data.

use bittern_core::metainfo::{create, CreateOptions, Metainfo};
use bittern_core::session::{AddOptions, Session, SessionConfig, SessionError, State, WaitOutcome};
use bittern_core::{Error, ErrorKind};
use std::path::Path;
use std::time::{Duration, Instant};

fn session() -> Session {
    let config = SessionConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    Session::new(config).unwrap()
}

fn torrent_of(path: &Path) -> Metainfo {
    let options = CreateOptions {
        piece_length: Some(16384),
        ..Default::default()
    };
    create(path, &options, |_| true).unwrap()
}

fn options(dir: &Path, seed_only: bool) -> AddOptions {
    AddOptions {
        save_dir: dir.into(),
        seed_only,
        ..Default::default()
    }
}

#[test]
fn a_handle_knows_its_session_and_whether_it_was_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    std::fs::write(&data, vec![7u8; 100_000]).unwrap();
    let torrent = torrent_of(&data);
    let (one, other) = (session(), session());
    let out = dir.path().join("out");
    let handle = one.add(torrent.clone(), options(&out, false)).unwrap();
    assert!(matches!(
        one.add(torrent.clone(), options(&out, false)),
        Err(Error::Session(SessionError::AlreadyAdded(_)))
    ));
    assert!(matches!(
        other.remove(&handle),
        Err(SessionError::OtherSession(_))
    ));
    assert!(matches!(
        other.add_peers(&handle, vec![]),
        Err(SessionError::OtherSession(_))
    ));
    one.remove(&handle).unwrap();
    for stale in [
        one.remove(&handle),
        one.add_peers(&handle, vec![]),
        handle.pause(),
        handle.resume(),
    ] {
        let e = stale.unwrap_err();
        assert!(matches!(e, SessionError::Removed(_)), "{e}");
        assert!(e.to_string().contains("not in this session"), "{e}");
        assert_eq!(Error::from(e).kind(), ErrorKind::InvalidArgument);
    }
    let started = Instant::now();
    assert_eq!(handle.wait(Duration::from_secs(30)), WaitOutcome::Stopped);
    assert!(started.elapsed() < Duration::from_secs(1));

    // Added again, the new handle is live and the old one stays stale.
    let again = one.add(torrent.clone(), options(&out, false)).unwrap();
    again.pause().unwrap();
    assert!(handle.pause().is_err());
    one.shutdown();
    assert!(matches!(again.pause(), Err(SessionError::Closed)));
    assert_eq!(again.wait(Duration::from_secs(30)), WaitOutcome::Stopped);
}

#[test]
fn settings_that_cannot_work_are_refused_by_the_session() {
    let zero = |edit: fn(&mut SessionConfig)| {
        let mut config = SessionConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        };
        edit(&mut config);
        Session::new(config)
            .err()
            .map(|e| (e.kind(), e.to_string()))
    };
    for (edit, name) in [
        (
            (|c| c.max_connections = 0) as fn(&mut SessionConfig),
            "max_connections",
        ),
        (|c| c.max_peers_per_torrent = 0, "max_peers_per_torrent"),
        (|c| c.max_peers_per_ip = 0, "max_peers_per_ip"),
        (|c| c.storage.max_open_files = 0, "max_open_files"),
        (
            |c| c.handshake_timeout = Duration::ZERO,
            "handshake_timeout",
        ),
        (|c| c.idle_timeout = Duration::ZERO, "idle_timeout"),
        (|c| c.tracker.timeout = Duration::ZERO, "tracker timeout"),
    ] {
        let (kind, message) = zero(edit).expect(name);
        assert_eq!(kind, ErrorKind::InvalidArgument, "{name}");
        assert!(message.contains(name), "{name}: {message}");
    }
    // 0 unchoke slots means "only the optimistic unchoke", which works.
    assert!(zero(|c| c.unchoke_slots = 0).is_none());

    let s = session();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    std::fs::write(&data, vec![1u8; 1000]).unwrap();
    let e = s
        .add(torrent_of(&data), options(Path::new(""), false))
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("save_dir"), "{e}");
}

#[test]
fn seeding_never_creates_truncates_or_resizes_the_original_data() {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("album");
    std::fs::create_dir_all(content.join("sub")).unwrap();
    std::fs::write(content.join("a.bin"), vec![1u8; 40_000]).unwrap();
    std::fs::write(content.join("sub/b.bin"), vec![2u8; 30_000]).unwrap();
    let torrent = torrent_of(&content);
    let s = session();

    // What is on disk never fails the add: the torrent waits in the error state, saying what
    // is wrong, and a resume opens the files again.
    std::fs::remove_file(content.join("sub/b.bin")).unwrap();
    let seed = s.add(torrent.clone(), options(dir.path(), true)).unwrap();
    let refused = |what: &str| {
        assert_eq!(
            seed.wait(Duration::from_secs(30)),
            WaitOutcome::Failed,
            "{what}"
        );
        let e = seed.error().unwrap_or_else(|| panic!("{what}: no error"));
        assert_eq!(e.kind(), ErrorKind::Io, "{what}: {e}");
        e.to_string()
    };
    let message = refused("a missing file");
    assert!(message.contains("b.bin: missing"), "{message}");
    assert!(!content.join("sub/b.bin").exists());

    std::fs::write(content.join("sub/b.bin"), vec![2u8; 20_000]).unwrap();
    seed.resume().unwrap();
    let message = refused("a shorter file");
    assert!(message.contains("20000 bytes, but 30000"), "{message}");
    assert_eq!(
        std::fs::metadata(content.join("sub/b.bin")).unwrap().len(),
        20_000
    );

    std::fs::write(content.join("sub/b.bin"), vec![2u8; 50_000]).unwrap();
    seed.resume().unwrap();
    let message = refused("a longer file");
    assert!(message.contains("50000 bytes, but 30000"), "{message}");
    assert_eq!(
        std::fs::metadata(content.join("sub/b.bin")).unwrap().len(),
        50_000
    );

    std::fs::write(content.join("sub/b.bin"), vec![2u8; 30_000]).unwrap();
    seed.resume().unwrap();
    assert!(seed.wait_finished(Duration::from_secs(30)));
    s.remove(&seed).unwrap();

    let elsewhere = dir.path().join("nowhere");
    let lost = s.add(torrent.clone(), options(&elsewhere, true)).unwrap();
    assert_eq!(lost.wait(Duration::from_secs(30)), WaitOutcome::Failed);
    let e = lost.error().unwrap();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(!elsewhere.exists(), "a seed-only add made {elsewhere:?}");
    s.remove(&lost).unwrap();

    let seed = s.add(torrent.clone(), options(dir.path(), true)).unwrap();
    assert!(seed.wait_finished(Duration::from_secs(30)));
}

#[test]
fn an_add_returns_at_once_and_checks_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    // 256 MiB of zeros, sparse: a check that takes a while without writing as much.
    std::fs::File::create(&data)
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    let create_options = CreateOptions {
        piece_length: Some(1 << 20),
        ..Default::default()
    };
    let torrent = create(&data, &create_options, |_| true).unwrap();
    let s = session();
    let handle = s.add(torrent.clone(), options(dir.path(), true)).unwrap();
    let first = handle.status();
    assert_eq!(first.state, State::Checking, "{first:?}");
    assert!(first.pieces_checked < first.piece_count && first.pieces_done == 0);
    // Removed during its check, it stops; nothing stays behind, the same torrent can be added.
    s.remove(&handle).unwrap();
    let again = s.add(torrent, options(dir.path(), true)).unwrap();
    assert!(again.wait_finished(Duration::from_secs(60)));
    let done = again.status();
    assert_eq!(done.state, State::Seeding);
    assert_eq!(done.pieces_checked, done.piece_count);
}
