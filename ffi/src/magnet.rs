//! Magnet links (BEP 9): `bittern_magnet_parse` and its accessors, and `bittern_torrent_magnet`.

use crate::announce::{ip_text, BITTERN_IP_STRING_SIZE};
use crate::torrent::bittern_torrent;
use crate::{
    arg, arg_out, arg_str, bittern_result, c_string, copy_str, free_handle, guard, guard_value,
    into_handle, Failure,
};
use bittern_core::magnet::Magnet;
use std::ffi::{c_char, CString};
use std::ptr;

/// A parsed magnet link. Made by `bittern_magnet_parse`, ended by `bittern_magnet_free`.
///
/// Thread safety: every accessor only reads, so one magnet may be used from several threads at
/// once. Strings are owned by the magnet, valid until `bittern_magnet_free`.
pub struct bittern_magnet {
    magnet: Magnet,
    name: Option<CString>,
    trackers: Vec<CString>,
    web_seeds: Vec<CString>,
}

impl bittern_magnet {
    /// The link itself, for the session's `bittern_session_add_magnet_link`.
    pub(crate) fn magnet(&self) -> &Magnet {
        &self.magnet
    }
}

/// Parses a magnet link (`magnet:?xt=urn:btih:...`): exactly one BitTorrent info-hash, in 40
/// hex digits or 32 base32 letters, then the optional `dn` (name), `tr` (trackers, a tier
/// each), `x.pe` (peer addresses) and `ws` (web seeds); other keys are skipped. A new magnet
/// goes to `*magnet_out`.
///
/// Errors: `BITTERN_RESULT_INVALID_ARGUMENT` for anything else (not a magnet link, no or two
/// info-hashes, a malformed hash or peer address, a link over 64 KiB, not UTF-8), the last
/// error saying which.
///
/// Ownership: `link` stays the caller's; free the magnet with `bittern_magnet_free`. Thread
/// safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_magnet_parse(
    link: *const c_char,
    magnet_out: *mut *mut bittern_magnet,
) -> bittern_result {
    guard(|| {
        let link = unsafe { arg_str(link, "link") }?;
        let out = unsafe { arg_out(magnet_out, "magnet_out") }?;
        let magnet = Magnet::parse(link).map_err(bittern_core::Error::from)?;
        out.put(into_handle(bittern_magnet {
            name: magnet.name.as_deref().map(c_string),
            trackers: magnet
                .trackers
                .iter()
                .flatten()
                .map(|u| c_string(u))
                .collect(),
            web_seeds: magnet.web_seeds.iter().map(|u| c_string(u)).collect(),
            magnet,
        }));
        Ok(())
    })
}

/// Frees a magnet and every string borrowed from it. NULL is a no-op.
///
/// Ownership: takes ownership of `magnet`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_magnet_free(magnet: *mut bittern_magnet) {
    guard_value((), || {
        unsafe { free_handle(magnet) };
        Ok(())
    })
}

/// The guard of an accessor that returns a value (`fallback` when `magnet` is NULL).
fn read<T>(
    magnet: *const bittern_magnet,
    fallback: T,
    get: impl FnOnce(&bittern_magnet) -> T,
) -> T {
    guard_value(fallback, || Ok(get(unsafe { arg(magnet, "magnet") }?)))
}

/// Writes the 20-byte info-hash to `hash_out[0..20]`.
///
/// Ownership: `hash_out` is the caller's. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_magnet_info_hash(
    magnet: *const bittern_magnet,
    hash_out: *mut u8,
) -> bittern_result {
    guard(|| {
        let m = unsafe { arg(magnet, "magnet") }?;
        let out = unsafe { arg_out(hash_out.cast::<[u8; 20]>(), "hash_out") }?;
        out.put(*m.magnet.info_hash.as_bytes());
        Ok(())
    })
}

/// The `dn` name, or NULL when the link has none (or `magnet` is NULL).
///
/// Ownership: owned by the magnet. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_magnet_name(magnet: *const bittern_magnet) -> *const c_char {
    read(magnet, ptr::null(), |m| {
        m.name.as_ref().map_or(ptr::null(), |n| n.as_ptr())
    })
}

/// The number of tracker URLs (`tr`), each a tier of its own. 0 when `magnet` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_magnet_tracker_count(magnet: *const bittern_magnet) -> usize {
    read(magnet, 0, |m| m.trackers.len())
}

