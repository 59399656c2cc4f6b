//! One torrent: an actor task that owns its picker, its peers' state and its storage handle.
//!
//! Peer connections are tasks of their own ([`super::peer`]); they turn sockets into validated
//! messages and send them here. Disk reads, writes and hashing run on blocking threads and
//! report back here. Nothing else touches the torrent's state, so there are no locks.

use super::choker::{Candidate, Choker};
use super::peer::{self, PeerLink, ToPeer};
use super::{Event, EventKind, SessionShared, State, Status};
use crate::buffers::BufferPool;
use crate::metainfo::Metainfo;
use crate::peer::Message;
use crate::piece::picker::{PeerKey, Picker};
use crate::piece::{Bitfield, BlockRef, Layout, PieceIndex};
use crate::storage::{PieceHasher, Storage};
use crate::tracker::client::{Backoff, Client, TrackerList};
use crate::tracker::{AnnounceRequest, Event as AnnounceEvent};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// How often choking is reconsidered (BEP 3's rhythm).
const CHOKE_INTERVAL: Duration = Duration::from_secs(10);
/// How often rates and status are refreshed.
const TICK: Duration = Duration::from_millis(500);
/// Requests we keep in flight to one peer, at least and at most; between them it follows the
/// peer's rate (about two seconds of data).
const MIN_PIPELINE: usize = 16;
const MAX_PIPELINE: usize = 512;
/// A request unanswered this long goes back to the picker for other peers.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Bytes received but not yet written; past it, no new requests go out until the disk
/// catches up (memory stays bounded however fast peers are).
const MAX_QUEUED_WRITES: u64 = 8 << 20;
/// How often verified pieces are recorded in the fast resume file.
const RESUME_INTERVAL: Duration = Duration::from_secs(30);
/// Inputs handled before the blocks they brought go to the disk thread, at most.
const INPUT_BATCH: usize = 64;
/// Requests a peer may have queued with us; more is abuse.
const MAX_QUEUED_REQUESTS: usize = 512;

/// A thread of a torrent's that runs jobs one after another on its state `S`: blocks reach a
/// piece's file, and its hash, in order, without a thread hand-off per block.
struct Worker<S> {
    jobs: std::sync::mpsc::Sender<Job<S>>,
}

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

impl<S: Send + 'static> Worker<S> {
    fn start(name: &str, mut state: S) -> Worker<S> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job<S>>();
        // Ends when the last sender is dropped.
        let _ = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for job in queue {
                    job(&mut state);
                }
            });
        Worker { jobs }
    }

    fn run(&self, job: impl FnOnce(&mut S) + Send + 'static) {
        let _ = self.jobs.send(Box::new(job));
    }
}

impl<S> Clone for Worker<S> {
    fn clone(&self) -> Self {
        Worker {
            jobs: self.jobs.clone(),
        }
    }
}

/// The disk thread's state.
struct Disk {
    storage: Arc<Storage>,
    buffers: Arc<BufferPool>,
}

/// The hash thread's state: the pieces being downloaded, hashed so far.
struct Hashing {
    storage: Arc<Storage>,
    pieces: FxHashMap<PieceIndex, PieceHasher>,
}

/// What reaches the torrent actor.
pub(super) enum Input {
    /// A peer finished its handshake.
    Connected(PeerLink),
    /// Messages from a peer, in the order it sent them.
    Messages(PeerKey, Vec<Message>),
    /// A peer's connection ended.
    Closed(PeerKey),
    /// An outgoing connection failed before its handshake.
    ConnectFailed(SocketAddr),
    /// Addresses to try (from a tracker or the user).
    Peers(Vec<SocketAddr>),
    /// Blocks reached the disk (or failed to) and were hashed.
    Written(Vec<Written>),
    /// A piece was hashed.
    Checked {
        piece: PieceIndex,
        result: Result<bool, String>,
    },
    /// The blocks of a piece, hashed one by one (after a failed check, or after a pass that
    /// follows one).
    BlockHashes {
        piece: PieceIndex,
        passed: bool,
        hashes: Vec<(u32, [u8; 20])>,
    },
    /// Blocks peers asked for were read.
    Read(Vec<(PeerKey, BlockRef, Result<bytes::Bytes, String>)>),
    Command(Command),
}

