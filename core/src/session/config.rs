//! What a session and each torrent added to it are told, and the one check of it.

use super::SessionError;
use crate::storage::StorageOptions;
use crate::tracker::client::ClientConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How a session behaves. `Default` gives the documented defaults; [`validate`](Self::validate)
/// (which [`Session::new`](super::Session::new) calls) says what can work.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where to listen for peers. Default: the first free port of 6881 to 6889 on every
    /// address; port 0 picks any free port.
    pub listen: Option<SocketAddr>,
    /// Peer connections open at once, over every torrent, incoming and outgoing (default 200;
    /// at least 1).
    pub max_connections: usize,
    /// Peers connected per torrent (default 50; at least 1).
    pub max_peers_per_torrent: usize,
    /// Peers per torrent from one IP address (default 4, at least 1; tests on one machine
    /// raise it). Also the handshakes one address may have in progress with the session.
    pub max_peers_per_ip: usize,
    /// Peers unchoked by rate; one optimistic unchoke comes on top (default 4; 0 leaves only
    /// the optimistic one).
    pub unchoke_slots: usize,
    /// Time to connect and handshake (default 10 s; more than 0).
    pub handshake_timeout: Duration,
    /// A peer silent this long is dropped, and so is one that takes none of what we send for
    /// as long (default 2 minutes, more than 0; keep-alives come every minute).
    pub idle_timeout: Duration,
    /// How trackers are asked (see [`ClientConfig::validate`]).
    pub tracker: ClientConfig,
    /// How torrents' files are kept (at least 1 open file).
    pub storage: StorageOptions,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            listen: None,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_peers_per_torrent: Self::DEFAULT_MAX_PEERS_PER_TORRENT,
            max_peers_per_ip: Self::DEFAULT_MAX_PEERS_PER_IP,
            unchoke_slots: Self::DEFAULT_UNCHOKE_SLOTS,
            handshake_timeout: Self::DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            tracker: ClientConfig::default(),
            storage: StorageOptions::default(),
        }
    }
}

impl SessionConfig {
    /// The defaults one by one, as constants, so a face can show them (and check at compile
    /// time that what it shows is what they are).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 200;
    pub const DEFAULT_MAX_PEERS_PER_TORRENT: usize = 50;
    pub const DEFAULT_MAX_PEERS_PER_IP: usize = 4;
    pub const DEFAULT_UNCHOKE_SLOTS: usize = 4;
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

    /// Checks every value against the meaning documented on its field.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let invalid = |setting, reason| {
            Err(crate::Error::from(SessionError::InvalidSetting {
                setting,
                reason,
            }))
        };
        for (value, setting) in [
            (self.max_connections, "max_connections"),
            (self.max_peers_per_torrent, "max_peers_per_torrent"),
            (self.max_peers_per_ip, "max_peers_per_ip"),
            (self.storage.max_open_files, "max_open_files"),
        ] {
            if value == 0 {
                return invalid(setting, "must be 1 or more");
            }
        }
        for (value, setting) in [
            (self.handshake_timeout, "handshake_timeout"),
            (self.idle_timeout, "idle_timeout"),
        ] {
            if value.is_zero() {
                return invalid(setting, "must be more than 0 seconds");
            }
        }
        self.tracker.validate()?;
        Ok(())
    }
}

/// How a torrent is added.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// The download folder: the torrent's file (or its folder, for a multi-file torrent) goes
    /// inside it. Not empty.
    pub save_dir: PathBuf,
    /// Upload only, from the original data: never ask for pieces, and never create, truncate
    /// or resize a file (a missing file, or one of the wrong size, is a storage error: the
    /// torrent waits in [`State::Error`](super::State::Error)).
    pub seed_only: bool,
    /// Skip the check of the data on disk and take it as complete (an origin seeder that made
    /// the torrent from these very files).
    pub trust_data: bool,
}

impl AddOptions {
    pub fn validate(&self) -> Result<(), crate::Error> {
        if self.save_dir.as_os_str().is_empty() {
            return Err(SessionError::InvalidSetting {
                setting: "save_dir",
                reason: "must name a folder",
            }
            .into());
        }
        if self.save_dir.as_os_str().as_encoded_bytes().contains(&0) {
            return Err(SessionError::InvalidSetting {
                setting: "save_dir",
                reason: "must not hold a NUL byte",
            }
            .into());
        }
        Ok(())
    }
}
