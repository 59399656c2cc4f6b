//! BEP 9 (`ut_metadata`): the info dictionary of a torrent fetched from its peers, in pieces of
//! 16 KiB, for a download that starts from a magnet link.
//!
//! [`MetadataMessage`] is the wire codec; [`MetadataFetch`] is the pure state of one fetch: which
//! piece to ask of which peer, what to do with answers, rejections and silence, and the verdict
//! once every piece is in. Nothing a peer sends is believed until the SHA-1 of the whole matches
//! the info-hash; when it does not, the fetch finds out who lied (see [`FetchVerdict`]).

use super::{check_len, dict_root, int_field, ExtensionError, DECODE_OPTIONS};
use crate::bencode::{self, BencodeError, BencodeErrorKind, Encoder};
use crate::metainfo::InfoHash;
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

const EXT: &str = "ut_metadata";

/// BEP 9's piece size; every piece but the last is this long.
pub const PIECE_SIZE: u32 = 16 * 1024;

/// The largest metadata (info dictionary) we fetch or serve: 16 MiB, the same bound as a
/// fetched .torrent file (`session::MAX_FETCHED_TORRENT`). A peer's claim is all we have
/// before the bytes arrive, so the cap bounds what one stranger can make us hold (1024 pieces
/// at most). libtorrent's default is 30 MiB (`settings_pack::max_metadata_size`); info
/// dictionaries that large are torrents of millions of files or tiny pieces, and a torrent we
/// would refuse as a .torrent file should not get in through a magnet link either.
pub const MAX_METADATA_SIZE: u64 = 16 << 20;

/// Requests outstanding per peer in a [`MetadataFetch`]: 8 pieces (128 KiB) keep a link busy
/// across a round trip and, with several peers, spread the pieces among them. Well under what
/// clients queue before they reject (libtorrent 1024, Transmission 64); libtorrent itself asks
/// 2 at a time.
pub const PER_PEER: usize = 8;

/// How long a request may go unanswered before its piece is asked of another peer: a 16 KiB
/// answer takes well under a second on any working link, so 10 s means the peer is stalled or
/// ignoring us (BEP 9 lets a peer drop requests silently).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The number of pieces of metadata of `size` bytes.
pub fn piece_count(size: u64) -> u32 {
    u32::try_from(size.div_ceil(u64::from(PIECE_SIZE))).unwrap_or(u32::MAX)
}

/// The length of piece `piece` of metadata of `size` bytes: [`PIECE_SIZE`], or what remains
/// for the last piece; 0 past the end.
pub fn piece_len(size: u64, piece: u32) -> u32 {
    let start = u64::from(piece) * u64::from(PIECE_SIZE);
    size.saturating_sub(start).min(u64::from(PIECE_SIZE)) as u32
}

/// A `ut_metadata` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataMessage {
    /// `msg_type` 0: send me this piece.
    Request { piece: u32 },
    /// `msg_type` 1: a piece, `data` after the dictionary.
    Data {
        piece: u32,
        total_size: u64,
        data: Bytes,
    },
    /// `msg_type` 2: I will not send this piece.
    Reject { piece: u32 },
}

fn field(field: &'static str, why: &'static str) -> ExtensionError {
    ExtensionError::Field {
        ext: EXT,
        field,
        why,
    }
}

impl MetadataMessage {
    /// The message's body (what follows the extended id byte): the dictionary, keys sorted,
    /// and for data the piece's bytes after it.
    pub fn encode(&self) -> Vec<u8> {
        let (msg_type, piece) = match self {
            MetadataMessage::Request { piece } => (0, piece),
            MetadataMessage::Data { piece, .. } => (1, piece),
            MetadataMessage::Reject { piece } => (2, piece),
        };
        let data_len = match self {
            MetadataMessage::Data { data, .. } => data.len(),
            _ => 0,
        };
        let mut e = Encoder::with_capacity(64 + data_len);
        e.begin_dict()
            .bytes(b"msg_type")
            .int(msg_type)
            .bytes(b"piece")
            .int(i64::from(*piece));
        if let MetadataMessage::Data { total_size, .. } = self {
            e.bytes(b"total_size")
                .int(i64::try_from(*total_size).unwrap_or(i64::MAX));
        }
        e.end();
        if let MetadataMessage::Data { data, .. } = self {
            e.raw(data);
        }
        e.finish()
    }

