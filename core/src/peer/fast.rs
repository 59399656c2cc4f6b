//! BEP 6 (Fast Extension): the canonical allowed-fast set, the pieces a choked peer may still
//! request from us.
//!
//! The set depends only on the peer's /24 and the info-hash, so a peer cannot get a different
//! set (and more free pieces) by reconnecting from another address in the same network.

use crate::metainfo::InfoHash;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// Pieces in an allowed-fast set we grant (BEP 6 suggests 10).
pub const ALLOWED_FAST_COUNT: usize = 10;

/// BEP 6's algorithm for `k` pieces of a torrent of `piece_count` pieces, in the order BEP 6
/// generates them.
///
/// IPv4 only: BEP 6 defines no IPv6 form, so an IPv6 peer gets an empty set (it can still
/// download once unchoked). libtorrent (checked at arvidn/libtorrent 069017e,
/// `peer_connection::send_allowed_set`) does not follow BEP 6 here: it hashes the whole address
/// unmasked (4 bytes for IPv4, 16 for IPv6), skips pieces the peer has, and defaults to 5
/// pieces, so its sets differ from BEP 6's and from ours; a set is only what one side grants,
/// so that does not break interop.
///
/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is treated as the IPv4 address it carries.
/// `piece_count` 0 or `k` 0 gives an empty set; `k >= piece_count` gives every piece once
/// (in index order), where BEP 6's loop would never end.
pub fn allowed_fast_set(ip: IpAddr, info_hash: &InfoHash, piece_count: u32, k: usize) -> Vec<u32> {
    let v4 = match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4,
            None => return Vec::new(),
        },
    };
    if piece_count == 0 || k == 0 {
        return Vec::new();
    }
    if k >= piece_count as usize {
        return (0..piece_count).collect();
    }
    let mut x = [0u8; 24];
    x[..4].copy_from_slice(&(u32::from(v4) & 0xffff_ff00).to_be_bytes());
    x[4..].copy_from_slice(info_hash.as_bytes());
    let mut hash: [u8; 20] = Sha1::digest(x).into();
    let mut set = Vec::with_capacity(k);
    // k < piece_count, so distinct pieces remain to be found; SHA-1's output reaches them
    // in practice. The bound on rounds keeps even a pathological case finite.
    for _round in 0..100_000 {
        for word in hash.chunks_exact(4) {
            let y = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            let index = y % piece_count;
            if !set.contains(&index) {
                set.push(index);
                if set.len() == k {
                    return set;
                }
            }
        }
        hash = Sha1::digest(hash).into();
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const BEP6_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(80, 4, 4, 200));

    #[test]
    fn bep6_vectors() {
        let hash = InfoHash([0xaa; 20]);
        assert_eq!(
            allowed_fast_set(BEP6_IP, &hash, 1313, 7),
            [1059, 431, 808, 1217, 287, 376, 1188]
        );
        assert_eq!(
            allowed_fast_set(BEP6_IP, &hash, 1313, 9),
            [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]
        );
    }

    #[test]
    fn the_set_depends_on_the_slash_24_only() {
        let hash = InfoHash([0xaa; 20]);
        let same_net = IpAddr::V4(Ipv4Addr::new(80, 4, 4, 1));
        let other_net = IpAddr::V4(Ipv4Addr::new(80, 4, 5, 200));
        let set = allowed_fast_set(BEP6_IP, &hash, 1313, ALLOWED_FAST_COUNT);
        assert_eq!(set.len(), ALLOWED_FAST_COUNT);
        assert_eq!(
            allowed_fast_set(same_net, &hash, 1313, ALLOWED_FAST_COUNT),
            set
        );
        assert_ne!(
            allowed_fast_set(other_net, &hash, 1313, ALLOWED_FAST_COUNT),
            set
        );
        let mapped = IpAddr::V6(Ipv4Addr::new(80, 4, 4, 200).to_ipv6_mapped());
        assert_eq!(allowed_fast_set(mapped, &hash, 1313, 7)[..2], [1059, 431]);
    }

    #[test]
    fn edge_cases_end() {
        let hash = InfoHash([0xaa; 20]);
        assert!(allowed_fast_set(BEP6_IP, &hash, 0, 10).is_empty());
        assert!(allowed_fast_set(BEP6_IP, &hash, 100, 0).is_empty());
        assert_eq!(allowed_fast_set(BEP6_IP, &hash, 3, 10), [0, 1, 2]);
        assert_eq!(allowed_fast_set(BEP6_IP, &hash, 10, 10).len(), 10);
        let mut nine = allowed_fast_set(BEP6_IP, &hash, 10, 9);
        nine.sort_unstable();
        nine.dedup();
        assert_eq!(nine.len(), 9);
        assert_eq!(allowed_fast_set(BEP6_IP, &hash, 1, 1), [0]);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert!(allowed_fast_set(v6, &hash, 1313, 10).is_empty());
    }
}
