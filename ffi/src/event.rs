//! `bittern_event`: something that happened to a torrent of a session, taken by
//! `bittern_session_poll_event` and read through accessors.

use crate::{arg, arg_out, bittern_result, c_string, free_handle, guard, guard_value, Failure};
use bittern_core::session::{Event, EventKind};
use std::ffi::{c_char, CStr, CString};
use std::ptr;

/// What kind of event a `bittern_event` is. The numbers are part of the ABI and never change;
/// new kinds are only ever added.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_event_kind {
    /// An event of a kind this version of the C interface cannot describe (a bug in bittern:
    /// every kind the library reports has its own value); `bittern_event_message` describes it.
    Other = 0,
    /// A piece arrived and matched its hash (`bittern_event_piece` says which).
    PieceVerified = 1,
    /// A piece arrived and failed its hash check; it will be downloaded again
    /// (`bittern_event_piece` says which).
    HashFailed = 2,
    /// Every piece is verified: the download is complete. Also sent when a torrent is added
    /// with its data already complete.
    Finished = 3,
    /// A tracker answered an announce (`bittern_event_message`: its URL, `bittern_event_peers`:
    /// how many peers it named).
    TrackerReply = 4,
    /// A tracker did not answer an announce (`bittern_event_message`: `<its URL>: <why>`).
    TrackerError = 5,
    /// A peer was banned for sending data that failed hash checks (`bittern_event_message`: its
    /// IP address).
    PeerBanned = 6,
    /// Reading or writing the torrent's files failed (`bittern_event_message` says why).
    StorageError = 7,
    /// A torrent added from a magnet link asks peers for its metadata
    /// (`BITTERN_TORRENT_STATE_FETCHING_METADATA`).
    FetchingMetadata = 8,
    /// A magnet link's metadata is in and matched the link's info-hash: the torrent's files are
    /// known (`bittern_torrent_handle_metainfo`), and it goes on as any other.
    MetadataReceived = 9,
}

crate::enum_arg::enum_arg!(bittern_event_kind_arg => bittern_event_kind [Other, PieceVerified, HashFailed, Finished, TrackerReply, TrackerError, PeerBanned, StorageError, FetchingMetadata, MetadataReceived]);

/// An event of a session, taken by `bittern_session_poll_event` and ended by
/// `bittern_event_free`.
///
/// An event is the caller's own: polling again does not change or end it, so several may be
/// kept at once. Thread safety: the accessors only read, so one event may be used from several
/// threads at once. Strings are owned by the event, valid until `bittern_event_free`.
pub struct bittern_event {
    event: Event,
    kind: bittern_event_kind,
    /// The text `bittern_event_message` returns, made when the event is taken.
    message: Option<CString>,
    /// The failure a `TRACKER_ERROR` or `STORAGE_ERROR` event reports, and its file's path.
    failure: Option<(Failure, Option<CString>)>,
}

impl bittern_event {
    pub(crate) fn new(event: Event) -> Self {
        let (kind, message) = match &event.kind {
            EventKind::PieceVerified(_) => (bittern_event_kind::PieceVerified, None),
            EventKind::HashFailed(_) => (bittern_event_kind::HashFailed, None),
            EventKind::Finished => (bittern_event_kind::Finished, None),
            EventKind::TrackerReply { url, .. } => {
                (bittern_event_kind::TrackerReply, Some(c_string(url)))
            }
            EventKind::TrackerError { url, error } => (
                bittern_event_kind::TrackerError,
                Some(c_string(&format!("{url}: {error}"))),
            ),
            EventKind::PeerBanned(ip) => (
                bittern_event_kind::PeerBanned,
                Some(c_string(&ip.to_string())),
            ),
            EventKind::StorageError(e) => (
                bittern_event_kind::StorageError,
                Some(c_string(&e.to_string())),
            ),
            EventKind::FetchingMetadata => (bittern_event_kind::FetchingMetadata, None),
            EventKind::MetadataReceived => (bittern_event_kind::MetadataReceived, None),
            // A kind added to the core and not yet mapped here: still handed over, described.
            other => (
                bittern_event_kind::Other,
                Some(c_string(&format!("{other:?}"))),
            ),
        };
        let failure = match &event.kind {
            EventKind::TrackerError { error: e, .. } | EventKind::StorageError(e) => {
                let failure = Failure::from(&**e);
                // A path holds no NUL on the systems we build for.
                let path = failure.path().and_then(|p| {
                    use std::os::unix::ffi::OsStrExt;
                    CString::new(p.as_os_str().as_bytes()).ok()
                });
                Some((failure, path))
            }
            _ => None,
        };
        bittern_event {
            event,
            kind,
            message,
            failure,
        }
    }

    fn failure(&self) -> Result<&(Failure, Option<CString>), Failure> {
        self.failure.as_ref().ok_or_else(|| {
            Failure::not_found(format!("a {:?} event reports no failure", self.kind))
        })
    }
}

/// The guard of an accessor that returns a value (`fallback` when `event` is NULL).
fn read<T>(event: *const bittern_event, fallback: T, get: impl FnOnce(&bittern_event) -> T) -> T {
    guard_value(fallback, || Ok(get(unsafe { arg(event, "event") }?)))
}

