//! The session: a runtime of its own, the listen socket, torrents, and the events they report.
//!
//! A [`Session`] is for callers that are not async (C, Python, the CLI, plain Rust programs):
//! its methods block, and [`TorrentHandle`]s can be used from any thread. Inside, a running
//! torrent is made of parts a newcomer finds by name:
//! - `machine.rs`: the torrent's rules as a state machine with no I/O (inputs in, actions out),
//!   unit-tested like the picker;
//! - `torrent.rs`: the actor task that feeds the machine and carries out its actions;
//! - `pipeline.rs`: the block pipeline (received block -> disk -> hash -> verdict, and blocks
//!   read for peers) on the torrent's disk and hash threads (`worker.rs`), drawn in its doc;
//! - `peer.rs`: a task per connection, owning its socket;
//! - `announcer.rs`: a task per torrent talking to its trackers; `trackers.rs`: how each of
//!   them fares, as the handle shows it;
//! - `channel.rs`: what these tasks and threads send the actor, and the actor a peer;
//! - `choker.rs`: who gets an upload slot.
//!
//! Names: the metainfo (a `.torrent` file) is [`Metainfo`]; a running torrent is held as a
//! [`TorrentHandle`]; inside, it is the actor (`torrent::TorrentActor`) and its machine.
//!
//! This is the contract every face uses, so its rules are decided here once: what a setting
//! may be ([`SessionConfig::validate`], [`AddOptions::validate`]), whether a handle is live
//! ([`Session::check_handle`], [`SessionError`]), when a torrent is finished
//! ([`Status::is_finished`], [`TorrentHandle::wait`]), where a torrent is loaded from
//! ([`TorrentSource`]), and that seeding never touches the original data
//! ([`AddOptions::seed_only`]).

mod announcer;
mod channel;
pub mod choker;
mod config;
mod contacts;
mod disconnect;
mod error;
mod event;
mod fetching;
mod handle;
mod machine;
mod peer;
mod pipeline;
mod source;
mod torrent;
mod trackers;
mod worker;

pub use config::{AddOptions, SessionConfig};
pub use disconnect::{DisconnectReason, Disconnects};
pub use error::SessionError;
pub use event::{Event, EventKind, EventReceiver};
pub use handle::{State, Status, TorrentHandle, WaitOutcome};
pub use source::{TorrentSource, MAX_FETCHED_TORRENT};
pub use trackers::{TrackerState, TrackerStatus, TrackerTrouble};

use crate::buffers::BufferPool;
use crate::magnet::Magnet;
use crate::metainfo::{InfoHash, Metainfo};
use crate::peer::{accept_handshake, Handshake, SharedLayout};
use crate::piece::picker::PeerKey;
use crate::storage::StorageOptions;
use crate::tracker::PeerId;
use channel::Input;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};

/// Buffers of the session's [`BufferPool`], at most: 16 MiB of 64 KiB ones, more than the
/// reads and writes a torrent keeps in flight.
const BUFFERS_KEPT: usize = 256;

/// What every task of a session shares.
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
    /// Handshakes in progress on connections peers opened, by address: at most
    /// `max_peers_per_ip` each, so that one address cannot hold every connection slot with
    /// connections that never handshake.
    handshaking: std::sync::Mutex<FxHashMap<IpAddr, usize>>,
    /// For what peers send and what is read for them (see [`crate::buffers`]).
    buffers: Arc<BufferPool>,
}

struct Registered {
    handshake: Handshake,
    layout: SharedLayout,
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
    /// Unique in the process, so that a handle of another session is told apart.
    id: u64,
    /// Set at shutdown; every handle of the session shares it.
    closed: Arc<AtomicBool>,
    handles: std::sync::Mutex<Vec<TorrentHandle>>,
}

static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

