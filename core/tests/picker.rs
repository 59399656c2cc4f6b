//! The piece picker in a simulated swarm: peers with random bitfields, requests answered in
//! random order, timeouts, departures and arrivals, a peer that sends bad data. Whatever
//! happens, the download completes, no peer is asked for a piece it lacks or for more than it
//! has room for, and no block is lost (a lost block would stall the swarm).

use bittern_core::piece::picker::{PeerKey, Picker, MAX_PEERS_PER_BLOCK};
use bittern_core::piece::{Bitfield, BlockRef, Layout, PieceIndex, BLOCK_SIZE};
use std::collections::{HashMap, HashSet};

struct Peer {
    key: PeerKey,
    has: Bitfield,
    /// Requests sent and not answered.
    queue: Vec<BlockRef>,
    /// Requests cancelled (endgame, timeout) whose data may still arrive.
    cancelled: Vec<BlockRef>,
    /// Never leaves (the stable peers together have every piece).
    stable: bool,
    /// Sends corrupt data.
    bad: bool,
    /// Outstanding requests it accepts.
    room: usize,
}

fn random_bits(layout: &Layout, ratio: f64) -> Bitfield {
    let mut b = Bitfield::empty(layout);
    for p in layout.pieces() {
        if fastrand::f64() < ratio {
            b.set(p);
        }
    }
    b
}

struct Swarm {
    layout: Layout,
    picker: Picker,
    peers: Vec<Peer>,
    next_key: u32,
    /// Blocks received of pieces not yet verified: sender and whether the data was bad.
    got: HashMap<(u32, u32), (PeerKey, bool)>,
    banned: HashSet<PeerKey>,
    failures: usize,
    duplicates_picked: usize,
}

impl Swarm {
    fn connect(&mut self, has: Bitfield, stable: bool, bad: bool) {
        self.next_key += 1;
        self.picker.peer_bitfield(&has);
        self.peers.push(Peer {
            key: PeerKey(self.next_key),
            has,
            queue: Vec::new(),
            cancelled: Vec::new(),
            stable,
            bad,
            room: fastrand::usize(1..12),
        });
    }

    fn disconnect(&mut self, i: usize) {
        let peer = self.peers.swap_remove(i);
        self.picker.peer_dropped(peer.key);
        self.picker.peer_gone(&peer.has);
    }

    fn holders(&self, block: &BlockRef) -> usize {
        self.peers
            .iter()
            .filter(|p| p.queue.contains(block))
            .count()
    }

    /// Asks the picker for blocks for peer `i`; checks what it returns. Returns how many.
    fn pick(&mut self, i: usize) -> usize {
        let max = self.peers[i].room - self.peers[i].queue.len();
        let was_endgame = self.picker.in_endgame();
        let key = self.peers[i].key;
        let got = self.picker.pick(key, &self.peers[i].has, max);
        assert!(got.len() <= max, "{} blocks, max {max}", got.len());
        for r in &got {
            let peer = &self.peers[i];
            assert!(peer.has.has(r.piece), "asked {key} for {r:?} it lacks");
            assert!(!self.picker.have().has(r.piece), "{r:?}: we have it");
            assert_eq!(r.begin % BLOCK_SIZE, 0);
            assert_eq!(
                r.length,
                self.layout.block_size(r.piece, r.begin / BLOCK_SIZE),
                "{r:?}"
            );
            assert!(self.layout.is_valid_request(r.piece, r.begin, r.length));
            assert!(!peer.queue.contains(r), "{r:?} asked of {key} twice");
            assert!(
                !self.got.contains_key(&(r.piece.get(), r.begin)),
                "{r:?} already received"
            );
            let others = self.holders(r);
            if others > 0 {
                assert!(
                    was_endgame || self.picker.in_endgame(),
                    "duplicate outside endgame"
                );
                self.duplicates_picked += 1;
            }
            assert!(others < MAX_PEERS_PER_BLOCK, "{r:?} from too many peers");
        }
        let peer = &mut self.peers[i];
        // Data still in flight for a request asked again answers the new one.
        peer.cancelled.retain(|c| !got.contains(c));
        peer.queue.extend_from_slice(&got);
        got.len()
    }

