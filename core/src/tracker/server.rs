//! The tracker's HTTP server: hyper's HTTP/1.1 (keep-alive), on tokio.
//!
//! Routes: `/announce` and `/scrape` (BEP 3, 23, 7, 48), and for a publisher's folder of
//! `.torrent` files, `/` (an index page linking each torrent with its live counts) and
//! `/torrents/<file>` (the file itself, as `application/x-bittorrent`). The folder is watched
//! while the tracker runs: a request that needs the list (the index page, a download, an
//! announce under `allow_only`) rescans it when the last scan is older than [`RESCAN_AFTER`],
//! re-reading only the files whose size or modification time changed. Code can also publish a
//! torrent into a running tracker ([`Tracker::publish`]). `/stats` tells the
//! tracker's counters to loopback clients (to anyone with `public_stats`).
//!
//! BEP 15 (UDP) is answered beside it from the same swarms ([`super::udp::server`]; by default on
//! the HTTP address and port, see [`ServerConfig::udp`]).
//!
//! Every bad request gets a bencoded `failure reason` and the server goes on. Bounded: request
//! head size (8 KiB), header count, open connections, idle time on a connection, torrents, peers
//! per torrent, peers per answer, info-hashes per scrape ([`ServerConfig`] has the defaults).

use super::swarm::{Change, Family, Refused, Registry, Stats, SwarmLimits};
use super::udp::server::UdpState;
pub use super::udp::server::{UdpListen, UdpStats};
use super::wire::{self, failure};
use super::{AnnounceRequest, AnnounceResponse, ScrapeResponse, TrackerError};
use crate::metainfo::{InfoHash, Metainfo};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE, HOST};
use hyper::http::uri::Authority;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

/// How the tracker runs. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where to listen (default `127.0.0.1:6969`; port 0 picks a free port).
    pub bind: SocketAddr,
    /// Seconds peers are told to wait between announces (default 1800). A peer silent for
    /// twice this long is dropped.
    pub interval: u32,
    /// The `min interval` sent (default 60; never more than `interval`).
    pub min_interval: u32,
    /// Honour the `ip` parameter (default off: it lets anyone point a swarm at a victim; turn
    /// it on only on a trusted network).
    pub trust_ip_param: bool,
    /// A folder of `.torrent` files to publish on the index page. Files added, changed or
    /// removed while the tracker runs are noticed within [`RESCAN_AFTER`].
    pub torrents_dir: Option<PathBuf>,
    /// Track only the published torrents: those in `torrents_dir` and those published from
    /// code with [`Tracker::publish`] (default off).
    pub allow_only: bool,
    /// Serve `/stats` to any host, not only loopback (default off).
    pub public_stats: bool,
    /// Torrents tracked at once (default 1,000,000).
    pub max_torrents: usize,
    /// Peers kept per torrent (default 100,000).
    pub max_peers_per_torrent: usize,
    /// Peers in an answer without `numwant` (default 50) and at most (default 200).
    pub default_numwant: usize,
    pub max_numwant: usize,
    /// Info-hashes in one scrape (default 64).
    pub max_scrape: usize,
    /// Connections open at once (default 4096); past it, the oldest is closed to make room.
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's head, or sit idle between requests
    /// (default 30).
    pub idle_timeout: Duration,
    /// Threads serving HTTP, and as many serving UDP, each UDP thread on a socket of its own
    /// (default 0: one of each per core).
    pub threads: usize,
    /// Where BEP 15 (UDP) is answered: by default on HTTP's address and port.
    pub udp: UdpListen,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 6969)),
            interval: Self::DEFAULT_INTERVAL,
            min_interval: Self::DEFAULT_MIN_INTERVAL,
            trust_ip_param: false,
            torrents_dir: None,
            allow_only: false,
            public_stats: false,
            max_torrents: Self::DEFAULT_MAX_TORRENTS,
            max_peers_per_torrent: Self::DEFAULT_MAX_PEERS_PER_TORRENT,
            default_numwant: Self::DEFAULT_NUMWANT,
            max_numwant: Self::DEFAULT_MAX_NUMWANT,
            max_scrape: Self::DEFAULT_MAX_SCRAPE,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            threads: 0,
            udp: UdpListen::SameAsHttp,
        }
    }
}

