//! The torrent's rules, driven directly: inputs in, actions checked, no sockets or disk.

use super::*;
use crate::session::contacts::Limits;
use std::sync::Arc;

/// Our id sorts after every `id_of` id, and before one filled with `b'~'`.
const LIMITS: Limits = Limits {
    max_peers: 4,
    max_peers_per_ip: 2,
    unchoke_slots: 2,
    our_id: PeerId([b'.'; 20]),
    listen_port: 6881,
};

/// A peer that speaks neither BEP 6 nor BEP 10.
const BEP3: Speaks = Speaks {
    extensions: false,
    fast: false,
};

/// Two pieces of two blocks each.
fn layout() -> Layout {
    Layout::new(2 * u64::from(BLOCK_SIZE), 4 * u64::from(BLOCK_SIZE)).unwrap()
}

fn piece(i: u32) -> PieceIndex {
    layout().piece(i).unwrap()
}

fn block(p: u32, b: u32) -> BlockRef {
    BlockRef {
        piece: piece(p),
        begin: b * BLOCK_SIZE,
        length: BLOCK_SIZE,
    }
}

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, last], port))
}

/// A peer id of its own for each connection.
fn id_of(key: PeerKey) -> PeerId {
    let mut id = [b'-'; 20];
    id[16..].copy_from_slice(&key.0.to_be_bytes());
    PeerId(id)
}

fn facts() -> TorrentFacts {
    TorrentFacts {
        layout: layout(),
        info_hash: InfoHash([0xaa; 20]),
        metadata: Bytes::from_static(b"d4:name1:xe"),
        private: false,
    }
}

fn machine(have: &Bitfield, seed_only: bool, now: Instant) -> TorrentMachine {
    TorrentMachine::new(facts(), have, Contacts::new(LIMITS), seed_only, now)
}

fn downloader(now: Instant) -> TorrentMachine {
    machine(&Bitfield::empty(&layout()), false, now)
}

fn seeder(now: Instant) -> TorrentMachine {
    machine(&Bitfield::full(&layout()), false, now)
}

fn io_error() -> SharedError {
    let e = crate::storage::StorageError::OutOfRange {
        piece: 0,
        begin: 0,
        end: 1,
    };
    Arc::new(e.into())
}

/// The messages sent to `key`, in order.
fn sent(actions: &[Action], key: PeerKey) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(k, m) if *k == key => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn requests(actions: &[Action], key: PeerKey) -> Vec<BlockRef> {
    sent(actions, key)
        .into_iter()
        .filter_map(|m| match m {
            Message::Request(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn closed(actions: &[Action], key: PeerKey) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Close(k) if *k == key))
}

fn data(b: BlockRef) -> bytes::Bytes {
    bytes::Bytes::from(vec![7u8; b.length as usize])
}

/// One block as a `piece` message.
fn block_message(b: BlockRef) -> Message {
    Message::Piece {
        piece: b.piece,
        begin: b.begin,
        data: data(b),
    }
}

/// The blocks to write, in order.
fn writes(actions: &[Action]) -> Vec<BlockRef> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Write(b, _) => Some(*b),
            _ => None,
        })
        .collect()
}

/// A peer that has everything connects and unchokes us; returns what the machine asks.
fn meet_seed(m: &mut TorrentMachine, key: PeerKey, at: SocketAddr, now: Instant) -> Vec<Action> {
    m.on_connected(key, at, id_of(key), false, BEP3, now);
    m.on_messages(
        key,
        vec![
            Message::Bitfield(Bitfield::full(&layout())),
            Message::Unchoke,
        ],
        now,
    );
    m.take_actions()
}

/// A downloader with one peer that has everything and unchoked us; returns what it asked.
fn unchoked_by_seed(m: &mut TorrentMachine, key: PeerKey, now: Instant) -> Vec<BlockRef> {
    let actions = meet_seed(m, key, addr(1, 1000 + key.0 as u16), now);
    assert!(sent(&actions, key).contains(&Message::Interested));
    requests(&actions, key)
}

/// Every block requested arrives, is written and hashed; returns the pieces to verify.
fn receive_all(
    m: &mut TorrentMachine,
    key: PeerKey,
    blocks: &[BlockRef],
    now: Instant,
) -> Vec<PieceIndex> {
    let messages = blocks.iter().copied().map(block_message).collect();
    m.on_messages(key, messages, now);
    let written = writes(&m.take_actions());
    assert_eq!(written.len(), blocks.len());
    for b in &written {
        m.on_written(b.piece, b.length, Ok(()));
    }
    m.take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Verify(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn a_seed_sends_its_bitfield_and_serves_requests_once_unchoked() {
    let now = Instant::now();
    let mut m = seeder(now);
    m.on_start();
    // Complete from the start: finished, but no download completed to announce.
    assert!(!m.announce().completed);
    assert!(m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Event(EventKind::Finished))));
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, BEP3, now);
    assert!(matches!(&sent(&m.take_actions(), key)[..], [Message::Bitfield(b)] if b.is_complete()));

    // A request while choked is dropped, not an offence.
    m.on_messages(key, vec![Message::Request(block(0, 0))], now);
    assert!(m.take_actions().is_empty());

    // Interested: a free slot unchokes at once; then requests are read.
    m.on_messages(key, vec![Message::Interested], now);
    assert_eq!(sent(&m.take_actions(), key), vec![Message::Unchoke]);
    m.on_messages(key, vec![Message::Request(block(1, 1))], now);
    let actions = m.take_actions();
    assert!(matches!(&actions[..], [Action::Read(k, b)] if *k == key && *b == block(1, 1)));
    m.on_read(key, block(1, 1), Ok(data(block(1, 1))));
    assert!(matches!(
        &sent(&m.take_actions(), key)[..],
        [Message::Piece { piece: p, begin, .. }] if *p == piece(1) && *begin == BLOCK_SIZE
    ));
    assert_eq!(m.status().uploaded, u64::from(BLOCK_SIZE));
    assert_eq!(m.status().state, State::Seeding);
}

