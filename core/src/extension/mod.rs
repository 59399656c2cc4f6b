//! BEP 10 (the extension protocol): the extended handshake and the extensions we speak, one file
//! each: [`ut_metadata`] (BEP 9, fetching the info dictionary from peers) and [`ut_pex`]
//! (BEP 11, peer exchange).
//!
//! Extended messages travel as peer-wire message [`EXTENDED`] (20); the first payload byte is
//! the extended message id ([`HANDSHAKE_ID`] for the handshake, else the id the *receiver*
//! advertised in its handshake's `m`), the rest is the body these modules encode and decode.
//! Every body is bencode, decoded with the same strict, bounded decoder as everything else
//! (real clients, libtorrent, Transmission, aria2, qBittorrent, send canonical bencode), and
//! nothing here does I/O: the session feeds bodies in and sends what comes out.

pub mod ut_metadata;
pub mod ut_pex;

use crate::bencode::{self, BencodeError, DecodeOptions, Encoder, Limits, Mode, Node};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// BEP 10's message id for extended messages (the peer-wire id).
pub const EXTENDED: u8 = 20;

/// The extended message id of the extended handshake.
pub const HANDSHAKE_ID: u8 = 0;

/// The largest extended message payload (after the id byte 20: the extended id byte and the
/// body) we accept or send: a ut_metadata data message is a 16 KiB piece after a dictionary of
/// under 100 bytes; 1 KiB more leaves room for keys other clients may add. Handshakes and pex
/// messages (at most 2 x 50 IPv6 peers, about 2 KiB) are far smaller.
pub const MAX_PAYLOAD: usize = 16 * 1024 + 1024;

/// Decoding bounds for extension bodies: their dictionaries nest 2 deep (`m` in the handshake),
/// 4 leaves room for the unknown keys clients add; 1000 values is 20 times a full handshake
/// from libtorrent and keeps the token list under 16 KiB.
pub const DECODE_OPTIONS: DecodeOptions = DecodeOptions {
    mode: Mode::Strict,
    limits: Limits {
        max_depth: 4,
        max_tokens: 1000,
    },
};

/// The longest client name (`v`) we keep, in characters.
pub const MAX_CLIENT_LEN: usize = 64;

/// An extension we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extension {
    /// BEP 9: `ut_metadata`, the info dictionary fetched from peers (magnet links).
    Metadata,
    /// BEP 11: `ut_pex`, peer exchange.
    Pex,
}

impl Extension {
    pub const ALL: [Extension; 2] = [Extension::Metadata, Extension::Pex];

    /// The name in the handshake's `m`.
    pub fn name(self) -> &'static str {
        match self {
            Extension::Metadata => "ut_metadata",
            Extension::Pex => "ut_pex",
        }
    }

    /// The id we advertise in our `m`, so the id peers put on the messages they send us. Any
    /// nonzero distinct values do; these are fixed so a log reads the same every time.
    pub fn local_id(self) -> u8 {
        match self {
            Extension::Metadata => 1,
            Extension::Pex => 2,
        }
    }

    /// The extension of a message a peer sent us with extended id `id`.
    pub fn from_local_id(id: u8) -> Option<Extension> {
        Extension::ALL.into_iter().find(|e| e.local_id() == id)
    }
}

/// The extended handshake, both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedHandshake {
    /// The sender's ids for the extensions we know (from `m`; absent or 0 means it does not
    /// speak it or has disabled it).
    pub metadata_id: Option<u8>,
    pub pex_id: Option<u8>,
    /// `p`: the port the sender listens on (0 or out of range: `None`).
    pub port: Option<u16>,
    /// `v`: the sender's client name, lossy UTF-8, at most [`MAX_CLIENT_LEN`] characters.
    pub client: Option<String>,
    /// `yourip`: our address as the sender sees it (4 or 16 bytes, else `None`).
    pub your_ip: Option<IpAddr>,
    /// `reqq`: how many requests the sender queues (saturated to `u32::MAX`).
    pub reqq: Option<u32>,
    /// `metadata_size`: the size of the info dictionary (BEP 9); the caller checks it against
    /// [`ut_metadata::MAX_METADATA_SIZE`].
    pub metadata_size: Option<u64>,
}

