//! Why a session call failed.

use crate::metainfo::{InfoHash, MetainfoError};
use crate::tracker::TrackerError;
use std::fmt;
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
    /// A `.torrent` could not be fetched from its http(s) URL. `cause` is what the HTTP client
    /// (the tracker client's) met: an HTTP status, a failed connection, the deadline; the
    /// message tells it as a web server's failure, not a tracker's.
    #[error("cannot fetch the torrent file {url}: {}", FetchCause(cause))]
    Fetch { url: String, cause: TrackerError },
    /// A URL answered with something that is not a torrent file: an HTML page, text, nothing.
    /// `content_type` is the essence of the server's `Content-Type` (`text/html`), `start` a
    /// printable excerpt of what came.
    #[error("{url} is not a torrent file ({})", Sent { content_type, start })]
    NotATorrent {
        url: String,
        content_type: Option<String>,
        start: String,
    },
    /// A URL answered with bencode that is not a valid torrent.
    #[error("{url}: {source}")]
    InvalidFetched { url: String, source: MetainfoError },
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

/// A fetch's failure in the words of a download from a web server.
struct FetchCause<'a>(&'a TrackerError);

impl fmt::Display for FetchCause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            TrackerError::Http { status } => {
                let reason = reqwest::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                match reason {
                    Some(reason) => write!(f, "HTTP {status} {reason}"),
                    None => write!(f, "HTTP {status}"),
                }
            }
            TrackerError::Transport(reason) => f.write_str(reason),
            TrackerError::TooLarge { limit } => {
                write!(f, "it is larger than the limit of {limit} bytes")
            }
            TrackerError::Timeout => f.write_str("no answer in time"),
            TrackerError::InvalidUrl { reason, .. } => write!(f, "not a valid URL: {reason}"),
            other => other.fmt(f),
        }
    }
}

/// What a server sent instead of a torrent.
struct Sent<'a> {
    content_type: &'a Option<String>,
    start: &'a str,
}

impl fmt::Display for Sent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.content_type.as_deref().unwrap_or("no Content-Type");
        if self.start.is_empty() {
            write!(f, "the server sent an empty answer, {what}")
        } else {
            write!(f, "the server sent {what}, starting {:?}", self.start)
        }
    }
}
