use super::*;
use std::collections::HashSet;

const A: PeerKey = PeerKey(1);
const B: PeerKey = PeerKey(2);
const C: PeerKey = PeerKey(3);
const D: PeerKey = PeerKey(4);

fn p(layout: &Layout, i: u32) -> PieceIndex {
    layout.piece(i).unwrap()
}

fn bits(layout: &Layout, pieces: &[u32]) -> Bitfield {
    let mut b = Bitfield::empty(layout);
    for &i in pieces {
        b.set(p(layout, i));
    }
    b
}

fn pieces_of(blocks: &[BlockRef]) -> Vec<u32> {
    let mut v: Vec<u32> = blocks.iter().map(|b| b.piece.get()).collect();
    v.dedup();
    v
}

impl Picker {
    /// Recomputes every counter and index from scratch and compares.
    fn check(&self) {
        let n = self.layout.piece_count() as usize;
        // order, pos, buckets
        assert_eq!(self.order.len() as u32, n as u32 - self.have.count());
        assert_eq!(self.starts[0], 0);
        for (i, &piece) in self.order.iter().enumerate() {
            assert_eq!(self.pos[piece as usize], i as u32);
            assert!(!self.have.has(PieceIndex(piece)));
            let a = self.avail[piece as usize] as usize;
            assert!(a < self.starts.len(), "bucket exists");
            let end = self
                .starts
                .get(a + 1)
                .map_or(self.order.len(), |&e| e as usize);
            assert!(
                (self.starts[a] as usize..end).contains(&i),
                "piece {piece} in its bucket"
            );
        }
        assert!(self.starts.windows(2).all(|w| w[0] <= w[1]));
        assert!(*self.starts.last().unwrap() as usize <= self.order.len());
        for i in 0..n {
            assert_eq!(self.pos[i] == NONE, self.have.has(PieceIndex(i as u32)));
        }
        // slots and counts
        let (mut free, mut requested) = (0u64, 0u64);
        for (s, d) in self.downloading.iter().enumerate() {
            assert_eq!(self.slot[d.piece.as_usize()], s as u32);
            assert!(!self.have.has(d.piece));
            assert_eq!(d.blocks.len() as u32, self.layout.block_count(d.piece));
            let count = |f: fn(&Block) -> bool| d.blocks.iter().filter(|b| f(b)).count() as u32;
            assert_eq!(d.free, count(|b| *b == Block::Free));
            assert_eq!(d.requested, count(|b| matches!(b, Block::Requested(_))));
            assert_eq!(d.received, count(|b| matches!(b, Block::Received { .. })));
            assert!(d.requested + d.received > 0, "idle pieces are released");
            for b in &d.blocks {
                if let Block::Requested(set) = b {
                    assert!(!set.is_empty());
                }
            }
            requested += u64::from(d.requested);
        }
        for piece in self.layout.pieces() {
            if self.counted(piece) {
                free += self.free_of(piece);
            }
        }
        assert_eq!(
            self.slot.iter().filter(|&&s| s != NONE).count(),
            self.downloading.len()
        );
        assert_eq!(self.free_blocks, free);
        assert_eq!(self.requested_blocks, requested);
        let done: u64 = self
            .have
            .iter()
            .map(|q| u64::from(self.layout.piece_size(q)))
            .sum();
        assert_eq!(self.bytes_done, done);
    }
}

#[test]
fn random_first_then_rarest_first() {
    // 20 pieces of 2 blocks; piece 7 is held by one peer, every other piece by three.
    let l = Layout::new(2 * 16384, 20 * 2 * 16384).unwrap();
    let all: Vec<u32> = (0..20).collect();
    let full = bits(&l, &all);
    let setup = |have: &[u32]| {
        let mut pk = Picker::new(l, &bits(&l, have));
        pk.peer_bitfield(&full);
        pk.peer_bitfield(&full);
        pk.peer_bitfield(&bits(
            &l,
            &all.iter().copied().filter(|&i| i != 7).collect::<Vec<_>>(),
        ));
        pk.check();
        pk
    };
    // Fewer than 4 pieces: random, so not always the rarest nor always the lowest.
    let firsts: HashSet<u32> = (0..100)
        .map(|_| setup(&[0, 1, 2]).pick(A, &full, 1)[0].piece.get())
        .collect();
    assert!(firsts.len() > 3, "random first: {firsts:?}");
    assert!(
        !firsts.iter().any(|i| [0, 1, 2].contains(i)),
        "we have those"
    );
    // Four pieces: rarest first, every time.
    for _ in 0..50 {
        let mut pk = setup(&[0, 1, 2, 3]);
        let got = pk.pick(A, &full, 2);
        assert_eq!(pieces_of(&got), [7]);
        pk.check();
    }
}

