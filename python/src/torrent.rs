//! `Torrent` and `File`: read-only views of a core [`Metainfo`].

use crate::announce::{self, AnnounceArgs, AnnounceResult, ScrapeResult};
use crate::args::on_own_thread;
use crate::convert::{Opt, Tiers, Timestamp};
use crate::errors::{guard, Failure};
use bittern_core::metainfo::{self, CreateOptions, FileEntry, Metainfo};
use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

/// A `.torrent` file (BEP 3 metainfo). Immutable: `replace()` makes an edited copy.
///
/// Loading is tolerant of non-canonical bencode (reported in `warnings`); the info-hash is
/// SHA-1 over the exact `info` bytes of the file, and unknown keys are kept.
#[pyclass(frozen, eq, hash, module = "bittern", name = "Torrent")]
pub(crate) struct Torrent(Metainfo);

impl PartialEq for Torrent {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes() == other.0.as_bytes()
    }
}

impl Hash for Torrent {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal bytes have equal info-hashes: consistent with `eq`.
        self.0.info_hash().hash(state);
    }
}

impl Torrent {
    pub(crate) fn of(meta: Metainfo) -> Torrent {
        Torrent(meta)
    }

    /// The core value, for other classes of this crate.
    pub(crate) fn metainfo(&self) -> &Metainfo {
        &self.0
    }
}

