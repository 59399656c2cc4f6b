//! Storage: pieces across files, blocks in any order, checking partial data, fast resume, a
//! bounded number of open files, and nothing written outside the download folder.
//!
//! The tests take one lock so that counting this process's descriptors is not disturbed.

use bittern_core::bencode::Encoder;
use bittern_core::metainfo::Metainfo;
use bittern_core::piece::{Bitfield, Layout, PieceIndex, BLOCK_SIZE};
use bittern_core::storage::{
    ResumeStatus, Storage, StorageError, StorageOptions, DEFAULT_MAX_OPEN_FILES,
};
use bittern_core::InfoHash;
use sha1::{Digest, Sha1};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add(seed ^ (i >> 8) as u8)
        })
        .collect()
}

/// A torrent: `files` as (path inside the torrent, bytes); one file with an empty path makes a
/// single-file torrent named `name`.
fn torrent(name: &str, files: &[(&str, Vec<u8>)], piece_length: u64) -> (Metainfo, Vec<u8>) {
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
        for (path, bytes) in files {
            e.begin_dict().bytes(b"length").int(bytes.len() as i64);
            e.bytes(b"path").begin_list();
            for c in path.split('/') {
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
    open_with(t, folder, StorageOptions::default())
}

fn open_with(
    t: &Metainfo,
    folder: &Path,
    options: StorageOptions,
) -> Result<Storage, StorageError> {
    Storage::open(t.info(), Layout::of(t.info()), folder, options)
}

fn pieces(b: &Bitfield) -> Vec<u32> {
    b.iter().map(PieceIndex::get).collect()
}

/// Every (piece, begin, length) block of the torrent, shuffled.
fn shuffled_blocks(layout: &Layout, seed: u64) -> Vec<(PieceIndex, u32, u32)> {
    let mut blocks: Vec<_> = layout
        .pieces()
        .flat_map(|p| {
            (0..layout.block_count(p)).map(move |b| (p, b * BLOCK_SIZE, layout.block_size(p, b)))
        })
        .collect();
    fastrand::Rng::with_seed(seed).shuffle(&mut blocks);
    blocks
}

/// Writes every block of `data` in a random order from `threads` threads.
fn write_all(s: &Storage, data: &[u8], threads: usize) {
    let layout = s.layout();
    let blocks = shuffled_blocks(&layout, 7);
    std::thread::scope(|scope| {
        for chunk in blocks.chunks(blocks.len().div_ceil(threads)) {
            scope.spawn(move || {
                for &(p, begin, len) in chunk {
                    let at = (layout.piece_offset(p) + u64::from(begin)) as usize;
                    s.write_block(p, begin, &data[at..at + len as usize])
                        .unwrap();
                }
            });
        }
    });
}

/// a 20000, b empty, c 5000, d 30000, e 40000 zeros, f 40000 = 135000 bytes, 9 pieces of 16 KiB
/// (the last 3928 bytes). Piece 1 spans a, c and d with b (empty) between; pieces 3 to 5
/// touch e; 6 to 8 lie in f.
fn six_files() -> (Metainfo, Vec<u8>) {
    let files = [
        ("a", pattern(20000, 1)),
        ("b", Vec::new()),
        ("c", pattern(5000, 2)),
        ("sub/d", pattern(30000, 3)),
        ("sub/e", vec![0; 40000]),
        ("z/f", pattern(40000, 4)),
    ];
    torrent("six", &files, 16384)
}

fn file_data<'d>(data: &'d [u8], t: &Metainfo, index: usize) -> &'d [u8] {
    let f = &t.info().files()[index];
    &data[f.offset() as usize..(f.offset() + f.length()) as usize]
}

#[test]
fn single_file_blocks_in_random_order_then_every_piece_verifies() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = torrent("movie.bin", &[("", pattern(5 * 16384 + 1234, 9))], 16384);
    let s = open(&t, dir.path()).unwrap();
    let layout = s.layout();
    assert_eq!(layout.piece_size(layout.piece(5).unwrap()), 1234);
    write_all(&s, &data, 3);
    for p in layout.pieces() {
        assert!(s.verify_piece(p).unwrap(), "piece {p}");
    }
    assert_eq!(std::fs::read(dir.path().join("movie.bin")).unwrap(), data);
    assert!(s.check_all(|_, _| true).unwrap().is_complete());
}

