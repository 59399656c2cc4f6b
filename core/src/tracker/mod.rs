//! BEP 3's HTTP tracker and BEP 15's UDP one ([`udp`]), both ends: the announce and scrape
//! types, their wire forms (query strings, bencoded answers, BEP 23 compact peers, BEP 7
//! `peers6`, BEP 15 packets), the clients and the servers.

pub mod client;
pub mod server;
pub mod swarm;
pub mod udp;
pub mod wire;

use crate::metainfo::InfoHash;
use std::fmt;
use std::net::SocketAddr;

/// A peer's 20-byte id, as sent in the handshake and to the tracker.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub [u8; 20]);

impl PeerId {
    /// A new Azureus-style id: `-BI` and the version (`-BI0100-` for 0.1.0), then 12 random
    /// letters and digits.
    pub fn generate() -> PeerId {
        let mut id = [0u8; 20];
        let digit = |v: &str| v.parse::<u32>().unwrap_or(0) % 10;
        let prefix = format!(
            "-BI{}{}{}0-",
            digit(env!("CARGO_PKG_VERSION_MAJOR")),
            digit(env!("CARGO_PKG_VERSION_MINOR")),
            digit(env!("CARGO_PKG_VERSION_PATCH")),
        );
        id[..8].copy_from_slice(prefix.as_bytes());
        for b in &mut id[8..] {
            *b = fastrand::alphanumeric() as u8;
        }
        PeerId(id)
    }

    /// This process's id, made once: what the C and Python faces send unless told otherwise.
    pub fn of_process() -> PeerId {
        static ID: std::sync::OnceLock<PeerId> = std::sync::OnceLock::new();
        *ID.get_or_init(PeerId::generate)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PeerId({})",
            String::from_utf8_lossy(&self.0).escape_debug()
        )
    }
}

/// What an announce says happened (BEP 3); `None` for a regular re-announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Started,
    Completed,
    Stopped,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Completed => "completed",
            Event::Stopped => "stopped",
        }
    }
}

/// `"started"`, `"completed"` or `"stopped"`, as on the wire.
impl std::str::FromStr for Event {
    type Err = TrackerError;

    fn from_str(s: &str) -> Result<Event, TrackerError> {
        [Event::Started, Event::Completed, Event::Stopped]
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or(TrackerError::InvalidRequest(
                "the event is 'started', 'completed' or 'stopped'",
            ))
    }
}

/// One announce: what a peer tells the tracker about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub event: Option<Event>,
    /// The `ip` parameter, as given. A server ignores it unless told to trust it.
    pub ip: Option<String>,
    pub numwant: Option<u32>,
    /// BEP 23: ask for the compact peer list.
    pub compact: bool,
    pub no_peer_id: bool,
    pub key: Option<Vec<u8>>,
    pub tracker_id: Option<Vec<u8>>,
}

impl AnnounceRequest {
    /// `Ok` when the announce can be sent: a port of 0 cannot be connected to.
    pub fn validate(&self) -> Result<(), TrackerError> {
        if self.port == 0 {
            return Err(TrackerError::InvalidRequest("port must be from 1 to 65535"));
        }
        Ok(())
    }

    /// A `started`-less announce with compact peers asked for and nothing transferred.
    pub fn new(info_hash: InfoHash, peer_id: PeerId, port: u16, left: u64) -> Self {
        AnnounceRequest {
            info_hash,
            peer_id,
            port,
            uploaded: 0,
            downloaded: 0,
            left,
            event: None,
            ip: None,
            numwant: None,
            compact: true,
            no_peer_id: false,
            key: None,
            tracker_id: None,
        }
    }
}

/// A peer from a tracker's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub addr: SocketAddr,
    /// Only in the dictionary form of the list.
    pub peer_id: Option<PeerId>,
}

/// A tracker's answer to an announce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceResponse {
    /// Seconds to wait before the next regular announce.
    pub interval: u32,
    pub min_interval: Option<u32>,
    /// Seeders.
    pub complete: Option<u64>,
    /// Leechers.
    pub incomplete: Option<u64>,
    pub peers: Vec<Peer>,
    pub warning: Option<String>,
    pub tracker_id: Option<Vec<u8>>,
}

/// One torrent's counts in a scrape answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    /// Seeders.
    pub complete: u64,
    /// Completed downloads ever counted.
    pub downloaded: u64,
    /// Leechers.
    pub incomplete: u64,
}

/// A tracker's answer to a scrape (BEP 48): counts per info-hash it knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrapeResponse {
    pub files: Vec<(InfoHash, ScrapeStats)>,
}

/// Why talking to a tracker failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// The tracker answered with a `failure reason`.
    #[error("tracker refused: {0}")]
    Failure(String),
    /// The answer was not what BEP 3 describes.
    #[error("invalid tracker response: {0}")]
    InvalidResponse(String),
    #[error("tracker answered HTTP {status}")]
    Http { status: u16 },
    #[error("tracker response larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("tracker did not answer in time")]
    Timeout,
    /// The caller cancelled a blocking call ([`client::blocking`]).
    #[error("cancelled")]
    Cancelled,
    /// The connection failed (refused, reset, DNS, TLS, too many redirects ...).
    #[error("cannot reach tracker: {0}")]
    Transport(String),
    #[error("invalid tracker URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The torrent names no tracker.
    #[error("the torrent has no tracker")]
    NoTracker,
    /// Starting the tracker server failed (the address is taken, a folder cannot be read ...).
    #[error("{0}")]
    Server(String),
    /// A setting that cannot work (no connections allowed, a zero interval ...).
    #[error("invalid tracker setting: {0}")]
    InvalidConfig(String),
    /// An announce that cannot be sent as asked (port 0, an unknown event).
    #[error("invalid announce: {0}")]
    InvalidRequest(&'static str),
}
