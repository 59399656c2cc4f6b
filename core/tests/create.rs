//! Creating torrents: file order, piece hashing across file borders, options, progress, cancel.

use bittern_core::metainfo::{auto_piece_length, create, CreateOptions, MetainfoError};
use sha1::{Digest, Sha1};
use std::path::Path;

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn reproducible() -> CreateOptions {
    CreateOptions {
        creation_date: None,
        created_by: None,
        ..Default::default()
    }
}

fn expected_pieces(data: &[u8], piece_length: usize) -> Vec<u8> {
    data.chunks(piece_length)
        .flat_map(|c| Sha1::digest(c).to_vec())
        .collect()
}

#[test]
fn single_file_hashes_every_piece_and_a_short_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(5 * 16384 + 1234, 7);
    write(&dir.path().join("data.bin"), &data);
    let options = CreateOptions {
        piece_length: Some(16384),
        ..reproducible()
    };
    let t = create(dir.path().join("data.bin"), &options, |_| true).unwrap();
    assert_eq!(t.info().name(), "data.bin");
    assert!(!t.info().is_multi_file());
    assert_eq!(t.info().piece_count(), 6);
    assert_eq!(t.info().total_length(), data.len() as u64);
    assert_eq!(t.info().pieces(), expected_pieces(&data, 16384).as_slice());
    assert_eq!(
        t.info_hash(),
        bittern_core::InfoHash::of_info_bytes(t.info_bytes())
    );
}

#[test]
fn folder_orders_files_by_path_bytes_and_pieces_span_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stuff");
    // '-' (0x2d) sorts before '/' (0x2f): "a-c" comes before "a/b", as mktorrent orders them.
    let files = [
        ("a/b", 20000, 1),
        ("a-c", 7000, 2),
        ("z", 1, 3),
        ("a/a", 0, 4),
        ("B", 30000, 5),
    ];
    for (name, len, seed) in files {
        write(&root.join(name), &pattern(len, seed));
    }
    let options = CreateOptions {
        piece_length: Some(16384),
        ..reproducible()
    };
    let t = create(&root, &options, |_| true).unwrap();
    let paths: Vec<String> = t.info().files().iter().map(|f| f.path_lossy()).collect();
    assert_eq!(
        paths,
        ["stuff/B", "stuff/a-c", "stuff/a/a", "stuff/a/b", "stuff/z"]
    );
    let mut all = Vec::new();
    for (name, len, seed) in [
        ("B", 30000, 5),
        ("a-c", 7000, 2),
        ("a/a", 0, 4),
        ("a/b", 20000, 1),
        ("z", 1, 3),
    ] {
        assert_eq!(
            t.info()
                .files()
                .iter()
                .find(|f| f.path_lossy() == format!("stuff/{name}"))
                .unwrap()
                .offset(),
            all.len() as u64
        );
        all.extend(pattern(len, seed));
    }
    assert_eq!(t.info().pieces(), expected_pieces(&all, 16384).as_slice());
    assert!(t.info().is_multi_file());
}

#[test]
fn hidden_files_are_left_out_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("d");
    write(&root.join("seen"), b"x");
    write(&root.join(".hidden"), b"y");
    write(&root.join(".git/config"), b"z");
    let t = create(&root, &reproducible(), |_| true).unwrap();
    assert_eq!(t.info().files().len(), 1);
    let all = CreateOptions {
        include_hidden: true,
        ..reproducible()
    };
    let t = create(&root, &all, |_| true).unwrap();
    assert_eq!(t.info().files().len(), 3);
}

#[test]
fn symlinks_are_followed_and_loops_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("d");
    write(&root.join("real"), b"content");
    std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
    let t = create(&root, &reproducible(), |_| true).unwrap();
    assert_eq!(t.info().total_length(), 14);
    std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
    let err = create(&root, &reproducible(), |_| true).unwrap_err();
    assert!(err.to_string().contains("loops"), "{err}");
}

