//! Hostile input: mutated vectors never panic, and whatever strict decoding accepts is canonical
//! (it re-encodes to the very same bytes).

use bittern_core::bencode::{decode, DecodeOptions};
use bittern_core::Metainfo;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if at < out.len() => out[at] = b"0123456789ilde:-"[rng.below(16)],
            1 if at < out.len() => {
                out.remove(at);
            }
            2 => out.insert(at, rng.next() as u8),
            _ => out.truncate(at),
        }
    }
    out
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/torrents");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn strict_accepts_only_what_reencodes_identically() {
    let mut rng = Rng(0x5eed);
    let seeds = seeds();
    let mut accepted = 0;
    for round in 0..20_000 {
        let input = mutate(&mut rng, &seeds[round % seeds.len()]);
        if let Ok(doc) = decode(input.as_slice(), DecodeOptions::strict()) {
            assert_eq!(doc.root().to_value().encode(), input, "round {round}");
            accepted += 1;
        }
        let _ = decode(input.as_slice(), DecodeOptions::tolerant());
    }
    // The mutations must exercise both sides.
    assert!((100..19_000).contains(&accepted), "{accepted} accepted");
}

#[test]
fn mutated_torrents_load_or_fail_cleanly() {
    let mut rng = Rng(0xbad5eed);
    let seeds = seeds();
    let mut loaded = 0;
    for round in 0..20_000 {
        let input = mutate(&mut rng, &seeds[round % seeds.len()]);
        if let Ok(t) = Metainfo::from_bytes(&input) {
            loaded += 1;
            assert_eq!(t.as_bytes(), input.as_slice());
            for f in t.info().files() {
                assert!(f
                    .components()
                    .all(|c| !c.is_empty() && c != b".." && c != b"."));
            }
        }
    }
    assert!((100..19_000).contains(&loaded), "{loaded} loaded");
}

#[test]
fn token_and_depth_limits_are_errors_at_their_offset() {
    use bittern_core::bencode::{BencodeErrorKind, Limits};
    let few = DecodeOptions {
        limits: Limits {
            max_tokens: 3,
            ..Limits::default()
        },
        ..DecodeOptions::strict()
    };
    assert!(decode(&b"li1ei2ee"[..], few).is_ok());
    let error = decode(&b"li1ei2ei3ee"[..], few).unwrap_err();
    assert_eq!(error.kind, BencodeErrorKind::TokenLimit { limit: 3 });
    assert_eq!(error.offset, 7);
    let deep = [vec![b'l'; 101], vec![b'e'; 101]].concat();
    let error = decode(&deep[..], DecodeOptions::strict()).unwrap_err();
    assert_eq!(error.kind, BencodeErrorKind::DepthLimit { limit: 100 });
}