#[test]
fn a_cancelled_request_is_not_sent_after_its_read() {
    let now = Instant::now();
    let mut m = seeder(now);
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, BEP3, now);
    m.on_messages(
        key,
        vec![Message::Interested, Message::Request(block(0, 0))],
        now,
    );
    m.take_actions();
    m.on_messages(key, vec![Message::Cancel(block(0, 0))], now);
    m.on_read(key, block(0, 0), Ok(data(block(0, 0))));
    assert!(sent(&m.take_actions(), key).is_empty());
}

#[test]
fn breaking_a_rule_closes_the_connection_and_is_counted() {
    let now = Instant::now();
    let mut m = downloader(now);
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, BEP3, now);
    m.on_messages(key, vec![Message::Interested], now);
    m.take_actions();
    // We have nothing: a request is for a piece we do not have.
    m.on_messages(
        key,
        vec![Message::Request(block(0, 0)), Message::KeepAlive],
        now,
    );
    assert!(closed(&m.take_actions(), key));
    assert_eq!(m.status().peers, 0);
    assert_eq!(m.status().disconnects.get(DisconnectReason::RuleBroken), 1);
}

#[test]
fn a_flood_of_requests_closes_the_connection() {
    let now = Instant::now();
    let layout = Layout::new(u64::from(BLOCK_SIZE), 600 * u64::from(BLOCK_SIZE)).unwrap();
    let mut m = TorrentMachine::new(
        TorrentFacts { layout, ..facts() },
        &Bitfield::full(&layout),
        Contacts::new(LIMITS),
        false,
        now,
    );
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, BEP3, now);
    m.on_messages(key, vec![Message::Interested], now);
    let requests: Vec<Message> = (0..=MAX_QUEUED_REQUESTS as u32)
        .map(|i| {
            Message::Request(BlockRef {
                piece: layout.piece(i).unwrap(),
                begin: 0,
                length: BLOCK_SIZE,
            })
        })
        .collect();
    m.on_messages(key, requests, now);
    let actions = m.take_actions();
    assert!(closed(&actions, key));
    let reads = actions
        .iter()
        .filter(|a| matches!(a, Action::Read(..)))
        .count();
    assert_eq!(reads, MAX_QUEUED_REQUESTS);
}

#[test]
fn a_download_requests_writes_verifies_and_finishes() {
    let now = Instant::now();
    let mut m = downloader(now);
    let key = PeerKey(1);
    let asked = unchoked_by_seed(&mut m, key, now);
    assert_eq!(asked.len(), 4, "every block of a small torrent at once");
    let to_verify = receive_all(&mut m, key, &asked, now);
    assert_eq!(to_verify.len(), 2);
    assert_eq!(m.status().downloaded, 4 * u64::from(BLOCK_SIZE));
    m.on_checked(to_verify[0], Ok(true));
    let actions = m.take_actions();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Writeback(p) if *p == to_verify[0])));
    assert!(sent(&actions, key).contains(&Message::Have(to_verify[0])));
    assert_eq!(m.status().state, State::Downloading);

    m.on_checked(to_verify[1], Ok(true));
    let actions = m.take_actions();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(EventKind::Finished))));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::SaveResume(have) if have.is_complete())));
    // The peer is a seed too: dropped.
    assert!(closed(&actions, key));
    let status = m.status();
    assert_eq!(status.state, State::Seeding);
    assert!(status.is_finished());
    assert_eq!(status.disconnects.get(DisconnectReason::BothSeeding), 1);
    assert!(m.announce().completed);
}

#[test]
fn a_block_never_asked_for_is_not_written() {
    let now = Instant::now();
    let mut m = downloader(now);
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, BEP3, now);
    m.take_actions();
    let b = block(0, 0);
    m.on_messages(key, vec![block_message(b)], now);
    assert!(m.take_actions().is_empty());
    assert_eq!(m.status().downloaded, 0);
}

#[test]
fn a_piece_failed_by_its_only_sender_bans_it() {
    let now = Instant::now();
    let mut m = downloader(now);
    let key = PeerKey(1);
    let asked = unchoked_by_seed(&mut m, key, now);
    let to_verify = receive_all(&mut m, key, &asked, now);
    m.on_checked(to_verify[0], Ok(false));
    let actions = m.take_actions();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(EventKind::HashFailed(p)) if *p == to_verify[0].get())));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(EventKind::PeerBanned(_)))));
    assert!(closed(&actions, key));
    assert_eq!(m.status().disconnects.get(DisconnectReason::Banned), 1);

    // It is refused when it comes back, and never tried again.
    m.on_connected(PeerKey(2), addr(1, 9), id_of(PeerKey(2)), false, BEP3, now);
    assert!(closed(&m.take_actions(), PeerKey(2)));
    m.on_peers([addr(1, 10)]);
    assert!(!m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Connect(_))));
}

