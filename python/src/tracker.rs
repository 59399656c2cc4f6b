//! `Tracker`: core's HTTP tracker server, running on threads of its own.

use crate::args::{parse_addr, seconds};
use crate::errors::guard;
use crate::torrent::Torrent;
use bittern_core::metainfo::InfoHash;
use bittern_core::tracker::server::{self, ServerConfig, TrackerServer, UdpListen};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// An HTTP BitTorrent tracker (BEP 3, 23 compact peers, 7 IPv6, 48 scrape) and a UDP one
/// (BEP 15) serving on threads of its own from construction until `stop()`.
///
///     with bittern.Tracker("127.0.0.1:0") as tracker:
///         print(tracker.url)   # http://127.0.0.1:<port>/announce
///
/// Routes: `/announce`, `/scrape`, `/` (an index page linking the published torrents with live
/// counts), `/torrents/<file>` (a published file, as `application/x-bittorrent`) and `/stats`
/// (the counters as JSON, to loopback clients only unless `public_stats`). Every bad request
/// gets a bencoded `failure reason`, and the tracker goes on serving.
///
/// `bind` is `"host:port"` (port 0 picks a free port; `"[::]:6969"` for IPv6). BEP 15 is
/// answered on the same address and port (see `udp_url`), or at `udp_bind` (`"host:port"`), or
/// not at all with `udp=False`; HTTP and UDP share the swarms. Peers are told
/// to re-announce every `interval` seconds (at least `min_interval` apart) and are dropped after
/// twice that in silence. `torrents_dir` publishes the folder's `.torrent` files (files added,
/// changed or removed while it runs are noticed within a second; unreadable ones are skipped and
/// logged); `publish()` adds a torrent from code. `allow_only` then tracks only the published
/// torrents (it needs `torrents_dir`). The `ip` parameter of announces is ignored unless
/// `trust_ip` (honouring it lets anyone point a swarm at a third party; turn it on only on a
/// trusted network).
///
/// Peers per answer: `default_numwant` when not asked, at most `max_numwant`; `max_scrape`
/// info-hashes per scrape; `max_connections` open at once (past it the oldest is closed to
/// make room); `idle_timeout` seconds for a request's head or between requests; `threads`
/// 0 uses one per core.
///
/// Starting releases the GIL while it binds. Raises `StorageError` (an `OSError`) if it cannot
/// listen (the address is taken or not local) or cannot read `torrents_dir`; `ValueError` for a
/// bad argument. The tracker stops on `stop()`, at the end of a `with` block, or when garbage
/// collected.
#[pyclass(frozen, module = "bittern", name = "Tracker")]
pub(crate) struct Tracker {
    server: Mutex<Option<TrackerServer>>,
    tracker: Arc<server::Tracker>,
    addr: SocketAddr,
    url: String,
    udp_url: Option<String>,
}

impl Tracker {
    fn server(&self) -> MutexGuard<'_, Option<TrackerServer>> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `ValueError` once stopped: what would change the tracker then serves nobody.
    fn check_running(&self) -> PyResult<()> {
        if self.server().is_none() {
            return Err(PyValueError::new_err("the tracker is stopped"));
        }
        Ok(())
    }

    fn shut_down(&self, py: Python<'_>) {
        let server = self.server().take();
        if let Some(server) = server {
            py.detach(|| server.stop());
        }
    }
}

impl Drop for Tracker {
    /// Garbage collection stops a tracker left running, with the GIL released while its
    /// threads end.
    fn drop(&mut self) {
        let server = self
            .server
            .get_mut()
            .map_or_else(|e| e.into_inner().take(), Option::take);
        if let Some(server) = server {
            // Where Python cannot be attached (at interpreter exit), the closure is dropped
            // uncalled, and the server with it: that stops it too, only with the GIL held.
            Python::try_attach(move |py| py.detach(move || server.stop()));
        }
    }
}

