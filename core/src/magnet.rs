//! Magnet links (BEP 9): `magnet:?xt=urn:btih:<info-hash>&dn=<name>&tr=<tracker>...`.
//!
//! [`Magnet::parse`] is strict about what identifies the torrent (exactly one `urn:btih:`
//! info-hash, in 40 hex digits or 32 base32 letters) and tolerant about the rest: keys it does
//! not know are skipped, as BEP 9 asks, while a known key with a value that cannot be used (a
//! peer address that is not one) is an error naming it. Each `tr` becomes a tier of its own, as
//! libtorrent does, `x.pe` gives peers to dial without a tracker, and `ws` web seeds are kept
//! for when they are used. [`Magnet`]'s `Display` writes the link back, and
//! [`Metainfo::magnet`](crate::Metainfo::magnet) makes one for a torrent.

use crate::metainfo::InfoHash;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;
use std::net::SocketAddr;

/// The longest magnet link accepted, in bytes: real ones with a few dozen trackers stay
/// under 8 KiB; this bounds what a stranger's link can make us keep.
pub const MAX_MAGNET_LEN: usize = 64 << 10;

/// A parsed magnet link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Magnet {
    pub info_hash: InfoHash,
    /// `dn`: the name to show until the metadata says otherwise.
    pub name: Option<String>,
    /// `tr`: tracker URLs, a tier each (BEP 12 order: the first is asked first).
    pub trackers: Vec<Vec<String>>,
    /// `x.pe`: peers to dial directly.
    pub peers: Vec<SocketAddr>,
    /// `ws`: web seed URLs (BEP 19).
    pub web_seeds: Vec<String>,
}

/// Why a magnet link cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MagnetError {
    #[error("not a magnet link (it must start with \"magnet:?\")")]
    NotMagnet,
    #[error("the magnet link is {0} bytes long, more than the {MAX_MAGNET_LEN} accepted")]
    TooLong(usize),
    #[error("the magnet link names no BitTorrent info-hash (xt=urn:btih:...)")]
    NoInfoHash,
    #[error("the magnet link's info-hash {0:?} is neither 40 hex digits nor 32 base32 letters")]
    BadInfoHash(String),
    #[error("the magnet link names two different info-hashes")]
    TwoInfoHashes,
    #[error("the magnet link's peer {0:?} is not an address and port (x.pe=1.2.3.4:6881)")]
    BadPeer(String),
}

/// What stays as it is in a written link's values: unreserved characters, and `:` and `/` so
/// that tracker URLs stay readable. `&`, `=`, `+`, `#`, `%` and the rest are escaped.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'/');

impl Magnet {
    /// A link with nothing but the info-hash.
    pub fn new(info_hash: InfoHash) -> Magnet {
        Magnet {
            info_hash,
            name: None,
            trackers: Vec::new(),
            peers: Vec::new(),
            web_seeds: Vec::new(),
        }
    }

    /// Parses a magnet link (`magnet:?xt=urn:btih:...`, the scheme in any case). Values are
    /// percent-decoded (`+` is a space); invalid UTF-8 in a value is replaced.
    pub fn parse(link: &str) -> Result<Magnet, MagnetError> {
        if link.len() > MAX_MAGNET_LEN {
            return Err(MagnetError::TooLong(link.len()));
        }
        let query = link
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("magnet:?"))
            .map(|_| &link[8..])
            .ok_or(MagnetError::NotMagnet)?;
        let mut info_hash = None;
        let mut magnet = Magnet::new(InfoHash([0; 20]));
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "xt" => {
                    // Other URNs (urn:btmh: for v2, urn:sha1:, ...) are not ours to use yet.
                    let Some(hash) = strip_prefix_ignore_case(&value, "urn:btih:") else {
                        continue;
                    };
                    let hash = parse_info_hash(hash)?;
                    if info_hash.is_some_and(|seen| seen != hash) {
                        return Err(MagnetError::TwoInfoHashes);
                    }
                    info_hash = Some(hash);
                }
                "dn" => magnet.name = Some(value.into_owned()),
                "tr" if !value.is_empty() => magnet.trackers.push(vec![value.into_owned()]),
                "ws" if !value.is_empty() => magnet.web_seeds.push(value.into_owned()),
                "x.pe" => magnet.peers.push(
                    value
                        .parse()
                        .map_err(|_| MagnetError::BadPeer(value.into_owned()))?,
                ),
                _ => {}
            }
        }
        magnet.info_hash = info_hash.ok_or(MagnetError::NoInfoHash)?;
        Ok(magnet)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// 40 hex digits or 32 base32 letters (RFC 4648, either case), as BEP 9 allows.
fn parse_info_hash(text: &str) -> Result<InfoHash, MagnetError> {
    let bad = || MagnetError::BadInfoHash(text.chars().take(64).collect());
    let bytes = match text.len() {
        40 => data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes()),
        32 => data_encoding::BASE32.decode(text.to_ascii_uppercase().as_bytes()),
        _ => return Err(bad()),
    }
    .map_err(|_| bad())?;
    Ok(InfoHash(bytes.try_into().map_err(|_| bad())?))
}

