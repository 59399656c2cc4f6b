//! A magnet link's first phase, as a state machine with no I/O like
//! [`TorrentMachine`](super::machine::TorrentMachine): the torrent's metadata (its `info`
//! dictionary) is fetched from peers in 16 KiB pieces (BEP 9), from several at once, and
//! believed only once its SHA-1 is the link's info-hash ([`MetadataFetch`]).
//!
//! Peers hear our extended handshake (advertising `ut_metadata` only: whether the torrent is
//! private, which rules out PEX, is in the metadata) and, with the fast extension, `have none`.
//! What they say of their pieces and their choking is kept (bounded), and once the metadata is
//! in, the torrent's machine adopts them with it ([`Adopted`]): no connection is lost.

use super::channel::Speaks;
use super::contacts::{Contacts, Twin};
use super::machine::{Action, Adopted};
use super::{DisconnectReason, EventKind, State, Status};
use crate::extension::ut_metadata::{FetchVerdict, MetadataFetch, MetadataMessage};
use crate::extension::{ExtendedHandshake, Extension, HANDSHAKE_ID};
use crate::metainfo::InfoHash;
use crate::peer::Message;
use crate::piece::picker::PeerKey;
use crate::tracker::PeerId;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// `have`s kept per peer before the layout is known, at most; past it, the oldest go (the
/// peer's pieces are then known from its next messages).
const MAX_EARLY_HAVES: usize = 4096;

/// A peer while the metadata is fetched.
struct FetchPeer {
    addr: SocketAddr,
    peer_id: PeerId,
    outgoing: bool,
    speaks: Speaks,
    extended: Option<ExtendedHandshake>,
    /// Its last bitfield, `have all` or `have none`, then the `have`s that followed it.
    pieces: Option<Message>,
    haves: Vec<Message>,
    choking_us: bool,
    interested_in_us: bool,
}

impl FetchPeer {
    /// What it said, to be taken by the torrent's machine as if it came now.
    fn said(self) -> Vec<Message> {
        let mut said: Vec<Message> = self.pieces.into_iter().chain(self.haves).collect();
        if !self.choking_us {
            said.push(Message::Unchoke);
        }
        if self.interested_in_us {
            said.push(Message::Interested);
        }
        said
    }
}

pub(super) struct FetchMachine {
    info_hash: InfoHash,
    contacts: Contacts,
    fetch: MetadataFetch<PeerKey>,
    peers: FxHashMap<PeerKey, FetchPeer>,
    paused: bool,
    /// The metadata, once its hash matched.
    metadata: Option<Vec<u8>>,
    now: Instant,
    actions: Vec<Action>,
}

impl FetchMachine {
    pub fn new(info_hash: InfoHash, contacts: Contacts, now: Instant) -> FetchMachine {
        FetchMachine {
            info_hash,
            contacts,
            fetch: MetadataFetch::new(info_hash),
            peers: FxHashMap::default(),
            paused: false,
            metadata: None,
            now,
            actions: Vec::new(),
        }
    }

