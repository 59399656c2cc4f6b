//! What a torrent's trackers are doing: a [`TrackerStatus`] per URL that the announcer keeps up
//! to date, read through [`TorrentHandle::trackers`](super::TorrentHandle::trackers), and the
//! one verdict every face shows when no peer comes ([`TrackerTrouble`]).

use crate::tracker::client::TrackerList;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a tracker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackerState {
    /// Not asked yet (the torrent is being checked, or an earlier tracker answered).
    NotTried,
    /// Its last announce was answered.
    Working,
    /// Its last announce failed ([`TrackerStatus::error`] says why).
    Failing,
}

/// One tracker URL of a torrent, as its announcer last found it.
#[derive(Debug, Clone)]
pub struct TrackerStatus {
    pub url: String,
    /// Its BEP 12 tier (0 for the first; a torrent with only `announce` has tier 0 alone).
    pub tier: u32,
    pub state: TrackerState,
    /// Peers its last reply named (0 until one came).
    pub peers: u32,
    /// The interval its last reply asked for.
    pub interval: Option<Duration>,
    /// Why its last announce failed, while [`TrackerState::Failing`].
    pub error: Option<Arc<crate::Error>>,
    /// Announces that failed in a row (0 once one is answered).
    pub failures: u32,
    /// When it last answered or failed.
    pub updated: Option<Instant>,
    /// When the announcer asks the trackers next (after a failure: the retry).
    pub next_announce: Option<Instant>,
}

impl TrackerStatus {
    /// A tracker of the torrent's list before its first announce.
    fn not_tried(url: String, tier: u32) -> TrackerStatus {
        TrackerStatus {
            url,
            tier,
            state: TrackerState::NotTried,
            peers: 0,
            interval: None,
            error: None,
            failures: 0,
            updated: None,
            next_announce: None,
        }
    }
}

/// What is wrong with a torrent's trackers, if anything: what a face says while no peer comes.
#[derive(Debug, Clone)]
pub enum TrackerTrouble {
    /// The torrent names no tracker: peers come only from those added by hand (or that dial
    /// in).
    NoTracker,
    /// No tracker is working and these failed (each with its error), in tier order.
    Unreachable(Vec<TrackerStatus>),
}

impl TrackerTrouble {
    /// The verdict on a torrent's trackers (as [`TorrentHandle::trackers`] lists them): none
    /// at all, or none working and at least one failed; `None` while one works or none was
    /// asked yet.
    ///
    /// [`TorrentHandle::trackers`]: super::TorrentHandle::trackers
    pub fn of(trackers: &[TrackerStatus]) -> Option<TrackerTrouble> {
        if trackers.is_empty() {
            return Some(TrackerTrouble::NoTracker);
        }
        if trackers.iter().any(|t| t.state == TrackerState::Working) {
            return None;
        }
        let failing: Vec<_> = trackers
            .iter()
            .filter(|t| t.state == TrackerState::Failing)
            .cloned()
            .collect();
        (!failing.is_empty()).then_some(TrackerTrouble::Unreachable(failing))
    }
}

/// The trackers of one torrent, shared by its announcer (which writes) and its handles.
#[derive(Debug, Clone, Default)]
pub(super) struct SharedTrackers(Arc<Mutex<Vec<TrackerStatus>>>);

impl SharedTrackers {
    /// Every URL of the torrent's tracker tiers (BEP 12), in tier order, none tried yet;
    /// empty for a torrent with no tracker.
    pub fn of(tiers: &[Vec<String>]) -> Self {
        let list = TrackerList::new(tiers.to_vec()).ok();
        let tiers = list.as_ref().map(|l| l.tiers()).unwrap_or_default();
        let trackers = tiers
            .iter()
            .enumerate()
            .flat_map(|(tier, urls)| {
                urls.iter()
                    .map(move |url| TrackerStatus::not_tried(url.clone(), tier as u32))
            })
            .collect();
        SharedTrackers(Arc::new(Mutex::new(trackers)))
    }

    pub fn snapshot(&self) -> Vec<TrackerStatus> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the entry of `url` in `tier` (nothing if there is none).
    pub fn update(&self, tier: usize, url: &str, change: impl FnOnce(&mut TrackerStatus)) {
        let mut trackers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = trackers
            .iter_mut()
            .find(|t| t.tier as usize == tier && t.url == url)
        {
            change(t);
        }
    }

    /// Sets when every tracker is asked next.
    pub fn set_next_announce(&self, at: Instant) {
        let mut trackers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for t in trackers.iter_mut() {
            t.next_announce = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(state: TrackerState) -> TrackerStatus {
        TrackerStatus {
            state,
            ..TrackerStatus::not_tried("http://t/announce".into(), 0)
        }
    }

    #[test]
    fn trouble_is_no_tracker_or_none_working_after_a_failure() {
        use TrackerState::*;
        assert!(matches!(
            TrackerTrouble::of(&[]),
            Some(TrackerTrouble::NoTracker)
        ));
        assert!(TrackerTrouble::of(&[tracker(NotTried)]).is_none());
        assert!(TrackerTrouble::of(&[tracker(Failing), tracker(Working)]).is_none());
        match TrackerTrouble::of(&[tracker(Failing), tracker(NotTried)]) {
            Some(TrackerTrouble::Unreachable(failed)) => assert_eq!(failed.len(), 1),
            other => panic!("{other:?}"),
        }
    }
}
