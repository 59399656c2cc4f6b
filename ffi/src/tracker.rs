//! `bittern_tracker_config` and `bittern_tracker`: a BEP 3 HTTP tracker and a BEP 15 UDP one,
//! run on threads of its own.

use crate::torrent::bittern_torrent;
use crate::{
    arg, arg_mut, arg_out, arg_path, arg_str, bittern_result, c_string, field_spans, free_handle,
    guard, guard_value, into_handle, into_owned_string, parse_host_port, put_sized, Failure,
};
use bittern_core::tracker::server::{ServerConfig, TrackerServer, UdpListen};
use std::collections::VecDeque;
use std::ffi::{c_char, CString};
use std::net::SocketAddr;
use std::ptr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How a tracker runs. Made by `bittern_tracker_config_new`, ended by
/// `bittern_tracker_config_free`.
///
/// Defaults: listen on `127.0.0.1:6969`; interval 1800 s and min interval 60 s; the `ip`
/// parameter ignored; no torrents folder, every torrent tracked; `/stats` for loopback clients
/// only; at most 1,000,000 torrents, 100,000 peers per torrent, 50 peers per answer without
/// `numwant` and 200 with it, 64 info-hashes per scrape, 4096 open connections; a connection
/// idle for 30 s is closed; one worker thread per core; UDP (BEP 15) answered on the same
/// address and port as HTTP.
///
/// Values are taken as given (a 0 limit means nothing is allowed); only the bind address is
/// checked when set, and the torrents folder when the tracker starts.
///
/// Thread safety: the setters need exclusive access; `bittern_tracker_start` only reads the
/// config, so several trackers may start from the same config at once.
pub struct bittern_tracker_config {
    inner: ServerConfig,
}

/// A running tracker: `/announce` and `/scrape` (BEP 3, 7, 23, 48), an index page of the
/// torrents folder and its `.torrent` files, and `/stats`. Made by `bittern_tracker_start`,
/// stopped and ended by `bittern_tracker_free`.
///
/// Thread safety: every function but `bittern_tracker_free` may run on several threads at once
/// (`bittern_tracker_next_log_line` hands each line to exactly one caller). The tracker serves
/// on threads of its own; none of these calls wait for it.
pub struct bittern_tracker {
    server: TrackerServer,
    url: CString,
    /// `None` when UDP is off.
    udp_url: Option<CString>,
    /// Lines taken from the tracker and not yet handed out, oldest first.
    log: Mutex<VecDeque<String>>,
}

/// A tracker's counters, written by `bittern_tracker_get_stats`.
///
/// Set `struct_size` to `sizeof(bittern_tracker_stats)` before the call: fields may be added at
/// the end in later versions, and only those within the caller's `struct_size` are written.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct bittern_tracker_stats {
    /// Set by the caller to `sizeof(bittern_tracker_stats)`; on return, where the fields the
    /// library wrote end (its own `sizeof` when the caller's struct is at least as large).
    pub struct_size: usize,
    /// Torrents with a swarm.
    pub torrents: u64,
    /// Peers in every swarm.
    pub peers: u64,
    /// Peers with nothing left to download.
    pub seeders: u64,
    /// Peers still downloading.
    pub leechers: u64,
    /// `completed` events counted, over all torrents.
    pub downloaded: u64,
    /// Announces answered (refused ones included).
    pub announces: u64,
    /// Scrapes answered.
    pub scrapes: u64,
    /// Requests answered with a `failure reason`.
    pub refused: u64,
    /// Connections open now.
    pub connections: u64,
    /// UDP connect requests answered.
    pub udp_connects: u64,
    /// UDP announces answered with peers (also counted in `announces`).
    pub udp_announces: u64,
    /// UDP scrapes answered (also counted in `scrapes`).
    pub udp_scrapes: u64,
    /// UDP error answers sent (bad connection ids, malformed or refused requests).
    pub udp_errors: u64,
    /// UDP packets left unanswered: oversized, too short, from unroutable sources.
    pub udp_dropped: u64,
}

// ---- the config -------------------------------------------------------------------------------

