//! BEP 11 (`ut_pex`): peer exchange, each peer telling the others which peers it is connected
//! to, as the difference with what it said before.
//!
//! [`PexMessage`] is the wire codec (compact addresses, 6 bytes for IPv4 and 18 for IPv6, with a
//! flags byte per added peer); [`PexState`] remembers what one peer has been told and makes the
//! next message. Timing (BEP 11: at most one message a minute) is the caller's.

use super::{decode_body, dict_root, ExtensionError};
use crate::bencode::{Encoder, Node};
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

const EXT: &str = "ut_pex";

/// Peers per list in one message, at most (BEP 11: added and dropped each up to 50).
pub const MAX_PEERS_PER_MESSAGE: usize = 50;

/// Entries read from one list of a received message: lenient to senders that exceed BEP 11's
/// 50 (some do, when many peers came at once), bounded so a message cannot flood the peer
/// list; the rest is ignored. [`MAX_PAYLOAD`](super::MAX_PAYLOAD) bounds a message to about
/// 2800 IPv4 entries, far more than anyone needs.
pub const MAX_ACCEPTED: usize = 200;

const V4_LEN: usize = 6;
const V6_LEN: usize = 18;

/// The flags byte of an added peer (BEP 11; holepunch from libtorrent's ut_holepunch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PexFlags(pub u8);

impl PexFlags {
    /// It prefers encrypted connections.
    pub const ENCRYPTION: u8 = 0x01;
    /// It is a seed (or upload only).
    pub const SEED: u8 = 0x02;
    /// It speaks uTP.
    pub const UTP: u8 = 0x04;
    /// It speaks ut_holepunch.
    pub const HOLEPUNCH: u8 = 0x08;
    /// It accepts incoming connections (the sender reached it, or it reached the sender).
    pub const REACHABLE: u8 = 0x10;

    pub fn is_seed(self) -> bool {
        self.0 & Self::SEED != 0
    }
}

/// A peer exchange message: peers connected since the last one, and peers gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PexMessage {
    pub added: Vec<(SocketAddr, PexFlags)>,
    pub dropped: Vec<SocketAddr>,
}

impl PexMessage {
    /// The message's body (what follows the extended id byte): `added`, `added.f`, `added6`,
    /// `added6.f`, `dropped`, `dropped6`, every key present (as libtorrent sends them), sorted.
    /// IPv4-mapped IPv6 addresses go in the IPv4 lists. Everything given is written: keep
    /// each list to [`MAX_PEERS_PER_MESSAGE`] ([`PexState`] does).
    pub fn encode(&self) -> Vec<u8> {
        let (mut added, mut added_f, mut added6, mut added6_f) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &(addr, flags) in &self.added {
            match canonical(addr) {
                SocketAddr::V4(a) => {
                    push_v4(&mut added, a);
                    added_f.push(flags.0);
                }
                SocketAddr::V6(a) => {
                    push_v6(&mut added6, a);
                    added6_f.push(flags.0);
                }
            }
        }
        let (mut dropped, mut dropped6) = (Vec::new(), Vec::new());
        for &addr in &self.dropped {
            match canonical(addr) {
                SocketAddr::V4(a) => push_v4(&mut dropped, a),
                SocketAddr::V6(a) => push_v6(&mut dropped6, a),
            }
        }
        let mut e = Encoder::with_capacity(
            64 + added.len()
                + added_f.len()
                + added6.len()
                + added6_f.len()
                + dropped.len()
                + dropped6.len(),
        );
        e.begin_dict()
            .bytes(b"added")
            .bytes(&added)
            .bytes(b"added.f")
            .bytes(&added_f)
            .bytes(b"added6")
            .bytes(&added6)
            .bytes(b"added6.f")
            .bytes(&added6_f)
            .bytes(b"dropped")
            .bytes(&dropped)
            .bytes(b"dropped6")
            .bytes(&dropped6)
            .end();
        e.finish()
    }

