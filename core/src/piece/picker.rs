//! Which blocks to ask a peer for next: the piece picker.
//!
//! The model is libtorrent's picker, kept small:
//!
//! - **Availability.** For every piece, how many connected peers have it. The pieces we still
//!   lack sit in one array sorted by availability, cut into buckets (one per availability
//!   count); a `have` or a new peer moves a piece to the neighbouring bucket with one swap, so
//!   keeping it sorted is O(1) per change and rarest-first walks it from the front.
//! - **Pieces in progress.** A piece gets per-block state only once its first block is
//!   requested: free, requested (by which peers, a small inline set), or received (from whom).
//!   Everything else is O(pieces) flat arrays; block vectors of finished pieces are reused.
//! - **Order of picking** for one peer: first the free blocks of pieces already in progress
//!   (a piece is finished before another is started); then new pieces, a random one while we
//!   have fewer than [`RANDOM_FIRST_PIECES`] (so a new peer soon has something to trade), the
//!   rarest ones after that (ties broken at random); then, in endgame (no free block left that
//!   some peer has), blocks already requested from other peers, each block from at most
//!   [`MAX_PEERS_PER_BLOCK`] peers at once.
//!
//! The picker does no I/O and keeps no clock: the session tells it what happened (a peer's
//! bitfield, a block received, a hash checked, a peer gone, a request timed out) and asks it
//! what to request.

use super::{Bitfield, BlockRef, Layout, PieceIndex, BLOCK_SIZE};
use std::fmt;

/// While we have fewer complete pieces than this, new pieces are picked at random instead of
/// rarest first.
pub const RANDOM_FIRST_PIECES: u32 = 4;

/// A block is requested from at most this many peers at once (more than one only in endgame).
pub const MAX_PEERS_PER_BLOCK: usize = 3;

/// Marks "no slot / no position" in the per-piece index arrays.
const NONE: u32 = u32::MAX;

/// The session's name for a connected peer: any small number, as long as it is not reused for
/// another peer while this picker may still mention the old one (a counter is the intended
/// source). The picker keeps a key after [`Picker::peer_dropped`] only as the sender of
/// received blocks, so [`Picker::piece_failed`] can still blame it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u32);

impl From<u32> for PeerKey {
    fn from(key: u32) -> PeerKey {
        PeerKey(key)
    }
}

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A small set of peers, stored inline (no allocation): the peers a block is requested from,
/// or the peers to send a `cancel` to.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerSet {
    keys: [PeerKey; MAX_PEERS_PER_BLOCK],
    len: u8,
}

impl PeerSet {
    fn one(peer: PeerKey) -> PeerSet {
        let mut set = PeerSet::default();
        set.insert(peer);
        set
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[PeerKey] {
        &self.keys[..self.len()]
    }

    pub fn iter(&self) -> impl Iterator<Item = PeerKey> + '_ {
        self.as_slice().iter().copied()
    }

    pub fn contains(&self, peer: PeerKey) -> bool {
        self.as_slice().contains(&peer)
    }

    /// Adds `peer`; false if it was there already or the set is full.
    fn insert(&mut self, peer: PeerKey) -> bool {
        if self.len() == MAX_PEERS_PER_BLOCK || self.contains(peer) {
            return false;
        }
        self.keys[self.len()] = peer;
        self.len += 1;
        true
    }

    /// Removes `peer`; false if it was not there.
    fn remove(&mut self, peer: PeerKey) -> bool {
        match self.as_slice().iter().position(|&k| k == peer) {
            Some(i) => {
                self.len -= 1;
                self.keys[i] = self.keys[self.len()];
                self.keys[self.len()] = PeerKey::default();
                true
            }
            None => false,
        }
    }
}

impl fmt::Debug for PeerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.as_slice()).finish()
    }
}

