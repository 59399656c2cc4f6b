//! The torrent's actor: a task that first checks the data on disk ([`State::Checking`], with
//! progress in the status), then feeds its [`TorrentMachine`] the inputs that reach it (from
//! peer tasks, the block pipeline, the announcer, handles and timers) and carries out the
//! [`Action`]s the machine returns. The machine decides; the actor only does the I/O: it keeps
//! each peer's outgoing queue, spawns connections, hands blocks to the [`Pipeline`] in
//! batches, publishes the status and the announce state, and sends events. Nothing else
//! touches the torrent's state, so there are no locks.

use super::announcer::{self, Announce};
use super::channel::{Command, Input, ToPeer};
use super::contacts::{Contacts, Limits};
use super::fetching::FetchMachine;
use super::machine::{Action, TorrentFacts, TorrentMachine};
use super::pipeline::Pipeline;
use super::trackers::SharedTrackers;
use super::{peer, DisconnectReason, Event, EventKind, SessionShared, State, Status};
use crate::magnet::Magnet;
use crate::metainfo::{InfoHash, Metainfo};
use crate::peer::SharedLayout;
use crate::piece::picker::PeerKey;
use crate::piece::{Bitfield, BlockRef, Layout};
use crate::storage::{Storage, StorageError, StorageOptions};
use crate::tracker::client::TrackerList;
use rustc_hash::FxHashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

/// How often choking is reconsidered (BEP 3's rhythm).
const CHOKE_INTERVAL: Duration = Duration::from_secs(10);
/// How often rates and status are refreshed.
const TICK: Duration = Duration::from_millis(500);
/// How often verified pieces are recorded in the fast resume file.
const RESUME_INTERVAL: Duration = Duration::from_secs(30);
/// Inputs handled before the blocks they brought go to the disk thread, at most.
const INPUT_BATCH: usize = 64;
/// Inputs waiting for the actor, at most.
const INBOX: usize = 1024;

pub(super) struct TorrentActor {
    machine: TorrentMachine,
    pipeline: Pipeline,
    /// The session's, and the status and error shared with the handles.
    parts: Parts,
    /// Each connected peer's outgoing queue.
    links: Links,
    /// Blocks received, to be handed to the pipeline together.
    writes: Vec<(BlockRef, bytes::Bytes)>,
    /// Blocks peers asked for, to be read together.
    reads: Vec<(PeerKey, BlockRef)>,
    /// The actions being carried out (kept for its room).
    actions: Vec<Action>,
    announcing: Announcing,
}

/// What [`start`] gives the session and the handle.
pub(super) struct Started {
    pub inbox: mpsc::Sender<Input>,
    pub status: Arc<watch::Sender<Status>>,
    pub trackers: SharedTrackers,
    pub error: LastError,
    pub metainfo: MetainfoSlot,
    pub layout: SharedLayout,
}

/// The storage error that stopped a torrent, shared with its handles (taken by a resume, which
/// opens and checks the files again).
pub(super) type LastError = Arc<Mutex<Option<Arc<crate::Error>>>>;

/// A torrent's metainfo, shared with its handles: set at once for a `.torrent` file, once
/// fetched for a magnet link.
pub(super) type MetainfoSlot = Arc<OnceLock<Arc<Metainfo>>>;

/// Where and how a torrent's files are opened.
pub(super) struct Opening {
    pub folder: PathBuf,
    pub options: StorageOptions,
    /// Take the data as complete instead of checking it.
    pub trusted: bool,
}

/// What a torrent starts from.
pub(super) enum Starting {
    Torrent(Arc<Metainfo>),
    /// Its metadata is fetched from peers first.
    Magnet(Magnet),
}

impl Starting {
    pub fn info_hash(&self) -> InfoHash {
        match self {
            Starting::Torrent(meta) => meta.info_hash(),
            Starting::Magnet(magnet) => magnet.info_hash,
        }
    }
}

/// What the trackers hear of a magnet link's torrent before its metadata is in: `left` is
/// unknown, and 0 would make it a seed, which trackers answer with no seeds. libtorrent
/// announces 16 KiB too.
const LEFT_BEFORE_METADATA: u64 = 16 * 1024;