/// A block through the disk and hash threads.
pub(super) struct Written {
    piece: PieceIndex,
    length: u32,
    result: Result<(), String>,
}

/// What a handle can ask of its torrent.
pub(super) enum Command {
    Pause,
    Resume,
    /// Stop everything and announce `stopped`; replies when done.
    Stop(oneshot::Sender<()>),
}

struct PeerState {
    addr: SocketAddr,
    to_peer: mpsc::Sender<ToPeer>,
    has: Bitfield,
    /// They choke us / we choke them.
    choking_us: bool,
    choking_them: bool,
    interested_in_us: bool,
    we_are_interested: bool,
    /// Our requests not yet answered.
    /// Our requests not yet answered, with when they were sent.
    outstanding: FxHashMap<BlockRef, Instant>,
    /// Their requests being read from disk.
    serving: FxHashSet<BlockRef>,
    bytes_in: u64,
    bytes_out: u64,
    download_rate: u64,
    upload_rate: u64,
    last_block: Instant,
    got_first_message: bool,
    broken: std::cell::Cell<bool>,
}

impl PeerState {
    fn send(&self, message: Message) {
        // The queue holds more than a full pipeline both ways: full means the peer stopped
        // reading. It is dropped at the next tick, which ends its task.
        if self.to_peer.try_send(ToPeer::Message(message)).is_err() {
            self.broken.set(true);
        }
    }
}

/// A piece being written: blocks still on their way to disk, whether all have arrived, and
/// whether a write failed.
#[derive(Default)]
struct Pending {
    writes: u32,
    complete: bool,
    failed: bool,
}

pub(super) struct Torrent {
    meta: Arc<Metainfo>,
    layout: Layout,
    /// Reads and writes.
    disk: Worker<Disk>,
    /// Hashes what was written; checks pieces.
    hasher: Worker<Hashing>,
    picker: Picker,
    shared: Arc<SessionShared>,
    peers: FxHashMap<PeerKey, PeerState>,
    pending: FxHashMap<PieceIndex, Pending>,
    /// Who sent each block of the pieces in progress.
    senders: FxHashMap<(PieceIndex, u32), IpAddr>,
    /// For pieces that failed their hash: each block's hash and sender, to compare with the
    /// good copy once the piece passes ("smart ban": only the peers whose blocks differed lied).
    suspects: FxHashMap<PieceIndex, Vec<(u32, IpAddr, [u8; 20])>>,
    banned: FxHashSet<IpAddr>,
    /// Addresses known but not connected.
    candidates: VecDeque<SocketAddr>,
    connecting: FxHashSet<SocketAddr>,
    choker: Choker,
    paused: bool,
    /// The storage error that stopped the torrent (until it is resumed).
    error: Option<String>,
    seed_only: bool,
    /// Bytes handed to the disk thread and not yet written.
    queued_writes: u64,
    /// Blocks received, to be handed to the disk thread together.
    writes: Vec<(BlockRef, bytes::Bytes)>,
    /// Blocks peers asked for, to be read together.
    reads: Vec<(PeerKey, BlockRef)>,
    uploaded: u64,
    downloaded: u64,
    /// Shared with the handles (see [`super::TorrentHandle::resume`]).
    status: Arc<watch::Sender<Status>>,
    announce: watch::Sender<Announce>,
    announcer: Option<tokio::task::JoinHandle<()>>,
    inbox: mpsc::Sender<Input>,
}

