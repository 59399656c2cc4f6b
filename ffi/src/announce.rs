//! `bittern_announce_options`, `bittern_announce_response` and the blocking tracker client:
//! `bittern_announce_torrent`, `bittern_announce_url`, `bittern_scrape_torrent`,
//! `bittern_scrape_url`.
//!
//! Each call runs the core's client (`tracker::client::blocking`) on a short-lived runtime of
//! its own and blocks the calling thread until the tracker answers or the timeout passes.

use crate::torrent::bittern_torrent;
use crate::{
    arg, arg_mut, arg_out, arg_str, bittern_result, c_string, client_config, field_spans,
    free_handle, guard, guard_value, into_handle, put_sized, timeout_ms, Failure,
};
use bittern_core::cancel::Cancel;
use bittern_core::tracker::client::{blocking, TrackerList};
use bittern_core::tracker::{AnnounceRequest, AnnounceResponse, Event, PeerId};
use bittern_core::InfoHash;
use std::ffi::{c_char, CString};
use std::ptr;
use std::time::Duration;

/// The size of the buffer `bittern_announce_response_peer_get` writes a peer's IP address to:
/// the longest IPv6 text form and its NUL (as `INET6_ADDRSTRLEN`).
pub const BITTERN_IP_STRING_SIZE: usize = 46;

/// The port announced when none is set.
const DEFAULT_PORT: u16 = 6881;

/// What an announce tells the tracker happened (BEP 3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_announce_event {
    /// A regular re-announce (no `event` parameter).
    None = 0,
    /// The first announce of a download.
    Started = 1,
    /// The download finished (not sent when starting complete).
    Completed = 2,
    /// The peer is leaving the swarm.
    Stopped = 3,
}

crate::enum_arg::enum_arg!(bittern_announce_event_arg => bittern_announce_event [None, Started, Completed, Stopped]);

/// What an announce says about the caller. Made by `bittern_announce_options_new`, ended by
/// `bittern_announce_options_free`.
///
/// Defaults: this process's peer id (`-BI0100-` and 12 random letters and digits, made once per
/// process and shared by every default), port 6881, nothing uploaded or downloaded, `left`
/// the torrent's total length for `bittern_announce_torrent` and 0 (a seeder) for
/// `bittern_announce_url`, no event, the tracker's own number of peers, a 15 s timeout per
/// tracker.
///
/// Thread safety: the setters need exclusive access; announcing only reads the options, so
/// several threads may announce with the same options at once.
pub struct bittern_announce_options {
    peer_id: PeerId,
    port: u16,
    uploaded: u64,
    downloaded: u64,
    left: Option<u64>,
    event: Option<Event>,
    numwant: Option<u32>,
    timeout: Option<Duration>,
}

impl Default for bittern_announce_options {
    fn default() -> Self {
        bittern_announce_options {
            peer_id: PeerId::of_process(),
            port: DEFAULT_PORT,
            uploaded: 0,
            downloaded: 0,
            left: None,
            event: None,
            numwant: None,
            timeout: None,
        }
    }
}

impl bittern_announce_options {
    fn request(&self, info_hash: InfoHash, default_left: u64) -> AnnounceRequest {
        let left = self.left.unwrap_or(default_left);
        let mut req = AnnounceRequest::new(info_hash, self.peer_id, self.port, left);
        req.uploaded = self.uploaded;
        req.downloaded = self.downloaded;
        req.event = self.event;
        req.numwant = self.numwant;
        req
    }
}

/// A `const uint8_t info_hash[20]` argument.
///
/// # Safety
/// `p` is NULL or points to 20 readable bytes.
pub(crate) unsafe fn arg_info_hash(p: *const u8) -> Result<InfoHash, Failure> {
    Ok(InfoHash(*unsafe {
        arg(p.cast::<[u8; 20]>(), "info_hash")
    }?))
}

// ---- options ----------------------------------------------------------------------------------