#[test]
fn multi_file_pieces_span_three_files_and_an_empty_one() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = six_files();
    let s = open(&t, dir.path()).unwrap();
    let root = dir.path().join("six");
    for (i, f) in t.info().files().iter().enumerate() {
        let path = dir.path().join(f.relative_path());
        assert_eq!(s.file_path(i), Some(path.as_path()));
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            f.length(),
            "{path:?}"
        );
    }
    assert!(root.join("b").is_file(), "the empty file exists");
    let layout = s.layout();
    assert_eq!(layout.piece_count(), 9);
    assert_eq!(layout.piece_size(layout.piece(8).unwrap()), 3928);

    // A block across a, (b,) c and d.
    let p1 = layout.piece(1).unwrap();
    s.write_block(p1, 3000, &data[19384..29384]).unwrap();
    assert_eq!(s.read_block(p1, 3000, 10000).unwrap(), &data[19384..29384]);

    write_all(&s, &data, 4);
    for p in layout.pieces() {
        assert!(s.verify_piece(p).unwrap(), "piece {p}");
    }
    for (i, f) in t.info().files().iter().enumerate() {
        let on_disk = std::fs::read(dir.path().join(f.relative_path())).unwrap();
        assert!(on_disk == file_data(&data, &t, i), "file {i}");
    }
    assert_eq!(s.read_piece(p1).unwrap(), &data[16384..32768]);
    let mut progress = Vec::new();
    let have = s
        .check_all(|done, total| {
            progress.push((done, total));
            true
        })
        .unwrap();
    assert!(have.is_complete());
    assert_eq!(progress.last(), Some(&(9, 9)));
}

/// Puts `data`'s files in `folder` as a previous download would have left them.
fn lay_out(folder: &Path, t: &Metainfo, data: &[u8], skip: &[usize]) {
    for (i, f) in t.info().files().iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let path = folder.join(f.relative_path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file_data(data, t, i)).unwrap();
    }
}

#[test]
fn check_all_finds_exactly_the_good_pieces_of_partial_data() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = six_files();
    // e (all zeros) is missing: storage creates it sparse, and its zeros would hash right for
    // piece 4, yet a file storage created holds no data, so pieces 3..=5 are absent.
    lay_out(dir.path(), &t, &data, &[4]);
    let d = dir.path().join("six/sub/d");
    let mut bytes = std::fs::read(&d).unwrap();
    bytes[40000 - 25000] ^= 1; // piece 2
    std::fs::write(&d, bytes).unwrap();
    let s = open(&t, dir.path()).unwrap();
    let have = s.check_all(|_, _| true).unwrap();
    assert_eq!(pieces(&have), [0, 1, 6, 7, 8]);
    // Reading anyway, the zeros storage created match e's zeros: 3..=5 would pass.
    for p in s.layout().pieces() {
        assert_eq!(
            s.verify_piece(p).unwrap(),
            have.has(p) || (3..=5).contains(&p.get())
        );
    }
    drop(s);

    // A short file: f holds 25000 of its 40000 bytes, so 7 and 8 are absent, 6 is whole.
    let dir = tempfile::tempdir().unwrap();
    lay_out(dir.path(), &t, &data, &[]);
    let f = dir.path().join("six/z/f");
    std::fs::write(&f, &file_data(&data, &t, 5)[..25000]).unwrap();
    let s = open(&t, dir.path()).unwrap();
    assert_eq!(
        std::fs::metadata(&f).unwrap().len(),
        40000,
        "extended sparse"
    );
    assert_eq!(
        pieces(&s.check_all(|_, _| true).unwrap()),
        [0, 1, 2, 3, 4, 5, 6]
    );
}

#[test]
fn check_all_can_be_cancelled() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = torrent("big", &[("", pattern(4 << 20, 5))], 16384);
    lay_out(dir.path(), &t, &data, &[]);
    let s = open(&t, dir.path()).unwrap();
    let mut calls = Vec::new();
    let e = s
        .check_all(|done, total| {
            calls.push((done, total));
            false
        })
        .unwrap_err();
    assert!(matches!(e, StorageError::Cancelled), "{e}");
    assert_eq!(calls, [(0, 256)], "asked once, before any work");
    assert_eq!(s.stats().peak_open_files, 0);
}

