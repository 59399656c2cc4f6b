//! One task per peer connection: it owns the socket, hands validated messages to its torrent
//! and writes what the torrent sends, with keep-alives and an idle timeout.

use super::torrent::Input;
use super::SessionShared;
use crate::metainfo::Metainfo;
use crate::peer::{connect_handshake, Connection, Handshake, Message};
use crate::piece::picker::PeerKey;
use crate::piece::Layout;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Messages queued for one peer, at most: more than a full pipeline of requests plus a full
/// queue of pieces, so only a peer that stopped reading fills it.
const QUEUE: usize = 2048;
const KEEP_ALIVE: Duration = Duration::from_secs(60);
/// Messages already received that go to the torrent together, at most.
const READ_BATCH: usize = 64;
/// Messages written between flushes, at most (the sink also flushes on its own past 128 KiB).
const BATCH: usize = 256;

/// What the torrent sends to a peer's task.
pub(super) enum ToPeer {
    Message(Message),
    Close,
}

/// A connected peer, as the torrent first hears of it.
pub(super) struct PeerLink {
    pub key: PeerKey,
    pub addr: SocketAddr,
    pub to_peer: mpsc::Sender<ToPeer>,
}

/// Connects to `addr`, handshakes for `meta`'s torrent, and serves the connection until it ends.
pub(super) async fn connect(
    shared: Arc<SessionShared>,
    meta: Arc<Metainfo>,
    addr: SocketAddr,
    inbox: mpsc::Sender<Input>,
) -> Result<(), String> {
    let _slot = shared
        .connections
        .clone()
        .try_acquire_owned()
        .map_err(|_| "too many connections".to_string())?;
    let timeout = shared.config.handshake_timeout;
    let stream = tokio::time::timeout(timeout, open(shared.listen_ip, addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let ours = Handshake::new(meta.info_hash(), shared.peer_id);
    let layout = Layout::of(meta.info());
    let (_, connection) = connect_handshake(stream, &ours, layout, timeout)
        .await
        .map_err(|e| e.to_string())?;
    serve(shared, connection, addr, inbox).await;
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
    inbox: mpsc::Sender<Input>,
) {
    let key = shared.next_key();
    let (to_peer, mut queue) = mpsc::channel(QUEUE);
    if inbox
        .send(Input::Connected(PeerLink { key, addr, to_peer }))
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
    let reason = loop {
        tokio::select! {
            received = tokio::time::timeout(idle, stream.next()) => match received {
                Err(_) => break "idle".to_string(),
                Ok(None) => break "closed by the peer".to_string(),
                Ok(Some(Err(e))) => break e.to_string(),
                Ok(Some(Ok(message))) => {
                    // What has arrived already goes along in the same hand-off.
                    let mut messages = vec![message];
                    let mut ended = None;
                    while messages.len() < READ_BATCH {
                        match stream.next().now_or_never() {
                            Some(Some(Ok(m))) => messages.push(m),
                            Some(Some(Err(e))) => {
                                ended = Some(e.to_string());
                                break;
                            }
                            Some(None) => {
                                ended = Some("closed by the peer".to_string());
                                break;
                            }
                            None => break,
                        }
                    }
                    if inbox.send(Input::Messages(key, messages)).await.is_err() {
                        break "torrent stopped".to_string();
                    }
                    if let Some(reason) = ended {
                        break reason;
                    }
                }
            },
            out = queue.recv() => {
                let mut next = out;
                // Write what is queued (up to a bound, so the write buffer stays small), then
                // flush once.
                let mut failed = None;
                for written in 1..=BATCH {
                    match next {
                        Some(ToPeer::Message(m)) => {
                            if let Err(e) = sink.feed(m).await {
                                failed = Some(e.to_string());
                                break;
                            }
                        }
                        Some(ToPeer::Close) | None => {
                            failed = Some("closed by us".to_string());
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
                if let Err(e) = sink.flush().await {
                    failed.get_or_insert(e.to_string());
                }
                if let Some(reason) = failed {
                    break reason;
                }
            }
            _ = keep_alive.tick() => {
                if sink.send(Message::KeepAlive).await.is_err() {
                    break "write failed".to_string();
                }
            }
        }
    };
    let _ = reason; // why it ended; kept for a future debug log
    let _ = inbox.send(Input::Closed(key)).await;
}
