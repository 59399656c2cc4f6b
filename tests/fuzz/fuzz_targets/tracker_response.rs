//! The tracker client's reading of announce and scrape answers. Invariants: no peer that
//! cannot be dialled is passed on; an accepted answer, written out again, reads back as the
//! same answer (so nothing was invented or half-read).
#![no_main]

use bittern_core::tracker::wire::is_dialable;
use bittern_core::tracker::{AnnounceResponse, ScrapeResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(answer) = AnnounceResponse::decode(data) {
        assert!(answer.peers.iter().all(|p| is_dialable(p.addr)));
        assert!(answer.peers.len() <= data.len() / 6);
        let again = AnnounceResponse::decode(&answer.encode(false, false))
            .expect("an answer written out reads back");
        assert_eq!(again, answer);
    }
    if let Ok(mut answer) = ScrapeResponse::decode(data) {
        let mut again = ScrapeResponse::decode(&answer.encode()).expect("a scrape reads back");
        answer.files.sort_by_key(|(hash, _)| *hash);
        again.files.sort_by_key(|(hash, _)| *hash);
        assert_eq!(again, answer);
    }
});
