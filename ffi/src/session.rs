//! `bittern_session_config`, `bittern_session`, `bittern_add_options` and
//! `bittern_torrent_handle`: downloading and seeding torrents, on threads of the session's own.
//!
//! A session's engine runs on its own runtime; these calls block only the calling thread (to
//! add, check, remove or wait). What happens meanwhile is reported through events the caller
//! polls (`bittern_session_poll_event`, `event.rs`), never through callbacks from engine threads.

use crate::announce::{client_config, timeout_ms};
use crate::event::bittern_event;
use crate::torrent::bittern_torrent;
use crate::{
    arg, arg_mut, arg_out, arg_path, arg_str, bittern_result, field_spans, free_handle, guard,
    guard_value, into_handle, parse_host_port, put_sized, Failure,
};
use bittern_core::cancel::Cancel;
use bittern_core::session::{
    AddOptions, Event, EventReceiver, Session, SessionConfig, State, Status, TorrentHandle,
};
use std::ffi::c_char;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What `bittern_torrent_status.eta` holds when the time left cannot be told (nothing is
/// arriving).
pub const BITTERN_ETA_UNKNOWN: u64 = 0xFFFF_FFFF_FFFF_FFFF;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- the config -------------------------------------------------------------------------------

/// How a session runs. Made by `bittern_session_config_new`, ended by
/// `bittern_session_config_free`.
///
/// Defaults: listen on the first free port of 6881 to 6889 on every address; at most 50 peers
/// per torrent, 4 of them from one IP address; 4 peers unchoked by rate (plus one optimistic
/// unchoke); 10 s to connect and handshake; a peer silent for 2 minutes is dropped; a 15 s
/// deadline for each tracker request.
///
/// Values are checked by `bittern_session_new`, once, by the rules every face shares: the
/// limits on peers are at least 1, the timeouts more than 0, and 0 unchoke slots leaves only
/// the optimistic unchoke; anything else gives `BITTERN_RESULT_INVALID_ARGUMENT` there. The
/// listen address is parsed when set, and bound when the session starts.
///
/// Thread safety: the setters need exclusive access; `bittern_session_new` only reads the
/// config, so several sessions may start from the same config at once.
pub struct bittern_session_config {
    inner: SessionConfig,
}

/// Makes a new config with the defaults at `*config_out`.
///
/// Ownership: free it with `bittern_session_config_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_session_config_new(
    config_out: *mut *mut bittern_session_config,
) -> bittern_result {
    guard(|| {
        let out = unsafe { arg_out(config_out, "config_out") }?;
        out.put(into_handle(bittern_session_config {
            inner: SessionConfig::default(),
        }));
        Ok(())
    })
}

/// Frees a config. NULL is a no-op. A session started from it is not affected.
///
/// Ownership: takes ownership of `config`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_session_config_free(config: *mut bittern_session_config) {
    guard_value((), || {
        unsafe { free_handle(config) };
        Ok(())
    })
}

/// Runs `edit` on the config behind `config` (the body of every setter).
fn edit_config(
    config: *mut bittern_session_config,
    edit: impl FnOnce(&mut SessionConfig) -> Result<(), Failure>,
) -> bittern_result {
    guard(|| edit(&mut unsafe { arg_mut(config, "config") }?.inner))
}

/// Sets the address to listen for peers on: `"host:port"`, such as `"0.0.0.0:6881"`,
/// `"127.0.0.1:0"` or `"[::]:51413"` (a name is resolved now, and its first address taken); port
/// 0 picks a free port when the session starts (`bittern_session_listen_port` tells which).
/// NULL goes back to the default, the first free port of 6881 to 6889 on every address.
/// Anything else gives `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Ownership: `address` is copied. Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_listen(
    config: *mut bittern_session_config,
    address: *const c_char,
) -> bittern_result {
    edit_config(config, |c| {
        c.listen = if address.is_null() {
            None
        } else {
            Some(parse_host_port("listen address", unsafe {
                arg_str(address, "address")
            }?)?)
        };
        Ok(())
    })
}

/// Sets the most peers connected per torrent (default 50; at least 1).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_max_peers_per_torrent(
    config: *mut bittern_session_config,
    max_peers: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_peers_per_torrent = max_peers;
        Ok(())
    })
}

/// Sets the most peers per torrent from one IP address (default 4, at least 1; raise it to
/// run several peers on one machine, as tests do).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_max_peers_per_ip(
    config: *mut bittern_session_config,
    max_peers: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_peers_per_ip = max_peers;
        Ok(())
    })
}

