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
use super::channel::{SharedError, Speaks};
use super::choker::{Candidate, Choker, SNUB_AFTER};
use super::contacts::Contacts;
use super::{DisconnectReason, EventKind, State, Status};
use crate::extension::ut_metadata::{self, MetadataMessage};
use crate::extension::ut_pex::{PexFlags, PexMessage, PexState};
use crate::extension::{ExtendedHandshake, Extension, HANDSHAKE_ID};
use crate::metainfo::{InfoHash, Metainfo};
use crate::peer::fast::{allowed_fast_set, ALLOWED_FAST_COUNT};
use crate::peer::Message;
use crate::piece::picker::{PeerKey, Picker};
use crate::piece::{Bitfield, BlockRef, Layout, PieceIndex, BLOCK_SIZE};
use crate::tracker::PeerId;
use bytes::Bytes;
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
/// Pieces a peer may let us ask for while it chokes us (BEP 6's allowed fast), at most; BEP 6
/// suggests 10.
const MAX_ALLOWED_FAST: usize = 32;
/// Time between two PEX messages to one peer, at least (BEP 11: once a minute).
pub(super) const PEX_INTERVAL: Duration = Duration::from_secs(60);
/// A PEX message that comes sooner than this after the last one taken from that peer is
/// ignored: an honest peer sends one a minute.
const PEX_HEARD_INTERVAL: Duration = Duration::from_secs(30);
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

/// What the machine knows of its torrent besides the layout.
#[derive(Debug, Clone)]
pub(super) struct TorrentFacts {
    pub layout: Layout,
    pub info_hash: InfoHash,
    /// The `info` dictionary's bytes, served to peers that fetch the metadata (BEP 9).
    pub metadata: Bytes,
    /// BEP 27: no peer exchange.
    pub private: bool,
}

impl TorrentFacts {
    pub fn of(meta: &Metainfo) -> TorrentFacts {
        TorrentFacts {
            layout: Layout::of(meta.info()),
            info_hash: meta.info_hash(),
            metadata: Bytes::copy_from_slice(meta.info_bytes()),
            private: meta.info().is_private(),
        }
    }
}

/// A peer connected while a magnet link's metadata was fetched, handed to the torrent's
/// machine once it runs.
pub(super) struct Adopted {
    pub key: PeerKey,
    pub addr: SocketAddr,
    pub peer_id: PeerId,
    pub outgoing: bool,
    pub speaks: Speaks,
    pub extended: Option<ExtendedHandshake>,
    /// What it said of its pieces and its choking, to be taken as if it came now.
    pub said: Vec<Message>,
}

