//! Bencode (BEP 3): a single-pass tokenizer, an owned [`Value`] tree and an encoder.
//!
//! [`decode`] turns input into a flat list of tokens, each with the byte span of its value, so a
//! caller can take the exact bytes of any value (the info-hash needs them). Decoding never
//! recurses and never allocates from a length prefix: strings are spans into the input, and a
//! string's claimed length is checked against the bytes that remain before it is accepted.
//!
//! Two modes:
//! - [`Mode::Strict`] accepts only canonical BEP 3: no `i-0e`, no leading zeros in integers or
//!   string lengths, dictionary keys sorted and unique, nothing after the top-level value.
//! - [`Mode::Tolerant`] (used to load torrents) also accepts what is non-canonical but
//!   unambiguous (unsorted keys, leading zeros, `-0`, trailing bytes) and reports each as a
//!   [`Warning`] with its offset. Malformed input (truncation, bad bytes, duplicate keys,
//!   overflow) is rejected in both modes.
//!
//! [`decode_prefix`] decodes one value at the start of input that goes on after it (BEP 9's
//! metadata `data` message: a dictionary, then raw bytes), and says where the value ends.
//!
//! Limits (see [`Limits`]): nesting depth (default [`Limits::DEFAULT_MAX_DEPTH`]), token count
//! (default [`Limits::DEFAULT_MAX_TOKENS`]) and input size (below 4 GiB, as spans are 32-bit).

mod decode;
mod encode;
mod value;

pub use decode::{decode, decode_prefix, Document, Entries, Items, Kind, Node};
pub use encode::{encode, Encoder};
pub use value::Value;

use std::fmt;

/// How strictly [`decode`] holds input to BEP 3's canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Canonical BEP 3 only; any deviation is an error.
    #[default]
    Strict,
    /// Non-canonical but unambiguous input is accepted and reported as warnings.
    Tolerant,
}

/// Bounds on what one [`decode`] call will accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of lists and dictionaries (the top-level value is depth 1).
    pub max_depth: usize,
    /// Most tokens (values, counting every key and container) in one document.
    pub max_tokens: usize,
}

impl Limits {
    /// Real torrents nest 4 or 5 deep; 100 leaves room for any honest use.
    pub const DEFAULT_MAX_DEPTH: usize = 100;
    /// About 8 tokens per file entry: room for a torrent with over a million files.
    pub const DEFAULT_MAX_TOKENS: usize = 10_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_tokens: Self::DEFAULT_MAX_TOKENS,
        }
    }
}

/// Options for [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    pub mode: Mode,
    pub limits: Limits,
}

impl DecodeOptions {
    pub fn strict() -> Self {
        DecodeOptions {
            mode: Mode::Strict,
            limits: Limits::default(),
        }
    }
    pub fn tolerant() -> Self {
        DecodeOptions {
            mode: Mode::Tolerant,
            limits: Limits::default(),
        }
    }
}

/// A malformed or (in strict mode) non-canonical input, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bencode error at byte {offset}: {kind}")]
pub struct BencodeError {
    /// Offset of the first byte at fault.
    pub offset: usize,
    pub kind: BencodeErrorKind,
}

/// What went wrong; each message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BencodeErrorKind {
    #[error("input ended early, expected {expected}")]
    UnexpectedEnd { expected: &'static str },
    #[error("unexpected byte {} ({found:#04x}), expected {expected}", Printable(*found))]
    UnexpectedByte { found: u8, expected: &'static str },
    #[error("empty integer, expected at least one digit")]
    EmptyInteger,
    #[error("'-0' is not canonical, expected 'i0e'")]
    NegativeZero,
    #[error("leading zero in integer, expected no leading zeros")]
    LeadingZeroInteger,
    #[error("leading zero in string length, expected no leading zeros")]
    LeadingZeroLength,
    #[error("'+' sign in integer, expected a digit or '-'")]
    PlusSign,
    #[error("integer does not fit in 64 bits")]
    IntegerOverflow,
    #[error("negative string length, expected a length of 0 or more")]
    NegativeLength,
    #[error("string length {length} runs past the end of input ({available} bytes remain)")]
    StringTooLong { length: u64, available: usize },
    #[error("dictionary key must be a byte string")]
    NonStringKey,
    #[error("dictionary key out of order, expected keys sorted by their raw bytes")]
    UnsortedKey,
    #[error("duplicate dictionary key")]
    DuplicateKey,
    #[error("dictionary key without a value")]
    MissingValue,
    #[error("trailing bytes after the top-level value, expected end of input")]
    TrailingBytes,
    #[error("nesting deeper than the limit of {limit}")]
    DepthLimit { limit: usize },
    #[error("more than the limit of {limit} values")]
    TokenLimit { limit: usize },
    #[error("input of {size} bytes is larger than bencode input may be here")]
    InputTooLarge { size: usize },
}

struct Printable(u8);

impl fmt::Display for Printable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            f.write_str("non-printable")
        }
    }
}