/// Makes a new config with the defaults at `*config_out`.
///
/// Ownership: free it with `bittern_tracker_config_free`. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_new(
    config_out: *mut *mut bittern_tracker_config,
) -> bittern_result {
    guard(|| {
        let out = unsafe { arg_out(config_out, "config_out") }?;
        out.put(into_handle(bittern_tracker_config {
            inner: ServerConfig::default(),
        }));
        Ok(())
    })
}

/// Frees a config. NULL is a no-op. A tracker started from it is not affected.
///
/// Ownership: takes ownership of `config`. Thread safety: no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_free(config: *mut bittern_tracker_config) {
    guard_value((), || {
        unsafe { free_handle(config) };
        Ok(())
    })
}

/// Runs `edit` on the config behind `config` (the body of every setter).
fn edit_config(
    config: *mut bittern_tracker_config,
    edit: impl FnOnce(&mut ServerConfig) -> Result<(), Failure>,
) -> bittern_result {
    guard(|| edit(&mut unsafe { arg_mut(config, "config") }?.inner))
}

/// Sets the address to listen on: `"host:port"`, such as `"127.0.0.1:0"`, `"0.0.0.0:6969"`,
/// `"[::1]:8000"` or `"localhost:6969"` (a name is resolved now, and its first address taken).
/// Port 0 picks a free port when the tracker starts (`bittern_tracker_port` tells which).
/// Anything else gives `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Ownership: `address` is copied. Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_bind(
    config: *mut bittern_tracker_config,
    address: *const c_char,
) -> bittern_result {
    edit_config(config, |c| {
        c.bind = parse_bind(unsafe { arg_str(address, "address") }?)?;
        Ok(())
    })
}

fn parse_bind(address: &str) -> Result<SocketAddr, Failure> {
    parse_host_port("bind address", address)
}

/// Sets the seconds peers are told to wait between announces (default 1800). A peer silent for
/// twice this long is dropped from its swarm.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_interval(
    config: *mut bittern_tracker_config,
    seconds: u32,
) -> bittern_result {
    edit_config(config, |c| {
        c.interval = seconds;
        Ok(())
    })
}

/// Sets the `min interval` sent to peers, in seconds (default 60).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_min_interval(
    config: *mut bittern_tracker_config,
    seconds: u32,
) -> bittern_result {
    edit_config(config, |c| {
        c.min_interval = seconds;
        Ok(())
    })
}

/// Sets a folder of `.torrent` files (bytes as the OS takes them; they need not be UTF-8) to
/// publish on the tracker's index page and under `/torrents/<file>`; NULL for none (the
/// default). The folder is read when the tracker starts: a folder that cannot be read fails
/// `bittern_tracker_start`, a file that is not a valid torrent is skipped and logged.
///
/// Ownership: `path` is copied. Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_torrents_dir(
    config: *mut bittern_tracker_config,
    path: *const c_char,
) -> bittern_result {
    edit_config(config, |c| {
        c.torrents_dir = if path.is_null() {
            None
        } else {
            Some(unsafe { arg_path(path, "path") }?.to_path_buf())
        };
        Ok(())
    })
}

/// Tracks only the torrents of the torrents folder (default false): an announce for any other
/// is refused with "unregistered torrent". Starting a tracker with this and no torrents folder
/// fails.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_allow_only(
    config: *mut bittern_tracker_config,
    allow_only: bool,
) -> bittern_result {
    edit_config(config, |c| {
        c.allow_only = allow_only;
        Ok(())
    })
}

/// Honours the announce's `ip` parameter (default false: it lets anyone point a swarm at a
/// victim's address; turn it on only on a trusted network).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_trust_ip_param(
    config: *mut bittern_tracker_config,
    trust: bool,
) -> bittern_result {
    edit_config(config, |c| {
        c.trust_ip_param = trust;
        Ok(())
    })
}

/// Serves `/stats` to any host, not only to loopback clients (default false).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_public_stats(
    config: *mut bittern_tracker_config,
    public_stats: bool,
) -> bittern_result {
    edit_config(config, |c| {
        c.public_stats = public_stats;
        Ok(())
    })
}