    /// Peer `i` answers one request (or sends a block it was told to cancel).
    fn deliver(&mut self, i: usize, late: bool) {
        let peer = &mut self.peers[i];
        let list = if late {
            &mut peer.cancelled
        } else {
            &mut peer.queue
        };
        if list.is_empty() {
            return;
        }
        let r = list.swap_remove(fastrand::usize(..list.len()));
        let (key, bad) = (peer.key, peer.bad);
        let got = self.picker.block_received(key, r.piece, r.begin);
        let at = (r.piece.get(), r.begin);
        if late {
            assert!(!got.new, "late {r:?} from {key} counted as new");
            assert!(got.cancel.is_empty());
            return;
        }
        assert!(got.requested, "{r:?} was requested from {key}");
        if !got.new {
            assert!(self.got.contains_key(&at), "a duplicate of what?");
            return;
        }
        assert!(
            self.got.insert(at, (key, bad)).is_none(),
            "new twice: {r:?}"
        );
        for other in got.cancel.iter() {
            assert_ne!(other, key);
            let o = self
                .peers
                .iter_mut()
                .find(|p| p.key == other)
                .expect("cancel goes to a connected peer");
            let n = o.queue.len();
            o.queue.retain(|q| *q != r);
            assert_eq!(o.queue.len(), n - 1, "{other} had {r:?} requested");
            o.cancelled.push(r);
        }
        assert_eq!(self.holders(&r), 0, "cancel list covers every other holder");
        if got.piece_complete {
            self.hash(r.piece);
        }
    }

    fn hash(&mut self, piece: PieceIndex) {
        let blocks = self.layout.block_count(piece);
        let mut senders = HashSet::new();
        let mut corrupt = false;
        for b in 0..blocks {
            let (from, bad) = self
                .got
                .remove(&(piece.get(), b * BLOCK_SIZE))
                .expect("complete piece has every block");
            senders.insert(from);
            corrupt |= bad;
        }
        if !corrupt {
            assert!(self.picker.piece_verified(piece));
            return;
        }
        self.failures += 1;
        let blamed: HashSet<PeerKey> = self.picker.piece_failed(piece).into_iter().collect();
        assert_eq!(blamed, senders, "piece_failed returns the senders");
        // Ban the bad ones among them.
        while let Some(i) = self
            .peers
            .iter()
            .position(|p| p.bad && blamed.contains(&p.key))
        {
            self.banned.insert(self.peers[i].key);
            self.disconnect(i);
        }
    }
}