impl ServerConfig {
    /// The defaults one by one, as constants, so a face can show them (and check at compile
    /// time that what it shows is what they are).
    pub const DEFAULT_INTERVAL: u32 = 1800;
    pub const DEFAULT_MIN_INTERVAL: u32 = 60;
    pub const DEFAULT_MAX_TORRENTS: usize = 1_000_000;
    pub const DEFAULT_MAX_PEERS_PER_TORRENT: usize = 100_000;
    pub const DEFAULT_NUMWANT: usize = 50;
    pub const DEFAULT_MAX_NUMWANT: usize = 200;
    pub const DEFAULT_MAX_SCRAPE: usize = 64;
    pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

    /// Refuses settings with which the tracker could not serve.
    pub fn check(&self) -> Result<(), TrackerError> {
        let problem = if self.interval == 0 {
            "interval must be at least 1 second"
        } else if self.max_connections == 0 {
            "max connections must be at least 1"
        } else if self.max_torrents == 0 || self.max_peers_per_torrent == 0 {
            "max torrents and max peers per torrent must be at least 1"
        } else if self.max_scrape == 0 {
            "max scrape must be at least 1"
        } else if self.idle_timeout.is_zero() {
            "idle_timeout must be more than 0"
        } else if self.allow_only && self.torrents_dir.is_none() {
            "allow-only needs a torrents folder"
        } else {
            return Ok(());
        };
        Err(TrackerError::InvalidConfig(problem.into()))
    }
}

/// Largest request head hyper will buffer (its minimum).
const MAX_REQUEST_BYTES: usize = 8192;
const MAX_HEADERS: usize = 32;
/// Lines kept for [`Tracker::take_log`]; older ones are dropped.
const LOG_LINES: usize = 1024;
/// Largest `.torrent` file published.
const MAX_TORRENT_FILE: u64 = 16 << 20;
/// Most `.torrent` files published from the folder (the first ones by name), and apart from
/// them, most published from code.
pub const MAX_PUBLISHED: usize = 10_000;
/// How long a scan of the torrents folder stands: a request that needs the published list
/// rescans the folder when the last scan is older, so a flood of announces costs one scan a
/// second at most.
pub const RESCAN_AFTER: Duration = Duration::from_secs(1);
/// Longest file name (in bytes, before `.torrent`) given to a torrent published from code.
const MAX_FILE_STEM: usize = 200;

/// A published `.torrent` file: from the publisher's folder, or published from code.
#[derive(Debug, Clone)]
pub struct Published {
    /// The file's name in the folder (and in its URL); for a torrent published from code, a
    /// name made from the torrent's (see [`Tracker::publish`]).
    pub file_name: String,
    pub bytes: Bytes,
    pub info_hash: InfoHash,
    pub name: String,
    pub total_length: u64,
}

/// The tracker: its configuration, swarms and published torrents. Serve it with
/// [`Tracker::serve`] inside a tokio runtime, or run it on its own with [`TrackerServer`].
pub struct Tracker {
    config: ServerConfig,
    pub(in crate::tracker) registry: Registry,
    pub(in crate::tracker) udp: UdpState,
    /// What is published, as last scanned and published from code.
    shelf: Mutex<Shelf>,
    /// The list and the info-hashes the shelf makes, rebuilt when it changes.
    view: RwLock<Arc<View>>,
    log: Mutex<VecDeque<String>>,
    connections: AtomicUsize,
    /// Connections open, oldest first, each with what closes it (dropped: it ends), shared by
    /// every accepting thread.
    open: Mutex<BTreeMap<u64, oneshot::Sender<()>>>,
    next_connection: AtomicU64,
}