/// Sets the most torrents tracked at once (default 1,000,000); an announce for one more is
/// refused.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_max_torrents(
    config: *mut bittern_tracker_config,
    max_torrents: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_torrents = max_torrents;
        Ok(())
    })
}

/// Sets the most peers kept per torrent (default 100,000); past it a new peer still gets an
/// answer but is not added.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_max_peers_per_torrent(
    config: *mut bittern_tracker_config,
    max_peers: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_peers_per_torrent = max_peers;
        Ok(())
    })
}

/// Sets the number of peers in an answer to an announce without `numwant` (default 50).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_default_numwant(
    config: *mut bittern_tracker_config,
    numwant: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.default_numwant = numwant;
        Ok(())
    })
}

/// Sets the most peers in an answer, whatever `numwant` asks (default 200).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_max_numwant(
    config: *mut bittern_tracker_config,
    numwant: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_numwant = numwant;
        Ok(())
    })
}

/// Sets the most info-hashes in one scrape (default 64); a larger scrape is refused.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_max_scrape(
    config: *mut bittern_tracker_config,
    max_scrape: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_scrape = max_scrape;
        Ok(())
    })
}

/// Sets the most connections open at once (default 4096); past it, the oldest is closed to
/// make room for the new one.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_max_connections(
    config: *mut bittern_tracker_config,
    max_connections: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.max_connections = max_connections;
        Ok(())
    })
}

/// Sets how long, in milliseconds, a connection may take to send a request's head or sit idle
/// between requests before it is closed (default 30,000).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_idle_timeout_ms(
    config: *mut bittern_tracker_config,
    timeout_ms: u64,
) -> bittern_result {
    edit_config(config, |c| {
        c.idle_timeout = Duration::from_millis(timeout_ms);
        Ok(())
    })
}

/// Sets the number of threads serving HTTP, and as many serving UDP; 0 (the default) means one
/// of each per core.
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_threads(
    config: *mut bittern_tracker_config,
    threads: usize,
) -> bittern_result {
    edit_config(config, |c| {
        c.threads = threads;
        Ok(())
    })
}

/// Sets where UDP (BEP 15) is answered: `"host:port"` as for `bittern_tracker_config_set_bind`
/// (port 0 picks a free port; `bittern_tracker_udp_port` tells which). Also turns UDP on if
/// `bittern_tracker_config_set_udp` turned it off. `address` NULL goes back to the default:
/// the HTTP address and port (its port once picked, when that was 0). Anything else gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Ownership: `address` is copied. Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_udp_bind(
    config: *mut bittern_tracker_config,
    address: *const c_char,
) -> bittern_result {
    edit_config(config, |c| {
        c.udp = if address.is_null() {
            UdpListen::SameAsHttp
        } else {
            UdpListen::At(parse_host_port("UDP bind address", unsafe {
                arg_str(address, "address")
            }?)?)
        };
        Ok(())
    })
}

/// Turns UDP (BEP 15) off (`false`) or on again (`true`, the default; at the address set by
/// `bittern_tracker_config_set_udp_bind`, else HTTP's).
///
/// Thread safety: needs exclusive access to the config.
#[no_mangle]
pub extern "C" fn bittern_tracker_config_set_udp(
    config: *mut bittern_tracker_config,
    enabled: bool,
) -> bittern_result {
    edit_config(config, |c| {
        match (enabled, &c.udp) {
            (false, _) => c.udp = UdpListen::Off,
            (true, UdpListen::Off) => c.udp = UdpListen::SameAsHttp,
            (true, _) => {}
        }
        Ok(())
    })
}

// ---- the tracker ------------------------------------------------------------------------------

