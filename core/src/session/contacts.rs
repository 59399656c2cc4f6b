//! Whom a torrent knows and may talk to: the addresses to try, those being dialled, the banned,
//! why connections ended, and the rules for letting a connection in. Both of a torrent's
//! machines keep one: the one fetching a magnet link's metadata
//! ([`FetchMachine`](super::fetching::FetchMachine)), then the one running the torrent
//! ([`TorrentMachine`](super::machine::TorrentMachine)), which takes it over.

use super::{DisconnectReason, Disconnects};
use crate::piece::picker::PeerKey;
use crate::tracker::PeerId;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Addresses kept to connect to, at most.
const MAX_CANDIDATES: usize = 1000;
/// A dial that failed is tried again this many times, after `RETRY_AFTER`, then four times
/// as long each time (5, 20 and 80 s): a peer still starting, or away for a moment, is not
/// lost (a tracker names it again only at its next announce, a magnet link's `x.pe` never).
const RETRIES: u8 = 3;
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The session's settings a torrent's machines apply.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_peers: usize,
    pub max_peers_per_ip: usize,
    pub unchoke_slots: usize,
    /// Our own peer id, which settles which of two connections with one peer stays.
    pub our_id: PeerId,
    /// The port we listen on, told to peers in the extended handshake.
    pub listen_port: u16,
}

pub(super) struct Contacts {
    limits: Limits,
    /// Addresses known but not connected.
    candidates: VecDeque<SocketAddr>,
    connecting: FxHashSet<SocketAddr>,
    /// Failed dials by address, and when each is tried again.
    failures: FxHashMap<SocketAddr, u8>,
    retries: VecDeque<(Instant, SocketAddr)>,
    banned: FxHashSet<IpAddr>,
    disconnects: Disconnects,
}

impl Contacts {
    pub fn new(limits: Limits) -> Contacts {
        Contacts {
            limits,
            candidates: VecDeque::new(),
            connecting: FxHashSet::default(),
            failures: FxHashMap::default(),
            retries: VecDeque::new(),
            banned: FxHashSet::default(),
            disconnects: Disconnects::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Addresses to try (from a tracker, a peer or the user), after those known already.
    pub fn add(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        for addr in addrs {
            if !self.candidates.contains(&addr) && !self.banned.contains(&addr.ip()) {
                self.candidates.push_back(addr);
            }
        }
        self.candidates.truncate(MAX_CANDIDATES);
    }

    /// Addresses to try first (the peers a pause dropped, to reconnect on resume).
    pub fn add_first(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        for addr in addrs {
            if !self.candidates.contains(&addr) {
                self.candidates.push_front(addr);
            }
        }
        self.candidates.truncate(MAX_CANDIDATES);
    }

    /// The addresses it would connect to.
    pub fn candidates(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.candidates.iter().copied()
    }

    /// A dial failed at `now`: it is tried again later, a few times.
    pub fn connect_failed(&mut self, addr: SocketAddr, now: Instant) {
        self.connecting.remove(&addr);
        if self.failures.len() >= 4 * MAX_CANDIDATES {
            self.failures.clear();
        }
        let failures = self.failures.entry(addr).or_insert(0);
        *failures = failures.saturating_add(1);
        if *failures <= RETRIES && self.retries.len() < MAX_CANDIDATES {
            let wait = RETRY_AFTER * 4u32.pow(u32::from(*failures) - 1);
            self.retries.push_back((now + wait, addr));
        }
    }

    /// Addresses to dial at `now`, given where the connected peers are: as many as the peer
    /// limit leaves room for, failed ones whose time to try again has come among them.
    pub fn dial(
        &mut self,
        connected: impl Iterator<Item = SocketAddr>,
        now: Instant,
    ) -> Vec<SocketAddr> {
        let mut due = Vec::new();
        self.retries.retain(|&(at, addr)| {
            let ready = at <= now;
            if ready {
                due.push(addr);
            }
            !ready
        });
        self.add(due);
        let connected: FxHashSet<SocketAddr> = connected.collect();
        let mut dial = Vec::new();
        while connected.len() + self.connecting.len() < self.limits.max_peers {
            let Some(addr) = self.candidates.pop_front() else {
                break;
            };
            if connected.contains(&addr)
                || self.connecting.contains(&addr)
                || self.banned.contains(&addr.ip())
            {
                continue;
            }
            self.connecting.insert(addr);
            dial.push(addr);
        }
        dial
    }

    /// Whether a new connection from `addr` (we dialled it: `outgoing`) stays, given the
    /// connected `peers`: `Ok` with the other connection to close when the peer is connected
    /// both ways, or the reason to close this one. Of two connections with one peer, both
    /// sides keep the one the lower peer id opened, so they agree on which to close. The limits
    /// (per torrent, per address, one connection per address) count the peers that stay.
    pub fn admit(
        &mut self,
        addr: SocketAddr,
        peer_id: PeerId,
        outgoing: bool,
        paused: bool,
        peers: impl Iterator<Item = (PeerKey, SocketAddr, PeerId)> + Clone,
    ) -> Result<Option<PeerKey>, DisconnectReason> {
        self.connecting.remove(&addr);
        self.failures.remove(&addr);
        let twin = peers
            .clone()
            .find(|(_, _, id)| *id == peer_id)
            .map(|(key, ..)| key);
        if twin.is_some() && outgoing != (self.limits.our_id < peer_id) {
            return Err(DisconnectReason::Duplicate);
        }
        if paused {
            return Err(DisconnectReason::Paused);
        }
        if self.banned.contains(&addr.ip()) {
            return Err(DisconnectReason::Banned);
        }
        let (mut count, mut same_ip, mut same) = (0, 0, false);
        for (_, other, _) in peers.filter(|(key, ..)| Some(*key) != twin) {
            count += 1;
            same_ip += usize::from(other.ip() == addr.ip());
            same |= other == addr;
        }
        if count >= self.limits.max_peers || same_ip >= self.limits.max_peers_per_ip || same {
            return Err(DisconnectReason::Limit);
        }
        Ok(twin)
    }

    /// Refuses `ip` from now on; `false` if it was banned already.
    pub fn ban(&mut self, ip: IpAddr) -> bool {
        self.banned.insert(ip)
    }

    /// A connection ended, for `reason`.
    pub fn count(&mut self, addr: SocketAddr, reason: DisconnectReason) {
        tracing::debug!(peer = %addr, reason = reason.name(), "peer disconnected");
        self.disconnects.count(reason);
    }

    pub fn disconnects(&self) -> Disconnects {
        self.disconnects
    }
}