#[test]
fn smart_ban_bans_only_the_sender_whose_block_differed() {
    let now = Instant::now();
    let mut m = downloader(now);
    let (honest, liar) = (PeerKey(1), PeerKey(2));
    // The honest peer is asked for every block, sends the first one, then chokes us.
    unchoked_by_seed(&mut m, honest, now);
    m.on_messages(
        honest,
        vec![block_message(block(0, 0)), Message::Choke],
        now,
    );
    let first = writes(&m.take_actions());
    // The liar gets the rest of the piece.
    let actions = meet_seed(&mut m, liar, addr(2, 1), now);
    assert!(requests(&actions, liar).contains(&block(0, 1)));
    m.on_messages(liar, vec![block_message(block(0, 1))], now);
    let second = writes(&m.take_actions());
    for b in first.iter().chain(&second) {
        m.on_written(b.piece, b.length, Ok(()));
    }
    m.take_actions();

    // Two senders: nobody is banned yet; each block is hashed as it is on disk.
    m.on_checked(piece(0), Ok(false));
    let actions = m.take_actions();
    assert!(!closed(&actions, honest) && !closed(&actions, liar));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::HashBlocks { piece: p, passed: false } if *p == piece(0))));
    m.on_block_hashes(piece(0), false, vec![(0, [1; 20]), (BLOCK_SIZE, [2; 20])]);

    // The piece is asked again (of the liar, the only peer unchoking us) and passes.
    let again = requests(&actions, liar);
    assert!(again.contains(&block(0, 0)) && again.contains(&block(0, 1)));
    let messages = [block(0, 0), block(0, 1)].map(block_message).to_vec();
    m.on_messages(liar, messages, now);
    for b in writes(&m.take_actions()) {
        m.on_written(b.piece, b.length, Ok(()));
    }
    m.take_actions();
    m.on_checked(piece(0), Ok(true));
    assert!(m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::HashBlocks { piece: p, passed: true } if *p == piece(0))));
    // The good copy differs in the liar's block only.
    m.on_block_hashes(piece(0), true, vec![(0, [1; 20]), (BLOCK_SIZE, [9; 20])]);
    let actions = m.take_actions();
    assert!(closed(&actions, liar));
    assert!(!closed(&actions, honest));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(EventKind::PeerBanned(ip)) if *ip == addr(2, 1).ip())));
}

#[test]
fn smart_ban_remembers_every_failed_copy_until_the_piece_passes() {
    let now = Instant::now();
    let mut m = downloader(now);
    let ip = |n: u8| addr(n, 1).ip();
    let banned = |actions: &[Action]| -> Vec<IpAddr> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event(EventKind::PeerBanned(ip)) => Some(*ip),
                _ => None,
            })
            .collect()
    };
    // The piece fails with blocks from A (a liar) and B, then again with C (a liar) and B.
    for liar in [1, 3] {
        m.senders.insert((piece(0), 0), ip(liar));
        m.senders.insert((piece(0), BLOCK_SIZE), ip(2));
        m.on_checked(piece(0), Ok(false));
        m.on_block_hashes(
            piece(0),
            false,
            vec![(0, [liar; 20]), (BLOCK_SIZE, [2; 20])],
        );
    }
    assert!(banned(&m.take_actions()).is_empty());
    // The good copy differs in block 0 only: both liars are banned, B is not. (Before, the
    // second failure replaced the first one's evidence, and A went free.)
    m.on_block_hashes(piece(0), true, vec![(0, [9; 20]), (BLOCK_SIZE, [2; 20])]);
    let mut got = banned(&m.take_actions());
    got.sort();
    assert_eq!(got, vec![ip(1), ip(3)]);
}

#[test]
fn smart_ban_blames_the_senders_of_the_failed_copy_not_of_the_next_one() {
    let now = Instant::now();
    let mut m = downloader(now);
    let (liar, honest) = (addr(1, 1).ip(), addr(2, 1).ip());
    // The liar sent block 0 and the honest peer block 1: the piece fails, and its blocks
    // are hashed as they are on disk (the disk thread answers later).
    m.senders.insert((piece(0), 0), liar);
    m.senders.insert((piece(0), BLOCK_SIZE), honest);
    m.on_checked(piece(0), Ok(false));
    // Meanwhile block 0 is asked again and comes from the honest peer.
    m.senders.insert((piece(0), 0), honest);
    m.on_block_hashes(piece(0), false, vec![(0, [1; 20]), (BLOCK_SIZE, [2; 20])]);
    // The good copy: block 0 differed. The liar is banned; the honest peer is not (before,
    // the hash of the liar's block was blamed on whoever had sent block 0 last).
    m.on_block_hashes(piece(0), true, vec![(0, [9; 20]), (BLOCK_SIZE, [2; 20])]);
    let banned: Vec<IpAddr> = m
        .take_actions()
        .iter()
        .filter_map(|a| match a {
            Action::Event(EventKind::PeerBanned(ip)) => Some(*ip),
            _ => None,
        })
        .collect();
    assert_eq!(banned, vec![liar]);
}

#[test]
fn a_write_error_stops_the_torrent_until_resumed() {
    let now = Instant::now();
    let mut m = downloader(now);
    let key = PeerKey(1);
    let asked = unchoked_by_seed(&mut m, key, now);
    let b = asked[0];
    m.on_messages(key, vec![block_message(b)], now);
    m.take_actions();
    m.on_written(b.piece, b.length, Err(io_error()));
    let actions = m.take_actions();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Event(EventKind::StorageError(_)))));
    assert!(closed(&actions, key));
    assert_eq!(m.status().state, State::Error);
    assert!(m.announce().paused);
    assert_eq!(m.status().disconnects.get(DisconnectReason::Paused), 1);

    // Resumed: the peer we had is tried again.
    m.resume();
    assert_eq!(m.status().state, State::Downloading);
    assert!(m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Connect(x) if *x == addr(1, 1001))));
}