/// Sets the number of peers unchoked (uploaded to) by their rate (default 4); one optimistic
/// unchoke comes on top (0 leaves only that one).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_unchoke_slots(
    config: *mut bittern_session_config,
    slots: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.unchoke_slots = slots;
        Ok(())
    })
}

/// Sets how long, in milliseconds, connecting to a peer and exchanging handshakes may take
/// (default 10,000; more than 0).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_handshake_timeout_ms(
    config: *mut bittern_session_config,
    timeout_ms: u64,
) -> bittern_result {
    edit_config(config, |c| {
        c.handshake_timeout = Duration::from_millis(timeout_ms);
        Ok(())
    })
}

/// Sets how long, in milliseconds, a peer may stay silent before it is dropped (default
/// 120,000, more than 0; peers send keep-alives every minute).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_idle_timeout_ms(
    config: *mut bittern_session_config,
    timeout_ms: u64,
) -> bittern_result {
    edit_config(config, |c| {
        c.idle_timeout = Duration::from_millis(timeout_ms);
        Ok(())
    })
}

/// Sets the deadline of each request to a tracker, connecting and reading the answer included,
/// in milliseconds; 0 goes back to the default (15 s). Removing a torrent or freeing the
/// session waits for the `stopped` announce up to about 3 s whatever this is.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_session_config_set_tracker_timeout_ms(
    config: *mut bittern_session_config,
    timeout_ms: u32,
) -> bittern_result {
    edit_config(config, |c| {
        c.tracker = client_config(self::timeout_ms(timeout_ms));
        Ok(())
    })
}

// ---- options for adding -----------------------------------------------------------------------

/// How `bittern_session_add` adds a torrent. Made by `bittern_add_options_new`, ended by
/// `bittern_add_options_free`.
///
/// Defaults: download what is missing, after checking the data already in the save folder.
///
/// Thread safety: the setters need exclusive access; adding only reads the options, so several
/// threads may add with the same options at once.
#[derive(Default)]
pub struct bittern_add_options {
    seed_only: bool,
    trust_data: bool,
}

/// Makes new add options with the defaults at `*options_out`.
///
/// Ownership: free them with `bittern_add_options_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_add_options_new(
    options_out: *mut *mut bittern_add_options,
) -> bittern_result {
    guard(|| {
        let out = unsafe { arg_out(options_out, "options_out") }?;
        out.put(into_handle(bittern_add_options::default()));
        Ok(())
    })
}

/// Frees add options. NULL is a no-op.
///
/// Ownership: takes ownership of `options`. Thread safety: no other thread may be using them.
#[no_mangle]
pub extern "C" fn bittern_add_options_free(options: *mut bittern_add_options) {
    guard_value((), || {
        unsafe { free_handle(options) };
        Ok(())
    })
}

/// Upload only, never asking peers for pieces (default false): for an origin seeder pointed at
/// complete data. Pieces missing from the save folder are not downloaded.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_add_options_set_seed_only(
    options: *mut bittern_add_options,
    seed_only: bool,
) -> bittern_result {
    guard(|| {
        unsafe { arg_mut(options, "options") }?.seed_only = seed_only;
        Ok(())
    })
}

/// Takes the data in the save folder as complete without checking it (default false): for an
/// origin seeder that made the torrent from these very files. Peers still check every piece
/// they get, so wrong data is refused by them, not spread.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_add_options_set_trust_data(
    options: *mut bittern_add_options,
    trust_data: bool,
) -> bittern_result {
    guard(|| {
        unsafe { arg_mut(options, "options") }?.trust_data = trust_data;
        Ok(())
    })
}

// ---- the session ------------------------------------------------------------------------------

/// A BitTorrent session: a listen socket, the torrents added to it, and threads of its own that
/// run them. Made by `bittern_session_new`, shut down and ended by `bittern_session_free`.
///
/// Thread safety: every function but `bittern_session_free` may run on several threads at
/// once.
pub struct bittern_session {
    session: Session,
    events: Events,
}

/// A torrent in a session, made by `bittern_session_add` and ended by
/// `bittern_torrent_handle_free`, which does not stop the torrent (`bittern_session_remove`
/// does).
///
/// A handle stays valid after its torrent is removed or its session freed: the status is then
/// the last one the torrent had, and pausing or resuming gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: every function but `bittern_torrent_handle_free` may run on several threads
/// at once.
pub struct bittern_torrent_handle {
    handle: TorrentHandle,
}