#[test]
fn rarest_ties_are_broken_at_random() {
    let l = Layout::new(16384, 30 * 16384).unwrap();
    let all: Vec<u32> = (0..30).collect();
    let full = bits(&l, &all);
    let rare = [5, 17, 23];
    let firsts: HashSet<u32> = (0..100)
        .map(|_| {
            let mut pk = Picker::new(l, &bits(&l, &[0, 1, 2, 3]));
            pk.peer_bitfield(&full);
            pk.peer_bitfield(&bits(
                &l,
                &all.iter()
                    .copied()
                    .filter(|i| !rare.contains(i))
                    .collect::<Vec<_>>(),
            ));
            pk.check();
            pk.pick(A, &full, 1)[0].piece.get()
        })
        .collect();
    assert!(firsts.iter().all(|i| rare.contains(i)), "{firsts:?}");
    assert!(firsts.len() > 1, "ties broken at random: {firsts:?}");
}

#[test]
fn rarity_follows_haves_and_departures() {
    let l = Layout::new(16384, 10 * 16384).unwrap();
    let all: Vec<u32> = (0..10).collect();
    let mut pk = Picker::new(l, &bits(&l, &[0, 1, 2, 3]));
    let first = bits(&l, &all);
    pk.peer_bitfield(&first);
    pk.peer_bitfield(&bits(&l, &[4, 5, 6, 7, 8]));
    pk.check();
    // 9 is the only piece we lack with one peer.
    assert_eq!(pieces_of(&pk.clone().pick(A, &first, 1)), [9]);
    // `have`s make 6 the rarest (2 peers; 9 has 3, the others 3).
    for i in [9, 4, 5, 7, 8, 9] {
        pk.peer_has(p(&l, i));
    }
    pk.check();
    assert_eq!(pk.availability(p(&l, 9)), 3);
    assert_eq!(pieces_of(&pk.clone().pick(A, &first, 1)), [6]);
    pk.peer_gone(&first);
    pk.check();
    assert_eq!(pk.availability(p(&l, 6)), 1);
    assert_eq!(pk.availability(p(&l, 9)), 2);
    assert_eq!(pk.availability(p(&l, 0)), 0);
    assert_eq!(pieces_of(&pk.pick(A, &first, 1)), [6]);
    pk.check();
}

#[test]
fn a_piece_is_finished_before_another_is_started() {
    // 4 pieces of 4 blocks; piece 3 is rarest, but piece 0 in progress comes first.
    let l = Layout::new(4 * 16384, 4 * 4 * 16384).unwrap();
    let full = bits(&l, &[0, 1, 2, 3]);
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    pk.peer_bitfield(&full);
    pk.peer_bitfield(&full);
    let got = pk.pick(A, &bits(&l, &[0]), 2);
    assert_eq!(
        got.iter()
            .map(|b| (b.piece.get(), b.begin))
            .collect::<Vec<_>>(),
        [(0, 0), (0, 16384)]
    );
    pk.peer_bitfield(&bits(&l, &[0, 1, 2])); // 3 is now the rarest
    let got = pk.pick(B, &full, 3);
    assert_eq!(
        got.iter()
            .map(|b| (b.piece.get(), b.begin))
            .collect::<Vec<_>>()[..2],
        [(0, 32768), (0, 49152)]
    );
    assert_ne!(got[2].piece.get(), 0);
    assert_eq!(got[2].begin, 0);
    // The next peer continues that third piece before anything else.
    let next = pk.pick(C, &full, 2);
    assert_eq!(pieces_of(&next), [got[2].piece.get()]);
    assert_eq!(next[0].begin, 16384);
    pk.check();
}

