//! `Session`: core's BitTorrent session (a runtime and threads of its own), the torrents in it
//! (`TorrentHandle`, with `TorrentStatus` snapshots) and what they report (`Event`, read
//! through an `EventIterator`).
//!
//! Everything that blocks runs with the GIL released: starting (binding), adding (fetching a
//! torrent, checking its data), removing and closing (announcing `stopped`), and the waits.
//! Adding and the waits wake every 100 ms so that Ctrl-C raises `KeyboardInterrupt` at once.
//! No engine thread ever calls into Python: events are polled. Which handles are live, what a
//! setting may be and when a torrent is finished are core's rules; this file translates.
//!
//! The core session lives in an `Arc` that each call clones for its duration, so `close()`
//! from one thread never pulls the runtime from under a call in another: it waits (briefly)
//! for those calls, or leaves the shutdown to the last of them.

use crate::args::{in_slices, interruptibly, on_own_thread, optional_seconds, parse_addr, seconds};
use crate::errors::guard;
use crate::events::EventIterator;
use crate::torrent::Torrent;
use bittern_core::metainfo::Metainfo;
use bittern_core::session::{
    self as core, AddOptions, EventReceiver, SessionConfig, State, Status, TorrentSource,
    WaitOutcome,
};
use bittern_core::tracker::client::ClientConfig;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long `close()` waits for calls still running in other threads before it leaves the
/// shutdown to the last of them.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Stops a session: at once if this is the last reference, else after the calls holding the
/// others return (waiting up to [`CLOSE_GRACE`], then leaving it to the last one's drop).
fn shut_down(mut session: Arc<core::Session>) {
    let deadline = Instant::now() + CLOSE_GRACE;
    loop {
        match Arc::try_unwrap(session) {
            Ok(session) => return session.shutdown(),
            Err(shared) if Instant::now() >= deadline => return drop(shared),
            Err(shared) => {
                session = shared;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// A BitTorrent session: a listen socket, a runtime and threads of its own, and the
/// torrents it downloads and seeds.
///
///     with bittern.Session() as session:
///         handle = session.add("file.torrent", "downloads")
///         handle.wait()                # until every piece is verified
///         for event in session.events(timeout=1):
///             print(event)
///
/// `listen` is `"host:port"` where peers connect (port 0 picks a free port); by default the
/// first free port of 6881 to 6889 on every address. At most `max_connections` peer
/// connections are open at once over every torrent, `max_peers_per_torrent` per torrent and
/// `max_peers_per_ip` per torrent from one IP address, which may have as many handshakes in
/// progress at most (raise it when every peer is on one machine). `unchoke_slots` peers are
/// uploaded to by rate, plus one optimistic unchoke. `handshake_timeout` bounds connecting
/// and the handshake; a peer silent for `idle_timeout` seconds is dropped, and so is one
/// that takes none of what we send for as long.
///
/// Every call that blocks releases the GIL: starting (binding), `add()` (fetching, reading and
/// checking), `remove()` and `close()` (announcing `stopped`), and the waits of
/// `TorrentHandle.wait()` and the event iterator, which wake every 100 ms so that Ctrl-C
/// raises `KeyboardInterrupt` at once. No engine thread ever calls Python.
///
/// Raises `StorageError` (an `OSError`) if it cannot listen; `ValueError` for a setting that
/// cannot work (a limit below 1, a timeout of 0; 0 `unchoke_slots` leaves only the
/// optimistic unchoke: core's rules, the same in C).
/// The session stops (announcing `stopped` for every torrent and saving resume data) on
/// `close()`, at the end of a `with` block, or when garbage collected. A session that another
/// thread is still using (inside `add()`, say) stops when that call returns.
#[pyclass(frozen, module = "bittern", name = "Session")]
pub(crate) struct Session {
    inner: Mutex<Option<Arc<core::Session>>>,
    /// Every event since the session started, read by whichever `EventIterator` asks.
    pub(crate) events: Mutex<EventReceiver>,
    listen: SocketAddr,
    peer_id: [u8; 20],
}

impl Session {
    pub(crate) fn slot(&self) -> MutexGuard<'_, Option<Arc<core::Session>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The core session for one call, or `ValueError` once closed.
    fn live(&self) -> PyResult<Arc<core::Session>> {
        self.slot()
            .clone()
            .ok_or_else(|| PyValueError::new_err("the session is closed"))
    }

    fn is_closed(&self) -> bool {
        self.slot().is_none()
    }

    /// Closes the session, waiting on a thread of its own (trackers that do not answer the
    /// `stopped` announce keep it up to about 3 s): Ctrl-C raises `KeyboardInterrupt` at once
    /// and the session goes on closing in the background.
    fn close_now(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.slot().take();
        if let Some(session) = taken {
            on_own_thread(py, move || {
                shut_down(session);
                Ok(())
            })?;
        }
        Ok(())
    }
}

impl Drop for Session {
    /// Garbage collection stops a session left open, with the GIL released while it stops.
    fn drop(&mut self) {
        let taken = self
            .inner
            .get_mut()
            .map_or_else(|e| e.into_inner().take(), Option::take);
        if let Some(session) = taken {
            // Where Python cannot be attached (at interpreter exit), the closure is dropped
            // uncalled, and the session with it: that stops it too, only with the GIL held.
            Python::try_attach(move |py| py.detach(move || shut_down(session)));
        }
    }
}

/// Where a torrent to add comes from: a `Torrent` at hand, or what core's loader takes.
enum Source {
    Torrent(Box<Metainfo>),
    Load(TorrentSource),
}

impl Source {
    fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Source> {
        if let Ok(torrent) = obj.cast::<Torrent>() {
            return Ok(Source::Torrent(Box::new(torrent.get().metainfo().clone())));
        }
        if let Ok(magnet) = obj.cast::<crate::magnet::Magnet>() {
            return Ok(Source::Load(TorrentSource::Magnet(
                magnet.get().link().clone(),
            )));
        }
        if let Ok(text) = obj.cast::<PyString>() {
            // A str that is not UTF-8 (undecodable bytes of a file name, as `os.fsdecode` gives
            // them) can only be a path.
            if let Ok(text) = text.to_cow() {
                return Ok(Source::Load(guard(|| TorrentSource::parse(&text))?));
            }
        }
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(Source::Load(TorrentSource::Bytes(
                bytes.as_bytes().to_vec(),
            )));
        }
        obj.extract::<PathBuf>()
            .map(|path| Source::Load(TorrentSource::Path(path)))
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "torrent must be a Torrent, a path or an http(s) URL (or its bytes), not {}",
                    obj.get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ))
            })
    }
}