    /// Decodes a body, strictly and within [`DECODE_OPTIONS`](super::DECODE_OPTIONS). Absent
    /// lists are empty; a list that is not a byte string, or whose length is not a multiple of
    /// 6 (IPv4) or 18 (IPv6), is an error. At most [`MAX_ACCEPTED`] entries are read from each
    /// list. A flags list shorter than its peers gives the rest flags 0. Port 0 and
    /// unspecified, multicast and broadcast addresses are skipped: nobody can be reached there.
    pub fn decode(payload: &[u8]) -> Result<PexMessage, ExtensionError> {
        let doc = decode_body(EXT, payload)?;
        let root = dict_root(EXT, &doc)?;
        let mut message = PexMessage::default();
        for (list, flags, entry) in [("added", "added.f", V4_LEN), ("added6", "added6.f", V6_LEN)] {
            let addrs = compact(root, list, entry)?;
            let flags = bytes_field(root, flags)?.unwrap_or_default();
            message.added.extend(
                addrs
                    .enumerate()
                    .filter_map(|(i, a)| Some((a?, PexFlags(flags.get(i).copied().unwrap_or(0))))),
            );
        }
        for (list, entry) in [("dropped", V4_LEN), ("dropped6", V6_LEN)] {
            message
                .dropped
                .extend(compact(root, list, entry)?.flatten());
        }
        Ok(message)
    }
}

/// What one peer has been told: the next message is the difference with the peers we are
/// connected to now.
#[derive(Debug, Default)]
pub struct PexState {
    /// The peers this one has been told of, with the flags it was told.
    told: BTreeMap<SocketAddr, PexFlags>,
}

impl PexState {
    /// The message to send (`None` if nothing changed), at most [`MAX_PEERS_PER_MESSAGE`]
    /// added and dropped; what did not fit goes in a later message. `current` excludes the
    /// peer being told; an address listed twice counts once (the first). A peer whose flags
    /// changed is not sent again.
    pub fn next_message(&mut self, current: &[(SocketAddr, PexFlags)]) -> Option<PexMessage> {
        let mut seen = HashSet::with_capacity(current.len());
        let mut message = PexMessage::default();
        for &(addr, flags) in current {
            if !seen.insert(addr) {
                continue;
            }
            if message.added.len() < MAX_PEERS_PER_MESSAGE && !self.told.contains_key(&addr) {
                message.added.push((addr, flags));
            }
        }
        message.dropped = self
            .told
            .keys()
            .filter(|addr| !seen.contains(*addr))
            .take(MAX_PEERS_PER_MESSAGE)
            .copied()
            .collect();
        if message.added.is_empty() && message.dropped.is_empty() {
            return None;
        }
        for addr in &message.dropped {
            self.told.remove(addr);
        }
        self.told.extend(message.added.iter().copied());
        Some(message)
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 addresses they are.
fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

fn push_v4(out: &mut Vec<u8>, a: SocketAddrV4) {
    out.extend_from_slice(&a.ip().octets());
    out.extend_from_slice(&a.port().to_be_bytes());
}

fn push_v6(out: &mut Vec<u8>, a: SocketAddrV6) {
    out.extend_from_slice(&a.ip().octets());
    out.extend_from_slice(&a.port().to_be_bytes());
}

/// A byte-string field; absent is `None`, another type an error.
fn bytes_field<'d>(root: Node<'d>, key: &'static str) -> Result<Option<&'d [u8]>, ExtensionError> {
    match root.get(key.as_bytes()) {
        None => Ok(None),
        Some(v) => v.as_bytes().map(Some).ok_or(ExtensionError::Field {
            ext: EXT,
            field: key,
            why: "is not a byte string",
        }),
    }
}

/// The first [`MAX_ACCEPTED`] entries of a compact list, `None` for those that cannot be
/// reached.
fn compact<'d>(
    root: Node<'d>,
    key: &'static str,
    entry: usize,
) -> Result<impl Iterator<Item = Option<SocketAddr>> + 'd, ExtensionError> {
    let bytes = bytes_field(root, key)?.unwrap_or_default();
    if bytes.len() % entry != 0 {
        return Err(ExtensionError::CompactLength {
            ext: EXT,
            field: key,
            len: bytes.len(),
            entry,
        });
    }
    Ok(bytes
        .chunks_exact(entry)
        .take(MAX_ACCEPTED)
        .map(|c| reachable(parse_compact(c))))
}

fn parse_compact(c: &[u8]) -> SocketAddr {
    let (ip, port) = c.split_at(c.len() - 2);
    let port = u16::from_be_bytes([port[0], port[1]]);
    let ip = match <[u8; 4]>::try_from(ip) {
        Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
        Err(_) => {
            let mut v6 = [0u8; 16];
            v6.copy_from_slice(ip);
            IpAddr::V6(Ipv6Addr::from(v6))
        }
    };
    SocketAddr::new(ip, port)
}