impl Tracker {
    /// Reads the torrents folder (if any) and makes an empty tracker. An unreadable folder is
    /// an error here; later, while the tracker runs, it is logged and the last list kept.
    pub fn new(config: ServerConfig) -> Result<Arc<Tracker>, TrackerError> {
        config.check()?;
        let mut lines = Vec::new();
        let mut shelf = Shelf::default();
        if let Some(dir) = &config.torrents_dir {
            shelf
                .scan(dir, &mut lines, false)
                .map_err(|e| TrackerError::Server(format!("{}: {e}", dir.display())))?;
            shelf.scanned = Some(Instant::now());
        }
        let view = shelf.view();
        let limits = SwarmLimits {
            max_torrents: config.max_torrents,
            max_peers_per_torrent: config.max_peers_per_torrent,
            default_numwant: config.default_numwant,
            max_numwant: config.max_numwant,
            peer_timeout_secs: config.interval.saturating_mul(2),
        };
        Ok(Arc::new(Tracker {
            registry: Registry::new(limits),
            udp: UdpState::default(),
            shelf: Mutex::new(shelf),
            view: RwLock::new(Arc::new(view)),
            config,
            log: Mutex::new(lines.into()),
            connections: AtomicUsize::new(0),
            open: Mutex::default(),
            next_connection: AtomicU64::new(0),
        }))
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The torrents published, from the folder and from code, by file name (the folder
    /// rescanned first when the last scan is older than [`RESCAN_AFTER`]).
    pub fn published(&self) -> Vec<Published> {
        self.current().list.clone()
    }

    /// Publishes `torrent` while the tracker runs, at once: listed on the index page, served at
    /// `/torrents/<file_name>` and, under `allow_only`, tracked. Its file name is the torrent's
    /// name made safe (no path separators or control characters, no leading dots, at most 200
    /// bytes) plus `.torrent`, with `-<info-hash prefix>` added when another published torrent
    /// has that name. Publishing a torrent already published from code replaces its bytes and
    /// keeps its name. Returns what is published. A name also found in the folder serves this
    /// torrent. Errors past [`MAX_PUBLISHED`] torrents or for a file over 16 MiB.
    pub fn publish(&self, torrent: &Metainfo) -> Result<Published, TrackerError> {
        let bytes = torrent.to_bytes();
        if bytes.len() as u64 > MAX_TORRENT_FILE {
            return Err(TrackerError::Server(format!(
                "cannot publish a torrent file over {MAX_TORRENT_FILE} bytes"
            )));
        }
        let info_hash = torrent.info_hash();
        let mut shelf = self.shelf();
        let same = shelf
            .by_code
            .iter()
            .find(|(_, p)| p.info_hash == info_hash)
            .map(|(name, _)| name.clone());
        let file_name = match same {
            Some(name) => name,
            None if shelf.by_code.len() >= MAX_PUBLISHED => {
                return Err(TrackerError::Server(format!(
                    "cannot publish more than {MAX_PUBLISHED} torrents"
                )))
            }
            None => {
                let stem = file_stem(&torrent.info().name());
                let plain = format!("{stem}.torrent");
                if shelf.has(&plain) {
                    format!("{stem}-{}.torrent", &info_hash.to_hex()[..8])
                } else {
                    plain
                }
            }
        };
        let published = Published {
            file_name: file_name.clone(),
            bytes: Bytes::from(bytes),
            info_hash,
            name: torrent.info().name(),
            total_length: torrent.info().total_length(),
        };
        shelf.by_code.insert(file_name.clone(), published.clone());
        self.show(&shelf);
        drop(shelf);
        self.log(format!("published {file_name}"));
        Ok(published)
    }

    /// Withdraws the torrent with `info_hash` published from code; returns whether there was
    /// one. A torrent in the folder stays published while its file is there.
    pub fn unpublish(&self, info_hash: &InfoHash) -> bool {
        let mut shelf = self.shelf();
        let before = shelf.by_code.len();
        let mut gone = Vec::new();
        shelf.by_code.retain(|name, p| {
            let keep = p.info_hash != *info_hash;
            if !keep {
                gone.push(name.clone());
            }
            keep
        });
        if shelf.by_code.len() == before {
            return false;
        }
        self.show(&shelf);
        drop(shelf);
        for name in gone {
            self.log(format!("unpublished {name}"));
        }
        true
    }

    fn shelf(&self) -> std::sync::MutexGuard<'_, Shelf> {
        self.shelf.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the shelf's list the one requests see.
    fn show(&self, shelf: &Shelf) {
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(shelf.view());
    }

    /// The published list, the folder rescanned first when the last scan is too old.
    fn current(&self) -> Arc<View> {
        if let Some(dir) = &self.config.torrents_dir {
            let mut shelf = self.shelf();
            if shelf.scanned.is_none_or(|at| at.elapsed() >= RESCAN_AFTER) {
                let mut lines = Vec::new();
                match shelf.scan(dir, &mut lines, true) {
                    Ok(true) => self.show(&shelf),
                    Ok(false) => {}
                    Err(e) if !shelf.unreadable => {
                        shelf.unreadable = true;
                        lines.push(format!("cannot read {}: {e}", dir.display()));
                    }
                    Err(_) => {}
                }
                shelf.scanned = Some(Instant::now());
                drop(shelf);
                for line in lines {
                    self.log(line);
                }
            }
        }
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn stats(&self) -> TrackerStats {
        TrackerStats {
            swarms: self.registry.stats(),
            connections: self.connections.load(Ordering::Relaxed) as u64,
            udp: self.udp.stats(),
        }
    }

    /// Takes the lines logged since the last call: new torrents, completed downloads, refused
    /// requests, skipped files. Bounded: when nobody takes them, the oldest are dropped.
    pub fn take_log(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect()
    }

    /// Whether announces for `info_hash` are tracked (always, unless `allow_only`).
    pub(in crate::tracker) fn allows(&self, info_hash: &InfoHash) -> bool {
        !self.config.allow_only || self.current().allowed.contains(info_hash)
    }

    pub(in crate::tracker) fn log(&self, line: String) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == LOG_LINES {
            log.pop_front();
        }
        log.push_back(line);
    }

    /// Accepts HTTP connections on `listener` until `shutdown` turns true, then closes them;
    /// drops silent peers meanwhile. BEP 15 is answered beside it by
    /// [`serve_udp`](Self::serve_udp) on a UDP socket of the caller's ([`TrackerServer`]
    /// runs both, on threads of its own).
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: watch::Receiver<bool>) {
        let expiry = tokio::spawn(self.clone().expire_peers(shutdown.clone()));
        self.accept_loop(listener, shutdown).await;
        let _ = expiry.await;
    }

    async fn accept_loop(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        // Out of file descriptors, most likely: give connections a moment to end.
                        Err(_) => { tokio::time::sleep(Duration::from_millis(10)).await; continue }
                    };
                    let closed = self.make_room();
                    let _ = stream.set_nodelay(true);
                    let tracker = self.clone();
                    let shutdown = shutdown.clone();
                    connections.spawn(async move {
                        tracker.connection(stream, peer, shutdown, closed).await;
                    });
                }
                _ = shutdown.changed() => break,
            }
            while connections.try_join_next().is_some() {}
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        connections.abort_all();
    }

    async fn expire_peers(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let every = Duration::from_secs(u64::from(self.config.interval / 4).clamp(1, 300));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => self.registry.expire(),
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Counts a new connection in; past `max_connections` the oldest one is closed to make
    /// room, so that a flood of idle connections cannot shut honest clients out (each is
    /// answered within milliseconds of arriving, long before a flood could push it out).
    /// Returns the connection's id and what ends when it is pushed out.
    fn make_room(&self) -> (u64, oneshot::Receiver<()>) {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let (close, closed) = oneshot::channel();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.config.max_connections {
            open.pop_first();
        }
        open.insert(id, close);
        (id, closed)
    }

    async fn connection(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
        (id, pushed_out): (u64, oneshot::Receiver<()>),
    ) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        let tracker = self.clone();
        let local = stream.local_addr().unwrap_or(self.config.bind);
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let response = tracker.respond(&req, peer.ip().to_canonical(), local);
            async move { Ok::<_, std::convert::Infallible>(response) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.idle_timeout)
            .max_buf_size(MAX_REQUEST_BYTES)
            .max_headers(MAX_HEADERS)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => {}
            _ = pushed_out => {}
            _ = shutdown.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
            }
        }
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// Answers one request; `ip` is the address the request came from, `local` the address it
    /// reached (named on the index page when the request has no usable `Host`).
    pub fn respond<B>(
        &self,
        req: &Request<B>,
        ip: IpAddr,
        local: SocketAddr,
    ) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "only GET is served\n",
            );
        }
        let query = req.uri().query().unwrap_or("").as_bytes();
        match req.uri().path() {
            "/announce" => self.announce(query, ip),
            "/scrape" => self.scrape(query),
            "/" | "/index.html" => reply(
                StatusCode::OK,
                "text/html; charset=utf-8",
                self.index_page(&announce_url(req, local)),
            ),
            "/stats" if self.config.public_stats || ip.is_loopback() => {
                reply(StatusCode::OK, "application/json", self.stats().to_json())
            }
            path => match path
                .strip_prefix("/torrents/")
                .and_then(|f| self.torrent_file(f))
            {
                Some(response) => response,
                None => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
            },
        }
    }

    fn refuse(&self, ip: IpAddr, reason: &str) -> Response<Full<Bytes>> {
        self.registry.count_refused();
        tracing::debug!(%ip, reason, "tracker refused an announce");
        self.log(format!("refused {ip}: {reason}"));
        reply(StatusCode::OK, "text/plain", failure(reason))
    }

    /// Records an announce from `ip` in the registry (logging a new torrent or a completion)
    /// and gives its answer, with peers only of `family` when one is given. Both protocols'
    /// announces come through here.
    pub(crate) fn record_announce(
        &self,
        req: &AnnounceRequest,
        ip: IpAddr,
        family: Option<Family>,
    ) -> Result<AnnounceResponse, Refused> {
        let (response, change) = self.registry.announce(req, ip, family)?;
        tracing::debug!(
            info_hash = %req.info_hash,
            %ip,
            port = req.port,
            event = ?req.event,
            left = req.left,
            peers = response.peers.len(),
            "tracker answered an announce"
        );
        match change {
            Change::NewTorrent => self.log(format!("new torrent {} from {ip}", req.info_hash)),
            Change::Completed => self.log(format!("{} completed by {ip}", req.info_hash)),
            Change::None => {}
        }
        Ok(response)
    }

    fn announce(&self, query: &[u8], seen: IpAddr) -> Response<Full<Bytes>> {
        let req = match AnnounceRequest::from_query(query) {
            Ok(r) => r,
            Err(reason) => return self.refuse(seen, &reason.to_string()),
        };
        if !self.allows(&req.info_hash) {
            return self.refuse(seen, &format!("unregistered torrent {}", req.info_hash));
        }
        let ip = match (&req.ip, self.config.trust_ip_param) {
            (Some(given), true) => match given.parse::<IpAddr>() {
                Ok(ip) => ip.to_canonical(),
                Err(_) => {
                    return self.refuse(seen, &format!("'ip' is not an IP address: {given:?}"))
                }
            },
            _ => seen,
        };
        match self.record_announce(&req, ip, None) {
            Ok(mut response) => {
                response.interval = self.config.interval;
                response.min_interval = Some(self.config.min_interval.min(self.config.interval));
                reply(
                    StatusCode::OK,
                    "text/plain",
                    response.encode(req.compact, req.no_peer_id),
                )
            }
            Err(reason) => self.refuse(ip, &reason.to_string()),
        }
    }

    fn scrape(&self, query: &[u8]) -> Response<Full<Bytes>> {
        match wire::scrape_hashes_from_query(query, self.config.max_scrape) {
            Ok(hashes) if hashes.is_empty() => {
                self.registry.count_refused();
                reply(
                    StatusCode::OK,
                    "text/plain",
                    failure("scrape needs at least one info_hash"),
                )
            }
            Ok(hashes) => {
                let files = self.registry.scrape(&hashes);
                reply(
                    StatusCode::OK,
                    "text/plain",
                    ScrapeResponse { files }.encode(),
                )
            }
            Err(reason) => {
                self.registry.count_refused();
                reply(StatusCode::OK, "text/plain", failure(&reason.to_string()))
            }
        }
    }

    fn torrent_file(&self, escaped: &str) -> Option<Response<Full<Bytes>>> {
        let name = percent_encoding::percent_decode_str(escaped)
            .decode_utf8()
            .ok()?;
        // Only a published name is served: a decoded `..` or `/` matches none.
        let view = self.current();
        let p = view.list.iter().find(|p| p.file_name == name)?;
        let mut response = reply(StatusCode::OK, "application/x-bittorrent", p.bytes.clone());
        if let Ok(value) = HeaderValue::from_str(&content_disposition(&p.file_name)) {
            response.headers_mut().insert(CONTENT_DISPOSITION, value);
        }
        Some(response)
    }

    /// The index page, naming `announce_url` (HTML-escaped, like every value from a request).
    fn index_page(&self, announce_url: &str) -> String {
        let view = self.current();
        let mut rows = String::new();
        for p in &view.list {
            let s = self.registry.torrent_stats(&p.info_hash);
            rows += &format!(
                "<tr><td><a href=\"/torrents/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                url_escape(&p.file_name),
                html_escape(&p.name),
                human_size(p.total_length),
                s.complete,
                s.incomplete,
                s.downloaded,
            );
        }
        let body = if view.list.is_empty() {
            "<p>No torrents are published here.</p>".to_owned()
        } else {
            format!(
                "<table>\n<tr><th>Torrent</th><th>Size</th><th>Seeders</th><th>Leechers</th><th>Downloads</th></tr>\n{rows}</table>"
            )
        };
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bittern tracker</title></head>\n\
             <body><h1>bittern tracker</h1>\n{body}\n<p>Announce URL: <code>{}</code></p></body></html>\n",
            html_escape(announce_url)
        )
    }
}