#[test]
fn the_last_piece_and_block_are_shorter() {
    let l = Layout::new(32768, 3 * 32768 + 20000).unwrap();
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    let last = bits(&l, &[3]);
    pk.peer_bitfield(&last);
    let got = pk.pick(A, &last, 10);
    assert_eq!(
        got,
        [
            BlockRef {
                piece: p(&l, 3),
                begin: 0,
                length: 16384
            },
            BlockRef {
                piece: p(&l, 3),
                begin: 16384,
                length: 3616
            },
        ]
    );
    // A piece length that is not a multiple of the block size.
    let l = Layout::new(20000, 45000).unwrap();
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    let full = Bitfield::full(&l);
    pk.peer_bitfield(&full);
    let mut got: Vec<_> = pk
        .pick(A, &full, 10)
        .iter()
        .map(|b| (b.piece.get(), b.begin, b.length))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (0, 0, 16384),
            (0, 16384, 3616),
            (1, 0, 16384),
            (1, 16384, 3616),
            (2, 0, 5000)
        ]
    );
    pk.check();
}

#[test]
fn endgame_duplicates_and_cancels() {
    let l = Layout::new(2 * 16384, 2 * 16384).unwrap();
    let full = Bitfield::full(&l);
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    for _ in 0..4 {
        pk.peer_bitfield(&full);
    }
    assert!(!pk.in_endgame());
    assert_eq!(pk.pick(A, &full, 10).len(), 2);
    assert!(pk.in_endgame());
    assert!(
        pk.pick(A, &full, 10).is_empty(),
        "never twice from one peer"
    );
    assert_eq!(pk.pick(B, &full, 1).len(), 1, "max holds in endgame");
    let c = pk.pick(C, &full, 10);
    // C gets the block only A has first, then the one A and B have.
    assert_eq!(
        c.iter().map(|b| b.begin).collect::<Vec<_>>(),
        [16384, 0],
        "fewest holders first"
    );
    assert_eq!(pk.pick(B, &full, 10).len(), 1, "block 1: A, C, now B");
    assert!(
        pk.pick(D, &full, 10).is_empty(),
        "three peers per block at most"
    );
    pk.check();

    let r = pk.block_received(B, p(&l, 0), 0);
    assert!(r.requested && r.new && !r.piece_complete);
    let mut cancel: Vec<_> = r.cancel.iter().collect();
    cancel.sort();
    assert_eq!(cancel, [A, C]);
    // A's copy raced the cancel: requested, not new.
    let r = pk.block_received(A, p(&l, 0), 0);
    assert_eq!(
        (r.requested, r.new, r.cancel.is_empty()),
        (true, false, true)
    );
    // A second copy from A is not.
    assert_eq!(pk.block_received(A, p(&l, 0), 0), Received::default());
    // A slow holder leaves; the others keep the block.
    pk.peer_dropped(C);
    pk.check();
    assert!(pk.in_endgame());
    let r = pk.block_received(A, p(&l, 0), 16384);
    assert!(r.requested && r.new && r.piece_complete);
    assert_eq!(r.cancel.as_slice(), [B]);
    assert!(!pk.in_endgame(), "nothing outstanding");
    assert!(pk.piece_verified(p(&l, 0)));
    assert!(pk.is_complete());
    assert_eq!(pk.bytes_done(), 32768);
    assert_eq!(pk.bytes_left(), 0);
    assert_eq!(pk.block_received(B, p(&l, 0), 16384), Received::default());
    pk.check();
}

#[test]
fn no_endgame_while_a_free_block_remains_somewhere() {
    let l = Layout::new(16384, 2 * 16384).unwrap();
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    let a_has = bits(&l, &[0]);
    let b_has = bits(&l, &[0, 1]);
    pk.peer_bitfield(&a_has);
    pk.peer_bitfield(&b_has);
    assert_eq!(pk.pick(A, &a_has, 5).len(), 1);
    assert!(!pk.in_endgame(), "piece 1 is free and B has it");
    assert!(pk.pick(C, &a_has, 5).is_empty(), "no duplicates yet");
    // B gets piece 1, which starts endgame, so block 0 (A's) comes next in the same pick.
    assert_eq!(pieces_of(&pk.pick(B, &b_has, 5)), [1, 0]);
    assert!(pk.in_endgame());
    assert_eq!(pieces_of(&pk.pick(C, &a_has, 5)), [0]);
    assert!(
        pk.pick(D, &a_has, 5).is_empty(),
        "block 0 is with A, B and C"
    );
    pk.check();
}