#[pymethods]
impl Session {
    #[new]
    // Core's defaults, written out so that Python's signature shows them (checked below).
    #[pyo3(signature = (
        *, listen = None, max_connections = 200, max_peers_per_torrent = 50,
        max_peers_per_ip = 4, unchoke_slots = 4, handshake_timeout = 10.0, idle_timeout = 120.0,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        listen: Option<&str>,
        max_connections: usize,
        max_peers_per_torrent: usize,
        max_peers_per_ip: usize,
        unchoke_slots: usize,
        handshake_timeout: f64,
        idle_timeout: f64,
    ) -> PyResult<Self> {
        let listen = listen
            .map(|text| parse_addr(py, text, "listen", "0.0.0.0:6881"))
            .transpose()?;
        let config = SessionConfig {
            listen,
            max_connections,
            max_peers_per_torrent,
            max_peers_per_ip,
            unchoke_slots,
            handshake_timeout: seconds(handshake_timeout, "handshake_timeout")?,
            idle_timeout: seconds(idle_timeout, "idle_timeout")?,
            ..SessionConfig::default()
        };
        let session = py.detach(|| guard(|| core::Session::new(config)))?;
        Ok(Session {
            events: Mutex::new(session.event_receiver()),
            listen: session.listen_addr(),
            peer_id: session.peer_id().0,
            inner: Mutex::new(Some(Arc::new(session))),
        })
    }

    /// The address listened on for peers, as `(host, port)`.
    #[getter]
    fn listen_address(&self) -> (String, u16) {
        (self.listen.ip().to_string(), self.listen.port())
    }

    /// The port listened on for peers.
    #[getter]
    fn port(&self) -> u16 {
        self.listen.port()
    }

    /// This session's peer id (20 bytes), as sent to trackers and peers.
    #[getter]
    fn peer_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.peer_id)
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.is_closed()
    }

    /// Adds a torrent and starts it (announcing to its trackers); returns its handle.
    ///
    /// `torrent` is a `Torrent`, a `.torrent` file's bytes, its path, or its `http://` or
    /// `https://` URL (the scheme in any case; fetched as a browser would, at most 16 MiB, 15 s; a
    /// `file:` URL is a path), or a magnet link (a `"magnet:?..."` string or a `Magnet`): its
    /// metadata is asked of peers first (state `fetching_metadata`, a `fetching_metadata` event,
    /// then `metadata_received`, and `torrent()` gives it). Its file (or its folder, for a
    /// multi-file torrent) goes into `save_dir`. What is there already is checked first, in the background (the state is
    /// `checking`, with `pieces_checked` counting), or taken from the fast resume data when the
    /// files are as they were when it was saved, so an interrupted download resumes. `seed_only`
    /// never asks for pieces and never creates, truncates or resizes a file (an origin seeder on
    /// the original data: a file missing or of another size is a storage error); `trust_data`
    /// skips the check and takes the data as complete (an origin seeder that made the torrent from
    /// these very files).
    ///
    /// What is on disk never fails the add: the files are opened in the background too, and one
    /// that cannot be opened or made (a link or a folder where a file belongs, a missing file
    /// with `seed_only`, no permission, ...) is a `storage_error` event and state `error`, with
    /// `error()` saying why, until `resume()` opens and checks them again.
    ///
    /// Blocks while fetching the torrent, with the GIL released; Ctrl-C stops a fetch within
    /// 0.1 s, adds nothing and raises `KeyboardInterrupt`. Raises `BencodeError` or `MetainfoError`
    /// for a bad torrent (`MetainfoError` too when a URL answers with something else, such as an
    /// HTML page), `NetworkError` when a URL cannot be fetched (`TimeoutError` past 15 s); the
    /// message names the URL. `TypeError` for another type, and `ValueError` for another URL scheme
    /// or a malformed magnet link, if the torrent is in the session already or the session is
    /// closed.
    #[pyo3(signature = (torrent, save_dir, *, seed_only = false, trust_data = false))]
    fn add(
        slf: &Bound<'_, Self>,
        torrent: &Bound<'_, PyAny>,
        save_dir: PathBuf,
        seed_only: bool,
        trust_data: bool,
    ) -> PyResult<TorrentHandle> {
        let mut source = Source::extract(torrent)?;
        let session = slf.get().live()?;
        if let Source::Load(TorrentSource::Path(path)) = source {
            // On a thread of its own: a FIFO would block the read beyond Ctrl-C.
            let meta = on_own_thread(slf.py(), move || Ok(Metainfo::load(&path)?))?;
            source = Source::Torrent(Box::new(meta));
        }
        let options = AddOptions {
            save_dir,
            seed_only,
            trust_data,
        };
        // Ctrl-C stops the fetch, and nothing is added.
        let inner = interruptibly(slf.py(), |cancel| match source {
            Source::Torrent(meta) => session.add(*meta, options),
            Source::Load(source) => {
                session.add_source(source, options, &ClientConfig::default(), cancel)
            }
        })?;
        Ok(TorrentHandle { inner })
    }

    /// Gives a torrent peers to connect to, as `(host, port)` pairs (a host name is
    /// resolved), besides those its trackers name. A paused torrent connects on `resume()`.
    /// `ValueError` for a host that does not resolve, or a handle of another session.
    fn add_peers(
        slf: &Bound<'_, Self>,
        torrent: &TorrentHandle,
        peers: Vec<(String, u16)>,
    ) -> PyResult<()> {
        let session = slf.get().live()?;
        // Names are resolved with the GIL released; the session is dropped there too.
        let unresolved = slf.py().detach(move || {
            let mut addrs = Vec::with_capacity(peers.len());
            for (host, port) in peers {
                match (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|mut a| a.next())
                {
                    Ok(Some(addr)) => addrs.push(addr),
                    _ => return Err(host),
                }
            }
            Ok(session.add_peers(&torrent.inner, addrs))
        });
        match unresolved {
            Err(host) => Err(PyValueError::new_err(format!(
                "cannot resolve the peer address {host:?}"
            ))),
            Ok(added) => Ok(guard(|| added)?),
        }
    }

    /// Stops a torrent (announcing `stopped`, saving its resume data) and forgets it; its
    /// files stay. The handle's last status stays readable. `ValueError` if it was removed
    /// already or is of another session. Waits up to about 3 s for trackers to take the
    /// `stopped` announce; Ctrl-C raises `KeyboardInterrupt` at once (the torrent is removed
    /// all the same).
    fn remove(slf: &Bound<'_, Self>, torrent: &TorrentHandle) -> PyResult<()> {
        let session = slf.get().live()?;
        // On a thread of its own: Ctrl-C stops the wait for the `stopped` announce, not the
        // removal.
        let handle = torrent.inner.clone();
        on_own_thread(slf.py(), move || Ok(session.remove(&handle)?))
    }

    /// An iterator over the session's events, oldest first.
    ///
    /// Events wait in one queue from the session's start until an iterator takes them (each
    /// is yielded once, whichever iterator asks); past 4096 waiting, the oldest are dropped.
    /// Each step waits up to `timeout` seconds for the next event (`None`: no limit; 0: only
    /// what is waiting) and the iteration ends when none comes, or when the session closes.
    /// Waits release the GIL and wake every 100 ms for Ctrl-C.
    ///
    ///     for event in session.events(timeout=5):
    ///         if event.kind == "finished":
    ///             break
    #[pyo3(signature = (*, timeout = None))]
    fn events(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<EventIterator> {
        Ok(EventIterator {
            session: slf.clone().unbind(),
            timeout: optional_seconds(timeout, "timeout")?,
        })
    }

    /// Stops every torrent (announcing `stopped`, saving resume data) and the session's
    /// threads, with the GIL released. Calling it again does nothing. Afterwards `add`,
    /// `add_peers` and `remove` raise `ValueError`, as do `pause` and `resume` of its handles;
    /// `events` yields nothing; `listen_address`, `port` and `peer_id` still tell what they
    /// were. Ctrl-C raises `KeyboardInterrupt` at once; the session is closed all the same.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.close_now(py)
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
    ) -> PyResult<bool> {
        self.close_now(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = if self.is_closed() { "closed" } else { "open" };
        format!("<Session {} {state}>", self.listen)
    }
}