/// Starts a tracker with `config` (NULL for the defaults) into a new tracker at `*tracker_out`:
/// it reads the torrents folder (if any), binds the listen address and serves on threads of its
/// own until `bittern_tracker_free`.
///
/// Errors: `BITTERN_RESULT_IO` when the address cannot be bound (taken, not local, no
/// permission), the torrents folder cannot be read, or the threads cannot start;
/// `BITTERN_RESULT_INVALID_ARGUMENT` for settings that cannot work (allow-only without a
/// torrents folder, no connections allowed, a zero interval ...). The last error says which.
///
/// Ownership: free the tracker with `bittern_tracker_free`; `config` stays the caller's and may
/// be freed at once. Thread safety: any thread; only reads `config`.
#[no_mangle]
pub extern "C" fn bittern_tracker_start(
    config: *const bittern_tracker_config,
    tracker_out: *mut *mut bittern_tracker,
) -> bittern_result {
    crate::ignore_sigpipe();
    guard(|| {
        let out = unsafe { arg_out(tracker_out, "tracker_out") }?;
        // SAFETY: `config` is NULL (the defaults) or points at a live config.
        let config =
            unsafe { config.as_ref() }.map_or_else(ServerConfig::default, |c| c.inner.clone());
        let server = TrackerServer::start(config)?;
        out.put(into_handle(bittern_tracker {
            url: c_string(&server.url()),
            udp_url: server.udp_url().map(|u| c_string(&u)),
            server,
            log: Mutex::new(VecDeque::new()),
        }));
        Ok(())
    })
}

/// Stops the tracker and frees it: it stops accepting, lets requests in progress finish (up to
/// about 2 s), closes every connection and ends its threads before returning. NULL is a no-op.
///
/// Ownership: takes ownership of `tracker`; every string borrowed from it ends. Thread safety:
/// no other thread may be using it.
#[no_mangle]
pub extern "C" fn bittern_tracker_free(tracker: *mut bittern_tracker) {
    guard_value((), || {
        unsafe { free_handle(tracker) };
        Ok(())
    })
}

/// The tracker's announce URL, such as `"http://127.0.0.1:6969/announce"` (with 127.0.0.1 when
/// it listens on every address). NULL when `tracker` is NULL.
///
/// Ownership: owned by the tracker, valid until `bittern_tracker_free`. Thread safety: any
/// thread.
#[no_mangle]
pub extern "C" fn bittern_tracker_url(tracker: *const bittern_tracker) -> *const c_char {
    guard_value(ptr::null(), || {
        Ok(unsafe { arg(tracker, "tracker") }?.url.as_ptr())
    })
}

/// The port the tracker listens on (the one picked when it was asked for port 0). 0 when
/// `tracker` is NULL.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_tracker_port(tracker: *const bittern_tracker) -> u16 {
    guard_value(0, || {
        Ok(unsafe { arg(tracker, "tracker") }?
            .server
            .local_addr()
            .port())
    })
}

/// The tracker's UDP announce URL, such as `"udp://127.0.0.1:6969/announce"` (with 127.0.0.1
/// when it listens on every address). NULL when UDP is off or `tracker` is NULL.
///
/// Ownership: owned by the tracker, valid until `bittern_tracker_free`. Thread safety: any
/// thread.
#[no_mangle]
pub extern "C" fn bittern_tracker_udp_url(tracker: *const bittern_tracker) -> *const c_char {
    guard_value(ptr::null(), || {
        Ok(unsafe { arg(tracker, "tracker") }?
            .udp_url
            .as_ref()
            .map_or(ptr::null(), |u| u.as_ptr()))
    })
}

/// The port UDP is answered on (the one picked when it was asked for port 0). 0 when UDP is
/// off or `tracker` is NULL.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_tracker_udp_port(tracker: *const bittern_tracker) -> u16 {
    guard_value(0, || {
        Ok(unsafe { arg(tracker, "tracker") }?
            .server
            .udp_addr()
            .map_or(0, |a| a.port()))
    })
}

