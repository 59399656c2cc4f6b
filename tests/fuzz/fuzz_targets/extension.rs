//! The payloads of BEP 10's extended messages, as a peer sends them: the first byte picks the
//! decoder (the extended handshake, `ut_metadata`, `ut_pex`), the rest is the payload.
//! Invariants: what a decoder accepts is within its bounds, and written back it decodes to the
//! same message.
#![no_main]

use bittern_core::extension::ut_metadata::{self, MetadataMessage, MAX_METADATA_SIZE};
use bittern_core::extension::ut_pex::{PexMessage, MAX_ACCEPTED};
use bittern_core::extension::{ExtendedHandshake, MAX_PAYLOAD};
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;

/// The same address whichever list it came in (an IPv4-mapped IPv6 address goes in the IPv4
/// list when written).
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, payload)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(h) = ExtendedHandshake::decode(payload) {
                assert!(payload.len() <= MAX_PAYLOAD);
                assert!(h.client.as_ref().is_none_or(|c| c.chars().count() <= 64));
                let again = ExtendedHandshake::decode(&h.encode()).expect("ours decodes");
                assert_eq!(again, h);
            }
        }
        1 => {
            if let Ok(Some(m)) = MetadataMessage::decode(payload.to_vec().into()) {
                if let MetadataMessage::Data {
                    piece,
                    total_size,
                    data,
                } = &m
                {
                    assert!(*total_size > 0 && *total_size <= MAX_METADATA_SIZE);
                    assert!(*piece < ut_metadata::piece_count(*total_size));
                    assert_eq!(
                        data.len() as u32,
                        ut_metadata::piece_len(*total_size, *piece)
                    );
                }
                let again = MetadataMessage::decode(m.encode().into()).expect("ours decodes");
                assert_eq!(again, Some(m));
            }
        }
        _ => {
            if let Ok(m) = PexMessage::decode(payload) {
                assert!(m.added.len() <= 2 * MAX_ACCEPTED && m.dropped.len() <= 2 * MAX_ACCEPTED);
                assert!(m
                    .added
                    .iter()
                    .all(|(a, _)| a.port() != 0 && !a.ip().is_unspecified()));
                let again = PexMessage::decode(&m.encode()).expect("ours decodes");
                if m.added.len() > MAX_ACCEPTED || m.dropped.len() > MAX_ACCEPTED {
                    // Written back, IPv4-mapped addresses join the IPv4 list, which is read
                    // up to the bound.
                    return;
                }
                let addrs = |m: &PexMessage| {
                    let mut v: Vec<_> = m.added.iter().map(|(a, f)| (canonical(*a), *f)).collect();
                    v.sort_by_key(|(a, f)| (*a, f.0));
                    let mut d: Vec<_> = m.dropped.iter().map(|a| canonical(*a)).collect();
                    d.sort();
                    (v, d)
                };
                assert_eq!(addrs(&again), addrs(&m));
            }
        }
    }
});