fn reachable(addr: SocketAddr) -> Option<SocketAddr> {
    let addr = canonical(addr);
    let bad = addr.port() == 0
        || addr.ip().is_unspecified()
        || addr.ip().is_multicast()
        || matches!(addr.ip(), IpAddr::V4(v4) if v4.is_broadcast());
    (!bad).then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port)
    }

    fn v6(last: u16, port: u16) -> SocketAddr {
        SocketAddr::new(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)),
            port,
        )
    }

    #[test]
    fn round_trip_v4_and_v6_with_flags() {
        let message = PexMessage {
            added: vec![
                (
                    v4(10, 0, 0, 1, 6881),
                    PexFlags(PexFlags::SEED | PexFlags::UTP),
                ),
                (v6(1, 51413), PexFlags(PexFlags::REACHABLE)),
                (v4(192, 168, 1, 2, 80), PexFlags::default()),
            ],
            dropped: vec![v4(1, 2, 3, 4, 5), v6(2, 6)],
        };
        let bytes = message.encode();
        let decoded = PexMessage::decode(&bytes).unwrap();
        // IPv4 entries come first on the wire.
        assert_eq!(
            decoded.added,
            [message.added[0], message.added[2], message.added[1]]
        );
        assert_eq!(decoded.dropped, message.dropped);
        assert!(decoded.added[0].1.is_seed());
        assert!(!decoded.added[1].1.is_seed());
        assert_eq!(
            PexMessage::default().encode(),
            b"d5:added0:7:added.f0:6:added60:8:added6.f0:7:dropped0:8:dropped60:e"
        );
        let one = PexMessage {
            added: vec![(v4(1, 2, 3, 4, 0x1ae1), PexFlags(0x12))],
            dropped: vec![],
        };
        assert_eq!(
            one.encode(),
            b"d5:added6:\x01\x02\x03\x04\x1a\xe17:added.f1:\x126:added60:8:added6.f0:\
              7:dropped0:8:dropped60:e"
        );
        // A mapped address travels as IPv4.
        let mapped = SocketAddr::new(
            IpAddr::V6(Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped()),
            0x1ae1,
        );
        let message = PexMessage {
            added: vec![(mapped, PexFlags(0x12))],
            dropped: vec![],
        };
        assert_eq!(message.encode(), one.encode());
    }

    #[test]
    fn a_libtorrent_style_message_without_some_keys_is_read() {
        let message = PexMessage::decode(b"d5:added6:\x7f\x00\x00\x01\x1a\xe1e").unwrap();
        assert_eq!(message.added, [(v4(127, 0, 0, 1, 6881), PexFlags(0))]);
        assert!(message.dropped.is_empty());
        assert_eq!(PexMessage::decode(b"de").unwrap(), PexMessage::default());
    }

    #[test]
    fn odd_lengths_and_wrong_types_are_errors() {
        let e = PexMessage::decode(b"d5:added5:abcdee").unwrap_err();
        assert_eq!(
            e,
            ExtensionError::CompactLength {
                ext: "ut_pex",
                field: "added",
                len: 5,
                entry: 6
            }
        );
        assert_eq!(
            e.to_string(),
            "ut_pex message: \"added\" is 5 bytes, not a multiple of 6"
        );
        let mut bad6 = b"d8:dropped612:".to_vec();
        bad6.extend([1u8; 12]);
        bad6.push(b'e');
        assert!(matches!(
            PexMessage::decode(&bad6).unwrap_err(),
            ExtensionError::CompactLength { entry: 18, .. }
        ));
        let e = PexMessage::decode(b"d7:droppedi1ee").unwrap_err();
        assert!(e.to_string().contains("not a byte string"), "{e}");
        let e = PexMessage::decode(b"d5:added0:7:added.fi0ee").unwrap_err();
        assert!(e.to_string().contains("added.f"), "{e}");
        // Strict bencode, a dictionary, bounded.
        assert!(matches!(
            PexMessage::decode(b"d7:dropped0:5:added0:e").unwrap_err(),
            ExtensionError::Bencode { .. }
        ));
        assert!(matches!(
            PexMessage::decode(b"0:").unwrap_err(),
            ExtensionError::NotADict { .. }
        ));
        assert!(matches!(
            PexMessage::decode(&vec![b'x'; super::super::MAX_PAYLOAD + 1]).unwrap_err(),
            ExtensionError::TooLong { .. }
        ));
    }

    #[test]
    fn bounds_and_unreachable_addresses() {
        // 250 entries: the first 200 read; no flags: all 0.
        let mut added = Vec::new();
        for i in 0..250u16 {
            added.extend([10, 0, (i >> 8) as u8, i as u8]);
            added.extend(6881u16.to_be_bytes());
        }
        let mut body = format!("d5:added{}:", added.len()).into_bytes();
        body.extend(&added);
        body.extend(b"7:added.f1:\x02e");
        let message = PexMessage::decode(&body).unwrap();
        assert_eq!(message.added.len(), MAX_ACCEPTED);
        assert_eq!(message.added[0].1, PexFlags(2));
        assert!(message.added[1..].iter().all(|a| a.1 == PexFlags(0)));
        assert_eq!(message.added[199].0, v4(10, 0, 0, 199, 6881));
        // Port 0, unspecified, multicast and broadcast addresses are skipped, flags stay aligned.
        let entries: [&[u8]; 5] = [
            b"\x01\x02\x03\x04\x00\x00",
            b"\x00\x00\x00\x00\x1a\xe1",
            b"\xe0\x00\x00\x01\x1a\xe1",
            b"\xff\xff\xff\xff\x1a\xe1",
            b"\x05\x06\x07\x08\x1a\xe1",
        ];
        let mut body = b"d5:added30:".to_vec();
        body.extend(entries.concat());
        body.extend(b"7:added.f5:\x01\x02\x03\x04\x05");
        let mut v6_entries = Vec::new();
        v6_entries.extend([0u8; 16]); // ::
        v6_entries.extend([0x1a, 0xe1]);
        v6_entries.extend([0xff, 0x02]);
        v6_entries.extend([0u8; 13]);
        v6_entries.extend([1, 0x1a, 0xe1]); // ff02::1
        body.extend(format!("6:added6{}:", v6_entries.len()).into_bytes());
        body.extend(&v6_entries);
        body.extend(b"7:dropped6:\x00\x00\x00\x00\x00\x01e");
        let message = PexMessage::decode(&body).unwrap();
        assert_eq!(message.added, [(v4(5, 6, 7, 8, 6881), PexFlags(5))]);
        assert!(message.dropped.is_empty());
    }

    #[test]
    fn state_sends_differences() {
        let mut state = PexState::default();
        assert_eq!(state.next_message(&[]), None);
        let a = (v4(1, 1, 1, 1, 1), PexFlags(0));
        let b = (v6(2, 2), PexFlags(PexFlags::SEED));
        let c = (v4(3, 3, 3, 3, 3), PexFlags(0));
        let m = state.next_message(&[a, b, a]).unwrap();
        assert_eq!(m.added, [a, b]);
        assert!(m.dropped.is_empty());
        assert_eq!(state.next_message(&[b, a]), None, "nothing changed");
        let m = state.next_message(&[b, c]).unwrap();
        assert_eq!(m.added, [c]);
        assert_eq!(m.dropped, [a.0]);
        let m = state.next_message(&[]).unwrap();
        assert!(m.added.is_empty());
        assert_eq!(m.dropped, [c.0, b.0]);
        assert_eq!(state.next_message(&[]), None);
        // A peer dropped and back is added again.
        assert_eq!(state.next_message(&[a]).unwrap().added, [a]);
    }

    #[test]
    fn more_than_fifty_go_over_several_messages() {
        let many: Vec<_> = (0..120u8)
            .map(|i| (v4(10, 0, 0, i, 6881), PexFlags(0)))
            .collect();
        let mut state = PexState::default();
        let mut sizes = Vec::new();
        let mut seen = Vec::new();
        while let Some(m) = state.next_message(&many) {
            sizes.push(m.added.len());
            seen.extend(m.added.iter().map(|a| a.0));
            let decoded = PexMessage::decode(&m.encode()).unwrap();
            assert_eq!(decoded, m);
        }
        assert_eq!(sizes, [50, 50, 20]);
        assert_eq!(seen, many.iter().map(|a| a.0).collect::<Vec<_>>());
        // All gone: dropped 50 at a time too.
        let mut dropped = Vec::new();
        while let Some(m) = state.next_message(&[]) {
            dropped.push(m.dropped.len());
            assert!(m.added.is_empty());
        }
        assert_eq!(dropped, [50, 50, 20]);
        // Some gone and some new in one message, each list bounded.
        let mut state = PexState::default();
        while state.next_message(&many[..60]).is_some() {}
        let m = state.next_message(&many[60..]).unwrap();
        assert_eq!((m.added.len(), m.dropped.len()), (50, 50));
        let m = state.next_message(&many[60..]).unwrap();
        assert_eq!((m.added.len(), m.dropped.len()), (10, 10));
        assert_eq!(state.next_message(&many[60..]), None);
    }
}
