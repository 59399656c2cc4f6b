use super::layout::Segment;
use super::*;
use crate::bencode::Encoder;
use crate::metainfo::Metainfo;
use crate::piece::Bitfield;
use sha1::{Digest, Sha1};
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// A file of a test torrent: its path inside the torrent, its bytes, its BEP 47 attributes.
struct F<'a>(&'a str, Vec<u8>, Option<&'a str>);

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A torrent over `files` (multi-file unless one file without `/`), and its data.
fn torrent(name: &str, files: &[F<'_>], piece_length: u64) -> (Metainfo, Vec<u8>) {
    let data: Vec<u8> = files.iter().flat_map(|f| f.1.clone()).collect();
    let pieces: Vec<u8> = data
        .chunks(piece_length as usize)
        .flat_map(|c| Sha1::digest(c).to_vec())
        .collect();
    let mut e = Encoder::new();
    e.begin_dict().bytes(b"info").begin_dict();
    if files.len() == 1 && files[0].0.is_empty() {
        e.bytes(b"length").int(data.len() as i64);
    } else {
        e.bytes(b"files").begin_list();
        for f in files {
            e.begin_dict();
            if let Some(a) = f.2 {
                e.bytes(b"attr").bytes(a.as_bytes());
            }
            e.bytes(b"length").int(f.1.len() as i64);
            e.bytes(b"path").begin_list();
            for c in f.0.split('/') {
                e.bytes(c.as_bytes());
            }
            e.end().end();
        }
        e.end();
    }
    e.bytes(b"name").bytes(name.as_bytes());
    e.bytes(b"piece length").int(piece_length as i64);
    e.bytes(b"pieces").bytes(&pieces);
    e.end().end();
    (Metainfo::from_bytes(&e.finish()).unwrap(), data)
}

fn open(t: &Metainfo, folder: &Path) -> Result<Storage, StorageError> {
    Storage::open(
        t.info(),
        Layout::of(t.info()),
        folder,
        StorageOptions::default(),
    )
}

fn slot(offset: u64, length: u64) -> FileSlot {
    FileSlot {
        names: Box::new([CString::new("x").unwrap()]),
        path: PathBuf::from("x"),
        offset,
        length,
        padding: false,
        data_len: AtomicU64::new(0),
        dirty: AtomicBool::new(false),
    }
}

#[test]
fn segments_cross_file_borders_and_skip_empty_files() {
    // a: 0..20000, b: empty, c: 20000..25000, d: 25000..55000, e: empty at the end.
    let files = [
        slot(0, 20000),
        slot(20000, 0),
        slot(20000, 5000),
        slot(25000, 30000),
        slot(55000, 0),
    ];
    let s: Vec<_> = segments(&files, 16384, 16384).collect();
    let seg = |file, at, len, buf| Segment { file, at, len, buf };
    assert_eq!(
        s,
        [
            seg(0, 16384, 3616, 0),
            seg(2, 0, 5000, 3616),
            seg(3, 0, 7768, 8616)
        ]
    );
    let s: Vec<_> = segments(&files, 20000, 5000).collect();
    assert_eq!(s, [seg(2, 0, 5000, 0)]);
    let s: Vec<_> = segments(&files, 49152, 5848).collect();
    assert_eq!(s, [seg(3, 24152, 5848, 0)]);
    assert_eq!(segments(&files, 0, 0).count(), 0);
}

#[test]
fn single_file_reads_and_writes_blocks_and_rejects_blocks_outside_the_piece() {
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = torrent("one.bin", &[F("", pattern(40000, 1), None)], 16384);
    let s = open(&t, dir.path()).unwrap();
    let file = dir.path().join("one.bin");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 40000, "sparse");
    let l = s.layout();
    let last = l.piece(2).unwrap();
    s.write_block(last, 0, &data[32768..]).unwrap();
    assert_eq!(s.read_block(last, 100, 50).unwrap(), &data[32868..32918]);
    assert!(s.verify_piece(last).unwrap());
    assert!(!s.verify_piece(l.piece(0).unwrap()).unwrap());
    assert!(matches!(
        s.write_block(last, 7000, &[0; 300]),
        Err(StorageError::OutOfRange {
            piece: 2,
            begin: 7000,
            end: 7300
        })
    ));
    assert!(matches!(
        s.read_block(last, u32::MAX, 16384),
        Err(StorageError::OutOfRange { .. })
    ));
    // A PieceIndex of a larger torrent.
    let big = Layout::new(16384, 100 * 16384).unwrap();
    assert!(matches!(
        s.read_block(big.piece(50).unwrap(), 0, 1),
        Err(StorageError::OutOfRange { piece: 50, .. })
    ));
    assert_eq!(s.read_piece(last).unwrap(), &data[32768..]);
    assert_eq!(
        s.hash_piece(last).unwrap()[..],
        Sha1::digest(&data[32768..])[..]
    );
}