#[pymethods]
impl Tracker {
    #[new]
    // Core's defaults, written out so that Python's signature shows them (checked below).
    #[pyo3(signature = (
        bind = "127.0.0.1:6969", *, interval = 1800, min_interval = 60, torrents_dir = None,
        allow_only = false, trust_ip = false, public_stats = false, max_torrents = 1000000,
        max_peers_per_torrent = 100000, default_numwant = 50, max_numwant = 200,
        max_scrape = 64, max_connections = 4096, idle_timeout = 30.0, threads = 0,
        udp = true, udp_bind = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        bind: &str,
        interval: u32,
        min_interval: u32,
        torrents_dir: Option<PathBuf>,
        allow_only: bool,
        trust_ip: bool,
        public_stats: bool,
        max_torrents: usize,
        max_peers_per_torrent: usize,
        default_numwant: usize,
        max_numwant: usize,
        max_scrape: usize,
        max_connections: usize,
        idle_timeout: f64,
        threads: usize,
        udp: bool,
        udp_bind: Option<&str>,
    ) -> PyResult<Self> {
        let udp = match (udp, udp_bind) {
            (false, Some(_)) => {
                return Err(PyValueError::new_err(
                    "udp_bind needs udp=True (udp=False turns UDP off)",
                ))
            }
            (false, None) => UdpListen::Off,
            (true, None) => UdpListen::SameAsHttp,
            (true, Some(at)) => UdpListen::At(parse_addr(py, at, "udp_bind", "127.0.0.1:6969")?),
        };
        let config = ServerConfig {
            bind: parse_addr(py, bind, "bind", "127.0.0.1:6969")?,
            interval,
            min_interval,
            trust_ip_param: trust_ip,
            torrents_dir,
            allow_only,
            public_stats,
            max_torrents,
            max_peers_per_torrent,
            default_numwant,
            max_numwant,
            max_scrape,
            max_connections,
            idle_timeout: seconds(idle_timeout, "idle_timeout")?,
            threads,
            udp,
        };
        let server = py.detach(|| guard(|| TrackerServer::start(config)))?;
        Ok(Tracker {
            tracker: server.tracker().clone(),
            addr: server.local_addr(),
            url: server.url(),
            udp_url: server.udp_url(),
            server: Mutex::new(Some(server)),
        })
    }

    /// The announce URL, e.g. `http://127.0.0.1:6969/announce` (with 127.0.0.1 when bound
    /// to every address).
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The UDP announce URL, e.g. `udp://127.0.0.1:6969/announce` (with 127.0.0.1 when bound
    /// to every address); `None` with `udp=False`.
    #[getter]
    fn udp_url(&self) -> Option<&str> {
        self.udp_url.as_deref()
    }

    /// The address listened on, as `(host, port)`.
    #[getter]
    fn address(&self) -> (String, u16) {
        (self.addr.ip().to_string(), self.addr.port())
    }

    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// True until `stop()`.
    #[getter]
    fn running(&self) -> bool {
        self.server().is_some()
    }

    /// The torrents published, from `torrents_dir` (rescanned when the last scan is over a
    /// second old) and by `publish()`, sorted by file name.
    #[getter]
    fn published(&self, py: Python<'_>) -> Vec<PublishedTorrent> {
        py.detach(|| self.tracker.published())
            .iter()
            .map(PublishedTorrent::from)
            .collect()
    }

    /// Publishes `torrent` at once: listed on the index page, served at
    /// `/torrents/<file_name>` and, with `allow_only`, tracked. Its file name is the torrent's
    /// name plus `.torrent` (leading dots dropped, at most 200 bytes), with `-<8 hex digits of
    /// the info-hash>` added when another published torrent has that name. Publishing it again
    /// keeps its name. Raises `StorageError` past 10,000 torrents or for a file over 16 MiB.
    fn publish(&self, py: Python<'_>, torrent: &Torrent) -> PyResult<PublishedTorrent> {
        self.check_running()?;
        let metainfo = torrent.metainfo().clone();
        let published = py.detach(|| guard(|| self.tracker.publish(&metainfo)))?;
        Ok(PublishedTorrent::from(&published))
    }

    /// Withdraws the torrent with `info_hash` that `publish()` published; returns whether
    /// there was one. A file in `torrents_dir` stays published while it is there.
    fn unpublish(&self, info_hash: &[u8]) -> PyResult<bool> {
        self.check_running()?;
        let info_hash = InfoHash(crate::announce::twenty(info_hash, "info_hash")?);
        Ok(self.tracker.unpublish(&info_hash))
    }

    /// The counters now.
    fn stats(&self) -> TrackerStats {
        let s = self.tracker.stats();
        TrackerStats {
            torrents: s.swarms.torrents,
            peers: s.swarms.peers,
            seeders: s.swarms.seeders,
            leechers: s.swarms.leechers,
            downloaded: s.swarms.downloaded,
            announces: s.swarms.announces,
            scrapes: s.swarms.scrapes,
            refused: s.swarms.refused,
            connections: s.connections,
            udp_connects: s.udp.connects,
            udp_announces: s.udp.announces,
            udp_scrapes: s.udp.scrapes,
            udp_errors: s.udp.errors,
            udp_dropped: s.udp.dropped,
        }
    }

    /// The log lines since the last call: start, new torrents, completed downloads, refused
    /// requests, skipped files. The newest 1024 are kept when nobody takes them.
    fn take_log(&self) -> Vec<String> {
        self.tracker.take_log()
    }

    /// Stops accepting, lets open requests finish (up to 2 s) and ends the tracker's
    /// threads, with the GIL released. Calling it again does nothing; `url`, `published`,
    /// `stats()` and `take_log()` still work afterwards, `publish()` and `unpublish()` raise
    /// `ValueError`.
    fn stop(&self, py: Python<'_>) {
        self.shut_down(py);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Py<PyAny>,
        _exc_value: Py<PyAny>,
        _traceback: Py<PyAny>,
    ) -> bool {
        self.shut_down(py);
        false
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Tracker(url={}, running={})",
            PyString::new(py, &self.url).repr()?,
            if self.running() { "True" } else { "False" }
        ))
    }
}

