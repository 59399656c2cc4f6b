//! The tracker server's query parsing (announce and scrape), as it meets a request's raw query
//! string. Invariants: an accepted announce says what it was given (it sends and parses again
//! as the same announce) and has a usable port; an accepted scrape has at most the limit of
//! info-hashes and its query parses again to the same ones.
#![no_main]

use bittern_core::tracker::wire::{scrape_hashes_from_query, scrape_query};
use bittern_core::tracker::AnnounceRequest;
use libfuzzer_sys::fuzz_target;

const MAX_SCRAPE: usize = 64;

fuzz_target!(|data: &[u8]| {
    if let Ok(announce) = AnnounceRequest::from_query(data) {
        assert_ne!(announce.port, 0);
        assert!(announce.validate().is_ok());
        let again = AnnounceRequest::from_query(announce.to_query().as_bytes())
            .expect("an announce we accepted can be sent and read back");
        assert_eq!(again, announce);
    }
    if let Ok(hashes) = scrape_hashes_from_query(data, MAX_SCRAPE) {
        assert!(hashes.len() <= MAX_SCRAPE);
        let again = scrape_hashes_from_query(scrape_query(&hashes).as_bytes(), MAX_SCRAPE)
            .expect("a scrape we accepted can be sent and read back");
        assert_eq!(again, hashes);
    }
});