/// Frees an event and the strings borrowed from it. NULL is a no-op.
///
/// Ownership: takes ownership of `event`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_event_free(event: *mut bittern_event) {
    guard_value((), || {
        unsafe { free_handle(event) };
        Ok(())
    })
}

/// The kind of the event (the accessors below say which fields each kind has);
/// `BITTERN_EVENT_KIND_OTHER` when `event` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_get_kind(event: *const bittern_event) -> bittern_event_kind {
    read(event, bittern_event_kind::Other, |e| e.kind)
}

/// The name of an event kind as a static NUL-terminated string, such as
/// `"BITTERN_EVENT_KIND_FINISHED"`; NULL (and a last error) for a `kind` that is none of the
/// `bittern_event_kind` values, such as a newer library's.
///
/// Ownership: the string is static; never free it. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_event_kind_name(kind: bittern_event_kind_arg) -> *const c_char {
    guard_value(ptr::null(), || {
        let name: &CStr = match kind.value("kind")? {
            bittern_event_kind::Other => c"BITTERN_EVENT_KIND_OTHER",
            bittern_event_kind::PieceVerified => c"BITTERN_EVENT_KIND_PIECE_VERIFIED",
            bittern_event_kind::HashFailed => c"BITTERN_EVENT_KIND_HASH_FAILED",
            bittern_event_kind::Finished => c"BITTERN_EVENT_KIND_FINISHED",
            bittern_event_kind::TrackerReply => c"BITTERN_EVENT_KIND_TRACKER_REPLY",
            bittern_event_kind::TrackerError => c"BITTERN_EVENT_KIND_TRACKER_ERROR",
            bittern_event_kind::PeerBanned => c"BITTERN_EVENT_KIND_PEER_BANNED",
            bittern_event_kind::StorageError => c"BITTERN_EVENT_KIND_STORAGE_ERROR",
            bittern_event_kind::FetchingMetadata => c"BITTERN_EVENT_KIND_FETCHING_METADATA",
            bittern_event_kind::MetadataReceived => c"BITTERN_EVENT_KIND_METADATA_RECEIVED",
        };
        Ok(name.as_ptr())
    })
}

/// Writes the info-hash of the torrent the event is about to `hash_out[0..20]` (compare it with
/// `bittern_torrent_handle_info_hash`).
///
/// Ownership: `hash_out` is the caller's (at least 20 bytes). Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_info_hash(
    event: *const bittern_event,
    hash_out: *mut u8,
) -> bittern_result {
    guard(|| {
        let e = unsafe { arg(event, "event") }?;
        let out = unsafe { arg_out(hash_out.cast::<[u8; 20]>(), "hash_out") }?;
        out.put(e.event.info_hash.0);
        Ok(())
    })
}

/// Writes the index of the piece a `BITTERN_EVENT_KIND_PIECE_VERIFIED` or
/// `BITTERN_EVENT_KIND_HASH_FAILED` event is about to `*piece_out`; other kinds give
/// `BITTERN_RESULT_NOT_FOUND`.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_piece(
    event: *const bittern_event,
    piece_out: *mut u32,
) -> bittern_result {
    guard(|| {
        let e = unsafe { arg(event, "event") }?;
        let out = unsafe { arg_out(piece_out, "piece_out") }?;
        match e.event.kind {
            EventKind::PieceVerified(piece) | EventKind::HashFailed(piece) => {
                out.put(piece);
                Ok(())
            }
            _ => Err(Failure::not_found(format!(
                "a {:?} event is about no piece",
                e.kind
            ))),
        }
    })
}

/// Writes how many peers the tracker named in a `BITTERN_EVENT_KIND_TRACKER_REPLY` event to
/// `*peers_out`; other kinds give `BITTERN_RESULT_NOT_FOUND`.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_peers(
    event: *const bittern_event,
    peers_out: *mut u32,
) -> bittern_result {
    guard(|| {
        let e = unsafe { arg(event, "event") }?;
        let out = unsafe { arg_out(peers_out, "peers_out") }?;
        match e.event.kind {
            EventKind::TrackerReply { peers, .. } => {
                out.put(peers);
                Ok(())
            }
            _ => Err(Failure::not_found(format!(
                "a {:?} event names no peers",
                e.kind
            ))),
        }
    })
}

/// The event's text: the tracker's URL (`TRACKER_REPLY`), why it failed (`TRACKER_ERROR`,
/// `STORAGE_ERROR`), the banned peer's IP address (`PEER_BANNED`), a description (`OTHER`).
/// NULL for the other kinds (and when `event` is NULL).
///
/// Ownership: owned by the event, valid until `bittern_event_free`. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_message(event: *const bittern_event) -> *const c_char {
    read(event, ptr::null(), |e| {
        e.message.as_ref().map_or(ptr::null(), |m| m.as_ptr())
    })
}