fn simulate(seed: u64) {
    fastrand::seed(seed);
    let piece_length = [16384, 32768, 65536, 20000, 49152, 100000][fastrand::usize(..6)];
    let pieces = fastrand::u64(1..=40);
    let total = (pieces * piece_length - fastrand::u64(..piece_length)).max(1);
    let layout = Layout::new(piece_length, total).unwrap();
    let resume = random_bits(&layout, [0.0, 0.0, 0.3, 0.9][fastrand::usize(..4)]);
    let mut s = Swarm {
        layout,
        picker: Picker::new(layout, &resume),
        peers: Vec::new(),
        next_key: 0,
        got: HashMap::new(),
        banned: HashSet::new(),
        failures: 0,
        duplicates_picked: 0,
    };
    // Stable peers that together have every piece.
    let stable = fastrand::usize(1..=4);
    let mut bits: Vec<Bitfield> = (0..stable).map(|_| random_bits(&layout, 0.5)).collect();
    for p in layout.pieces() {
        if !bits.iter().any(|b| b.has(p)) {
            bits[fastrand::usize(..stable)].set(p);
        }
    }
    for b in bits {
        s.connect(b, true, false);
    }
    for _ in 0..fastrand::usize(..6) {
        let bad = fastrand::u8(..4) == 0;
        s.connect(random_bits(&layout, fastrand::f64()), false, bad);
    }

    let mut steps = 0;
    while !s.picker.is_complete() {
        steps += 1;
        assert!(steps < 200_000, "seed {seed}: no end");
        let i = fastrand::usize(..s.peers.len());
        match fastrand::u8(..20) {
            0..=5 => {
                s.pick(i);
            }
            6..=14 => s.deliver(i, false),
            15 => s.deliver(i, true),
            16 => {
                let peer = &mut s.peers[i];
                if !peer.queue.is_empty() {
                    let r = peer.queue.swap_remove(fastrand::usize(..peer.queue.len()));
                    peer.cancelled.push(r);
                    let key = peer.key;
                    assert!(s.picker.request_timed_out(key, r.piece, r.begin));
                }
            }
            17 => {
                let q = layout.piece(fastrand::u32(..layout.piece_count())).unwrap();
                if s.peers[i].has.set(q) {
                    s.picker.peer_has(q);
                }
            }
            18 if !s.peers[i].stable => {
                s.disconnect(i);
                if fastrand::bool() {
                    let bad = fastrand::u8(..6) == 0;
                    s.connect(random_bits(&layout, fastrand::f64()), false, bad);
                }
            }
            _ => {}
        }
        // Nothing in flight: someone must have something to ask for, or a block was lost.
        if !s.picker.is_complete() && s.peers.iter().all(|p| p.queue.is_empty()) {
            let picked: usize = (0..s.peers.len()).map(|i| s.pick(i)).sum();
            assert!(
                picked > 0,
                "seed {seed}: stalled with {} of {} pieces",
                s.picker.pieces_done(),
                layout.piece_count()
            );
        }
    }
    assert_eq!(s.picker.bytes_done(), total);
    assert_eq!(s.picker.bytes_left(), 0);
    assert!(s.got.is_empty(), "every received block went into a piece");
    assert!(!s.picker.in_endgame());
    for p in &mut s.peers {
        assert!(!s.picker.wanted_by_us(&p.has));
        // Whatever was still in flight is now a duplicate.
        for r in p.queue.drain(..).chain(p.cancelled.drain(..)) {
            assert!(!s.picker.block_received(p.key, r.piece, r.begin).new);
        }
    }
    assert_eq!(s.picker.blocks_requested(), 0);
}

#[test]
fn a_simulated_swarm_always_completes() {
    for seed in 0..2000 {
        simulate(seed);
    }
}

#[test]
fn endgame_and_hash_failures_happen_in_the_simulation() {
    // Not a property of the picker, a check that the simulation exercises them.
    let (mut failures, mut duplicates) = (0, 0);
    for seed in 1000..1100 {
        fastrand::seed(seed);
        let layout = Layout::new(32768, 12 * 32768).unwrap();
        let mut s = Swarm {
            layout,
            picker: Picker::new(layout, &Bitfield::empty(&layout)),
            peers: Vec::new(),
            next_key: 0,
            got: HashMap::new(),
            banned: HashSet::new(),
            failures: 0,
            duplicates_picked: 0,
        };
        s.connect(Bitfield::full(&layout), true, false);
        s.connect(Bitfield::full(&layout), false, true);
        s.connect(Bitfield::full(&layout), true, false);
        let mut steps = 0;
        while !s.picker.is_complete() {
            steps += 1;
            assert!(steps < 100_000, "seed {seed}: no end");
            let i = fastrand::usize(..s.peers.len());
            if fastrand::bool() {
                s.pick(i);
            } else {
                s.deliver(i, false);
            }
        }
        failures += s.failures;
        duplicates += s.duplicates_picked;
        assert!(s.banned.len() <= 1);
    }
    assert!(failures > 0 && duplicates > 0, "{failures} {duplicates}");
}