impl Session {
    /// Starts a session: checks `config` ([`SessionConfig::validate`]), binds the listen
    /// address and starts the session's threads.
    pub fn new(config: SessionConfig) -> Result<Session, crate::Error> {
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("bittern-session")
            .enable_all()
            .build()
            .map_err(SessionError::Runtime)?;
        let listener = runtime.block_on(bind(config.listen))?;
        let listen_addr = listener.local_addr().map_err(SessionError::Runtime)?;
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(SessionShared {
            connections: Arc::new(tokio::sync::Semaphore::new(config.max_connections)),
            handshaking: Default::default(),
            config,
            peer_id: PeerId::generate(),
            port: listen_addr.port(),
            listen_ip: listen_addr.ip(),
            events,
            torrents: RwLock::new(FxHashMap::default()),
            next_key: AtomicU32::new(0),
            buffers: Arc::new(BufferPool::new(BUFFERS_KEPT)),
        });
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(Session {
            runtime: Some(runtime),
            shared,
            listen_addr,
            id: NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed),
            closed: Arc::default(),
            handles: Default::default(),
        })
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    pub fn peer_id(&self) -> PeerId {
        self.shared.peer_id
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("a live session has its runtime")
    }

    /// Events of every torrent from now on. A receiver that lags loses the oldest.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Events of every torrent from now on, for callers that are not async.
    pub fn event_receiver(&self) -> EventReceiver {
        EventReceiver {
            rx: self.shared.events.subscribe(),
            handle: self.runtime().handle().clone(),
        }
    }

    /// Adds a torrent: checks `options` ([`AddOptions::validate`]) and starts it. Returns at
    /// once: the torrent opens its files in `options.save_dir` and checks what is on disk
    /// first ([`State::Checking`], with [`Status::pieces_checked`] counting), unless the data
    /// is trusted, then runs. What is on disk never fails the add: a file that cannot be
    /// opened or made (a link or a folder where a file belongs, a missing file for
    /// [`AddOptions::seed_only`], ...) is a [`EventKind::StorageError`] and
    /// [`State::Error`] (see [`TorrentHandle::error`]) until [`TorrentHandle::resume`] tries
    /// again.
    pub fn add(&self, meta: Metainfo, options: AddOptions) -> Result<TorrentHandle, crate::Error> {
        self.start(torrent::Starting::Torrent(Arc::new(meta)), options)
    }

    /// Adds a torrent from a magnet link (BEP 9): its metadata is asked of peers (those the
    /// link names with `x.pe`, those its trackers give) in [`State::FetchingMetadata`], with
    /// an [`EventKind::FetchingMetadata`] event; once it is in and its hash is the link's
    /// ([`EventKind::MetadataReceived`], [`TorrentHandle::metainfo`]), the torrent goes on as
    /// [`add`](Self::add)'s do, keeping the peers it talks to.
    pub fn add_magnet(
        &self,
        magnet: Magnet,
        options: AddOptions,
    ) -> Result<TorrentHandle, crate::Error> {
        self.start(torrent::Starting::Magnet(magnet), options)
    }

    /// Adds what a user gave ([`TorrentSource::parse`]): a magnet link as
    /// [`add_magnet`](Self::add_magnet) does, anything else loaded (fetched with `client`'s
    /// deadlines, `cancel` asked meanwhile) and added as [`add`](Self::add) does.
    pub fn add_source(
        &self,
        source: TorrentSource,
        options: AddOptions,
        client: &crate::tracker::client::ClientConfig,
        cancel: crate::cancel::Cancel<'_>,
    ) -> Result<TorrentHandle, crate::Error> {
        match source {
            TorrentSource::Magnet(magnet) => self.add_magnet(magnet, options),
            source => self.add(source.load(client, cancel)?, options),
        }
    }

