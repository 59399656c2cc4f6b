//! Why a session call failed.

use crate::metainfo::InfoHash;
use std::net::SocketAddr;

/// A failure of the session itself (its torrents' own failures are storage, tracker and
/// metainfo errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A setting that cannot work; `setting` is its name in [`SessionConfig`](super::SessionConfig)
    /// or [`AddOptions`](super::AddOptions).
    #[error("{setting} {reason}")]
    InvalidSetting {
        setting: &'static str,
        reason: &'static str,
    },
    /// The session has a torrent of this info-hash already.
    #[error("torrent {0} was added already")]
    AlreadyAdded(InfoHash),
    /// The handle's torrent was removed from its session.
    #[error("torrent {0} is not in this session: it was removed")]
    Removed(InfoHash),
    /// The handle is of a torrent in another session.
    #[error("torrent {0} is not in this session: it belongs to another session")]
    OtherSession(InfoHash),
    /// The handle's session was shut down.
    #[error("the session is closed")]
    Closed,
    /// A place to load a torrent from that is not a path or an http(s) URL.
    #[error("{text}: {reason}")]
    UnsupportedSource { text: String, reason: &'static str },
    /// No address to listen on could be bound.
    #[error("cannot listen on {addr}: {}", crate::error::OsMessage(source))]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The session's threads could not start.
    #[error("cannot start the session's threads: {}", crate::error::OsMessage(.0))]
    Runtime(std::io::Error),
}