/// What the announcer tells the tracker next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Announce {
    uploaded: u64,
    downloaded: u64,
    left: u64,
    completed: bool,
    /// Paused: out of the swarm (`stopped`) until resumed (`started` again).
    paused: bool,
    stopped: bool,
}

pub(super) struct Started {
    pub inbox: mpsc::Sender<Input>,
    pub status: Arc<watch::Sender<Status>>,
}

impl Torrent {
    /// Starts the actor (and its announcer) for a torrent whose data was checked: `have` is
    /// what is on disk already.
    pub(super) fn start(
        meta: Arc<Metainfo>,
        storage: Arc<Storage>,
        have: Bitfield,
        seed_only: bool,
        shared: Arc<SessionShared>,
    ) -> Started {
        let layout = Layout::of(meta.info());
        let picker = Picker::new(layout, &have);
        let (inbox, rx) = mpsc::channel(1024);
        let status = Arc::new(watch::Sender::new(Status {
            state: if picker.is_complete() {
                State::Seeding
            } else {
                State::Downloading
            },
            pieces_done: picker.pieces_done(),
            piece_count: layout.piece_count(),
            bytes_done: picker.bytes_done(),
            total_length: layout.total_length(),
            ..Status::default()
        }));
        let (announce, announce_rx) = watch::channel(Announce {
            uploaded: 0,
            downloaded: 0,
            left: picker.bytes_left(),
            completed: false,
            paused: false,
            stopped: false,
        });
        let torrent = Torrent {
            meta,
            layout,
            disk: Worker::start(
                "bittern-disk",
                Disk {
                    storage: storage.clone(),
                    buffers: shared.buffers.clone(),
                },
            ),
            hasher: Worker::start(
                "bittern-hash",
                Hashing {
                    storage,
                    pieces: FxHashMap::default(),
                },
            ),
            picker,
            choker: Choker::new(shared.config.unchoke_slots),
            shared,
            peers: FxHashMap::default(),
            pending: FxHashMap::default(),
            senders: FxHashMap::default(),
            suspects: FxHashMap::default(),
            banned: FxHashSet::default(),
            candidates: VecDeque::new(),
            connecting: FxHashSet::default(),
            paused: false,
            error: None,
            seed_only,
            queued_writes: 0,
            writes: Vec::new(),
            reads: Vec::new(),
            uploaded: 0,
            downloaded: 0,
            status,
            announce,
            announcer: None,
            inbox: inbox.clone(),
        };
        let mut torrent = torrent;
        torrent.announcer = Some(tokio::spawn(announcer(
            torrent.meta.clone(),
            torrent.shared.clone(),
            announce_rx,
            inbox.clone(),
        )));
        let status = torrent.status.clone();
        tokio::spawn(torrent.run(rx));
        Started { inbox, status }
    }