#[test]
fn a_peer_connected_both_ways_keeps_the_connection_the_lower_id_opened() {
    // Each side dialled the other: a connection to its listening port, one from another port.
    let now = Instant::now();
    let mut m = seeder(now);
    let lower = id_of(PeerKey(1));
    assert!(lower < LIMITS.our_id);
    m.on_connected(PeerKey(1), addr(1, 6881), lower, true, BEP3, now);
    m.on_connected(PeerKey(2), addr(1, 40000), lower, false, BEP3, now);
    // Its id is lower: the connection it opened stays, ours goes.
    let actions = m.take_actions();
    assert!(closed(&actions, PeerKey(1)) && !closed(&actions, PeerKey(2)));
    assert_eq!(m.status().peers, 1);

    let higher = PeerId([b'~'; 20]);
    assert!(higher > LIMITS.our_id);
    m.on_connected(PeerKey(3), addr(2, 6881), higher, true, BEP3, now);
    m.on_connected(PeerKey(4), addr(2, 40000), higher, false, BEP3, now);
    // Ours is lower: the connection we opened stays, its goes.
    let actions = m.take_actions();
    assert!(closed(&actions, PeerKey(4)) && !closed(&actions, PeerKey(3)));
    assert_eq!(m.status().peers, 2);
    assert_eq!(m.status().disconnects.get(DisconnectReason::Duplicate), 2);
}

#[test]
fn pause_drops_peers_and_refuses_new_ones() {
    let now = Instant::now();
    let mut m = seeder(now);
    m.on_connected(PeerKey(1), addr(1, 1), id_of(PeerKey(1)), false, BEP3, now);
    m.take_actions();
    m.pause();
    assert!(closed(&m.take_actions(), PeerKey(1)));
    assert_eq!(m.status().state, State::Paused);
    m.on_connected(PeerKey(2), addr(2, 1), id_of(PeerKey(2)), false, BEP3, now);
    assert!(closed(&m.take_actions(), PeerKey(2)));
    m.on_peers([addr(3, 1)]);
    assert!(m.take_actions().is_empty(), "no connection while paused");
    assert_eq!(m.status().disconnects.get(DisconnectReason::Paused), 2);
}

#[test]
fn connection_limits_per_torrent_and_per_address() {
    let now = Instant::now();
    let mut m = seeder(now);
    // Two from one address, a third is refused.
    for (i, port) in [1, 2, 3].into_iter().enumerate() {
        m.on_connected(
            PeerKey(i as u32),
            addr(1, port),
            id_of(PeerKey(i as u32)),
            false,
            BEP3,
            now,
        );
    }
    assert!(closed(&m.take_actions(), PeerKey(2)));
    // The same address twice is refused.
    m.on_connected(
        PeerKey(10),
        addr(1, 1),
        id_of(PeerKey(10)),
        false,
        BEP3,
        now,
    );
    assert!(closed(&m.take_actions(), PeerKey(10)));
    // Up to four peers in all.
    for (i, last) in [2, 3, 4].into_iter().enumerate() {
        m.on_connected(
            PeerKey(20 + i as u32),
            addr(last, 1),
            id_of(PeerKey(20 + i as u32)),
            false,
            BEP3,
            now,
        );
    }
    assert!(closed(&m.take_actions(), PeerKey(22)));
    assert_eq!(m.status().peers, 4);
    assert_eq!(m.status().disconnects.get(DisconnectReason::Limit), 3);
    // Candidates beyond the limit wait.
    m.on_peers([addr(9, 1)]);
    assert!(m.take_actions().is_empty());
    m.on_closed(PeerKey(0), Some(DisconnectReason::ClosedByPeer));
    assert_eq!(m.status().peers, 3);
    m.on_tick(now, Duration::from_millis(500));
    assert!(m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Connect(x) if *x == addr(9, 1))));
    assert_eq!(
        m.status().disconnects.get(DisconnectReason::ClosedByPeer),
        1
    );
}

#[test]
fn candidates_are_connected_to_once_each() {
    let now = Instant::now();
    let mut m = downloader(now);
    m.on_peers([addr(1, 1), addr(1, 1), addr(2, 1)]);
    let connects: Vec<SocketAddr> = m
        .take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Connect(x) => Some(x),
            _ => None,
        })
        .collect();
    assert_eq!(connects, vec![addr(1, 1), addr(2, 1)]);
    m.on_peers([addr(1, 1)]);
    assert!(m.take_actions().is_empty(), "already connecting");
    m.on_connect_failed(addr(1, 1));
    m.on_peers([addr(1, 1)]);
    assert_eq!(m.take_actions().len(), 1);
}

#[test]
fn unanswered_requests_time_out_and_are_asked_again() {
    let now = Instant::now();
    let mut m = downloader(now);
    let key = PeerKey(1);
    let asked = unchoked_by_seed(&mut m, key, now);
    assert!(!asked.is_empty());
    m.on_tick(now + REQUEST_TIMEOUT / 2, Duration::from_millis(500));
    assert!(requests(&m.take_actions(), key).is_empty(), "still in time");
    m.on_tick(
        now + REQUEST_TIMEOUT + Duration::from_secs(1),
        Duration::from_millis(500),
    );
    let mut again = requests(&m.take_actions(), key);
    again.sort_by_key(|b| (b.piece, b.begin));
    let mut asked = asked;
    asked.sort_by_key(|b| (b.piece, b.begin));
    assert_eq!(again, asked, "back to the picker, and out again");
}

