//! One task per peer connection: it owns the socket, hands validated messages to its torrent
//! and writes what the torrent sends, with keep-alives and an idle timeout.

use super::channel::{Input, PeerLink, Speaks, ToPeer};
use super::{DisconnectReason, SessionShared};
use crate::metainfo::InfoHash;
use crate::peer::{connect_handshake, Connection, Handshake, Message, PeerError, SharedLayout};
use futures_util::stream::SplitSink;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Messages queued for one peer, at most: more than a full pipeline of requests plus a full
/// queue of pieces, so only a peer that stopped reading fills it.
const QUEUE: usize = 2048;
const KEEP_ALIVE: Duration = Duration::from_secs(60);
/// Keep-alives a peer may send within [`KEEP_ALIVE_WINDOW`]: they are legal but say nothing
/// (an honest peer sends one a minute or two), and a stream of zero bytes after a handshake is
/// nothing but keep-alives, which would otherwise keep a core busy for as long as it flows.
const MAX_KEEP_ALIVES: usize = 16;
const KEEP_ALIVE_WINDOW: Duration = Duration::from_secs(10);
/// Messages already received that go to the torrent together, at most.
const READ_BATCH: usize = 64;
/// Messages written between flushes, at most (the sink also flushes on its own past 128 KiB).
const BATCH: usize = 256;

/// Why an outgoing connection did not get as far as its handshake.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectError {
    #[error("the session's connection limit is reached")]
    Limit,
    #[error(transparent)]
    Peer(#[from] PeerError),
}

/// Connects to `addr`, handshakes for the torrent `info_hash` names (whose layout is
/// `layout`, once known), and serves the connection until it ends.
pub(super) async fn connect(
    shared: Arc<SessionShared>,
    info_hash: InfoHash,
    layout: SharedLayout,
    addr: SocketAddr,
    inbox: mpsc::Sender<Input>,
) -> Result<(), ConnectError> {
    let _slot = shared
        .connections
        .clone()
        .try_acquire_owned()
        .map_err(|_| ConnectError::Limit)?;
    let timeout = shared.config.handshake_timeout;
    let stream = tokio::time::timeout(timeout, open(shared.listen_ip, addr))
        .await
        .map_err(|_| PeerError::Io(std::io::ErrorKind::TimedOut.into()))?
        .map_err(PeerError::Io)?;
    let ours = Handshake::new(info_hash, shared.peer_id);
    let (theirs, connection) = connect_handshake(stream, &ours, layout, timeout).await?;
    serve(shared, connection, addr, &theirs, true, inbox).await;
    Ok(())
}