    fn event(&self, kind: EventKind) {
        let _ = self.shared.events.send(Event {
            info_hash: self.meta.info_hash(),
            kind,
        });
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        let mut tick = tokio::time::interval(TICK);
        let mut choke = tokio::time::interval(CHOKE_INTERVAL);
        let mut resume = tokio::time::interval(RESUME_INTERVAL);
        let mut saved = self.picker.pieces_done();
        let mut last_tick = Instant::now();
        self.publish_status();
        if self.picker.is_complete() {
            self.event(EventKind::Finished);
        }
        loop {
            tokio::select! {
                input = rx.recv() => {
                    let mut input = input;
                    // Whatever else waits is handled too before the disk work goes out.
                    for handled in 1.. {
                        match input {
                            Some(Input::Command(Command::Stop(done))) => {
                                self.flush_disk();
                                self.stop().await;
                                let _ = done.send(());
                                return;
                            }
                            Some(input) => self.handle(input),
                            None => return,
                        }
                        if handled == INPUT_BATCH {
                            break;
                        }
                        match rx.try_recv() {
                            Ok(next) => input = Some(next),
                            Err(_) => break,
                        }
                    }
                    self.flush_disk();
                }
                _ = tick.tick() => {
                    let elapsed = last_tick.elapsed();
                    last_tick = Instant::now();
                    self.update_rates(elapsed);
                    let broken: Vec<PeerKey> = self.peers.iter().filter(|(_, p)| p.broken.get()).map(|(k, _)| *k).collect();
                    for key in broken {
                        self.forget_peer(key);
                    }
                    self.expire_requests();
                    self.connect_more();
                    self.publish_status();
                }
                _ = choke.tick() => self.rechoke(),
                _ = resume.tick() => {
                    if self.picker.pieces_done() != saved {
                        saved = self.picker.pieces_done();
                        let (hash, have) = (self.meta.info_hash(), self.picker.have().clone());
                        // Syncs the files first, so no piece is recorded before its bytes are on disk.
                        self.disk.run(move |Disk { storage, .. }| {
                            let _ = storage.save_resume(&hash, &have);
                        });
                    }
                }
            }
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Connected(link) => self.connected(link),
            Input::Messages(key, messages) => {
                for message in messages {
                    if let Err(reason) = self.message(key, message) {
                        self.drop_peer(key, &reason);
                        break;
                    }
                }
            }
            Input::Closed(key) => self.forget_peer(key),
            Input::ConnectFailed(addr) => {
                self.connecting.remove(&addr);
            }
            Input::Peers(addrs) => {
                for addr in addrs {
                    if !self.candidates.contains(&addr) && !self.banned.contains(&addr.ip()) {
                        self.candidates.push_back(addr);
                    }
                }
                self.candidates.truncate(1000);
                self.connect_more();
            }
            Input::Written(blocks) => {
                for w in blocks {
                    self.written(w.piece, w.length, w.result);
                }
            }
            Input::Checked { piece, result } => self.checked(piece, result),
            Input::Read(blocks) => {
                for (peer, block, result) in blocks {
                    self.read_done(peer, block, result);
                }
            }
            Input::BlockHashes {
                piece,
                passed,
                hashes,
            } => self.block_hashes(piece, passed, hashes),
            Input::Command(Command::Pause) => self.pause(),
            Input::Command(Command::Resume) => {
                self.paused = false;
                self.error = None;
                self.announce.send_modify(|a| a.paused = false);
                self.connect_more();
                self.publish_status();
            }
            Input::Command(Command::Stop(_)) => unreachable!("handled in run"),
        }
    }