#[pymethods]
impl Torrent {
    /// Loads a `.torrent` file. Raises `StorageError`, `BencodeError` or `MetainfoError`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        // On a thread of its own: a FIFO would block the read beyond Ctrl-C.
        Ok(Torrent(on_own_thread(py, move || {
            Ok(Metainfo::load(&path)?)
        })?))
    }

    /// Loads a torrent from its bytes. Raises `BencodeError` or `MetainfoError`.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Cow<'_, [u8]>) -> PyResult<Self> {
        let data: &[u8] = &data;
        Ok(Torrent(py.detach(|| guard(|| Metainfo::from_bytes(data)))?))
    }

    /// Creates a torrent from a file (single-file torrent) or a folder (multi-file).
    ///
    /// `announce` is a URL, or a sequence whose items are each a URL (a tier of its own) or a
    /// sequence of URLs (one tier, BEP 12). `piece_length` must be a power of two from 16 KiB
    /// to 256 MiB; by default it is chosen from the size. `created_by` defaults to
    /// `"bittern <version>"` and `creation_date` to now; `None` leaves either out (use
    /// `creation_date=None` for reproducible bytes); their `...` defaults are deliberate, as
    /// `None` means "left out". `url_list` is BEP 19 web seeds (`None`: none). `threads=0`
    /// hashes on every core.
    ///
    /// A folder's files are ordered by their relative path's bytes (as mktorrent orders
    /// them). Hidden entries (names starting with `.`) are left out unless `include_hidden`;
    /// symbolic links are followed (a loop or a broken link is an error); sockets, FIFOs and
    /// devices are left out; empty folders leave no trace.
    ///
    /// Hashing runs with the GIL released. `progress(bytes_done, bytes_total)` is called on
    /// the calling thread about every 100 ms and once at the end; an exception it raises
    /// (or a `KeyboardInterrupt`) cancels creation and propagates as it is.
    #[staticmethod]
    #[pyo3(signature = (
        path, *, announce = None, piece_length = None, name = None, comment = None,
        created_by = Opt::Unset, creation_date = Opt::Unset, private = false,
        url_list = None, include_hidden = false, threads = 0, progress = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        announce: Option<Tiers>,
        piece_length: Option<u64>,
        name: Option<String>,
        comment: Option<String>,
        created_by: Opt<String>,
        creation_date: Opt<Timestamp>,
        private: bool,
        url_list: Option<Vec<String>>,
        include_hidden: bool,
        threads: usize,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        if let Some(callback) = &progress {
            if !callback.bind(py).is_callable() {
                return Err(PyTypeError::new_err("progress must be callable"));
            }
        }
        let defaults = CreateOptions::default();
        let options = CreateOptions {
            trackers: announce.map(|t| t.0).unwrap_or_default(),
            piece_length,
            name,
            comment,
            created_by: created_by.or(defaults.created_by),
            creation_date: creation_date
                .or(defaults.creation_date.map(Timestamp))
                .map(|t| t.0),
            private,
            url_list: url_list.unwrap_or_default(),
            include_hidden,
            threads,
        };
        // Called on this thread about every 100 ms: attach, let Ctrl-C raise, report. An
        // exception cancels the work and is raised as it is.
        let mut raised = None;
        let on_progress = |p: metainfo::Progress| {
            Python::attach(|py| -> PyResult<()> {
                py.check_signals()?;
                if let Some(callback) = &progress {
                    callback.call1(py, (p.bytes_done, p.bytes_total))?;
                }
                Ok(())
            })
            .map_err(|e| raised = Some(e))
            .is_ok()
        };
        let created = py.detach(|| guard(|| metainfo::create(&path, &options, on_progress)));
        match raised {
            Some(e) => Err(e),
            None => Ok(Torrent(created?)),
        }
    }

    /// Writes the torrent to `path` through a temporary file and a rename.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        Ok(py.detach(|| guard(|| self.0.save(&path)))?)
    }

    /// The torrent's bytes, as they would be saved.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.as_bytes())
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.to_bytes(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let info = self.0.info();
        Ok(format!(
            "Torrent(name={}, info_hash='{}', total_length={}, files={})",
            PyString::new(py, &info.name()).repr()?,
            self.0.info_hash(),
            info.total_length(),
            info.files().len()
        ))
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let from_bytes = py.get_type::<Torrent>().getattr("from_bytes")?;
        Ok((from_bytes, (slf.get().to_bytes(py),)))
    }

    /// A copy with the given outer fields changed (`None` removes a field, an argument left
    /// out keeps it). The `info` bytes, and so the info-hash, stay the same. The `...` defaults
    /// are deliberate: they mean "left out", which `None` cannot.
    #[pyo3(signature = (
        *, announce = Opt::Unset, announce_list = Opt::Unset, comment = Opt::Unset,
        created_by = Opt::Unset, creation_date = Opt::Unset, url_list = Opt::Unset,
    ))]
    fn replace(
        &self,
        announce: Opt<String>,
        announce_list: Opt<Tiers>,
        comment: Opt<String>,
        created_by: Opt<String>,
        creation_date: Opt<Timestamp>,
        url_list: Opt<Vec<String>>,
    ) -> PyResult<Self> {
        let mut meta = self.0.clone();
        guard(|| {
            if let Opt::Set(url) = announce {
                meta.set_announce(url.as_deref());
            }
            if let Opt::Set(tiers) = announce_list {
                meta.set_announce_list(tiers.map(|t| t.0).unwrap_or_default());
            }
            if let Opt::Set(text) = comment {
                meta.set_comment(text.as_deref());
            }
            if let Opt::Set(text) = created_by {
                meta.set_created_by(text.as_deref());
            }
            if let Opt::Set(date) = creation_date {
                meta.set_creation_date(date.map(|d| d.0));
            }
            if let Opt::Set(urls) = url_list {
                meta.set_url_list(urls.unwrap_or_default());
            }
            Ok::<_, Failure>(())
        })?;
        Ok(Torrent(meta))
    }

    /// The suggested name (file or top folder), invalid UTF-8 replaced.
    #[getter]
    fn name(&self) -> String {
        self.0.info().name()
    }

    #[getter]
    fn name_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.info().name_bytes())
    }

    /// SHA-1 of the exact `info` bytes (20 bytes).
    #[getter]
    fn info_hash<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.info_hash().as_bytes())
    }

    /// The info-hash as 40 lowercase hex digits.
    #[getter]
    fn info_hash_hex(&self) -> String {
        self.0.info_hash().to_hex()
    }

    /// The exact bytes of the encoded `info` value.
    #[getter]
    fn info_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.info_bytes())
    }

    #[getter]
    fn piece_length(&self) -> u64 {
        self.0.info().piece_length()
    }

    #[getter]
    fn piece_count(&self) -> usize {
        self.0.info().piece_count()
    }

    /// Every piece's SHA-1, 20 bytes each, concatenated.
    #[getter]
    fn pieces<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.info().pieces())
    }

    /// The SHA-1 of piece `index` (negative counts from the end); `IndexError` if none.
    fn piece_hash<'py>(&self, py: Python<'py>, index: isize) -> PyResult<Bound<'py, PyBytes>> {
        let info = self.0.info();
        let count = info.piece_count() as isize;
        let at = if index < 0 { index + count } else { index };
        (0..count)
            .contains(&at)
            .then(|| info.piece_hash(at as usize))
            .flatten()
            .map(|hash| PyBytes::new(py, hash))
            .ok_or_else(|| PyIndexError::new_err("piece index out of range"))
    }

    #[getter]
    fn total_length(&self) -> u64 {
        self.0.info().total_length()
    }

    #[getter]
    fn files(&self) -> Vec<File> {
        self.0.info().files().iter().cloned().map(File).collect()
    }

    #[getter]
    fn is_multi_file(&self) -> bool {
        self.0.info().is_multi_file()
    }

    #[getter]
    fn private(&self) -> bool {
        self.0.info().is_private()
    }

    #[getter]
    fn announce(&self) -> Option<&str> {
        self.0.announce()
    }

    #[getter]
    fn announce_list(&self) -> Vec<Vec<String>> {
        self.0.announce_list().to_vec()
    }

    /// Every tracker URL: `announce-list` tiers first, then `announce` if not among them.
    #[getter]
    fn trackers(&self) -> Vec<&str> {
        self.0.trackers()
    }

    /// What keeps peers from finding each other through the trackers, one line each: no
    /// tracker at all, or URLs that are not http, https or udp with a host. Empty when every
    /// tracker URL can work (`bittern create` warns with these).
    fn tracker_problems(&self) -> Vec<String> {
        self.0
            .tracker_problems()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[getter]
    fn comment(&self) -> Option<&str> {
        self.0.comment()
    }

    #[getter]
    fn created_by(&self) -> Option<&str> {
        self.0.created_by()
    }

    /// Seconds since the Unix epoch.
    #[getter]
    fn creation_date(&self) -> Option<i64> {
        self.0.creation_date()
    }

    /// BEP 19 web seeds.
    #[getter]
    fn url_list(&self) -> Vec<String> {
        self.0.url_list().to_vec()
    }

    /// The torrent's magnet link (BEP 9): its info-hash, name, trackers (a tier each) and web
    /// seeds; `Magnet.parse()` reads it back.
    fn magnet(&self) -> String {
        self.0.magnet().to_string()
    }

    /// What loading accepted that was not canonical, or ignored.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.0.warnings().iter().map(ToString::to_string).collect()
    }

    /// Announces this torrent to its trackers and returns the first answer.
    ///
    /// (Named so because `announce` is the torrent's announce URL.) The trackers are the
    /// `announce-list` tiers if there are any, else `announce` (BEP 12): tiers in order, each
    /// shuffled, the next URL tried when one fails or refuses. `left` defaults to
    /// `total_length` (nothing downloaded yet); the other options are as in `bittern.announce`.
    /// Raises `TrackerError` with the last tracker's error if none answers (also when the
    /// torrent names no tracker).
    #[pyo3(signature = (
        *, peer_id = None, port = 6881, uploaded = 0, downloaded = 0, left = None,
        event = None, numwant = None, timeout = 15.0,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn announce_to_trackers(
        &self,
        py: Python<'_>,
        peer_id: Option<Cow<'_, [u8]>>,
        port: u16,
        uploaded: u64,
        downloaded: u64,
        left: Option<u64>,
        event: Option<&str>,
        numwant: Option<u32>,
        timeout: f64,
    ) -> PyResult<AnnounceResult> {
        let args = AnnounceArgs {
            peer_id,
            port,
            uploaded,
            downloaded,
            left: left.unwrap_or_else(|| self.0.info().total_length()),
            event,
            numwant,
        };
        announce::announce_torrent(py, &self.0, &args, timeout)
    }

    /// This torrent's counts (BEP 48) from the first of its trackers that answers a scrape,
    /// in the order of `announce_to_trackers`; `None` if that tracker does not know the torrent.
    /// Raises `TrackerError` if none answers. Waits and Ctrl-C as in `bittern.announce`.
    #[pyo3(signature = (*, timeout = 15.0))]
    fn scrape(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<ScrapeResult>> {
        announce::scrape_torrent(py, &self.0, timeout)
    }
}

/// One file of a torrent.
#[pyclass(frozen, eq, hash, module = "bittern", name = "File")]
#[derive(PartialEq)]
pub(crate) struct File(FileEntry);

impl Hash for File {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0.path(), self.0.length(), self.0.offset()).hash(state);
    }
}

#[pymethods]
impl File {
    /// The path relative to the download folder, components joined by `/`, invalid UTF-8
    /// replaced. A multi-file torrent's paths start with the torrent's name.
    #[getter]
    fn path(&self) -> String {
        self.0.path_lossy()
    }

    /// The path's components as raw bytes.
    #[getter]
    fn path_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let parts: Vec<_> = self.0.components().map(|c| PyBytes::new(py, c)).collect();
        PyTuple::new(py, parts)
    }

    #[getter]
    fn length(&self) -> u64 {
        self.0.length()
    }

    /// Where the file starts in the torrent's concatenated data.
    #[getter]
    fn offset(&self) -> u64 {
        self.0.offset()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "File(path={}, length={}, offset={})",
            PyString::new(py, &self.0.path_lossy()).repr()?,
            self.0.length(),
            self.0.offset()
        ))
    }
}