/// Starts a torrent: a magnet link's metadata is fetched from peers first
/// ([`State::FetchingMetadata`]); then its files are opened and its data checked in the
/// background (unless trusted: then it is taken as complete), then it runs. The status says
/// [`State::Checking`] until then.
pub(super) fn start(
    starting: Starting,
    opening: Opening,
    seed_only: bool,
    shared: Arc<SessionShared>,
) -> Started {
    let info_hash = starting.info_hash();
    let (inbox, mut rx) = mpsc::channel(INBOX);
    let (layout, metainfo) = (SharedLayout::default(), MetainfoSlot::default());
    let (tiers, first) = match &starting {
        Starting::Torrent(meta) => {
            let l = Layout::of(meta.info());
            let _ = (layout.set(l), metainfo.set(meta.clone()));
            let status = Status {
                state: State::Checking,
                piece_count: l.piece_count(),
                total_length: l.total_length(),
                ..Status::default()
            };
            (TrackerList::tiers_of(meta), status)
        }
        Starting::Magnet(magnet) => {
            let status = Status {
                state: State::FetchingMetadata,
                ..Status::default()
            };
            (magnet.trackers.clone(), status)
        }
    };
    let status = Arc::new(watch::Sender::new(first));
    let trackers = SharedTrackers::of(&tiers);
    let error = LastError::default();
    let started = Started {
        inbox: inbox.clone(),
        status: status.clone(),
        trackers: trackers.clone(),
        error: error.clone(),
        metainfo: metainfo.clone(),
        layout: layout.clone(),
    };
    let parts = Parts {
        shared,
        inbox,
        status,
        trackers,
        error,
        info_hash,
        layout,
        tiers,
    };
    tokio::spawn(async move {
        let (meta, mut waiting, mut announcing) = match starting {
            Starting::Torrent(meta) => (meta, Waiting::Asked(Asked::default()), None),
            Starting::Magnet(magnet) => {
                let announcing = Announcing::start(
                    &parts,
                    Announce {
                        uploaded: 0,
                        downloaded: 0,
                        left: LEFT_BEFORE_METADATA,
                        completed: false,
                        paused: false,
                        stopped: false,
                    },
                );
                let mut fetcher = FetchActor::new(&parts, &magnet);
                let Some(meta) = fetcher.run(&mut rx, &parts, &magnet, &announcing).await else {
                    announcing.stop().await;
                    return;
                };
                let _ = metainfo.set(meta.clone());
                (meta, Waiting::Fetcher(Box::new(fetcher)), Some(announcing))
            }
        };
        let mut parts = parts;
        // Resumed after a storage error, the files are opened and checked again, as at the
        // start: a file may be gone or changed since, and its pieces with it.
        loop {
            let prepared = prepare(&meta, &opening, &parts, &mut rx, &mut waiting).await;
            let Some((storage, have)) = prepared else {
                if let Some(announcing) = announcing.take() {
                    announcing.stop().await;
                }
                return;
            };
            let actor = TorrentActor::new(
                meta.clone(),
                storage,
                have,
                seed_only,
                parts,
                announcing.take(),
                waiting,
            );
            let known;
            (parts, known) = match actor.run(&mut rx).await {
                Some(back) => back,
                None => return,
            };
            waiting = Waiting::Asked(Asked {
                peers: known,
                paused: false,
            });
        }
    });
    started
}

/// What a torrent's actor shares with the session and its handles.
struct Parts {
    shared: Arc<SessionShared>,
    inbox: mpsc::Sender<Input>,
    status: Arc<watch::Sender<Status>>,
    trackers: SharedTrackers,
    error: LastError,
    info_hash: InfoHash,
    layout: SharedLayout,
    /// Its trackers' tiers (BEP 12).
    tiers: Vec<Vec<String>>,
}

impl Parts {
    /// Tells the session's listeners; a storage error is also kept for the handles.
    fn event(&self, kind: EventKind) {
        if let EventKind::StorageError(error) = &kind {
            *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
        }
        let info_hash = self.info_hash;
        let _ = self.shared.events.send(Event { info_hash, kind });
    }

