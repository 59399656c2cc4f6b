//! Choking, as BEP 3 describes it: a few interested peers are unchoked by rate (the rate they
//! give us while we download, the rate we reach to them while we seed), one more is unchoked
//! optimistically and rotated every 30 seconds so new peers get a chance, and a peer that has
//! stopped sending us data (snubbing us) loses its regular slot.
//!
//! Pure logic: the torrent calls [`Choker::tick`] every 10 seconds with its peers and sends
//! `choke`/`unchoke` for what changed.

use crate::piece::picker::PeerKey;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How often the optimistic unchoke moves to another peer.
pub const OPTIMISTIC_ROTATION: Duration = Duration::from_secs(30);
/// A peer that unchoked us but sent no block for this long is snubbing us.
pub const SNUB_AFTER: Duration = Duration::from_secs(60);

/// What the choker needs to know of a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub peer: PeerKey,
    /// It wants something we have.
    pub interested: bool,
    /// Bytes per second it sends us (recent average).
    pub download_rate: u64,
    /// Bytes per second we send it (recent average).
    pub upload_rate: u64,
    /// It unchoked us but sent nothing for [`SNUB_AFTER`] while we wanted data.
    pub snubbing: bool,
}

/// The choker's state: who holds the optimistic slot, and since when.
#[derive(Debug)]
pub struct Choker {
    /// Regular unchoke slots (by rate); one optimistic slot comes on top.
    slots: usize,
    optimistic: Option<(PeerKey, Instant)>,
}

impl Choker {
    pub fn new(slots: usize) -> Choker {
        Choker {
            slots,
            optimistic: None,
        }
    }

    /// The peers to have unchoked from now on.
    pub fn tick(&mut self, now: Instant, seeding: bool, peers: &[Candidate]) -> HashSet<PeerKey> {
        let rate = |c: &Candidate| {
            if seeding {
                c.upload_rate
            } else {
                c.download_rate
            }
        };
        let mut ranked: Vec<&Candidate> = peers
            .iter()
            .filter(|c| c.interested && !c.snubbing)
            .collect();
        // Ties (all zero at the start) broken at random, so early slots are shared fairly.
        fastrand::shuffle(&mut ranked);
        ranked.sort_by_key(|c| std::cmp::Reverse(rate(c)));
        let mut unchoked: HashSet<PeerKey> =
            ranked.iter().take(self.slots).map(|c| c.peer).collect();

        let still_fits = |key: PeerKey| {
            peers.iter().any(|c| c.peer == key && c.interested) && !unchoked.contains(&key)
        };
        let keep = match self.optimistic {
            Some((key, since)) => {
                now.duration_since(since) < OPTIMISTIC_ROTATION && still_fits(key)
            }
            None => false,
        };
        if !keep {
            let choked: Vec<PeerKey> = peers
                .iter()
                .filter(|c| c.interested && !unchoked.contains(&c.peer))
                .map(|c| c.peer)
                .collect();
            self.optimistic = match choked.len() {
                0 => None,
                n => Some((choked[fastrand::usize(..n)], now)),
            };
        }
        if let Some((key, _)) = self.optimistic {
            unchoked.insert(key);
        }
        unchoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u32, rate: u64) -> Candidate {
        Candidate {
            peer: PeerKey(n),
            interested: true,
            download_rate: rate,
            upload_rate: 1000 - rate,
            snubbing: false,
        }
    }

    #[test]
    fn the_fastest_get_the_slots_plus_one_optimistic() {
        let mut choker = Choker::new(2);
        let peers: Vec<Candidate> = (0..6).map(|n| peer(n, u64::from(n) * 100)).collect();
        let unchoked = choker.tick(Instant::now(), false, &peers);
        assert_eq!(unchoked.len(), 3);
        assert!(unchoked.contains(&PeerKey(5)) && unchoked.contains(&PeerKey(4)));
        // Seeding ranks by what we upload to them instead.
        let unchoked = Choker::new(2).tick(Instant::now(), true, &peers);
        assert!(unchoked.contains(&PeerKey(0)) && unchoked.contains(&PeerKey(1)));
    }

    #[test]
    fn the_optimistic_slot_rotates_every_30_seconds() {
        let mut choker = Choker::new(1);
        let peers: Vec<Candidate> = (0..20)
            .map(|n| peer(n, if n == 0 { 999 } else { 0 }))
            .collect();
        let start = Instant::now();
        let first = choker.tick(start, false, &peers);
        let optimistic = *first.iter().find(|k| **k != PeerKey(0)).unwrap();
        for s in [10, 20] {
            let again = choker.tick(start + Duration::from_secs(s), false, &peers);
            assert!(again.contains(&optimistic), "kept within 30 s");
        }
        let mut moved = false;
        for round in 1..20 {
            let later = choker.tick(
                start + OPTIMISTIC_ROTATION * round + Duration::from_secs(1),
                false,
                &peers,
            );
            moved |= !later.contains(&optimistic);
        }
        assert!(moved, "rotated");
    }

    #[test]
    fn snubbing_and_uninterested_peers_get_no_regular_slot() {
        let mut choker = Choker::new(1);
        let mut fast = peer(1, 900);
        fast.snubbing = true;
        let mut idle = peer(2, 800);
        idle.interested = false;
        let slow = peer(3, 10);
        let unchoked = choker.tick(Instant::now(), false, &[fast, idle, slow]);
        assert!(unchoked.contains(&PeerKey(3)));
        assert!(!unchoked.contains(&PeerKey(2)));
        // The snubbing peer can still be the optimistic one: it is interested and choked.
        assert!(unchoked.len() <= 2);
    }

    #[test]
    fn nobody_interested_means_nobody_unchoked() {
        let mut choker = Choker::new(4);
        let mut p = peer(1, 5);
        p.interested = false;
        assert!(choker.tick(Instant::now(), true, &[p]).is_empty());
    }
}