#[test]
fn a_full_disk_queue_holds_requests_back() {
    let now = Instant::now();
    let blocks = (MAX_QUEUED_WRITES / u64::from(BLOCK_SIZE)) as u32 + 64;
    let layout = Layout::new(
        u64::from(BLOCK_SIZE),
        u64::from(blocks) * u64::from(BLOCK_SIZE),
    )
    .unwrap();
    let mut m = TorrentMachine::new(
        TorrentFacts { layout, ..facts() },
        &Bitfield::empty(&layout),
        Contacts::new(LIMITS),
        false,
        now,
    );
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, BEP3, now);
    m.on_messages(
        key,
        vec![Message::Bitfield(Bitfield::full(&layout)), Message::Unchoke],
        now,
    );
    let mut asked = requests(&m.take_actions(), key);
    let mut written = Vec::new();
    // Deliver everything asked, never reporting it written, until requests stop.
    while !asked.is_empty() {
        let messages = asked.iter().copied().map(block_message).collect();
        m.on_messages(key, messages, now);
        let actions = m.take_actions();
        written.extend(writes(&actions));
        asked = requests(&actions, key);
        assert!(written.len() as u32 <= blocks);
    }
    let queued = written.len() as u64 * u64::from(BLOCK_SIZE);
    assert!(queued >= MAX_QUEUED_WRITES, "stopped at {queued} bytes");
    assert!(queued < MAX_QUEUED_WRITES + 600 * u64::from(BLOCK_SIZE));
    // The disk catches up: requests flow again.
    for b in written {
        m.on_written(b.piece, b.length, Ok(()));
    }
    assert!(!requests(&m.take_actions(), key).is_empty());
}

#[test]
fn seeding_from_the_original_data_is_never_interested() {
    let now = Instant::now();
    let mut have = Bitfield::empty(&layout());
    have.set(piece(0));
    let mut m = machine(&have, true, now);
    let key = PeerKey(1);
    let messages = sent(&meet_seed(&mut m, key, addr(1, 1), now), key);
    assert!(!messages.contains(&Message::Interested));
    assert!(requests(&m.take_actions(), key).is_empty());
}

#[test]
fn the_resume_round_saves_only_after_progress() {
    let now = Instant::now();
    let mut m = downloader(now);
    m.on_resume_round();
    assert!(m.take_actions().is_empty());
    let key = PeerKey(1);
    let asked = unchoked_by_seed(&mut m, key, now);
    let to_verify = receive_all(&mut m, key, &asked, now);
    m.on_checked(to_verify[0], Ok(true));
    m.take_actions();
    m.on_resume_round();
    assert!(matches!(&m.take_actions()[..], [Action::SaveResume(have)] if have.count() == 1));
    m.on_resume_round();
    assert!(m.take_actions().is_empty());
}

#[test]
fn choking_rounds_unchoke_the_best_uploaders() {
    let now = Instant::now();
    let mut m = seeder(now);
    for i in 0..4u32 {
        m.on_connected(
            PeerKey(i),
            addr(i as u8 + 1, 1),
            id_of(PeerKey(i)),
            false,
            BEP3,
            now,
        );
    }
    m.take_actions();
    for i in 0..4u32 {
        m.on_messages(PeerKey(i), vec![Message::Interested], now);
    }
    m.take_actions();
    m.on_choke_round(now);
    m.take_actions();
    let unchoked = (0..4u32)
        .filter(|i| !m.peers[&PeerKey(*i)].choking_them)
        .count();
    // Two regular slots and one optimistic.
    assert_eq!(unchoked, LIMITS.unchoke_slots + 1);
}

#[test]
fn a_slow_reader_is_dropped_and_counted() {
    let now = Instant::now();
    let mut m = seeder(now);
    m.on_connected(PeerKey(1), addr(1, 1), id_of(PeerKey(1)), false, BEP3, now);
    m.take_actions();
    m.drop_peer(PeerKey(1), DisconnectReason::SlowReader);
    assert!(closed(&m.take_actions(), PeerKey(1)));
    // Its task's end, reported afterwards, is not counted twice.
    m.on_closed(PeerKey(1), None);
    let status = m.status();
    assert_eq!(status.disconnects.get(DisconnectReason::SlowReader), 1);
    assert_eq!(status.disconnects.total(), 1);
}

// BEP 6, BEP 10, BEP 9 and BEP 11 at the machine.

const FAST: Speaks = Speaks {
    extensions: false,
    fast: true,
};
const EXTENDED: Speaks = Speaks {
    extensions: true,
    fast: true,
};

/// 40 pieces of one block: more than the allowed-fast set's 10.
fn wide() -> TorrentFacts {
    let layout = Layout::new(u64::from(BLOCK_SIZE), 40 * u64::from(BLOCK_SIZE)).unwrap();
    TorrentFacts { layout, ..facts() }
}

fn wide_block(facts: &TorrentFacts, p: u32) -> BlockRef {
    BlockRef {
        piece: facts.layout.piece(p).unwrap(),
        begin: 0,
        length: BLOCK_SIZE,
    }
}