/// Makes new announce options with the defaults at `*options_out`.
///
/// Ownership: free them with `bittern_announce_options_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_announce_options_new(
    options_out: *mut *mut bittern_announce_options,
) -> bittern_result {
    guard(|| {
        let out = unsafe { arg_out(options_out, "options_out") }?;
        out.put(into_handle(bittern_announce_options::default()));
        Ok(())
    })
}

/// Frees announce options. NULL is a no-op.
///
/// Ownership: takes ownership of `options`. Thread safety: no other thread may be using them.
#[no_mangle]
pub extern "C" fn bittern_announce_options_free(options: *mut bittern_announce_options) {
    guard_value((), || {
        unsafe { free_handle(options) };
        Ok(())
    })
}

/// Runs `edit` on the options behind `options` (the body of every setter).
fn edit_options(
    options: *mut bittern_announce_options,
    edit: impl FnOnce(&mut bittern_announce_options),
) -> bittern_result {
    guard(|| {
        edit(unsafe { arg_mut(options, "options") }?);
        Ok(())
    })
}

/// Sets the peer id sent, from `peer_id[0..20]` (any bytes).
///
/// Ownership: the bytes are copied. Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_peer_id(
    options: *mut bittern_announce_options,
    peer_id: *const u8,
) -> bittern_result {
    guard(|| {
        let o = unsafe { arg_mut(options, "options") }?;
        o.peer_id = PeerId(*unsafe { arg(peer_id.cast::<[u8; 20]>(), "peer_id") }?);
        Ok(())
    })
}

/// Writes the peer id the options send (the process's default one unless set) to
/// `peer_id_out[0..20]`.
///
/// Ownership: `peer_id_out` is the caller's (at least 20 bytes). Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_options_peer_id(
    options: *const bittern_announce_options,
    peer_id_out: *mut u8,
) -> bittern_result {
    guard(|| {
        let o = unsafe { arg(options, "options") }?;
        let out = unsafe { arg_out(peer_id_out.cast::<[u8; 20]>(), "peer_id_out") }?;
        out.put(o.peer_id.0);
        Ok(())
    })
}

/// Sets the port peers are told to connect to (default 6881; an announce with port 0 fails
/// with `BITTERN_RESULT_INVALID_ARGUMENT`).
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_port(
    options: *mut bittern_announce_options,
    port: u16,
) -> bittern_result {
    edit_options(options, |o| o.port = port)
}

/// Sets the bytes uploaded so far (default 0).
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_uploaded(
    options: *mut bittern_announce_options,
    uploaded: u64,
) -> bittern_result {
    edit_options(options, |o| o.uploaded = uploaded)
}

/// Sets the bytes downloaded so far (default 0).
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_downloaded(
    options: *mut bittern_announce_options,
    downloaded: u64,
) -> bittern_result {
    edit_options(options, |o| o.downloaded = downloaded)
}

/// Sets the bytes left to download; 0 announces a seeder. Unset, it is the torrent's total
/// length for `bittern_announce_torrent`, and 0 for `bittern_announce_url`.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_left(
    options: *mut bittern_announce_options,
    left: u64,
) -> bittern_result {
    edit_options(options, |o| o.left = Some(left))
}

/// Sets the event sent (default `BITTERN_ANNOUNCE_EVENT_NONE`). An `event` that is none of the
/// `bittern_announce_event` values gives `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_event(
    options: *mut bittern_announce_options,
    event: bittern_announce_event_arg,
) -> bittern_result {
    guard(|| {
        let options = unsafe { arg_mut(options, "options") }?;
        options.event = match event.value("event")? {
            bittern_announce_event::None => None,
            bittern_announce_event::Started => Some(Event::Started),
            bittern_announce_event::Completed => Some(Event::Completed),
            bittern_announce_event::Stopped => Some(Event::Stopped),
        };
        Ok(())
    })
}

/// Sets the number of peers asked for (`numwant`); unset, the tracker chooses (often 50).
/// Trackers cap it.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_numwant(
    options: *mut bittern_announce_options,
    numwant: u32,
) -> bittern_result {
    edit_options(options, |o| o.numwant = Some(numwant))
}