    /// Decodes a body (the bytes after the extended id byte). The dictionary is strict bencode
    /// within [`DECODE_OPTIONS`]; only a data message may have bytes after it. An unknown
    /// `msg_type` is `Ok(None)`: ignore the message (BEP 9 lets later versions add types). A
    /// data message must have `total_size` in 1..=[`MAX_METADATA_SIZE`], a piece inside it and
    /// exactly that piece's length of data; `data` shares `payload`'s buffer.
    pub fn decode(payload: Bytes) -> Result<Option<MetadataMessage>, ExtensionError> {
        check_len(EXT, payload.len())?;
        let (doc, len) = bencode::decode_prefix(&payload[..], DECODE_OPTIONS)
            .map_err(|source| ExtensionError::Bencode { ext: EXT, source })?;
        let root = dict_root(EXT, &doc)?;
        let msg_type = int_field(root, b"msg_type")
            .ok_or_else(|| field("msg_type", "is missing or not an integer"))?;
        if !(0..=2).contains(&msg_type) {
            return Ok(None);
        }
        let piece = int_field(root, b"piece")
            .ok_or_else(|| field("piece", "is missing or not an integer"))?;
        let piece = u32::try_from(piece).map_err(|_| field("piece", "is not in 0..2^32"))?;
        if msg_type != 1 && len != payload.len() {
            return Err(ExtensionError::Bencode {
                ext: EXT,
                source: BencodeError {
                    offset: len,
                    kind: BencodeErrorKind::TrailingBytes,
                },
            });
        }
        Ok(Some(match msg_type {
            0 => MetadataMessage::Request { piece },
            2 => MetadataMessage::Reject { piece },
            _ => {
                let total_size = int_field(root, b"total_size")
                    .ok_or_else(|| field("total_size", "is missing or not an integer"))?;
                let total_size =
                    u64::try_from(total_size).map_err(|_| field("total_size", "is negative"))?;
                check_size(total_size)?;
                if piece >= piece_count(total_size) {
                    return Err(field("piece", "is past the last piece of total_size"));
                }
                let expected = piece_len(total_size, piece);
                let data = payload.slice(len..);
                if data.len() != expected as usize {
                    return Err(ExtensionError::DataLength {
                        piece,
                        len: data.len(),
                        expected,
                    });
                }
                MetadataMessage::Data {
                    piece,
                    total_size,
                    data,
                }
            }
        }))
    }
}

fn check_size(size: u64) -> Result<(), ExtensionError> {
    if size == 0 || size > MAX_METADATA_SIZE {
        return Err(ExtensionError::MetadataSize {
            size,
            max: MAX_METADATA_SIZE,
        });
    }
    Ok(())
}

/// The outcome of a fetch once every piece is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchVerdict<K> {
    /// The metadata, its SHA-1 checked against the info-hash.
    Complete(Vec<u8>),
    /// The assembled bytes failed the hash: `ban` are the peers proven to have lied (possibly
    /// empty when several peers contributed and none is proven yet: then the fetch starts
    /// again taking every piece from one peer at a time, so the next failure proves its
    /// sender).
    Failed { ban: Vec<K> },
}

/// One peer offering metadata.
#[derive(Debug)]
struct Peer {
    /// The size it claims (its handshake's `metadata_size`).
    size: u64,
    /// Order of arrival: ties go to the earliest.
    seq: u64,
    /// Pieces asked of it and not answered since the last restart (timed out ones included:
    /// a late answer is still welcome).
    asked: HashSet<u32>,
    /// Pieces it rejected (or answered with the wrong length): not asked of it again.
    rejected: HashSet<u32>,
    /// Pieces it let time out: asked of it again only when no other peer can be.
    slow: HashSet<u32>,
}

#[derive(Debug)]
enum Piece<K> {
    Missing,
    Asked { from: K, at: Instant },
    Have { from: K, data: Vec<u8> },
}

/// Fetches the metadata of `info_hash` from several peers at once and believes none of it until
/// its SHA-1 matches.
///
/// The size fetched is the one most peers claim (ties: the one claimed earliest; a size being
/// fetched is left only for one claimed by strictly more peers), so a liar about the size is
/// outvoted before it is asked anything. Memory: a piece's bytes are kept only once received,
/// and the piece table is at most 1024 entries ([`MAX_METADATA_SIZE`] / [`PIECE_SIZE`]).
#[derive(Debug)]
pub struct MetadataFetch<K> {
    info_hash: InfoHash,
    peers: HashMap<K, Peer>,
    banned: HashSet<K>,
    next_seq: u64,
    /// The size being fetched (chosen at the first [`requests`](Self::requests)).
    size: Option<u64>,
    pieces: Vec<Piece<K>>,
    done: u32,
    complete: bool,
    /// After a failure with several senders: every piece from one peer, `source`.
    single_source: bool,
    source: Option<K>,
    /// Sources that rejected or let a request time out in single-source mode: tried again only
    /// once every other peer has been.
    passed_over: HashSet<K>,
}

impl<K: Copy + Eq + Hash + Ord> MetadataFetch<K> {
    pub fn new(info_hash: InfoHash) -> Self {
        MetadataFetch {
            info_hash,
            peers: HashMap::new(),
            banned: HashSet::new(),
            next_seq: 0,
            size: None,
            pieces: Vec::new(),
            done: 0,
            complete: false,
            single_source: false,
            source: None,
            passed_over: HashSet::new(),
        }
    }

    /// A peer that offers metadata of `size` bytes (its handshake's `metadata_size`). Err for 0
    /// or more than [`MAX_METADATA_SIZE`] (the caller then ignores that peer for metadata). A
    /// peer already known with another size is taken as new (its requests go back); a banned
    /// peer is ignored.
    pub fn add_peer(&mut self, key: K, size: u64) -> Result<(), ExtensionError> {
        if let Err(e) = check_size(size) {
            self.remove_peer(key);
            return Err(e);
        }
        if self.banned.contains(&key) {
            return Ok(());
        }
        match self.peers.get(&key) {
            Some(peer) if peer.size == size => return Ok(()),
            Some(_) => self.remove_peer(key),
            None => {}
        }
        self.peers.insert(
            key,
            Peer {
                size,
                seq: self.next_seq,
                asked: HashSet::new(),
                rejected: HashSet::new(),
                slow: HashSet::new(),
            },
        );
        self.next_seq += 1;
        Ok(())
    }