fn reads(actions: &[Action]) -> Vec<BlockRef> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Read(_, b) => Some(*b),
            _ => None,
        })
        .collect()
}

#[test]
fn with_the_fast_extension_a_peer_hears_have_all_or_have_none_and_its_allowed_fast_set() {
    let now = Instant::now();
    let mut m = seeder(now);
    m.on_connected(PeerKey(1), addr(1, 1), id_of(PeerKey(1)), false, FAST, now);
    let got = sent(&m.take_actions(), PeerKey(1));
    // Two pieces: the set (10 at most) holds both.
    assert_eq!(
        got,
        [
            Message::HaveAll,
            Message::AllowedFast(piece(0)),
            Message::AllowedFast(piece(1))
        ]
    );
    let mut m = downloader(now);
    m.on_connected(PeerKey(1), addr(1, 1), id_of(PeerKey(1)), false, FAST, now);
    // Nothing to grant: we have nothing.
    assert_eq!(sent(&m.take_actions(), PeerKey(1)), [Message::HaveNone]);
    // Without the fast extension, a plain bitfield (none when we have nothing).
    m.on_connected(PeerKey(2), addr(2, 1), id_of(PeerKey(2)), false, BEP3, now);
    assert!(sent(&m.take_actions(), PeerKey(2)).is_empty());
}

#[test]
fn while_choked_a_fast_peer_is_served_its_allowed_fast_pieces_and_rejected_the_rest() {
    let now = Instant::now();
    let facts = wide();
    let full = Bitfield::full(&facts.layout);
    let mut m = TorrentMachine::new(facts.clone(), &full, Contacts::new(LIMITS), false, now);
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, FAST, now);
    let granted: Vec<PieceIndex> = sent(&m.take_actions(), key)
        .into_iter()
        .filter_map(|msg| match msg {
            Message::AllowedFast(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(granted.len(), ALLOWED_FAST_COUNT);
    let other = facts
        .layout
        .pieces()
        .find(|p| !granted.contains(p))
        .unwrap();
    let allowed = wide_block(&facts, granted[0].get());
    let refused = wide_block(&facts, other.get());
    m.on_messages(
        key,
        vec![Message::Request(allowed), Message::Request(refused)],
        now,
    );
    let actions = m.take_actions();
    assert_eq!(reads(&actions), [allowed]);
    assert_eq!(sent(&actions, key), [Message::Reject(refused)]);
    // A request for a piece we do not have is rejected too, not a rule broken.
    let mut d = TorrentMachine::new(
        facts.clone(),
        &Bitfield::empty(&facts.layout),
        Contacts::new(LIMITS),
        false,
        now,
    );
    d.on_connected(key, addr(1, 1), id_of(key), false, FAST, now);
    d.on_messages(key, vec![Message::Interested], now);
    d.take_actions();
    d.on_messages(key, vec![Message::Request(refused)], now);
    let actions = d.take_actions();
    assert_eq!(sent(&actions, key), [Message::Reject(refused)]);
    assert!(!closed(&actions, key));
}

#[test]
fn a_choke_rejects_the_requests_being_read_and_a_cancel_is_answered() {
    let now = Instant::now();
    let mut m = seeder(now);
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, FAST, now);
    m.on_messages(key, vec![Message::Interested], now);
    m.take_actions();
    // Both pieces are in its allowed-fast set, so a choke keeps them: a cancel is answered.
    m.on_messages(key, vec![Message::Request(block(0, 0))], now);
    m.on_messages(key, vec![Message::Cancel(block(0, 0))], now);
    assert_eq!(sent(&m.take_actions(), key), [Message::Reject(block(0, 0))]);
    // A request outside its allowed-fast set, being read when we choke it, is rejected.
    let facts = wide();
    let full = Bitfield::full(&facts.layout);
    let mut m = TorrentMachine::new(facts.clone(), &full, Contacts::new(LIMITS), false, now);
    m.on_connected(key, addr(1, 1), id_of(key), false, FAST, now);
    let granted: Vec<Message> = sent(&m.take_actions(), key);
    let other = facts
        .layout
        .pieces()
        .find(|p| !granted.contains(&Message::AllowedFast(*p)))
        .unwrap();
    let b = wide_block(&facts, other.get());
    m.on_messages(key, vec![Message::Interested], now);
    m.on_messages(key, vec![Message::Request(b)], now);
    assert_eq!(reads(&m.take_actions()), [b]);
    m.on_messages(key, vec![Message::NotInterested], now);
    assert_eq!(
        sent(&m.take_actions(), key),
        [Message::Choke, Message::Reject(b)]
    );
    // Its read comes back: not sent.
    m.on_read(key, b, Ok(data(b)));
    assert!(sent(&m.take_actions(), key).is_empty());
}

#[test]
fn a_reject_gives_the_block_back_and_a_fast_choke_keeps_our_requests() {
    let now = Instant::now();
    let mut m = downloader(now);
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, FAST, now);
    m.on_messages(key, vec![Message::HaveAll, Message::Unchoke], now);
    let asked = requests(&m.take_actions(), key);
    assert_eq!(asked.len(), 4);
    // A choke alone keeps them outstanding: the peer rejects each it will not serve.
    m.on_messages(key, vec![Message::Choke], now);
    assert!(requests(&m.take_actions(), key).is_empty());
    m.on_messages(key, vec![Message::Unchoke, Message::Reject(asked[0])], now);
    let again = requests(&m.take_actions(), key);
    assert_eq!(again, [asked[0]], "the rejected block is asked for again");
    // A reject of a request never sent (it crossed a cancel) is no offence.
    m.on_messages(
        key,
        vec![Message::Reject(asked[0]), Message::Reject(asked[0])],
        now,
    );
    assert!(!closed(&m.take_actions(), key));
}