    fn pause(&mut self) {
        self.paused = true;
        self.announce.send_modify(|a| a.paused = true);
        // Remember who we were talking to, to reconnect on resume.
        let addrs: Vec<SocketAddr> = self.peers.values().map(|p| p.addr).collect();
        for addr in addrs {
            if !self.candidates.contains(&addr) {
                self.candidates.push_front(addr);
            }
        }
        for key in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(key, "paused");
        }
        self.publish_status();
    }

    /// A read, write or check failed: reported, and the torrent stops in the error state until
    /// it is resumed (a full disk or a vanished file will not mend by retrying at once).
    fn storage_failed(&mut self, error: String) {
        self.event(EventKind::StorageError(error.clone()));
        if self.error.is_none() {
            self.error = Some(error);
            self.pause();
        }
    }

    /// A piece whose bytes on disk are unknown (a write or its check failed): fetched anew.
    fn refetch(&mut self, piece: PieceIndex) {
        self.picker.piece_failed(piece);
        self.forget_senders(piece);
    }

    fn connected(&mut self, link: PeerLink) {
        self.connecting.remove(&link.addr);
        let limit = self.shared.config.max_peers_per_torrent;
        let same_ip = self
            .peers
            .values()
            .filter(|p| p.addr.ip() == link.addr.ip())
            .count();
        let duplicate = self.peers.values().any(|p| p.addr == link.addr);
        if self.paused
            || self.peers.len() >= limit
            || same_ip >= self.shared.config.max_peers_per_ip
            || duplicate
            || self.banned.contains(&link.addr.ip())
        {
            let _ = link.to_peer.try_send(ToPeer::Close);
            return;
        }
        let state = PeerState {
            addr: link.addr,
            to_peer: link.to_peer,
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
            last_block: Instant::now(),
            got_first_message: false,
            broken: std::cell::Cell::new(false),
        };
        if self.picker.have().count() > 0 {
            state.send(Message::Bitfield(self.picker.have().clone()));
        }
        self.peers.insert(link.key, state);
    }

    /// Handles one message; an `Err` names the rule the peer broke (it is disconnected).
    fn message(&mut self, key: PeerKey, message: Message) -> Result<(), String> {
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
                peer.last_block = Instant::now();
                self.request_more(key);
            }
            Message::Interested => {
                peer.interested_in_us = true;
                // Start serving at once when a slot is free rather than at the next round.
                let unchoked = self.peers.values().filter(|p| !p.choking_them).count();
                if unchoked < self.shared.config.unchoke_slots + 1 {
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
                    return Err(format!("asked for piece {} we do not have", block.piece));
                }
                if peer.serving.len() >= MAX_QUEUED_REQUESTS {
                    return Err("too many requests queued".into());
                }
                if peer.serving.insert(block) {
                    self.reads.push((key, block));
                }
            }
            Message::Cancel(block) => {
                peer.serving.remove(&block);
            }
            Message::Piece { piece, begin, data } => self.piece(key, piece, begin, data)?,
        }
        Ok(())
    }

    fn piece(
        &mut self,
        key: PeerKey,
        piece: PieceIndex,
        begin: u32,
        data: bytes::Bytes,
    ) -> Result<(), String> {
        let block = BlockRef {
            piece,
            begin,
            length: data.len() as u32,
        };
        let Some(peer) = self.peers.get_mut(&key) else {
            return Ok(());
        };
        let asked = peer.outstanding.remove(&block).is_some();
        if !asked {
            // A block we never asked this peer for (or cancelled): not written, not counted.
            return Ok(());
        }
        peer.bytes_in += data.len() as u64;
        peer.last_block = Instant::now();
        self.downloaded += data.len() as u64;
        let received = self.picker.block_received(key, piece, begin);
        for other in received.cancel.iter() {
            if let Some(p) = self.peers.get_mut(&other) {
                if p.outstanding.remove(&block).is_some() {
                    p.send(Message::Cancel(block));
                }
            }
        }
        if received.new {
            if let Some(p) = self.peers.get(&key) {
                self.senders.insert((piece, begin), p.addr.ip());
            }
            let pending = self.pending.entry(piece).or_default();
            pending.writes += 1;
            pending.complete |= received.piece_complete;
            self.queued_writes += data.len() as u64;
            self.writes.push((block, data));
        }
        self.request_more(key);
        Ok(())
    }

    fn flush_disk(&mut self) {
        self.flush_writes();
        self.flush_reads();
    }

    /// Hands the blocks received since the last call to the disk thread, which writes them,
    /// then to the hash thread, which reports them written: one hand-off per batch, not per
    /// block. Reported once hashed too, so the queued bytes bound the whole way and a piece is
    /// checked only after all its blocks went through both threads.
    fn flush_writes(&mut self) {
        if self.writes.is_empty() {
            return;
        }
        let blocks = std::mem::take(&mut self.writes);
        let (inbox, hasher) = (self.inbox.clone(), self.hasher.clone());
        self.disk.run(move |Disk { storage, .. }| {
            let results: Vec<_> = blocks
                .iter()
                .map(|(b, data)| {
                    storage
                        .write_block(b.piece, b.begin, data)
                        .map_err(|e| e.to_string())
                })
                .collect();
            hasher.run(move |h| {
                let mut written = Vec::with_capacity(blocks.len());
                for ((b, data), result) in blocks.into_iter().zip(results) {
                    if result.is_ok() {
                        h.pieces.entry(b.piece).or_default().feed(b.begin, &data);
                    }
                    written.push(Written {
                        piece: b.piece,
                        length: b.length,
                        result,
                    });
                }
                let _ = inbox.blocking_send(Input::Written(written));
            });
        });
    }

    fn written(&mut self, piece: PieceIndex, length: u32, result: Result<(), String>) {
        let was_full = self.queued_writes >= MAX_QUEUED_WRITES;
        self.queued_writes -= u64::from(length);
        if was_full && self.queued_writes < MAX_QUEUED_WRITES {
            let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
            for key in keys {
                self.request_more(key);
            }
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
            // All its blocks went through the hash thread (it reports them), so this runs
            // after them and before any block of the next attempt.
            self.hasher.run(move |h| {
                h.pieces.remove(&piece);
            });
            self.refetch(piece);
        } else {
            let inbox = self.inbox.clone();
            self.hasher.run(move |h| {
                let hashed = h.pieces.remove(&piece).unwrap_or_default();
                let result = h
                    .storage
                    .verify_hashed(piece, hashed)
                    .map_err(|e| e.to_string());
                let _ = inbox.blocking_send(Input::Checked { piece, result });
            });
        }
    }

    fn checked(&mut self, piece: PieceIndex, result: Result<bool, String>) {
        match result {
            Ok(true) => {
                self.picker.piece_verified(piece);
                // Data flows to disk during the download, not all at the sync at its end.
                self.disk
                    .run(move |Disk { storage, .. }| storage.start_writeback(piece));
                self.forget_senders(piece);
                if self.suspects.contains_key(&piece) {
                    self.hash_blocks(piece, true);
                }
                self.event(EventKind::PieceVerified(piece.get()));
                for p in self.peers.values() {
                    p.send(Message::Have(piece));
                }
                let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
                for key in keys {
                    self.update_interest(key);
                }
                if self.picker.is_complete() {
                    self.finished();
                }
            }
            Ok(false) => {
                self.event(EventKind::HashFailed(piece.get()));
                let senders = self.picker.piece_failed(piece);
                if senders.len() == 1 {
                    // One sender for the whole piece: no doubt who lied.
                    if let Some(ip) = self.peers.get(&senders[0]).map(|p| p.addr.ip()) {
                        self.ban(ip);
                    }
                    self.forget_senders(piece);
                } else {
                    self.hash_blocks(piece, false);
                }
                let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
                for key in keys {
                    self.request_more(key);
                }
            }
            Err(e) => {
                self.refetch(piece);
                self.storage_failed(e);
            }
        }
        self.publish_status();
    }

    fn forget_senders(&mut self, piece: PieceIndex) {
        let blocks = self.layout.block_count(piece);
        for b in 0..blocks {
            self.senders.remove(&(piece, b * crate::piece::BLOCK_SIZE));
        }
    }

    /// Hashes each block of `piece` as it is on disk, on a blocking thread.
    fn hash_blocks(&self, piece: PieceIndex, passed: bool) {
        let (inbox, layout) = (self.inbox.clone(), self.layout);
        self.disk.run(move |Disk { storage, .. }| {
            use sha1::{Digest, Sha1};
            let hashes = (0..layout.block_count(piece))
                .filter_map(|b| {
                    let begin = b * crate::piece::BLOCK_SIZE;
                    let data = storage
                        .read_block(piece, begin, layout.block_size(piece, b))
                        .ok()?;
                    Some((begin, Sha1::digest(&data).into()))
                })
                .collect();
            let _ = inbox.blocking_send(Input::BlockHashes {
                piece,
                passed,
                hashes,
            });
        });
    }

    fn block_hashes(&mut self, piece: PieceIndex, passed: bool, hashes: Vec<(u32, [u8; 20])>) {
        if !passed {
            let suspects = hashes
                .into_iter()
                .filter_map(|(begin, hash)| {
                    self.senders
                        .remove(&(piece, begin))
                        .map(|ip| (begin, ip, hash))
                })
                .collect();
            self.suspects.insert(piece, suspects);
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
            self.drop_peer(key, "sent data that failed the hash check");
        }
    }

    fn finished(&mut self) {
        let (hash, have) = (self.meta.info_hash(), self.picker.have().clone());
        self.disk.run(move |Disk { storage, .. }| {
            let _ = storage.save_resume(&hash, &have);
        });
        self.event(EventKind::Finished);
        self.announce.send_modify(|a| a.completed = true);
        // Seeds have no use for each other.
        let seeds: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| p.has.is_complete())
            .map(|(k, _)| *k)
            .collect();
        for key in seeds {
            self.drop_peer(key, "both seeding");
        }
    }

    /// Hands the blocks peers asked for since the last call to the disk thread, which reads
    /// them (a run of adjacent blocks at once) and reports them together.
    fn flush_reads(&mut self) {
        if self.reads.is_empty() {
            return;
        }
        let blocks = std::mem::take(&mut self.reads);
        let inbox = self.inbox.clone();
        self.disk.run(move |Disk { storage, buffers }| {
            let mut read = Vec::with_capacity(blocks.len());
            storage.read_blocks(buffers, blocks, |peer, block, result| {
                read.push((peer, block, result.map_err(|e| e.to_string())));
            });
            let _ = inbox.blocking_send(Input::Read(read));
        });
    }

    fn read_done(&mut self, key: PeerKey, block: BlockRef, result: Result<bytes::Bytes, String>) {
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
                peer.send(Message::Piece {
                    piece: block.piece,
                    begin: block.begin,
                    data,
                });
            }
            Err(e) => self.storage_failed(e),
        }
    }

    fn update_interest(&mut self, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let want = !self.seed_only && self.picker.wanted_by_us(&peer.has);
        if want != peer.we_are_interested {
            peer.we_are_interested = want;
            peer.send(if want {
                Message::Interested
            } else {
                Message::NotInterested
            });
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
        let depth = ((peer.download_rate * 2) / u64::from(crate::piece::BLOCK_SIZE)) as usize;
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
            if peer.outstanding.insert(block, Instant::now()).is_none() {
                peer.send(Message::Request(block));
            }
        }
    }

    /// Takes back requests a peer left unanswered too long, so others can serve them.
    fn expire_requests(&mut self) {
        let mut expired = Vec::new();
        for (key, peer) in &mut self.peers {
            peer.outstanding.retain(|block, sent| {
                let old = sent.elapsed() > REQUEST_TIMEOUT;
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
            peer.send(if choke {
                Message::Choke
            } else {
                Message::Unchoke
            });
        }
    }

    fn rechoke(&mut self) {
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
                    && p.last_block.elapsed() > super::choker::SNUB_AFTER,
            })
            .collect();
        let unchoke = self.choker.tick(Instant::now(), seeding, &candidates);
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.set_choke(key, !unchoke.contains(&key));
        }
    }

    fn update_rates(&mut self, elapsed: Duration) {
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
        let left = self.picker.bytes_left();
        let (uploaded, downloaded) = (self.uploaded, self.downloaded);
        self.announce.send_if_modified(|a| {
            let changed = (a.uploaded, a.downloaded, a.left) != (uploaded, downloaded, left);
            (a.uploaded, a.downloaded, a.left) = (uploaded, downloaded, left);
            changed
        });
    }

    fn connect_more(&mut self) {
        if self.paused {
            return;
        }
        let limit = self.shared.config.max_peers_per_torrent;
        while self.peers.len() + self.connecting.len() < limit {
            let Some(addr) = self.candidates.pop_front() else {
                break;
            };
            let connected = self.peers.values().any(|p| p.addr == addr);
            if connected
                || self.connecting.contains(&addr)
                || self.banned.contains(&addr.ip())
                || self.shared.is_own(addr)
            {
                continue;
            }
            self.connecting.insert(addr);
            let (shared, meta, inbox) =
                (self.shared.clone(), self.meta.clone(), self.inbox.clone());
            tokio::spawn(async move {
                if peer::connect(shared, meta, addr, inbox.clone())
                    .await
                    .is_err()
                {
                    let _ = inbox.send(Input::ConnectFailed(addr)).await;
                }
            });
        }
    }

    fn drop_peer(&mut self, key: PeerKey, _reason: &str) {
        if let Some(peer) = self.peers.get(&key) {
            let _ = peer.to_peer.try_send(ToPeer::Close);
        }
        self.forget_peer(key);
    }

    fn forget_peer(&mut self, key: PeerKey) {
        if let Some(peer) = self.peers.remove(&key) {
            self.picker.peer_dropped(key);
            self.picker.peer_gone(&peer.has);
            // Its requests go back to others.
            let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
            for other in keys {
                self.request_more(other);
            }
        }
    }

    fn publish_status(&self) {
        let state = if self.error.is_some() {
            State::Error
        } else if self.paused {
            State::Paused
        } else if self.picker.is_complete() {
            State::Seeding
        } else {
            State::Downloading
        };
        let status = Status {
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
        };
        self.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }

    async fn stop(&mut self) {
        for key in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(key, "stopping");
        }
        let (hash, have) = (self.meta.info_hash(), self.picker.have().clone());
        let (done, saved) = oneshot::channel();
        self.disk.run(move |Disk { storage, .. }| {
            let _ = done.send(storage.save_resume(&hash, &have));
        });
        if let Ok(Err(e)) = saved.await {
            self.event(EventKind::StorageError(e.to_string()));
        }
        self.announce.send_modify(|a| a.stopped = true);
        // Give the announcer a moment to say `stopped`.
        if let Some(announcer) = self.announcer.take() {
            let _ = tokio::time::timeout(Duration::from_secs(3), announcer).await;
        }
    }
}