    /// A peer gone (or no longer offering metadata): its outstanding requests go back. In
    /// single-source mode, losing the source restarts the fetch with the next peer.
    pub fn remove_peer(&mut self, key: K) {
        if self.peers.remove(&key).is_none() {
            return;
        }
        self.passed_over.remove(&key);
        for slot in &mut self.pieces {
            if matches!(slot, Piece::Asked { from, .. } if *from == key) {
                *slot = Piece::Missing;
            }
        }
        if self.single_source && self.source == Some(key) {
            self.source = None;
            self.restart();
        }
    }

    /// What to ask whom now: each missing piece asked of one peer, at most [`PER_PEER`]
    /// outstanding per peer, the least busy first (ties: the earliest). Requests older than
    /// [`REQUEST_TIMEOUT`] are given to another peer (the slow peer is not asked that piece
    /// again while another peer could be); peers that rejected a piece are not asked it again.
    /// Peers whose claimed size differs from the size being fetched are not asked. In
    /// single-source mode all pieces come from one peer; the next peer is tried once it fails,
    /// leaves, rejects a piece or lets a request time out (the whole fetch restarts with it).
    pub fn requests(&mut self, now: Instant) -> Vec<(K, u32)> {
        if self.complete {
            return Vec::new();
        }
        self.choose_size();
        let Some(size) = self.size else {
            return Vec::new();
        };
        let mut source_timed_out = false;
        for (index, slot) in self.pieces.iter_mut().enumerate() {
            if let Piece::Asked { from, at } = *slot {
                if now.saturating_duration_since(at) >= REQUEST_TIMEOUT {
                    if let Some(peer) = self.peers.get_mut(&from) {
                        peer.slow.insert(index as u32);
                    }
                    *slot = Piece::Missing;
                    source_timed_out |= self.single_source && self.source == Some(from);
                }
            }
        }
        if source_timed_out {
            self.give_up_source();
        }
        // Live (not timed out) requests per peer.
        let mut live: HashMap<K, usize> = HashMap::new();
        for slot in &self.pieces {
            if let Piece::Asked { from, .. } = slot {
                *live.entry(*from).or_default() += 1;
            }
        }
        let mut out = Vec::new();
        if self.single_source {
            let Some(source) = self.pick_source(size) else {
                return out;
            };
            let Some(peer) = self.peers.get_mut(&source) else {
                return out;
            };
            let mut busy = live.get(&source).copied().unwrap_or(0);
            for (index, slot) in self.pieces.iter_mut().enumerate() {
                let index = index as u32;
                if busy >= PER_PEER {
                    break;
                }
                if matches!(slot, Piece::Missing) && !peer.rejected.contains(&index) {
                    *slot = Piece::Asked {
                        from: source,
                        at: now,
                    };
                    peer.asked.insert(index);
                    busy += 1;
                    out.push((source, index));
                }
            }
            return out;
        }
        // Eligible peers in order of arrival, for deterministic choices.
        let mut eligible: Vec<(u64, K)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.size == size)
            .map(|(k, p)| (p.seq, *k))
            .collect();
        eligible.sort_unstable();
        for index in 0..self.pieces.len() {
            if !matches!(self.pieces[index], Piece::Missing) {
                continue;
            }
            let piece = index as u32;
            let willing = |k: &K| !self.peers[k].rejected.contains(&piece);
            let fresh: Vec<K> = eligible
                .iter()
                .map(|(_, k)| *k)
                .filter(|k| willing(k) && !self.peers[k].slow.contains(&piece))
                .collect();
            let candidates = if fresh.is_empty() {
                eligible.iter().map(|(_, k)| *k).filter(willing).collect()
            } else {
                fresh
            };
            // The least busy with room; `min_by_key` keeps the earliest of equals.
            let chosen = candidates
                .into_iter()
                .filter(|k| live.get(k).copied().unwrap_or(0) < PER_PEER)
                .min_by_key(|k| live.get(k).copied().unwrap_or(0));
            if let Some(key) = chosen {
                self.pieces[index] = Piece::Asked { from: key, at: now };
                if let Some(peer) = self.peers.get_mut(&key) {
                    peer.asked.insert(piece);
                }
                *live.entry(key).or_default() += 1;
                out.push((key, piece));
            }
        }
        out
    }

    /// A data message from `key`. Data for a piece we did not ask that peer for (or asked
    /// before a restart), with a `total_size` other than the one being fetched, or for a piece
    /// already in, is ignored (`None`); data of the wrong length counts as a rejection. When
    /// every piece is in, hashes and returns the verdict.
    pub fn on_data(
        &mut self,
        key: K,
        piece: u32,
        total_size: u64,
        data: &[u8],
        _now: Instant,
    ) -> Option<FetchVerdict<K>> {
        if self.complete || self.size != Some(total_size) {
            return None;
        }
        let peer = self.peers.get_mut(&key)?;
        if !peer.asked.remove(&piece) {
            return None;
        }
        if data.len() != piece_len(total_size, piece) as usize {
            self.refused(key, piece);
            return None;
        }
        let slot = self.pieces.get_mut(piece as usize)?;
        if matches!(slot, Piece::Have { .. }) {
            return None;
        }
        *slot = Piece::Have {
            from: key,
            data: data.to_vec(),
        };
        self.done += 1;
        if (self.done as usize) < self.pieces.len() {
            return None;
        }
        Some(self.verify())
    }

    /// A reject from `key`: that peer is not asked `piece` again (a reject we did not ask for
    /// is ignored).
    pub fn on_reject(&mut self, key: K, piece: u32) {
        if let Some(peer) = self.peers.get_mut(&key) {
            if peer.asked.remove(&piece) {
                self.refused(key, piece);
            }
        }
    }

    /// The size being fetched, once chosen.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Pieces in (for progress).
    pub fn pieces_done(&self) -> u32 {
        self.done
    }

    /// Pieces of the size being fetched, 0 before one is chosen.
    pub fn piece_count(&self) -> u32 {
        self.size.map_or(0, piece_count)
    }

    /// Whether the metadata is in and checked.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Whether `key` has been proven to send false metadata.
    pub fn is_banned(&self, key: K) -> bool {
        self.banned.contains(&key)
    }

    /// `key` will not give `piece` (rejected it, or sent it at the wrong length).
    fn refused(&mut self, key: K, piece: u32) {
        if let Some(peer) = self.peers.get_mut(&key) {
            peer.rejected.insert(piece);
        }
        if let Some(slot) = self.pieces.get_mut(piece as usize) {
            if matches!(slot, Piece::Asked { from, .. } if *from == key) {
                *slot = Piece::Missing;
            }
        }
        if self.single_source && self.source == Some(key) {
            self.give_up_source();
        }
    }

    /// The size most peers claim; a size being fetched gives way only to one with more.
    fn choose_size(&mut self) {
        // Size -> (claimants, earliest claim).
        let mut claims: HashMap<u64, (usize, u64)> = HashMap::new();
        for peer in self.peers.values() {
            let entry = claims.entry(peer.size).or_insert((0, u64::MAX));
            entry.0 += 1;
            entry.1 = entry.1.min(peer.seq);
        }
        let Some((&best, &(best_count, _))) = claims
            .iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
        else {
            return;
        };
        let current = self.size.map_or(0, |s| claims.get(&s).map_or(0, |c| c.0));
        if self.size != Some(best) && best_count > current {
            self.size = Some(best);
            if self
                .source
                .is_some_and(|s| self.peers.get(&s).is_some_and(|p| p.size != best))
            {
                self.source = None;
            }
            self.restart();
        }
    }

    /// The single source: the current one if still there, else the earliest peer not passed
    /// over (a new round, forgetting rejections, once every peer has been).
    fn pick_source(&mut self, size: u64) -> Option<K> {
        if let Some(source) = self.source {
            if self.peers.get(&source).is_some_and(|p| p.size == size) {
                return Some(source);
            }
        }
        let earliest = |passed_over: &HashSet<K>, peers: &HashMap<K, Peer>| {
            peers
                .iter()
                .filter(|(k, p)| p.size == size && !passed_over.contains(*k))
                .min_by_key(|(_, p)| p.seq)
                .map(|(k, _)| *k)
        };
        let mut next = earliest(&self.passed_over, &self.peers);
        if next.is_none() {
            self.passed_over.clear();
            for peer in self.peers.values_mut() {
                peer.rejected.clear();
            }
            next = earliest(&self.passed_over, &self.peers);
        }
        if next != self.source {
            self.source = next;
            self.restart();
        }
        next
    }

    /// In single-source mode, the source failed to give a piece: try the next one from scratch.
    fn give_up_source(&mut self) {
        if let Some(source) = self.source.take() {
            self.passed_over.insert(source);
        }
        self.restart();
    }

    /// Forgets every piece and request (answers to earlier requests are then ignored).
    fn restart(&mut self) {
        self.pieces = match self.size {
            Some(size) => (0..piece_count(size)).map(|_| Piece::Missing).collect(),
            None => Vec::new(),
        };
        self.done = 0;
        for peer in self.peers.values_mut() {
            peer.asked.clear();
            peer.slow.clear();
        }
    }

    /// Every piece is in: hash them and judge.
    fn verify(&mut self) -> FetchVerdict<K> {
        let mut metadata = Vec::with_capacity(self.size.unwrap_or(0) as usize);
        let mut senders: Vec<K> = Vec::new();
        for slot in &self.pieces {
            if let Piece::Have { from, data } = slot {
                metadata.extend_from_slice(data);
                if !senders.contains(from) {
                    senders.push(*from);
                }
            }
        }
        if InfoHash::of_info_bytes(&metadata) == self.info_hash {
            self.complete = true;
            self.pieces = Vec::new();
            return FetchVerdict::Complete(metadata);
        }
        let ban = match senders[..] {
            [liar] => {
                self.banned.insert(liar);
                self.remove_peer(liar);
                if self.source == Some(liar) {
                    self.source = None;
                }
                vec![liar]
            }
            _ => {
                self.single_source = true;
                self.source = None;
                Vec::new()
            }
        };
        self.restart();
        FetchVerdict::Failed { ban }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn piece_of(meta: &[u8], piece: u32) -> &[u8] {
        let start = piece as usize * PIECE_SIZE as usize;
        &meta[start..(start + PIECE_SIZE as usize).min(meta.len())]
    }

    /// A verdict in few words, so a failed assertion does not print megabytes: `Ok(())` for
    /// the right metadata, `Err(ban)` for a failure.
    fn judged(verdict: Option<FetchVerdict<u8>>, meta: &[u8]) -> Option<Result<(), Vec<u8>>> {
        verdict.map(|v| match v {
            FetchVerdict::Complete(m) => {
                assert!(m == meta, "completed with other bytes");
                Ok(())
            }
            FetchVerdict::Failed { ban } => Err(ban),
        })
    }

    /// Answers every request until a verdict or until nothing more is asked; `answer` gives a
    /// peer's bytes for a piece (`None`: it stays silent).
    fn run(
        fetch: &mut MetadataFetch<u8>,
        now: Instant,
        size: u64,
        mut answer: impl FnMut(u8, u32) -> Option<Vec<u8>>,
        asked: &mut Vec<(u8, u32)>,
    ) -> Option<FetchVerdict<u8>> {
        loop {
            let requests = fetch.requests(now);
            if requests.is_empty() {
                return None;
            }
            for (key, piece) in requests {
                asked.push((key, piece));
                if let Some(data) = answer(key, piece) {
                    if let Some(verdict) = fetch.on_data(key, piece, size, &data, now) {
                        return Some(verdict);
                    }
                }
            }
        }
    }

    #[test]
    fn messages_round_trip() {
        let request = MetadataMessage::Request { piece: 0 };
        assert_eq!(request.encode(), b"d8:msg_typei0e5:piecei0ee");
        let reject = MetadataMessage::Reject { piece: 3 };
        assert_eq!(reject.encode(), b"d8:msg_typei2e5:piecei3ee");
        let data = MetadataMessage::Data {
            piece: 1,
            total_size: 16384 + 3,
            data: Bytes::from_static(b"abc"),
        };
        assert_eq!(
            data.encode(),
            b"d8:msg_typei1e5:piecei1e10:total_sizei16387eeabc"
        );
        for message in [request, reject, data] {
            let decoded = MetadataMessage::decode(Bytes::from(message.encode())).unwrap();
            assert_eq!(decoded, Some(message));
        }
    }

    #[test]
    fn data_messages_are_checked() {
        let decode = |b: &[u8]| MetadataMessage::decode(Bytes::copy_from_slice(b));
        // A full first piece of two.
        let mut full = b"d8:msg_typei1e5:piecei0e10:total_sizei16385ee".to_vec();
        full.extend([7u8; 16384]);
        assert!(matches!(
            decode(&full),
            Ok(Some(MetadataMessage::Data { piece: 0, total_size: 16385, ref data })) if data.len() == 16384
        ));
        full.push(0);
        assert_eq!(
            decode(&full).unwrap_err(),
            ExtensionError::DataLength {
                piece: 0,
                len: 16385,
                expected: 16384
            }
        );
        let e = decode(b"d8:msg_typei1e5:piecei2e10:total_sizei16385eex").unwrap_err();
        assert!(e.to_string().contains("past the last piece"), "{e}");
        for bad in [
            &b"d8:msg_typei1e5:piecei0e10:total_sizei0ee"[..],
            b"d8:msg_typei1e5:piecei0e10:total_sizei16777217eex",
        ] {
            assert!(matches!(
                decode(bad).unwrap_err(),
                ExtensionError::MetadataSize { .. }
            ));
        }
        let e = decode(b"d8:msg_typei1e5:piecei0e10:total_sizei-1ee").unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");
        let e = decode(b"d8:msg_typei1e5:piecei0ee").unwrap_err();
        assert!(e.to_string().contains("total_size"), "{e}");
        // The largest metadata's last piece.
        let mut last = b"d8:msg_typei1e5:piecei1023e10:total_sizei16777216ee".to_vec();
        last.extend([0u8; 16384]);
        assert!(decode(&last).unwrap().is_some());
    }

    #[test]
    fn other_messages_are_checked() {
        let decode = |b: &[u8]| MetadataMessage::decode(Bytes::copy_from_slice(b));
        // Unknown types are for later versions: ignored, whatever else they hold.
        assert_eq!(decode(b"d8:msg_typei3ee").unwrap(), None);
        assert_eq!(decode(b"d8:msg_typei-1e5:piece1:xe").unwrap(), None);
        for (bad, says) in [
            (&b"d5:piecei0ee"[..], "msg_type"),
            (b"d8:msg_type1:0e", "msg_type"),
            (b"d8:msg_typei0ee", "piece"),
            (b"d8:msg_typei0e5:piecei-1ee", "piece"),
            (b"d8:msg_typei0e5:piecei4294967296ee", "piece"),
            (b"d8:msg_typei0e5:piecei0eextra", "trailing"),
            (b"d5:piecei0e8:msg_typei0ee", "out of order"),
            (b"le", "not a dictionary"),
            (b"d8:msg_typei0e5:piecei0e", "ended early"),
        ] {
            let e = decode(bad).unwrap_err();
            assert!(e.to_string().contains(says), "{bad:?}: {e}");
            assert!(e.to_string().starts_with("ut_metadata"), "{e}");
        }
        let e = decode(&vec![b'd'; super::super::MAX_PAYLOAD + 1]).unwrap_err();
        assert!(matches!(e, ExtensionError::TooLong { .. }), "{e}");
    }

    #[test]
    fn piece_arithmetic() {
        assert_eq!(piece_count(1), 1);
        assert_eq!(piece_count(16384), 1);
        assert_eq!(piece_count(16385), 2);
        assert_eq!(piece_count(MAX_METADATA_SIZE), 1024);
        assert_eq!(piece_count(u64::MAX), u32::MAX);
        assert_eq!(piece_len(16384, 0), 16384);
        assert_eq!(piece_len(16385, 0), 16384);
        assert_eq!(piece_len(16385, 1), 1);
        assert_eq!(piece_len(16385, 2), 0);
        assert_eq!(piece_len(100, u32::MAX), 0);
    }

    #[test]
    fn one_peer_fetches_everything() {
        let meta = metadata(40_000);
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        let now = Instant::now();
        assert!(fetch.requests(now).is_empty());
        fetch.add_peer(1u8, meta.len() as u64).unwrap();
        let asked = fetch.requests(now);
        assert_eq!(asked, [(1, 0), (1, 1), (1, 2)]);
        assert_eq!((fetch.size(), fetch.piece_count()), (Some(40_000), 3));
        assert!(fetch.requests(now).is_empty(), "nothing asked twice");
        assert_eq!(fetch.on_data(1, 2, 40_000, piece_of(&meta, 2), now), None);
        assert_eq!(fetch.on_data(1, 0, 40_000, piece_of(&meta, 0), now), None);
        assert_eq!(fetch.pieces_done(), 2);
        let verdict = fetch.on_data(1, 1, 40_000, piece_of(&meta, 1), now);
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
        assert!(fetch.is_complete());
        assert!(fetch.requests(now).is_empty());
    }

    #[test]
    fn three_peers_split_the_pieces() {
        let meta = metadata(10 * 16384 - 5);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        for key in 1..=3u8 {
            fetch.add_peer(key, size).unwrap();
        }
        let now = Instant::now();
        let asked = fetch.requests(now);
        assert_eq!(asked.len(), 10);
        let mut pieces: Vec<u32> = asked.iter().map(|r| r.1).collect();
        pieces.sort_unstable();
        assert_eq!(pieces, (0..10).collect::<Vec<_>>());
        for key in 1..=3u8 {
            let n = asked.iter().filter(|r| r.0 == key).count();
            assert!((3..=4).contains(&n), "peer {key} asked {n}");
        }
        let mut verdict = None;
        for (key, piece) in asked {
            verdict = fetch.on_data(key, piece, size, piece_of(&meta, piece), now);
        }
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
    }

    #[test]
    fn at_most_per_peer_outstanding() {
        let meta = metadata(20 * 16384);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        fetch.add_peer(1u8, size).unwrap();
        let now = Instant::now();
        let first = fetch.requests(now);
        assert_eq!(first.len(), PER_PEER);
        assert!(fetch.requests(now).is_empty());
        fetch.on_data(1, 0, size, piece_of(&meta, 0), now);
        assert_eq!(fetch.requests(now), [(1, PER_PEER as u32)]);
        for piece in 1..=PER_PEER as u32 {
            assert_eq!(
                fetch.on_data(1, piece, size, piece_of(&meta, piece), now),
                None
            );
        }
        let mut asked = Vec::new();
        let verdict = run(
            &mut fetch,
            now,
            size,
            |_, p| Some(piece_of(&meta, p).to_vec()),
            &mut asked,
        );
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
    }

    #[test]
    fn a_liar_among_two_is_found_and_banned() {
        let meta = metadata(5 * 16384);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        const LIAR: u8 = 1;
        const HONEST: u8 = 2;
        fetch.add_peer(LIAR, size).unwrap();
        fetch.add_peer(HONEST, size).unwrap();
        let now = Instant::now();
        let answer = |key: u8, piece: u32| {
            let mut data = piece_of(&meta, piece).to_vec();
            if key == LIAR {
                data[0] ^= 0xff;
            }
            Some(data)
        };
        // Both contributed: nobody is proven yet.
        let mut asked = Vec::new();
        let verdict = run(&mut fetch, now, size, answer, &mut asked);
        assert_eq!(judged(verdict, &meta), Some(Err(vec![])));
        assert!(asked.iter().any(|r| r.0 == LIAR) && asked.iter().any(|r| r.0 == HONEST));
        assert_eq!(fetch.pieces_done(), 0);
        // Single source: the earliest peer gives everything, and is proven a liar.
        asked.clear();
        let verdict = run(&mut fetch, now, size, answer, &mut asked);
        assert_eq!(judged(verdict, &meta), Some(Err(vec![LIAR])));
        assert!(asked.iter().all(|r| r.0 == LIAR), "{asked:?}");
        assert!(fetch.is_banned(LIAR));
        // It is never asked again, even if it comes back.
        fetch.add_peer(LIAR, size).unwrap();
        asked.clear();
        let verdict = run(&mut fetch, now, size, answer, &mut asked);
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
        assert!(asked.iter().all(|r| r.0 == HONEST), "{asked:?}");
        assert_eq!(asked.len(), 5);
    }

    #[test]
    fn single_source_with_an_honest_first_peer_completes() {
        let meta = metadata(3 * 16384);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        fetch.add_peer(1u8, size).unwrap();
        fetch.add_peer(2u8, size).unwrap();
        let now = Instant::now();
        let answer = |key: u8, piece: u32| {
            let mut data = piece_of(&meta, piece).to_vec();
            data[0] ^= u8::from(key == 2);
            Some(data)
        };
        let mut asked = Vec::new();
        assert_eq!(
            judged(run(&mut fetch, now, size, answer, &mut asked), &meta),
            Some(Err(vec![]))
        );
        asked.clear();
        assert_eq!(
            judged(run(&mut fetch, now, size, answer, &mut asked), &meta),
            Some(Ok(()))
        );
        assert_eq!(asked, [(1, 0), (1, 1), (1, 2)]);
        assert!(!fetch.is_banned(2), "not proven");
    }

    #[test]
    fn a_single_source_that_rejects_or_stalls_hands_over() {
        let meta = metadata(2 * 16384);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        for key in 1..=3u8 {
            fetch.add_peer(key, size).unwrap();
        }
        let t0 = Instant::now();
        // Peers 1 and 2 split the pieces; 2 lies: single-source mode.
        let answer = |key: u8, piece: u32| {
            let mut data = piece_of(&meta, piece).to_vec();
            data[0] ^= u8::from(key == 2);
            Some(data)
        };
        let mut asked = Vec::new();
        assert_eq!(
            judged(run(&mut fetch, t0, size, answer, &mut asked), &meta),
            Some(Err(vec![]))
        );
        // Source 1 rejects piece 1: start over with 2.
        assert_eq!(fetch.requests(t0), [(1, 0), (1, 1)]);
        fetch.on_data(1, 0, size, piece_of(&meta, 0), t0);
        fetch.on_reject(1, 1);
        assert_eq!(fetch.pieces_done(), 0);
        assert_eq!(fetch.requests(t0), [(2, 0), (2, 1)]);
        // Source 2 stalls: start over with 3.
        let later = t0 + REQUEST_TIMEOUT;
        assert_eq!(fetch.requests(later), [(3, 0), (3, 1)]);
        // A late answer from 2 is for a fetch that restarted: ignored.
        assert_eq!(fetch.on_data(2, 0, size, piece_of(&meta, 0), later), None);
        assert_eq!(fetch.pieces_done(), 0);
        // 3 leaves: every peer has been passed over, a new round starts with 1.
        fetch.remove_peer(3);
        assert_eq!(fetch.requests(later), [(1, 0), (1, 1)]);
        fetch.on_data(1, 0, size, piece_of(&meta, 0), later);
        let verdict = fetch.on_data(1, 1, size, piece_of(&meta, 1), later);
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
    }

    #[test]
    fn the_size_most_peers_claim_wins() {
        let meta = metadata(2 * 16384 + 100);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        let now = Instant::now();
        // The liar comes first and alone: its size is fetched at first.
        fetch.add_peer(9u8, size + 20_000).unwrap();
        assert_eq!(fetch.requests(now).len(), 4);
        assert_eq!(fetch.size(), Some(size + 20_000));
        // One honest peer ties: the size being fetched stays.
        fetch.add_peer(1, size).unwrap();
        assert!(fetch.requests(now).is_empty());
        // A second one makes a majority: the fetch starts over at its size, the liar unasked.
        fetch.add_peer(2, size).unwrap();
        let asked = fetch.requests(now);
        assert_eq!(fetch.size(), Some(size));
        assert_eq!(asked.len(), 3);
        assert!(asked.iter().all(|r| r.0 != 9), "{asked:?}");
        // Data at the liar's size is ignored, even for a piece asked of it before.
        assert_eq!(fetch.on_data(9, 0, size + 20_000, &[0; 16384], now), None);
        let mut verdict = None;
        for (key, piece) in asked {
            verdict = fetch.on_data(key, piece, size, piece_of(&meta, piece), now);
        }
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
    }

    #[test]
    fn ties_go_to_the_earliest_size() {
        let meta = metadata(100);
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        fetch.add_peer(5u8, 200).unwrap();
        fetch.add_peer(3u8, 100).unwrap();
        assert_eq!(fetch.requests(Instant::now()), [(5, 0)]);
        assert_eq!(fetch.size(), Some(200));
    }

    #[test]
    fn timeouts_give_the_piece_to_another_peer() {
        let meta = metadata(1000);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        fetch.add_peer(1u8, size).unwrap();
        fetch.add_peer(2u8, size).unwrap();
        let t0 = Instant::now();
        assert_eq!(fetch.requests(t0), [(1, 0)]);
        assert!(fetch.requests(t0 + REQUEST_TIMEOUT / 2).is_empty());
        let t1 = t0 + REQUEST_TIMEOUT;
        assert_eq!(fetch.requests(t1), [(2, 0)]);
        // Both slow now: the earliest is asked again.
        let t2 = t1 + REQUEST_TIMEOUT;
        assert_eq!(fetch.requests(t2), [(1, 0)]);
        // Peer 2's late answer is still welcome.
        let verdict = fetch.on_data(2, 0, size, &meta, t2);
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
    }

    #[test]
    fn a_lone_slow_peer_is_asked_again() {
        let meta = metadata(1000);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        fetch.add_peer(1u8, size).unwrap();
        let t0 = Instant::now();
        assert_eq!(fetch.requests(t0), [(1, 0)]);
        assert_eq!(fetch.requests(t0 + REQUEST_TIMEOUT), [(1, 0)]);
        // A newcomer is preferred to the slow peer.
        fetch.add_peer(2u8, size).unwrap();
        assert_eq!(fetch.requests(t0 + REQUEST_TIMEOUT * 2), [(2, 0)]);
    }

    #[test]
    fn rejected_pieces_are_not_asked_again() {
        let meta = metadata(1000);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        fetch.add_peer(1u8, size).unwrap();
        fetch.add_peer(2u8, size).unwrap();
        let now = Instant::now();
        assert_eq!(fetch.requests(now), [(1, 0)]);
        fetch.on_reject(2, 0); // not asked: ignored
        fetch.on_reject(1, 0);
        assert_eq!(fetch.requests(now), [(2, 0)]);
        // Data of the wrong length counts as a reject.
        assert_eq!(fetch.on_data(2, 0, size, &meta[..999], now), None);
        assert!(fetch.requests(now).is_empty(), "everyone refused");
        fetch.add_peer(3u8, size).unwrap();
        assert_eq!(fetch.requests(now), [(3, 0)]);
    }

    #[test]
    fn a_removed_peer_gives_its_requests_back() {
        let meta = metadata(4 * 16384);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        fetch.add_peer(1u8, size).unwrap();
        fetch.add_peer(2u8, size).unwrap();
        let now = Instant::now();
        let asked = fetch.requests(now);
        let of_1: Vec<u32> = asked.iter().filter(|r| r.0 == 1).map(|r| r.1).collect();
        assert_eq!(of_1.len(), 2);
        fetch.remove_peer(1);
        let again = fetch.requests(now);
        assert_eq!(again, of_1.iter().map(|&p| (2, p)).collect::<Vec<_>>());
        // Its late data is ignored.
        assert_eq!(
            fetch.on_data(1, of_1[0], size, piece_of(&meta, of_1[0]), now),
            None
        );
        assert_eq!(fetch.pieces_done(), 0);
        fetch.remove_peer(7); // unknown: nothing happens
        let mut verdict = None;
        for (key, piece) in asked.into_iter().filter(|r| r.0 == 2).chain(again) {
            verdict = fetch.on_data(key, piece, size, piece_of(&meta, piece), now);
        }
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
    }

    #[test]
    fn data_never_asked_for_or_of_another_size_is_ignored() {
        let meta = metadata(16384 + 1);
        let size = meta.len() as u64;
        let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
        let now = Instant::now();
        assert_eq!(fetch.on_data(1, 0, size, piece_of(&meta, 0), now), None);
        fetch.add_peer(1u8, size).unwrap();
        fetch.add_peer(2u8, size).unwrap();
        assert_eq!(fetch.on_data(1, 0, size, piece_of(&meta, 0), now), None);
        assert_eq!(fetch.requests(now), [(1, 0), (2, 1)]);
        // Peer 2 was not asked piece 0; peer 1 answers with another total_size.
        assert_eq!(fetch.on_data(2, 0, size, piece_of(&meta, 0), now), None);
        assert_eq!(fetch.on_data(1, 0, size + 1, piece_of(&meta, 0), now), None);
        assert_eq!(fetch.pieces_done(), 0);
        assert_eq!(fetch.on_data(1, 0, size, piece_of(&meta, 0), now), None);
        // Twice is once.
        assert_eq!(fetch.on_data(1, 0, size, piece_of(&meta, 0), now), None);
        assert_eq!(fetch.pieces_done(), 1);
        let verdict = fetch.on_data(2, 1, size, piece_of(&meta, 1), now);
        assert_eq!(judged(verdict, &meta), Some(Ok(())));
    }

    #[test]
    fn metadata_of_one_full_piece_and_one_byte_more() {
        for len in [16384, 16385] {
            let meta = metadata(len);
            let size = len as u64;
            let mut fetch = MetadataFetch::new(InfoHash::of_info_bytes(&meta));
            fetch.add_peer(1u8, size).unwrap();
            let now = Instant::now();
            let mut asked = Vec::new();
            let verdict = run(
                &mut fetch,
                now,
                size,
                |_, p| Some(piece_of(&meta, p).to_vec()),
                &mut asked,
            );
            assert_eq!(judged(verdict, &meta), Some(Ok(())));
            assert_eq!(asked.len(), len.div_ceil(16384));
        }
    }

    #[test]
    fn claimed_sizes_are_bounded() {
        let mut fetch = MetadataFetch::new(InfoHash([0; 20]));
        assert!(matches!(
            fetch.add_peer(1u8, 0),
            Err(ExtensionError::MetadataSize { size: 0, .. })
        ));
        assert!(fetch.add_peer(1, MAX_METADATA_SIZE + 1).is_err());
        assert!(fetch.requests(Instant::now()).is_empty());
        fetch.add_peer(1, MAX_METADATA_SIZE).unwrap();
        assert_eq!(fetch.requests(Instant::now()).len(), PER_PEER);
        assert_eq!(fetch.piece_count(), 1024);
        // A new, invalid claim takes the peer out.
        assert!(fetch.add_peer(1, u64::MAX).is_err());
        assert!(fetch.requests(Instant::now()).is_empty());
    }
}