#[test]
fn a_failed_piece_is_fetched_again_and_its_senders_returned() {
    let l = Layout::new(3 * 16384, 3 * 16384).unwrap();
    let full = Bitfield::full(&l);
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    pk.peer_bitfield(&full);
    pk.peer_bitfield(&full);
    let a = pk.pick(A, &full, 2);
    let b = pk.pick(B, &full, 2);
    assert_eq!((a.len(), b.len()), (2, 2), "B: block 2, then block 0 again");
    assert!(pk.block_received(A, p(&l, 0), 0).new);
    assert!(pk.block_received(B, p(&l, 0), 32768).new);
    let r = pk.block_received(A, p(&l, 0), 16384);
    assert!(r.new && r.piece_complete && r.cancel.is_empty());
    assert!(
        pk.block_received(B, p(&l, 0), 0).requested,
        "B had it too (endgame)"
    );
    pk.check();
    let mut blamed = pk.piece_failed(p(&l, 0));
    blamed.sort();
    assert_eq!(blamed, [A, B]);
    pk.check();
    assert!(!pk.in_endgame());
    let again = pk.pick(C, &full, 10);
    assert_eq!(
        again.iter().map(|b| b.begin).collect::<Vec<_>>(),
        [0, 16384, 32768]
    );
    assert_eq!(pk.pieces_done(), 0);
    assert!(pk.piece_failed(p(&l, 0)).is_empty(), "nothing received");
    pk.check();
}

#[test]
fn a_dropped_peers_blocks_go_to_others() {
    let l = Layout::new(4 * 16384, 2 * 4 * 16384).unwrap();
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    let a_has = Bitfield::full(&l);
    let b_has = bits(&l, &[0]);
    pk.peer_bitfield(&a_has);
    pk.peer_bitfield(&b_has);
    let a = pk.pick(A, &b_has, 2);
    assert_eq!(a.len(), 2);
    let b = pk.pick(B, &b_has, 10);
    assert_eq!(
        b.iter().map(|x| x.begin).collect::<Vec<_>>(),
        [32768, 49152]
    );
    assert!(
        pk.pick(B, &b_has, 10).is_empty(),
        "piece 1 is free: no endgame"
    );
    assert!(pk.block_received(A, p(&l, 0), 0).new);
    pk.peer_dropped(A);
    pk.peer_gone(&a_has);
    pk.check();
    let b = pk.pick(B, &b_has, 10);
    assert_eq!(b.iter().map(|x| x.begin).collect::<Vec<_>>(), [16384]);
    assert_eq!(
        pk.block_received(A, p(&l, 0), 16384),
        Received::default(),
        "the dropped peer's request is forgotten"
    );
    pk.check();
}

#[test]
fn idle_pieces_lose_their_block_state() {
    let l = Layout::new(2 * 16384, 4 * 2 * 16384).unwrap();
    let full = Bitfield::full(&l);
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    pk.peer_bitfield(&full);
    let got = pk.pick(A, &full, 3);
    assert_eq!(pk.pieces_in_progress(), 2);
    assert!(pk.request_timed_out(A, got[2].piece, got[2].begin));
    assert!(!pk.cancel(A, got[2].piece, got[2].begin), "already gone");
    assert_eq!(pk.pieces_in_progress(), 1);
    pk.check();
    assert!(pk.cancel(A, got[0].piece, 0));
    assert_eq!(pk.blocks_requested(), 1);
    pk.peer_dropped(A);
    assert_eq!(pk.pieces_in_progress(), 0);
    assert_eq!(pk.blocks_requested(), 0);
    pk.check();
}

#[test]
fn unrequested_blocks_are_reported() {
    let l = Layout::new(2 * 16384, 3 * 2 * 16384).unwrap();
    let full = Bitfield::full(&l);
    let mut pk = Picker::new(l, &Bitfield::empty(&l));
    pk.peer_bitfield(&full);
    let got = pk.pick(A, &full, 1);
    let (piece, begin) = (got[0].piece, got[0].begin);
    let none = Received::default();
    assert_eq!(pk.block_received(B, piece, begin), none, "asked A, not B");
    assert_eq!(
        pk.block_received(A, piece, begin + 1),
        none,
        "not a block start"
    );
    assert_eq!(
        pk.block_received(A, piece, 2 * 16384),
        none,
        "past the piece"
    );
    assert_eq!(pk.block_received(A, piece, u32::MAX - 16383), none);
    assert_eq!(
        pk.block_received(A, piece, 16384),
        none,
        "not requested yet"
    );
    let other = l.pieces().find(|&q| q != piece).unwrap();
    assert_eq!(pk.block_received(A, other, 0), none, "piece not started");
    pk.check();
    let r = pk.block_received(A, piece, begin);
    assert!(r.requested && r.new && !r.piece_complete);
    assert_eq!(pk.block_received(A, piece, begin), none, "only once");
    pk.check();
}