#[test]
fn same_input_and_options_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("f"), &pattern(100_000, 9));
    let options = CreateOptions {
        trackers: vec![
            vec!["http://a/announce".into(), "http://b/announce".into()],
            vec!["udp://c:1".into()],
        ],
        comment: Some("hi".into()),
        private: true,
        url_list: vec!["http://seed/".into()],
        ..reproducible()
    };
    let one = create(dir.path().join("f"), &options, |_| true).unwrap();
    let two = create(
        dir.path().join("f"),
        &CreateOptions {
            threads: 1,
            ..options.clone()
        },
        |_| true,
    )
    .unwrap();
    assert_eq!(one.as_bytes(), two.as_bytes());
    assert_eq!(one.announce(), Some("http://a/announce"));
    assert_eq!(one.announce_list().len(), 2);
    assert!(one.info().is_private());
    assert_eq!(one.comment(), Some("hi"));
    assert_eq!(one.url_list(), ["http://seed/"]);
    assert_eq!(one.creation_date(), None);
    assert!(one.warnings().is_empty());
}

#[test]
fn one_tracker_writes_no_announce_list() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("f"), b"data");
    let options = CreateOptions {
        trackers: vec![vec!["http://t/a".into()]],
        ..reproducible()
    };
    let t = create(dir.path().join("f"), &options, |_| true).unwrap();
    assert_eq!(t.announce(), Some("http://t/a"));
    assert!(t.announce_list().is_empty());
    assert!(!t.as_bytes().windows(13).any(|w| w == b"announce-list"));
}

#[test]
fn automatic_piece_length_gives_1000_to_2000_pieces_within_bounds() {
    assert_eq!(auto_piece_length(1), 16 << 10);
    assert_eq!(auto_piece_length(1 << 30), 1 << 20);
    assert_eq!(auto_piece_length(1 << 40), 16 << 20);
    for total in [100u64 << 20, 1 << 30, 3_000_000_000, 10 << 30] {
        let pieces = total.div_ceil(auto_piece_length(total));
        assert!((1000..=2000).contains(&pieces), "{total}: {pieces}");
    }
}

#[test]
fn bad_piece_length_and_empty_input_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("f"), b"data");
    let options = CreateOptions {
        piece_length: Some(20000),
        ..reproducible()
    };
    let err = create(dir.path().join("f"), &options, |_| true).unwrap_err();
    assert!(err.to_string().contains("power of two"), "{err}");
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    assert!(create(dir.path().join("empty"), &reproducible(), |_| true).is_err());
    write(&dir.path().join("zero"), b"");
    assert!(create(dir.path().join("zero"), &reproducible(), |_| true).is_err());
    let err = create(dir.path().join("missing"), &reproducible(), |_| true).unwrap_err();
    assert!(matches!(err, MetainfoError::Io { .. }), "{err}");
}

#[test]
fn progress_ends_at_total_and_false_cancels() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("f"), &pattern(3 << 20, 1));
    let mut reports = Vec::new();
    create(dir.path().join("f"), &reproducible(), |p| {
        reports.push(p);
        true
    })
    .unwrap();
    let last = reports.last().unwrap();
    assert_eq!((last.bytes_done, last.bytes_total), (3 << 20, 3 << 20));
    assert!(reports
        .windows(2)
        .all(|w| w[0].bytes_done <= w[1].bytes_done));
    let err = create(dir.path().join("f"), &reproducible(), |_| false).unwrap_err();
    assert!(matches!(err, MetainfoError::Cancelled));
}

#[test]
fn names_given_or_invalid() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("f"), b"data");
    let named = CreateOptions {
        name: Some("other".into()),
        ..reproducible()
    };
    assert_eq!(
        create(dir.path().join("f"), &named, |_| true)
            .unwrap()
            .info()
            .name(),
        "other"
    );
    let bad = CreateOptions {
        name: Some("../x".into()),
        ..reproducible()
    };
    assert!(create(dir.path().join("f"), &bad, |_| true).is_err());
}
