//! `Event`: what a session's torrents report, read through an `EventIterator` that waits with
//! the GIL released and wakes for Ctrl-C.

use crate::args::in_slices;
use crate::errors::exception_of;
use crate::session::Session;
use bittern_core::metainfo::InfoHash;
use bittern_core::session::{self as core, EventKind};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::sync::Arc;
use std::time::Duration;

/// Something that happened to a torrent of a session, from `Session.events()`.
#[pyclass(frozen, eq, module = "bittern", name = "Event")]
pub(crate) struct Event {
    info_hash: InfoHash,
    /// What happened: a piece passed (`piece_verified`) or failed (`hash_failed`) its hash
    /// check; every piece is verified (`finished`, also when added complete); a tracker
    /// answered (`tracker_reply`) or could not be reached or refused (`tracker_error`); an
    /// address was banned for sending bad data (`peer_banned`); a file could not be read or
    /// written (`storage_error`).
    #[pyo3(get)]
    kind: &'static str,
    /// The piece, for `piece_verified` and `hash_failed`.
    #[pyo3(get)]
    piece: Option<u32>,
    /// The tracker, for `tracker_reply` and `tracker_error`.
    #[pyo3(get)]
    url: Option<String>,
    /// How many peers the tracker named, for `tracker_reply`.
    #[pyo3(get)]
    peers: Option<u32>,
    /// The address banned, for `peer_banned`.
    #[pyo3(get)]
    ip: Option<String>,
    /// What went wrong, for `tracker_error` and `storage_error`.
    #[pyo3(get)]
    message: Option<String>,
    /// The failure itself, for `tracker_error` and `storage_error` (see `Event.error`).
    error: Option<Arc<bittern_core::Error>>,
}

/// Events are equal when they say the same (an error by its text).
impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (
            self.info_hash,
            self.kind,
            self.piece,
            &self.url,
            self.peers,
            &self.ip,
            &self.message,
        ) == (
            other.info_hash,
            other.kind,
            other.piece,
            &other.url,
            other.peers,
            &other.ip,
            &other.message,
        )
    }
}

impl From<core::Event> for Event {
    fn from(e: core::Event) -> Self {
        let mut event = Event {
            info_hash: e.info_hash,
            kind: "",
            piece: None,
            url: None,
            peers: None,
            ip: None,
            message: None,
            error: None,
        };
        match e.kind {
            EventKind::PieceVerified(piece) => {
                event.kind = "piece_verified";
                event.piece = Some(piece);
            }
            EventKind::HashFailed(piece) => {
                event.kind = "hash_failed";
                event.piece = Some(piece);
            }
            EventKind::Finished => event.kind = "finished",
            EventKind::TrackerReply { url, peers } => {
                event.kind = "tracker_reply";
                event.url = Some(url);
                event.peers = Some(peers);
            }
            EventKind::TrackerError { url, error } => {
                event.kind = "tracker_error";
                event.url = Some(url);
                event.message = Some(error.to_string());
                event.error = Some(error);
            }
            EventKind::PeerBanned(ip) => {
                event.kind = "peer_banned";
                event.ip = Some(ip.to_string());
            }
            EventKind::FetchingMetadata => event.kind = "fetching_metadata",
            EventKind::MetadataReceived => event.kind = "metadata_received",
            EventKind::StorageError(error) => {
                event.kind = "storage_error";
                event.message = Some(error.to_string());
                event.error = Some(error);
            }
            other => {
                event.kind = "other";
                event.message = Some(format!("{other:?}"));
            }
        }
        event
    }
}

#[pymethods]
impl Event {
    /// The torrent's info-hash (20 bytes).
    #[getter]
    fn info_hash<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.info_hash.as_bytes())
    }

    #[getter]
    fn info_hash_hex(&self) -> String {
        self.info_hash.to_hex()
    }

    /// For `tracker_error` and `storage_error`: the failure as the exception it is, not
    /// raised (a `StorageError` with `errno` and `filename`, a `TrackerError`, ...).
    #[getter]
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.error.as_ref().map(|e| exception_of(py, e)).transpose()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut text = format!("Event(kind='{}', info_hash='{}'", self.kind, self.info_hash);
        if let Some(piece) = self.piece {
            text += &format!(", piece={piece}");
        }
        if let Some(url) = &self.url {
            text += &format!(", url={}", PyString::new(py, url).repr()?);
        }
        if let Some(peers) = self.peers {
            text += &format!(", peers={peers}");
        }
        if let Some(ip) = &self.ip {
            text += &format!(", ip='{ip}'");
        }
        if let Some(message) = &self.message {
            text += &format!(", message={}", PyString::new(py, message).repr()?);
        }
        Ok(text + ")")
    }
}

/// The events of a session, from `Session.events()`.
#[pyclass(frozen, module = "bittern", name = "EventIterator")]
pub(crate) struct EventIterator {
    pub(crate) session: Py<Session>,
    pub(crate) timeout: Option<Duration>,
}

#[pymethods]
impl EventIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next event; ends when `timeout` passes without one, or when the session closes.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        let session = self.session.get();
        let event = in_slices(py, self.timeout, |slice| {
            // The clone keeps the runtime up while receiving; it is dropped here too, with the
            // GIL released, in case it is the last one (then its drop stops the session).
            let Some(live) = session.slot().clone() else {
                return Some(None); // closed: the iteration ends
            };
            let event = session
                .events
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv_timeout(slice);
            drop(live);
            event.map(Some)
        })?;
        Ok(event.flatten().map(Event::from))
    }
}