/// Sets the deadline of each request to a tracker, connecting and reading the answer included,
/// in milliseconds; 0 goes back to the default (15 s). A torrent's announce tries its trackers
/// one after another, so it may take this long for each.
///
/// Thread safety: needs exclusive access to the options.
#[no_mangle]
pub extern "C" fn bittern_announce_options_set_timeout_ms(
    options: *mut bittern_announce_options,
    timeout_ms: u32,
) -> bittern_result {
    edit_options(options, |o| o.timeout = self::timeout_ms(timeout_ms))
}

// ---- announcing -------------------------------------------------------------------------------

/// A tracker's answer to an announce. Made by `bittern_announce_torrent` or
/// `bittern_announce_url`, ended by `bittern_announce_response_free`.
///
/// Thread safety: every accessor only reads, so one response may be used from several threads
/// at once. Strings are owned by the response, valid until `bittern_announce_response_free`.
pub struct bittern_announce_response {
    url: CString,
    response: AnnounceResponse,
    warning: Option<CString>,
}

impl bittern_announce_response {
    fn new(url: &str, response: AnnounceResponse) -> Self {
        bittern_announce_response {
            url: c_string(url),
            warning: response.warning.as_deref().map(c_string),
            response,
        }
    }
}

/// Announces `torrent` to its trackers and writes the first answer to a new response at
/// `*response_out`. `options` may be NULL for the defaults.
///
/// The trackers are the BEP 12 `announce-list` tiers (or `announce` alone when there is no
/// list), each tier shuffled: tiers in order, trackers within a tier in order, until one
/// answers (`bittern_announce_response_url` says which). A tracker that refuses (a `failure
/// reason`) counts as not answering, and the next one is tried. `http`, `https` and `udp`
/// (BEP 15) trackers are spoken to.
///
/// Errors: `BITTERN_RESULT_TRACKER` when no tracker answered (the torrent has none, or each
/// refused, failed or could not be reached; the last error holds the last tracker's message,
/// such as its `failure reason`), `BITTERN_RESULT_TIMEOUT` when the last tracker tried did not
/// answer in time.
///
/// Ownership: free the response with `bittern_announce_response_free`. Thread safety: blocks
/// the calling thread until a tracker answers, up to the options' timeout for each tracker
/// tried; only reads `torrent` and `options`.
#[no_mangle]
pub extern "C" fn bittern_announce_torrent(
    torrent: *const bittern_torrent,
    options: *const bittern_announce_options,
    response_out: *mut *mut bittern_announce_response,
) -> bittern_result {
    crate::ignore_sigpipe();
    guard(|| {
        let meta = unsafe { arg(torrent, "torrent") }?.meta();
        let out = unsafe { arg_out(response_out, "response_out") }?;
        let defaults;
        // SAFETY: `options` is NULL (the defaults) or points at live options.
        let options = match unsafe { options.as_ref() } {
            Some(o) => o,
            None => {
                defaults = bittern_announce_options::default();
                &defaults
            }
        };
        let trackers = TrackerList::from_metainfo(meta)?;
        let req = options.request(meta.info_hash(), meta.info().total_length());
        let (url, response) = blocking::announce_tiers(
            &client_config(options.timeout),
            trackers.tiers(),
            &req,
            Cancel::NEVER,
        )?;
        out.put(into_handle(bittern_announce_response::new(&url, response)));
        Ok(())
    })
}