/// The session's one event receiver, lent to one polling thread at a time.
struct Events {
    /// The receiver, or None while a thread polls with it.
    slot: Mutex<Option<EventReceiver>>,
    /// Signalled when a polling thread puts the receiver back.
    returned: Condvar,
}

/// Puts the lent receiver back, even if the poll panicked.
struct Lent<'a> {
    events: &'a Events,
    rx: Option<EventReceiver>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        *lock(&self.events.slot) = self.rx.take();
        // Every waiter: one woken alone might be past its deadline and leave without it.
        self.events.returned.notify_all();
    }
}

impl Events {
    fn new(rx: EventReceiver) -> Self {
        Events {
            slot: Mutex::new(Some(rx)),
            returned: Condvar::new(),
        }
    }

    /// The next event within `timeout`. While another thread holds the receiver, any event is
    /// its: this one waits for the receiver's return, up to its own deadline.
    fn poll(&self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        let mut slot = lock(&self.slot);
        let rx = loop {
            if let Some(rx) = slot.take() {
                break rx;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            slot = self
                .returned
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(slot);
        let mut lent = Lent {
            events: self,
            rx: Some(rx),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        lent.rx.as_mut()?.recv_timeout(left)
    }
}

/// Starts a session with `config` (NULL for the defaults) into a new session at
/// `*session_out`: it binds the listen address and runs on threads of its own until
/// `bittern_session_free`. Events are kept from this moment on, for
/// `bittern_session_poll_event`.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` for a setting that cannot work (see
/// `bittern_session_config`); `BITTERN_RESULT_IO` when the address cannot be bound (taken, not
/// local, no permission; with the default, when every port of 6881 to 6889 is taken) or the
/// threads cannot start. The last error says which.
///
/// Ownership: free the session with `bittern_session_free`; `config` stays the caller's and may
/// be freed at once. Thread safety: any thread; only reads `config`.
#[no_mangle]
pub extern "C" fn bittern_session_new(
    config: *const bittern_session_config,
    session_out: *mut *mut bittern_session,
) -> bittern_result {
    crate::ignore_sigpipe();
    guard(|| {
        let out = unsafe { arg_out(session_out, "session_out") }?;
        // SAFETY: `config` is NULL (the defaults) or points at a live config.
        let config =
            unsafe { config.as_ref() }.map_or_else(SessionConfig::default, |c| c.inner.clone());
        let session = Session::new(config)?;
        let events = Events::new(session.event_receiver());
        out.put(into_handle(bittern_session { session, events }));
        Ok(())
    })
}

/// Shuts the session down and frees it: stops every torrent (saving its resume data and
/// announcing `stopped` to its trackers, up to about 3 s), closes every connection and ends its
/// threads before returning. Torrent handles stay valid (see `bittern_torrent_handle`); events
/// already taken stay the caller's. NULL is a no-op.
///
/// Ownership: takes ownership of `session`. Thread safety: no other thread may be using it
/// (polling it included).
#[no_mangle]
pub extern "C" fn bittern_session_free(session: *mut bittern_session) {
    guard_value((), || {
        unsafe { free_handle(session) };
        Ok(())
    })
}

/// The port the session listens on for peers (the one picked when it was asked for port 0). 0
/// when `session` is NULL.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_session_listen_port(session: *const bittern_session) -> u16 {
    guard_value(0, || {
        Ok(unsafe { arg(session, "session") }?
            .session
            .listen_addr()
            .port())
    })
}

/// Writes the session's peer id (`-BI0100-` and 12 random letters and digits, new for each
/// session) to `peer_id_out[0..20]`.
///
/// Ownership: `peer_id_out` is the caller's (at least 20 bytes). Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_session_peer_id(
    session: *const bittern_session,
    peer_id_out: *mut u8,
) -> bittern_result {
    guard(|| {
        let s = unsafe { arg(session, "session") }?;
        let out = unsafe { arg_out(peer_id_out.cast::<[u8; 20]>(), "peer_id_out") }?;
        out.put(s.session.peer_id().0);
        Ok(())
    })
}

/// Adds `torrent` to the session, its data in the folder `save_dir` (bytes as the OS takes
/// them; they need not be UTF-8; made if missing): a single-file torrent's file goes in it, a
/// multi-file torrent's folder too. `options` may be NULL for the defaults. A new handle to the
/// torrent goes to `*handle_out`.
///
/// Blocks while the data already in `save_dir` is checked (skipped when the resume data saved
/// there is current, or the options trust the data), then starts the torrent: it announces to
/// its trackers and connects to peers on the session's threads. A torrent added complete is
/// seeded and reports `BITTERN_EVENT_KIND_FINISHED` at once.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` when the session has this torrent already (same
/// info-hash); `BITTERN_RESULT_IO` when the folder or the files cannot be made, opened or read.
///
/// Ownership: the session keeps its own copy of the torrent, so `torrent` and `options` stay
/// the caller's and may be freed at once; free the handle with `bittern_torrent_handle_free`.
/// Thread safety: any thread; only reads `torrent` and `options`.
#[no_mangle]
pub extern "C" fn bittern_session_add(
    session: *mut bittern_session,
    torrent: *const bittern_torrent,
    save_dir: *const c_char,
    options: *const bittern_add_options,
    handle_out: *mut *mut bittern_torrent_handle,
) -> bittern_result {
    guard(|| {
        let s = unsafe { arg(session, "session") }?;
        let meta = unsafe { arg(torrent, "torrent") }?.meta();
        let save_dir = unsafe { arg_path(save_dir, "save_dir") }?;
        let out = unsafe { arg_out(handle_out, "handle_out") }?;
        // SAFETY: `options` is NULL (the defaults) or points at live options.
        let options = unsafe { options.as_ref() }.map_or_else(Default::default, |o| AddOptions {
            save_dir: Default::default(),
            seed_only: o.seed_only,
            trust_data: o.trust_data,
        });
        let options = AddOptions {
            save_dir: save_dir.to_path_buf(),
            ..options
        };
        let handle = s.session.add(meta.clone(), options, Cancel::NEVER)?;
        out.put(into_handle(bittern_torrent_handle { handle }));
        Ok(())
    })
}

/// Gives the torrent a peer to connect to, besides those its trackers name: `"host:port"`,
/// such as `"192.0.2.7:6881"` or `"[2001:db8::1]:51413"` (a name is resolved now, blocking,
/// and its first address taken). Returns at once; the torrent connects when it has room.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` for an address that is not `"host:port"`, or a
/// torrent not in this session (removed, or added to another session).
///
/// Ownership: `host_port` is copied. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_session_add_peer(
    session: *mut bittern_session,
    handle: *const bittern_torrent_handle,
    host_port: *const c_char,
) -> bittern_result {
    guard(|| {
        let s = unsafe { arg(session, "session") }?;
        let h = unsafe { arg(handle, "handle") }?;
        let addr = parse_host_port("peer address", unsafe { arg_str(host_port, "host_port") }?)?;
        Ok(s.session.add_peers(&h.handle, vec![addr])?)
    })
}

