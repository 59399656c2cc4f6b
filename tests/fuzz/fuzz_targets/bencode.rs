//! Bencode, both modes. Invariants: canonical input (accepted by strict mode) re-encodes to the
//! same bytes, and tolerant mode accepts it with no warning; whatever tolerant mode accepts
//! re-encodes to canonical bencode of the same value; every value's span is inside the input
//! and decodes on its own to the same value; errors point inside the input.
#![no_main]

use bittern_core::bencode::{decode, encode, DecodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let strict = decode(data, DecodeOptions::strict());
    let tolerant = decode(data, DecodeOptions::tolerant());
    match &strict {
        Ok(doc) => {
            let value = doc.root().to_value();
            assert_eq!(encode(&value), data, "canonical input must round-trip");
            let t = tolerant
                .as_ref()
                .expect("strict accepted it, so tolerant must");
            assert!(
                t.warnings().is_empty(),
                "canonical input has nothing to warn of"
            );
            assert_eq!(t.root().to_value(), value);
            for index in 0..doc.token_count().min(64) {
                let node = doc.node(index).expect("every token index has a node");
                let span = node.span();
                assert!(span.start < span.end && span.end <= data.len());
                let alone = decode(node.raw(), DecodeOptions::strict())
                    .expect("a canonical document's values are canonical on their own");
                assert_eq!(alone.root().to_value(), node.to_value());
            }
        }
        Err(e) => assert!(
            e.offset <= data.len(),
            "error offset {} past the input",
            e.offset
        ),
    }
    match &tolerant {
        Ok(doc) => {
            let value = doc.root().to_value();
            let canonical = encode(&value);
            let again = decode(&canonical[..], DecodeOptions::strict())
                .expect("re-encoding what tolerant accepted gives canonical bencode");
            assert_eq!(again.root().to_value(), value);
            assert!(doc.root().span().end <= data.len());
        }
        Err(e) => {
            assert!(
                e.offset <= data.len(),
                "error offset {} past the input",
                e.offset
            );
            assert!(strict.is_err(), "tolerant refused what strict accepted");
        }
    }
});