#[test]
fn the_layout_must_be_the_torrents() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = torrent("one.bin", &[F("", pattern(40000, 1), None)], 16384);
    let wrong = Layout::new(32768, 40000).unwrap();
    let e = Storage::open(t.info(), wrong, dir.path(), StorageOptions::default()).unwrap_err();
    assert!(matches!(e, StorageError::LayoutMismatch));
}

#[test]
fn created_files_hold_no_data_so_nothing_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        F("a", pattern(20000, 1), None),
        F("b", pattern(30000, 2), None),
    ];
    let (t, data) = torrent("t", &files, 16384);
    std::fs::create_dir_all(dir.path().join("t")).unwrap();
    std::fs::write(dir.path().join("t/a"), &data[..10000]).unwrap(); // short
    let s = open(&t, dir.path()).unwrap();
    assert_eq!(
        std::fs::metadata(dir.path().join("t/a")).unwrap().len(),
        20000
    );
    let available: Vec<u64> = (0..2).map(|i| s.available(i).unwrap()).collect();
    assert_eq!(available, [10000, 0]);
    assert!(!s.piece_possible(s.layout().piece(0).unwrap(), &available));
    // Once written, a file may hold data anywhere.
    s.write_block(s.layout().piece(2).unwrap(), 0, &data[32768..49152])
        .unwrap();
    assert_eq!(s.available(1).unwrap(), 30000);
}

#[test]
fn longer_files_are_refused_untouched_unless_truncation_was_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = torrent("one.bin", &[F("", pattern(20000, 1), None)], 16384);
    let file = dir.path().join("one.bin");
    std::fs::write(&file, pattern(25000, 9)).unwrap();
    let e = open(&t, dir.path()).unwrap_err();
    assert!(
        matches!(&e, StorageError::LongerFile { expected: 20000, found: 25000, path } if *path == file),
        "{e}"
    );
    assert!(e.to_string().contains("one.bin holds 25000 bytes"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), pattern(25000, 9));
    let options = StorageOptions {
        longer_files: LongerFiles::Truncate,
        ..Default::default()
    };
    Storage::open(t.info(), Layout::of(t.info()), dir.path(), options).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), pattern(20000, 9));
}

#[test]
fn padding_files_are_never_created_and_read_as_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        F("a", pattern(10000, 1), None),
        F(".pad/6384", vec![0; 6384], Some("p")),
        F("b", pattern(20000, 2), None),
    ];
    let (t, data) = torrent("t", &files, 16384);
    let s = open(&t, dir.path()).unwrap();
    assert!(!dir.path().join("t/.pad").exists());
    let p0 = s.layout().piece(0).unwrap();
    let mut junk = data[..16384].to_vec();
    junk[12000] = 0xff; // a peer's nonsense in the padding is dropped
    s.write_block(p0, 0, &junk).unwrap();
    assert!(s.verify_piece(p0).unwrap());
    assert_eq!(s.read_block(p0, 9990, 20).unwrap(), &data[9990..10010]);
    assert!(!dir.path().join("t/.pad").exists());
    let have = s.check_all(|_, _| true).unwrap();
    assert_eq!(have.iter().map(PieceIndex::get).collect::<Vec<_>>(), [0]);
}

