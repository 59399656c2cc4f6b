//! The tracker's state: for each torrent, the peers announcing it.
//!
//! A peer is keyed by the address the tracker sees and the port it announces, not by its peer
//! id: ids are public (dictionary answers carry them), so keying by id would let anyone send
//! `stopped` in another peer's name. Each swarm keeps its peers in vectors (so a random window
//! of them is cheap to hand out) and a hash table of indices into them; a peer is 44 bytes (20
//! that answers read, 24 kept apart) and the table 4 bytes a slot, about 60 bytes a peer in all
//! (see BENCHMARKS.md).
//!
//! Torrents are spread over shards, each behind its own lock, so announces for different
//! torrents rarely wait for one another.

use super::{AnnounceRequest, AnnounceResponse, Event, Peer, PeerId, ScrapeStats};
use crate::metainfo::InfoHash;
use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const SHARDS: usize = 64;

/// Bounds on what the registry holds and hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwarmLimits {
    /// Torrents tracked at once; an announce for one more is refused.
    pub max_torrents: usize,
    /// Peers kept per torrent; past it, a new peer still gets an answer but is not added.
    pub max_peers_per_torrent: usize,
    /// Peers in an answer when `numwant` is not given.
    pub default_numwant: usize,
    /// The most peers in an answer, whatever `numwant` asks.
    pub max_numwant: usize,
    /// A peer silent this many seconds is dropped.
    pub peer_timeout_secs: u32,
}

/// Where a peer is: IPv4 addresses stored IPv6-mapped, so one layout serves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    ip: [u8; 16],
    port: u16,
}

impl Key {
    fn new(ip: IpAddr, port: u16) -> Key {
        let ip = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        Key {
            ip: ip.octets(),
            port,
        }
    }

    fn family(&self) -> Family {
        // ::ffff:0:0/96, IPv4-mapped.
        if u128::from_be_bytes(self.ip) >> 32 == 0xffff {
            Family::V4
        } else {
            Family::V6
        }
    }

    fn addr(&self) -> SocketAddr {
        match self.family() {
            Family::V4 => {
                let [.., a, b, c, d] = self.ip;
                SocketAddr::from((Ipv4Addr::new(a, b, c, d), self.port))
            }
            Family::V6 => SocketAddr::from((Ipv6Addr::from(self.ip), self.port)),
        }
    }
}

/// An address family, for answers that may carry peers of one only (BEP 15's follow the
/// request's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// What a compact answer needs of a peer (20 bytes), kept apart from the rest so that the
/// random window an answer is drawn from spans as few cache lines as it can: at load, reading
/// that window is a large part of an announce's time.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Key,
    seeder: bool,
    /// Its `completed` was counted already: each peer counts once.
    completed: bool,
}

/// The rest of what is kept of a peer (24 bytes), at the same index as its [`Entry`].
#[derive(Debug, Clone, Copy)]
struct Detail {
    peer_id: PeerId,
    /// Seconds since the registry started.
    last_seen: u32,
}

#[derive(Default)]
struct Swarm {
    peers: Vec<Entry>,
    details: Vec<Detail>,
    index: HashTable<u32>,
    seeders: usize,
    downloaded: u64,
}

fn hash(key: &Key) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Swarm {
    fn find(&self, key: &Key) -> Option<usize> {
        self.index
            .find(hash(key), |&i| self.peers[i as usize].key == *key)
            .map(|&i| i as usize)
    }

    fn insert(&mut self, entry: Entry, detail: Detail) {
        let at = self.peers.len() as u32;
        let peers = &self.peers;
        self.index
            .insert_unique(hash(&entry.key), at, |&i| hash(&peers[i as usize].key));
        self.seeders += usize::from(entry.seeder);
        self.peers.push(entry);
        self.details.push(detail);
    }

    /// Removes the peer at `at`; the last peer takes its place.
    fn remove(&mut self, at: usize) {
        let key = self.peers[at].key;
        let peers = &self.peers;
        if let Ok(slot) = self
            .index
            .find_entry(hash(&key), |&i| peers[i as usize].key == key)
        {
            slot.remove();
        }
        let last = self.peers.len() - 1;
        if at != last {
            let moved = self.peers[last].key;
            let peers = &self.peers;
            if let Some(slot) = self
                .index
                .find_mut(hash(&moved), |&i| peers[i as usize].key == moved)
            {
                *slot = at as u32;
            }
        }
        self.details.swap_remove(at);
        let gone = self.peers.swap_remove(at);
        self.seeders -= usize::from(gone.seeder);
    }

    fn stats(&self) -> ScrapeStats {
        ScrapeStats {
            complete: self.seeders as u64,
            downloaded: self.downloaded,
            incomplete: (self.peers.len() - self.seeders) as u64,
        }
    }

    /// Up to `want` peers from a random window, never `me`, no seeders for a seeder, only of
    /// `family` when one is given; with their peer ids if `with_ids`.
    fn pick(
        &self,
        want: usize,
        me: &Key,
        for_seeder: bool,
        family: Option<Family>,
        with_ids: bool,
    ) -> Vec<Peer> {
        let n = self.peers.len();
        let mut out = Vec::with_capacity(want.min(n));
        if n == 0 || want == 0 {
            return out;
        }
        let start = fastrand::usize(..n);
        let unwanted = |p: &Entry| {
            (for_seeder && p.seeder) || family.is_some_and(|f| p.key.family() != f) || p.key == *me
        };
        'window: for range in [start..n, 0..start] {
            for (p, i) in self.peers[range.clone()].iter().zip(range) {
                if unwanted(p) {
                    continue;
                }
                out.push(Peer {
                    addr: p.key.addr(),
                    peer_id: with_ids.then(|| self.details[i].peer_id),
                });
                if out.len() == want {
                    break 'window;
                }
            }
        }
        out
    }
}

