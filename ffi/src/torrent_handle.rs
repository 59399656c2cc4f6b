//! `bittern_torrent_handle`: a torrent in a session, made by `bittern_session_add` (or
//! `bittern_session_add_magnet`).

use crate::disconnect_reason::bittern_disconnect_reason_arg;
use crate::torrent::bittern_torrent;
use crate::torrent_status::bittern_torrent_status;
use crate::tracker_state::bittern_tracker_state;
use crate::{
    arg, arg_out, bittern_result, copy_str, field_spans, free_handle, guard, guard_value,
    into_handle, put_sized, without_nul, CStrCache, Failure,
};
use bittern_core::session::{TorrentHandle, TrackerStatus};
use std::ffi::c_char;
use std::ptr;
use std::time::Duration;

/// A torrent in a session, made by `bittern_session_add`, `bittern_session_add_magnet` or
/// `bittern_session_add_magnet_link` and ended by `bittern_torrent_handle_free`, which does
/// not stop the torrent (`bittern_session_remove` does).
///
/// A handle stays valid after its torrent is removed or its session freed: the status is then
/// the last one the torrent had, and pausing or resuming gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Trackers: the torrent's tracker URLs (BEP 12 `announce-list`, else `announce`; a magnet
/// link's `tr`, each a tier of its own) are listed in tier order, indexes 0 to
/// `bittern_torrent_handle_tracker_count` - 1; the list and its order are fixed for the
/// handle's life, only each tracker's state, peers and message change.
///
/// Thread safety: every function but `bittern_torrent_handle_free` may run on several threads
/// at once.
pub struct bittern_torrent_handle {
    handle: TorrentHandle,
    /// The tracker URLs handed out, by index.
    urls: CStrCache<usize>,
}

impl bittern_torrent_handle {
    pub(crate) fn new(handle: TorrentHandle) -> Self {
        bittern_torrent_handle {
            handle,
            urls: CStrCache::default(),
        }
    }

    /// Core's handle, for the session's functions that take one (add a peer, remove).
    pub(crate) fn handle(&self) -> &TorrentHandle {
        &self.handle
    }
}

/// The guard of every function on a handle.
fn with_handle(
    handle: *const bittern_torrent_handle,
    body: impl FnOnce(&TorrentHandle) -> Result<(), Failure>,
) -> bittern_result {
    guard(|| body(&unsafe { arg(handle, "handle") }?.handle))
}

/// The tracker at `index` of the handle's torrent, as its announcer last found it; not found
/// (naming the count) when there is none.
fn tracker(h: &TorrentHandle, index: usize) -> Result<TrackerStatus, Failure> {
    let mut trackers = h.trackers();
    let count = trackers.len();
    if index >= count {
        return Err(Failure::not_found(format!(
            "no tracker {index}: the torrent has {count}"
        )));
    }
    Ok(trackers.swap_remove(index))
}

/// The guard of the functions that write one value of the tracker at `index` to `out`.
fn with_tracker<T>(
    handle: *const bittern_torrent_handle,
    index: usize,
    out: *mut T,
    name: &str,
    get: impl FnOnce(&TrackerStatus) -> T,
) -> bittern_result {
    with_handle(handle, |h| {
        let out = unsafe { arg_out(out, name) }?;
        out.put(get(&tracker(h, index)?));
        Ok(())
    })
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

/// Makes a new torrent of the handle's metainfo (what a `.torrent` file of it holds, which
/// `bittern_torrent_save` writes) into `*torrent_out`. A torrent added with
/// `bittern_session_add` has it from the start; one added from a magnet link once its metadata
/// is in (`BITTERN_EVENT_KIND_METADATA_RECEIVED`; the state is no longer
/// `BITTERN_TORRENT_STATE_FETCHING_METADATA`).
///
/// Errors: `BITTERN_RESULT_NOT_FOUND` while a magnet link's metadata is not in yet (the last
/// error says so).
///
/// Ownership: the caller owns the new torrent and frees it with `bittern_torrent_free`; it is
/// a copy, independent of the handle. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_metainfo(
    handle: *const bittern_torrent_handle,
    torrent_out: *mut *mut bittern_torrent,
) -> bittern_result {
    with_handle(handle, |h| {
        let out = unsafe { arg_out(torrent_out, "torrent_out") }?;
        let meta = h.metainfo().ok_or_else(|| {
            Failure::not_found(format!(
                "the metadata of {} is not in yet: it is being fetched from peers",
                h.info_hash()
            ))
        })?;
        out.put(into_handle(bittern_torrent::new((*meta).clone())));
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
            upload_rate, uploaded, downloaded, peers, eta, pieces_checked, pieces_found, progress);
        unsafe { put_sized(status_out, "status_out", &status, &fields) }
    })
}