/// Announces to the torrent's trackers: `started`, then every interval, `completed` once,
/// `stopped` at the end; peers go to the torrent.
async fn announcer(
    meta: Arc<Metainfo>,
    shared: Arc<SessionShared>,
    mut state: watch::Receiver<Announce>,
    inbox: mpsc::Sender<Input>,
) {
    let Ok(mut trackers) = TrackerList::from_metainfo(&meta) else {
        return;
    };
    let Ok(client) = Client::new(shared.config.tracker.clone()) else {
        return;
    };
    let mut event = Some(AnnounceEvent::Started);
    let mut completed_sent = state.borrow().completed;
    let mut backoff = Backoff::default();
    // Whether the trackers were told we are in the swarm (and not told since that we left).
    let mut joined = false;
    loop {
        let now = *state.borrow();
        if now.paused && !now.stopped {
            if joined {
                let mut req =
                    AnnounceRequest::new(meta.info_hash(), shared.peer_id, shared.port, now.left);
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
        let mut req = AnnounceRequest::new(meta.info_hash(), shared.peer_id, shared.port, now.left);
        req.uploaded = now.uploaded;
        req.downloaded = now.downloaded;
        req.event = event;
        req.numwant = Some(if now.stopped { 0 } else { 50 });
        let result = trackers.announce(&client, &req).await;
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
                    info_hash: meta.info_hash(),
                    kind: EventKind::TrackerReply {
                        url,
                        peers: reply.peers.len() as u32,
                    },
                });
                let addrs = reply.peers.iter().map(|p| p.addr).collect();
                let _ = inbox.send(Input::Peers(addrs)).await;
                client.config().clamp_interval(&reply)
            }
            Err(e) => {
                let _ = shared.events.send(Event {
                    info_hash: meta.info_hash(),
                    kind: EventKind::TrackerError(e.to_string()),
                });
                backoff.next_delay()
            }
        };
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
