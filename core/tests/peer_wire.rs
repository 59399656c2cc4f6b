//! The peer wire protocol over loopback: two tasks handshake (one connecting, one accepting)
//! and trade messages; refusals of unknown torrents, of ourselves and of silent peers; a peer
//! that breaks the wire format after a good handshake.

use bittern_core::peer::{
    accept_handshake, connect_handshake, Connection, Handshake, Message, PeerError, SharedLayout,
    HANDSHAKE_LEN,
};
use bittern_core::piece::{Bitfield, BlockRef, Layout, BLOCK_SIZE};
use bittern_core::tracker::PeerId;
use bittern_core::InfoHash;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const TORRENT: InfoHash = InfoHash([0x11; 20]);
const OTHER: InfoHash = InfoHash([0x22; 20]);
const SEEDER: PeerId = PeerId(*b"-BI0100-seeder000000");
const LEECHER: PeerId = PeerId(*b"-BI0100-leecher00000");
const TIMEOUT: Duration = Duration::from_secs(10);

/// Four pieces: three of 32 KiB and a last one of 20000 bytes.
fn shared_layout() -> SharedLayout {
    std::sync::Arc::new(layout().into())
}

fn layout() -> Layout {
    Layout::new(32768, 3 * 32768 + 20000).unwrap()
}

/// The torrent's byte at `offset`.
fn byte_at(offset: u64) -> u8 {
    (offset % 251) as u8
}

fn block_data(l: &Layout, b: &BlockRef) -> Bytes {
    let start = l.piece_offset(b.piece) + u64::from(b.begin);
    (start..start + u64::from(b.length)).map(byte_at).collect()
}

/// The seeder's side of the lookup: only [`TORRENT`] is served.
fn lookup(h: &InfoHash) -> Option<(Handshake, SharedLayout)> {
    (*h == TORRENT).then(|| (Handshake::new(TORRENT, SEEDER), shared_layout()))
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// Accepts one connection and answers its handshake as the seeder would.
fn accept_one(l: TcpListener) -> JoinHandle<Result<(Handshake, Handshake, Connection), PeerError>> {
    tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        accept_handshake(s, lookup, SEEDER, TIMEOUT).await
    })
}

#[tokio::test]
async fn a_leecher_downloads_blocks_from_a_seeder() {
    let (l, addr) = listener().await;
    let seeder = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let (theirs, ours, mut conn) = accept_handshake(s, lookup, SEEDER, TIMEOUT).await?;
        assert_eq!(theirs, Handshake::new(TORRENT, LEECHER));
        assert_eq!(ours, Handshake::new(TORRENT, SEEDER));
        let layout = *conn.codec().layout().unwrap();
        conn.send(Message::Bitfield(Bitfield::full(&layout)))
            .await?;
        let mut served = 0;
        let mut seen = Vec::new();
        while let Some(msg) = conn.next().await {
            let msg = msg?;
            seen.push(msg.clone());
            match msg {
                Message::Interested => conn.send(Message::Unchoke).await?,
                Message::Request(b) => {
                    let data = block_data(&layout, &b);
                    conn.send(Message::Piece {
                        piece: b.piece,
                        begin: b.begin,
                        data,
                    })
                    .await?;
                    served += 1;
                }
                _ => {}
            }
        }
        Ok::<_, PeerError>((served, seen))
    });

    let ours = Handshake::new(TORRENT, LEECHER);
    let stream = TcpStream::connect(addr).await.unwrap();
    let (theirs, mut conn) = connect_handshake(stream, &ours, shared_layout(), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(theirs, Handshake::new(TORRENT, SEEDER));
    let l = layout();

    let Some(Ok(Message::Bitfield(have))) = conn.next().await else {
        panic!("expected the seeder's bitfield first");
    };
    assert!(have.is_complete());
    conn.send(Message::KeepAlive).await.unwrap();
    conn.send(Message::Interested).await.unwrap();
    assert_eq!(conn.next().await.unwrap().unwrap(), Message::Unchoke);

    // Every block of the short last piece, and the second block of piece 0.
    let last = l.piece(3).unwrap();
    let mut wanted: Vec<BlockRef> = (0..l.block_count(last))
        .map(|i| BlockRef {
            piece: last,
            begin: i * BLOCK_SIZE,
            length: l.block_size(last, i),
        })
        .collect();
    wanted.push(BlockRef {
        piece: l.piece(0).unwrap(),
        begin: BLOCK_SIZE,
        length: BLOCK_SIZE,
    });
    for b in &wanted {
        conn.send(Message::Request(*b)).await.unwrap();
    }
    for b in &wanted {
        match conn.next().await.unwrap().unwrap() {
            Message::Piece { piece, begin, data } => {
                assert_eq!(
                    (piece, begin, data.len() as u32),
                    (b.piece, b.begin, b.length)
                );
                assert_eq!(data, block_data(&l, b));
            }
            other => panic!("expected a piece, got {other:?}"),
        }
    }
    conn.send(Message::Cancel(wanted[0])).await.unwrap();
    conn.send(Message::Have(last)).await.unwrap();
    conn.send(Message::NotInterested).await.unwrap();
    drop(conn);

    let (served, seen) = seeder.await.unwrap().unwrap();
    assert_eq!(served, 3);
    assert_eq!(seen.first(), Some(&Message::KeepAlive));
    assert_eq!(seen[1], Message::Interested);
    assert_eq!(
        &seen[seen.len() - 3..],
        [
            Message::Cancel(wanted[0]),
            Message::Have(last),
            Message::NotInterested
        ]
    );
}