/// Writes the tracker's counters now to `*stats_out`, whose `struct_size` the caller sets to
/// `sizeof(bittern_tracker_stats)`: only the fields within it are written, and `struct_size` is
/// then set to the size this library wrote up to. A `struct_size` smaller than a `size_t` gives
/// `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Ownership: `stats_out` is the caller's. Thread safety: any thread; the counters are read one
/// after another while the tracker runs, so they need not add up exactly.
#[no_mangle]
pub extern "C" fn bittern_tracker_get_stats(
    tracker: *const bittern_tracker,
    stats_out: *mut bittern_tracker_stats,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(tracker, "tracker") }?;
        let s = t.server.tracker().stats();
        let w = &s.swarms;
        let stats = bittern_tracker_stats {
            struct_size: std::mem::size_of::<bittern_tracker_stats>(),
            torrents: w.torrents,
            peers: w.peers,
            seeders: w.seeders,
            leechers: w.leechers,
            downloaded: w.downloaded,
            announces: w.announces,
            scrapes: w.scrapes,
            refused: w.refused,
            connections: s.connections,
            udp_connects: s.udp.connects,
            udp_announces: s.udp.announces,
            udp_scrapes: s.udp.scrapes,
            udp_errors: s.udp.errors,
            udp_dropped: s.udp.dropped,
        };
        let fields = field_spans!(bittern_tracker_stats, stats;
            torrents, peers, seeders, leechers, downloaded, announces, scrapes, refused,
            connections, udp_connects, udp_announces, udp_scrapes, udp_errors, udp_dropped);
        unsafe { put_sized(stats_out, "stats_out", &stats, &fields) }
    })
}

/// Publishes `torrent` in the running tracker at once: listed on the index page, served at
/// `/torrents/<file name>` and, under allow-only, tracked. Its file name is the torrent's name
/// plus `.torrent` (leading dots dropped, at most 200 bytes), with `-<8 hex digits of the
/// info-hash>` added when another published torrent has that name; publishing it again keeps
/// that name. (Files added to, changed in or removed from the torrents folder are noticed by
/// the tracker within about a second, with no call.)
///
/// Errors: `BITTERN_RESULT_IO` past 10,000 torrents published this way or for a torrent file
/// over 16 MiB.
///
/// Ownership: `torrent` stays the caller's (the tracker keeps a copy) and may be freed at once.
/// Thread safety: any thread; `torrent` must not be changed meanwhile.
#[no_mangle]
pub extern "C" fn bittern_tracker_publish(
    tracker: *const bittern_tracker,
    torrent: *const bittern_torrent,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(tracker, "tracker") }?;
        let meta = unsafe { arg(torrent, "torrent") }?.meta();
        t.server.tracker().publish(meta)?;
        Ok(())
    })
}

/// Withdraws the torrent with the 20-byte `info_hash` that `bittern_tracker_publish`
/// published. Returns `BITTERN_RESULT_NOT_FOUND` when there is none. A file in the torrents
/// folder stays published while it is there.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn bittern_tracker_unpublish(
    tracker: *const bittern_tracker,
    info_hash: *const u8,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(tracker, "tracker") }?;
        let hash = unsafe { crate::announce::arg_info_hash(info_hash) }?;
        if t.server.tracker().unpublish(&hash) {
            Ok(())
        } else {
            Err(Failure::not_found("that torrent is not published"))
        }
    })
}

