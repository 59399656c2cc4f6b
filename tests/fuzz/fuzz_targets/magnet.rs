//! Magnet links (BEP 9), as they come from a web page. Invariants: an accepted link names
//! exactly the info-hash it is written back with, and written back it parses again to the same
//! link; nothing accepted is longer than the bound.
#![no_main]

use bittern_core::magnet::{Magnet, MAX_MAGNET_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(link) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(magnet) = Magnet::parse(link) {
        assert!(link.len() <= MAX_MAGNET_LEN);
        let written = magnet.to_string();
        let again = Magnet::parse(&written).expect("a link we wrote parses");
        assert_eq!(again, magnet, "{written}");
        assert!(written.starts_with(&format!("magnet:?xt=urn:btih:{}", magnet.info_hash)));
    }
});