#[test]
fn resume_trusts_a_sound_file_and_rechecks_otherwise() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = six_files();
    let hash = t.info_hash();
    let s = open(&t, dir.path()).unwrap();
    let layout = s.layout();
    // Download all but piece 8 (write, verify, then count it as ours).
    let mut have = Bitfield::empty(&layout);
    for p in layout.pieces().filter(|p| p.get() != 8) {
        let at = layout.piece_offset(p) as usize;
        s.write_block(p, 0, &data[at..at + layout.piece_size(p) as usize])
            .unwrap();
        assert!(s.verify_piece(p).unwrap());
        have.set(p);
    }
    s.save_resume(&hash, &have).unwrap();
    let resume_file = dir
        .path()
        .join(format!(".bittern/{}.resume", hash.to_hex()));
    assert_eq!(s.resume_path(&hash), resume_file);
    assert!(resume_file.is_file());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".bittern"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    drop(s);

    // Sound: trusted as is, without opening a single file of the torrent.
    let s = open(&t, dir.path()).unwrap();
    let (got, status) = s.resume(&hash, |_, _| true).unwrap();
    assert_eq!(status, ResumeStatus::Trusted);
    assert_eq!(got, have);
    assert_eq!(s.stats().peak_open_files, 0, "nothing was read");

    // f's mtime moves (and one of its bytes changed): pieces 5..=8 are checked again,
    // the rest trusted.
    let f = dir.path().join("six/z/f");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[30000] ^= 1; // piece 7
    std::fs::write(&f, bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    let (got, status) = s.resume(&hash, |_, _| true).unwrap();
    assert_eq!(
        status,
        ResumeStatus::Stale {
            changed_files: 1,
            rechecked_pieces: 4
        }
    );
    assert_eq!(pieces(&got), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(got, s.check_all(|_, _| true).unwrap());

    // Corrupt: a full check.
    let mut bytes = std::fs::read(&resume_file).unwrap();
    let good = bytes.clone();
    let at = bytes.len() / 2;
    bytes[at] = b'?';
    std::fs::write(&resume_file, &bytes).unwrap();
    let (got, status) = s.resume(&hash, |_, _| true).unwrap();
    assert!(matches!(status, ResumeStatus::Invalid(_)), "{status:?}");
    assert_eq!(pieces(&got), [0, 1, 2, 3, 4, 5, 6]);
    std::fs::write(&resume_file, &good[..good.len() - 1]).unwrap();
    assert!(matches!(
        s.resume(&hash, |_, _| true).unwrap().1,
        ResumeStatus::Invalid(_)
    ));

    // Another torrent's resume data under this torrent's name: a full check.
    let other = InfoHash([0xab; 20]);
    let other_file = dir
        .path()
        .join(format!(".bittern/{}.resume", other.to_hex()));
    std::fs::write(&other_file, &good).unwrap();
    let (got, status) = s.resume(&other, |_, _| true).unwrap();
    assert_eq!(status, ResumeStatus::OtherTorrent);
    assert_eq!(pieces(&got), [0, 1, 2, 3, 4, 5, 6]);

    // None at all.
    std::fs::remove_file(&resume_file).unwrap();
    assert_eq!(
        s.resume(&hash, |_, _| true).unwrap().1,
        ResumeStatus::Missing
    );
}

#[test]
fn resume_refuses_claims_on_files_that_were_missing() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = six_files();
    let hash = t.info_hash();
    lay_out(dir.path(), &t, &data, &[]);
    let s = open(&t, dir.path()).unwrap();
    let layout = s.layout();
    // A session bug: claiming every piece, then f vanishes before the save.
    std::fs::remove_file(dir.path().join("six/z/f")).unwrap();
    s.save_resume(&hash, &Bitfield::full(&layout)).unwrap();
    let (got, status) = s.resume(&hash, |_, _| true).unwrap();
    assert!(
        matches!(status, ResumeStatus::Invalid(ref why) if why.contains("claimed")),
        "{status:?}"
    );
    assert_eq!(pieces(&got), [0, 1, 2, 3, 4]);
}

