//! A running torrent's rules, as a state machine with no I/O: inputs in (a peer's messages, a
//! block written, a piece checked, a timer), [`Action`]s out (a message to send, a block to
//! write, a connection to open or close). The actor ([`super::torrent`]) feeds it and carries
//! out what it asks; tests drive it directly, as the picker's tests drive the picker.
//!
//! It owns the picker and the choker, every peer's protocol state (choked, interested, their
//! pieces, our requests and theirs), the pieces on their way through the block pipeline
//! ([`super::pipeline`]), who sent which block (to ban the peer that lied), the addresses to
//! connect to, and the counters a [`Status`] reports. Time comes in with the inputs that need it,
//! never read from the clock; the latest is the machine's `now`.

use super::announcer::Announce;
use super::channel::SharedError;
use super::choker::{Candidate, Choker, SNUB_AFTER};
use super::{DisconnectReason, Disconnects, EventKind, State, Status};
use crate::peer::Message;
use crate::piece::picker::{PeerKey, Picker};
use crate::piece::{Bitfield, BlockRef, Layout, PieceIndex, BLOCK_SIZE};
use crate::tracker::PeerId;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Requests we keep in flight to one peer, at least and at most; between them it follows the
/// peer's rate (about two seconds of data).
const MIN_PIPELINE: usize = 16;
const MAX_PIPELINE: usize = 512;
/// A request unanswered this long goes back to the picker for other peers.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Bytes received but not yet written; past it, no new requests go out until the disk
/// catches up (memory stays bounded however fast peers are).
pub(super) const MAX_QUEUED_WRITES: u64 = 8 << 20;
/// Requests a peer may have queued with us; more is abuse.
pub(super) const MAX_QUEUED_REQUESTS: usize = 512;
/// Addresses kept to connect to, at most.
const MAX_CANDIDATES: usize = 1000;
/// Failed copies of a piece whose senders are remembered (for the smart ban), at most.
const MAX_FAILURES_KEPT: usize = 8;

/// What the machine asks its actor to do, in order.
#[derive(Debug)]
pub(super) enum Action {
    /// Queue a message for a peer.
    Send(PeerKey, Message),
    /// Close a peer's connection (the machine has forgotten the peer already).
    Close(PeerKey),
    /// Open a connection.
    Connect(SocketAddr),
    /// Write a block received (it then goes through the hash thread and comes back
    /// [`on_written`](TorrentMachine::on_written)).
    Write(BlockRef, bytes::Bytes),
    /// Read a block a peer asked for (it comes back [`on_read`](TorrentMachine::on_read)).
    Read(PeerKey, BlockRef),
    /// Every block of the piece went through the hash thread: compare its hash.
    Verify(PieceIndex),
    /// Forget what the hash thread has of the piece (a write failed).
    Discard(PieceIndex),
    /// Hash each block of the piece as it is on disk (to find who sent a bad block).
    HashBlocks {
        piece: PieceIndex,
        passed: bool,
    },
    /// Start writing a verified piece to disk.
    Writeback(PieceIndex),
    /// Record these pieces in the fast resume file.
    SaveResume(Bitfield),
    Event(EventKind),
}

/// The session's settings the machine applies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_peers: usize,
    pub max_peers_per_ip: usize,
    pub unchoke_slots: usize,
    /// Our own peer id, which settles which of two connections with one peer stays.
    pub our_id: PeerId,
}

struct PeerState {
    addr: SocketAddr,
    /// The id from its handshake (a second connection with it is a duplicate).
    peer_id: PeerId,
    has: Bitfield,
    /// They choke us / we choke them.
    choking_us: bool,
    choking_them: bool,
    interested_in_us: bool,
    we_are_interested: bool,
    /// Our requests not yet answered, with when they were sent.
    outstanding: FxHashMap<BlockRef, Instant>,
    /// Their requests being read from disk.
    serving: FxHashSet<BlockRef>,
    /// Payload bytes since the last tick, each way.
    bytes_in: u64,
    bytes_out: u64,
    download_rate: u64,
    upload_rate: u64,
    last_block: Instant,
    got_first_message: bool,
}

/// A piece being written: blocks still on their way to disk, whether all have arrived, and
/// whether a write failed.
#[derive(Default)]
struct Pending {
    writes: u32,
    complete: bool,
    failed: bool,
}