    /// Publishes the status where it changed.
    fn publish(&self, status: Status) {
        self.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }

    fn limits(&self) -> Limits {
        let config = &self.shared.config;
        Limits {
            max_peers: config.max_peers_per_torrent,
            max_peers_per_ip: config.max_peers_per_ip,
            unchoke_slots: config.unchoke_slots,
            our_id: self.shared.peer_id,
            listen_port: self.shared.port,
        }
    }
}

/// The announcer of a torrent and the state it announces.
struct Announcing {
    state: watch::Sender<Announce>,
    task: tokio::task::JoinHandle<()>,
}

impl Announcing {
    fn start(parts: &Parts, first: Announce) -> Announcing {
        let (state, state_rx) = watch::channel(first);
        let task = tokio::spawn(announcer::run(
            parts.info_hash,
            parts.tiers.clone(),
            parts.shared.clone(),
            state_rx,
            parts.inbox.clone(),
            parts.trackers.clone(),
        ));
        Announcing { state, task }
    }

    /// The counters a machine gives, announced where they changed (never undoing `stopped`).
    fn update(&self, next: Announce) {
        self.state.send_if_modified(|a| {
            let next = Announce {
                stopped: a.stopped,
                ..next
            };
            let changed = *a != next;
            *a = next;
            changed
        });
    }

    fn pause(&self, paused: bool) {
        self.state
            .send_if_modified(|a| std::mem::replace(&mut a.paused, paused) != paused);
    }

    /// Tells the trackers `stopped`, giving the announcer a moment to.
    async fn stop(self) {
        self.state.send_modify(|a| a.stopped = true);
        let _ = tokio::time::timeout(Duration::from_secs(3), self.task).await;
    }
}

/// The peers' outgoing queues, by key.
type Links = FxHashMap<PeerKey, mpsc::Sender<ToPeer>>;

/// Carries out an action on the peers' connections (a message, a close, a dial); gives back
/// any other action. A peer whose queue is full goes in `slow`: the queue holds more than a
/// full pipeline both ways, so it stopped reading.
fn carry_out_for_peers(
    links: &mut Links,
    parts: &Parts,
    action: Action,
    slow: &mut Vec<PeerKey>,
) -> Option<Action> {
    match action {
        Action::Send(key, message) => {
            // Closed means its task ended, and says why next.
            let sent = links
                .get(&key)
                .map(|to_peer| to_peer.try_send(ToPeer::Message(message)));
            if let Some(Err(TrySendError::Full(_))) = sent {
                slow.push(key);
            }
        }
        Action::Close(key) => {
            if let Some(to_peer) = links.remove(&key) {
                let _ = to_peer.try_send(ToPeer::Close);
            }
        }
        Action::Connect(addr) => {
            let (shared, info_hash, layout, inbox) = (
                parts.shared.clone(),
                parts.info_hash,
                parts.layout.clone(),
                parts.inbox.clone(),
            );
            tokio::spawn(async move {
                let connected = peer::connect(shared, info_hash, layout, addr, inbox.clone());
                if let Err(e) = connected.await {
                    tracing::debug!(peer = %addr, error = %e, "connect failed");
                    let _ = inbox.send(Input::ConnectFailed(addr)).await;
                }
            });
        }
        other => return Some(other),
    }
    None
}

/// A magnet link's torrent while its metadata is fetched (and then while its data is
/// checked): feeds the [`FetchMachine`] and carries out what it asks.
struct FetchActor {
    machine: FetchMachine,
    links: Links,
    actions: Vec<Action>,
}

impl FetchActor {
    fn new(parts: &Parts, magnet: &Magnet) -> FetchActor {
        let contacts = Contacts::new(parts.limits());
        let mut machine = FetchMachine::new(parts.info_hash, contacts, Instant::now());
        machine.on_peers(magnet.peers.iter().copied());
        FetchActor {
            machine,
            links: Links::default(),
            actions: Vec::new(),
        }
    }