    fn start(
        &self,
        starting: torrent::Starting,
        options: AddOptions,
    ) -> Result<TorrentHandle, crate::Error> {
        options.validate()?;
        let info_hash = starting.info_hash();
        let display_name = match &starting {
            torrent::Starting::Torrent(meta) => meta.info().name(),
            torrent::Starting::Magnet(magnet) => {
                magnet.name.clone().unwrap_or_else(|| info_hash.to_hex())
            }
        };
        if self.registered(&info_hash) {
            return Err(SessionError::AlreadyAdded(info_hash).into());
        }
        let opening = torrent::Opening {
            folder: options.save_dir,
            options: StorageOptions {
                existing_files_only: options.seed_only,
                ..self.shared.config.storage.clone()
            },
            trusted: options.trust_data,
        };
        let _entered = self.runtime().enter();
        let mut torrents = self
            .shared
            .torrents
            .write()
            .unwrap_or_else(|e| e.into_inner());
        // Another thread may have added it meanwhile.
        if torrents.contains_key(&info_hash) {
            return Err(SessionError::AlreadyAdded(info_hash).into());
        }
        let started = torrent::start(starting, opening, options.seed_only, self.shared.clone());
        torrents.insert(
            info_hash,
            Registered {
                handshake: Handshake::new(info_hash, self.shared.peer_id),
                layout: started.layout,
                inbox: started.inbox.clone(),
            },
        );
        drop(torrents);
        let handle = TorrentHandle {
            info_hash,
            session: self.id,
            inbox: started.inbox,
            status: started.status,
            trackers: started.trackers,
            error: started.error,
            metainfo: started.metainfo,
            display_name,
            removed: Arc::default(),
            closed: self.closed.clone(),
        };
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle.clone());
        Ok(handle)
    }

    fn registered(&self, info_hash: &InfoHash) -> bool {
        self.shared
            .torrents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(info_hash)
    }

    /// `Ok` when `torrent` runs in this session: not of another session, not removed.
    pub fn check_handle(&self, torrent: &TorrentHandle) -> Result<(), SessionError> {
        if torrent.session != self.id {
            return Err(SessionError::OtherSession(torrent.info_hash));
        }
        torrent.check()
    }

    /// Stops one torrent (announcing `stopped`) and forgets it; its files stay. The handle
    /// then fails every command with [`SessionError::Removed`].
    pub fn remove(&self, torrent: &TorrentHandle) -> Result<(), SessionError> {
        self.check_handle(torrent)?;
        // Only the first of two removes racing goes on.
        if torrent.removed.swap(true, Ordering::AcqRel) {
            return Err(SessionError::Removed(torrent.info_hash));
        }
        self.runtime().block_on(torrent.stop());
        self.shared
            .torrents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&torrent.info_hash);
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|h| !Arc::ptr_eq(&h.removed, &torrent.removed));
        Ok(())
    }

    /// Gives a torrent peers to try, besides those its trackers name.
    pub fn add_peers(
        &self,
        torrent: &TorrentHandle,
        peers: Vec<SocketAddr>,
    ) -> Result<(), SessionError> {
        self.check_handle(torrent)?;
        let _ = torrent.inbox.try_send(Input::Peers(peers));
        Ok(())
    }

    /// Stops every torrent (announcing `stopped`, flushing files) and every task.
    pub fn shutdown(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        self.closed.store(true, Ordering::Release);
        let handles: Vec<TorrentHandle> =
            std::mem::take(&mut *self.handles.lock().unwrap_or_else(|e| e.into_inner()));
        runtime.block_on(async {
            for h in &handles {
                h.stop().await;
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
            Err(source) => last = Some(SessionError::Listen { addr, source }),
        }
    }
    Err(last.expect("at least one address was tried").into())
}

async fn accept_loop(listener: TcpListener, shared: Arc<SessionShared>) {
    loop {
        let Ok((stream, addr)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Over a limit, a connection is closed at once.
        let Some(handshaking) = Handshaking::start(&shared, addr.ip()) else {
            continue;
        };
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
                torrents.get(hash).map(|t| (t.handshake, t.layout.clone()))
            };
            let timeout = shared.config.handshake_timeout;
            let handshake = accept_handshake(stream, lookup, shared.peer_id, timeout).await;
            drop(handshaking);
            let Ok((theirs, _, connection)) = handshake else {
                return;
            };
            let inbox = {
                let torrents = shared.torrents.read().unwrap_or_else(|e| e.into_inner());
                torrents.get(&theirs.info_hash).map(|t| t.inbox.clone())
            };
            if let Some(inbox) = inbox {
                peer::serve(shared, connection, addr, &theirs, false, inbox).await;
            }
        });
    }
}

/// A handshake in progress on a connection a peer opened, counted for its address while it
/// lives.
struct Handshaking {
    shared: Arc<SessionShared>,
    ip: IpAddr,
}

impl Handshaking {
    /// `None` when the address has `max_peers_per_ip` handshakes in progress already.
    fn start(shared: &Arc<SessionShared>, ip: IpAddr) -> Option<Handshaking> {
        let mut counts = shared.handshaking.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if *n >= shared.config.max_peers_per_ip {
            return None;
        }
        *n += 1;
        Some(Handshaking {
            shared: shared.clone(),
            ip,
        })
    }
}

impl Drop for Handshaking {
    fn drop(&mut self) {
        let mut counts = self
            .shared
            .handshaking
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}
