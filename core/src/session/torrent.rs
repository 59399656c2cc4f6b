//! The torrent's actor: a task that first checks the data on disk ([`State::Checking`], with
//! progress in the status), then feeds its [`TorrentMachine`] the inputs that reach it (from
//! peer tasks, the block pipeline, the announcer, handles and timers) and carries out the
//! [`Action`]s the machine returns. The machine decides; the actor only does the I/O: it keeps
//! each peer's outgoing queue, spawns connections, hands blocks to the [`Pipeline`] in
//! batches, publishes the status and the announce state, and sends events. Nothing else
//! touches the torrent's state, so there are no locks.

use super::announcer::{self, Announce};
use super::channel::{Command, Input, ToPeer};
use super::machine::{Action, Limits, TorrentMachine};
use super::pipeline::Pipeline;
use super::trackers::SharedTrackers;
use super::{peer, DisconnectReason, Event, EventKind, SessionShared, State, Status};
use crate::metainfo::{InfoHash, Metainfo};
use crate::piece::picker::PeerKey;
use crate::piece::{Bitfield, BlockRef, Layout};
use crate::storage::{Storage, StorageError, StorageOptions};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    meta: Arc<Metainfo>,
    machine: TorrentMachine,
    pipeline: Pipeline,
    /// The session's, and the status and error shared with the handles.
    parts: Parts,
    /// Each connected peer's outgoing queue.
    links: FxHashMap<PeerKey, mpsc::Sender<ToPeer>>,
    /// Blocks received, to be handed to the pipeline together.
    writes: Vec<(BlockRef, bytes::Bytes)>,
    /// Blocks peers asked for, to be read together.
    reads: Vec<(PeerKey, BlockRef)>,
    /// The actions being carried out (kept for its room).
    actions: Vec<Action>,
    announce: watch::Sender<Announce>,
    announcer: Option<tokio::task::JoinHandle<()>>,
}

/// What [`start`] gives the session and the handle.
pub(super) struct Started {
    pub inbox: mpsc::Sender<Input>,
    pub status: Arc<watch::Sender<Status>>,
    pub trackers: SharedTrackers,
    pub error: LastError,
}

/// The storage error that stopped a torrent, shared with its handles (taken by a resume, which
/// opens and checks the files again).
pub(super) type LastError = Arc<Mutex<Option<Arc<crate::Error>>>>;

/// Where and how a torrent's files are opened.
pub(super) struct Opening {
    pub folder: PathBuf,
    pub options: StorageOptions,
    /// Take the data as complete instead of checking it.
    pub trusted: bool,
}

/// Starts a torrent: its files are opened and its data checked in the background (unless
/// trusted: then it is taken as complete), then it runs. The status says
/// [`State::Checking`] until then.
pub(super) fn start(
    meta: Arc<Metainfo>,
    opening: Opening,
    seed_only: bool,
    shared: Arc<SessionShared>,
) -> Started {
    let layout = Layout::of(meta.info());
    let (inbox, mut rx) = mpsc::channel(INBOX);
    let status = Arc::new(watch::Sender::new(Status {
        state: State::Checking,
        piece_count: layout.piece_count(),
        total_length: layout.total_length(),
        ..Status::default()
    }));
    let trackers = SharedTrackers::of(&meta);
    let error = LastError::default();
    let started = Started {
        inbox: inbox.clone(),
        status: status.clone(),
        trackers: trackers.clone(),
        error: error.clone(),
    };
    let parts = Parts {
        shared,
        inbox,
        status,
        trackers,
        error,
    };
    tokio::spawn(async move {
        let (mut parts, mut known) = (parts, Vec::new());
        // Resumed after a storage error, the files are opened and checked again, as at the
        // start: a file may be gone or changed since, and its pieces with it.
        loop {
            let prepared = prepare(&meta, &opening, &parts, &mut rx).await;
            let Some((storage, have, asked)) = prepared else {
                return;
            };
            let mut actor = TorrentActor::new(meta.clone(), storage, have, seed_only, parts);
            known.extend(asked.peers);
            actor.on_input(Input::Peers(known));
            if asked.paused {
                actor.on_input(Input::Command(Command::Pause));
            }
            (parts, known) = match actor.run(&mut rx).await {
                Some(back) => back,
                None => return,
            };
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
}

impl Parts {
    /// Tells the session's listeners; a storage error is also kept for the handles.
    fn event(&self, info_hash: InfoHash, kind: EventKind) {
        if let EventKind::StorageError(error) = &kind {
            *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
        }
        let _ = self.shared.events.send(Event { info_hash, kind });
    }
}

/// What handles asked of a torrent while its data was checked, done once it runs.
#[derive(Default)]
struct Asked {
    peers: Vec<SocketAddr>,
    paused: bool,
}

/// Opens the torrent's files and checks their data (the fast resume file when it is current)
/// on a blocking thread, reporting progress in the status, while answering what reaches the
/// actor: peers are kept for later, connections closed, a pause remembered. Whatever the disk
/// holds, the torrent starts: a storage error (a link or a folder where a file belongs, a
/// file that cannot be made, ...) is reported and leaves the torrent in [`State::Error`] until
/// resumed (the files are opened and checked again) or stopped. `None` when the torrent was
/// stopped meanwhile.
async fn prepare(
    meta: &Arc<Metainfo>,
    opening: &Opening,
    parts: &Parts,
    rx: &mut mpsc::Receiver<Input>,
) -> Option<(Arc<Storage>, Bitfield, Asked)> {
    let info_hash = meta.info_hash();
    let status = &parts.status;
    let mut asked = Asked::default();
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
                    Ok(Ok((storage, have))) => return Some((storage, have, asked)),
                    Ok(Err(e)) => break e,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                },
                input = rx.recv() => {
                    if let Waiting::Stop(done) = asked.on_input(input) {
                        stop.store(true, Ordering::Relaxed);
                        let _ = task.await;
                        done.map(|done| done.send(()));
                        return None;
                    }
                }
            }
        };
        tracing::warn!(%info_hash, error = %failure, "opening or checking the data failed");
        parts.event(info_hash, EventKind::StorageError(Arc::new(failure.into())));
        status.send_modify(|s| s.state = State::Error);
        loop {
            match asked.on_input(rx.recv().await) {
                Waiting::Stop(done) => {
                    done.map(|done| done.send(()));
                    return None;
                }
                Waiting::Resumed => break,
                Waiting::Go => {}
            }
        }
    }
}

