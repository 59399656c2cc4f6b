//! BEP 15's packets, as a client or a tracker sends them: the first byte picks the side (a
//! request to our tracker, an answer to our client, over IPv4 or IPv6), the rest is the packet.
//! Invariants: what is accepted fits a packet (a scrape names at most its bound of torrents)
//! and written back decodes to the same value.
#![no_main]

use bittern_core::tracker::udp::{Request, Response, MAX_PACKET, MAX_SCRAPE_HASHES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, packet)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Ok(request) = Request::decode(packet) {
            assert!(packet.len() <= MAX_PACKET);
            if let Request::Scrape { info_hashes, .. } = &request {
                assert!(!info_hashes.is_empty() && info_hashes.len() <= MAX_SCRAPE_HASHES);
            }
            let mut out = Vec::new();
            request.encode(&mut out);
            assert_eq!(Request::decode(&out).expect("ours decodes"), request);
        }
    } else {
        let v6 = which & 2 != 0;
        if let Ok(response) = Response::decode(packet, v6) {
            let mut out = Vec::new();
            response.encode(&mut out);
            assert!(out.len() <= MAX_PACKET);
            let again = Response::decode(&out, v6).expect("ours decodes");
            // An error message is read as lossy UTF-8: the written one may differ in bytes.
            if !matches!(response, Response::Error { .. }) {
                assert_eq!(again, response);
            }
        }
    }
});
