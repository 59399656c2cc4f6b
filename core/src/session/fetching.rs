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
use super::contacts::Contacts;
use super::machine::{Action, Adopted};
use super::{DisconnectReason, EventKind, State, Status};
use crate::extension::ut_metadata::{FetchVerdict, MetadataFetch, MetadataMessage};
use crate::extension::{ExtendedHandshake, Extension, HANDSHAKE_ID};
use crate::metainfo::InfoHash;
use crate::peer::Message;
use crate::piece::picker::PeerKey;
use crate::tracker::PeerId;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
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
    haves: VecDeque<Message>,
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
        self.contacts.connect_failed(addr, self.now);
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
                return;
            }
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
                haves: VecDeque::new(),
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
        let connected = self.peers.values().map(|p| p.addr);
        let dial = self.contacts.dial(connected, self.now);
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
                    peer.haves.pop_front();
                }
                peer.haves.push_back(message);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::contacts::Limits;

    const LIMITS: Limits = Limits {
        max_peers: 4,
        max_peers_per_ip: 2,
        unchoke_slots: 2,
        our_id: PeerId([b'.'; 20]),
        listen_port: 6881,
    };
    const SPEAKS: Speaks = Speaks {
        extensions: true,
        fast: true,
    };

    /// 20 000 bytes of metadata: two pieces.
    fn metadata() -> Vec<u8> {
        (0..20_000u32).map(|i| (i % 251) as u8).collect()
    }

    fn machine() -> FetchMachine {
        let info_hash = InfoHash::of_info_bytes(&metadata());
        FetchMachine::new(info_hash, Contacts::new(LIMITS), Instant::now())
    }

    fn take(m: &mut FetchMachine) -> Vec<Action> {
        let mut out = Vec::new();
        m.swap_actions(&mut out);
        out
    }

    fn sent(actions: &[Action], key: PeerKey) -> Vec<Message> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(k, m) if *k == key => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// The metadata pieces asked of `key` (whose ut_metadata id is 3).
    fn asked(actions: &[Action], key: PeerKey) -> Vec<u32> {
        sent(actions, key)
            .into_iter()
            .filter_map(|m| match m {
                Message::Extended { id: 3, payload } => match MetadataMessage::decode(payload) {
                    Ok(Some(MetadataMessage::Request { piece })) => Some(piece),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    fn offer(size: usize) -> Message {
        let theirs = ExtendedHandshake {
            metadata_id: Some(3),
            metadata_size: Some(size as u64),
            ..ExtendedHandshake::default()
        };
        Message::Extended {
            id: HANDSHAKE_ID,
            payload: theirs.encode().into(),
        }
    }

    fn piece(piece: u32, bytes: &[u8]) -> Message {
        let start = piece as usize * 16384;
        let end = (start + 16384).min(bytes.len());
        let data = MetadataMessage::Data {
            piece,
            total_size: bytes.len() as u64,
            data: bytes[start..end].to_vec().into(),
        };
        Message::Extended {
            id: Extension::Metadata.local_id(),
            payload: data.encode().into(),
        }
    }

    fn connect(m: &mut FetchMachine, key: u32) -> PeerKey {
        let key = PeerKey(key);
        let addr = SocketAddr::from(([10, 0, 0, key.0 as u8], 6881));
        m.on_connected(
            key,
            addr,
            PeerId([key.0 as u8; 20]),
            true,
            SPEAKS,
            Instant::now(),
        );
        key
    }

    #[test]
    fn a_peer_hears_have_none_and_a_handshake_offering_metadata_but_not_pex() {
        let mut m = machine();
        let key = connect(&mut m, 1);
        let got = sent(&take(&mut m), key);
        assert_eq!(got[0], Message::HaveNone);
        let Message::Extended { id: 0, payload } = &got[1] else {
            panic!("{got:?}");
        };
        let ours = ExtendedHandshake::decode(payload).unwrap();
        assert_eq!(ours.metadata_id, Some(Extension::Metadata.local_id()));
        assert_eq!((ours.pex_id, ours.metadata_size), (None, None));
        assert_eq!(m.status().state, State::FetchingMetadata);
    }

    #[test]
    fn the_metadata_is_fetched_checked_and_the_peer_handed_over_with_what_it_said() {
        let mut m = machine();
        let key = connect(&mut m, 1);
        take(&mut m);
        let bits = bytes::Bytes::from_static(&[0xff]);
        m.on_messages(
            key,
            vec![
                Message::UncheckedBitfield(bits.clone()),
                Message::UncheckedHave(3),
                Message::Unchoke,
                offer(20_000),
            ],
            Instant::now(),
        );
        assert_eq!(asked(&take(&mut m), key), [0, 1]);
        // A request for our metadata is refused: we have none yet.
        let ask = MetadataMessage::Request { piece: 0 };
        let ask = Message::Extended {
            id: Extension::Metadata.local_id(),
            payload: ask.encode().into(),
        };
        m.on_messages(key, vec![ask], Instant::now());
        let refused = sent(&take(&mut m), key);
        assert!(matches!(&refused[..], [Message::Extended { id: 3, .. }]));
        m.on_messages(
            key,
            vec![piece(0, &metadata()), piece(1, &metadata())],
            Instant::now(),
        );
        assert_eq!(m.metadata(), Some(&metadata()[..]));
        let (_, adopted) = m.hand_over();
        assert_eq!(adopted.len(), 1);
        assert_eq!(
            adopted[0].said,
            [
                Message::UncheckedBitfield(bits),
                Message::UncheckedHave(3),
                Message::Unchoke
            ]
        );
        assert_eq!(adopted[0].extended.as_ref().unwrap().metadata_id, Some(3));
    }

    #[test]
    fn a_peer_whose_metadata_fails_the_hash_is_banned() {
        let mut m = machine();
        let key = connect(&mut m, 1);
        m.on_messages(key, vec![offer(20_000)], Instant::now());
        take(&mut m);
        let false_metadata = vec![b'x'; 20_000];
        m.on_messages(
            key,
            vec![piece(0, &false_metadata), piece(1, &false_metadata)],
            Instant::now(),
        );
        let actions = take(&mut m);
        assert!(m.metadata().is_none());
        assert!(actions
            .iter()
            .any(|a| matches!(a, Action::Event(EventKind::PeerBanned(_)))));
        assert!(actions
            .iter()
            .any(|a| matches!(a, Action::Close(k) if *k == key)));
        assert_eq!(m.status().disconnects.get(DisconnectReason::Banned), 1);
        // It is refused from now on.
        let again = connect(&mut m, 1);
        assert!(take(&mut m)
            .iter()
            .any(|a| matches!(a, Action::Close(k) if *k == again)));
    }

    #[test]
    fn have_floods_before_the_metadata_are_bounded() {
        let mut m = machine();
        let key = connect(&mut m, 1);
        let haves = (0..3 * MAX_EARLY_HAVES as u32)
            .map(Message::UncheckedHave)
            .collect();
        m.on_messages(key, haves, Instant::now());
        let (_, adopted) = m.hand_over();
        assert_eq!(adopted[0].said.len(), MAX_EARLY_HAVES);
        assert_eq!(
            adopted[0].said.last(),
            Some(&Message::UncheckedHave(3 * MAX_EARLY_HAVES as u32 - 1))
        );
    }
}
