//! The session: a runtime of its own, the listen socket, torrents, and the events they report.
//!
//! Each torrent is an actor task ([`torrent`]) owning its picker and peers; each peer
//! connection is a task ([`peer`]) owning its socket; disk work runs on blocking threads. A
//! [`Session`] is for callers that are not async (C, Python, the CLI, plain Rust programs):
//! its methods block, and [`TorrentHandle`]s can be used from any thread.

pub mod choker;
mod peer;
mod torrent;

use crate::buffers::BufferPool;
use crate::metainfo::{InfoHash, Metainfo};
use crate::peer::{accept_handshake, Handshake};
use crate::piece::picker::PeerKey;
use crate::piece::Layout;
use crate::storage::{Storage, StorageOptions};
use crate::tracker::client::ClientConfig;
use crate::tracker::PeerId;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use torrent::{Command, Input, Torrent};

/// How a session behaves. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where to listen for peers. Default: the first free port of 6881 to 6889 on every
    /// address; port 0 picks any free port.
    pub listen: Option<SocketAddr>,
    /// Peer connections open at once, over every torrent, incoming and outgoing (default 200).
    pub max_connections: usize,
    /// Peers connected per torrent (default 50).
    pub max_peers_per_torrent: usize,
    /// Peers per torrent from one IP address (default 4; tests on one machine raise it).
    pub max_peers_per_ip: usize,
    /// Peers unchoked by rate; one optimistic unchoke comes on top (default 4).
    pub unchoke_slots: usize,
    /// Time to connect and handshake (default 10 s).
    pub handshake_timeout: Duration,
    /// A peer silent this long is dropped (default 2 minutes; keep-alives come every minute).
    pub idle_timeout: Duration,
    pub tracker: ClientConfig,
    pub storage: StorageOptions,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            listen: None,
            max_connections: 200,
            max_peers_per_torrent: 50,
            max_peers_per_ip: 4,
            unchoke_slots: 4,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            tracker: ClientConfig::default(),
            storage: StorageOptions::default(),
        }
    }
}

/// How a torrent is added.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// The download folder: the torrent's file (or its folder, for a multi-file torrent) goes
    /// inside it.
    pub save_dir: PathBuf,
    /// Upload only: never ask for pieces (an origin seeder pointed at complete data).
    pub seed_only: bool,
    /// Skip the check of the data on disk and take it as complete (an origin seeder that made
    /// the torrent from these very files).
    pub trust_data: bool,
}

/// What a torrent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    Checking,
    Downloading,
    Seeding,
    Paused,
    Error,
}

/// A snapshot of a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub state: State,
    pub pieces_done: u32,
    pub piece_count: u32,
    /// Bytes of verified pieces.
    pub bytes_done: u64,
    pub total_length: u64,
    /// Bytes per second, over the last few seconds.
    pub download_rate: u64,
    pub upload_rate: u64,
    /// Payload bytes since the torrent was added.
    pub uploaded: u64,
    pub downloaded: u64,
    pub peers: u32,
}

impl Status {
    /// Seconds to completion at the current rate, if it can be told.
    pub fn eta(&self) -> Option<u64> {
        let left = self.total_length - self.bytes_done;
        match (left, self.download_rate) {
            (0, _) => Some(0),
            (_, 0) => None,
            (left, rate) => Some(left.div_ceil(rate)),
        }
    }
}

/// Something that happened to a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub info_hash: InfoHash,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    PieceVerified(u32),
    HashFailed(u32),
    /// Every piece is verified (also sent when a torrent is added complete).
    Finished,
    TrackerReply {
        url: String,
        peers: u32,
    },
    TrackerError(String),
    PeerBanned(IpAddr),
    StorageError(String),
}

/// What every task of a session shares.
/// Buffers of the session's [`BufferPool`], at most: 16 MiB of 64 KiB ones, more than the
/// reads and writes a torrent keeps in flight.
const BUFFERS_KEPT: usize = 256;

pub(crate) struct SessionShared {
    config: SessionConfig,
    peer_id: PeerId,
    port: u16,
    listen_ip: IpAddr,
    events: broadcast::Sender<Event>,
    torrents: RwLock<FxHashMap<InfoHash, Registered>>,
    next_key: AtomicU32,
    /// One permit per open peer connection.
    connections: Arc<tokio::sync::Semaphore>,
    /// For what peers send and what is read for them (see [`crate::buffers`]).
    buffers: Arc<BufferPool>,
}

struct Registered {
    handshake: Handshake,
    layout: Layout,
    inbox: mpsc::Sender<Input>,
}