    /// [`TorrentMachine::swap_actions`](super::machine::TorrentMachine::swap_actions)'s twin.
    pub fn swap_actions(&mut self, into: &mut Vec<Action>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut self.actions, into);
    }

    /// The metadata, once fetched and checked.
    pub fn metadata(&self) -> Option<&[u8]> {
        self.metadata.as_deref()
    }

    /// Whom it knows, and the peers connected, for the torrent's machine.
    pub fn hand_over(self) -> (Contacts, Vec<Adopted>) {
        let adopted = self
            .peers
            .into_iter()
            .map(|(key, p)| Adopted {
                key,
                addr: p.addr,
                peer_id: p.peer_id,
                outgoing: p.outgoing,
                speaks: p.speaks,
                extended: p.extended.clone(),
                said: p.said(),
            })
            .collect();
        (self.contacts, adopted)
    }

    pub fn status(&self) -> Status {
        Status {
            state: if self.paused {
                State::Paused
            } else {
                State::FetchingMetadata
            },
            peers: self.peers.len() as u32,
            disconnects: self.contacts.disconnects(),
            ..Status::default()
        }
    }

    fn send(&mut self, key: PeerKey, message: Message) {
        self.actions.push(Action::Send(key, message));
    }

    fn send_metadata(&mut self, key: PeerKey, message: MetadataMessage) {
        let id = self
            .peers
            .get(&key)
            .and_then(|p| p.extended.as_ref()?.metadata_id);
        if let Some(id) = id {
            let payload = message.encode().into();
            self.send(key, Message::Extended { id, payload });
        }
    }

    // Peers coming and going, as for a running torrent.

    pub fn on_peers(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        self.contacts.add(addrs);
        self.connect_more();
    }

    pub fn on_connect_failed(&mut self, addr: SocketAddr) {
        self.contacts.connect_failed(addr);
    }

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
        let ids = self.peers.iter().map(|(k, p)| (*k, p.peer_id));
        match self.contacts.twin(addr, peer_id, outgoing, ids) {
            Twin::None => {}
            Twin::KeepNew(twin) => self.drop_peer(twin, DisconnectReason::Duplicate),
            Twin::KeepOld => {
                self.contacts.count(addr, DisconnectReason::Duplicate);
                self.actions.push(Action::Close(key));
                return;
            }
        }
        let connected = self.peers.values().map(|p| p.addr);
        if let Some(reason) = self.contacts.refusal(addr, self.paused, connected) {
            self.contacts.count(addr, reason);
            self.actions.push(Action::Close(key));
            return;
        }
        self.peers.insert(
            key,
            FetchPeer {
                addr,
                peer_id,
                outgoing,
                speaks,
                extended: None,
                pieces: None,
                haves: Vec::new(),
                choking_us: true,
                interested_in_us: false,
            },
        );
        if speaks.fast {
            self.send(key, Message::HaveNone);
        }
        if speaks.extensions {
            let ours = ExtendedHandshake {
                metadata_id: Some(Extension::Metadata.local_id()),
                port: Some(self.contacts.limits().listen_port),
                client: Some(format!("bittern {}", crate::VERSION)),
                your_ip: Some(addr.ip()),
                ..ExtendedHandshake::default()
            };
            let payload = ours.encode().into();
            self.send(
                key,
                Message::Extended {
                    id: HANDSHAKE_ID,
                    payload,
                },
            );
        }
    }

    pub fn on_closed(&mut self, key: PeerKey, reason: Option<DisconnectReason>) {
        if let Some(peer) = self.peers.remove(&key) {
            self.fetch.remove_peer(key);
            self.contacts
                .count(peer.addr, reason.unwrap_or(DisconnectReason::Stopped));
            self.request_metadata();
        }
    }

    pub fn drop_peer(&mut self, key: PeerKey, reason: DisconnectReason) {
        if let Some(peer) = self.peers.remove(&key) {
            self.actions.push(Action::Close(key));
            self.fetch.remove_peer(key);
            self.contacts.count(peer.addr, reason);
            self.request_metadata();
        }
    }

    fn connect_more(&mut self) {
        if self.paused {
            return;
        }
        let peers = &self.peers;
        let dial = self
            .contacts
            .dial(peers.len(), |addr| peers.values().any(|p| p.addr == addr));
        self.actions.extend(dial.into_iter().map(Action::Connect));
    }

    // A peer's messages.

    pub fn on_messages(&mut self, key: PeerKey, messages: Vec<Message>, now: Instant) {
        self.now = now;
        for message in messages {
            if let Err(reason) = self.on_message(key, message) {
                self.drop_peer(key, reason);
                break;
            }
        }
    }

    fn on_message(&mut self, key: PeerKey, message: Message) -> Result<(), DisconnectReason> {
        let Some(peer) = self.peers.get_mut(&key) else {
            return Ok(());
        };
        match message {
            Message::HaveAll | Message::HaveNone if !peer.speaks.fast => {
                return Err(DisconnectReason::RuleBroken);
            }
            Message::Bitfield(_)
            | Message::UncheckedBitfield(_)
            | Message::HaveAll
            | Message::HaveNone => {
                peer.pieces = Some(message);
                peer.haves.clear();
            }
            Message::Have(_) | Message::UncheckedHave(_) => {
                if peer.haves.len() >= MAX_EARLY_HAVES {
                    peer.haves.remove(0);
                }
                peer.haves.push(message);
            }
            Message::Choke => peer.choking_us = true,
            Message::Unchoke => peer.choking_us = false,
            Message::Interested => peer.interested_in_us = true,
            Message::NotInterested => peer.interested_in_us = false,
            Message::Extended { .. } if !peer.speaks.extensions => {
                return Err(DisconnectReason::RuleBroken);
            }
            Message::Extended { id, payload } => {
                let addr = peer.addr;
                let malformed = |error: crate::extension::ExtensionError| {
                    tracing::debug!(peer = %addr, %error, "malformed extended message");
                    DisconnectReason::Malformed
                };
                if id == HANDSHAKE_ID {
                    let theirs = ExtendedHandshake::decode(&payload).map_err(malformed)?;
                    let offer = theirs.metadata_id.and(theirs.metadata_size);
                    peer.extended = Some(theirs);
                    if let Some(size) = offer {
                        if let Err(error) = self.fetch.add_peer(key, size) {
                            tracing::debug!(peer = %addr, %error, "metadata not asked of this peer");
                        }
                        self.request_metadata();
                    }
                } else if Extension::from_local_id(id) == Some(Extension::Metadata) {
                    match MetadataMessage::decode(payload).map_err(malformed)? {
                        Some(MetadataMessage::Request { piece }) => {
                            self.send_metadata(key, MetadataMessage::Reject { piece });
                        }
                        Some(MetadataMessage::Reject { piece }) => {
                            self.fetch.on_reject(key, piece);
                            self.request_metadata();
                        }
                        Some(MetadataMessage::Data {
                            piece,
                            total_size,
                            data,
                        }) => {
                            let verdict =
                                self.fetch.on_data(key, piece, total_size, &data, self.now);
                            self.on_verdict(verdict);
                        }
                        None => {}
                    }
                }
                // PEX waits for the metadata, which says whether the torrent is private.
            }
            // Nothing else means anything before the metadata (the codec skips what needs the
            // layout until it is known).
            _ => {}
        }
        Ok(())
    }

    fn on_verdict(&mut self, verdict: Option<FetchVerdict<PeerKey>>) {
        match verdict {
            None => self.request_metadata(),
            Some(FetchVerdict::Complete(metadata)) => {
                tracing::debug!(info_hash = %self.info_hash, bytes = metadata.len(), "metadata received");
                self.metadata = Some(metadata);
            }
            Some(FetchVerdict::Failed { ban }) => {
                tracing::debug!(info_hash = %self.info_hash, liars = ban.len(), "metadata failed its hash");
                for key in ban {
                    if let Some(ip) = self.peers.get(&key).map(|p| p.addr.ip()) {
                        self.ban(ip);
                    }
                }
                self.request_metadata();
            }
        }
    }

    fn ban(&mut self, ip: IpAddr) {
        if !self.contacts.ban(ip) {
            return;
        }
        self.actions.push(Action::Event(EventKind::PeerBanned(ip)));
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

    /// Asks for the pieces of metadata missing (and those whose requests timed out).
    fn request_metadata(&mut self) {
        if self.paused || self.metadata.is_some() {
            return;
        }
        for (key, piece) in self.fetch.requests(self.now) {
            self.send_metadata(key, MetadataMessage::Request { piece });
        }
    }

    // Commands and timers.

    pub fn on_tick(&mut self, now: Instant) {
        self.now = now;
        self.request_metadata();
        self.connect_more();
    }

    pub fn pause(&mut self) {
        self.paused = true;
        self.contacts.add_first(self.peers.values().map(|p| p.addr));
        for key in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(key, DisconnectReason::Paused);
        }
    }

    pub fn resume(&mut self) {
        self.paused = false;
        self.connect_more();
    }

    pub fn stop(&mut self) {
        for key in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(key, DisconnectReason::Stopped);
        }
    }
}
