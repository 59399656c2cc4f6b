//! `bittern_session`: downloading and seeding torrents, on threads of the session's own.
//!
//! A session's engine runs on its own runtime; these calls block only the calling thread (to
//! add, check, remove or wait). What happens meanwhile is reported through events the caller
//! polls (`bittern_session_poll_event`, `event.rs`), never through callbacks from engine threads.

use crate::add_options::bittern_add_options;
use crate::event::bittern_event;
use crate::magnet::bittern_magnet;
use crate::session_config::bittern_session_config;
use crate::torrent::bittern_torrent;
use crate::torrent_handle::bittern_torrent_handle;
use crate::{
    arg, arg_out, arg_path, arg_str, bittern_result, free_handle, guard, guard_value, into_handle,
    parse_host_port, Failure,
};
use bittern_core::magnet::Magnet;
use bittern_core::session::{Event, EventReceiver, Session, SessionConfig};
use std::ffi::c_char;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A BitTorrent session: a listen socket, the torrents added to it, and threads of its own that
/// run them. Made by `bittern_session_new`, shut down and ended by `bittern_session_free`.
///
/// Thread safety: every function but `bittern_session_free` may run on several threads at
/// once.
pub struct bittern_session {
    session: Session,
    events: Events,
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
            unsafe { config.as_ref() }.map_or_else(SessionConfig::default, |c| c.config().clone());
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
/// Returns at once: the torrent first opens its files and checks the data already in
/// `save_dir` on the session's threads (`BITTERN_TORRENT_STATE_CHECKING`, with
/// `pieces_checked` in its status; quick when the resume data saved there is current, skipped
/// when the options trust the data), then announces to its trackers and connects to peers. A
/// torrent found complete is seeded and reports `BITTERN_EVENT_KIND_FINISHED`. What is on disk
/// never fails the add: a file that cannot be opened, made or read (a link or a folder where a
/// file belongs, a missing file with seed_only, ...) stops the torrent in
/// `BITTERN_TORRENT_STATE_ERROR` with a `BITTERN_EVENT_KIND_STORAGE_ERROR` event
/// (`bittern_torrent_handle_error_message` says why); `bittern_torrent_handle_resume` opens
/// and checks them again.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` when the session has this torrent already (same
/// info-hash) or `save_dir` is empty.
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
        let options = bittern_add_options::to_core(unsafe { options.as_ref() }, save_dir);
        let handle = s.session.add(meta.clone(), options)?;
        out.put(into_handle(bittern_torrent_handle::new(handle)));
        Ok(())
    })
}

/// Adds the torrent of the magnet link `link` (`magnet:?xt=urn:btih:...`, as
/// `bittern_magnet_parse` reads it) to the session, its data in the folder `save_dir` (as
/// `bittern_session_add` takes it). `options` may be NULL for the defaults. A new handle to the
/// torrent goes to `*handle_out`.
///
/// Returns at once: the torrent first asks peers for its metadata (BEP 9), in
/// `BITTERN_TORRENT_STATE_FETCHING_METADATA` with a `BITTERN_EVENT_KIND_FETCHING_METADATA`
/// event: the peers the link names (`x.pe`), those its trackers (`tr`) give, and those given
/// by `bittern_session_add_peer`. Once the metadata is in and matches the link's info-hash
/// (`BITTERN_EVENT_KIND_METADATA_RECEIVED`; `bittern_torrent_handle_metainfo` then gives the
/// torrent), it goes on as one added by `bittern_session_add`: its data is checked, then
/// downloaded. Meanwhile `piece_count` and `total_length` of its status are 0.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` for a malformed link (the last error says what is
/// wrong, as for `bittern_magnet_parse`), when the session has this torrent already (same
/// info-hash) or `save_dir` is empty.
///
/// Ownership: `link` and `options` stay the caller's and may be freed at once; free the handle
/// with `bittern_torrent_handle_free`. Thread safety: any thread; only reads `link` and
/// `options`.
#[no_mangle]
pub extern "C" fn bittern_session_add_magnet(
    session: *mut bittern_session,
    link: *const c_char,
    save_dir: *const c_char,
    options: *const bittern_add_options,
    handle_out: *mut *mut bittern_torrent_handle,
) -> bittern_result {
    guard(|| {
        let s = unsafe { arg(session, "session") }?;
        let link = unsafe { arg_str(link, "link") }?;
        let save_dir = unsafe { arg_path(save_dir, "save_dir") }?;
        let out = unsafe { arg_out(handle_out, "handle_out") }?;
        let magnet = Magnet::parse(link).map_err(bittern_core::Error::from)?;
        // SAFETY: `options` is NULL (the defaults) or points at live options.
        let options = bittern_add_options::to_core(unsafe { options.as_ref() }, save_dir);
        let handle = s.session.add_magnet(magnet, options)?;
        out.put(into_handle(bittern_torrent_handle::new(handle)));
        Ok(())
    })
}

/// Adds the torrent of a magnet link parsed by `bittern_magnet_parse`, as
/// `bittern_session_add_magnet` adds one given as text, its data in the folder `save_dir`.
/// `options` may be NULL for the defaults. A new handle to the torrent goes to `*handle_out`.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` when the session has this torrent already (same
/// info-hash) or `save_dir` is empty.
///
/// Ownership: the session keeps its own copy of the link, so `magnet` and `options` stay the
/// caller's and may be freed at once; free the handle with `bittern_torrent_handle_free`.
/// Thread safety: any thread; only reads `magnet` and `options`.
#[no_mangle]
pub extern "C" fn bittern_session_add_magnet_link(
    session: *mut bittern_session,
    magnet: *const bittern_magnet,
    save_dir: *const c_char,
    options: *const bittern_add_options,
    handle_out: *mut *mut bittern_torrent_handle,
) -> bittern_result {
    guard(|| {
        let s = unsafe { arg(session, "session") }?;
        let magnet = unsafe { arg(magnet, "magnet") }?.magnet().clone();
        let save_dir = unsafe { arg_path(save_dir, "save_dir") }?;
        let out = unsafe { arg_out(handle_out, "handle_out") }?;
        // SAFETY: `options` is NULL (the defaults) or points at live options.
        let options = bittern_add_options::to_core(unsafe { options.as_ref() }, save_dir);
        let handle = s.session.add_magnet(magnet, options)?;
        out.put(into_handle(bittern_torrent_handle::new(handle)));
        Ok(())
    })
}

/// Gives the torrent a peer to connect to, besides those its trackers (or magnet link) name: `"host:port"`,
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
        Ok(s.session.add_peers(h.handle(), vec![addr])?)
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
        Ok(s.session.remove(h.handle())?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_config::{
        bittern_session_config_free, bittern_session_config_new, bittern_session_config_set_listen,
    };
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