/// The tracker's counters and its open connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackerStats {
    /// The registry's: announces and scrapes over HTTP and UDP together.
    pub swarms: Stats,
    pub connections: u64,
    /// The UDP side's own.
    pub udp: UdpStats,
}

impl TrackerStats {
    pub fn to_json(&self) -> String {
        let (s, u) = (&self.swarms, &self.udp);
        format!(
            "{{\"torrents\":{},\"peers\":{},\"seeders\":{},\"leechers\":{},\"downloaded\":{},\"announces\":{},\"scrapes\":{},\"refused\":{},\"connections\":{},\"udp_connects\":{},\"udp_announces\":{},\"udp_scrapes\":{},\"udp_errors\":{},\"udp_dropped\":{}}}\n",
            s.torrents, s.peers, s.seeders, s.leechers, s.downloaded, s.announces, s.scrapes, s.refused, self.connections,
            u.connects, u.announces, u.scrapes, u.errors, u.dropped
        )
    }
}

fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// What a URL path segment must escape: all but RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), so `/`, `?`, `#`, `%`, spaces and non-ASCII bytes are escaped. The
/// same set is a subset of RFC 5987's `attr-char`, so it also serves `filename*=`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn url_escape(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// `attachment` with both names (RFC 6266): a plain ASCII `filename` for clients that read
/// only that one (`curl -OJ`), each character outside printable ASCII and each `"`, `\` and
/// `%` (which some clients would decode) replaced by `_`; and the exact name as `filename*`
/// (RFC 5987, UTF-8), which browsers prefer.
fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| match c {
            ' '..='~' if !matches!(c, '"' | '\\' | '%') => c,
            _ => '_',
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        url_escape(file_name)
    )
}

