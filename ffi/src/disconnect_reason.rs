//! `bittern_disconnect_reason`: why a peer connection ended, as counted by
//! `bittern_torrent_handle_disconnects`.

use crate::guard_value;
use bittern_core::session::DisconnectReason;
use std::ffi::{c_char, CString};
use std::ptr;
use std::sync::LazyLock;

/// Why a peer connection of a torrent ended. The numbers are part of the ABI and never change;
/// new reasons are only ever added.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_disconnect_reason {
    /// The peer closed the connection, or reset it.
    ClosedByPeer = 0,
    /// Nothing arrived from the peer within the idle timeout.
    Idle = 1,
    /// Reading from or writing to the socket failed.
    Io = 2,
    /// The peer sent bytes that are not the wire protocol.
    Malformed = 3,
    /// A well-formed message that breaks a rule (a request for a piece we do not have, more
    /// requests queued than allowed).
    RuleBroken = 4,
    /// The peer sent data that failed the hash check, or its address was banned for it.
    Banned = 5,
    /// A connection limit was reached, or the address is connected already.
    Limit = 6,
    /// The peer stopped reading what we send.
    SlowReader = 7,
    /// We finished and the peer is a seed too.
    BothSeeding = 8,
    /// The torrent was paused (or stopped by a storage error).
    Paused = 9,
    /// The torrent was removed or its session freed.
    Stopped = 10,
    /// A second connection with a peer already connected (each side dialled the other).
    Duplicate = 11,
}

crate::enum_arg::enum_arg!(bittern_disconnect_reason_arg => bittern_disconnect_reason [ClosedByPeer, Idle, Io, Malformed, RuleBroken, Banned, Limit, SlowReader, BothSeeding, Paused, Stopped, Duplicate]);

impl bittern_disconnect_reason {
    pub(crate) fn to_core(self) -> DisconnectReason {
        // Both enums number their reasons alike (a test checks every one).
        DisconnectReason::ALL[self as usize]
    }
}

/// The reason's short name as a static NUL-terminated string, the same in every face
/// (`"closed_by_peer"`, `"idle"` ...).
///
/// NULL (and a last error) for a `reason` that is none of the `bittern_disconnect_reason`
/// values, such as a newer library's.
///
/// Ownership: static; never free it. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_disconnect_reason_name(
    reason: bittern_disconnect_reason_arg,
) -> *const c_char {
    guard_value(ptr::null(), || {
        Ok(NAMES[reason.value("reason")?.to_core() as usize].as_ptr())
    })
}

/// Core's names, as C strings made once.
static NAMES: LazyLock<Vec<CString>> = LazyLock::new(|| {
    DisconnectReason::ALL
        .iter()
        .map(|r| CString::new(r.name()).expect("names hold no NUL"))
        .collect()
});

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_reason_maps_to_the_same_number_and_name() {
        use bittern_disconnect_reason as C;
        let all = [
            C::ClosedByPeer,
            C::Idle,
            C::Io,
            C::Malformed,
            C::RuleBroken,
            C::Banned,
            C::Limit,
            C::SlowReader,
            C::BothSeeding,
            C::Paused,
            C::Stopped,
            C::Duplicate,
        ];
        assert_eq!(all.len(), DisconnectReason::ALL.len());
        for c in all {
            let core = c.to_core();
            assert_eq!(core as usize, c as usize);
            let name = unsafe { CStr::from_ptr(bittern_disconnect_reason_name(c.into())) };
            assert_eq!(name.to_str().unwrap(), core.name());
        }
    }
}
