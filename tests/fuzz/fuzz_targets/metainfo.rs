//! Loading a `.torrent`. Invariants: the info-hash is SHA-1 of the `info` value's exact bytes in
//! the input; no accepted file path can leave the download folder; the files tile the data and
//! the pieces cover it; a loaded torrent saves and loads again as the same torrent.
#![no_main]

use bittern_core::bencode::{decode, DecodeOptions};
use bittern_core::Metainfo;
use libfuzzer_sys::fuzz_target;
use sha1::{Digest, Sha1};
use std::path::{Component, Path};

fuzz_target!(|data: &[u8]| {
    let Ok(torrent) = Metainfo::from_bytes(data) else {
        return;
    };
    let doc = decode(data, DecodeOptions::tolerant()).expect("a loaded torrent is bencode");
    let info = doc
        .root()
        .get(b"info")
        .expect("a loaded torrent has an info dictionary");
    assert_eq!(
        torrent.info_bytes(),
        info.raw(),
        "the info bytes are the input's own"
    );
    let digest: [u8; 20] = Sha1::digest(info.raw()).into();
    assert_eq!(
        torrent.info_hash().0,
        digest,
        "info-hash is SHA-1 of the info span"
    );

    let folder = Path::new("/downloads");
    let mut offset = 0u64;
    for file in torrent.info().files() {
        let relative = file.relative_path();
        assert!(!file.path().is_empty());
        for component in relative.components() {
            assert!(
                matches!(component, Component::Normal(_)),
                "path component {component:?} of {relative:?} may leave the folder"
            );
        }
        for part in file.path().split(|&b| b == b'/') {
            assert!(!part.is_empty() && part != b"." && part != b"..");
            assert!(!part.iter().any(|&b| b == b'\\' || b < 0x20 || b == 0x7f));
        }
        assert!(folder.join(&relative).starts_with(folder));
        assert_eq!(file.offset(), offset, "files are laid end to end");
        offset = offset
            .checked_add(file.length())
            .expect("lengths cannot overflow");
    }
    let info = torrent.info();
    assert_eq!(offset, info.total_length());
    let pieces = info.total_length().div_ceil(info.piece_length());
    assert_eq!(info.piece_count() as u64, pieces);
    assert_eq!(info.pieces().len(), 20 * info.piece_count());

    let saved = torrent.to_bytes();
    let again = Metainfo::from_bytes(&saved).expect("a saved torrent loads");
    assert_eq!(again.info_hash(), torrent.info_hash());
    assert_eq!(again.info().files(), torrent.info().files());
});