#[test]
fn two_thousand_files_never_hold_more_than_sixteen_handles() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..2000)
        .map(|i| {
            (
                format!("d{}/f{i:04}", i % 7),
                pattern(100 + i % 37, i as u8),
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    let (t, data) = torrent("many", &refs, 16384);
    let options = StorageOptions {
        max_open_files: 16,
        check_threads: 4,
        ..Default::default()
    };
    let fds = || std::fs::read_dir("/proc/self/fd").map(|d| d.count()).ok();
    let before = fds();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let s = open_with(&t, dir.path(), options).unwrap();
    let most = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut most = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(fds().unwrap_or(0));
                std::thread::yield_now();
            }
            most
        });
        write_all(&s, &data, 6);
        let all_good = s.layout().pieces().all(|p| s.verify_piece(p).unwrap());
        let have = s.check_all(|_, _| true).unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(all_good);
        assert!(have.is_complete());
        sampler.join().unwrap()
    });
    let stats = s.stats();
    assert_eq!(stats.max_open_files, 16);
    assert!(stats.peak_open_files <= 16, "{stats:?}");
    assert!(stats.peak_open_files >= 8, "the pool was used: {stats:?}");
    if let Some(before) = before {
        // The pool, the folder's descriptor, two folders while a path is walked.
        assert!(
            most <= before + 16 + 3,
            "{most} descriptors, {before} before"
        );
    }
    for (i, (path, bytes)) in files.iter().enumerate().step_by(97) {
        let on_disk = std::fs::read(dir.path().join("many").join(path)).unwrap();
        assert_eq!(&on_disk, bytes, "file {i}");
    }
    assert_eq!(
        StorageOptions::default().max_open_files,
        DEFAULT_MAX_OPEN_FILES
    );
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = walk(dir);
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let path = e.path();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn links_inside_the_folder_are_refused_and_nothing_is_written_outside() {
    let _serial = serial();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), b"keep me").unwrap();
    let untouched = listing(outside.path());
    let (t, data) = six_files();

    // A folder of the torrent is a link to outside.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("six")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("six/sub")).unwrap();
    let e = open(&t, dir.path()).unwrap_err();
    assert!(
        matches!(&e, StorageError::Symlink { path } if *path == dir.path().join("six/sub")),
        "{e:?}"
    );
    assert!(e.to_string().contains("six/sub is a symbolic link"), "{e}");
    assert!(
        !dir.path().join("six/a").exists(),
        "refused before creating anything"
    );
    assert_eq!(listing(outside.path()), untouched);

    // The file itself is a link (to a file outside, or to nothing yet).
    let (one, _) = torrent("one.bin", &[("", pattern(1000, 1))], 16384);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("precious"), dir.path().join("one.bin"))
        .unwrap();
    assert!(matches!(
        open(&one, dir.path()),
        Err(StorageError::Symlink { .. })
    ));
    std::fs::remove_file(dir.path().join("one.bin")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("new"), dir.path().join("one.bin")).unwrap();
    assert!(matches!(
        open(&one, dir.path()),
        Err(StorageError::Symlink { .. })
    ));
    assert_eq!(listing(outside.path()), untouched);

    // Even a link that stays inside the folder.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    std::fs::create_dir(dir.path().join("six")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("six/z")).unwrap();
    assert!(matches!(
        open(&t, dir.path()),
        Err(StorageError::Symlink { .. })
    ));

    // A link that appears after opening is not followed either.
    let dir = tempfile::tempdir().unwrap();
    let s = open(&t, dir.path()).unwrap();
    std::fs::remove_dir_all(dir.path().join("six/z")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("six/z")).unwrap();
    let p6 = s.layout().piece(6).unwrap();
    let e = s.write_block(p6, 0, &data[98304..114688]).unwrap_err();
    assert!(matches!(e, StorageError::Symlink { .. }), "{e:?}");
    assert!(!s.verify_piece(p6).is_ok_and(|ok| ok));

    // The resume folder, too.
    std::os::unix::fs::symlink(outside.path(), dir.path().join(".bittern")).unwrap();
    let e = s
        .save_resume(&t.info_hash(), &Bitfield::empty(&s.layout()))
        .unwrap_err();
    assert!(matches!(e, StorageError::Symlink { .. }), "{e:?}");
    assert_eq!(listing(outside.path()), untouched);
}

#[test]
fn a_custom_resume_folder_is_used() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let resume = tempfile::tempdir().unwrap();
    let (t, data) = six_files();
    lay_out(dir.path(), &t, &data, &[]);
    let options = StorageOptions {
        resume_dir: Some(resume.path().join("state")),
        ..Default::default()
    };
    let s = open_with(&t, dir.path(), options).unwrap();
    let (have, status) = s.resume(&t.info_hash(), |_, _| true).unwrap();
    assert_eq!(status, ResumeStatus::Missing);
    assert!(have.is_complete());
    s.save_resume(&t.info_hash(), &have).unwrap();
    assert!(resume
        .path()
        .join(format!("state/{}.resume", t.info_hash().to_hex()))
        .is_file());
    assert!(!dir.path().join(".bittern").exists());
    assert_eq!(
        s.resume(&t.info_hash(), |_, _| true).unwrap(),
        (have, ResumeStatus::Trusted)
    );
}