/// A torrent in a `Session`, from `Session.add()`. Usable from any thread; after its
/// removal or its session's end, its last status stays readable.
#[pyclass(frozen, module = "bittern", name = "TorrentHandle")]
pub(crate) struct TorrentHandle {
    inner: core::TorrentHandle,
}

#[pymethods]
impl TorrentHandle {
    /// SHA-1 of the torrent's `info` (20 bytes).
    #[getter]
    fn info_hash<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.info_hash().as_bytes())
    }

    #[getter]
    fn info_hash_hex(&self) -> String {
        self.inner.info_hash().to_hex()
    }

    /// The torrent's name: a magnet link's `dn` (else its info-hash in hex) until its
    /// metadata is in.
    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }

    /// The torrent's metainfo, to save as a `.torrent` file: None for a magnet link's until
    /// its metadata is in (state no longer `"fetching_metadata"`).
    fn torrent(&self) -> Option<Torrent> {
        self.inner
            .metainfo()
            .map(|meta| Torrent::of((*meta).clone()))
    }

    /// A snapshot now (refreshed every half second, and when a piece is verified).
    fn status(&self) -> TorrentStatus {
        TorrentStatus(self.inner.status())
    }

    /// Waits until every piece is verified, or `timeout` seconds pass (`None`: no limit);
    /// returns whether it finished. Returns `False` at once if the torrent was removed, its
    /// session closed, or a storage error stopped it (state `"error"`; `resume()` retries).
    /// The GIL is released; Ctrl-C raises `KeyboardInterrupt` within 0.1 s.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let timeout = optional_seconds(timeout, "timeout")?;
        let finished = in_slices(py, timeout, |slice| match self.inner.wait(slice) {
            WaitOutcome::Finished => Some(true),
            WaitOutcome::TimedOut => None,
            _ => Some(false),
        })?;
        Ok(finished.unwrap_or(false))
    }

    /// Waits until the check of the data on disk that follows an add is over (state
    /// `checking` no more: the torrent runs, or the check failed with state `error`), or
    /// `timeout` seconds pass; returns whether it is over. `False` at once if the torrent was
    /// removed or its session closed. The GIL is released; Ctrl-C raises `KeyboardInterrupt`
    /// within 0.1 s.
    #[pyo3(signature = (timeout = None))]
    fn wait_checked(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let timeout = optional_seconds(timeout, "timeout")?;
        let checked = in_slices(py, timeout, |slice| {
            let over = self.inner.wait_checked(slice);
            (over || self.inner.check().is_err()).then_some(over)
        })?;
        Ok(checked.unwrap_or(false))
    }

    /// Each tracker URL of the torrent with how it fares (tier order); empty when the
    /// torrent names no tracker.
    fn trackers(&self) -> Vec<TrackerStatus> {
        let taken = Instant::now();
        self.inner
            .trackers()
            .into_iter()
            .map(|t| TrackerStatus { inner: t, taken })
            .collect()
    }

    /// What is wrong with the torrent's trackers: `"no_tracker"` (it names none),
    /// `"unreachable"` (none works and at least one failed: `trackers()` says why), or
    /// None.
    fn tracker_trouble(&self) -> Option<&'static str> {
        self.inner.tracker_trouble().map(|t| match t {
            core::TrackerTrouble::NoTracker => "no_tracker",
            core::TrackerTrouble::Unreachable(_) => "unreachable",
        })
    }

    /// The storage error that stopped the torrent (state `"error"`), as the `StorageError` it
    /// is (not raised: with `errno` and `filename`), or None; None again once `resume()`d.
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .error()
            .map(|e| crate::errors::exception_of(py, &e))
            .transpose()
    }

    /// Stops exchanging data: drops every peer and makes no new connection until
    /// `resume()`. `ValueError` if removed or the session is closed.
    fn pause(&self) -> PyResult<()> {
        Ok(guard(|| self.inner.pause())?)
    }

    /// Undoes `pause()` (it connects again to the peers it had, and to those its trackers
    /// name), or tries again after a storage error stopped the torrent (state `"error"`): its
    /// files are opened and checked again (state `"checking"`), then it runs. `ValueError` if
    /// removed or the session is closed.
    fn resume(&self) -> PyResult<()> {
        Ok(guard(|| self.inner.resume())?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let s = self.inner.status();
        Ok(format!(
            "<TorrentHandle {} {} {} {}/{} pieces>",
            PyString::new(py, &self.name()).repr()?,
            self.inner.info_hash(),
            state_name(s.state),
            s.pieces_done,
            s.piece_count
        ))
    }
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Checking => "checking",
        State::Downloading => "downloading",
        State::Seeding => "seeding",
        State::Paused => "paused",
        State::Error => "error",
        State::FetchingMetadata => "fetching_metadata",
    }
}