/// Stops the torrent and takes it out of the session: drops its peers, saves its resume data
/// and announces `stopped` to its trackers (waiting up to about 3 s for them). Its files stay.
/// The handle stays valid (and is still to be freed); the torrent may be added again.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` for a torrent not in this session (removed
/// already, or added to another session).
///
/// Thread safety: any thread; blocks it until the torrent has stopped.
#[no_mangle]
pub extern "C" fn bittern_session_remove(
    session: *mut bittern_session,
    handle: *const bittern_torrent_handle,
) -> bittern_result {
    guard(|| {
        let s = unsafe { arg(session, "session") }?;
        let h = unsafe { arg(handle, "handle") }?;
        Ok(s.session.remove(&h.handle)?)
    })
}

/// Takes the session's next event into a new event at `*event_out`, waiting up to `timeout_ms`
/// milliseconds for one (0: only take one already waiting). Returns `BITTERN_RESULT_NOT_FOUND`
/// when none came in time.
///
/// The session keeps the events of all its torrents from its start, oldest first; when more
/// than 4096 are waiting the oldest are dropped, so poll regularly (a thread of the program's
/// own may do nothing else).
///
/// Ownership: the caller owns the event and frees it with `bittern_event_free`; polling again
/// does not end it. Thread safety: blocks only the calling thread. Several threads may poll
/// one session at once: each event goes to exactly one of them, and each returns by its own
/// timeout.
#[no_mangle]
pub extern "C" fn bittern_session_poll_event(
    session: *mut bittern_session,
    timeout_ms: u32,
    event_out: *mut *mut bittern_event,
) -> bittern_result {
    guard(|| {
        let s = unsafe { arg(session, "session") }?;
        let out = unsafe { arg_out(event_out, "event_out") }?;
        let event = s
            .events
            .poll(Duration::from_millis(timeout_ms.into()))
            .ok_or_else(|| Failure::not_found(format!("no event within {timeout_ms} ms")))?;
        out.put(into_handle(bittern_event::new(event)));
        Ok(())
    })
}

