//! The tracker client: `announce()` and `scrape()`, `Torrent.announce_to_trackers()` and
//! `Torrent.scrape()`, and their results `AnnounceResult`, `Peer` and `ScrapeResult`.
//!
//! Each call runs core's blocking client with the GIL released; Ctrl-C stops it
//! ([`interruptibly`]).

use crate::args::{interruptibly, seconds};
use crate::convert::Tiers;
use crate::errors::{guard, Failure};
use bittern_core::metainfo::{InfoHash, Metainfo};
use bittern_core::tracker::client::{blocking, ClientConfig, TrackerList};
use bittern_core::tracker::{AnnounceRequest, AnnounceResponse, Event, PeerId, ScrapeStats};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};

pub(crate) fn twenty(value: &[u8], name: &str) -> PyResult<[u8; 20]> {
    value
        .try_into()
        .map_err(|_| PyValueError::new_err(format!("{name} must be 20 bytes, not {}", value.len())))
}

/// The client settings for a call with `timeout` seconds per tracker.
fn client_config(timeout: f64) -> PyResult<ClientConfig> {
    Ok(ClientConfig::with_timeout(seconds(timeout, "timeout")?))
}

/// The options an announce takes, as Python gives them.
pub(crate) struct AnnounceArgs<'a> {
    pub peer_id: Option<Cow<'a, [u8]>>,
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub event: Option<&'a str>,
    pub numwant: Option<u32>,
}

impl AnnounceArgs<'_> {
    fn request(&self, info_hash: InfoHash) -> PyResult<AnnounceRequest> {
        let peer_id = match &self.peer_id {
            Some(id) => PeerId(twenty(id, "peer_id")?),
            None => PeerId::of_process(),
        };
        let event = self
            .event
            .map(str::parse::<Event>)
            .transpose()
            .map_err(Failure::from)?;
        let mut req = AnnounceRequest::new(info_hash, peer_id, self.port, self.left);
        req.uploaded = self.uploaded;
        req.downloaded = self.downloaded;
        req.event = event;
        req.numwant = self.numwant;
        Ok(req)
    }
}

/// Announces `info_hash` to the first tracker of `tiers` that answers.
fn announce_to(
    py: Python<'_>,
    tiers: Vec<Vec<String>>,
    info_hash: InfoHash,
    args: &AnnounceArgs<'_>,
    timeout: f64,
) -> PyResult<AnnounceResult> {
    let req = args.request(info_hash)?;
    let config = client_config(timeout)?;
    let (url, response) = interruptibly(py, |cancel| {
        blocking::announce_tiers(&config, &tiers, &req, cancel)
    })?;
    Ok(AnnounceResult::new(url, response))
}

/// `Torrent.announce_to_trackers()`: over the torrent's trackers (BEP 12 tiers).
pub(crate) fn announce_torrent(
    py: Python<'_>,
    meta: &Metainfo,
    args: &AnnounceArgs<'_>,
    timeout: f64,
) -> PyResult<AnnounceResult> {
    let tiers = guard(|| TrackerList::from_metainfo(meta))?.tiers().to_vec();
    announce_to(py, tiers, meta.info_hash(), args, timeout)
}

/// `Torrent.scrape()`: asks the torrent's trackers in turn (BEP 12 order) until one answers.
pub(crate) fn scrape_torrent(
    py: Python<'_>,
    meta: &Metainfo,
    timeout: f64,
) -> PyResult<Option<ScrapeResult>> {
    let tiers = guard(|| TrackerList::from_metainfo(meta))?.tiers().to_vec();
    let hash = meta.info_hash();
    let config = client_config(timeout)?;
    let files = interruptibly(py, |cancel| {
        blocking::scrape_tiers(&config, &tiers, &[hash], cancel).map(|(_, r)| r.files)
    })?;
    Ok(files
        .into_iter()
        .find(|(h, _)| *h == hash)
        .map(|(_, stats)| ScrapeResult(stats)))
}

/// Announces `info_hash` (20 bytes) to an HTTP(S) or UDP (BEP 15) tracker and returns its answer.
///
/// `url` is an announce URL, or BEP 12 tiers as in `Torrent.create(announce=...)`: the first
/// tracker that answers wins. `left` is the bytes still to download (0: a seeder). `peer_id`
/// (20 bytes) defaults to this process's own, `-BI0100-` (bittern 0.1.0) and 12 random
/// letters and digits made once. `port` is where peers can connect (1 to 65535). `numwant`
/// asks for that many peers (the tracker caps it). Compact peers are asked for.
///
/// `timeout` (seconds) bounds each tracker's request (connecting, at most 10 s of it,
/// redirects and reading the answer). The call waits with the GIL released, and Ctrl-C raises
/// `KeyboardInterrupt` within 0.1 s; the abandoned request ends on its own within `timeout`.
///
/// Raises `TrackerError` (a `ConnectionError`) if the tracker cannot be reached, does not
/// answer in time, answers something that is not a tracker answer, or refuses (its `failure
/// reason` is the message); `ValueError` for a bad argument.
#[pyfunction]
#[pyo3(signature = (
    url, info_hash, *, left, peer_id = None, port = 6881, uploaded = 0, downloaded = 0,
    event = None, numwant = None, timeout = 15.0,
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn announce(
    py: Python<'_>,
    url: Tiers,
    info_hash: Cow<'_, [u8]>,
    left: u64,
    peer_id: Option<Cow<'_, [u8]>>,
    port: u16,
    uploaded: u64,
    downloaded: u64,
    event: Option<&str>,
    numwant: Option<u32>,
    timeout: f64,
) -> PyResult<AnnounceResult> {
    let info_hash = InfoHash(twenty(&info_hash, "info_hash")?);
    let args = AnnounceArgs {
        peer_id,
        port,
        uploaded,
        downloaded,
        left,
        event,
        numwant,
    };
    announce_to(py, url.0, info_hash, &args, timeout)
}

