//! What a session reports about its torrents, and a receiver for callers that are not async.

use crate::metainfo::InfoHash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Something that happened to a torrent.
#[derive(Debug, Clone)]
pub struct Event {
    pub info_hash: InfoHash,
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EventKind {
    PieceVerified(u32),
    HashFailed(u32),
    /// Every piece is verified (also sent when a torrent is added complete).
    Finished,
    TrackerReply {
        url: String,
        peers: u32,
    },
    /// A tracker of the torrent did not answer an announce (the next of its list is asked:
    /// [`TorrentHandle::trackers`](super::TorrentHandle::trackers) says how each fares).
    TrackerError {
        url: String,
        error: Arc<crate::Error>,
    },
    PeerBanned(IpAddr),
    /// A torrent added from a magnet link asks peers for its metadata
    /// ([`State::FetchingMetadata`](super::State)).
    FetchingMetadata,
    /// A magnet link's metadata is in, its hash checked: the torrent's files are known
    /// ([`TorrentHandle::metainfo`](super::TorrentHandle::metainfo)), and it goes on as any.
    MetadataReceived,
    /// A read, write or check failed; the torrent stops ([`State::Error`](super::State)) until
    /// it is resumed.
    StorageError(Arc<crate::Error>),
}

/// Events for callers that are not async (do not use it inside a tokio runtime).
pub struct EventReceiver {
    pub(super) rx: broadcast::Receiver<Event>,
    pub(super) handle: tokio::runtime::Handle,
}

impl EventReceiver {
    /// The next event, waiting up to `timeout`. Events missed by a slow reader are skipped.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Event> {
        let rx = &mut self.rx;
        self.handle.block_on(async {
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Ok(event)) => return Some(event),
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
                }
            }
        })
    }
}
