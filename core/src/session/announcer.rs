//! The announcer: a task per torrent that tells its trackers about it (`started`, then every
//! interval, `completed` once, `stopped` at the end, and `stopped`/`started` around a pause),
//! and hands the peers they name to the torrent.

use super::channel::Input;
use super::trackers::{SharedTrackers, TrackerState};
use super::{Event, EventKind, SessionShared};
use crate::metainfo::InfoHash;
use crate::tracker::client::{Backoff, Client, TrackerList};
use crate::tracker::{AnnounceRequest, Event as AnnounceEvent};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// What the announcer tells the trackers next; the torrent updates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Announce {
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub completed: bool,
    /// Paused: out of the swarm (`stopped`) until resumed (`started` again).
    pub paused: bool,
    pub stopped: bool,
}

/// Announces to the torrent's trackers: `started`, then every interval, `completed` once,
/// `stopped` at the end; peers go to the torrent. Each URL's fate goes to `status` (what
/// [`TorrentHandle::trackers`](super::TorrentHandle::trackers) shows), and each failure out as
/// an [`EventKind::TrackerError`] naming its URL.
pub(super) async fn run(
    info_hash: InfoHash,
    tiers: Vec<Vec<String>>,
    shared: Arc<SessionShared>,
    mut state: watch::Receiver<Announce>,
    inbox: mpsc::Sender<Input>,
    status: SharedTrackers,
) {
    let Ok(mut trackers) = TrackerList::new(tiers) else {
        return;
    };
    let Ok(client) = Client::new(shared.config.tracker.clone()) else {
        return;
    };
    let mut event = Some(AnnounceEvent::Started);
    let mut completed_sent = false;
    let mut backoff = Backoff::default();
    // Whether the trackers were told we are in the swarm (and not told since that we left).
    let mut joined = false;
    loop {
        let now = *state.borrow();
        if now.paused && !now.stopped {
            if joined {
                let mut req =
                    AnnounceRequest::new(info_hash, shared.peer_id, shared.port, now.left);
                (req.uploaded, req.downloaded) = (now.uploaded, now.downloaded);
                req.event = Some(AnnounceEvent::Stopped);
                req.numwant = Some(0);
                let _ = trackers.announce(&client, &req).await;
                joined = false;
            }
            // Until resumed (or stopped).
            if state.wait_for(|s| !s.paused || s.stopped).await.is_err() {
                return;
            }
            event = Some(AnnounceEvent::Started);
            continue;
        }
        if now.stopped && !joined {
            return;
        }
        if now.completed && !completed_sent && event.is_none() {
            event = Some(AnnounceEvent::Completed);
        }
        if now.stopped {
            event = Some(AnnounceEvent::Stopped);
        }
        let mut req = AnnounceRequest::new(info_hash, shared.peer_id, shared.port, now.left);
        req.uploaded = now.uploaded;
        req.downloaded = now.downloaded;
        req.event = event;
        req.numwant = Some(if now.stopped { 0 } else { 50 });
        let result = trackers
            .announce_reporting(&client, &req, |tier, url, outcome| {
                let at = std::time::Instant::now();
                match outcome {
                    Ok(reply) => status.update(tier, url, |t| {
                        t.state = TrackerState::Working;
                        t.peers = reply.peers.len() as u32;
                        t.interval = Some(client.config().clamp_interval(reply));
                        (t.error, t.failures, t.updated) = (None, 0, Some(at));
                    }),
                    Err(e) => {
                        tracing::debug!(info_hash = %info_hash, url, error = %e, "announce failed");
                        let error = Arc::new(crate::Error::from(e.clone()));
                        status.update(tier, url, |t| {
                            t.state = TrackerState::Failing;
                            t.error = Some(error.clone());
                            t.failures = t.failures.saturating_add(1);
                            t.updated = Some(at);
                        });
                        let _ = shared.events.send(Event {
                            info_hash,
                            kind: EventKind::TrackerError {
                                url: url.to_owned(),
                                error,
                            },
                        });
                    }
                }
            })
            .await;
        if now.stopped {
            return;
        }
        let wait = match result {
            Ok((url, reply)) => {
                backoff.reset();
                joined = true;
                if event == Some(AnnounceEvent::Completed) {
                    completed_sent = true;
                }
                event = None;
                let _ = shared.events.send(Event {
                    info_hash,
                    kind: EventKind::TrackerReply {
                        url,
                        peers: reply.peers.len() as u32,
                    },
                });
                let addrs = reply.peers.iter().map(|p| p.addr).collect();
                let _ = inbox.send(Input::Peers(addrs)).await;
                client.config().clamp_interval(&reply)
            }
            Err(_) => backoff.next_delay(),
        };
        status.set_next_announce(std::time::Instant::now() + wait);
        // Wake early for `completed`, `paused` and `stopped`.
        let _ = tokio::time::timeout(wait, async {
            loop {
                if state.changed().await.is_err() {
                    return;
                }
                let s = *state.borrow();
                if s.stopped || s.paused || (s.completed && !completed_sent) {
                    return;
                }
            }
        })
        .await;
        if inbox.is_closed() {
            return;
        }
    }
}