#[test]
fn fast_extension_messages_from_a_peer_that_did_not_offer_it_break_a_rule() {
    let now = Instant::now();
    for message in [
        Message::HaveAll,
        Message::HaveNone,
        Message::Reject(block(0, 0)),
        Message::AllowedFast(piece(0)),
        Message::Suggest(piece(0)),
    ] {
        let mut m = downloader(now);
        m.on_connected(PeerKey(1), addr(1, 1), id_of(PeerKey(1)), false, BEP3, now);
        m.on_messages(PeerKey(1), vec![message.clone()], now);
        assert!(closed(&m.take_actions(), PeerKey(1)), "{message:?}");
        assert_eq!(m.status().disconnects.get(DisconnectReason::RuleBroken), 1);
    }
}

/// Our extended handshake, as `key` heard it.
fn our_handshake(actions: &[Action], key: PeerKey) -> ExtendedHandshake {
    sent(actions, key)
        .into_iter()
        .find_map(|msg| match msg {
            Message::Extended { id: 0, payload } => {
                Some(ExtendedHandshake::decode(&payload).unwrap())
            }
            _ => None,
        })
        .expect("an extended handshake")
}

fn their_handshake(metadata_id: Option<u8>, pex_id: Option<u8>, port: Option<u16>) -> Message {
    let theirs = ExtendedHandshake {
        metadata_id,
        pex_id,
        port,
        ..ExtendedHandshake::default()
    };
    Message::Extended {
        id: HANDSHAKE_ID,
        payload: theirs.encode().into(),
    }
}

#[test]
fn the_extended_handshake_offers_metadata_and_pex_but_no_pex_for_a_private_torrent() {
    let now = Instant::now();
    let mut m = seeder(now);
    m.on_connected(
        PeerKey(1),
        addr(1, 1),
        id_of(PeerKey(1)),
        true,
        EXTENDED,
        now,
    );
    let ours = our_handshake(&m.take_actions(), PeerKey(1));
    assert_eq!(ours.metadata_id, Some(Extension::Metadata.local_id()));
    assert_eq!(ours.pex_id, Some(Extension::Pex.local_id()));
    assert_eq!(ours.metadata_size, Some(facts().metadata.len() as u64));
    assert_eq!(ours.port, Some(LIMITS.listen_port));
    assert_eq!(ours.your_ip, Some(addr(1, 1).ip()));
    assert_eq!(ours.reqq, Some(MAX_QUEUED_REQUESTS as u32));
    assert!(ours.client.unwrap().starts_with("bittern "));
    let private = TorrentFacts {
        private: true,
        ..facts()
    };
    let mut m = TorrentMachine::new(
        private,
        &Bitfield::full(&layout()),
        Contacts::new(LIMITS),
        false,
        now,
    );
    m.on_connected(
        PeerKey(1),
        addr(1, 1),
        id_of(PeerKey(1)),
        true,
        EXTENDED,
        now,
    );
    let ours = our_handshake(&m.take_actions(), PeerKey(1));
    assert_eq!((ours.metadata_id.is_some(), ours.pex_id), (true, None));
}

#[test]
fn extended_messages_are_checked_and_unknown_ids_ignored() {
    let now = Instant::now();
    let bad = |speaks: Speaks, message: Message| {
        let mut m = seeder(now);
        m.on_connected(
            PeerKey(1),
            addr(1, 1),
            id_of(PeerKey(1)),
            false,
            speaks,
            now,
        );
        m.on_messages(PeerKey(1), vec![message], now);
        let actions = m.take_actions();
        (closed(&actions, PeerKey(1)), m.status().disconnects)
    };
    let garbage = Message::Extended {
        id: HANDSHAKE_ID,
        payload: bytes::Bytes::from_static(b"i3e"),
    };
    let (closed_, why) = bad(EXTENDED, garbage.clone());
    assert!(closed_ && why.get(DisconnectReason::Malformed) == 1);
    let (closed_, why) = bad(FAST, garbage);
    assert!(closed_ && why.get(DisconnectReason::RuleBroken) == 1);
    let unknown = Message::Extended {
        id: 77,
        payload: bytes::Bytes::from_static(b"anything"),
    };
    assert!(!bad(EXTENDED, unknown).0);
}