impl fmt::Display for Magnet {
    /// The link: the info-hash in lowercase hex, then `dn`, each `tr` (tiers in order),
    /// `ws` and `x.pe`, values percent-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "magnet:?xt=urn:btih:{}", self.info_hash.to_hex())?;
        let mut pair =
            |key: &str, value: &str| write!(f, "&{key}={}", utf8_percent_encode(value, VALUE));
        if let Some(name) = &self.name {
            pair("dn", name)?;
        }
        for url in self.trackers.iter().flatten() {
            pair("tr", url)?;
        }
        for url in &self.web_seeds {
            pair("ws", url)?;
        }
        for peer in &self.peers {
            pair("x.pe", &peer.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    fn hash() -> InfoHash {
        parse_info_hash(HEX).unwrap()
    }

    #[test]
    fn hex_and_base32_name_the_same_hash() {
        let base32 = data_encoding::BASE32.encode(hash().as_bytes());
        assert_eq!(base32.len(), 32);
        for link in [
            format!("magnet:?xt=urn:btih:{HEX}"),
            format!("magnet:?xt=urn:btih:{}", HEX.to_uppercase()),
            format!("MAGNET:?xt=URN:BTIH:{base32}"),
            format!("magnet:?xt=urn:btih:{}", base32.to_lowercase()),
        ] {
            assert_eq!(Magnet::parse(&link).unwrap().info_hash, hash(), "{link}");
        }
    }

    #[test]
    fn every_field_is_read_and_each_tracker_is_a_tier() {
        let link = format!(
            "magnet:?xt=urn:btih:{HEX}&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Ftracker.example%3A80\
             &tr=http://t2.example/announce%3Fk%3D1&ws=https://seed.example/f&x.pe=10.0.0.1:6881\
             &x.pe=[2001:db8::1]:51413&so=0-3&xl=123&future=x"
        );
        let m = Magnet::parse(&link).unwrap();
        assert_eq!(m.name.as_deref(), Some("Big Buck Bunny"));
        assert_eq!(
            m.trackers,
            [
                vec!["udp://tracker.example:80".to_owned()],
                vec!["http://t2.example/announce?k=1".to_owned()]
            ]
        );
        assert_eq!(m.web_seeds, ["https://seed.example/f"]);
        assert_eq!(
            m.peers,
            [
                "10.0.0.1:6881".parse::<SocketAddr>().unwrap(),
                "[2001:db8::1]:51413".parse().unwrap()
            ]
        );
    }

    #[test]
    fn written_links_read_back_the_same() {
        let m = Magnet {
            info_hash: hash(),
            name: Some("a&b=c +100% #1 été".into()),
            trackers: vec![
                vec!["http://t.example/announce?passkey=a&b".into()],
                vec!["udp://u.example:6969".into()],
            ],
            peers: vec!["[::1]:6881".parse().unwrap()],
            web_seeds: vec!["https://w.example/x y".into()],
        };
        let link = m.to_string();
        assert!(link.starts_with(&format!(
            "magnet:?xt=urn:btih:{HEX}&dn=a%26b%3Dc%20%2B100%25"
        )));
        assert!(link.contains("&tr=udp://u.example:6969"), "{link}");
        assert_eq!(Magnet::parse(&link).unwrap(), m);
        assert_eq!(
            Magnet::new(hash()).to_string(),
            format!("magnet:?xt=urn:btih:{HEX}")
        );
    }

    #[test]
    fn malformed_links_are_clear_errors() {
        let cases = [
            (
                "http://example.com/?xt=urn:btih:".to_owned(),
                MagnetError::NotMagnet,
            ),
            ("magnet:".to_owned(), MagnetError::NotMagnet),
            ("magnet:?dn=x".to_owned(), MagnetError::NoInfoHash),
            (
                "magnet:?xt=urn:btmh:1220abcd".to_owned(),
                MagnetError::NoInfoHash,
            ),
            (
                "magnet:?xt=urn:btih:abc".to_owned(),
                MagnetError::BadInfoHash("abc".into()),
            ),
            (
                format!("magnet:?xt=urn:btih:{}", "g".repeat(40)),
                MagnetError::BadInfoHash("g".repeat(40)),
            ),
            (
                format!("magnet:?xt=urn:btih:{}", "1".repeat(32)),
                MagnetError::BadInfoHash("1".repeat(32)),
            ),
            (
                format!("magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{}", "0".repeat(40)),
                MagnetError::TwoInfoHashes,
            ),
            (
                format!("magnet:?xt=urn:btih:{HEX}&x.pe=tracker.example"),
                MagnetError::BadPeer("tracker.example".into()),
            ),
        ];
        for (link, expected) in cases {
            assert_eq!(Magnet::parse(&link), Err(expected), "{link}");
        }
        let long = format!(
            "magnet:?xt=urn:btih:{HEX}&dn={}",
            "x".repeat(MAX_MAGNET_LEN)
        );
        assert!(matches!(Magnet::parse(&long), Err(MagnetError::TooLong(_))));
        // The same hash twice is one hash; unknown URNs beside it are skipped.
        let twice = format!("magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{HEX}&xt=urn:btmh:1220ab");
        assert_eq!(Magnet::parse(&twice).unwrap().info_hash, hash());
        // Not a char boundary where the scheme would end: an error, not a panic.
        assert_eq!(Magnet::parse("magnet:é?"), Err(MagnetError::NotMagnet));
    }
}