impl<'a> IntoIterator for &'a PeerSet {
    type Item = &'a PeerKey;
    type IntoIter = std::slice::Iter<'a, PeerKey>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// What [`Picker::block_received`] made of a `piece` message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// This peer had an outstanding request for this block (including one we had just told the
    /// session to cancel in endgame: data racing a `cancel` is normal). False means we never
    /// asked this peer for it, the request was cancelled or timed out by the session, or the
    /// piece is already complete: drop the data.
    pub requested: bool,
    /// The first copy of this block: write it. False for duplicates, which carry nothing new.
    pub new: bool,
    /// Other peers this block was also requested from (endgame): send them a `cancel`. Their
    /// requests stay known, so data they send anyway counts as requested, not new.
    pub cancel: PeerSet,
    /// Every block of the piece is now received: hash it, then call
    /// [`Picker::piece_verified`] or [`Picker::piece_failed`].
    pub piece_complete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Neither requested nor received.
    Free,
    /// Outstanding with these peers (never empty).
    Requested(PeerSet),
    /// Received from `from`; `late` are peers told to cancel whose copy may still arrive.
    Received { from: PeerKey, late: PeerSet },
}

/// A piece with per-block state.
#[derive(Debug, Clone)]
struct Partial {
    piece: PieceIndex,
    blocks: Vec<Block>,
    /// Blocks in each state; they add up to `blocks.len()`.
    free: u32,
    requested: u32,
    received: u32,
}

/// The piece picker of one torrent. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Picker {
    layout: Layout,
    have: Bitfield,
    bytes_done: u64,
    /// Peers having each piece.
    avail: Vec<u32>,
    /// The pieces we lack, sorted by availability: bucket `a` (availability `a`) is
    /// `order[starts[a]..starts[a + 1]]`, the top bucket ends at `order.len()`.
    order: Vec<u32>,
    starts: Vec<u32>,
    /// Each piece's index in `order` (`NONE` once we have it).
    pos: Vec<u32>,
    /// Each piece's index in `downloading` (`NONE` if it has no block state).
    slot: Vec<u32>,
    /// Pieces in progress, oldest first.
    downloading: Vec<Partial>,
    /// Block vectors of finished pieces, for reuse.
    spare: Vec<Vec<Block>>,
    /// Free blocks of pieces we lack and at least one peer has: endgame starts at zero.
    free_blocks: u64,
    /// Blocks requested from at least one peer.
    requested_blocks: u64,
}

