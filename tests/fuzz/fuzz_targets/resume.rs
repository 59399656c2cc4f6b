//! Loading a resume file. The layout it is checked against is read from the file's own
//! `piece length` and `piece count` when they make one (so the fuzzer gets past that check),
//! else a fixed one. Invariants: accepted data fits the torrent (bitfield, counts) and saves
//! and loads again as the same data; anything else is an error, never a panic.
#![no_main]

use bittern_core::bencode::{decode, DecodeOptions};
use bittern_core::piece::Layout;
use bittern_core::storage::ResumeData;
use libfuzzer_sys::fuzz_target;

fn claimed_layout(data: &[u8]) -> Option<Layout> {
    let doc = decode(data, DecodeOptions::strict()).ok()?;
    let root = doc.root();
    let piece_length = u64::try_from(root.get(b"piece length")?.as_int()?).ok()?;
    let count = u64::try_from(root.get(b"piece count")?.as_int()?).ok()?;
    let total = piece_length
        .checked_mul(count)?
        .checked_sub(piece_length / 2)?;
    Layout::new(piece_length, total)
}

fuzz_target!(|data: &[u8]| {
    let fixed = Layout::new(16384, 1 << 20).expect("a valid layout");
    for layout in claimed_layout(data).into_iter().chain([fixed]) {
        let Ok(resume) = ResumeData::from_bytes(data, &layout) else {
            continue;
        };
        assert_eq!(resume.piece_length, layout.piece_length());
        assert_eq!(resume.piece_count, layout.piece_count());
        assert_eq!(resume.have.as_bytes().len(), layout.bitfield_len());
        assert!(resume.have.count() <= layout.piece_count());
        assert!(resume.files.len() <= data.len());
        let again = ResumeData::from_bytes(&resume.to_bytes(), &layout).expect("saved data loads");
        assert_eq!(again, resume);
    }
});