// ---- torrent handles --------------------------------------------------------------------------

/// What a torrent is doing.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_torrent_state {
    /// Checking the data on disk.
    Checking = 0,
    /// Downloading what is missing.
    Downloading = 1,
    /// Complete: uploading only.
    Seeding = 2,
    /// Paused by `bittern_torrent_handle_pause`: no peers, no transfers.
    Paused = 3,
    /// Stopped by an error (`BITTERN_EVENT_KIND_STORAGE_ERROR` says which).
    Error = 4,
}

/// A snapshot of a torrent, written by `bittern_torrent_handle_status`.
///
/// Set `struct_size` to `sizeof(bittern_torrent_status)` before the call: fields may be added
/// at the end in later versions, and only those within the caller's `struct_size` are written.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct bittern_torrent_status {
    /// Set by the caller to `sizeof(bittern_torrent_status)`; on return, where the fields the
    /// library wrote end (its own `sizeof` when the caller's struct is at least as large).
    pub struct_size: usize,
    /// What the torrent is doing.
    pub state: bittern_torrent_state,
    /// Pieces verified.
    pub pieces_done: u32,
    /// Pieces in the torrent.
    pub piece_count: u32,
    /// Bytes of the verified pieces.
    pub bytes_done: u64,
    /// Bytes in the torrent.
    pub total_length: u64,
    /// Payload bytes per second arriving, over the last few seconds.
    pub download_rate: u64,
    /// Payload bytes per second leaving, over the last few seconds.
    pub upload_rate: u64,
    /// Payload bytes uploaded since the torrent was added.
    pub uploaded: u64,
    /// Payload bytes downloaded since the torrent was added (failed pieces included).
    pub downloaded: u64,
    /// Peers connected.
    pub peers: u32,
    /// Seconds until complete at the current rate: 0 when complete, `BITTERN_ETA_UNKNOWN`
    /// (`UINT64_MAX`) when it cannot be told.
    pub eta: u64,
}

impl bittern_torrent_status {
    fn of(s: &Status) -> Self {
        bittern_torrent_status {
            struct_size: std::mem::size_of::<Self>(),
            state: match s.state {
                State::Checking => bittern_torrent_state::Checking,
                State::Downloading => bittern_torrent_state::Downloading,
                State::Seeding => bittern_torrent_state::Seeding,
                State::Paused => bittern_torrent_state::Paused,
                State::Error => bittern_torrent_state::Error,
            },
            pieces_done: s.pieces_done,
            piece_count: s.piece_count,
            bytes_done: s.bytes_done,
            total_length: s.total_length,
            download_rate: s.download_rate,
            upload_rate: s.upload_rate,
            uploaded: s.uploaded,
            downloaded: s.downloaded,
            peers: s.peers,
            eta: s.eta().unwrap_or(BITTERN_ETA_UNKNOWN),
        }
    }
}

/// The guard of every function on a handle.
fn with_handle(
    handle: *const bittern_torrent_handle,
    body: impl FnOnce(&TorrentHandle) -> Result<(), Failure>,
) -> bittern_result {
    guard(|| body(&unsafe { arg(handle, "handle") }?.handle))
}

/// Frees a handle. The torrent goes on in its session (`bittern_session_remove` stops it).
/// NULL is a no-op.
///
/// Ownership: takes ownership of `handle`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_free(handle: *mut bittern_torrent_handle) {
    guard_value((), || {
        unsafe { free_handle(handle) };
        Ok(())
    })
}

/// Writes the torrent's info-hash to `hash_out[0..20]`.
///
/// Ownership: `hash_out` is the caller's (at least 20 bytes). Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_info_hash(
    handle: *const bittern_torrent_handle,
    hash_out: *mut u8,
) -> bittern_result {
    with_handle(handle, |h| {
        let out = unsafe { arg_out(hash_out.cast::<[u8; 20]>(), "hash_out") }?;
        out.put(h.info_hash().0);
        Ok(())
    })
}