#[test]
fn status_and_interest() {
    let l = Layout::new(16384, 9 * 16384 + 100).unwrap();
    let mut pk = Picker::new(l, &bits(&l, &[0, 9]));
    assert_eq!(pk.pieces_done(), 2);
    assert_eq!(pk.bytes_done(), 16384 + 100);
    assert!(!pk.is_complete());
    assert!(!pk.wanted_by_us(&bits(&l, &[0, 9])));
    assert!(!pk.wanted_by_us(&Bitfield::empty(&l)));
    assert!(pk.wanted_by_us(&bits(&l, &[0, 8])));
    // Verifying a piece never requested (found on disk) works too.
    pk.peer_bitfield(&Bitfield::full(&l));
    assert!(pk.piece_verified(p(&l, 4)));
    assert!(!pk.piece_verified(p(&l, 4)));
    assert_eq!(pk.pieces_done(), 3);
    pk.check();
    assert!(!pk.in_endgame(), "nothing requested");
}

#[test]
fn peer_sets_stay_inline_and_bounded() {
    let mut set = PeerSet::one(A);
    assert!(!set.insert(A));
    assert!(set.insert(B) && set.insert(C));
    assert!(!set.insert(D), "full");
    assert!(set.remove(A));
    assert!(!set.remove(A));
    let mut v: Vec<_> = set.iter().collect();
    v.sort();
    assert_eq!(v, [B, C]);
    assert_eq!(format!("{set:?}").len(), "{PeerKey(3), PeerKey(2)}".len());
}

/// Random operations, checking every index and counter after each.
#[test]
fn random_operations_keep_the_books() {
    for seed in 0..60 {
        fastrand::seed(seed);
        let piece_len = [16384, 32768, 20000, 65536][fastrand::usize(..4)];
        let l = Layout::new(piece_len, fastrand::u64(1..30 * piece_len)).unwrap();
        let mut have = Bitfield::empty(&l);
        for q in l.pieces() {
            if fastrand::u8(..10) == 0 {
                have.set(q);
            }
        }
        let mut pk = Picker::new(l, &have);
        let mut peers: Vec<(PeerKey, Bitfield)> = Vec::new();
        let mut next_key = 0;
        for _ in 0..600 {
            match fastrand::u8(..10) {
                0 => {
                    let mut b = Bitfield::empty(&l);
                    for q in l.pieces() {
                        if fastrand::bool() {
                            b.set(q);
                        }
                    }
                    pk.peer_bitfield(&b);
                    next_key += 1;
                    peers.push((PeerKey(next_key), b));
                }
                1 if !peers.is_empty() => {
                    let (key, b) = peers.swap_remove(fastrand::usize(..peers.len()));
                    pk.peer_dropped(key);
                    pk.peer_gone(&b);
                }
                2 if !peers.is_empty() => {
                    let i = fastrand::usize(..peers.len());
                    let q = p(&l, fastrand::u32(..l.piece_count()));
                    if peers[i].1.set(q) {
                        pk.peer_has(q);
                    }
                }
                3..=5 if !peers.is_empty() => {
                    let (key, b) = &peers[fastrand::usize(..peers.len())];
                    for r in pk.pick(*key, b, fastrand::usize(..20)) {
                        assert!(b.has(r.piece) && !pk.have().has(r.piece));
                    }
                }
                6..=8 if !pk.downloading.is_empty() => {
                    let d = &pk.downloading[fastrand::usize(..pk.downloading.len())];
                    let b = fastrand::usize(..d.blocks.len());
                    let piece = d.piece;
                    if let Block::Requested(set) = d.blocks[b] {
                        let key = set.as_slice()[fastrand::usize(..set.len())];
                        let begin = b as u32 * BLOCK_SIZE;
                        if fastrand::u8(..5) == 0 {
                            assert!(pk.request_timed_out(key, piece, begin));
                        } else {
                            let r = pk.block_received(key, piece, begin);
                            assert!(r.new && !r.cancel.contains(key));
                            if r.piece_complete {
                                if fastrand::u8(..4) == 0 {
                                    assert!(!pk.piece_failed(piece).is_empty());
                                } else {
                                    assert!(pk.piece_verified(piece));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            pk.check();
        }
    }
}