/// What went wrong with an extended message; each says which extension and which rule.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    /// The body is not valid strict bencode within [`DECODE_OPTIONS`]' bounds.
    #[error("{ext} message: {source}")]
    Bencode {
        ext: &'static str,
        #[source]
        source: BencodeError,
    },
    /// The body is longer than any message of this kind may be.
    #[error("{ext} message of {len} bytes is longer than the {max} accepted")]
    TooLong {
        ext: &'static str,
        len: usize,
        max: usize,
    },
    /// A value that must be a dictionary is not (`what`: the message, or `m`).
    #[error("{ext} message: {what} is not a dictionary")]
    NotADict {
        ext: &'static str,
        what: &'static str,
    },
    /// A field is missing, of the wrong type, or out of range.
    #[error("{ext} message: {field:?} {why}")]
    Field {
        ext: &'static str,
        field: &'static str,
        why: &'static str,
    },
    /// A metadata size of 0 or above [`ut_metadata::MAX_METADATA_SIZE`].
    #[error("metadata size {size} is not in 1..={max}")]
    MetadataSize { size: u64, max: u64 },
    /// A `ut_metadata` data message whose data is not its piece's length.
    #[error("ut_metadata message: piece {piece} carries {len} bytes, expected {expected}")]
    DataLength {
        piece: u32,
        len: usize,
        expected: u32,
    },
    /// A compact peer list whose length is not a whole number of entries.
    #[error("{ext} message: {field:?} is {len} bytes, not a multiple of {entry}")]
    CompactLength {
        ext: &'static str,
        field: &'static str,
        len: usize,
        entry: usize,
    },
}

/// The `ext` of the handshake's errors.
const HANDSHAKE: &str = "extended handshake";

impl ExtendedHandshake {
    /// Our handshake before the optional fields: `m` with every extension at its local id.
    pub fn local() -> Self {
        ExtendedHandshake {
            metadata_id: Some(Extension::Metadata.local_id()),
            pex_id: Some(Extension::Pex.local_id()),
            ..ExtendedHandshake::default()
        }
    }

    /// The sender's id for `ext`, the one to put on messages of `ext` we send it.
    pub fn id_of(&self, ext: Extension) -> Option<u8> {
        match ext {
            Extension::Metadata => self.metadata_id,
            Extension::Pex => self.pex_id,
        }
    }

    /// Our handshake's body: `m` lists the extensions whose id is set, then the optional
    /// fields that are set, keys sorted (canonical bencode).
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(128);
        e.begin_dict();
        e.bytes(b"m").begin_dict();
        // Sorted: "ut_metadata" < "ut_pex".
        for ext in Extension::ALL {
            if let Some(id) = self.id_of(ext) {
                e.bytes(ext.name().as_bytes()).int(i64::from(id));
            }
        }
        e.end();
        if let Some(size) = self.metadata_size {
            e.bytes(b"metadata_size")
                .int(i64::try_from(size).unwrap_or(i64::MAX));
        }
        if let Some(port) = self.port {
            e.bytes(b"p").int(i64::from(port));
        }
        if let Some(reqq) = self.reqq {
            e.bytes(b"reqq").int(i64::from(reqq));
        }
        if let Some(client) = &self.client {
            e.bytes(b"v").bytes(client.as_bytes());
        }
        match self.your_ip {
            Some(IpAddr::V4(ip)) => {
                e.bytes(b"yourip").bytes(&ip.octets());
            }
            Some(IpAddr::V6(ip)) => {
                e.bytes(b"yourip").bytes(&ip.octets());
            }
            None => {}
        }
        e.end();
        e.finish()
    }

    /// Decodes a handshake body (the bytes after the extended id 0), strictly and within
    /// [`DECODE_OPTIONS`]: a body longer than [`MAX_PAYLOAD`], not a dictionary, or with an `m`
    /// that is not one is an error. An absent `m` is an empty one. Unknown keys and unknown
    /// extensions are ignored; an `m` value that is not an integer in 1..=255 means that
    /// extension is absent. Optional fields of the wrong type or out of range are treated as
    /// absent, except a negative `metadata_size`, which is an error (a peer that lies about the
    /// one number a metadata fetch relies on).
    pub fn decode(payload: &[u8]) -> Result<ExtendedHandshake, ExtensionError> {
        let doc = decode_body(HANDSHAKE, payload)?;
        let root = dict_root(HANDSHAKE, &doc)?;
        let mut hs = ExtendedHandshake::default();
        if let Some(m) = root.get(b"m") {
            let entries = m.as_dict().ok_or(ExtensionError::NotADict {
                ext: HANDSHAKE,
                what: "m",
            })?;
            for (name, id) in entries {
                let id = id
                    .as_int()
                    .and_then(|n| u8::try_from(n).ok())
                    .filter(|&n| n != 0);
                match name {
                    b"ut_metadata" => hs.metadata_id = id,
                    b"ut_pex" => hs.pex_id = id,
                    _ => {}
                }
            }
        }
        hs.port = int_field(root, b"p")
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&p| p != 0);
        hs.client = root.get(b"v").and_then(|v| v.as_bytes()).map(|v| {
            // Bounded before decoding: 4 bytes per character at most.
            let v = &v[..v.len().min(MAX_CLIENT_LEN * 4)];
            String::from_utf8_lossy(v)
                .chars()
                .take(MAX_CLIENT_LEN)
                .collect()
        });
        hs.your_ip = root
            .get(b"yourip")
            .and_then(|v| v.as_bytes())
            .and_then(ip_from_bytes);
        hs.reqq = int_field(root, b"reqq")
            .filter(|&n| n >= 0)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        hs.metadata_size = match int_field(root, b"metadata_size") {
            Some(n) if n < 0 => {
                return Err(ExtensionError::Field {
                    ext: HANDSHAKE,
                    field: "metadata_size",
                    why: "is negative",
                })
            }
            Some(n) => Some(n as u64),
            None => None,
        };
        Ok(hs)
    }
}