/// Announces the torrent whose info-hash is `info_hash[0..20]` to the tracker at `url` (UTF-8;
/// `http`, `https` or `udp` (BEP 15), and it may carry its own query, such as a passkey) and writes its answer
/// to a new response at `*response_out`. `options` may be NULL for the defaults (which announce
/// a seeder here: set `left` for a download).
///
/// Errors: `BITTERN_RESULT_TRACKER` (the tracker refused, with its `failure reason` in the last
/// error; it could not be reached; its answer was not valid; the URL is not an http(s) or udp
/// URL),
/// `BITTERN_RESULT_TIMEOUT` (no answer in time).
///
/// Ownership: free the response with `bittern_announce_response_free`; the arguments stay the
/// caller's. Thread safety: blocks the calling thread until the tracker answers, up to the
/// options' timeout; only reads `options`.
#[no_mangle]
pub extern "C" fn bittern_announce_url(
    url: *const c_char,
    info_hash: *const u8,
    options: *const bittern_announce_options,
    response_out: *mut *mut bittern_announce_response,
) -> bittern_result {
    crate::ignore_sigpipe();
    guard(|| {
        let url = unsafe { arg_str(url, "url") }?;
        let info_hash = unsafe { arg_info_hash(info_hash) }?;
        let out = unsafe { arg_out(response_out, "response_out") }?;
        let defaults;
        // SAFETY: `options` is NULL (the defaults) or points at live options.
        let options = match unsafe { options.as_ref() } {
            Some(o) => o,
            None => {
                defaults = bittern_announce_options::default();
                &defaults
            }
        };
        let req = options.request(info_hash, 0);
        let response =
            blocking::announce(&client_config(options.timeout), url, &req, Cancel::NEVER)?;
        out.put(into_handle(bittern_announce_response::new(url, response)));
        Ok(())
    })
}

/// An IP address in text form with its NUL, as `*_peer_get` functions write it.
pub(crate) fn ip_text(ip: std::net::IpAddr) -> [u8; BITTERN_IP_STRING_SIZE] {
    let text = ip.to_string();
    let mut out = [0u8; BITTERN_IP_STRING_SIZE];
    // The longest text form of an IP address is 45 bytes: it always fits with its NUL.
    let n = text.len().min(BITTERN_IP_STRING_SIZE - 1);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

/// Frees a response and every string borrowed from it. NULL is a no-op.
///
/// Ownership: takes ownership of `response`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_announce_response_free(response: *mut bittern_announce_response) {
    guard_value((), || {
        unsafe { free_handle(response) };
        Ok(())
    })
}

/// The guard of an accessor that returns a value (`fallback` when `response` is NULL).
fn read<T>(
    response: *const bittern_announce_response,
    fallback: T,
    get: impl FnOnce(&bittern_announce_response) -> T,
) -> T {
    guard_value(fallback, || Ok(get(unsafe { arg(response, "response") }?)))
}

/// The guard of an accessor of an optional number: `BITTERN_RESULT_NOT_FOUND` when the tracker
/// did not send it.
fn read_optional<T>(
    response: *const bittern_announce_response,
    value_out: *mut T,
    what: &str,
    get: impl FnOnce(&AnnounceResponse) -> Option<T>,
) -> bittern_result {
    guard(|| {
        let r = unsafe { arg(response, "response") }?;
        let out = unsafe { arg_out(value_out, "value_out") }?;
        let value = get(&r.response)
            .ok_or_else(|| Failure::not_found(format!("the tracker sent no {what}")))?;
        out.put(value);
        Ok(())
    })
}

/// The URL of the tracker that answered (for `bittern_announce_torrent`, the one that worked
/// among the torrent's). NULL when `response` is NULL.
///
/// Ownership: owned by the response. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_response_url(
    response: *const bittern_announce_response,
) -> *const c_char {
    read(response, ptr::null(), |r| r.url.as_ptr())
}

/// The seconds the tracker asks to wait before the next regular announce, as it said it (a
/// client should keep it within sane bounds). 0 when `response` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_response_interval(
    response: *const bittern_announce_response,
) -> u32 {
    read(response, 0, |r| r.response.interval)
}

/// The tracker's `min interval` in seconds: announces must not come more often.
///
/// Returns `BITTERN_RESULT_NOT_FOUND` when the tracker sent none. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_response_min_interval(
    response: *const bittern_announce_response,
    value_out: *mut u32,
) -> bittern_result {
    read_optional(response, value_out, "min interval", |r| r.min_interval)
}

/// The number of seeders the tracker counts (`complete`).
///
/// Returns `BITTERN_RESULT_NOT_FOUND` when the tracker sent none. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_response_complete(
    response: *const bittern_announce_response,
    value_out: *mut u64,
) -> bittern_result {
    read_optional(response, value_out, "complete count", |r| r.complete)
}

