//! What travels between a torrent's actor and the tasks and threads around it: the inputs the
//! actor receives (from peer tasks, the disk and hash threads, the announcer and the handles)
//! and what it sends to a peer's task.

use super::DisconnectReason;
use crate::peer::{Handshake, Message};
use crate::piece::picker::PeerKey;
use crate::piece::{BlockRef, PieceIndex};
use crate::tracker::PeerId;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A failure reported from a thread to the actor and on to events; shared, since one failed
/// write can fail every block of its batch.
pub(super) type SharedError = Arc<crate::Error>;

/// What reaches the torrent's actor.
pub(super) enum Input {
    /// A peer finished its handshake.
    Connected(PeerLink),
    /// Messages from a peer, in the order it sent them.
    Messages(PeerKey, Vec<Message>),
    /// A peer's connection ended; the reason is `None` when we closed it.
    Closed(PeerKey, Option<DisconnectReason>),
    /// An outgoing connection failed before its handshake.
    ConnectFailed(SocketAddr),
    /// Addresses to try (from a tracker or the user).
    Peers(Vec<SocketAddr>),
    /// Blocks reached the disk (or failed to) and were hashed.
    Written(Vec<Written>),
    /// A piece was hashed: whether it matches the metainfo.
    Checked {
        piece: PieceIndex,
        result: Result<bool, SharedError>,
    },
    /// The blocks of a piece, hashed one by one as they are on disk (after a failed check, or
    /// after the pass that follows one).
    BlockHashes {
        piece: PieceIndex,
        passed: bool,
        hashes: Vec<(u32, [u8; 20])>,
    },
    /// Blocks peers asked for were read.
    Read(Vec<(PeerKey, BlockRef, Result<bytes::Bytes, SharedError>)>),
    Command(Command),
}

/// A block through the disk and hash threads.
pub(super) struct Written {
    pub piece: PieceIndex,
    pub length: u32,
    pub result: Result<(), SharedError>,
}

/// What a handle can ask of its torrent.
pub(super) enum Command {
    Pause,
    Resume,
    /// Stop everything and announce `stopped`; replies when done.
    Stop(oneshot::Sender<()>),
}

/// What the actor sends to a peer's task.
pub(super) enum ToPeer {
    Message(Message),
    Close,
}

/// A connected peer, as the actor first hears of it.
pub(super) struct PeerLink {
    pub key: PeerKey,
    pub addr: SocketAddr,
    /// The id it sent in its handshake.
    pub peer_id: PeerId,
    /// We dialled it (else it dialled us).
    pub outgoing: bool,
    pub speaks: Speaks,
    pub to_peer: mpsc::Sender<ToPeer>,
}

/// What a peer speaks beyond BEP 3, as both handshakes' reserved bits agree (we offer both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Speaks {
    /// BEP 10's extension protocol.
    pub extensions: bool,
    /// BEP 6's fast extension.
    pub fast: bool,
}

impl Speaks {
    pub fn of(theirs: &Handshake) -> Speaks {
        Speaks {
            extensions: theirs.supports_extensions(),
            fast: theirs.supports_fast(),
        }
    }
}