/// The announce URL as the request reached the server: the authority of an absolute request
/// target, else the `Host` header, else `local` (a request without a usable `Host`, such as
/// HTTP/1.0's). A host with user information or that is no authority at all is not used.
fn announce_url<B>(req: &Request<B>, local: SocketAddr) -> String {
    let host = req.uri().authority().cloned().or_else(|| {
        req.headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<Authority>().ok())
    });
    match host {
        Some(host) if !host.as_str().contains('@') => format!("http://{host}/announce"),
        _ => format!("http://{local}/announce"),
    }
}

/// Torrent names come from anyone: escape them before they reach HTML.
fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '&' => "&amp;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

fn human_size(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut size, mut unit) = (n as f64, 0);
    while size >= 1024.0 && unit + 1 < units.len() {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{size:.1} {}", units[unit])
    }
}

/// What a tracker publishes: the folder's files as last scanned, and torrents published from
/// code.
#[derive(Default)]
struct Shelf {
    /// Each `.torrent` file of the folder by name, with what it held at its size and time.
    folder: BTreeMap<String, Seen>,
    by_code: BTreeMap<String, Published>,
    scanned: Option<Instant>,
    /// The last scan could not read the folder (logged once until it can again).
    unreadable: bool,
    /// The last scan found more than [`MAX_PUBLISHED`] files (logged once).
    overfull: bool,
}