/// Writes the torrent's status now to `*status_out`, whose `struct_size` the caller sets to
/// `sizeof(bittern_torrent_status)`: only the fields within it are written, and `struct_size`
/// is then set to the size this library wrote up to. A `struct_size` smaller than a `size_t`
/// gives `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Ownership: `status_out` is the caller's. Thread safety: any thread; the torrent updates its
/// status about twice a second while anything happens.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_status(
    handle: *const bittern_torrent_handle,
    status_out: *mut bittern_torrent_status,
) -> bittern_result {
    with_handle(handle, |h| {
        let status = bittern_torrent_status::of(&h.status());
        let fields = field_spans!(bittern_torrent_status, status;
            state, pieces_done, piece_count, bytes_done, total_length, download_rate,
            upload_rate, uploaded, downloaded, peers, eta);
        unsafe { put_sized(status_out, "status_out", &status, &fields) }
    })
}

/// Waits up to `timeout_ms` milliseconds for every piece of the torrent to be verified, and
/// writes to `*finished_out` whether they are (true at once for a torrent already complete;
/// false when the time ran out, or at once when a storage error stopped the torrent:
/// `BITTERN_TORRENT_STATE_ERROR`, which `bittern_torrent_handle_resume` clears; false at once
/// too for a torrent removed, or whose session was freed, before it finished).
///
/// Thread safety: blocks only the calling thread; several threads may wait at once.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_wait(
    handle: *const bittern_torrent_handle,
    timeout_ms: u32,
    finished_out: *mut bool,
) -> bittern_result {
    with_handle(handle, |h| {
        let out = unsafe { arg_out(finished_out, "finished_out") }?;
        out.put(h.wait_finished(Duration::from_millis(timeout_ms.into())));
        Ok(())
    })
}

/// Pauses the torrent: it drops its peers and connects to none until resumed. Returns at once;
/// the status says `BITTERN_TORRENT_STATE_PAUSED` soon after. Pausing a paused torrent does
/// nothing.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` when the torrent was removed or its session freed.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_pause(
    handle: *const bittern_torrent_handle,
) -> bittern_result {
    with_handle(handle, |h| Ok(h.pause()?))
}

/// Resumes a paused torrent, or one a storage error stopped (`BITTERN_TORRENT_STATE_ERROR`:
/// it tries again). Returns at once. Resuming a torrent that is running does nothing.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` when the torrent was removed or its session freed.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_resume(
    handle: *const bittern_torrent_handle,
) -> bittern_result {
    with_handle(handle, |h| Ok(h.resume()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    fn session() -> *mut bittern_session {
        let mut config = ptr::null_mut();
        assert_eq!(bittern_session_config_new(&mut config), bittern_result::Ok);
        assert_eq!(
            bittern_session_config_set_listen(config, c"127.0.0.1:0".as_ptr()),
            bittern_result::Ok
        );
        let mut s = ptr::null_mut();
        assert_eq!(bittern_session_new(config, &mut s), bittern_result::Ok);
        bittern_session_config_free(config);
        s
    }

    #[test]
    fn listen_addresses_are_checked_when_set() {
        let mut config = ptr::null_mut();
        assert_eq!(bittern_session_config_new(&mut config), bittern_result::Ok);
        assert_eq!(
            bittern_session_config_set_listen(config, c"nowhere".as_ptr()),
            bittern_result::InvalidArgument
        );
        assert_eq!(
            bittern_session_config_set_listen(config, ptr::null()),
            bittern_result::Ok
        );
        assert_eq!(unsafe { &*config }.inner.listen, None);
        bittern_session_config_free(config);
    }

    #[test]
    fn several_threads_poll_one_session_each_by_its_own_timeout() {
        let s = session();
        assert_ne!(bittern_session_listen_port(s), 0);
        let shared = s as usize;
        let poll = move |ms: u32| {
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut ev = ptr::null_mut();
                let r = bittern_session_poll_event(shared as *mut bittern_session, ms, &mut ev);
                (r, ev.is_null(), started.elapsed())
            })
        };
        let long = poll(1500);
        std::thread::sleep(Duration::from_millis(100));
        let short = poll(100);
        let (r, null, took) = short.join().unwrap();
        assert_eq!((r, null), (bittern_result::NotFound, true));
        assert!(took < Duration::from_millis(1000), "{took:?}");
        let (r, _, took) = long.join().unwrap();
        assert_eq!(r, bittern_result::NotFound);
        assert!(took >= Duration::from_millis(1500), "{took:?}");
        bittern_session_free(s);
    }
}
