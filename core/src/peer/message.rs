//! The messages peers exchange after the handshake (BEP 3).

use crate::piece::{Bitfield, BlockRef, PieceIndex};
use bytes::Bytes;
use std::fmt;

/// One message of the peer wire protocol, as decoded by [`MessageCodec`](super::MessageCodec)
/// (and so already checked against the torrent's layout).
///
/// Besides BEP 3's messages: BEP 6's fast extension (`suggest`, `have all`, `have none`,
/// `reject`, `allowed fast`) and BEP 10's extended messages, whose payload the
/// [`extension`](crate::extension) module reads. Whether a peer may send them (the reserved
/// bits of both handshakes) is the session's rule, not the codec's. Ids we do not speak (BEP
/// 5's `port`, anything else) have no variant: the codec skips them by their length prefix.
///
/// Before a torrent's layout is known (a magnet link whose metadata is still being fetched), a
/// bitfield or a `have` cannot be checked: they come as [`UncheckedBitfield`](Message::UncheckedBitfield)
/// and [`UncheckedHave`](Message::UncheckedHave), for the session to check once it knows the
/// layout.
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    /// A zero length prefix: nothing but proof of life.
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    /// The sender has completed and verified this piece.
    Have(PieceIndex),
    /// Which pieces the sender has; only valid as its first message (a session rule).
    Bitfield(Bitfield),
    Request(BlockRef),
    /// A block of data; the codec has checked that it lies inside `piece` and is at most
    /// [`BLOCK_SIZE`](crate::piece::BLOCK_SIZE) bytes (and not empty).
    Piece {
        piece: PieceIndex,
        begin: u32,
        data: Bytes,
    },
    Cancel(BlockRef),
    /// BEP 6: the sender suggests this piece (we may ignore it).
    Suggest(PieceIndex),
    /// BEP 6: the sender has every piece (in place of a bitfield).
    HaveAll,
    /// BEP 6: the sender has no piece (in place of a bitfield).
    HaveNone,
    /// BEP 6: the sender will not answer this request.
    Reject(BlockRef),
    /// BEP 6: the sender will serve this piece even while it chokes us.
    AllowedFast(PieceIndex),
    /// BEP 10: an extended message, its extended id (0 is the extended handshake) and its
    /// payload, at most [`extension::MAX_PAYLOAD`](crate::extension::MAX_PAYLOAD) bytes.
    Extended {
        id: u8,
        payload: Bytes,
    },
    /// A bitfield received before the layout was known: its bytes, at most what the largest
    /// metadata we fetch can describe.
    UncheckedBitfield(Bytes),
    /// A `have` received before the layout was known: its piece index.
    UncheckedHave(u32),
}

impl Message {
    pub const CHOKE: u8 = 0;
    pub const UNCHOKE: u8 = 1;
    pub const INTERESTED: u8 = 2;
    pub const NOT_INTERESTED: u8 = 3;
    pub const HAVE: u8 = 4;
    pub const BITFIELD: u8 = 5;
    pub const REQUEST: u8 = 6;
    pub const PIECE: u8 = 7;
    pub const CANCEL: u8 = 8;
    pub const SUGGEST: u8 = 0x0d;
    pub const HAVE_ALL: u8 = 0x0e;
    pub const HAVE_NONE: u8 = 0x0f;
    pub const REJECT: u8 = 0x10;
    pub const ALLOWED_FAST: u8 = 0x11;
    pub const EXTENDED: u8 = 20;

    /// The message id on the wire; `None` for a keep-alive, which has none.
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => Self::CHOKE,
            Message::Unchoke => Self::UNCHOKE,
            Message::Interested => Self::INTERESTED,
            Message::NotInterested => Self::NOT_INTERESTED,
            Message::Have(_) | Message::UncheckedHave(_) => Self::HAVE,
            Message::Bitfield(_) | Message::UncheckedBitfield(_) => Self::BITFIELD,
            Message::Request(_) => Self::REQUEST,
            Message::Piece { .. } => Self::PIECE,
            Message::Cancel(_) => Self::CANCEL,
            Message::Suggest(_) => Self::SUGGEST,
            Message::HaveAll => Self::HAVE_ALL,
            Message::HaveNone => Self::HAVE_NONE,
            Message::Reject(_) => Self::REJECT,
            Message::AllowedFast(_) => Self::ALLOWED_FAST,
            Message::Extended { .. } => Self::EXTENDED,
        })
    }

    /// The value of the length prefix: bytes after the prefix (id and payload).
    pub fn wire_len(&self) -> usize {
        match self {
            Message::KeepAlive => 0,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 1,
            Message::Have(_)
            | Message::UncheckedHave(_)
            | Message::Suggest(_)
            | Message::AllowedFast(_) => 5,
            Message::Bitfield(b) => 1 + b.as_bytes().len(),
            Message::UncheckedBitfield(b) => 1 + b.len(),
            Message::Request(_) | Message::Cancel(_) | Message::Reject(_) => 13,
            Message::Piece { data, .. } => 9 + data.len(),
            Message::Extended { payload, .. } => 2 + payload.len(),
        }
    }
}

/// The name BEP 3 gives a message id, for error messages.
pub(super) fn name_of(id: u8) -> &'static str {
    match id {
        Message::CHOKE => "choke",
        Message::UNCHOKE => "unchoke",
        Message::INTERESTED => "interested",
        Message::NOT_INTERESTED => "not interested",
        Message::HAVE => "have",
        Message::BITFIELD => "bitfield",
        Message::REQUEST => "request",
        Message::PIECE => "piece",
        Message::CANCEL => "cancel",
        Message::SUGGEST => "suggest",
        Message::HAVE_ALL => "have all",
        Message::HAVE_NONE => "have none",
        Message::REJECT => "reject",
        Message::ALLOWED_FAST => "allowed fast",
        Message::EXTENDED => "extended",
        _ => "unknown",
    }
}

/// Like the derived one, but a `piece` shows its data's length, not 16 KiB of bytes.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::KeepAlive => f.write_str("KeepAlive"),
            Message::Choke => f.write_str("Choke"),
            Message::Unchoke => f.write_str("Unchoke"),
            Message::Interested => f.write_str("Interested"),
            Message::NotInterested => f.write_str("NotInterested"),
            Message::Have(p) => f.debug_tuple("Have").field(p).finish(),
            Message::Bitfield(b) => f.debug_tuple("Bitfield").field(b).finish(),
            Message::Request(b) => f.debug_tuple("Request").field(b).finish(),
            Message::Piece { piece, begin, data } => f
                .debug_struct("Piece")
                .field("piece", piece)
                .field("begin", begin)
                .field("len", &data.len())
                .finish(),
            Message::Cancel(b) => f.debug_tuple("Cancel").field(b).finish(),
            Message::Suggest(p) => f.debug_tuple("Suggest").field(p).finish(),
            Message::HaveAll => f.write_str("HaveAll"),
            Message::HaveNone => f.write_str("HaveNone"),
            Message::Reject(b) => f.debug_tuple("Reject").field(b).finish(),
            Message::AllowedFast(p) => f.debug_tuple("AllowedFast").field(p).finish(),
            Message::Extended { id, payload } => f
                .debug_struct("Extended")
                .field("id", id)
                .field("len", &payload.len())
                .finish(),
            Message::UncheckedBitfield(b) => {
                f.debug_tuple("UncheckedBitfield").field(&b.len()).finish()
            }
            Message::UncheckedHave(i) => f.debug_tuple("UncheckedHave").field(i).finish(),
        }
    }
}