/// Scrapes (BEP 48) the tracker whose announce URL is `url` (its last path segment must
/// start with `announce`) for `info_hashes` (20 bytes each; none asks for every torrent, which
/// many trackers refuse). A `udp://` tracker (BEP 15) is asked at its own address, and only for
/// named torrents. Torrents the tracker does not know are left out of the answer.
/// Raises `TrackerError`; waits and Ctrl-C as in `announce`.
#[pyfunction]
#[pyo3(signature = (url, info_hashes, *, timeout = 15.0))]
pub(crate) fn scrape<'py>(
    py: Python<'py>,
    url: String,
    info_hashes: &Bound<'py, PyAny>,
    timeout: f64,
) -> PyResult<Bound<'py, PyDict>> {
    if info_hashes.is_instance_of::<PyBytes>() || info_hashes.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "info_hashes must be a sequence of 20-byte hashes, not one value",
        ));
    }
    let mut hashes = Vec::new();
    for item in info_hashes.try_iter()? {
        let item = item?;
        let item: Cow<'_, [u8]> = item.extract()?;
        hashes.push(InfoHash(twenty(&item, "each info-hash")?));
    }
    let config = client_config(timeout)?;
    let response = interruptibly(py, |cancel| {
        blocking::scrape(&config, &url, &hashes, cancel)
    })?;
    let dict = PyDict::new(py);
    for (hash, stats) in response.files {
        dict.set_item(PyBytes::new(py, hash.as_bytes()), ScrapeResult(stats))?;
    }
    Ok(dict)
}

/// A peer from a tracker's answer.
#[pyclass(frozen, eq, hash, module = "bittern", name = "Peer")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Peer {
    /// The address, e.g. `"10.0.0.1"` or `"2001:db8::1"`.
    #[pyo3(get)]
    ip: String,
    #[pyo3(get)]
    port: u16,
    peer_id: Option<[u8; 20]>,
}

#[pymethods]
impl Peer {
    /// Only in a tracker's dictionary answer; `None` in a compact one.
    #[getter]
    fn peer_id<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.peer_id.map(|id| PyBytes::new(py, &id))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = match self.peer_id(py) {
            Some(id) => id.repr()?.to_string(),
            None => "None".into(),
        };
        Ok(format!(
            "Peer(ip={}, port={}, peer_id={id})",
            PyString::new(py, &self.ip).repr()?,
            self.port
        ))
    }
}

/// A tracker's answer to an announce.
#[pyclass(frozen, module = "bittern", name = "AnnounceResult")]
pub(crate) struct AnnounceResult {
    /// The tracker that answered.
    #[pyo3(get)]
    url: String,
    /// Seconds to wait before the next regular announce, as the tracker said.
    #[pyo3(get)]
    interval: u32,
    #[pyo3(get)]
    min_interval: Option<u32>,
    /// Seeders, if the tracker said.
    #[pyo3(get)]
    complete: Option<u64>,
    /// Leechers, if the tracker said.
    #[pyo3(get)]
    incomplete: Option<u64>,
    peers: Vec<Peer>,
    /// The tracker's `warning message`.
    #[pyo3(get)]
    warning: Option<String>,
}

impl AnnounceResult {
    fn new(url: String, r: AnnounceResponse) -> Self {
        AnnounceResult {
            url,
            interval: r.interval,
            min_interval: r.min_interval,
            complete: r.complete,
            incomplete: r.incomplete,
            peers: r
                .peers
                .iter()
                .map(|p| Peer {
                    ip: p.addr.ip().to_string(),
                    port: p.addr.port(),
                    peer_id: p.peer_id.map(|id| id.0),
                })
                .collect(),
            warning: r.warning,
        }
    }
}

#[pymethods]
impl AnnounceResult {
    /// Other peers (IPv4 and IPv6), never the one announcing.
    #[getter]
    fn peers(&self) -> Vec<Peer> {
        self.peers.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let opt = |n: Option<u64>| n.map_or("None".to_owned(), |n| n.to_string());
        Ok(format!(
            "AnnounceResult(url={}, interval={}, complete={}, incomplete={}, peers=<{} peers>)",
            PyString::new(py, &self.url).repr()?,
            self.interval,
            opt(self.complete),
            opt(self.incomplete),
            self.peers.len()
        ))
    }
}

/// One torrent's counts from a scrape.
#[pyclass(frozen, eq, hash, module = "bittern", name = "ScrapeResult")]
#[derive(PartialEq, Eq)]
pub(crate) struct ScrapeResult(ScrapeStats);

impl Hash for ScrapeResult {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0.complete, self.0.downloaded, self.0.incomplete).hash(state);
    }
}

#[pymethods]
impl ScrapeResult {
    /// Seeders.
    #[getter]
    fn complete(&self) -> u64 {
        self.0.complete
    }

    /// Completed downloads the tracker has counted.
    #[getter]
    fn downloaded(&self) -> u64 {
        self.0.downloaded
    }

    /// Leechers.
    #[getter]
    fn incomplete(&self) -> u64 {
        self.0.incomplete
    }

    fn __repr__(&self) -> String {
        format!(
            "ScrapeResult(complete={}, downloaded={}, incomplete={})",
            self.0.complete, self.0.downloaded, self.0.incomplete
        )
    }
}