#[test]
fn sync_clears_dirty_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        F("a", pattern(20000, 1), None),
        F("b", pattern(30000, 2), None),
    ];
    let (t, data) = torrent("t", &files, 16384);
    let s = open(&t, dir.path()).unwrap();
    let p1 = s.layout().piece(1).unwrap();
    s.write_block(p1, 0, &data[16384..32768]).unwrap();
    assert!(s.files.iter().all(|f| f.dirty.load(Ordering::Relaxed)));
    s.sync_piece(s.layout().piece(0).unwrap()).unwrap();
    assert!(!s.files[0].dirty.load(Ordering::Relaxed));
    assert!(s.files[1].dirty.load(Ordering::Relaxed));
    s.sync_all().unwrap();
    assert!(s.files.iter().all(|f| !f.dirty.load(Ordering::Relaxed)));
}

fn layout() -> Layout {
    Layout::new(16384, 10 * 16384 + 5).unwrap()
}

fn sample() -> ResumeData {
    let l = layout();
    let mut have = Bitfield::empty(&l);
    have.set(l.piece(0).unwrap());
    have.set(l.piece(10).unwrap());
    ResumeData {
        info_hash: crate::InfoHash([7; 20]),
        piece_length: 16384,
        piece_count: 11,
        have,
        files: vec![
            Some(FileStamp {
                size: 100,
                mtime_ns: 1_700_000_000_123_456_789,
            }),
            None,
        ],
    }
}

#[test]
fn resume_data_round_trips_in_canonical_bencode() {
    let bytes = sample().to_bytes();
    assert!(crate::bencode::decode(&bytes, crate::bencode::DecodeOptions::strict()).is_ok());
    assert!(bytes.starts_with(b"d8:bitfield2:\x80\x20"), "{bytes:?}");
    assert_eq!(ResumeData::from_bytes(&bytes, &layout()).unwrap(), sample());
}

#[test]
fn resume_data_that_is_off_in_any_way_is_invalid() {
    let good = sample().to_bytes();
    let replace = |from: &[u8], to: &[u8]| {
        let at = good.windows(from.len()).position(|w| w == from).unwrap();
        [&good[..at], to, &good[at + from.len()..]].concat()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 1].to_vec()),
        ("trailing", [&good[..], b"x"].concat()),
        ("spare bit", replace(b"2:\x80\x20", b"2:\x80\x30")),
        (
            "short bitfield",
            replace(b"8:bitfield2:\x80\x20", b"8:bitfield1:\x80"),
        ),
        ("piece count", replace(b"i11e", b"i12e")),
        ("piece length", replace(b"i16384e", b"i32768e")),
        ("version", replace(b"7:versioni1e", b"7:versioni2e")),
        ("hash length", replace(b"20:\x07", b"19:")),
        ("three items", replace(b"li100e", b"li100ei1e")),
        ("one item", replace(b"ei1700000000123456789ee", b"ee")),
        ("negative size", replace(b"li100e", b"li-100e")),
        ("not a dict", b"le".to_vec()),
    ];
    for (what, bytes) in cases {
        assert!(
            ResumeData::from_bytes(&bytes, &layout()).is_err(),
            "{what}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn one_storage_serves_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = torrent("one.bin", &[F("", pattern(40000, 3), None)], 16384);
    let s = open(&t, dir.path()).unwrap();
    let p = s.layout().piece(1).unwrap();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                s.write_block(p, 0, &data[16384..32768]).unwrap();
                assert!(s.verify_piece(p).unwrap());
                s.sync_piece(p).unwrap();
            })
            .join()
            .unwrap();
        scope.spawn(|| {
            assert_eq!(s.read_block(p, 10, 5).unwrap(), &data[16394..16399]);
        });
    });
}