/// Counters since the registry started.
#[derive(Debug, Default)]
struct Counters {
    announces: AtomicU64,
    scrapes: AtomicU64,
    refused: AtomicU64,
}

/// A snapshot of the tracker's state and counters.
/// Why the registry refused an announce; its text is the `failure reason` the client gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// A new torrent, and the registry holds as many as it may.
    #[error("tracker is full ({0} torrents)")]
    Full(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub torrents: u64,
    pub peers: u64,
    pub seeders: u64,
    pub leechers: u64,
    /// `completed` events counted, over all torrents.
    pub downloaded: u64,
    pub announces: u64,
    pub scrapes: u64,
    /// Requests answered with a `failure reason`.
    pub refused: u64,
}

/// Every torrent the tracker knows and its peers.
pub struct Registry {
    shards: Vec<Mutex<FxHashMap<InfoHash, Swarm>>>,
    torrents: AtomicU64,
    limits: SwarmLimits,
    started: Instant,
    counters: Counters,
}

/// What an announce did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// The first peer of a torrent arrived.
    NewTorrent,
    /// A peer's `completed` was counted.
    Completed,
}

impl Registry {
    pub fn new(limits: SwarmLimits) -> Self {
        Registry {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(FxHashMap::default()))
                .collect(),
            torrents: AtomicU64::new(0),
            limits,
            started: Instant::now(),
            counters: Counters::default(),
        }
    }

    fn shard(&self, hash: &InfoHash) -> std::sync::MutexGuard<'_, FxHashMap<InfoHash, Swarm>> {
        // A poisoned lock only means another thread panicked mid-update; the map is still whole.
        // All of the hash picks the shard: hashes that share a first byte (made up, or chosen
        // by a client) still spread.
        self.shards[(FxBuildHasher.hash_one(hash) >> 32) as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Seconds on the registry's clock, which starts one timeout in so that deadlines never
    /// fall before its start.
    fn now(&self) -> u32 {
        self.started.elapsed().as_secs() as u32 + self.limits.peer_timeout_secs
    }

    /// Counts a request refused with a `failure reason`.
    pub fn count_refused(&self) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Records an announce from `ip` and answers it (peers, only of `family` when one is
    /// given; counts; intervals are the caller's).
    pub fn announce(
        &self,
        req: &AnnounceRequest,
        ip: IpAddr,
        family: Option<Family>,
    ) -> Result<(AnnounceResponse, Change), Refused> {
        self.counters.announces.fetch_add(1, Ordering::Relaxed);
        let key = Key::new(ip, req.port);
        let now = self.now();
        let mut shard = self.shard(&req.info_hash);
        let mut change = Change::None;
        if !shard.contains_key(&req.info_hash) {
            if req.event == Some(Event::Stopped) {
                return Ok((AnnounceResponse::default(), change));
            }
            if self.torrents.load(Ordering::Relaxed) as usize >= self.limits.max_torrents {
                return Err(Refused::Full(self.limits.max_torrents));
            }
            self.torrents.fetch_add(1, Ordering::Relaxed);
            change = Change::NewTorrent;
        }
        let swarm = shard.entry(req.info_hash).or_default();
        let seeder = req.left == 0;
        match (swarm.find(&key), req.event) {
            (Some(at), Some(Event::Stopped)) => swarm.remove(at),
            (None, Some(Event::Stopped)) => {}
            (Some(at), event) => {
                swarm.details[at] = Detail {
                    peer_id: req.peer_id,
                    last_seen: now,
                };
                let p = &mut swarm.peers[at];
                if p.seeder != seeder {
                    p.seeder = seeder;
                    if seeder {
                        swarm.seeders += 1;
                    } else {
                        swarm.seeders -= 1;
                    }
                }
                if event == Some(Event::Completed) && !p.completed {
                    p.completed = true;
                    swarm.downloaded += 1;
                    change = Change::Completed;
                }
            }
            (None, event) if swarm.peers.len() < self.limits.max_peers_per_torrent => {
                let completed = event == Some(Event::Completed);
                swarm.insert(
                    Entry {
                        key,
                        seeder,
                        completed,
                    },
                    Detail {
                        peer_id: req.peer_id,
                        last_seen: now,
                    },
                );
                if completed {
                    swarm.downloaded += 1;
                    change = Change::Completed;
                }
            }
            (None, _) => {}
        }
        let want = match req.event {
            Some(Event::Stopped) => 0,
            _ => req
                .numwant
                .map_or(self.limits.default_numwant, |n| n as usize)
                .min(self.limits.max_numwant),
        };
        let stats = swarm.stats();
        // Only a dictionary answer carries peer ids (BEP 23's compact forms and BEP 15 do not).
        let with_ids = !req.compact && !req.no_peer_id;
        let peers = swarm.pick(want, &key, seeder, family, with_ids);
        let response = AnnounceResponse {
            complete: Some(stats.complete),
            incomplete: Some(stats.incomplete),
            peers,
            ..Default::default()
        };
        Ok((response, change))
    }

    /// Counts for each hash the tracker knows (unknown ones are left out, as BEP 48 allows).
    pub fn scrape(&self, hashes: &[InfoHash]) -> Vec<(InfoHash, ScrapeStats)> {
        self.counters.scrapes.fetch_add(1, Ordering::Relaxed);
        hashes
            .iter()
            .filter_map(|h| self.shard(h).get(h).map(|s| (*h, s.stats())))
            .collect()
    }

    /// Counts for one torrent; zeros if unknown.
    pub fn torrent_stats(&self, hash: &InfoHash) -> ScrapeStats {
        self.shard(hash)
            .get(hash)
            .map(Swarm::stats)
            .unwrap_or_default()
    }

    /// Drops peers silent past the timeout, and torrents left without peers.
    pub fn expire(&self) {
        let deadline = self.now().saturating_sub(self.limits.peer_timeout_secs);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            shard.retain(|_, swarm| {
                let mut i = 0;
                while i < swarm.details.len() {
                    if swarm.details[i].last_seen <= deadline {
                        swarm.remove(i);
                    } else {
                        i += 1;
                    }
                }
                let keep = !swarm.peers.is_empty() || swarm.downloaded > 0;
                if !keep {
                    self.torrents.fetch_sub(1, Ordering::Relaxed);
                }
                keep
            });
        }
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            announces: self.counters.announces.load(Ordering::Relaxed),
            scrapes: self.counters.scrapes.load(Ordering::Relaxed),
            refused: self.counters.refused.load(Ordering::Relaxed),
            ..Default::default()
        };
        for shard in &self.shards {
            for swarm in shard.lock().unwrap_or_else(|e| e.into_inner()).values() {
                s.torrents += 1;
                s.peers += swarm.peers.len() as u64;
                s.seeders += swarm.seeders as u64;
                s.downloaded += swarm.downloaded;
            }
        }
        s.leechers = s.peers - s.seeders;
        s
    }

    /// For tests: pretend `secs` seconds passed for every peer.
    #[cfg(test)]
    fn age_all(&self, secs: u32) {
        for shard in &self.shards {
            for swarm in shard.lock().unwrap().values_mut() {
                for p in &mut swarm.details {
                    p.last_seen = p.last_seen.saturating_sub(secs);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SwarmLimits {
        SwarmLimits {
            max_torrents: 2,
            max_peers_per_torrent: 3,
            default_numwant: 50,
            max_numwant: 2,
            peer_timeout_secs: 100,
        }
    }

    fn req(hash: u8, port: u16, left: u64, event: Option<Event>) -> AnnounceRequest {
        let mut r =
            AnnounceRequest::new(InfoHash([hash; 20]), PeerId([port as u8; 20]), port, left);
        r.event = event;
        r
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn an_answer_of_one_family_is_filled_from_that_family() {
        let r = Registry::new(SwarmLimits {
            max_peers_per_torrent: 100,
            max_numwant: 50,
            ..limits()
        });
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        for port in 1..=40 {
            r.announce(&req(1, port, 5, None), v6, None).unwrap();
        }
        for port in 41..=45 {
            r.announce(&req(1, port, 5, None), IP, None).unwrap();
        }
        let mut ask = req(1, 99, 5, None);
        ask.numwant = Some(5);
        for _ in 0..20 {
            // Wherever the random window starts, five IPv4 peers are there to be found.
            let (answer, _) = r.announce(&ask, IP, Some(Family::V4)).unwrap();
            assert_eq!(answer.peers.len(), 5);
            assert!(answer.peers.iter().all(|p| p.addr.is_ipv4()));
        }
        let (answer, _) = r.announce(&ask, IP, Some(Family::V6)).unwrap();
        assert_eq!(answer.peers.len(), 5);
        assert!(answer.peers.iter().all(|p| p.addr.is_ipv6()));
        let (answer, _) = r.announce(&ask, IP, None).unwrap();
        assert_eq!(answer.peers.len(), 5);
    }

    #[test]
    fn peer_ids_only_for_dictionary_answers_and_an_answer_reads_20_bytes_a_peer() {
        assert_eq!(std::mem::size_of::<Entry>(), 20);
        assert_eq!(std::mem::size_of::<Detail>(), 24);
        let r = Registry::new(limits());
        r.announce(&req(1, 1000, 5, None), IP, None).unwrap();
        let mut ask = req(1, 1001, 5, None);
        let (compact, _) = r.announce(&ask, IP, None).unwrap();
        assert_eq!(compact.peers[0].peer_id, None);
        ask.compact = false;
        let (dictionary, _) = r.announce(&ask, IP, None).unwrap();
        assert_eq!(
            dictionary.peers[0].peer_id,
            Some(PeerId([1000u16 as u8; 20]))
        );
        ask.no_peer_id = true;
        let (without, _) = r.announce(&ask, IP, None).unwrap();
        assert_eq!(without.peers[0].peer_id, None);
    }

    #[test]
    fn peers_meet_but_never_themselves() {
        let r = Registry::new(limits());
        let (first, change) = r
            .announce(&req(1, 1000, 5, Some(Event::Started)), IP, None)
            .unwrap();
        assert_eq!(change, Change::NewTorrent);
        assert!(first.peers.is_empty());
        let (second, _) = r.announce(&req(1, 1001, 5, None), IP, None).unwrap();
        assert_eq!(second.peers.len(), 1);
        assert_eq!(second.peers[0].addr, "127.0.0.1:1000".parse().unwrap());
        assert_eq!((second.complete, second.incomplete), (Some(0), Some(2)));
    }

    #[test]
    fn numwant_is_clamped_and_seeders_get_only_leechers() {
        let r = Registry::new(limits());
        for port in [1, 2, 3] {
            r.announce(&req(1, port, port as u64 - 1, None), IP, None)
                .unwrap();
        }
        let mut many = req(1, 2, 1, None);
        many.numwant = Some(1000);
        assert_eq!(r.announce(&many, IP, None).unwrap().0.peers.len(), 2);
        let (seeder, _) = r.announce(&req(1, 1, 0, None), IP, None).unwrap();
        assert!(seeder.peers.iter().all(|p| p.addr.port() != 1));
        assert_eq!(seeder.peers.len(), 2);
    }

    #[test]
    fn stopped_removes_completed_counts_once_and_limits_hold() {
        let r = Registry::new(limits());
        r.announce(&req(1, 1, 5, Some(Event::Started)), IP, None)
            .unwrap();
        for _ in 0..2 {
            r.announce(&req(1, 1, 0, Some(Event::Completed)), IP, None)
                .unwrap();
        }
        assert_eq!(
            r.torrent_stats(&InfoHash([1; 20])),
            ScrapeStats {
                complete: 1,
                downloaded: 1,
                incomplete: 0
            }
        );
        r.announce(&req(1, 1, 0, Some(Event::Stopped)), IP, None)
            .unwrap();
        assert_eq!(r.torrent_stats(&InfoHash([1; 20])).complete, 0);
        for port in 10..20 {
            r.announce(&req(1, port, 5, None), IP, None).unwrap();
        }
        assert_eq!(r.stats().peers, 3, "peers per torrent capped");
        r.announce(&req(2, 1, 5, None), IP, None).unwrap();
        let refused = r.announce(&req(3, 1, 5, None), IP, None).unwrap_err();
        assert_eq!(refused, Refused::Full(2));
        assert_eq!(refused.to_string(), "tracker is full (2 torrents)");
    }

    #[test]
    fn silent_peers_expire_and_indices_stay_right() {
        let r = Registry::new(SwarmLimits {
            max_peers_per_torrent: 100,
            ..limits()
        });
        for port in 1..=10 {
            r.announce(&req(1, port, 5, None), IP, None).unwrap();
        }
        r.age_all(200);
        for port in [3, 7] {
            r.announce(&req(1, port, 5, None), IP, None).unwrap();
        }
        r.expire();
        assert_eq!(r.stats().peers, 2);
        // The survivors are still found by key (their indices moved when others left).
        r.announce(&req(1, 7, 5, Some(Event::Stopped)), IP, None)
            .unwrap();
        r.announce(&req(1, 3, 5, Some(Event::Stopped)), IP, None)
            .unwrap();
        assert_eq!(r.stats().peers, 0);
        r.expire();
        assert_eq!(r.stats().torrents, 0);
    }
}