/// The number of leechers the tracker counts (`incomplete`).
///
/// Returns `BITTERN_RESULT_NOT_FOUND` when the tracker sent none. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_response_incomplete(
    response: *const bittern_announce_response,
    value_out: *mut u64,
) -> bittern_result {
    read_optional(response, value_out, "incomplete count", |r| r.incomplete)
}

/// The number of peers in the answer (IPv4 and IPv6 together). 0 when `response` is NULL.
///
/// Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_response_peer_count(
    response: *const bittern_announce_response,
) -> usize {
    read(response, 0, |r| r.response.peers.len())
}

/// Peer `index`: its IP address in text form (such as `"192.0.2.7"` or `"2001:db8::1"`) and a
/// NUL to `ip_out`, and its port to `*port_out`.
///
/// Ownership: `ip_out` is the caller's, at least `BITTERN_IP_STRING_SIZE` (46) bytes. Thread
/// safety: read-only. A bad index gives `BITTERN_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bittern_announce_response_peer_get(
    response: *const bittern_announce_response,
    index: usize,
    ip_out: *mut c_char,
    port_out: *mut u16,
) -> bittern_result {
    guard(|| {
        let r = unsafe { arg(response, "response") }?;
        let ip_out = unsafe { arg_out(ip_out.cast::<[u8; BITTERN_IP_STRING_SIZE]>(), "ip_out") }?;
        let port_out = unsafe { arg_out(port_out, "port_out") }?;
        let peers = &r.response.peers;
        let peer = peers.get(index).ok_or_else(|| {
            Failure::invalid(format!("no peer {index}: there are {}", peers.len()))
        })?;
        ip_out.put(ip_text(peer.addr.ip()));
        port_out.put(peer.addr.port());
        Ok(())
    })
}

/// The tracker's `warning message`, or NULL when it sent none (or `response` is NULL).
///
/// Ownership: owned by the response. Thread safety: read-only.
#[no_mangle]
pub extern "C" fn bittern_announce_response_warning(
    response: *const bittern_announce_response,
) -> *const c_char {
    read(response, ptr::null(), |r| {
        r.warning.as_ref().map_or(ptr::null(), |w| w.as_ptr())
    })
}

// ---- scraping ---------------------------------------------------------------------------------

/// A torrent's counts from a tracker's scrape (BEP 48), written by `bittern_scrape_torrent` and
/// `bittern_scrape_url`.
///
/// Set `struct_size` to `sizeof(bittern_scrape_stats)` before the call: fields may be added at
/// the end in later versions, and only those within the caller's `struct_size` are written.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct bittern_scrape_stats {
    /// Set by the caller to `sizeof(bittern_scrape_stats)`; on return, where the fields the
    /// library wrote end (its own `sizeof` when the caller's struct is at least as large).
    pub struct_size: usize,
    /// Seeders.
    pub complete: u64,
    /// Completed downloads the tracker has counted.
    pub downloaded: u64,
    /// Leechers.
    pub incomplete: u64,
}

/// Scrapes the tracker at `announce_url` for `info_hash` (blocking) and writes its counts.
fn scrape_one(
    announce_url: &str,
    info_hash: InfoHash,
    timeout: Option<Duration>,
    stats_out: *mut bittern_scrape_stats,
) -> Result<(), Failure> {
    let answer = blocking::scrape(
        &client_config(timeout),
        announce_url,
        &[info_hash],
        Cancel::NEVER,
    )?;
    put_scrape_stats(answer.files.iter(), info_hash, stats_out)
}