/// Writes how many peer connections of the torrent ended for `reason` so far to `*count_out`.
/// A `reason` that is none of the `bittern_disconnect_reason` values gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: any thread; the count is part of the status, updated as `status` is.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_disconnects(
    handle: *const bittern_torrent_handle,
    reason: bittern_disconnect_reason_arg,
    count_out: *mut u32,
) -> bittern_result {
    with_handle(handle, |h| {
        let out = unsafe { arg_out(count_out, "count_out") }?;
        let reason = reason.value("reason")?;
        out.put(h.status().disconnects.get(reason.to_core()));
        Ok(())
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

/// Waits up to `timeout_ms` milliseconds for the check of the data on disk that follows
/// `bittern_session_add` to be over (the state is no longer `BITTERN_TORRENT_STATE_CHECKING`:
/// the torrent runs, or the check failed with `BITTERN_TORRENT_STATE_ERROR`), and writes to
/// `*checked_out` whether it is (false when the time ran out, and at once for a torrent
/// removed, or whose session was freed).
///
/// Thread safety: blocks only the calling thread; several threads may wait at once.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_wait_checked(
    handle: *const bittern_torrent_handle,
    timeout_ms: u32,
    checked_out: *mut bool,
) -> bittern_result {
    with_handle(handle, |h| {
        let out = unsafe { arg_out(checked_out, "checked_out") }?;
        out.put(h.wait_checked(Duration::from_millis(timeout_ms.into())));
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

/// Copies the storage error that stopped the torrent (`BITTERN_TORRENT_STATE_ERROR`: what it
/// could not open, make, read or write, the path included) into `buf`,
/// as `bittern_last_error_message` copies the last error, and returns the message's full
/// length in bytes (not counting the NUL). Returns 0 (and writes `""`) when there is none: the torrent
/// runs, was resumed since, or `handle` is NULL (which leaves a last error).
///
/// Ownership: `buf` is the caller's. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_error_message(
    handle: *const bittern_torrent_handle,
    buf: *mut c_char,
    len: usize,
) -> usize {
    let message = guard_value(String::new(), || {
        let h = unsafe { arg(handle, "handle") }?;
        let error = h.handle.error();
        Ok(error.map_or_else(String::new, |e| without_nul(&e.to_string())))
    });
    guard_value(0, || Ok(unsafe { copy_str(&message, buf, len) }))
}

/// Resumes a paused torrent, or one a storage error stopped (`BITTERN_TORRENT_STATE_ERROR`:
/// it opens its files and checks them again). Returns at once. Resuming a torrent that is
/// running does nothing.
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

// ---- trackers ---------------------------------------------------------------------------------

/// Writes how many tracker URLs the torrent has to `*count_out`: 0 when it names no tracker
/// (peers then come only from `bittern_session_add_peer`, or dial in). The count is fixed for
/// the handle's life.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_tracker_count(
    handle: *const bittern_torrent_handle,
    count_out: *mut usize,
) -> bittern_result {
    with_handle(handle, |h| {
        let out = unsafe { arg_out(count_out, "count_out") }?;
        out.put(h.trackers().len());
        Ok(())
    })
}

/// Writes where the tracker at `index` stands now to `*state_out`.
///
/// Errors: `BITTERN_RESULT_NOT_FOUND` when `index` is not below the count (the last error names
/// it).
///
/// Thread safety: any thread; the announcer updates the state after each announce.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_tracker_state(
    handle: *const bittern_torrent_handle,
    index: usize,
    state_out: *mut bittern_tracker_state,
) -> bittern_result {
    with_tracker(handle, index, state_out, "state_out", |t| {
        bittern_tracker_state::of(t.state)
    })
}

/// The URL of the tracker at `index`, or NULL when `handle` is NULL or `index` is not below the
/// count (the last error says which).
///
/// Ownership: owned by the handle, valid until `bittern_torrent_handle_free`; never free it.
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_tracker_url(
    handle: *const bittern_torrent_handle,
    index: usize,
) -> *const c_char {
    guard_value(ptr::null(), || {
        let h = unsafe { arg(handle, "handle") }?;
        // The list is fixed for the handle's life, so the index names one URL for good.
        let url = tracker(&h.handle, index)?.url;
        Ok(h.urls.get(index, || url))
    })
}

/// Writes the BEP 12 tier of the tracker at `index` (0 for the first; a torrent with only
/// `announce` has tier 0 alone) to `*tier_out`.
///
/// Errors: `BITTERN_RESULT_NOT_FOUND` when `index` is not below the count.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_tracker_tier(
    handle: *const bittern_torrent_handle,
    index: usize,
    tier_out: *mut u32,
) -> bittern_result {
    with_tracker(handle, index, tier_out, "tier_out", |t| t.tier)
}

/// Writes how many peers the last reply of the tracker at `index` named (0 until one came) to
/// `*peers_out`.
///
/// Errors: `BITTERN_RESULT_NOT_FOUND` when `index` is not below the count.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_tracker_peers(
    handle: *const bittern_torrent_handle,
    index: usize,
    peers_out: *mut u32,
) -> bittern_result {
    with_tracker(handle, index, peers_out, "peers_out", |t| t.peers)
}

/// Writes how many announces to the tracker at `index` failed in a row (0 once one is
/// answered) to `*failures_out`.
///
/// Errors: `BITTERN_RESULT_NOT_FOUND` when `index` is not below the count.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_tracker_failures(
    handle: *const bittern_torrent_handle,
    index: usize,
    failures_out: *mut u32,
) -> bittern_result {
    with_tracker(handle, index, failures_out, "failures_out", |t| t.failures)
}

/// Copies why the last announce to the tracker at `index` failed (while it is
/// `BITTERN_TRACKER_STATE_FAILING`) into `buf`, as `bittern_last_error_message` copies the last
/// error, and returns the message's full length in bytes (not counting the NUL). Returns 0
/// (and writes `""`) when there is none: the tracker is not failing, `handle` is NULL or
/// `index` is not below the count (those two leave a last error).
///
/// Ownership: `buf` is the caller's. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_torrent_handle_tracker_message(
    handle: *const bittern_torrent_handle,
    index: usize,
    buf: *mut c_char,
    len: usize,
) -> usize {
    let message = guard_value(String::new(), || {
        let h = unsafe { arg(handle, "handle") }?;
        let error = tracker(&h.handle, index)?.error;
        Ok(error.map_or_else(String::new, |e| without_nul(&e.to_string())))
    });
    guard_value(0, || Ok(unsafe { copy_str(&message, buf, len) }))
}