/// What an input means to a torrent that does not run yet.
enum Waiting {
    Go,
    /// Resumed: a pause asked before is undone, and a failed check runs again.
    Resumed,
    /// Stopped (with whom to tell, if anyone waits), or every sender is gone.
    Stop(Option<tokio::sync::oneshot::Sender<()>>),
}

impl Asked {
    /// Takes an input that reached a torrent not yet running.
    fn on_input(&mut self, input: Option<Input>) -> Waiting {
        match input {
            None => return Waiting::Stop(None),
            Some(Input::Command(Command::Stop(done))) => return Waiting::Stop(Some(done)),
            Some(Input::Command(Command::Pause)) => self.paused = true,
            Some(Input::Command(Command::Resume)) => {
                self.paused = false;
                return Waiting::Resumed;
            }
            Some(Input::Peers(addrs)) => self.peers.extend(addrs),
            // A peer that connected: its link is dropped, which closes it.
            Some(_) => {}
        }
        Waiting::Go
    }
}

impl TorrentActor {
    fn new(
        meta: Arc<Metainfo>,
        storage: Arc<Storage>,
        have: Bitfield,
        seed_only: bool,
        parts: Parts,
    ) -> TorrentActor {
        let (shared, inbox) = (&parts.shared, &parts.inbox);
        let layout = Layout::of(meta.info());
        let config = &shared.config;
        let limits = Limits {
            max_peers: config.max_peers_per_torrent,
            max_peers_per_ip: config.max_peers_per_ip,
            unchoke_slots: config.unchoke_slots,
            our_id: shared.peer_id,
        };
        let machine = TorrentMachine::new(layout, &have, limits, seed_only, Instant::now());
        parts.status.send_replace(machine.status());
        let (announce, announce_rx) = watch::channel(machine.announce());
        let pipeline = Pipeline::start(
            storage,
            shared.buffers.clone(),
            inbox.clone(),
            meta.info_hash(),
        );
        let announcer = tokio::spawn(announcer::run(
            meta.clone(),
            shared.clone(),
            announce_rx,
            inbox.clone(),
            parts.trackers.clone(),
        ));
        TorrentActor {
            meta,
            machine,
            pipeline,
            parts,
            links: FxHashMap::default(),
            writes: Vec::new(),
            reads: Vec::new(),
            actions: Vec::new(),
            announce,
            announcer: Some(announcer),
        }
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
                                if let Some(announcer) = self.announcer.take() {
                                    announcer.abort();
                                }
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
                match action {
                    Action::Send(key, message) => {
                        // The queue holds more than a full pipeline both ways: full means the
                        // peer stopped reading. Closed means its task ended, and says why next.
                        let sent = self
                            .links
                            .get(&key)
                            .map(|to_peer| to_peer.try_send(ToPeer::Message(message)));
                        if let Some(Err(TrySendError::Full(_))) = sent {
                            slow.push(key);
                        }
                    }
                    Action::Close(key) => {
                        if let Some(to_peer) = self.links.remove(&key) {
                            let _ = to_peer.try_send(ToPeer::Close);
                        }
                    }
                    Action::Connect(addr) => {
                        let (shared, meta, inbox) = (
                            self.parts.shared.clone(),
                            self.meta.clone(),
                            self.parts.inbox.clone(),
                        );
                        tokio::spawn(async move {
                            if let Err(e) = peer::connect(shared, meta, addr, inbox.clone()).await {
                                tracing::debug!(peer = %addr, error = %e, "connect failed");
                                let _ = inbox.send(Input::ConnectFailed(addr)).await;
                            }
                        });
                    }
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
        let status = self.machine.status();
        self.parts.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
        let next = self.machine.announce();
        self.announce.send_if_modified(|a| {
            let next = Announce {
                stopped: a.stopped,
                ..next
            };
            let changed = *a != next;
            *a = next;
            changed
        });
    }

    fn event(&self, kind: EventKind) {
        self.parts.event(self.meta.info_hash(), kind);
    }

    /// Drops every peer, saves the resume file and tells the trackers `stopped`. What still
    /// reaches the inbox meanwhile is dropped, so that no thread waits on a full inbox while
    /// the save waits on the disk thread.
    async fn stop(&mut self, rx: &mut mpsc::Receiver<Input>) {
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
        self.announce.send_modify(|a| a.stopped = true);
        // Give the announcer a moment to say `stopped`.
        if let Some(announcer) = self.announcer.take() {
            let _ = tokio::time::timeout(Duration::from_secs(3), announcer).await;
        }
    }
}