/// Checks a body's length and decodes it strictly within [`DECODE_OPTIONS`].
pub(crate) fn decode_body<'a>(
    ext: &'static str,
    body: &'a [u8],
) -> Result<bencode::Document<&'a [u8]>, ExtensionError> {
    check_len(ext, body.len())?;
    bencode::decode(body, DECODE_OPTIONS).map_err(|source| ExtensionError::Bencode { ext, source })
}

pub(crate) fn check_len(ext: &'static str, len: usize) -> Result<(), ExtensionError> {
    if len > MAX_PAYLOAD {
        return Err(ExtensionError::TooLong {
            ext,
            len,
            max: MAX_PAYLOAD,
        });
    }
    Ok(())
}

/// The root of a body, which must be a dictionary.
pub(crate) fn dict_root<'d, B: AsRef<[u8]>>(
    ext: &'static str,
    doc: &'d bencode::Document<B>,
) -> Result<Node<'d>, ExtensionError> {
    let root = doc.root();
    match root.as_dict() {
        Some(_) => Ok(root),
        None => Err(ExtensionError::NotADict {
            ext,
            what: "the message",
        }),
    }
}

/// An integer field, `None` when absent or of another type.
pub(crate) fn int_field(dict: Node<'_>, key: &[u8]) -> Option<i64> {
    dict.get(key).and_then(|v| v.as_int())
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ids_are_distinct_nonzero_and_found_again() {
        for ext in Extension::ALL {
            assert_ne!(ext.local_id(), HANDSHAKE_ID);
            assert_eq!(Extension::from_local_id(ext.local_id()), Some(ext));
        }
        assert_ne!(Extension::Metadata.local_id(), Extension::Pex.local_id());
        assert_eq!(Extension::from_local_id(0), None);
        assert_eq!(Extension::from_local_id(200), None);
        assert_eq!(Extension::Metadata.name(), "ut_metadata");
        assert_eq!(Extension::Pex.name(), "ut_pex");
    }

    #[test]
    fn handshake_round_trips_canonically() {
        let ours = ExtendedHandshake {
            port: Some(6881),
            client: Some("bittern 0.1".into()),
            your_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            reqq: Some(250),
            metadata_size: Some(31_235),
            ..ExtendedHandshake::local()
        };
        let bytes = ours.encode();
        assert_eq!(
            bytes,
            &b"d1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e\
               4:reqqi250e1:v11:bittern 0.16:yourip4:\x0a\x00\x00\x01e"[..]
        );
        // Canonical: the strict decoder takes it.
        assert_eq!(ExtendedHandshake::decode(&bytes).unwrap(), ours);
        let v6 = ExtendedHandshake {
            your_ip: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ..Default::default()
        };
        assert_eq!(
            v6.encode(),
            b"d1:mde6:yourip16:\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01e"
        );
        assert_eq!(ExtendedHandshake::decode(&v6.encode()).unwrap(), v6);
        assert_eq!(ours.id_of(Extension::Pex), Some(2));
    }

    #[test]
    fn a_libtorrent_like_handshake_is_read() {
        let body = b"d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e11:upload_onlyi3e\
            12:ut_holepunchi4e11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei5123e\
            4:reqqi500e11:upload_onlyi0e1:v17:libtorrent/2.0.9 6:yourip4:\x7f\x00\x00\x01e";
        let hs = ExtendedHandshake::decode(body).unwrap();
        assert_eq!(hs.metadata_id, Some(2));
        assert_eq!(hs.pex_id, Some(1));
        assert_eq!(hs.id_of(Extension::Metadata), Some(2));
        assert_eq!(hs.metadata_size, Some(5123));
        assert_eq!(hs.reqq, Some(500));
        assert_eq!(hs.port, None);
        assert_eq!(hs.client.as_deref(), Some("libtorrent/2.0.9 "));
        assert_eq!(hs.your_ip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[test]
    fn optional_fields_of_the_wrong_kind_are_absent() {
        let body = b"d1:md11:ut_metadatai0e6:ut_pexi256ee1:pi70000e4:reqqi-1e\
            1:v3:\xff\xfeA6:yourip3:abce";
        let hs = ExtendedHandshake::decode(body).unwrap();
        assert_eq!(hs.metadata_id, None);
        assert_eq!(hs.pex_id, None);
        assert_eq!(hs.port, None);
        assert_eq!(hs.reqq, None);
        assert_eq!(hs.your_ip, None);
        assert_eq!(hs.client.as_deref(), Some("\u{fffd}\u{fffd}A"));
        let hs = ExtendedHandshake::decode(
            b"d1:md6:ut_pex3:abce13:metadata_size1:x1:pi0e4:reqqi99999999999ee",
        )
        .unwrap();
        assert_eq!(hs.pex_id, None);
        assert_eq!(hs.port, None);
        assert_eq!(hs.reqq, Some(u32::MAX));
        assert_eq!(hs.metadata_size, None);
        // No `m` at all: no extensions.
        assert_eq!(
            ExtendedHandshake::decode(b"d1:pi1ee").unwrap(),
            ExtendedHandshake {
                port: Some(1),
                ..Default::default()
            }
        );
        // A long client name is cut to 64 characters.
        let mut long = b"d1:v200:".to_vec();
        long.extend([b'x'; 200]);
        long.push(b'e');
        let hs = ExtendedHandshake::decode(&long).unwrap();
        assert_eq!(hs.client.unwrap().len(), MAX_CLIENT_LEN);
    }

    #[test]
    fn malformed_handshakes_are_errors() {
        let e = ExtendedHandshake::decode(b"le").unwrap_err();
        assert_eq!(
            e,
            ExtensionError::NotADict {
                ext: "extended handshake",
                what: "the message"
            }
        );
        let e = ExtendedHandshake::decode(b"d1:mli1eee").unwrap_err();
        assert_eq!(
            e.to_string(),
            "extended handshake message: m is not a dictionary"
        );
        let e = ExtendedHandshake::decode(b"d13:metadata_sizei-5ee").unwrap_err();
        assert!(e.to_string().contains("metadata_size"), "{e}");
        // Strict: unsorted keys, trailing bytes and truncation are refused.
        for body in [&b"d1:pi1e1:md6:ut_pexi1eee"[..], b"d1:mdee\0", b"d1:md"] {
            let e = ExtendedHandshake::decode(body).unwrap_err();
            assert!(matches!(e, ExtensionError::Bencode { .. }), "{e}");
        }
        // Bounded: too deep, too many values, too long.
        let e = ExtendedHandshake::decode(b"d1:xllllleeeeee").unwrap_err();
        assert!(e.to_string().contains("nesting"), "{e}");
        let mut many = b"d1:xl".to_vec();
        many.extend(b"i0e".repeat(1000));
        many.extend(b"ee");
        let e = ExtendedHandshake::decode(&many).unwrap_err();
        assert!(e.to_string().contains("limit of 1000"), "{e}");
        let huge = vec![b'x'; MAX_PAYLOAD + 1];
        assert_eq!(
            ExtendedHandshake::decode(&huge).unwrap_err(),
            ExtensionError::TooLong {
                ext: "extended handshake",
                len: MAX_PAYLOAD + 1,
                max: MAX_PAYLOAD
            }
        );
    }
}