/// One tracker of a torrent as its announcer last found it, from
/// `TorrentHandle.trackers()` (a snapshot).
#[pyclass(frozen, module = "bittern", name = "TrackerStatus")]
pub(crate) struct TrackerStatus {
    inner: core::TrackerStatus,
    /// When the snapshot was taken (`since` and `retry_in` count from it).
    taken: Instant,
}

#[pymethods]
impl TrackerStatus {
    #[getter]
    fn url(&self) -> &str {
        &self.inner.url
    }

    /// Its BEP 12 tier (0 for the first).
    #[getter]
    fn tier(&self) -> u32 {
        self.inner.tier
    }

    /// `"not_tried"`, `"working"` or `"failing"`.
    #[getter]
    fn state(&self) -> &'static str {
        match self.inner.state {
            core::TrackerState::NotTried => "not_tried",
            core::TrackerState::Working => "working",
            core::TrackerState::Failing => "failing",
        }
    }

    /// Peers its last reply named (0 until one came).
    #[getter]
    fn peers(&self) -> u32 {
        self.inner.peers
    }

    /// Seconds between announces its last reply asked for; None before one.
    #[getter]
    fn interval(&self) -> Option<f64> {
        self.inner.interval.map(|d| d.as_secs_f64())
    }

    /// Why its last announce failed, while `"failing"`; else None.
    #[getter]
    fn message(&self) -> Option<String> {
        self.inner.error.as_ref().map(|e| e.to_string())
    }

    /// Announces that failed in a row (0 once one is answered).
    #[getter]
    fn failures(&self) -> u32 {
        self.inner.failures
    }

    /// Seconds since it last answered or failed; None before it was asked.
    #[getter]
    fn since(&self) -> Option<f64> {
        self.inner
            .updated
            .map(|at| self.taken.saturating_duration_since(at).as_secs_f64())
    }

    /// Seconds until the trackers are asked again; None before the first announce.
    #[getter]
    fn retry_in(&self) -> Option<f64> {
        self.inner
            .next_announce
            .map(|at| at.saturating_duration_since(self.taken).as_secs_f64())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut text = format!(
            "TrackerStatus(url={}, tier={}, state='{}', peers={}",
            PyString::new(py, &self.inner.url).repr()?,
            self.inner.tier,
            self.state(),
            self.inner.peers
        );
        if let Some(message) = self.message() {
            text += &format!(", message={}", PyString::new(py, &message).repr()?);
        }
        Ok(text + ")")
    }
}