/// A file of the folder as last read: re-read only when its size or time changes, so that a
/// broken file is neither re-read nor logged again at each scan.
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    /// `None` when the file could not be read as a torrent.
    published: Option<Published>,
}

/// The published torrents as requests see them.
#[derive(Default)]
struct View {
    /// By file name; a torrent published from code hides a folder file of the same name.
    list: Vec<Published>,
    allowed: FxHashSet<InfoHash>,
}

impl Shelf {
    fn has(&self, file_name: &str) -> bool {
        self.by_code.contains_key(file_name)
            || self
                .folder
                .get(file_name)
                .is_some_and(|s| s.published.is_some())
    }

    fn view(&self) -> View {
        let mut list: BTreeMap<&str, &Published> = self
            .folder
            .iter()
            .filter_map(|(name, seen)| Some((name.as_str(), seen.published.as_ref()?)))
            .collect();
        list.extend(self.by_code.iter().map(|(n, p)| (n.as_str(), p)));
        View {
            allowed: list.values().map(|p| p.info_hash).collect(),
            list: list.into_values().cloned().collect(),
        }
    }

    /// Rescans `dir`: reads the `.torrent` files that are new or whose size or time changed,
    /// forgets those gone; unreadable ones are logged (once) and skipped. With `tell`, files
    /// published and withdrawn are logged too. Returns whether the list changed.
    fn scan(&mut self, dir: &Path, log: &mut Vec<String>, tell: bool) -> std::io::Result<bool> {
        let mut files: Vec<(String, PathBuf, std::fs::Metadata)> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "torrent"))
            .filter_map(|p| {
                let meta = std::fs::metadata(&p).ok().filter(|m| m.is_file())?;
                let name = p.file_name()?.to_string_lossy().into_owned();
                Some((name, p, meta))
            })
            .collect();
        self.unreadable = false;
        files.sort_by(|a, b| a.1.cmp(&b.1));
        let overfull = files.len() > MAX_PUBLISHED;
        if overfull && !self.overfull {
            log.push(format!(
                "{} holds {} torrent files: only the first {MAX_PUBLISHED} are published",
                dir.display(),
                files.len()
            ));
        }
        self.overfull = overfull;
        files.truncate(MAX_PUBLISHED);
        let limits = crate::metainfo::LoadLimits {
            max_size: MAX_TORRENT_FILE,
            ..Default::default()
        };
        let mut changed = false;
        let mut next = BTreeMap::new();
        for (name, path, meta) in files {
            let (len, modified) = (meta.len(), meta.modified().ok());
            if let Some(seen) = self.folder.remove(&name) {
                if seen.len == len && seen.modified == modified {
                    next.insert(name, seen);
                    continue;
                }
                changed |= seen.published.is_some();
            }
            let published = if path.file_name().and_then(|n| n.to_str()).is_none() {
                log.push(format!(
                    "skipped {}: the file name is not UTF-8",
                    path.display()
                ));
                None
            } else {
                match Metainfo::load_with_limits(&path, &limits) {
                    Ok(t) => Some(Published {
                        file_name: name.clone(),
                        info_hash: t.info_hash(),
                        name: t.info().name(),
                        total_length: t.info().total_length(),
                        bytes: Bytes::from(t.to_bytes()),
                    }),
                    Err(e) => {
                        log.push(format!("skipped {name}: {e}"));
                        None
                    }
                }
            };
            if published.is_some() {
                changed = true;
                if tell {
                    log.push(format!("published {name}"));
                }
            }
            next.insert(
                name,
                Seen {
                    len,
                    modified,
                    published,
                },
            );
        }
        for (name, gone) in std::mem::replace(&mut self.folder, next) {
            if gone.published.is_some() {
                changed = true;
                if tell {
                    log.push(format!("unpublished {name}"));
                }
            }
        }
        Ok(changed)
    }
}