pub(super) struct TorrentMachine {
    layout: Layout,
    limits: Limits,
    /// Seeding from the original data: never interested, never requests.
    seed_only: bool,
    picker: Picker,
    choker: Choker,
    peers: FxHashMap<PeerKey, PeerState>,
    pending: FxHashMap<PieceIndex, Pending>,
    /// Who sent each block of the pieces in progress.
    senders: FxHashMap<(PieceIndex, u32), IpAddr>,
    /// For pieces that failed their hash: each block's hash and sender, to compare with the
    /// good copy once the piece passes ("smart ban": only the peers whose blocks differed lied).
    suspects: FxHashMap<PieceIndex, Vec<(u32, IpAddr, [u8; 20])>>,
    /// Who sent each block of a failed copy whose block hashes are on their way, oldest copy
    /// first: taken when the piece fails, since its blocks are asked for again at once and
    /// `senders` then names the senders of the next copy.
    failed_copies: FxHashMap<PieceIndex, VecDeque<Vec<(u32, IpAddr)>>>,
    banned: FxHashSet<IpAddr>,
    /// Addresses known but not connected.
    candidates: VecDeque<SocketAddr>,
    connecting: FxHashSet<SocketAddr>,
    paused: bool,
    /// A storage error stopped the torrent (until it is resumed).
    failed: bool,
    /// Bytes handed to the disk thread and not yet reported written.
    queued_writes: u64,
    uploaded: u64,
    downloaded: u64,
    disconnects: Disconnects,
    /// What the trackers hear: counters as of the last tick, so the announcer is not woken by
    /// every block.
    announce: Announce,
    /// Pieces done when the resume file was last saved.
    saved: u32,
    /// Pieces on disk when the torrent started.
    found: u32,
    /// The latest time an input brought (requests are stamped with it).
    now: Instant,
    actions: Vec<Action>,
}

impl TorrentMachine {
    /// A torrent whose data was checked: `have` is what is on disk already.
    pub fn new(
        layout: Layout,
        have: &Bitfield,
        limits: Limits,
        seed_only: bool,
        now: Instant,
    ) -> Self {
        let picker = Picker::new(layout, have);
        let announce = Announce {
            uploaded: 0,
            downloaded: 0,
            left: picker.bytes_left(),
            completed: false,
            paused: false,
            stopped: false,
        };
        TorrentMachine {
            layout,
            limits,
            seed_only,
            saved: picker.pieces_done(),
            found: picker.pieces_done(),
            choker: Choker::new(limits.unchoke_slots),
            picker,
            peers: FxHashMap::default(),
            pending: FxHashMap::default(),
            senders: FxHashMap::default(),
            suspects: FxHashMap::default(),
            failed_copies: FxHashMap::default(),
            banned: FxHashSet::default(),
            candidates: VecDeque::new(),
            connecting: FxHashSet::default(),
            paused: false,
            failed: false,
            queued_writes: 0,
            uploaded: 0,
            downloaded: 0,
            disconnects: Disconnects::default(),
            announce,
            now,
            actions: Vec::new(),
        }
    }