fn put_scrape_stats<'a>(
    mut files: impl Iterator<Item = &'a (InfoHash, bittern_core::tracker::ScrapeStats)>,
    info_hash: InfoHash,
    stats_out: *mut bittern_scrape_stats,
) -> Result<(), Failure> {
    let (_, s) = files.find(|(h, _)| *h == info_hash).ok_or_else(|| {
        Failure::not_found(format!("the tracker does not know torrent {info_hash}"))
    })?;
    let stats = bittern_scrape_stats {
        struct_size: std::mem::size_of::<bittern_scrape_stats>(),
        complete: s.complete,
        downloaded: s.downloaded,
        incomplete: s.incomplete,
    };
    let fields = field_spans!(bittern_scrape_stats, stats; complete, downloaded, incomplete);
    unsafe { put_sized(stats_out, "stats_out", &stats, &fields) }
}

/// Scrapes the torrent's trackers for its own counts into `*stats_out` (whose `struct_size` the
/// caller sets; see `bittern_scrape_stats`). `timeout_ms` is the deadline of each request; 0
/// means the default (15 s).
///
/// Trackers are tried as `bittern_announce_torrent` does (tiers in order, each shuffled) until
/// one answers; its answer decides. Errors: `BITTERN_RESULT_NOT_FOUND` when that tracker does
/// not know the torrent, `BITTERN_RESULT_TRACKER` when none answered (the last one's message is
/// in the last error; a tracker whose URL gives no scrape URL, as BEP 48 derives it, counts as
/// not answering), `BITTERN_RESULT_TIMEOUT` when the last one tried did not answer in time.
///
/// Ownership: `stats_out` is the caller's. Thread safety: blocks the calling thread, up to the
/// timeout for each tracker tried; only reads `torrent`.
#[no_mangle]
pub extern "C" fn bittern_scrape_torrent(
    torrent: *const bittern_torrent,
    timeout_ms: u32,
    stats_out: *mut bittern_scrape_stats,
) -> bittern_result {
    crate::ignore_sigpipe();
    guard(|| {
        let meta = unsafe { arg(torrent, "torrent") }?.meta();
        if stats_out.is_null() {
            return Err(Failure::null("stats_out"));
        }
        let config = client_config(self::timeout_ms(timeout_ms));
        let trackers = TrackerList::from_metainfo(meta)?;
        let (_, answer) = blocking::scrape_tiers(
            &config,
            trackers.tiers(),
            &[meta.info_hash()],
            Cancel::NEVER,
        )?;
        put_scrape_stats(answer.files.iter(), meta.info_hash(), stats_out)
    })
}

/// Scrapes the tracker whose announce URL is `announce_url` (UTF-8, `http` or `https`, whose
/// scrape URL is derived from it as BEP 48 says, or `udp`, asked at its own address) for the torrent `info_hash[0..20]` and writes
/// its counts to `*stats_out` (whose `struct_size` the caller sets). `timeout_ms` is the
/// request's deadline; 0 means the default (15 s).
///
/// Errors: `BITTERN_RESULT_NOT_FOUND` when the tracker does not know the torrent,
/// `BITTERN_RESULT_TRACKER` (it refused, could not be reached, answered nonsense, or the URL
/// gives no scrape URL), `BITTERN_RESULT_TIMEOUT`.
///
/// Ownership: the arguments stay the caller's. Thread safety: blocks the calling thread, up to
/// the timeout.
#[no_mangle]
pub extern "C" fn bittern_scrape_url(
    announce_url: *const c_char,
    info_hash: *const u8,
    timeout_ms: u32,
    stats_out: *mut bittern_scrape_stats,
) -> bittern_result {
    crate::ignore_sigpipe();
    guard(|| {
        let url = unsafe { arg_str(announce_url, "announce_url") }?;
        let info_hash = unsafe { arg_info_hash(info_hash) }?;
        if stats_out.is_null() {
            return Err(Failure::null("stats_out"));
        }
        scrape_one(url, info_hash, self::timeout_ms(timeout_ms), stats_out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_peer_id_is_made_once() {
        let id = PeerId::of_process();
        assert_eq!(&id.0[..8], b"-BI0100-");
        assert!(id.0[8..].iter().all(u8::is_ascii_alphanumeric));
        assert_eq!(PeerId::of_process(), id);
        assert_eq!(bittern_announce_options::default().peer_id, id);
    }
}