/// Something tolerant decoding accepted but that is not canonical BEP 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub offset: usize,
    pub kind: WarningKind,
}

/// The non-canonical forms that tolerant decoding accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    UnsortedKey,
    LeadingZeroInteger,
    LeadingZeroLength,
    NegativeZero,
    TrailingBytes,
}

impl Warning {
    /// What was accepted, without the offset.
    pub fn message(&self) -> &'static str {
        match self.kind {
            WarningKind::UnsortedKey => "dictionary key out of order",
            WarningKind::LeadingZeroInteger => "leading zero in integer",
            WarningKind::LeadingZeroLength => "leading zero in string length",
            WarningKind::NegativeZero => "'-0' integer",
            WarningKind::TrailingBytes => "trailing bytes after the top-level value ignored",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(input: &[u8]) -> Result<Document<&[u8]>, BencodeError> {
        decode(input, DecodeOptions::strict())
    }

    #[test]
    fn spans_give_the_exact_bytes_of_any_value() {
        let input = b"d4:infod6:lengthi5ee4:listli1e2:abee";
        let doc = strict(input).unwrap();
        let root = doc.root();
        assert_eq!(root.get(b"info").unwrap().raw(), b"d6:lengthi5ee");
        assert_eq!(
            root.get(b"info").unwrap().get(b"length").unwrap().as_int(),
            Some(5)
        );
        let list: Vec<_> = root
            .get(b"list")
            .unwrap()
            .as_list()
            .unwrap()
            .map(|n| n.raw())
            .collect();
        assert_eq!(list, [&b"i1e"[..], b"2:ab"]);
        assert_eq!(root.len(), 2);
        assert!(root.get(b"missing").is_none());
    }

    #[test]
    fn values_round_trip_through_the_encoder() {
        let input: &[u8] = b"d1:ai-7e1:bl0:i0ed1:xleee1:c3:\x00\xffze";
        let value = strict(input).unwrap().root().to_value();
        assert_eq!(value.encode(), input);
        assert_eq!(value.get(b"a").and_then(Value::as_int), Some(-7));
        assert_eq!(encode(&Value::Int(i64::MIN)), b"i-9223372036854775808e");
    }

    #[test]
    fn integers_at_the_limits() {
        for (input, n) in [
            (&b"i9223372036854775807e"[..], i64::MAX),
            (b"i-9223372036854775808e", i64::MIN),
            (b"i0e", 0),
        ] {
            assert_eq!(strict(input).unwrap().root().as_int(), Some(n));
        }
        let tolerant = decode(&b"i-007e"[..], DecodeOptions::tolerant()).unwrap();
        assert_eq!(tolerant.root().as_int(), Some(-7));
    }

    #[test]
    fn tolerant_warnings_carry_offsets() {
        let doc = decode(&b"d1:bi1e1:ai2ee\n"[..], DecodeOptions::tolerant()).unwrap();
        let kinds: Vec<_> = doc.warnings().iter().map(|w| (w.offset, w.kind)).collect();
        assert_eq!(
            kinds,
            [
                (7, WarningKind::UnsortedKey),
                (14, WarningKind::TrailingBytes)
            ]
        );
        assert_eq!(doc.root().get(b"a").unwrap().as_int(), Some(2));
    }

    #[test]
    fn limits_stop_deep_and_large_inputs() {
        let limits = Limits {
            max_depth: 3,
            max_tokens: 4,
        };
        let options = DecodeOptions {
            mode: Mode::Strict,
            limits,
        };
        assert!(decode(&b"llee"[..], options).is_ok());
        let e = decode(&b"lllleeee"[..], options).unwrap_err();
        assert_eq!(
            (e.offset, e.kind),
            (3, BencodeErrorKind::DepthLimit { limit: 3 })
        );
        let e = decode(&b"li1ei2ei3ei4ee"[..], options).unwrap_err();
        assert_eq!(e.kind, BencodeErrorKind::TokenLimit { limit: 4 });
        // A length prefix claiming far more than the input holds is refused before anything else.
        let e = strict(b"4294967295:x").unwrap_err();
        assert_eq!(
            e.kind,
            BencodeErrorKind::StringTooLong {
                length: 4294967295,
                available: 1
            }
        );
    }

    #[test]
    fn decode_prefix_returns_the_value_and_its_length() {
        let input = b"d8:msg_typei1e5:piecei0ee\x00raw\xffbytes";
        let (doc, len) = decode_prefix(&input[..], DecodeOptions::strict()).unwrap();
        assert_eq!(len, 25);
        assert_eq!(&input[len..], b"\x00raw\xffbytes");
        assert_eq!(doc.root().raw(), &input[..len]);
        assert_eq!(doc.root().get(b"piece").unwrap().as_int(), Some(0));
        assert!(doc.warnings().is_empty());
        // Nothing after the value is fine too, and a tolerant prefix has no trailing warning.
        let (doc, len) = decode_prefix(&b"i7e"[..], DecodeOptions::strict()).unwrap();
        assert_eq!((doc.root().as_int(), len), (Some(7), 3));
        let (doc, len) = decode_prefix(&b"li1eexyz"[..], DecodeOptions::tolerant()).unwrap();
        assert_eq!((doc.warnings(), len), (&[][..], 5));
    }

    #[test]
    fn decode_prefix_stays_strict_about_the_value() {
        fn strict_prefix(input: &[u8]) -> Result<(Document<&[u8]>, usize), BencodeError> {
            decode_prefix(input, DecodeOptions::strict())
        }
        for (input, kind) in [
            (&b"d1:bi1e1:ai2eeXX"[..], BencodeErrorKind::UnsortedKey),
            (b"i03eXX", BencodeErrorKind::LeadingZeroInteger),
            (b"i-0eXX", BencodeErrorKind::NegativeZero),
            (b"03:abcXX", BencodeErrorKind::LeadingZeroLength),
            (b"d1:ai1e1:ai2eeXX", BencodeErrorKind::DuplicateKey),
        ] {
            assert_eq!(strict_prefix(input).unwrap_err().kind, kind, "{input:?}");
        }
        // A truncated value is still an error, not a shorter prefix.
        let e = strict_prefix(b"d5:piecei0e").unwrap_err();
        assert!(
            matches!(e.kind, BencodeErrorKind::UnexpectedEnd { .. }),
            "{e}"
        );
        assert!(strict_prefix(b"").is_err());
        assert!(strict_prefix(b"xd1:ai1ee").is_err());
        // Limits hold as in `decode`.
        let options = DecodeOptions {
            mode: Mode::Strict,
            limits: Limits {
                max_depth: 2,
                max_tokens: 100,
            },
        };
        let e = decode_prefix(&b"llleeeXX"[..], options).unwrap_err();
        assert_eq!(e.kind, BencodeErrorKind::DepthLimit { limit: 2 });
        // `decode` itself still refuses what follows the value.
        let e = strict(b"i7eX").unwrap_err();
        assert_eq!((e.offset, e.kind), (3, BencodeErrorKind::TrailingBytes));
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = strict(b"d3:fooi1e").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bencode error at byte 9: input ended early, expected a dictionary key or 'e'"
        );
        let e = strict(b"i-0e").unwrap_err();
        assert!(e.to_string().contains("'-0'"), "{e}");
    }
}