/// The connecting side of a refused connection sees it closed before an answer (or reset).
fn refused(r: Result<impl std::fmt::Debug, PeerError>) {
    match r {
        Err(PeerError::Handshake(m)) => assert!(m.contains("closed"), "{m}"),
        Err(PeerError::Io(_)) => {}
        other => panic!("expected the connection to be closed, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_torrent_is_refused() {
    let (l, addr) = listener().await;
    let seeder = accept_one(l);
    let stream = TcpStream::connect(addr).await.unwrap();
    let r = connect_handshake(
        stream,
        &Handshake::new(OTHER, LEECHER),
        shared_layout(),
        TIMEOUT,
    )
    .await;
    refused(r.map(|(h, _)| h));
    match seeder.await.unwrap() {
        Err(PeerError::UnknownInfoHash(h)) => assert_eq!(h, OTHER),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_connection_to_ourselves_is_refused() {
    // The accepting side sees its own peer id and does not answer.
    let (l, addr) = listener().await;
    let seeder = accept_one(l);
    let stream = TcpStream::connect(addr).await.unwrap();
    let r = connect_handshake(
        stream,
        &Handshake::new(TORRENT, SEEDER),
        shared_layout(),
        TIMEOUT,
    )
    .await;
    refused(r.map(|(h, _)| h));
    assert!(matches!(
        seeder.await.unwrap(),
        Err(PeerError::OwnConnection)
    ));

    // The connecting side, answered with its own handshake (a mirror), refuses too.
    let (l, addr) = listener().await;
    let mirror = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; HANDSHAKE_LEN];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
        s
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let ours = Handshake::new(TORRENT, LEECHER);
    let r = connect_handshake(stream, &ours, shared_layout(), TIMEOUT).await;
    assert!(
        matches!(r, Err(PeerError::OwnConnection)),
        "{:?}",
        r.map(|(h, _)| h)
    );
    drop(mirror.await.unwrap());
}

#[tokio::test]
async fn a_peer_answering_for_another_torrent_is_refused() {
    let (l, addr) = listener().await;
    let liar = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; HANDSHAKE_LEN];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&Handshake::new(OTHER, SEEDER).encode())
            .await
            .unwrap();
        s
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let r = connect_handshake(
        stream,
        &Handshake::new(TORRENT, LEECHER),
        shared_layout(),
        TIMEOUT,
    )
    .await;
    match r {
        Err(PeerError::WrongInfoHash { ours, theirs }) => {
            assert_eq!((ours, theirs), (TORRENT, OTHER))
        }
        other => panic!("{:?}", other.map(|(h, _)| h)),
    }
    drop(liar.await.unwrap());
}

#[tokio::test]
async fn silent_peers_time_out() {
    let short = Duration::from_millis(200);

    // We connect; the peer accepts and says nothing.
    let (l, addr) = listener().await;
    let silent = tokio::spawn(async move { l.accept().await.unwrap().0 });
    let stream = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let r = connect_handshake(
        stream,
        &Handshake::new(TORRENT, LEECHER),
        shared_layout(),
        short,
    )
    .await;
    assert!(
        matches!(r, Err(PeerError::Timeout)),
        "{:?}",
        r.map(|(h, _)| h)
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    let _keep_open = silent.await.unwrap();

    // A peer connects to us and says nothing.
    let (l, addr) = listener().await;
    let acceptor = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        accept_handshake(s, lookup, SEEDER, short).await
    });
    let _client = TcpStream::connect(addr).await.unwrap();
    assert!(matches!(acceptor.await.unwrap(), Err(PeerError::Timeout)));
}

#[tokio::test]
async fn a_peer_breaking_the_wire_format_is_an_error_not_a_buffer() {
    let (l, addr) = listener().await;
    let seeder = accept_one(l);
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(&Handshake::new(TORRENT, LEECHER).encode())
        .await
        .unwrap();
    // Right behind the handshake: a message of an id nobody defined (skipped), an interested,
    // then a length prefix of 1 GiB.
    let mut wire = vec![0, 0, 0, 3, 99, 0, b'x'];
    wire.extend_from_slice(&[0, 0, 0, 1, 2]);
    wire.extend_from_slice(&(1u32 << 30).to_be_bytes());
    wire.push(7);
    raw.write_all(&wire).await.unwrap();
    let mut answer = [0u8; HANDSHAKE_LEN];
    raw.read_exact(&mut answer).await.unwrap();
    assert_eq!(
        Handshake::decode(&answer).unwrap(),
        Handshake::new(TORRENT, SEEDER)
    );

    let (_, _, mut conn) = seeder.await.unwrap().unwrap();
    assert_eq!(conn.next().await.unwrap().unwrap(), Message::Interested);
    match conn.next().await.unwrap() {
        Err(PeerError::Protocol(m)) => assert!(m.contains("length prefix 1073741824"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(conn.read_buffer().capacity() < 64 * 1024);
}
