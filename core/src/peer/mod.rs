//! BEP 3's peer wire protocol: the [`Handshake`], the [`Message`]s that follow it, and the
//! [`MessageCodec`] that turns a socket's bytes into validated messages for one torrent.
//!
//! This module turns a socket into messages and nothing more (mini-redis's `Frame` /
//! `Connection` split): [`connect_handshake`] and [`accept_handshake`] set a connection up and
//! hand back a [`Framed`](tokio_util::codec::Framed) stream and sink of [`Message`]s. The rules
//! of a session (who is choked, that `piece` answers only blocks we asked for, how many requests
//! a peer may queue, that `bitfield` comes first) belong to the session above.
//!
//! Everything a peer sends is checked against the torrent's [`Layout`]
//! before any memory is set aside for it: a length prefix larger than the largest legal message
//! is an error once its four bytes have arrived, not after we buffered what it claims.
//! Incomplete input is not an error: the codec waits for more bytes (`Ok(None)`).

mod codec;
/// BEP 6 (Fast Extension): the canonical allowed-fast set.
pub mod fast;
mod handshake;
mod message;

pub use codec::{MessageCodec, MAX_UNCHECKED_BITFIELD};
pub use handshake::{accept_handshake, connect_handshake, Handshake, HANDSHAKE_LEN, PROTOCOL};
pub use message::Message;

use crate::metainfo::InfoHash;
use crate::piece::Layout;
use std::sync::{Arc, OnceLock};

/// A torrent's layout as its connections see it: set once, when the torrent's metadata is
/// known (at once for a `.torrent` file, once fetched from peers for a magnet link).
pub type SharedLayout = Arc<OnceLock<Layout>>;

/// A connection after its handshake: a `Stream` of decoded [`Message`]s and a `Sink` for
/// ours, over a socket (a `TcpStream` unless said otherwise).
pub type Connection<S = tokio::net::TcpStream> = tokio_util::codec::Framed<S, MessageCodec>;

/// Why a peer connection failed or was refused.
///
/// [`Protocol`](PeerError::Protocol) and [`Handshake`](PeerError::Handshake) mean the peer broke
/// BEP 3 and the connection should be dropped (and the peer perhaps remembered as bad);
/// [`InvalidOutgoing`](PeerError::InvalidOutgoing) means the code above this module asked to send
/// something no peer would accept, which is a bug on our side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// Reading from or writing to the socket failed (reset, refused, broken pipe ...).
    #[error("peer connection: {}", crate::error::OsMessage(.0))]
    Io(#[from] std::io::Error),
    /// The peer sent a message that breaks the wire format or does not fit the torrent; the
    /// text names the rule broken.
    #[error("peer protocol violation: {0}")]
    Protocol(String),
    /// The peer's handshake is malformed (wrong `pstrlen` or `pstr`), or it closed the
    /// connection before its handshake was complete.
    #[error("bad handshake: {0}")]
    Handshake(String),
    /// The handshake did not complete within the time allowed.
    #[error("handshake timed out")]
    Timeout,
    /// A peer we connected to answered for another torrent than the one we asked for.
    #[error("peer answered for torrent {theirs}, we asked for {ours}")]
    WrongInfoHash { ours: InfoHash, theirs: InfoHash },
    /// A peer connected to us for a torrent we do not serve.
    #[error("peer asked for torrent {0}, which we do not serve")]
    UnknownInfoHash(InfoHash),
    /// The peer's id is ours: we connected to ourselves.
    #[error("connection to ourselves (the peer id is ours)")]
    OwnConnection,
    /// We were asked to send a message that is not valid for this torrent (a piece index out of
    /// range, a block outside its piece, a bitfield of the wrong length): a bug above this
    /// module. Nothing was written.
    #[error("refusing to send an invalid message: {0}")]
    InvalidOutgoing(String),
}