struct PeerState {
    addr: SocketAddr,
    /// The id from its handshake (a second connection with it is a duplicate).
    peer_id: PeerId,
    /// We dialled it.
    outgoing: bool,
    speaks: Speaks,
    /// Its extended handshake (BEP 10), once received.
    extended: Option<ExtendedHandshake>,
    /// Pieces it lets us ask for while it chokes us (BEP 6).
    allowed_fast: Vec<PieceIndex>,
    /// Pieces we let it ask for while we choke it (BEP 6).
    granted_fast: Vec<PieceIndex>,
    /// What it was told of our other peers (BEP 11), and when.
    pex: PexState,
    pex_sent: Option<Instant>,
    /// When we last took a PEX message from it.
    pex_heard: Option<Instant>,
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
    facts: TorrentFacts,
    contacts: Contacts,
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
    paused: bool,
    /// A storage error stopped the torrent (until it is resumed).
    failed: bool,
    /// Bytes handed to the disk thread and not yet reported written.
    queued_writes: u64,
    uploaded: u64,
    downloaded: u64,
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
    /// A torrent whose data was checked: `have` is what is on disk already. `contacts` are
    /// whom it knows (those of the machine that fetched its metadata, else new ones).
    pub fn new(
        facts: TorrentFacts,
        have: &Bitfield,
        contacts: Contacts,
        seed_only: bool,
        now: Instant,
    ) -> Self {
        let layout = facts.layout;
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
            facts,
            choker: Choker::new(contacts.limits().unchoke_slots),
            contacts,
            seed_only,
            saved: picker.pieces_done(),
            found: picker.pieces_done(),
            picker,
            peers: FxHashMap::default(),
            pending: FxHashMap::default(),
            senders: FxHashMap::default(),
            suspects: FxHashMap::default(),
            failed_copies: FxHashMap::default(),
            paused: false,
            failed: false,
            queued_writes: 0,
            uploaded: 0,
            downloaded: 0,
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
            disconnects: self.contacts.disconnects(),
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

    /// Addresses to try (from a tracker, a peer or the user).
    pub fn on_peers(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        self.contacts.add(addrs);
        self.connect_more();
    }

    pub fn on_connect_failed(&mut self, addr: SocketAddr) {
        self.contacts.connect_failed(addr, self.now);
    }

    /// A peer finished its handshake; it is taken or closed at once. `outgoing`: we dialled
    /// it; `speaks`: what its handshake's reserved bits offer.
    pub fn on_connected(
        &mut self,
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        outgoing: bool,
        speaks: Speaks,
        now: Instant,
    ) {
        self.now = now;
        if self.admit(key, addr, peer_id, outgoing, speaks) {
            self.greet(key, true);
        }
    }

    /// A peer connected while the metadata was fetched: it has heard our extended handshake
    /// (and `have none`, with the fast extension) already; now it hears what we have, and
    /// what it said meanwhile is taken as if it came now.
    pub fn adopt(&mut self, peer: Adopted, now: Instant) {
        self.now = now;
        let key = peer.key;
        if !self.admit(key, peer.addr, peer.peer_id, peer.outgoing, peer.speaks) {
            return;
        }
        if let Some(state) = self.peers.get_mut(&key) {
            state.extended = peer.extended;
        }
        self.greet(key, false);
        self.on_messages(key, peer.said, now);
    }

    /// Lets a new connection in (`true`) or closes it, by the rules of [`Contacts`].
    fn admit(
        &mut self,
        key: PeerKey,
        addr: SocketAddr,
        peer_id: PeerId,
        outgoing: bool,
        speaks: Speaks,
    ) -> bool {
        let peers = self.peers.iter().map(|(k, p)| (*k, p.addr, p.peer_id));
        match self
            .contacts
            .admit(addr, peer_id, outgoing, self.paused, peers)
        {
            Ok(twin) => {
                if let Some(twin) = twin {
                    self.drop_peer(twin, DisconnectReason::Duplicate);
                }
            }
            Err(reason) => {
                self.contacts.count(addr, reason);
                self.actions.push(Action::Close(key));
                return false;
            }
        }
        self.peers.insert(
            key,
            PeerState {
                addr,
                peer_id,
                outgoing,
                speaks,
                extended: None,
                allowed_fast: Vec::new(),
                granted_fast: Vec::new(),
                pex: PexState::default(),
                pex_sent: None,
                pex_heard: None,
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
                last_block: self.now,
                got_first_message: false,
            },
        );
        true
    }

    /// What a peer hears first: our pieces (a bitfield, or BEP 6's `have all` / `have none`
    /// when `fresh`; as `have`s after the metadata phase, where it heard `have none` or
    /// nothing), our extended handshake, and the pieces it may ask for while choked.
    fn greet(&mut self, key: PeerKey, fresh: bool) {
        let Some(peer) = self.peers.get(&key) else {
            return;
        };
        let (speaks, ip) = (peer.speaks, peer.addr.ip());
        let have = self.picker.have();
        let mut out = Vec::new();
        if !fresh {
            out.extend(
                self.layout
                    .pieces()
                    .filter(|p| have.has(*p))
                    .map(Message::Have),
            );
        } else if speaks.fast && have.count() == 0 {
            out.push(Message::HaveNone);
        } else if speaks.fast && have.is_complete() {
            out.push(Message::HaveAll);
        } else if have.count() > 0 {
            out.push(Message::Bitfield(have.clone()));
        }
        if speaks.extensions {
            out.push(Message::Extended {
                id: HANDSHAKE_ID,
                payload: self.extended_handshake(ip).into(),
            });
        }
        let mut granted = Vec::new();
        if speaks.fast {
            let count = self.layout.piece_count();
            let set = allowed_fast_set(ip, &self.facts.info_hash, count, ALLOWED_FAST_COUNT);
            granted = set
                .into_iter()
                .filter_map(|i| self.layout.piece(i))
                .filter(|p| have.has(*p))
                .collect();
            out.extend(granted.iter().map(|p| Message::AllowedFast(*p)));
        }
        if let Some(peer) = self.peers.get_mut(&key) {
            peer.granted_fast = granted;
        }
        for message in out {
            self.send(key, message);
        }
    }

    /// Our extended handshake for a peer at `ip`.
    fn extended_handshake(&self, ip: IpAddr) -> Vec<u8> {
        ExtendedHandshake {
            metadata_id: Some(Extension::Metadata.local_id()),
            pex_id: (!self.facts.private).then(|| Extension::Pex.local_id()),
            port: Some(self.contacts.limits().listen_port),
            client: Some(format!("bittern {}", crate::VERSION)),
            your_ip: Some(ip),
            reqq: Some(MAX_QUEUED_REQUESTS as u32),
            metadata_size: Some(self.facts.metadata.len() as u64),
        }
        .encode()
    }

    /// A peer's connection ended on its side (`reason`), or after we closed it (`None`).
    pub fn on_closed(&mut self, key: PeerKey, reason: Option<DisconnectReason>) {
        if let Some(peer) = self.peers.get(&key) {
            let addr = peer.addr;
            self.forget_peer(key);
            self.contacts
                .count(addr, reason.unwrap_or(DisconnectReason::Stopped));
        }
    }

    /// Closes a peer's connection, for `reason`.
    pub fn drop_peer(&mut self, key: PeerKey, reason: DisconnectReason) {
        if let Some(peer) = self.peers.get(&key) {
            let addr = peer.addr;
            self.actions.push(Action::Close(key));
            self.forget_peer(key);
            self.contacts.count(addr, reason);
        }
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
        let connected = self.peers.values().map(|p| p.addr);
        let dial = self.contacts.dial(connected, self.now);
        self.actions.extend(dial.into_iter().map(Action::Connect));
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
        let fast = peer.speaks.fast;
        // BEP 6's messages from a peer that did not offer it are a rule broken.
        let fast_only = matches!(
            message,
            Message::HaveAll
                | Message::HaveNone
                | Message::Reject(_)
                | Message::AllowedFast(_)
                | Message::Suggest(_)
        );
        if fast_only && !fast {
            tracing::debug!(peer = %peer.addr, ?message, "fast extension message without the fast extension");
            return Err(DisconnectReason::RuleBroken);
        }
        match message {
            Message::KeepAlive | Message::Suggest(_) => {}
            Message::UncheckedBitfield(bytes) => {
                let bits = Bitfield::from_bytes(&self.layout, &bytes).ok_or_else(|| {
                    tracing::debug!(peer = %peer.addr, len = bytes.len(), "bitfield does not fit the metadata");
                    DisconnectReason::Malformed
                })?;
                peer.got_first_message = !first;
                return self.on_message(key, Message::Bitfield(bits), now);
            }
            Message::UncheckedHave(index) => {
                let piece = self.layout.piece(index).ok_or_else(|| {
                    tracing::debug!(peer = %peer.addr, index, "have does not fit the metadata");
                    DisconnectReason::Malformed
                })?;
                return self.on_message(key, Message::Have(piece), now);
            }
            Message::Bitfield(_) | Message::HaveAll | Message::HaveNone => {
                let bits = match message {
                    Message::Bitfield(bits) => bits,
                    Message::HaveAll => Bitfield::full(&self.layout),
                    _ => Bitfield::empty(&self.layout),
                };
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
                // With the fast extension a choke no longer drops our requests: the peer
                // rejects each one it will not serve (those of allowed fast pieces it may
                // still serve), and the request timeout takes back the rest.
                if !fast {
                    peer.outstanding.clear();
                    self.picker.peer_dropped(key);
                }
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
                if unchoked < self.contacts.limits().unchoke_slots + 1 {
                    self.set_choke(key, false);
                }
            }
            Message::NotInterested => {
                peer.interested_in_us = false;
                self.set_choke(key, true);
            }
            Message::Request(block) => {
                let granted = peer.granted_fast.contains(&block.piece);
                if peer.choking_them && !granted {
                    // BEP 3: requests while choked are dropped, not an offence (they may
                    // cross); BEP 6 says so with a reject.
                    if fast {
                        self.send(key, Message::Reject(block));
                    }
                    return Ok(());
                }
                if !self.picker.have().has(block.piece) {
                    tracing::debug!(peer = %peer.addr, piece = block.piece.get(), "asked for a piece we do not have");
                    if fast {
                        self.send(key, Message::Reject(block));
                        return Ok(());
                    }
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
                // BEP 6: a cancelled request is answered, with a reject.
                if peer.serving.remove(&block) && fast {
                    self.send(key, Message::Reject(block));
                }
            }
            Message::Reject(block) => {
                // A reject of a request we no longer have crossed our cancel: not an offence.
                if peer.outstanding.remove(&block).is_some() {
                    self.picker.request_timed_out(key, block.piece, block.begin);
                    self.request_from_all();
                }
            }
            Message::AllowedFast(piece) => {
                if peer.allowed_fast.len() < MAX_ALLOWED_FAST && !peer.allowed_fast.contains(&piece)
                {
                    peer.allowed_fast.push(piece);
                    self.request_more(key);
                }
            }
            Message::Piece { piece, begin, data } => self.on_block(key, piece, begin, data, now),
            Message::Extended { id, payload } => self.on_extended(key, id, payload, now)?,
        }
        Ok(())
    }

    /// An extended message (BEP 10): the handshake, or one of an extension we advertised.
    /// Ids we never advertised are ignored.
    fn on_extended(
        &mut self,
        key: PeerKey,
        id: u8,
        payload: Bytes,
        now: Instant,
    ) -> Result<(), DisconnectReason> {
        let Some(peer) = self.peers.get_mut(&key) else {
            return Ok(());
        };
        let addr = peer.addr;
        let malformed = |error: crate::extension::ExtensionError| {
            tracing::debug!(peer = %addr, %error, "malformed extended message");
            DisconnectReason::Malformed
        };
        if !peer.speaks.extensions {
            tracing::debug!(peer = %addr, "extended message without the extension protocol");
            return Err(DisconnectReason::RuleBroken);
        }
        if id == HANDSHAKE_ID {
            peer.extended = Some(ExtendedHandshake::decode(&payload).map_err(malformed)?);
            return Ok(());
        }
        match Extension::from_local_id(id) {
            Some(Extension::Metadata) => {
                let their_id = peer.extended.as_ref().and_then(|h| h.metadata_id);
                let message = MetadataMessage::decode(payload).map_err(malformed)?;
                // Only requests mean anything to a torrent that has its metadata.
                if let (Some(MetadataMessage::Request { piece }), Some(their_id)) =
                    (message, their_id)
                {
                    let answer = self.metadata_piece(piece);
                    self.send(
                        key,
                        Message::Extended {
                            id: their_id,
                            payload: answer.encode().into(),
                        },
                    );
                }
            }
            Some(Extension::Pex) => {
                let recent = peer
                    .pex_heard
                    .is_some_and(|at| now.saturating_duration_since(at) < PEX_HEARD_INTERVAL);
                if self.facts.private || recent {
                    return Ok(());
                }
                peer.pex_heard = Some(now);
                let message = PexMessage::decode(&payload).map_err(malformed)?;
                tracing::debug!(peer = %addr, added = message.added.len(), dropped = message.dropped.len(), "peer exchange");
                self.on_peers(message.added.into_iter().map(|(addr, _)| addr));
            }
            None => {}
        }
        Ok(())
    }

    /// A piece of our metadata, or a reject for one that does not exist.
    fn metadata_piece(&self, piece: u32) -> MetadataMessage {
        let metadata = &self.facts.metadata;
        let size = metadata.len() as u64;
        if piece >= ut_metadata::piece_count(size) {
            return MetadataMessage::Reject { piece };
        }
        let start = piece as usize * ut_metadata::PIECE_SIZE as usize;
        let end = start + ut_metadata::piece_len(size, piece) as usize;
        MetadataMessage::Data {
            piece,
            total_size: size,
            data: metadata.slice(start..end),
        }
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
        if !peer.we_are_interested || self.paused || self.queued_writes >= MAX_QUEUED_WRITES {
            return;
        }
        // Choked, only the pieces it allows us fast (BEP 6) may be asked for.
        let allowed;
        let asked_of = if !peer.choking_us {
            &peer.has
        } else if peer.allowed_fast.iter().any(|p| peer.has.has(*p)) {
            let mut bits = Bitfield::empty(&self.layout);
            for piece in peer.allowed_fast.iter().filter(|p| peer.has.has(**p)) {
                bits.set(*piece);
            }
            allowed = bits;
            &allowed
        } else {
            return;
        };
        let depth = ((peer.download_rate * 2) / u64::from(BLOCK_SIZE)) as usize;
        let depth = depth.clamp(MIN_PIPELINE, MAX_PIPELINE);
        // Topped up a quarter of the pipeline at a time, so requests leave in batches that
        // share a write (a request per block would mean a system call per block both ways).
        if peer.outstanding.len() + depth / 4 > depth {
            return;
        }
        let blocks = self
            .picker
            .pick(key, asked_of, depth - peer.outstanding.len());
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
        if peer.choking_them == choke {
            return;
        }
        peer.choking_them = choke;
        let mut rejected = Vec::new();
        if choke {
            // BEP 6: what we will not serve is rejected, after the choke; requests of pieces
            // it may ask for fast are still served.
            let granted = &peer.granted_fast;
            peer.serving.retain(|block| {
                let keep = granted.contains(&block.piece);
                if !keep {
                    rejected.push(*block);
                }
                keep
            });
            if !peer.speaks.fast {
                rejected.clear();
            }
        }
        let message = if choke {
            Message::Choke
        } else {
            Message::Unchoke
        };
        self.send(key, message);
        for block in rejected {
            self.send(key, Message::Reject(block));
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
        let granted = peer.granted_fast.contains(&block.piece);
        if !peer.serving.remove(&block) || (peer.choking_them && !granted) {
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
        if !self.contacts.ban(ip) {
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
        self.contacts.add_first(self.peers.values().map(|p| p.addr));
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
        self.contacts.candidates()
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
        self.exchange_peers(now);
    }

    /// BEP 11: each peer that speaks PEX hears, at most once a minute (the first time as
    /// soon as its handshake is in), which peers we connected to or lost since it last heard.
    /// Never for a private torrent.
    fn exchange_peers(&mut self, now: Instant) {
        if self.facts.private {
            return;
        }
        let due = |p: &PeerState| {
            p.extended.as_ref().and_then(|h| h.pex_id).is_some()
                && p.pex_sent
                    .is_none_or(|at| now.saturating_duration_since(at) >= PEX_INTERVAL)
        };
        if !self.peers.values().any(due) {
            return;
        }
        // Where each peer listens: the address we dialled, or its handshake's port.
        let listening: Vec<(PeerKey, SocketAddr, PexFlags)> = self
            .peers
            .iter()
            .filter_map(|(key, p)| {
                let port = p.extended.as_ref().and_then(|h| h.port);
                let addr = if p.outgoing {
                    p.addr
                } else {
                    SocketAddr::new(p.addr.ip(), port?)
                };
                let mut flags = 0;
                if p.has.is_complete() {
                    flags |= PexFlags::SEED;
                }
                if p.outgoing {
                    flags |= PexFlags::REACHABLE;
                }
                Some((*key, addr, PexFlags(flags)))
            })
            .collect();
        let mut out = Vec::new();
        for (key, peer) in self.peers.iter_mut().filter(|(_, p)| due(p)) {
            let Some(id) = peer.extended.as_ref().and_then(|h| h.pex_id) else {
                continue;
            };
            peer.pex_sent = Some(now);
            let others: Vec<(SocketAddr, PexFlags)> = listening
                .iter()
                .filter(|(k, ..)| k != key)
                .map(|(_, addr, flags)| (*addr, *flags))
                .collect();
            if let Some(message) = peer.pex.next_message(&others) {
                out.push((*key, id, message.encode()));
            }
        }
        for (key, id, payload) in out {
            self.send(
                key,
                Message::Extended {
                    id,
                    payload: payload.into(),
                },
            );
        }
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