/// Tracker URL `index` (tier `index`: the first is asked first).
///
/// Ownership: owned by the magnet. Thread safety: read-only. A bad index gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_magnet_tracker_get(
    magnet: *const bittern_magnet,
    index: usize,
    url_out: *mut *const c_char,
) -> bittern_result {
    get_string(magnet, index, url_out, "tracker", |m| &m.trackers)
}

/// The number of web seed URLs (`ws`). 0 when `magnet` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_magnet_web_seed_count(magnet: *const bittern_magnet) -> usize {
    read(magnet, 0, |m| m.web_seeds.len())
}

/// Web seed URL `index`.
///
/// Ownership: owned by the magnet. Thread safety: read-only. A bad index gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_magnet_web_seed_get(
    magnet: *const bittern_magnet,
    index: usize,
    url_out: *mut *const c_char,
) -> bittern_result {
    get_string(magnet, index, url_out, "web seed", |m| &m.web_seeds)
}

fn get_string(
    magnet: *const bittern_magnet,
    index: usize,
    out: *mut *const c_char,
    what: &str,
    list: impl FnOnce(&bittern_magnet) -> &Vec<CString>,
) -> bittern_result {
    guard(|| {
        let m = unsafe { arg(magnet, "magnet") }?;
        let out = unsafe { arg_out(out, "url_out") }?;
        let list = list(m);
        let s = list.get(index).ok_or_else(|| {
            Failure::invalid(format!("no {what} {index}: there are {}", list.len()))
        })?;
        out.put(s.as_ptr());
        Ok(())
    })
}

/// The number of peer addresses (`x.pe`). 0 when `magnet` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_magnet_peer_count(magnet: *const bittern_magnet) -> usize {
    read(magnet, 0, |m| m.magnet.peers.len())
}

/// Peer `index`: its IP address in text form and a NUL to `ip_out`, its port to `*port_out`.
///
/// Ownership: `ip_out` is the caller's, at least `BITTERN_IP_STRING_SIZE` (46) bytes. Thread
/// safety: read-only. A bad index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_magnet_peer_get(
    magnet: *const bittern_magnet,
    index: usize,
    ip_out: *mut c_char,
    port_out: *mut u16,
) -> bittern_result {
    guard(|| {
        let m = unsafe { arg(magnet, "magnet") }?;
        let ip_out = unsafe { arg_out(ip_out.cast::<[u8; BITTERN_IP_STRING_SIZE]>(), "ip_out") }?;
        let port_out = unsafe { arg_out(port_out, "port_out") }?;
        let peers = &m.magnet.peers;
        let peer = peers.get(index).ok_or_else(|| {
            Failure::invalid(format!("no peer {index}: there are {}", peers.len()))
        })?;
        ip_out.put(ip_text(peer.ip()));
        port_out.put(peer.port());
        Ok(())
    })
}

/// Copies the magnet link, written back (the info-hash in lowercase hex, then `dn`, `tr`,
/// `ws` and `x.pe`, percent-encoded), into `buf`,
/// as `bittern_last_error_message` copies the last error, and returns its full length in bytes
/// (not counting the NUL). Returns 0 (and
/// writes `""`) when `magnet` is NULL (which leaves a last error).
///
/// Ownership: `buf` is the caller's. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_magnet_to_string(
    magnet: *const bittern_magnet,
    buf: *mut c_char,
    len: usize,
) -> usize {
    let link = read(magnet, String::new(), |m| m.magnet.to_string());
    guard_value(0, || Ok(unsafe { copy_str(&link, buf, len) }))
}

/// Copies the torrent's magnet link (its info-hash, name, trackers by tier and web seeds)
/// into `buf`, as `bittern_last_error_message` copies the last error, and returns its full
/// length in bytes (not counting the NUL). Returns 0 (and writes `""`) when `torrent` is NULL
/// (which leaves a last error).
///
/// Ownership: `buf` is the caller's. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_torrent_magnet(
    torrent: *const bittern_torrent,
    buf: *mut c_char,
    len: usize,
) -> usize {
    let link = guard_value(String::new(), || {
        Ok(unsafe { arg(torrent, "torrent") }?
            .meta()
            .magnet()
            .to_string())
    });
    guard_value(0, || Ok(unsafe { copy_str(&link, buf, len) }))
}