/// A file name stem for a torrent published from code: its name without path separators,
/// control characters or leading dots and blanks, at most [`MAX_FILE_STEM`] bytes; `torrent`
/// when nothing is left.
fn file_stem(name: &str) -> String {
    let mut stem = String::new();
    for c in name
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .chars()
    {
        let c = match c {
            '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        };
        if stem.len() + c.len_utf8() > MAX_FILE_STEM {
            break;
        }
        stem.push(c);
    }
    let stem = stem.trim_end().to_owned();
    if stem.is_empty() {
        "torrent".to_owned()
    } else {
        stem
    }
}

/// A tracker running on threads of its own, for callers that are not async (the C and Python
/// faces, the CLI). Stops when [`stop`](TrackerServer::stop)ped or dropped.
///
/// Each thread runs a single-threaded runtime accepting from the same listening socket:
/// requests never hop between threads, which is what a tracker's tiny requests want. Do not
/// start or drop one from inside a tokio runtime; there, use [`Tracker::serve`].
pub struct TrackerServer {
    tracker: Arc<Tracker>,
    addr: SocketAddr,
    udp_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl TrackerServer {
    /// Binds and starts serving.
    pub fn start(config: ServerConfig) -> Result<TrackerServer, TrackerError> {
        let count = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let tracker = Tracker::new(config)?;
        let (listener, udp) = bind(tracker.config(), count)?;
        let addr = listener
            .local_addr()
            .map_err(|e| TrackerError::Server(e.to_string()))?;
        let udp_addr = match udp.first() {
            Some(socket) => Some(
                socket
                    .local_addr()
                    .map_err(|e| TrackerError::Server(e.to_string()))?,
            ),
            None => None,
        };
        tracker.log(format!("listening on http://{addr}/announce"));
        if let Some(udp_addr) = udp_addr {
            tracker.log(format!("listening on udp://{udp_addr}/announce"));
        }
        tracing::info!(%addr, ?udp_addr, threads = count, "tracker listening");
        let (shutdown, rx) = watch::channel(false);
        let mut server = TrackerServer {
            tracker,
            addr,
            udp_addr,
            shutdown,
            threads: Vec::new(),
        };
        // Each HTTP thread takes its share of the accepts; each UDP thread reads a socket of
        // its own (SO_REUSEPORT: the kernel spreads clients over them).
        for (i, socket) in udp.into_iter().enumerate() {
            let (tracker, rx) = (server.tracker.clone(), rx.clone());
            let started = std::thread::Builder::new()
                .name(format!("bittern-udp-{i}"))
                .spawn(move || {
                    if let Err(e) = tracker.serve_udp(socket, rx) {
                        tracing::error!(error = %e, "tracker cannot serve UDP");
                    }
                });
            match started {
                Ok(thread) => server.threads.push(thread),
                Err(e) => return Err(TrackerError::Server(format!("cannot start threads: {e}"))),
            }
        }
        for i in 0..count {
            let started = listener.try_clone().and_then(|l| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let listener = {
                    let _entered = runtime.enter();
                    TcpListener::from_std(l)?
                };
                let (tracker, rx) = (server.tracker.clone(), rx.clone());
                std::thread::Builder::new()
                    .name(format!("bittern-tracker-{i}"))
                    .spawn(move || {
                        // One thread also drops silent peers.
                        runtime.block_on(async move {
                            match i {
                                0 => tracker.serve(listener, rx).await,
                                _ => tracker.accept_loop(listener, rx).await,
                            }
                        })
                    })
            });
            match started {
                Ok(thread) => server.threads.push(thread),
                Err(e) => return Err(TrackerError::Server(format!("cannot start threads: {e}"))),
            }
        }
        Ok(server)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The announce URL (with 127.0.0.1 when bound to every address).
    pub fn url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::from([127, 0, 0, 1]));
        }
        format!("http://{addr}/announce")
    }

    pub fn tracker(&self) -> &Arc<Tracker> {
        &self.tracker
    }

    /// Where BEP 15 is answered; `None` with [`UdpListen::Off`].
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// The UDP announce URL, `udp://host:port/announce` (with 127.0.0.1 when bound to every
    /// address); `None` with [`UdpListen::Off`].
    pub fn udp_url(&self) -> Option<String> {
        let mut addr = self.udp_addr?;
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::from([127, 0, 0, 1]));
        }
        Some(format!("udp://{addr}/announce"))
    }

    /// Stops accepting, lets open requests finish (up to 2 s) and ends every thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        let _ = self.shutdown.send(true);
        if self.threads.is_empty() {
            return;
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        tracing::info!(addr = %self.addr, "tracker stopped");
    }
}