#[test]
fn metadata_requests_are_answered_with_our_info_bytes_or_a_reject() {
    let now = Instant::now();
    let mut m = seeder(now);
    let key = PeerKey(1);
    m.on_connected(key, addr(1, 1), id_of(key), false, EXTENDED, now);
    m.on_messages(key, vec![their_handshake(Some(9), None, None)], now);
    m.take_actions();
    let ask = |piece| Message::Extended {
        id: Extension::Metadata.local_id(),
        payload: MetadataMessage::Request { piece }.encode().into(),
    };
    m.on_messages(key, vec![ask(0), ask(1)], now);
    let answers: Vec<MetadataMessage> = sent(&m.take_actions(), key)
        .into_iter()
        .map(|msg| match msg {
            Message::Extended { id: 9, payload } => {
                MetadataMessage::decode(payload).unwrap().unwrap()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let info = facts().metadata;
    assert_eq!(
        answers,
        [
            MetadataMessage::Data {
                piece: 0,
                total_size: info.len() as u64,
                data: info
            },
            MetadataMessage::Reject { piece: 1 }
        ]
    );
}

#[test]
fn pex_tells_each_peer_of_the_others_once_a_minute_and_adds_what_it_hears() {
    let now = Instant::now();
    let mut m = downloader(now);
    // Peer 1 we dialled; peer 2 dialled us and listens where its handshake says.
    m.on_connected(
        PeerKey(1),
        addr(1, 6881),
        id_of(PeerKey(1)),
        true,
        EXTENDED,
        now,
    );
    m.on_connected(
        PeerKey(2),
        addr(2, 50000),
        id_of(PeerKey(2)),
        false,
        EXTENDED,
        now,
    );
    m.on_messages(PeerKey(1), vec![their_handshake(None, Some(5), None)], now);
    m.on_messages(
        PeerKey(2),
        vec![their_handshake(None, Some(6), Some(7000))],
        now,
    );
    m.take_actions();
    m.on_tick(now, Duration::from_millis(500));
    let pex_to = |actions: &[Action], key: PeerKey, id: u8| -> Vec<PexMessage> {
        sent(actions, key)
            .into_iter()
            .filter_map(|msg| match msg {
                Message::Extended { id: got, payload } if got == id => {
                    Some(PexMessage::decode(&payload).unwrap())
                }
                _ => None,
            })
            .collect()
    };
    let actions = m.take_actions();
    let to_1 = pex_to(&actions, PeerKey(1), 5);
    let to_2 = pex_to(&actions, PeerKey(2), 6);
    assert_eq!(to_1.len(), 1);
    assert_eq!(to_1[0].added, [(addr(2, 7000), PexFlags(0))]);
    assert_eq!(
        to_2[0].added,
        [(addr(1, 6881), PexFlags(PexFlags::REACHABLE))]
    );
    // Nothing more within the minute, even after a change.
    m.on_closed(PeerKey(2), Some(DisconnectReason::ClosedByPeer));
    m.on_tick(now + Duration::from_secs(30), Duration::from_millis(500));
    assert!(pex_to(&m.take_actions(), PeerKey(1), 5).is_empty());
    m.on_tick(now + PEX_INTERVAL, Duration::from_millis(500));
    let dropped = pex_to(&m.take_actions(), PeerKey(1), 5);
    assert_eq!(dropped[0].dropped, [addr(2, 7000)]);
    // What a peer tells us is dialled; a second message within 30 s is ignored.
    let tell = |a: SocketAddr| Message::Extended {
        id: Extension::Pex.local_id(),
        payload: PexMessage {
            added: vec![(a, PexFlags(0))],
            dropped: Vec::new(),
        }
        .encode()
        .into(),
    };
    let later = now + PEX_INTERVAL;
    m.on_messages(PeerKey(1), vec![tell(addr(9, 9))], later);
    assert!(m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Connect(x) if *x == addr(9, 9))));
    m.on_messages(
        PeerKey(1),
        vec![tell(addr(8, 8))],
        later + Duration::from_secs(1),
    );
    assert!(!m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Connect(_))));
}

#[test]
fn a_private_torrent_neither_sends_nor_takes_pex() {
    let now = Instant::now();
    let private = TorrentFacts {
        private: true,
        ..facts()
    };
    let mut m = TorrentMachine::new(
        private,
        &Bitfield::empty(&layout()),
        Contacts::new(LIMITS),
        false,
        now,
    );
    m.on_connected(
        PeerKey(1),
        addr(1, 6881),
        id_of(PeerKey(1)),
        true,
        EXTENDED,
        now,
    );
    m.on_connected(
        PeerKey(2),
        addr(2, 6881),
        id_of(PeerKey(2)),
        true,
        EXTENDED,
        now,
    );
    for key in [PeerKey(1), PeerKey(2)] {
        m.on_messages(key, vec![their_handshake(None, Some(5), None)], now);
    }
    let tell = Message::Extended {
        id: Extension::Pex.local_id(),
        payload: PexMessage {
            added: vec![(addr(9, 9), PexFlags(0))],
            dropped: Vec::new(),
        }
        .encode()
        .into(),
    };
    m.on_messages(PeerKey(1), vec![tell], now);
    m.on_tick(now, Duration::from_millis(500));
    let actions = m.take_actions();
    assert!(!actions.iter().any(|a| matches!(a, Action::Connect(_))));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::Send(_, Message::Extended { id: 5, .. }))));
}

#[test]
fn a_failed_dial_is_tried_again_three_times_later_and_later() {
    let now = Instant::now();
    let mut m = downloader(now);
    let a = addr(1, 1);
    m.on_peers([a]);
    let dials = |actions: Vec<Action>| {
        actions
            .iter()
            .filter(|x| matches!(x, Action::Connect(_)))
            .count()
    };
    assert_eq!(dials(m.take_actions()), 1);
    let mut at = now;
    for wait in [5, 20, 80] {
        m.on_connect_failed(a);
        m.on_tick(
            at + Duration::from_secs(wait - 1),
            Duration::from_millis(500),
        );
        assert_eq!(dials(m.take_actions()), 0, "not before {wait} s");
        at += Duration::from_secs(wait);
        m.on_tick(at, Duration::from_millis(500));
        assert_eq!(dials(m.take_actions()), 1, "again after {wait} s");
    }
    m.on_connect_failed(a);
    m.on_tick(at + Duration::from_secs(3600), Duration::from_millis(500));
    assert_eq!(dials(m.take_actions()), 0, "given up");
}