/// Takes the oldest line of the tracker's log not taken yet into `*line_out`: it starts
/// listening, new torrents, completed downloads, refused requests, skipped files. Returns
/// `BITTERN_RESULT_NOT_FOUND` when no line is waiting. The tracker keeps the last 1024 lines
/// nobody took; older ones are dropped.
///
/// Ownership: the caller owns the line and frees it with `bittern_string_free`. Thread safety:
/// any thread; each line goes to exactly one caller.
#[no_mangle]
pub extern "C" fn bittern_tracker_next_log_line(
    tracker: *mut bittern_tracker,
    line_out: *mut *mut c_char,
) -> bittern_result {
    guard(|| {
        let t = unsafe { arg(tracker, "tracker") }?;
        let out = unsafe { arg_out(line_out, "line_out") }?;
        let mut pending = t.log.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.is_empty() {
            pending.extend(t.server.tracker().take_log());
        }
        let line = pending
            .pop_front()
            .ok_or_else(|| Failure::not_found("no log line is waiting"))?;
        out.put(into_owned_string(&line));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses() {
        assert_eq!(
            parse_bind("127.0.0.1:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(parse_bind("[::1]:80").unwrap(), "[::1]:80".parse().unwrap());
        assert_eq!(parse_bind("localhost:7").unwrap().port(), 7);
        for bad in ["", "127.0.0.1", "127.0.0.1:99999", "host:port", ":80"] {
            assert_eq!(
                parse_bind(bad).unwrap_err().code(),
                bittern_result::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn udp_settings() {
        let mut config = ptr::null_mut();
        assert_eq!(bittern_tracker_config_new(&mut config), bittern_result::Ok);
        let udp = |c: *mut bittern_tracker_config| unsafe { &*c }.inner.udp.clone();
        assert_eq!(udp(config), UdpListen::SameAsHttp);
        assert_eq!(
            bittern_tracker_config_set_udp_bind(config, c"127.0.0.1:7000".as_ptr()),
            bittern_result::Ok
        );
        assert_eq!(
            udp(config),
            UdpListen::At("127.0.0.1:7000".parse().unwrap())
        );
        assert_eq!(
            bittern_tracker_config_set_udp(config, true),
            bittern_result::Ok
        );
        assert_eq!(
            udp(config),
            UdpListen::At("127.0.0.1:7000".parse().unwrap())
        );
        assert_eq!(
            bittern_tracker_config_set_udp(config, false),
            bittern_result::Ok
        );
        assert_eq!(udp(config), UdpListen::Off);
        assert_eq!(
            bittern_tracker_config_set_udp_bind(config, c"nowhere".as_ptr()),
            bittern_result::InvalidArgument
        );
        assert_eq!(
            bittern_tracker_config_set_udp_bind(config, ptr::null()),
            bittern_result::Ok
        );
        assert_eq!(udp(config), UdpListen::SameAsHttp);
        assert_eq!(
            bittern_tracker_config_set_bind(config, c"127.0.0.1:0".as_ptr()),
            bittern_result::Ok
        );
        assert_eq!(
            bittern_tracker_config_set_udp(config, false),
            bittern_result::Ok
        );
        let mut tracker = ptr::null_mut();
        assert_eq!(
            bittern_tracker_start(config, &mut tracker),
            bittern_result::Ok
        );
        bittern_tracker_config_free(config);
        assert_eq!(bittern_tracker_udp_port(tracker), 0);
        assert!(bittern_tracker_udp_url(tracker).is_null());
        bittern_tracker_free(tracker);
    }

    #[test]
    fn a_smaller_stats_struct_is_written_only_up_to_its_size() {
        let mut config = ptr::null_mut();
        assert_eq!(bittern_tracker_config_new(&mut config), bittern_result::Ok);
        assert_eq!(
            bittern_tracker_config_set_bind(config, c"127.0.0.1:0".as_ptr()),
            bittern_result::Ok
        );
        assert_eq!(
            bittern_tracker_config_set_threads(config, 1),
            bittern_result::Ok
        );
        let mut tracker = ptr::null_mut();
        assert_eq!(
            bittern_tracker_start(config, &mut tracker),
            bittern_result::Ok
        );
        bittern_tracker_config_free(config);
        assert_ne!(bittern_tracker_port(tracker), 0);
        assert_eq!(
            bittern_tracker_udp_port(tracker),
            bittern_tracker_port(tracker)
        );
        let udp_url = unsafe { std::ffi::CStr::from_ptr(bittern_tracker_udp_url(tracker)) };
        assert!(udp_url.to_str().unwrap().starts_with("udp://127.0.0.1:"));

        let small = std::mem::offset_of!(bittern_tracker_stats, seeders);
        let mut stats = bittern_tracker_stats {
            struct_size: small,
            seeders: 77,
            connections: 77,
            ..Default::default()
        };
        assert_eq!(
            bittern_tracker_get_stats(tracker, &mut stats),
            bittern_result::Ok
        );
        assert_eq!(
            (stats.struct_size, stats.seeders, stats.connections),
            (small, 77, 77)
        );
        stats.struct_size = 1;
        assert_eq!(
            bittern_tracker_get_stats(tracker, &mut stats),
            bittern_result::InvalidArgument
        );
        bittern_tracker_free(tracker);
    }
}