/// Tries to bind the same port for UDP as HTTP got this many times, when HTTP's port was 0
/// and the number it got is taken for UDP (TCP and UDP ports are separate spaces).
const SAME_PORT_TRIES: usize = 16;

/// The HTTP listener and the UDP sockets (`count`, sharing a port; none when UDP is off).
fn bind(
    config: &ServerConfig,
    count: usize,
) -> Result<(std::net::TcpListener, Vec<std::net::UdpSocket>), TrackerError> {
    let listen = |addr: SocketAddr| {
        std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| TrackerError::Server(format!("cannot listen on {addr}: {e}")))
    };
    let udp = |addr: SocketAddr| super::udp::server::bind_reuseport(addr, count);
    let udp_error = |addr, e| TrackerError::Server(format!("cannot listen for UDP on {addr}: {e}"));
    let bind = config.bind;
    match config.udp {
        UdpListen::Off => Ok((listen(bind)?, Vec::new())),
        UdpListen::At(at) => {
            let listener = listen(bind)?;
            Ok((listener, udp(at).map_err(|e| udp_error(at, e))?))
        }
        UdpListen::SameAsHttp => {
            let mut tries = 0;
            loop {
                let listener = listen(bind)?;
                let addr = listener
                    .local_addr()
                    .map_err(|e| TrackerError::Server(e.to_string()))?;
                match udp(addr) {
                    Ok(sockets) => return Ok((listener, sockets)),
                    Err(e)
                        if bind.port() == 0
                            && e.kind() == std::io::ErrorKind::AddrInUse
                            && tries < SAME_PORT_TRIES =>
                    {
                        tries += 1
                    }
                    Err(e) => return Err(udp_error(addr, e)),
                }
            }
        }
    }
}

impl Drop for TrackerServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}