/// Connects from the address we listen on when it is a specific one, so that peers see the
/// same address whichever side connected.
async fn open(local: std::net::IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if !local.is_unspecified() && local.is_ipv4() == addr.is_ipv4() {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    // We batch our writes ourselves; Nagle would only hold requests back.
    socket.set_nodelay(true)?;
    socket.connect(addr).await
}

/// Runs a handshaken connection: registers it with its torrent, then relays both ways.
pub(super) async fn serve(
    shared: Arc<SessionShared>,
    mut connection: Connection,
    addr: SocketAddr,
    theirs: &Handshake,
    outgoing: bool,
    inbox: mpsc::Sender<Input>,
) {
    let key = shared.next_key();
    let (to_peer, mut queue) = mpsc::channel(QUEUE);
    if inbox
        .send(Input::Connected(PeerLink {
            key,
            addr,
            peer_id: theirs.peer_id,
            outgoing,
            speaks: Speaks::of(theirs),
            to_peer,
        }))
        .await
        .is_err()
    {
        return;
    }
    connection.codec_mut().use_pool(shared.buffers.clone());
    let (mut sink, mut stream) = connection.split();
    let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
    keep_alive.tick().await;
    let idle = shared.config.idle_timeout;
    // The idle timeout counts from the last message received, whatever we send meanwhile.
    let mut heard = Instant::now();
    // Keep-alives received since `window` began.
    let (mut window, mut keep_alives) = (heard, 0);
    let ended: Ended = loop {
        tokio::select! {
            received = tokio::time::timeout_at(heard + idle, stream.next()) => match received {
                Err(_) => break Some((DisconnectReason::Idle, None)),
                Ok(None) => break Some((DisconnectReason::ClosedByPeer, None)),
                Ok(Some(Err(e))) => break Some(read_failed(e)),
                Ok(Some(Ok(message))) => {
                    heard = Instant::now();
                    // What has arrived already goes along in the same hand-off.
                    let mut messages = vec![message];
                    let mut ended = None;
                    while messages.len() < READ_BATCH {
                        match stream.next().now_or_never() {
                            Some(Some(Ok(m))) => messages.push(m),
                            Some(Some(Err(e))) => {
                                ended = Some(read_failed(e));
                                break;
                            }
                            Some(None) => {
                                ended = Some((DisconnectReason::ClosedByPeer, None));
                                break;
                            }
                            None => break,
                        }
                    }
                    if heard >= window + KEEP_ALIVE_WINDOW {
                        (window, keep_alives) = (heard, 0);
                    }
                    keep_alives += messages
                        .iter()
                        .filter(|m| matches!(m, Message::KeepAlive))
                        .count();
                    if keep_alives > MAX_KEEP_ALIVES {
                        break Some((DisconnectReason::RuleBroken, None));
                    }
                    if inbox.send(Input::Messages(key, messages)).await.is_err() {
                        return; // the torrent stopped
                    }
                    if ended.is_some() {
                        break ended;
                    }
                }
            },
            out = queue.recv() => {
                if let Some(ended) = write_batch(&mut sink, &mut queue, out, idle).await {
                    break ended;
                }
            }
            _ = keep_alive.tick() => {
                match tokio::time::timeout(idle, sink.send(Message::KeepAlive)).await {
                    Err(_) => break Some((DisconnectReason::SlowReader, None)),
                    Ok(Err(e)) => break Some((DisconnectReason::Io, Some(e))),
                    Ok(Ok(())) => {}
                }
            }
        }
    };
    let reason = ended.map(|(reason, error)| {
        if let Some(error) = error {
            tracing::debug!(peer = %addr, %error, "connection failed");
        }
        reason
    });
    let _ = inbox.send(Input::Closed(key, reason)).await;
}

/// Writes `first` and what else is queued (up to [`BATCH`] messages, so the write buffer stays
/// small), then flushes once. `Some` when the connection is to end: we close it (`None`
/// inside), writing failed, or the peer stopped reading: a write that makes no progress within
/// `idle` (the sink writes out its buffer, at most about 128 KiB, when it is full) ends it as a
/// slow reader, for nothing else is read or written meanwhile, and it must not hold the
/// connection and our queue for it forever.
async fn write_batch(
    sink: &mut SplitSink<Connection, Message>,
    queue: &mut mpsc::Receiver<ToPeer>,
    first: Option<ToPeer>,
    idle: Duration,
) -> Option<Ended> {
    let failed = |result: Result<Result<(), PeerError>, _>| match result {
        Err(_) => Some(Some((DisconnectReason::SlowReader, None))),
        Ok(Err(e)) => Some(Some((DisconnectReason::Io, Some(e)))),
        Ok(Ok(())) => None,
    };
    let mut next = first;
    let mut ended = None;
    for written in 1..=BATCH {
        match next {
            Some(ToPeer::Message(m)) => {
                ended = failed(tokio::time::timeout(idle, sink.feed(m)).await);
                if ended.is_some() {
                    break;
                }
            }
            Some(ToPeer::Close) | None => {
                ended = Some(None);
                break;
            }
        }
        if written == BATCH {
            break; // the rest waits in the queue for the next round
        }
        next = match queue.try_recv() {
            Ok(m) => Some(m),
            Err(_) => break,
        };
    }
    // What was fed goes out, also before we close; not after a write failed.
    if !matches!(ended, Some(Some(_))) {
        let flushed = failed(tokio::time::timeout(idle, sink.flush()).await);
        if ended.is_none() {
            ended = flushed;
        }
    }
    ended
}

/// Why a connection ended: `None` when we closed it (the torrent knows why), else what failed.
type Ended = Option<(DisconnectReason, Option<PeerError>)>;

/// What a failed read says about the peer: bytes that are not the protocol, or a broken
/// socket.
fn read_failed(e: PeerError) -> (DisconnectReason, Option<PeerError>) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, UnexpectedEof};
    let reason = match &e {
        PeerError::Io(io)
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | UnexpectedEof
            ) =>
        {
            DisconnectReason::ClosedByPeer
        }
        PeerError::Io(_) => DisconnectReason::Io,
        _ => DisconnectReason::Malformed,
    };
    (reason, Some(e))
}