/// A tracker's counters at one moment.
#[pyclass(frozen, eq, module = "bittern", name = "TrackerStats")]
#[derive(PartialEq)]
pub(crate) struct TrackerStats {
    #[pyo3(get)]
    torrents: u64,
    #[pyo3(get)]
    peers: u64,
    #[pyo3(get)]
    seeders: u64,
    #[pyo3(get)]
    leechers: u64,
    /// `completed` events counted (once per peer and torrent), over all torrents.
    #[pyo3(get)]
    downloaded: u64,
    #[pyo3(get)]
    announces: u64,
    #[pyo3(get)]
    scrapes: u64,
    /// Requests answered with a `failure reason`.
    #[pyo3(get)]
    refused: u64,
    /// Connections open now.
    #[pyo3(get)]
    connections: u64,
    /// UDP connect requests answered.
    #[pyo3(get)]
    udp_connects: u64,
    /// UDP announces answered with peers (also counted in `announces`).
    #[pyo3(get)]
    udp_announces: u64,
    /// UDP scrapes answered (also counted in `scrapes`).
    #[pyo3(get)]
    udp_scrapes: u64,
    /// UDP error answers sent (bad connection ids, malformed or refused requests).
    #[pyo3(get)]
    udp_errors: u64,
    /// UDP packets left unanswered: oversized, too short, from unroutable sources.
    #[pyo3(get)]
    udp_dropped: u64,
}

impl TrackerStats {
    fn fields(&self) -> [(&'static str, u64); 14] {
        [
            ("torrents", self.torrents),
            ("peers", self.peers),
            ("seeders", self.seeders),
            ("leechers", self.leechers),
            ("downloaded", self.downloaded),
            ("announces", self.announces),
            ("scrapes", self.scrapes),
            ("refused", self.refused),
            ("connections", self.connections),
            ("udp_connects", self.udp_connects),
            ("udp_announces", self.udp_announces),
            ("udp_scrapes", self.udp_scrapes),
            ("udp_errors", self.udp_errors),
            ("udp_dropped", self.udp_dropped),
        ]
    }
}

#[pymethods]
impl TrackerStats {
    /// The counters as a new `dict`, in the order above.
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.fields() {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let fields: Vec<String> = self
            .fields()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        format!("TrackerStats({})", fields.join(", "))
    }
}

/// A `.torrent` file a `Tracker` publishes: from its `torrents_dir`, or by
/// `Tracker.publish()`.
#[pyclass(frozen, eq, module = "bittern", name = "PublishedTorrent")]
#[derive(PartialEq)]
pub(crate) struct PublishedTorrent {
    /// The file's name in the folder (or made by `publish()`); it is served at
    /// `/torrents/<file_name>`.
    #[pyo3(get)]
    file_name: String,
    info_hash: InfoHash,
    /// The torrent's name.
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    total_length: u64,
}

impl From<&server::Published> for PublishedTorrent {
    fn from(p: &server::Published) -> Self {
        PublishedTorrent {
            file_name: p.file_name.clone(),
            info_hash: p.info_hash,
            name: p.name.clone(),
            total_length: p.total_length,
        }
    }
}

#[pymethods]
impl PublishedTorrent {
    #[getter]
    fn info_hash<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.info_hash.as_bytes())
    }

    #[getter]
    fn info_hash_hex(&self) -> String {
        self.info_hash.to_hex()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PublishedTorrent(file_name={}, info_hash='{}', name={}, total_length={})",
            PyString::new(py, &self.file_name).repr()?,
            self.info_hash_hex(),
            PyString::new(py, &self.name).repr()?,
            self.total_length
        ))
    }
}

// The defaults in `Tracker`'s signature are core's.
const _: () = {
    type C = ServerConfig;
    assert!(C::DEFAULT_INTERVAL == 1800);
    assert!(C::DEFAULT_MIN_INTERVAL == 60);
    assert!(C::DEFAULT_MAX_TORRENTS == 1000000);
    assert!(C::DEFAULT_MAX_PEERS_PER_TORRENT == 100000);
    assert!(C::DEFAULT_NUMWANT == 50);
    assert!(C::DEFAULT_MAX_NUMWANT == 200);
    assert!(C::DEFAULT_MAX_SCRAPE == 64);
    assert!(C::DEFAULT_MAX_CONNECTIONS == 4096);
    assert!(C::DEFAULT_IDLE_TIMEOUT.as_millis() == 30_000);
};