impl SessionShared {
    fn next_key(&self) -> PeerKey {
        PeerKey(self.next_key.fetch_add(1, Ordering::Relaxed))
    }

    /// Our own listen address, seen from a tracker answer on this machine.
    fn is_own(&self, addr: SocketAddr) -> bool {
        addr.port() == self.port && (addr.ip().is_loopback() || addr.ip().is_unspecified())
    }
}

/// A BitTorrent session with a runtime of its own. Drop it, or call
/// [`shutdown`](Session::shutdown), to stop every torrent (announcing `stopped`).
pub struct Session {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<SessionShared>,
    listen_addr: SocketAddr,
    handles: std::sync::Mutex<Vec<TorrentHandle>>,
}

impl Session {
    pub fn new(config: SessionConfig) -> Result<Session, crate::Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("bittern-session")
            .enable_all()
            .build()
            .map_err(|e| crate::Error::Io(e.to_string()))?;
        let listener = runtime.block_on(bind(config.listen))?;
        let listen_addr = listener
            .local_addr()
            .map_err(|e| crate::Error::Io(e.to_string()))?;
        let (events, _) = broadcast::channel(4096);
        let config_max_connections = config.max_connections.max(1);
        let shared = Arc::new(SessionShared {
            config,
            peer_id: PeerId::generate(),
            port: listen_addr.port(),
            listen_ip: listen_addr.ip(),
            events,
            torrents: RwLock::new(FxHashMap::default()),
            next_key: AtomicU32::new(0),
            connections: Arc::new(tokio::sync::Semaphore::new(config_max_connections)),
            buffers: Arc::new(BufferPool::new(BUFFERS_KEPT)),
        });
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(Session {
            runtime: Some(runtime),
            shared,
            listen_addr,
            handles: Default::default(),
        })
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    pub fn peer_id(&self) -> PeerId {
        self.shared.peer_id
    }

    /// Events of every torrent from now on. A receiver that lags loses the oldest.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Adds a torrent: opens its files in `options.save_dir`, checks what is there (unless
    /// trusted), and starts it. Blocks during the check.
    pub fn add(&self, meta: Metainfo, options: AddOptions) -> Result<TorrentHandle, crate::Error> {
        let runtime = self
            .runtime
            .as_ref()
            .expect("a live session has its runtime");
        let info_hash = meta.info_hash();
        if self
            .shared
            .torrents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&info_hash)
        {
            return Err(crate::Error::InvalidArgument(format!(
                "torrent {info_hash} was added already"
            )));
        }
        let layout = Layout::of(meta.info());
        let storage = Storage::open(
            meta.info(),
            layout,
            &options.save_dir,
            self.shared.config.storage.clone(),
        )?;
        // The fast resume file when it is current, else a check of what is on disk.
        let have = if options.trust_data {
            crate::piece::Bitfield::full(&layout)
        } else {
            storage.resume(&info_hash, |_, _| true)?.0
        };
        let meta = Arc::new(meta);
        let _entered = runtime.enter();
        let started = Torrent::start(
            meta.clone(),
            Arc::new(storage),
            have,
            options.seed_only,
            self.shared.clone(),
        );
        self.shared
            .torrents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                info_hash,
                Registered {
                    handshake: Handshake::new(info_hash, self.shared.peer_id),
                    layout,
                    inbox: started.inbox.clone(),
                },
            );
        let handle = TorrentHandle {
            info_hash,
            inbox: started.inbox,
            status: started.status,
        };
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle.clone());
        Ok(handle)
    }

    /// Stops one torrent (announcing `stopped`) and forgets it; its files stay.
    pub fn remove(&self, torrent: &TorrentHandle) {
        let runtime = self
            .runtime
            .as_ref()
            .expect("a live session has its runtime");
        runtime.block_on(torrent.stop_async());
        self.shared
            .torrents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&torrent.info_hash);
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|h| h.info_hash != torrent.info_hash);
    }

    /// Events of every torrent from now on, for callers that are not async.
    pub fn event_receiver(&self) -> EventReceiver {
        let handle = self
            .runtime
            .as_ref()
            .expect("a live session has its runtime")
            .handle()
            .clone();
        EventReceiver {
            rx: self.shared.events.subscribe(),
            handle,
        }
    }

    /// Gives a torrent peers to try, besides those its trackers name.
    pub fn add_peers(&self, torrent: &TorrentHandle, peers: Vec<SocketAddr>) {
        let _ = torrent.inbox.try_send(Input::Peers(peers));
    }

    /// Stops every torrent (announcing `stopped`, flushing files) and every task.
    pub fn shutdown(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let handles: Vec<TorrentHandle> =
            std::mem::take(&mut *self.handles.lock().unwrap_or_else(|e| e.into_inner()));
        runtime.block_on(async {
            for h in &handles {
                h.stop_async().await;
            }
        });
        self.shared
            .torrents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// Events for callers that are not async (do not use it inside a tokio runtime).
pub struct EventReceiver {
    rx: broadcast::Receiver<Event>,
    handle: tokio::runtime::Handle,
}

impl EventReceiver {
    /// The next event, waiting up to `timeout`. Events missed by a slow reader are skipped.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Event> {
        let rx = &mut self.rx;
        self.handle.block_on(async {
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Ok(event)) => return Some(event),
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
                }
            }
        })
    }
}

