//! [`TorrentHandle`]: a running torrent as the caller holds it, with its [`Status`].

use super::channel::{Command, Input};
use super::trackers::{SharedTrackers, TrackerStatus, TrackerTrouble};
use super::{Disconnects, SessionError};
use crate::metainfo::InfoHash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// What a torrent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Checking the data on disk (see [`Status::pieces_checked`]).
    #[default]
    Checking,
    /// Added from a magnet link: asking peers for the torrent's metadata (the piece count and
    /// length are 0 until it is in).
    FetchingMetadata,
    Downloading,
    Seeding,
    Paused,
    Error,
}

/// A snapshot of a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub state: State,
    pub pieces_done: u32,
    pub piece_count: u32,
    /// Bytes of verified pieces.
    pub bytes_done: u64,
    pub total_length: u64,
    /// Bytes per second, over the last few seconds.
    pub download_rate: u64,
    pub upload_rate: u64,
    /// Payload bytes since the torrent was added.
    pub uploaded: u64,
    pub downloaded: u64,
    /// Peers connected now (a peer that dialled us while we dialled it keeps one connection).
    pub peers: u32,
    /// Pieces looked at by the check of the data on disk ([`State::Checking`]); the piece
    /// count once it is done.
    pub pieces_checked: u32,
    /// Pieces the check found on disk when the torrent started (the download resumed from
    /// them); 0 while checking.
    pub pieces_found: u32,
    /// Peer connections ended so far, by reason.
    pub disconnects: Disconnects,
}

impl Status {
    /// Whether every piece is verified.
    pub fn is_finished(&self) -> bool {
        self.piece_count > 0 && self.pieces_done == self.piece_count
    }

    /// Verified bytes over the total, from 0.0 to 1.0 (1.0 for an empty torrent).
    pub fn progress(&self) -> f64 {
        match self.total_length {
            0 => 1.0,
            total => self.bytes_done as f64 / total as f64,
        }
    }

    /// Seconds to completion at the current rate, if it can be told.
    pub fn eta(&self) -> Option<u64> {
        let left = self.total_length - self.bytes_done;
        match (left, self.download_rate) {
            (0, _) => Some(0),
            (_, 0) => None,
            (left, rate) => Some(left.div_ceil(rate)),
        }
    }
}

/// How [`TorrentHandle::wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Every piece is verified.
    Finished,
    /// The time ran out first.
    TimedOut,
    /// A storage error stopped the torrent ([`State::Error`]; [`TorrentHandle::resume`]
    /// retries).
    Failed,
    /// The torrent was removed, or its session shut down.
    Stopped,
}

/// A torrent added to a session; cheap to clone, usable from any thread. It outlives its
/// torrent: once the torrent is removed (or its session shut down) the last status stays
/// readable and every command fails with [`SessionError::Removed`] or
/// [`SessionError::Closed`].
#[derive(Clone)]
pub struct TorrentHandle {
    pub(super) info_hash: InfoHash,
    /// The session it was added to (see [`Session::check_handle`](super::Session)).
    pub(super) session: u64,
    pub(super) inbox: mpsc::Sender<Input>,
    pub(super) status: Arc<watch::Sender<Status>>,
    pub(super) error: super::torrent::LastError,
    pub(super) metainfo: super::torrent::MetainfoSlot,
    /// A magnet link's name for it, until the metadata names it.
    pub(super) display_name: String,
    /// Its trackers, as its announcer last found them.
    pub(super) trackers: SharedTrackers,
    /// Set once, when this add is removed.
    pub(super) removed: Arc<AtomicBool>,
    /// Set once, when the session shuts down.
    pub(super) closed: Arc<AtomicBool>,
}

impl TorrentHandle {
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The torrent's name: a magnet link's display name (`dn`, else its info-hash in hex)
    /// until its metadata is in.
    pub fn name(&self) -> String {
        match self.metainfo.get() {
            Some(meta) => meta.info().name(),
            None => self.display_name.clone(),
        }
    }

    /// The torrent's metainfo: `None` for a magnet link's until its metadata is in (then it
    /// can be saved as a `.torrent` file).
    pub fn metainfo(&self) -> Option<Arc<crate::Metainfo>> {
        self.metainfo.get().cloned()
    }

    pub fn status(&self) -> Status {
        *self.status.borrow()
    }

