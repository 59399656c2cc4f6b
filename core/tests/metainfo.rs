//! Loading, editing and saving torrents: nothing lost, info bytes never touched.

use bittern_core::Metainfo;

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/vectors/torrents/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn editing_outer_fields_keeps_info_bytes_and_unknown_keys() {
    let bytes = vector("unknown-keys.torrent");
    let mut t = Metainfo::from_bytes(&bytes).unwrap();
    let (hash, info) = (t.info_hash(), t.info_bytes().to_vec());
    t.set_comment(Some("a comment"));
    t.set_announce(Some("http://new/announce"));
    t.set_announce_list(vec![
        vec!["http://new/announce".into()],
        vec!["http://b/announce".into()],
    ]);
    t.set_creation_date(Some(5));
    t.set_created_by(None);
    t.set_url_list(vec!["http://w/".into(), "http://v/".into()]);
    assert_eq!(t.info_hash(), hash);
    assert_eq!(t.info_bytes(), info.as_slice());
    let again = Metainfo::from_bytes(t.as_bytes()).unwrap();
    assert_eq!(again.info_hash(), hash);
    assert_eq!(again.comment(), Some("a comment"));
    assert_eq!(again.announce(), Some("http://new/announce"));
    assert_eq!(
        again.trackers(),
        ["http://new/announce", "http://b/announce"]
    );
    assert_eq!(again.creation_date(), Some(5));
    assert_eq!(again.url_list(), ["http://w/", "http://v/"]);
    // The unknown outer key survives, and the output is canonical.
    assert!(again.as_bytes().windows(8).any(|w| w == b"zz-extra"));
    bittern_core::bencode::decode(again.as_bytes(), Default::default()).unwrap();
    t.set_comment(None);
    assert_eq!(Metainfo::from_bytes(t.as_bytes()).unwrap().comment(), None);
}

#[test]
fn unsorted_info_is_hashed_as_it_stands() {
    let bytes = vector("unsorted.torrent");
    let mut t = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(t.warnings().len(), 2);
    let hash = t.info_hash();
    t.set_comment(Some("x"));
    assert_eq!(
        Metainfo::from_bytes(t.as_bytes()).unwrap().info_hash(),
        hash
    );
}

#[test]
fn save_writes_the_exact_bytes() {
    let bytes = vector("announce-list.torrent");
    let t = Metainfo::from_bytes(&bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.torrent");
    t.save(&out).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
    assert_eq!(
        t.announce_list(),
        [
            vec!["http://a/ann".to_string(), "http://b/ann".into()],
            vec!["udp://c:80".into()]
        ]
    );
    assert_eq!(t.comment(), Some("hello"));
    assert_eq!(t.created_by(), Some("vectors"));
    assert_eq!(t.creation_date(), Some(1_700_000_000));
    assert_eq!(t.url_list(), ["http://seed/one"]);
}

#[test]
fn multi_file_paths_start_with_the_name() {
    let t = Metainfo::from_bytes(&vector("multi.torrent")).unwrap();
    let files: Vec<(String, u64, u64)> = t
        .info()
        .files()
        .iter()
        .map(|f| (f.path_lossy(), f.length(), f.offset()))
        .collect();
    assert_eq!(
        files,
        [
            ("folder/a.txt".into(), 10, 0),
            ("folder/sub/b.bin".into(), 40000, 10),
            ("folder/z".into(), 0, 40010)
        ]
    );
    assert_eq!(
        t.info().files()[1].relative_path(),
        std::path::Path::new("folder/sub/b.bin")
    );
}

#[test]
fn latin1_name_is_kept_raw_and_shown_lossy() {
    let t = Metainfo::from_bytes(&vector("latin1-name.torrent")).unwrap();
    assert_eq!(t.info().name_bytes(), b"caf\xe9.txt");
    assert_eq!(t.info().name(), "caf\u{fffd}.txt");
}

#[test]
fn limits_are_enforced() {
    use bittern_core::metainfo::LoadLimits;
    let bytes = vector("multi.torrent");
    let small = LoadLimits {
        max_files: 2,
        ..Default::default()
    };
    assert!(Metainfo::from_bytes_with_limits(&bytes, &small)
        .unwrap_err()
        .to_string()
        .contains("limit"));
    let tiny = LoadLimits {
        max_size: 10,
        ..Default::default()
    };
    assert!(Metainfo::from_bytes_with_limits(&bytes, &tiny).is_err());
    let few = LoadLimits {
        max_pieces: 2,
        ..Default::default()
    };
    assert!(Metainfo::from_bytes_with_limits(&bytes, &few).is_err());
    let short = LoadLimits {
        max_path_len: 8,
        ..Default::default()
    };
    let error = Metainfo::from_bytes_with_limits(&bytes, &short).unwrap_err();
    assert!(
        error.to_string().contains("longer than the limit of 8"),
        "{error}"
    );
}

#[test]
fn a_path_longer_than_any_system_opens_is_refused() {
    use bittern_core::bencode::{encode, Value};
    let deep = vec![Value::Bytes(b"d".to_vec()); 3000]; // 5999 bytes joined
    let file = Value::Dict(
        [
            (b"length".to_vec(), Value::Int(1)),
            (b"path".to_vec(), Value::List(deep)),
        ]
        .into(),
    );
    let info = Value::Dict(
        [
            (b"files".to_vec(), Value::List(vec![file])),
            (b"name".to_vec(), Value::Bytes(b"n".to_vec())),
            (b"piece length".to_vec(), Value::Int(16384)),
            (b"pieces".to_vec(), Value::Bytes(vec![0; 20])),
        ]
        .into(),
    );
    let torrent = encode(&Value::Dict([(b"info".to_vec(), info)].into()));
    let error = Metainfo::from_bytes(&torrent).unwrap_err();
    assert!(
        error.to_string().contains("longer than the limit of 4096"),
        "{error}"
    );
}

#[test]
fn tracker_problems_name_what_no_tracker_can_answer() {
    use bittern_core::metainfo::TrackerProblem;
    let mut t = Metainfo::from_bytes(&vector("unknown-keys.torrent")).unwrap();
    t.set_announce(None);
    t.set_announce_list(vec![]);
    assert_eq!(t.tracker_problems(), [TrackerProblem::NoTracker]);
    t.set_announce_list(vec![
        vec![
            "tracker.example/announce".into(),
            "ftp://t.example/announce".into(),
        ],
        vec![
            "udp://t.example:6969".into(),
            "https://t.example/a?k=1".into(),
        ],
    ]);
    assert_eq!(
        t.tracker_problems(),
        [
            TrackerProblem::NotATrackerUrl("tracker.example/announce".into()),
            TrackerProblem::NotATrackerUrl("ftp://t.example/announce".into()),
        ]
    );
}

#[test]
fn saving_to_a_pipe_writes_into_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.torrent");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let torrent = Metainfo::from_bytes(&vector("multi.torrent")).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    torrent.save(&fifo).unwrap();
    assert_eq!(reader.join().unwrap(), torrent.as_bytes());
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    assert!(torrent.save(&folder).is_err());
    assert!(folder.is_dir());
}