/// Writes the result code of the failure a `BITTERN_EVENT_KIND_TRACKER_ERROR` or
/// `BITTERN_EVENT_KIND_STORAGE_ERROR` event reports (`BITTERN_RESULT_IO` for a file that could
/// not be written, `BITTERN_RESULT_TRACKER`, `BITTERN_RESULT_TIMEOUT` ...) to `*code_out`, the
/// code a call failing that way would return; other kinds give `BITTERN_RESULT_NOT_FOUND`.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_error_code(
    event: *const bittern_event,
    code_out: *mut bittern_result,
) -> bittern_result {
    guard(|| {
        let e = unsafe { arg(event, "event") }?;
        let out = unsafe { arg_out(code_out, "code_out") }?;
        out.put(e.failure()?.0.code());
        Ok(())
    })
}

/// Writes the operating system's error number (`errno`, such as `ENOSPC`) of the failure a
/// `TRACKER_ERROR` or `STORAGE_ERROR` event reports to `*errno_out`; `BITTERN_RESULT_NOT_FOUND`
/// when the system did not report it, and for the other kinds.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_os_error(
    event: *const bittern_event,
    errno_out: *mut i32,
) -> bittern_result {
    guard(|| {
        let e = unsafe { arg(event, "event") }?;
        let out = unsafe { arg_out(errno_out, "errno_out") }?;
        match e.failure()?.0.errno() {
            Some(errno) => {
                out.put(errno);
                Ok(())
            }
            None => Err(Failure::not_found("the system did not report this failure")),
        }
    })
}

/// The file the failure of a `STORAGE_ERROR` event is about (the bytes the OS uses for its
/// path); NULL when it names no file, for the other kinds, and when `event` is NULL.
///
/// Ownership: owned by the event, valid until `bittern_event_free`. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_event_path(event: *const bittern_event) -> *const c_char {
    read(event, ptr::null(), |e| {
        e.failure
            .as_ref()
            .and_then(|(_, path)| path.as_ref())
            .map_or(ptr::null(), |p| p.as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bittern_core::InfoHash;

    fn event(kind: EventKind) -> bittern_event {
        bittern_event::new(Event {
            info_hash: InfoHash([7; 20]),
            kind,
        })
    }

    fn message(e: &bittern_event) -> Option<&str> {
        let m = bittern_event_message(e);
        (!m.is_null()).then(|| unsafe { CStr::from_ptr(m) }.to_str().unwrap())
    }

    #[test]
    fn each_kind_reads_through_its_accessors() {
        let e = event(EventKind::HashFailed(9));
        assert_eq!(bittern_event_get_kind(&e), bittern_event_kind::HashFailed);
        let mut piece = 0;
        assert_eq!(bittern_event_piece(&e, &mut piece), bittern_result::Ok);
        assert_eq!(piece, 9);
        let mut peers = 5;
        assert_eq!(
            bittern_event_peers(&e, &mut peers),
            bittern_result::NotFound
        );
        assert_eq!(peers, 5);
        assert_eq!(message(&e), None);
        let mut hash = [0; 20];
        assert_eq!(
            bittern_event_info_hash(&e, hash.as_mut_ptr()),
            bittern_result::Ok
        );
        assert_eq!(hash, [7; 20]);

        let e = event(EventKind::TrackerReply {
            url: "http://t/announce".into(),
            peers: 3,
        });
        assert_eq!(bittern_event_peers(&e, &mut peers), bittern_result::Ok);
        assert_eq!(peers, 3);
        assert_eq!(message(&e), Some("http://t/announce"));

        let e = event(EventKind::PeerBanned("10.0.0.1".parse().unwrap()));
        assert_eq!(bittern_event_get_kind(&e), bittern_event_kind::PeerBanned);
        assert_eq!(message(&e), Some("10.0.0.1"));
        assert_eq!(
            bittern_event_piece(&e, &mut piece),
            bittern_result::NotFound
        );

        let e = event(EventKind::TrackerError {
            url: "http://t/announce".into(),
            error: std::sync::Arc::new(
                bittern_core::tracker::TrackerError::Transport("connection refused".into()).into(),
            ),
        });
        assert_eq!(bittern_event_get_kind(&e), bittern_event_kind::TrackerError);
        let said = message(&e).unwrap();
        assert!(
            said.starts_with("http://t/announce: ") && said.contains("connection refused"),
            "{said}"
        );

        let e = event(EventKind::FetchingMetadata);
        assert_eq!(
            bittern_event_get_kind(&e),
            bittern_event_kind::FetchingMetadata
        );
        assert_eq!(message(&e), None);
        let e = event(EventKind::MetadataReceived);
        assert_eq!(
            bittern_event_get_kind(&e),
            bittern_event_kind::MetadataReceived
        );
        let name = bittern_event_kind_name(bittern_event_kind::MetadataReceived.into());
        assert_eq!(
            unsafe { CStr::from_ptr(name) }.to_str().unwrap(),
            "BITTERN_EVENT_KIND_METADATA_RECEIVED"
        );

        let name = bittern_event_kind_name(bittern_event_kind::TrackerError.into());
        assert_eq!(
            unsafe { CStr::from_ptr(name) }.to_str().unwrap(),
            "BITTERN_EVENT_KIND_TRACKER_ERROR"
        );
    }
}