    /// Each tracker URL of the torrent with how it fares (in tier order: not tried yet,
    /// working with its last reply, or failing with its error); empty when the torrent names
    /// no tracker.
    pub fn trackers(&self) -> Vec<TrackerStatus> {
        self.trackers.snapshot()
    }

    /// What is wrong with the torrent's trackers, if anything ([`TrackerTrouble::of`] its
    /// [`trackers`](Self::trackers)): what to say while no peer comes.
    pub fn tracker_trouble(&self) -> Option<TrackerTrouble> {
        TrackerTrouble::of(&self.trackers())
    }

    /// The storage error that stopped the torrent ([`State::Error`]): what it could not open,
    /// make, read or write, and why. `None` once [`resume`](Self::resume)d.
    pub fn error(&self) -> Option<Arc<crate::Error>> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `Ok` while the torrent runs in its session.
    pub fn check(&self) -> Result<(), SessionError> {
        if self.closed.load(Ordering::Acquire) {
            Err(SessionError::Closed)
        } else if self.removed.load(Ordering::Acquire) {
            Err(SessionError::Removed(self.info_hash))
        } else {
            Ok(())
        }
    }

    /// Blocks until `done(status)` holds or `timeout` passes; returns whether it held.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&Status) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.status()) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Status changes at least every half second while anything happens.
            std::thread::sleep(Duration::from_millis(20).min(deadline - now));
        }
    }

    /// Blocks until every piece is verified, `timeout` passes, a storage error stops the
    /// torrent, or it stops running; says which (at once, for a torrent that stopped).
    pub fn wait(&self, timeout: Duration) -> WaitOutcome {
        let outcome = |s: &Status| {
            if s.is_finished() {
                Some(WaitOutcome::Finished)
            } else if self.check().is_err() {
                Some(WaitOutcome::Stopped)
            } else if s.state == State::Error && self.error().is_some() {
                // Without its error the state is stale: a resume took it and is on its way.
                Some(WaitOutcome::Failed)
            } else {
                None
            }
        };
        self.wait_for(timeout, |s| outcome(s).is_some());
        outcome(&self.status()).unwrap_or(WaitOutcome::TimedOut)
    }

    /// Blocks until the check of the data on disk that follows an add is over (the state is
    /// no longer [`State::Checking`]: the torrent runs, or the check failed with
    /// [`State::Error`]); false when `timeout` passed first or the torrent stopped running.
    pub fn wait_checked(&self, timeout: Duration) -> bool {
        let over = |s: &Status| {
            !matches!(s.state, State::Checking | State::FetchingMetadata) || self.check().is_err()
        };
        self.wait_for(timeout, over) && self.check().is_ok()
    }

    /// [`wait`](Self::wait), true when it ended [`WaitOutcome::Finished`].
    pub fn wait_finished(&self, timeout: Duration) -> bool {
        self.wait(timeout) == WaitOutcome::Finished
    }

    /// Drops every peer and connects to none until [`resume`](Self::resume).
    pub fn pause(&self) -> Result<(), SessionError> {
        self.command(Command::Pause)
    }

    /// Undoes [`pause`](Self::pause) (connecting again to the peers it had), or tries again
    /// after a storage error stopped the torrent ([`State::Error`]): its files are opened and
    /// checked again (one may be gone or changed since), then it runs.
    pub fn resume(&self) -> Result<(), SessionError> {
        self.check()?;
        let stopped = self.error.lock().unwrap_or_else(|e| e.into_inner()).take();
        // The error is cleared at once, so that a wait right after does not end on it: the
        // files are opened and checked again.
        if stopped.is_some() {
            self.status.send_if_modified(|s| {
                let error = s.state == State::Error;
                if error {
                    s.state = State::Checking;
                }
                error
            });
        }
        self.command(Command::Resume)
    }

    fn command(&self, command: Command) -> Result<(), SessionError> {
        self.check()?;
        let _ = self.inbox.try_send(Input::Command(command));
        Ok(())
    }

    /// Stops the torrent's actor (announcing `stopped`), waiting up to 5 s.
    pub(super) async fn stop(&self) {
        let (done, wait) = oneshot::channel();
        if self
            .inbox
            .send(Input::Command(Command::Stop(done)))
            .await
            .is_ok()
        {
            let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        }
    }
}
