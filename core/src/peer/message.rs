//! The messages peers exchange after the handshake (BEP 3).

use crate::piece::{Bitfield, BlockRef, PieceIndex};
use bytes::Bytes;
use std::fmt;

/// One message of the peer wire protocol, as decoded by [`MessageCodec`](super::MessageCodec)
/// (and so already checked against the torrent's layout).
///
/// Message ids this crate does not speak (BEP 5's `port`, BEP 6's fast extension, BEP 10's
/// extended messages, anything else) have no variant: the codec skips them by their length
/// prefix and yields nothing, so the session never sees them. We set no reserved bits in our
/// handshake, so a well-behaved peer does not send them to us.
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

    /// The message id on the wire; `None` for a keep-alive, which has none.
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => Self::CHOKE,
            Message::Unchoke => Self::UNCHOKE,
            Message::Interested => Self::INTERESTED,
            Message::NotInterested => Self::NOT_INTERESTED,
            Message::Have(_) => Self::HAVE,
            Message::Bitfield(_) => Self::BITFIELD,
            Message::Request(_) => Self::REQUEST,
            Message::Piece { .. } => Self::PIECE,
            Message::Cancel(_) => Self::CANCEL,
        })
    }

    /// The value of the length prefix: bytes after the prefix (id and payload).
    pub fn wire_len(&self) -> usize {
        match self {
            Message::KeepAlive => 0,
            Message::Choke | Message::Unchoke | Message::Interested | Message::NotInterested => 1,
            Message::Have(_) => 5,
            Message::Bitfield(b) => 1 + b.as_bytes().len(),
            Message::Request(_) | Message::Cancel(_) => 13,
            Message::Piece { data, .. } => 9 + data.len(),
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
        }
    }
}