    /// What the machine asks for since the last call, in order.
    #[cfg(test)]
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    /// [`take_actions`](Self::take_actions) into `into` (empty), whose room the machine keeps
    /// for next time: no allocation per input.
    pub fn swap_actions(&mut self, into: &mut Vec<Action>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut self.actions, into);
    }

    pub fn have(&self) -> &Bitfield {
        self.picker.have()
    }

    pub fn status(&self) -> Status {
        let state = if self.failed {
            State::Error
        } else if self.paused {
            State::Paused
        } else if self.picker.is_complete() {
            State::Seeding
        } else {
            State::Downloading
        };
        Status {
            state,
            pieces_done: self.picker.pieces_done(),
            piece_count: self.layout.piece_count(),
            bytes_done: self.picker.bytes_done(),
            total_length: self.layout.total_length(),
            download_rate: self.peers.values().map(|p| p.download_rate).sum(),
            upload_rate: self.peers.values().map(|p| p.upload_rate).sum(),
            uploaded: self.uploaded,
            downloaded: self.downloaded,
            peers: self.peers.len() as u32,
            pieces_checked: self.layout.piece_count(),
            pieces_found: self.found,
            disconnects: self.disconnects,
        }
    }

    pub fn announce(&self) -> Announce {
        self.announce
    }

    /// The torrent starts: a complete one says so at once. It does not announce `completed`:
    /// BEP 3 sends that when a download completes, and trackers count it as one.
    pub fn on_start(&mut self) {
        if self.picker.is_complete() {
            self.event(EventKind::Finished);
        }
    }

    fn event(&mut self, kind: EventKind) {
        self.actions.push(Action::Event(kind));
    }

    fn send(&mut self, key: PeerKey, message: Message) {
        self.actions.push(Action::Send(key, message));
    }

    // Peers coming and going.

    /// Addresses to try (from a tracker or the user).
    pub fn on_peers(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        for addr in addrs {
            if !self.candidates.contains(&addr) && !self.banned.contains(&addr.ip()) {
                self.candidates.push_back(addr);
            }
        }
        self.candidates.truncate(MAX_CANDIDATES);
        self.connect_more();
    }

    pub fn on_connect_failed(&mut self, addr: SocketAddr) {
        self.connecting.remove(&addr);
    }

    /// A peer finished its handshake; it is taken or closed at once. `outgoing`: we dialled it.
    pub fn on_connected(
        &mut self,
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        outgoing: bool,
        now: Instant,
    ) {
        self.now = now;
        self.connecting.remove(&addr);
        // One peer connected both ways (each side dialled the other): both sides keep the
        // connection the lower peer id opened, so they agree on which one to close.
        let twin = self.peers.iter().find(|(_, p)| p.peer_id == peer_id);
        if let Some((&twin, _)) = twin {
            if outgoing == (self.limits.our_id < peer_id) {
                self.drop_peer(twin, DisconnectReason::Duplicate);
            } else {
                self.count_disconnect(addr, DisconnectReason::Duplicate);
                self.actions.push(Action::Close(key));
                return;
            }
        }
        let same_ip = self
            .peers
            .values()
            .filter(|p| p.addr.ip() == addr.ip())
            .count();
        let refused = if self.paused {
            Some(DisconnectReason::Paused)
        } else if self.banned.contains(&addr.ip()) {
            Some(DisconnectReason::Banned)
        } else if self.peers.len() >= self.limits.max_peers
            || same_ip >= self.limits.max_peers_per_ip
            || self.peers.values().any(|p| p.addr == addr)
        {
            Some(DisconnectReason::Limit)
        } else {
            None
        };
        if let Some(reason) = refused {
            self.count_disconnect(addr, reason);
            self.actions.push(Action::Close(key));
            return;
        }
        self.peers.insert(
            key,
            PeerState {
                addr,
                peer_id,
                has: Bitfield::empty(&self.layout),
                choking_us: true,
                choking_them: true,
                interested_in_us: false,
                we_are_interested: false,
                outstanding: FxHashMap::default(),
                serving: FxHashSet::default(),
                bytes_in: 0,
                bytes_out: 0,
                download_rate: 0,
                upload_rate: 0,
                last_block: now,
                got_first_message: false,
            },
        );
        if self.picker.have().count() > 0 {
            self.send(key, Message::Bitfield(self.picker.have().clone()));
        }
    }

    /// A peer's connection ended on its side (`reason`), or after we closed it (`None`).
    pub fn on_closed(&mut self, key: PeerKey, reason: Option<DisconnectReason>) {
        if let Some(peer) = self.peers.get(&key) {
            let addr = peer.addr;
            self.forget_peer(key);
            self.count_disconnect(addr, reason.unwrap_or(DisconnectReason::Stopped));
        }
    }

    /// Closes a peer's connection, for `reason`.
    pub fn drop_peer(&mut self, key: PeerKey, reason: DisconnectReason) {
        if let Some(peer) = self.peers.get(&key) {
            let addr = peer.addr;
            self.actions.push(Action::Close(key));
            self.forget_peer(key);
            self.count_disconnect(addr, reason);
        }
    }

    fn count_disconnect(&mut self, addr: SocketAddr, reason: DisconnectReason) {
        tracing::debug!(peer = %addr, reason = reason.name(), "peer disconnected");
        self.disconnects.count(reason);
    }

    fn forget_peer(&mut self, key: PeerKey) {
        if let Some(peer) = self.peers.remove(&key) {
            self.picker.peer_dropped(key);
            self.picker.peer_gone(&peer.has);
            // Its requests go back to others.
            self.request_from_all();
        }
    }

    fn connect_more(&mut self) {
        if self.paused {
            return;
        }
        while self.peers.len() + self.connecting.len() < self.limits.max_peers {
            let Some(addr) = self.candidates.pop_front() else {
                break;
            };
            let connected = self.peers.values().any(|p| p.addr == addr);
            if connected || self.connecting.contains(&addr) || self.banned.contains(&addr.ip()) {
                continue;
            }
            self.connecting.insert(addr);
            self.actions.push(Action::Connect(addr));
        }
    }

    // A peer's messages.

    /// Messages from a peer, in order; one that breaks a rule closes the connection.
    pub fn on_messages(&mut self, key: PeerKey, messages: Vec<Message>, now: Instant) {
        self.now = now;
        for message in messages {
            if let Err(reason) = self.on_message(key, message, now) {
                self.drop_peer(key, reason);
                break;
            }
        }
    }

    fn on_message(
        &mut self,
        key: PeerKey,
        message: Message,
        now: Instant,
    ) -> Result<(), DisconnectReason> {
        let Some(peer) = self.peers.get_mut(&key) else {
            return Ok(());
        };
        let first = !peer.got_first_message;
        peer.got_first_message = true;
        match message {
            Message::KeepAlive => {}
            Message::Bitfield(bits) => {
                // BEP 3 puts it first, but aria2 sends it after `have` and `interested`; a late
                // one is unambiguous, so it replaces what we knew.
                if !first {
                    self.picker.peer_gone(&peer.has);
                }
                self.picker.peer_bitfield(&bits);
                peer.has = bits;
                self.update_interest(key);
            }
            Message::Have(piece) => {
                if !peer.has.has(piece) {
                    peer.has.set(piece);
                    self.picker.peer_has(piece);
                    self.update_interest(key);
                }
            }
            Message::Choke => {
                peer.choking_us = true;
                peer.outstanding.clear();
                self.picker.peer_dropped(key);
            }
            Message::Unchoke => {
                peer.choking_us = false;
                peer.last_block = now;
                self.request_more(key);
            }
            Message::Interested => {
                peer.interested_in_us = true;
                // Start serving at once when a slot is free rather than at the next round.
                let unchoked = self.peers.values().filter(|p| !p.choking_them).count();
                if unchoked < self.limits.unchoke_slots + 1 {
                    self.set_choke(key, false);
                }
            }
            Message::NotInterested => {
                peer.interested_in_us = false;
                self.set_choke(key, true);
            }
            Message::Request(block) => {
                if peer.choking_them {
                    // BEP 3: requests while choked are dropped, not an offence (they may cross).
                    return Ok(());
                }
                if !self.picker.have().has(block.piece) {
                    tracing::debug!(peer = %peer.addr, piece = block.piece.get(), "asked for a piece we do not have");
                    return Err(DisconnectReason::RuleBroken);
                }
                if peer.serving.len() >= MAX_QUEUED_REQUESTS {
                    tracing::debug!(peer = %peer.addr, "too many requests queued");
                    return Err(DisconnectReason::RuleBroken);
                }
                if peer.serving.insert(block) {
                    self.actions.push(Action::Read(key, block));
                }
            }
            Message::Cancel(block) => {
                peer.serving.remove(&block);
            }
            Message::Piece { piece, begin, data } => self.on_block(key, piece, begin, data, now),
        }
        Ok(())
    }

    fn on_block(
        &mut self,
        key: PeerKey,
        piece: PieceIndex,
        begin: u32,
        data: bytes::Bytes,
        now: Instant,
    ) {
        let block = BlockRef {
            piece,
            begin,
            length: data.len() as u32,
        };
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        if peer.outstanding.remove(&block).is_none() {
            // A block we never asked this peer for (or cancelled): not written, not counted.
            return;
        }
        peer.bytes_in += data.len() as u64;
        peer.last_block = now;
        let sender = peer.addr.ip();
        self.downloaded += data.len() as u64;
        let received = self.picker.block_received(key, piece, begin);
        for other in received.cancel.iter() {
            if let Some(p) = self.peers.get_mut(&other) {
                if p.outstanding.remove(&block).is_some() {
                    self.actions
                        .push(Action::Send(other, Message::Cancel(block)));
                }
            }
        }
        if received.new {
            self.senders.insert((piece, begin), sender);
            let pending = self.pending.entry(piece).or_default();
            pending.writes += 1;
            pending.complete |= received.piece_complete;
            self.queued_writes += data.len() as u64;
            self.actions.push(Action::Write(block, data));
        }
        self.request_more(key);
    }

    fn update_interest(&mut self, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let want = !self.seed_only && self.picker.wanted_by_us(&peer.has);
        if want != peer.we_are_interested {
            peer.we_are_interested = want;
            let message = if want {
                Message::Interested
            } else {
                Message::NotInterested
            };
            self.send(key, message);
        }
        if want {
            self.request_more(key);
        }
    }

    /// Keeps the peer's pipeline full: about two seconds of its rate, within bounds.
    fn request_more(&mut self, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        if peer.choking_us
            || !peer.we_are_interested
            || self.paused
            || self.queued_writes >= MAX_QUEUED_WRITES
        {
            return;
        }
        let depth = ((peer.download_rate * 2) / u64::from(BLOCK_SIZE)) as usize;
        let depth = depth.clamp(MIN_PIPELINE, MAX_PIPELINE);
        // Topped up a quarter of the pipeline at a time, so requests leave in batches that
        // share a write (a request per block would mean a system call per block both ways).
        if peer.outstanding.len() + depth / 4 > depth {
            return;
        }
        let blocks = self
            .picker
            .pick(key, &peer.has, depth - peer.outstanding.len());
        for block in blocks {
            if peer.outstanding.insert(block, self.now).is_none() {
                self.actions
                    .push(Action::Send(key, Message::Request(block)));
            }
        }
    }

    fn request_from_all(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.request_more(key);
        }
    }

    fn set_choke(&mut self, key: PeerKey, choke: bool) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        if peer.choking_them != choke {
            peer.choking_them = choke;
            if choke {
                peer.serving.clear();
            }
            let message = if choke {
                Message::Choke
            } else {
                Message::Unchoke
            };
            self.send(key, message);
        }
    }

    // The block pipeline's reports.

    /// A block reached the disk (or failed to) and its hash thread.
    pub fn on_written(&mut self, piece: PieceIndex, length: u32, result: Result<(), SharedError>) {
        let was_full = self.queued_writes >= MAX_QUEUED_WRITES;
        self.queued_writes -= u64::from(length);
        if was_full && self.queued_writes < MAX_QUEUED_WRITES {
            self.request_from_all();
        }
        let Some(pending) = self.pending.get_mut(&piece) else {
            return;
        };
        pending.writes -= 1;
        pending.failed |= result.is_err();
        let (settled, failed) = (
            pending.writes == 0 && (pending.complete || pending.failed),
            pending.failed,
        );
        if let Err(e) = result {
            self.storage_failed(e);
        }
        if !settled {
            return;
        }
        self.pending.remove(&piece);
        if failed {
            self.actions.push(Action::Discard(piece));
            self.refetch(piece);
        } else {
            self.actions.push(Action::Verify(piece));
        }
    }

    /// A piece was hashed: it passed, failed, or could not be read back.
    pub fn on_checked(&mut self, piece: PieceIndex, result: Result<bool, SharedError>) {
        match result {
            Ok(true) => self.piece_passed(piece),
            Ok(false) => self.piece_failed(piece),
            Err(e) => {
                self.refetch(piece);
                self.storage_failed(e);
            }
        }
    }

    fn piece_passed(&mut self, piece: PieceIndex) {
        self.picker.piece_verified(piece);
        self.actions.push(Action::Writeback(piece));
        self.forget_senders(piece);
        if self.suspects.contains_key(&piece) || self.failed_copies.contains_key(&piece) {
            self.actions.push(Action::HashBlocks {
                piece,
                passed: true,
            });
        }
        self.event(EventKind::PieceVerified(piece.get()));
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in &keys {
            self.send(*key, Message::Have(piece));
        }
        for key in keys {
            self.update_interest(key);
        }
        if self.picker.is_complete() {
            self.finished();
        }
    }

    fn piece_failed(&mut self, piece: PieceIndex) {
        self.event(EventKind::HashFailed(piece.get()));
        let senders = self.picker.piece_failed(piece);
        if senders.len() == 1 {
            // One sender for the whole piece: no doubt who lied.
            if let Some(ip) = self.peers.get(&senders[0]).map(|p| p.addr.ip()) {
                self.ban(ip);
            }
            self.forget_senders(piece);
        } else {
            let copy = (0..self.layout.block_count(piece))
                .filter_map(|b| {
                    let begin = b * BLOCK_SIZE;
                    self.senders.remove(&(piece, begin)).map(|ip| (begin, ip))
                })
                .collect();
            self.failed_copies.entry(piece).or_default().push_back(copy);
            self.actions.push(Action::HashBlocks {
                piece,
                passed: false,
            });
        }
        self.request_from_all();
    }

    /// Each block of a piece hashed as it is on disk: after a failure, who sent what; after
    /// the pass that follows, the good copy to compare with.
    pub fn on_block_hashes(
        &mut self,
        piece: PieceIndex,
        passed: bool,
        hashes: Vec<(u32, [u8; 20])>,
    ) {
        if !passed {
            // The hashes are of the oldest failed copy not reported yet (the disk thread runs
            // jobs in order), paired with who sent that copy's blocks.
            let Some(copies) = self.failed_copies.get_mut(&piece) else {
                return;
            };
            let copy = copies.pop_front().unwrap_or_default();
            if copies.is_empty() {
                self.failed_copies.remove(&piece);
            }
            // Added to what earlier failures of the piece left: a liar whose copy failed
            // once stays suspect when the piece fails again with other senders.
            let suspects = self.suspects.entry(piece).or_default();
            for (begin, hash) in hashes {
                if let Some(&(_, ip)) = copy.iter().find(|(b, _)| *b == begin) {
                    if !suspects.contains(&(begin, ip, hash)) {
                        suspects.push((begin, ip, hash));
                    }
                }
            }
            // Bounded: the latest few failures' evidence is kept.
            let keep = MAX_FAILURES_KEPT * self.layout.block_count(piece) as usize;
            if suspects.len() > keep {
                suspects.drain(..suspects.len() - keep);
            }
            return;
        }
        let Some(suspects) = self.suspects.remove(&piece) else {
            return;
        };
        for (begin, ip, bad) in suspects {
            if hashes.iter().any(|(b, good)| *b == begin && *good != bad) {
                self.ban(ip);
            }
        }
    }

    /// A block a peer asked for was read: it goes out unless the peer cancelled it, or was
    /// choked, meanwhile.
    pub fn on_read(
        &mut self,
        key: PeerKey,
        block: BlockRef,
        result: Result<bytes::Bytes, SharedError>,
    ) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        if !peer.serving.remove(&block) || peer.choking_them {
            return;
        }
        match result {
            Ok(data) => {
                peer.bytes_out += data.len() as u64;
                self.uploaded += data.len() as u64;
                self.send(
                    key,
                    Message::Piece {
                        piece: block.piece,
                        begin: block.begin,
                        data,
                    },
                );
            }
            Err(e) => self.storage_failed(e),
        }
    }

    /// A piece whose bytes on disk are unknown (a write or its check failed): fetched anew.
    fn refetch(&mut self, piece: PieceIndex) {
        self.picker.piece_failed(piece);
        self.forget_senders(piece);
    }

    fn forget_senders(&mut self, piece: PieceIndex) {
        for b in 0..self.layout.block_count(piece) {
            self.senders.remove(&(piece, b * BLOCK_SIZE));
        }
    }

    /// Drops every peer at `ip` and refuses it from now on.
    fn ban(&mut self, ip: IpAddr) {
        if !self.banned.insert(ip) {
            return;
        }
        self.event(EventKind::PeerBanned(ip));
        let keys: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.addr.ip() == ip)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            self.drop_peer(key, DisconnectReason::Banned);
        }
    }

    fn finished(&mut self) {
        self.actions
            .push(Action::SaveResume(self.picker.have().clone()));
        self.saved = self.picker.pieces_done();
        self.event(EventKind::Finished);
        self.announce.completed = true;
        // Seeds have no use for each other.
        let seeds: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.has.is_complete())
            .map(|(k, _)| *k)
            .collect();
        for key in seeds {
            self.drop_peer(key, DisconnectReason::BothSeeding);
        }
    }

    /// A read, write or check failed: reported, and the torrent stops in the error state until
    /// it is resumed (a full disk or a vanished file will not mend by retrying at once).
    fn storage_failed(&mut self, error: SharedError) {
        tracing::warn!(%error, "storage failed; the torrent stops until resumed");
        self.event(EventKind::StorageError(error));
        if !self.failed {
            self.failed = true;
            self.pause();
        }
    }

    // Commands and timers.

    /// Drops every peer and connects to none until resumed; the trackers are told we left.
    pub fn pause(&mut self) {
        self.paused = true;
        self.announce.paused = true;
        // Remember who we were talking to, to reconnect on resume.
        let addrs: Vec<SocketAddr> = self.peers.values().map(|p| p.addr).collect();
        for addr in addrs {
            if !self.candidates.contains(&addr) {
                self.candidates.push_front(addr);
            }
        }
        for key in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(key, DisconnectReason::Paused);
        }
    }

    /// Whether a storage error stopped the torrent.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The addresses it would connect to (the peers it had, once paused), for a machine that
    /// takes over.
    pub fn candidates(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.candidates.iter().copied()
    }

    /// Undoes a pause, or clears a storage error to try again.
    pub fn resume(&mut self) {
        self.paused = false;
        self.failed = false;
        self.announce.paused = false;
        self.connect_more();
    }

    /// The torrent stops for good: every peer is dropped.
    pub fn stop(&mut self) {
        for key in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(key, DisconnectReason::Stopped);
        }
    }

    /// The regular tick: rates over `elapsed`, requests that timed out, more connections,
    /// and the counters the trackers hear.
    pub fn on_tick(&mut self, now: Instant, elapsed: Duration) {
        self.now = now;
        let secs = elapsed.as_secs_f64().max(0.001);
        for peer in self.peers.values_mut() {
            // An exponential average over a few seconds.
            let down = (peer.bytes_in as f64 / secs) as u64;
            let up = (peer.bytes_out as f64 / secs) as u64;
            peer.download_rate = (peer.download_rate * 3 + down) / 4;
            peer.upload_rate = (peer.upload_rate * 3 + up) / 4;
            peer.bytes_in = 0;
            peer.bytes_out = 0;
        }
        self.announce.uploaded = self.uploaded;
        self.announce.downloaded = self.downloaded;
        self.announce.left = self.picker.bytes_left();
        self.expire_requests(now);
        self.connect_more();
    }

    /// Takes back requests a peer left unanswered too long, so others can serve them.
    fn expire_requests(&mut self, now: Instant) {
        let mut expired = Vec::new();
        for (key, peer) in &mut self.peers {
            peer.outstanding.retain(|block, sent| {
                let old = now.saturating_duration_since(*sent) > REQUEST_TIMEOUT;
                if old {
                    expired.push((*key, *block));
                }
                !old
            });
        }
        if expired.is_empty() {
            return;
        }
        for (key, block) in &expired {
            self.picker
                .request_timed_out(*key, block.piece, block.begin);
        }
        self.request_from_all();
    }

    /// The choking round (every 10 seconds).
    pub fn on_choke_round(&mut self, now: Instant) {
        self.now = now;
        let seeding = self.picker.is_complete();
        let candidates: Vec<Candidate> = self
            .peers
            .iter()
            .map(|(key, p)| Candidate {
                peer: *key,
                interested: p.interested_in_us,
                download_rate: p.download_rate,
                upload_rate: p.upload_rate,
                snubbing: !p.choking_us
                    && p.we_are_interested
                    && now.saturating_duration_since(p.last_block) > SNUB_AFTER,
            })
            .collect();
        let unchoke = self.choker.tick(now, seeding, &candidates);
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.set_choke(key, !unchoke.contains(&key));
        }
    }

    /// The resume round: pieces verified since the last save are recorded.
    pub fn on_resume_round(&mut self) {
        if self.picker.pieces_done() != self.saved {
            self.saved = self.picker.pieces_done();
            self.actions
                .push(Action::SaveResume(self.picker.have().clone()));
        }
    }
}

#[cfg(test)]
mod tests;