/// A snapshot of a torrent, from `TorrentHandle.status()`.
#[pyclass(frozen, eq, module = "bittern", name = "TorrentStatus")]
#[derive(PartialEq)]
pub(crate) struct TorrentStatus(Status);

#[pymethods]
impl TorrentStatus {
    /// `"checking"`, `"downloading"`, `"seeding"`, `"paused"` or `"error"`.
    #[getter]
    fn state(&self) -> &'static str {
        state_name(self.0.state)
    }

    /// Verified bytes over the total, from 0.0 to 1.0.
    #[getter]
    fn progress(&self) -> f64 {
        self.0.progress()
    }

    /// Whether every piece is verified.
    #[getter]
    fn finished(&self) -> bool {
        self.0.is_finished()
    }

    /// Pieces verified.
    #[getter]
    fn pieces_done(&self) -> u32 {
        self.0.pieces_done
    }

    #[getter]
    fn piece_count(&self) -> u32 {
        self.0.piece_count
    }

    /// Bytes of the verified pieces.
    #[getter]
    fn bytes_done(&self) -> u64 {
        self.0.bytes_done
    }

    #[getter]
    fn total_length(&self) -> u64 {
        self.0.total_length
    }

    /// Bytes per second, over the last few seconds.
    #[getter]
    fn download_rate(&self) -> u64 {
        self.0.download_rate
    }

    /// Bytes per second, over the last few seconds.
    #[getter]
    fn upload_rate(&self) -> u64 {
        self.0.upload_rate
    }

    /// Payload bytes sent since the torrent was added.
    #[getter]
    fn uploaded(&self) -> u64 {
        self.0.uploaded
    }

    /// Payload bytes received since the torrent was added.
    #[getter]
    fn downloaded(&self) -> u64 {
        self.0.downloaded
    }

    /// Peers connected now (one connected both ways counts once).
    #[getter]
    fn peers(&self) -> u32 {
        self.0.peers
    }

    /// Pieces looked at by the check of the data on disk (state `checking`, which follows
    /// an add); `piece_count` once it is done.
    #[getter]
    fn pieces_checked(&self) -> u32 {
        self.0.pieces_checked
    }

    /// Pieces the check found on disk when the torrent started (the download resumed from
    /// them); 0 while checking.
    #[getter]
    fn pieces_found(&self) -> u32 {
        self.0.pieces_found
    }

    /// Peer connections ended so far, by reason (every reason, zeros included): the peer
    /// closed it (`closed_by_peer`), it went quiet (`idle`), the socket failed (`io`), it sent
    /// what is not the protocol (`malformed`) or broke a rule (`rule_broken`), it was banned
    /// for bad data (`banned`), a connection limit (`limit`), it stopped reading
    /// (`slow_reader`), both sides are seeds (`both_seeding`), the torrent was paused
    /// (`paused`) or stopped (`stopped`), a second connection with one peer (`duplicate`).
    #[getter]
    fn disconnects(&self) -> std::collections::BTreeMap<&'static str, u32> {
        self.0
            .disconnects
            .iter()
            .map(|(r, n)| (r.name(), n))
            .collect()
    }

    /// Seconds to completion at the current rate; 0 when finished, `None` when it cannot
    /// be told (nothing is coming in).
    #[getter]
    fn eta(&self) -> Option<u64> {
        self.0.eta()
    }

    fn __repr__(&self) -> String {
        let s = &self.0;
        let eta = s.eta().map_or("None".to_owned(), |e| e.to_string());
        format!(
            "TorrentStatus(state='{}', progress={:.3}, pieces_done={}, piece_count={}, \
             bytes_done={}, total_length={}, download_rate={}, upload_rate={}, uploaded={}, \
             downloaded={}, peers={}, eta={eta})",
            state_name(s.state),
            self.progress(),
            s.pieces_done,
            s.piece_count,
            s.bytes_done,
            s.total_length,
            s.download_rate,
            s.upload_rate,
            s.uploaded,
            s.downloaded,
            s.peers
        )
    }
}

// The defaults in `Session`'s signature are core's.
const _: () = {
    type C = SessionConfig;
    assert!(C::DEFAULT_MAX_CONNECTIONS == 200);
    assert!(C::DEFAULT_MAX_PEERS_PER_TORRENT == 50);
    assert!(C::DEFAULT_MAX_PEERS_PER_IP == 4);
    assert!(C::DEFAULT_UNCHOKE_SLOTS == 4);
    assert!(C::DEFAULT_HANDSHAKE_TIMEOUT.as_millis() == 10_000);
    assert!(C::DEFAULT_IDLE_TIMEOUT.as_millis() == 120_000);
};