    /// Runs until the metadata is in: then the torrent it makes (the link's trackers and web
    /// seeds added). `None` when stopped.
    async fn run(
        &mut self,
        rx: &mut mpsc::Receiver<Input>,
        parts: &Parts,
        magnet: &Magnet,
        announcing: &Announcing,
    ) -> Option<Arc<Metainfo>> {
        self.carry_out(parts);
        let mut tick = tokio::time::interval(TICK);
        parts.event(EventKind::FetchingMetadata);
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    None => return None,
                    Some(Input::Command(Command::Stop(done))) => {
                        self.machine.stop();
                        self.carry_out(parts);
                        announcing.state.send_modify(|a| a.stopped = true);
                        let _ = done.send(());
                        return None;
                    }
                    Some(input) => {
                        self.on_input(input, parts);
                    }
                },
                _ = tick.tick() => {
                    self.machine.on_tick(Instant::now());
                    self.carry_out(parts);
                }
            }
            announcing.pause(self.machine.status().state == State::Paused);
            parts.publish(self.machine.status());
            let Some(metadata) = self.machine.metadata() else {
                continue;
            };
            match Metainfo::from_metadata(metadata, magnet) {
                Ok(meta) => {
                    let layout = Layout::of(meta.info());
                    let _ = parts.layout.set(layout);
                    parts.status.send_modify(|s| {
                        s.state = State::Checking;
                        (s.piece_count, s.total_length) =
                            (layout.piece_count(), layout.total_length());
                    });
                    parts.event(EventKind::MetadataReceived);
                    return Some(Arc::new(meta));
                }
                Err(error) => {
                    // Its hash is the link's, so every peer would send the same: the torrent
                    // itself is one we cannot take (a path that leaves the folder ...).
                    tracing::warn!(info_hash = %parts.info_hash, %error, "the fetched metadata is not a valid torrent");
                    let error = Arc::new(crate::Error::from(error));
                    *parts.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                    parts.status.send_modify(|s| s.state = State::Error);
                    self.machine.stop();
                    self.carry_out(parts);
                    // Nothing more to do but wait to be removed.
                    loop {
                        match rx.recv().await {
                            None => return None,
                            Some(Input::Command(Command::Stop(done))) => {
                                let _ = done.send(());
                                return None;
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
    }

    /// Takes an input: peers and their messages go to the machine, commands too.
    fn on_input(&mut self, input: Input, parts: &Parts) -> Wait {
        let m = &mut self.machine;
        let now = Instant::now();
        let wait = match input {
            Input::Connected(link) => {
                self.links.insert(link.key, link.to_peer);
                m.on_connected(
                    link.key,
                    link.addr,
                    link.peer_id,
                    link.outgoing,
                    link.speaks,
                    now,
                );
                Wait::Go
            }
            Input::Messages(key, messages) => {
                m.on_messages(key, messages, now);
                Wait::Go
            }
            Input::Closed(key, reason) => {
                self.links.remove(&key);
                m.on_closed(key, reason);
                Wait::Go
            }
            Input::ConnectFailed(addr) => {
                m.on_connect_failed(addr);
                Wait::Go
            }
            Input::Peers(addrs) => {
                let shared = &parts.shared;
                m.on_peers(addrs.into_iter().filter(|a| !shared.is_own(*a)));
                Wait::Go
            }
            Input::Command(Command::Pause) => {
                m.pause();
                Wait::Go
            }
            Input::Command(Command::Resume) => {
                m.resume();
                Wait::Resumed
            }
            Input::Command(Command::Stop(done)) => {
                m.stop();
                Wait::Stop(Some(done))
            }
            // Nothing of the disk's before the torrent runs.
            _ => Wait::Go,
        };
        self.carry_out(parts);
        wait
    }

    fn carry_out(&mut self, parts: &Parts) {
        let mut actions = std::mem::take(&mut self.actions);
        loop {
            self.machine.swap_actions(&mut actions);
            if actions.is_empty() {
                break;
            }
            let mut slow = Vec::new();
            for action in actions.drain(..) {
                match carry_out_for_peers(&mut self.links, parts, action, &mut slow) {
                    Some(Action::Event(kind)) => parts.event(kind),
                    Some(other) => debug_assert!(false, "{other:?} while fetching metadata"),
                    None => {}
                }
            }
            for key in slow {
                self.machine.drop_peer(key, DisconnectReason::SlowReader);
            }
        }
        self.actions = actions;
    }
}

/// What handles asked of a torrent while its data was checked, done once it runs.
#[derive(Default)]
struct Asked {
    peers: Vec<SocketAddr>,
    paused: bool,
}

/// What answers the inputs while a torrent's data is checked: what handles ask is kept for
/// later, or, for a magnet link's torrent, the fetcher goes on talking with its peers, which
/// the running torrent then adopts.
enum Waiting {
    Asked(Asked),
    Fetcher(Box<FetchActor>),
}

impl Waiting {
    fn on_input(&mut self, input: Option<Input>, parts: &Parts) -> Wait {
        match (self, input) {
            (_, None) => Wait::Stop(None),
            (Waiting::Asked(asked), Some(input)) => asked.on_input(input),
            (Waiting::Fetcher(fetcher), Some(input)) => fetcher.on_input(input, parts),
        }
    }
}

/// Opens the torrent's files and checks their data (the fast resume file when it is current)
/// on a blocking thread, reporting progress in the status, while `waiting` answers what
/// reaches the actor. Whatever the disk holds, the torrent starts: a storage error (a link or
/// a folder where a file belongs, a file that cannot be made, ...) is reported and leaves the
/// torrent in [`State::Error`] until resumed (the files are opened and checked again) or
/// stopped. `None` when the torrent was stopped meanwhile.
async fn prepare(
    meta: &Arc<Metainfo>,
    opening: &Opening,
    parts: &Parts,
    rx: &mut mpsc::Receiver<Input>,
    waiting: &mut Waiting,
) -> Option<(Arc<Storage>, Bitfield)> {
    let info_hash = meta.info_hash();
    let status = &parts.status;
    loop {
        status.send_modify(|s| (s.state, s.pieces_checked) = (State::Checking, 0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut task = {
            let (meta, status, stop) = (meta.clone(), status.clone(), stop.clone());
            let (folder, options, trusted) = (
                opening.folder.clone(),
                opening.options.clone(),
                opening.trusted,
            );
            tokio::task::spawn_blocking(move || {
                let layout = Layout::of(meta.info());
                let storage = Storage::open(meta.info(), layout, &folder, options)?;
                let have = if trusted {
                    Bitfield::full(&layout)
                } else {
                    let check = storage.resume(&info_hash, |checked, _| {
                        status.send_modify(|s| s.pieces_checked = checked);
                        !stop.load(Ordering::Relaxed)
                    });
                    check?.0
                };
                Ok::<_, StorageError>((Arc::new(storage), have))
            })
        };
        let failure = loop {
            tokio::select! {
                done = &mut task => match done {
                    Ok(Ok((storage, have))) => return Some((storage, have)),
                    Ok(Err(e)) => break e,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                },
                input = rx.recv() => {
                    if let Wait::Stop(done) = waiting.on_input(input, parts) {
                        stop.store(true, Ordering::Relaxed);
                        let _ = task.await;
                        done.map(|done| done.send(()));
                        return None;
                    }
                }
            }
        };
        tracing::warn!(%info_hash, error = %failure, "opening or checking the data failed");
        parts.event(EventKind::StorageError(Arc::new(failure.into())));
        status.send_modify(|s| s.state = State::Error);
        loop {
            match waiting.on_input(rx.recv().await, parts) {
                Wait::Stop(done) => {
                    done.map(|done| done.send(()));
                    return None;
                }
                Wait::Resumed => break,
                Wait::Go => {}
            }
        }
    }
}

/// What an input means to a torrent that does not run yet.
enum Wait {
    Go,
    /// Resumed: a pause asked before is undone, and a failed check runs again.
    Resumed,
    /// Stopped (with whom to tell, if anyone waits), or every sender is gone.
    Stop(Option<tokio::sync::oneshot::Sender<()>>),
}

impl Asked {
    /// Takes an input that reached a torrent not yet running.
    fn on_input(&mut self, input: Input) -> Wait {
        match input {
            Input::Command(Command::Stop(done)) => return Wait::Stop(Some(done)),
            Input::Command(Command::Pause) => self.paused = true,
            Input::Command(Command::Resume) => {
                self.paused = false;
                return Wait::Resumed;
            }
            Input::Peers(addrs) => self.peers.extend(addrs),
            // A peer that connected: its link is dropped, which closes it.
            _ => {}
        }
        Wait::Go
    }
}

impl TorrentActor {
    /// The running torrent: a new one, or a magnet link's, which takes over its announcer and
    /// the fetcher's peers (`waiting`).
    fn new(
        meta: Arc<Metainfo>,
        storage: Arc<Storage>,
        have: Bitfield,
        seed_only: bool,
        parts: Parts,
        announcing: Option<Announcing>,
        waiting: Waiting,
    ) -> TorrentActor {
        let (shared, inbox) = (&parts.shared, &parts.inbox);
        let (contacts, adopted, links, paused, peers) = match waiting {
            Waiting::Asked(asked) => {
                let contacts = Contacts::new(parts.limits());
                (
                    contacts,
                    Vec::new(),
                    Links::default(),
                    asked.paused,
                    asked.peers,
                )
            }
            Waiting::Fetcher(fetcher) => {
                let fetcher = *fetcher;
                let paused = fetcher.machine.status().state == State::Paused;
                let (contacts, adopted) = fetcher.machine.hand_over();
                (contacts, adopted, fetcher.links, paused, Vec::new())
            }
        };
        let now = Instant::now();
        let facts = TorrentFacts::of(&meta);
        let mut machine = TorrentMachine::new(facts, &have, contacts, seed_only, now);
        for peer in adopted {
            machine.adopt(peer, now);
        }
        parts.status.send_replace(machine.status());
        let announcing =
            announcing.unwrap_or_else(|| Announcing::start(&parts, machine.announce()));
        let pipeline = Pipeline::start(
            storage,
            shared.buffers.clone(),
            inbox.clone(),
            meta.info_hash(),
        );
        let mut actor = TorrentActor {
            machine,
            pipeline,
            parts,
            links,
            writes: Vec::new(),
            reads: Vec::new(),
            actions: Vec::new(),
            announcing,
        };
        actor.on_input(Input::Peers(peers));
        if paused {
            actor.on_input(Input::Command(Command::Pause));
        }
        actor
    }

    /// Runs until stopped (`None`), or until resumed after a storage error: then it gives
    /// back its parts and the peers it knew, for the files to be opened and checked again.
    async fn run(mut self, rx: &mut mpsc::Receiver<Input>) -> Option<(Parts, Vec<SocketAddr>)> {
        let mut tick = tokio::time::interval(TICK);
        let mut choke = tokio::time::interval(CHOKE_INTERVAL);
        let mut resume = tokio::time::interval(RESUME_INTERVAL);
        let mut last_tick = Instant::now();
        self.machine.on_start();
        self.apply();
        loop {
            tokio::select! {
                input = rx.recv() => {
                    let mut input = input;
                    // Whatever else waits is handled too before the disk work goes out.
                    for handled in 1.. {
                        match input {
                            Some(Input::Command(Command::Stop(done))) => {
                                self.stop(rx).await;
                                let _ = done.send(());
                                return None;
                            }
                            Some(Input::Command(Command::Resume)) if self.machine.failed() => {
                                // Its peers went with the error; the trackers hear it start.
                                self.announcing.task.abort();
                                let known = self.machine.candidates().collect();
                                return Some((self.parts, known));
                            }
                            Some(input) => self.on_input(input),
                            None => return None,
                        }
                        if handled == INPUT_BATCH {
                            break;
                        }
                        match rx.try_recv() {
                            Ok(next) => input = Some(next),
                            Err(_) => break,
                        }
                    }
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    self.machine.on_tick(now, now - last_tick);
                    last_tick = now;
                }
                _ = choke.tick() => self.machine.on_choke_round(Instant::now()),
                _ = resume.tick() => self.machine.on_resume_round(),
            }
            self.apply();
        }
    }

    /// Hands one input to the machine.
    fn on_input(&mut self, input: Input) {
        let m = &mut self.machine;
        match input {
            Input::Connected(link) => {
                self.links.insert(link.key, link.to_peer);
                m.on_connected(
                    link.key,
                    link.addr,
                    link.peer_id,
                    link.outgoing,
                    link.speaks,
                    Instant::now(),
                );
            }
            Input::Messages(key, messages) => m.on_messages(key, messages, Instant::now()),
            Input::Closed(key, reason) => {
                self.links.remove(&key);
                m.on_closed(key, reason);
            }
            Input::ConnectFailed(addr) => m.on_connect_failed(addr),
            Input::Peers(addrs) => {
                let shared = &self.parts.shared;
                m.on_peers(addrs.into_iter().filter(|a| !shared.is_own(*a)));
            }
            Input::Written(blocks) => {
                for w in blocks {
                    m.on_written(w.piece, w.length, w.result);
                }
            }
            Input::Checked { piece, result } => m.on_checked(piece, result),
            Input::BlockHashes {
                piece,
                passed,
                hashes,
            } => m.on_block_hashes(piece, passed, hashes),
            Input::Read(blocks) => {
                for (peer, block, result) in blocks {
                    m.on_read(peer, block, result);
                }
            }
            Input::Command(Command::Pause) => m.pause(),
            Input::Command(Command::Resume) => m.resume(),
            Input::Command(Command::Stop(_)) => unreachable!("handled in run"),
        }
        self.carry_out();
    }

    /// Carries out what the machine asked for, until it asks nothing more.
    fn carry_out(&mut self) {
        let mut actions = std::mem::take(&mut self.actions);
        loop {
            self.machine.swap_actions(&mut actions);
            if actions.is_empty() {
                break;
            }
            let mut slow = Vec::new();
            for action in actions.drain(..) {
                let parts = &self.parts;
                let Some(action) = carry_out_for_peers(&mut self.links, parts, action, &mut slow)
                else {
                    continue;
                };
                match action {
                    Action::Write(block, data) => self.writes.push((block, data)),
                    Action::Read(key, block) => self.reads.push((key, block)),
                    Action::Verify(piece) => self.pipeline.verify(piece),
                    Action::Discard(piece) => self.pipeline.discard(piece),
                    Action::HashBlocks { piece, passed } => {
                        self.pipeline.hash_blocks(piece, passed)
                    }
                    Action::Writeback(piece) => self.pipeline.writeback(piece),
                    Action::SaveResume(have) => self.pipeline.save_resume(have),
                    Action::Event(kind) => self.event(kind),
                    Action::Send(..) | Action::Close(_) | Action::Connect(_) => {
                        unreachable!("carried out above")
                    }
                }
            }
            for key in slow {
                self.machine.drop_peer(key, DisconnectReason::SlowReader);
            }
        }
        self.actions = actions;
    }

    /// After a batch of inputs or a timer: the blocks gathered go to the pipeline, and the
    /// status and the announce state are published where they changed.
    fn apply(&mut self) {
        self.carry_out();
        if !self.writes.is_empty() {
            self.pipeline.write(std::mem::take(&mut self.writes));
        }
        if !self.reads.is_empty() {
            self.pipeline.read(std::mem::take(&mut self.reads));
        }
        self.parts.publish(self.machine.status());
        self.announcing.update(self.machine.announce());
    }

    fn event(&self, kind: EventKind) {
        self.parts.event(kind);
    }

    /// Drops every peer, saves the resume file and tells the trackers `stopped`. What still
    /// reaches the inbox meanwhile is dropped, so that no thread waits on a full inbox while
    /// the save waits on the disk thread.
    async fn stop(mut self, rx: &mut mpsc::Receiver<Input>) {
        self.machine.stop();
        self.apply();
        let saved = self
            .pipeline
            .save_resume_and_wait(self.machine.have().clone());
        tokio::pin!(saved);
        let saved = loop {
            tokio::select! {
                saved = &mut saved => break saved,
                Some(_) = rx.recv() => {}
            }
        };
        if let Err(e) = saved {
            self.event(EventKind::StorageError(e));
        }
        self.announcing.stop().await;
    }
}