/// Loads a torrent from a path, or from an http(s) URL (at most 16 MiB), as `bittern download`
/// takes either.
pub fn load_torrent(source: &str, client: &ClientConfig) -> Result<Metainfo, crate::Error> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let bytes = crate::tracker::client::blocking::fetch(client, source, 16 << 20)?;
        Ok(Metainfo::from_bytes(&bytes)?)
    } else {
        Ok(Metainfo::load(source)?)
    }
}

/// A torrent in a session; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct TorrentHandle {
    info_hash: InfoHash,
    inbox: mpsc::Sender<Input>,
    status: Arc<watch::Sender<Status>>,
}

impl TorrentHandle {
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    pub fn status(&self) -> Status {
        *self.status.borrow()
    }

    /// Blocks until `done(status)` holds or `timeout` passes; returns whether it held.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&Status) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.status()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            // Status changes at least every half second while anything happens.
            std::thread::sleep(Duration::from_millis(20).min(deadline - Instant::now()));
        }
    }

    /// Blocks until every piece is verified, `timeout` passes or a storage error stops the
    /// torrent ([`State::Error`]); returns whether every piece is verified.
    pub fn wait_finished(&self, timeout: Duration) -> bool {
        let finished = |s: &Status| s.piece_count > 0 && s.pieces_done == s.piece_count;
        self.wait_for(timeout, |s| finished(s) || s.state == State::Error);
        finished(&self.status())
    }

    /// Drops every peer and connects to none until [`resume`](Self::resume).
    pub fn pause(&self) {
        let _ = self.inbox.try_send(Input::Command(Command::Pause));
    }

    /// Undoes [`pause`](Self::pause) (connecting again to the peers it had), or tries again
    /// after a storage error stopped the torrent ([`State::Error`]).
    pub fn resume(&self) {
        // The error is cleared at once, so that a wait right after does not end on it.
        self.status.send_if_modified(|s| {
            let error = s.state == State::Error;
            if error {
                s.state = State::Paused;
            }
            error
        });
        let _ = self.inbox.try_send(Input::Command(Command::Resume));
    }

    async fn stop_async(&self) {
        let (done, wait) = oneshot::channel();
        if self
            .inbox
            .send(Input::Command(Command::Stop(done)))
            .await
            .is_ok()
        {
            let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        }
    }
}

/// The listen socket: the given address, or the first free port of 6881 to 6889.
async fn bind(listen: Option<SocketAddr>) -> Result<TcpListener, crate::Error> {
    let candidates: Vec<SocketAddr> = match listen {
        Some(addr) => vec![addr],
        None => (6881..=6889)
            .map(|port| SocketAddr::from(([0, 0, 0, 0], port)))
            .collect(),
    };
    let mut last = None;
    for addr in candidates {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(format!("cannot listen on {addr}: {e}")),
        }
    }
    Err(crate::Error::Io(last.unwrap_or_default()))
}

async fn accept_loop(listener: TcpListener, shared: Arc<SessionShared>) {
    loop {
        let Ok((stream, addr)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Over the limit, a connection is closed at once.
        let Ok(slot) = shared.connections.clone().try_acquire_owned() else {
            continue;
        };
        // We batch our writes ourselves; Nagle would only hold requests back.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let lookup = |hash: &InfoHash| {
                let torrents = shared.torrents.read().unwrap_or_else(|e| e.into_inner());
                torrents.get(hash).map(|t| (t.handshake, t.layout))
            };
            let timeout = shared.config.handshake_timeout;
            let Ok((theirs, _, connection)) =
                accept_handshake(stream, lookup, shared.peer_id, timeout).await
            else {
                return;
            };
            let inbox = {
                let torrents = shared.torrents.read().unwrap_or_else(|e| e.into_inner());
                torrents.get(&theirs.info_hash).map(|t| t.inbox.clone())
            };
            if let Some(inbox) = inbox {
                peer::serve(shared, connection, addr, inbox).await;
            }
        });
    }
}