impl Picker {
    /// A picker for a torrent of this layout, of which we already have `have` (from a resume
    /// check). No peers yet: report them with [`peer_bitfield`](Self::peer_bitfield).
    ///
    /// # Panics
    /// If `have` is not a bitfield of this layout.
    pub fn new(layout: Layout, have: &Bitfield) -> Picker {
        assert_eq!(
            have.as_bytes().len(),
            layout.bitfield_len(),
            "bitfield of another torrent"
        );
        let n = layout.piece_count() as usize;
        let mut order = Vec::with_capacity(n - have.count() as usize);
        let mut pos = vec![NONE; n];
        let mut bytes_done = 0;
        for p in layout.pieces() {
            if have.has(p) {
                bytes_done += u64::from(layout.piece_size(p));
            } else {
                pos[p.as_usize()] = order.len() as u32;
                order.push(p.get());
            }
        }
        Picker {
            layout,
            have: have.clone(),
            bytes_done,
            avail: vec![0; n],
            order,
            starts: vec![0],
            pos,
            slot: vec![NONE; n],
            downloading: Vec::new(),
            spare: Vec::new(),
            free_blocks: 0,
            requested_blocks: 0,
        }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The pieces we have (verified, or from the resume check).
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    pub fn is_complete(&self) -> bool {
        self.have.is_complete()
    }

    /// Pieces we have.
    pub fn pieces_done(&self) -> u32 {
        self.have.count()
    }

    /// Bytes in the pieces we have (received but unverified blocks do not count).
    pub fn bytes_done(&self) -> u64 {
        self.bytes_done
    }

    /// Bytes still to get: `total_length - bytes_done`.
    pub fn bytes_left(&self) -> u64 {
        self.layout.total_length() - self.bytes_done
    }

    /// Connected peers having `piece`, as reported.
    pub fn availability(&self, piece: PieceIndex) -> u32 {
        self.avail[piece.as_usize()]
    }

    /// Pieces with block state: being requested, being received, or waiting for their hash.
    pub fn pieces_in_progress(&self) -> usize {
        self.downloading.len()
    }

    /// Blocks with at least one outstanding request.
    pub fn blocks_requested(&self) -> u64 {
        self.requested_blocks
    }

    /// Endgame: every block we lack that some peer has is requested or received, and requests
    /// are outstanding. [`pick`](Self::pick) then also hands out blocks already requested from
    /// other peers.
    pub fn in_endgame(&self) -> bool {
        self.free_blocks == 0 && self.requested_blocks > 0
    }

    /// Interest: whether a peer with `peer_has` has a piece we lack.
    pub fn wanted_by_us(&self, peer_has: &Bitfield) -> bool {
        peer_has
            .as_bytes()
            .iter()
            .zip(self.have.as_bytes())
            .any(|(&theirs, &ours)| theirs & !ours != 0)
    }

    // ---- availability ----

    /// A peer announced `piece` (a `have` message).
    pub fn peer_has(&mut self, piece: PieceIndex) {
        self.inc(piece);
    }

    /// A peer arrived with these pieces (its `bitfield`, or a full one for a seed).
    pub fn peer_bitfield(&mut self, peer_has: &Bitfield) {
        for p in peer_has.iter() {
            self.inc(p);
        }
    }

    /// A peer with these pieces left: undoes [`peer_bitfield`](Self::peer_bitfield) and
    /// [`peer_has`](Self::peer_has). Its requests are released by
    /// [`peer_dropped`](Self::peer_dropped).
    pub fn peer_gone(&mut self, peer_had: &Bitfield) {
        for p in peer_had.iter() {
            self.dec(p);
        }
    }

    fn inc(&mut self, piece: PieceIndex) {
        let i = piece.as_usize();
        let a = self.avail[i];
        if a == 0 {
            self.free_blocks += self.free_of(piece);
        }
        let at = self.pos[i];
        if at != NONE {
            let a = a as usize;
            while self.starts.len() <= a + 1 {
                self.starts.push(self.order.len() as u32);
            }
            // Move to the end of bucket `a`, then move the border so it is the first of `a + 1`.
            let last = self.starts[a + 1] - 1;
            self.swap(at, last);
            self.starts[a + 1] -= 1;
        }
        self.avail[i] = a + 1;
    }

    fn dec(&mut self, piece: PieceIndex) {
        let i = piece.as_usize();
        let a = self.avail[i];
        debug_assert!(a > 0, "peer_gone for piece {piece}, which no peer has");
        if a == 0 {
            return;
        }
        let at = self.pos[i];
        if at != NONE {
            // Move to the start of bucket `a`, then move the border so it is the last of `a - 1`.
            let first = self.starts[a as usize];
            self.swap(at, first);
            self.starts[a as usize] += 1;
        }
        self.avail[i] = a - 1;
        if a == 1 {
            self.free_blocks -= self.free_of(piece);
        }
    }

    fn swap(&mut self, i: u32, j: u32) {
        self.order.swap(i as usize, j as usize);
        self.pos[self.order[i as usize] as usize] = i;
        self.pos[self.order[j as usize] as usize] = j;
    }

    /// Takes `piece` out of `order` (we have it now): bubbles it up to the top bucket, one swap
    /// per bucket, then pops it.
    fn remove_from_order(&mut self, piece: PieceIndex) {
        let mut at = self.pos[piece.as_usize()];
        let a = self.avail[piece.as_usize()] as usize;
        for b in a + 1..self.starts.len() {
            let last = self.starts[b] - 1;
            self.swap(at, last);
            self.starts[b] -= 1;
            at = last;
        }
        let last = self.order.len() as u32 - 1;
        self.swap(at, last);
        self.order.pop();
        self.pos[piece.as_usize()] = NONE;
    }

    /// Free blocks of `piece` (0 if we have it).
    fn free_of(&self, piece: PieceIndex) -> u64 {
        if self.have.has(piece) {
            return 0;
        }
        match self.slot[piece.as_usize()] {
            NONE => u64::from(self.layout.block_count(piece)),
            s => u64::from(self.downloading[s as usize].free),
        }
    }

    /// Whether `piece`'s free blocks count in `free_blocks`.
    fn counted(&self, piece: PieceIndex) -> bool {
        self.avail[piece.as_usize()] > 0
    }

    // ---- picking ----

    /// Up to `max` blocks to request from `peer`, which has `peer_has`; they are recorded as
    /// requested from it. See the [module documentation](self) for the order.
    pub fn pick(&mut self, peer: PeerKey, peer_has: &Bitfield, max: usize) -> Vec<BlockRef> {
        let mut out = Vec::new();
        self.pick_into(peer, peer_has, max, &mut out);
        out
    }

    /// [`pick`](Self::pick), appending to `out` (at most `max` blocks) to reuse its buffer.
    pub fn pick_into(
        &mut self,
        peer: PeerKey,
        peer_has: &Bitfield,
        max: usize,
        out: &mut Vec<BlockRef>,
    ) {
        debug_assert_eq!(peer_has.as_bytes().len(), self.layout.bitfield_len());
        let mut left = max;
        // 1. Finish what is in progress.
        for s in 0..self.downloading.len() {
            if left == 0 {
                return;
            }
            let d = &self.downloading[s];
            if d.free > 0 && peer_has.has(d.piece) {
                left -= self.take_free(s, peer, left, out);
            }
        }
        // 2. and 3. Start new pieces: random first, then rarest first.
        while left > 0 && self.downloading.len() < self.order.len() {
            let next = if self.have.count() < RANDOM_FIRST_PIECES {
                self.random_piece(peer_has)
            } else {
                self.rarest_piece(peer_has)
            };
            let Some(piece) = next else { break };
            let s = self.start(piece);
            left -= self.take_free(s, peer, left, out);
        }
        // 4. Endgame: ask this peer too for blocks outstanding elsewhere.
        if left > 0 && self.in_endgame() {
            self.take_busy(peer, peer_has, left, out);
        }
    }

    /// Is `piece` a piece to start for a peer with `peer_has`? (In `order`, so we lack it.)
    fn startable(&self, piece: u32, peer_has: &Bitfield) -> bool {
        self.slot[piece as usize] == NONE && peer_has.has(PieceIndex(piece))
    }

    /// A random piece we lack, not in progress, that the peer has.
    fn random_piece(&self, peer_has: &Bitfield) -> Option<PieceIndex> {
        let n = self.order.len();
        let from = fastrand::usize(..n);
        (from..n)
            .chain(0..from)
            .map(|i| self.order[i])
            .find(|&p| self.startable(p, peer_has))
            .map(PieceIndex)
    }

    /// The rarest piece we lack, not in progress, that the peer has; among equally rare ones,
    /// the first found from a random point of the bucket.
    fn rarest_piece(&self, peer_has: &Bitfield) -> Option<PieceIndex> {
        for a in 0..self.starts.len() {
            let start = self.starts[a] as usize;
            let end = self
                .starts
                .get(a + 1)
                .map_or(self.order.len(), |&e| e as usize);
            if start == end {
                continue;
            }
            let from = fastrand::usize(start..end);
            let found = (from..end)
                .chain(start..from)
                .map(|i| self.order[i])
                .find(|&p| self.startable(p, peer_has));
            if found.is_some() {
                return found.map(PieceIndex);
            }
        }
        None
    }

    /// Gives `piece` block state (all free); returns its slot.
    fn start(&mut self, piece: PieceIndex) -> usize {
        let n = self.layout.block_count(piece);
        let mut blocks = self.spare.pop().unwrap_or_default();
        blocks.clear();
        blocks.resize(n as usize, Block::Free);
        let s = self.downloading.len();
        self.slot[piece.as_usize()] = s as u32;
        self.downloading.push(Partial {
            piece,
            blocks,
            free: n,
            requested: 0,
            received: 0,
        });
        s
    }

    /// Drops the block state of the piece in slot `s`.
    fn release(&mut self, s: usize) {
        let d = self.downloading.remove(s);
        self.slot[d.piece.as_usize()] = NONE;
        for later in &self.downloading[s..] {
            self.slot[later.piece.as_usize()] -= 1;
        }
        self.spare.push(d.blocks);
    }

    /// Drops the block state of slot `s` if nothing is requested or received: the piece is
    /// again one to start (random or rarest first) like any other.
    fn release_if_idle(&mut self, s: usize) {
        let d = &self.downloading[s];
        if d.requested == 0 && d.received == 0 {
            self.release(s);
        }
    }

    fn block_ref(&self, piece: PieceIndex, block: usize) -> BlockRef {
        BlockRef {
            piece,
            begin: block as u32 * BLOCK_SIZE,
            length: self.layout.block_size(piece, block as u32),
        }
    }

    /// Requests up to `max` free blocks of slot `s` from `peer`, in order; returns how many.
    fn take_free(&mut self, s: usize, peer: PeerKey, max: usize, out: &mut Vec<BlockRef>) -> usize {
        let piece = self.downloading[s].piece;
        let mut taken = 0;
        for b in 0..self.downloading[s].blocks.len() {
            if taken == max || self.downloading[s].free == 0 {
                break;
            }
            let d = &mut self.downloading[s];
            if d.blocks[b] == Block::Free {
                d.blocks[b] = Block::Requested(PeerSet::one(peer));
                d.free -= 1;
                d.requested += 1;
                taken += 1;
                out.push(self.block_ref(piece, b));
            }
        }
        self.requested_blocks += taken as u64;
        if self.counted(piece) {
            self.free_blocks -= taken as u64;
        }
        taken
    }

    /// Endgame: requests up to `max` blocks from `peer` that are outstanding with other peers
    /// (those with the fewest peers first), each from at most `MAX_PEERS_PER_BLOCK` peers.
    fn take_busy(
        &mut self,
        peer: PeerKey,
        peer_has: &Bitfield,
        max: usize,
        out: &mut Vec<BlockRef>,
    ) {
        let mut taken = 0;
        for holders in 1..MAX_PEERS_PER_BLOCK {
            for s in 0..self.downloading.len() {
                let piece = self.downloading[s].piece;
                if self.downloading[s].requested == 0 || !peer_has.has(piece) {
                    continue;
                }
                for b in 0..self.downloading[s].blocks.len() {
                    if taken == max {
                        return;
                    }
                    if let Block::Requested(set) = &mut self.downloading[s].blocks[b] {
                        if set.len() == holders && set.insert(peer) {
                            taken += 1;
                            out.push(self.block_ref(piece, b));
                        }
                    }
                }
            }
        }
    }

    /// The slot and block number of `(piece, begin)`, if the piece is in progress and `begin`
    /// starts one of its blocks.
    fn locate(&self, piece: PieceIndex, begin: u32) -> Option<(usize, usize)> {
        let s = self.slot[piece.as_usize()];
        if s == NONE || begin % BLOCK_SIZE != 0 {
            return None;
        }
        let b = (begin / BLOCK_SIZE) as usize;
        (b < self.downloading[s as usize].blocks.len()).then_some((s as usize, b))
    }

    // ---- what happened ----

    /// `peer` sent the block at `begin` of `piece`. The session checks the length against
    /// [`Layout::block_size`] first (or against the [`BlockRef`] it requested).
    pub fn block_received(&mut self, peer: PeerKey, piece: PieceIndex, begin: u32) -> Received {
        let Some((s, b)) = self.locate(piece, begin) else {
            return Received::default();
        };
        let d = &mut self.downloading[s];
        match d.blocks[b] {
            Block::Requested(mut set) if set.contains(peer) => {
                set.remove(peer);
                d.blocks[b] = Block::Received {
                    from: peer,
                    late: set,
                };
                d.requested -= 1;
                d.received += 1;
                let piece_complete = d.received as usize == d.blocks.len();
                self.requested_blocks -= 1;
                Received {
                    requested: true,
                    new: true,
                    cancel: set,
                    piece_complete,
                }
            }
            Block::Received { from, mut late } if late.contains(peer) => {
                late.remove(peer);
                d.blocks[b] = Block::Received { from, late };
                Received {
                    requested: true,
                    ..Received::default()
                }
            }
            _ => Received::default(),
        }
    }

    /// `piece` passed its hash check: we have it. Returns false if we had it already.
    pub fn piece_verified(&mut self, piece: PieceIndex) -> bool {
        if self.have.has(piece) {
            return false;
        }
        if self.counted(piece) {
            self.free_blocks -= self.free_of(piece);
        }
        let s = self.slot[piece.as_usize()];
        if s != NONE {
            self.requested_blocks -= u64::from(self.downloading[s as usize].requested);
            self.release(s as usize);
        }
        self.have.set(piece);
        self.bytes_done += u64::from(self.layout.piece_size(piece));
        self.remove_from_order(piece);
        true
    }

    /// `piece` failed its hash check: its received blocks become free again, so it is fetched
    /// anew. Returns the peers that sent them (each once), for the session to blame.
    pub fn piece_failed(&mut self, piece: PieceIndex) -> Vec<PeerKey> {
        let s = self.slot[piece.as_usize()];
        if s == NONE {
            return Vec::new();
        }
        let s = s as usize;
        let d = &mut self.downloading[s];
        let mut senders = Vec::new();
        let mut freed = 0;
        for block in &mut d.blocks {
            if let Block::Received { from, .. } = *block {
                if !senders.contains(&from) {
                    senders.push(from);
                }
                *block = Block::Free;
                freed += 1;
            }
        }
        d.received -= freed;
        d.free += freed;
        if self.counted(piece) {
            self.free_blocks += u64::from(freed);
        }
        self.release_if_idle(s);
        senders
    }

    /// `peer` is gone (or choked us, which discards its requests): its outstanding requests are
    /// released, and blocks no other peer was asked for become free. Availability is separate:
    /// call [`peer_gone`](Self::peer_gone) too when it disconnects.
    pub fn peer_dropped(&mut self, peer: PeerKey) {
        for s in (0..self.downloading.len()).rev() {
            let d = &mut self.downloading[s];
            let mut freed = 0;
            for block in &mut d.blocks {
                match block {
                    Block::Requested(set) => {
                        if set.remove(peer) && set.is_empty() {
                            *block = Block::Free;
                            freed += 1;
                        }
                    }
                    Block::Received { late, .. } => {
                        late.remove(peer);
                    }
                    Block::Free => {}
                }
            }
            if freed > 0 {
                let piece = d.piece;
                d.requested -= freed;
                d.free += freed;
                self.requested_blocks -= u64::from(freed);
                if self.counted(piece) {
                    self.free_blocks += u64::from(freed);
                }
                self.release_if_idle(s);
            }
        }
    }

    /// The session cancelled its request to `peer` for the block at `begin` of `piece`: the
    /// block is free again unless another peer has it requested too. Data `peer` sends for it
    /// later is reported as not requested. Returns whether the request was outstanding.
    pub fn cancel(&mut self, peer: PeerKey, piece: PieceIndex, begin: u32) -> bool {
        let Some((s, b)) = self.locate(piece, begin) else {
            return false;
        };
        let d = &mut self.downloading[s];
        match &mut d.blocks[b] {
            Block::Requested(set) => {
                if !set.remove(peer) {
                    return false;
                }
                if set.is_empty() {
                    d.blocks[b] = Block::Free;
                    d.requested -= 1;
                    d.free += 1;
                    self.requested_blocks -= 1;
                    if self.counted(piece) {
                        self.free_blocks += 1;
                    }
                    self.release_if_idle(s);
                }
                true
            }
            Block::Received { late, .. } => late.remove(peer),
            Block::Free => false,
        }
    }

    /// A request to `peer` took too long: as [`cancel`](Self::cancel) (send the peer a
    /// `cancel`), so the block can be picked for another peer.
    pub fn request_timed_out(&mut self, peer: PeerKey, piece: PieceIndex, begin: u32) -> bool {
        self.cancel(peer, piece, begin)
    }
}

#[cfg(test)]
mod tests;
