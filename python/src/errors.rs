//! bittern's exception classes and the one place core errors become Python exceptions.
//!
//! The classes are made once, at module init, by calling `type(name, bases, namespace)`, so
//! each can have two bases (`BencodeError(Error, ValueError)`): code that catches `ValueError`
//! or `OSError` keeps working, and `except bittern.Error` catches everything bittern raises.

use bittern_core::bencode::BencodeError;
use bittern_core::metainfo::MetainfoError;
use bittern_core::tracker::TrackerError;
use bittern_core::{Error as CoreError, ErrorKind};
use pyo3::exceptions::{PyConnectionError, PyException, PyOSError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// bittern's exception classes.
struct Exceptions {
    error: Py<PyType>,
    bencode: Py<PyType>,
    metainfo: Py<PyType>,
    storage: Py<PyType>,
    cancelled: Py<PyType>,
    timeout: Py<PyType>,
    tracker: Py<PyType>,
    tracker_timeout: Py<PyType>,
    network: Py<PyType>,
}

static EXCEPTIONS: PyOnceLock<Exceptions> = PyOnceLock::new();

fn exceptions(py: Python<'_>) -> PyResult<&'static Exceptions> {
    EXCEPTIONS.get_or_try_init(py, || {
        let make = |name: &str, doc: &str, bases: &[Bound<'_, PyType>]| -> PyResult<Py<PyType>> {
            let namespace = PyDict::new(py);
            namespace.set_item("__module__", "bittern")?;
            namespace.set_item("__doc__", doc)?;
            let bases = PyTuple::new(py, bases)?;
            let class = py.get_type::<PyType>().call1((name, bases, namespace))?;
            Ok(class.cast_into::<PyType>()?.unbind())
        };
        let error = make(
            "Error",
            "Base class of every exception bittern raises.",
            &[py.get_type::<PyException>()],
        )?;
        let base = error.bind(py).clone();
        let with = |other| [base.clone(), other];
        let timeout = make(
            "TimeoutError",
            "Something did not happen within its deadline.",
            &with(py.get_type::<PyTimeoutError>()),
        )?;
        let tracker = make(
            "TrackerError",
            "A tracker could not be reached, did not answer in time, answered nonsense, or refused \
             (its `failure reason` is in the message).",
            &with(py.get_type::<PyConnectionError>()),
        )?;
        let tracker_timeout = make(
            "TrackerTimeoutError",
            "A tracker did not answer in time: caught by `except TrackerError` and by \
             `except TimeoutError` alike.",
            &[tracker.bind(py).clone(), timeout.bind(py).clone()],
        )?;
        Ok(Exceptions {
            bencode: make(
                "BencodeError",
                "Malformed or (in strict mode) non-canonical bencode. `offset` is the byte offset \
                 of the first byte at fault.",
                &with(py.get_type::<PyValueError>()),
            )?,
            metainfo: make(
                "MetainfoError",
                "A torrent that is invalid, or that cannot be made as asked.",
                &with(py.get_type::<PyValueError>()),
            )?,
            storage: {
                let storage = make(
                    "StorageError",
                    "Reading or writing a file failed (`errno`, `strerror` and `filename` set when \
                     known), or a `Tracker` could not start (its address taken, its folder \
                     unreadable).",
                    &with(py.get_type::<PyOSError>()),
                )?;
                // The message says what was done to which file; OSError's own `str` would
                // rebuild one from `errno` and `filename` alone.
                let text = py.eval(
                    c"lambda self: str(self.args[0]) if len(self.args) == 1 else OSError.__str__(self)",
                    None,
                    None,
                )?;
                storage.bind(py).setattr("__str__", text)?;
                storage
            },
            cancelled: make(
                "CancelledError",
                "The work was cancelled.",
                std::slice::from_ref(&base),
            )?,
            timeout,
            tracker,
            tracker_timeout,
            network: make(
                "NetworkError",
                "A peer connection failed, or a `.torrent` could not be fetched from its URL (the \
                 server cannot be reached, or answers with an HTTP error).",
                &with(py.get_type::<PyConnectionError>()),
            )?,
            error,
        })
    })
}

/// Makes the exception classes and adds them to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let e = exceptions(m.py())?;
    for class in [
        &e.error,
        &e.bencode,
        &e.metainfo,
        &e.storage,
        &e.cancelled,
        &e.timeout,
        &e.tracker,
        &e.tracker_timeout,
        &e.network,
    ] {
        let class = class.bind(m.py());
        m.add(class.name()?, class)?;
    }
    Ok(())
}

/// Why a call failed, before it becomes a Python exception (so it can cross a released GIL).
pub(crate) enum Failure {
    Core(CoreError),
    Python(PyErr),
    /// A Rust panic, caught: a bug in bittern, raised as `bittern.Error`.
    Panic(String),
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        Failure::Core(e)
    }
}

impl From<BencodeError> for Failure {
    fn from(e: BencodeError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<MetainfoError> for Failure {
    fn from(e: MetainfoError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<bittern_core::session::SessionError> for Failure {
    fn from(e: bittern_core::session::SessionError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<TrackerError> for Failure {
    fn from(e: TrackerError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

/// Runs `f`, catching a panic so that it never reaches Python as a `PanicException`.
pub(crate) fn guard<T, E: Into<Failure>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(Into::into),
        Err(payload) => Err(Failure::Panic(
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into()),
        )),
    }
}

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> PyErr {
        Python::attach(|py| to_pyerr(py, failure).unwrap_or_else(|e| e))
    }
}

/// The one mapping from a failure to a Python exception (see DESIGN.md, "Errors").
fn to_pyerr(py: Python<'_>, failure: Failure) -> PyResult<PyErr> {
    let classes = exceptions(py)?;
    let e = match failure {
        Failure::Python(e) => return Ok(e),
        Failure::Panic(message) => {
            let message = format!("internal error (please report it): {message}");
            return Ok(PyErr::from_value(classes.error.bind(py).call1((message,))?));
        }
        Failure::Core(e) => e,
    };
    Ok(PyErr::from_value(exception_of(py, &e)?))
}

/// The Python exception for a core error, not raised: what `to_pyerr` raises, and what an
/// event's `error` holds.
pub(crate) fn exception_of<'py>(py: Python<'py>, e: &CoreError) -> PyResult<Bound<'py, PyAny>> {
    let classes = exceptions(py)?;
    let message = e.to_string();
    let exception = match e.kind() {
        ErrorKind::Bencode => {
            let exception = classes.bencode.bind(py).call1((message,))?;
            exception.setattr("offset", e.offset().unwrap_or(0))?;
            exception
        }
        ErrorKind::Metainfo => classes.metainfo.bind(py).call1((message,))?,
        ErrorKind::Io => {
            // The whole message (what was being done, to which file) is the text; `errno`,
            // `strerror` and `filename` are set as OSError's own form would set them.
            let exception = classes.storage.bind(py).call1((&message,))?;
            if let Some(os) = e.os_error() {
                if let Some(errno) = os.raw_os_error() {
                    let text = os.to_string();
                    let suffix = format!(" (os error {errno})");
                    exception.setattr("errno", errno)?;
                    exception.setattr("strerror", text.strip_suffix(&suffix).unwrap_or(&text))?;
                }
            }
            if let Some(path) = e.path() {
                exception.setattr("filename", path.as_os_str())?;
            }
            exception
        }
        ErrorKind::Cancelled => classes.cancelled.bind(py).call1((message,))?,
        ErrorKind::Timeout if matches!(e, CoreError::Tracker(_)) => {
            classes.tracker_timeout.bind(py).call1((message,))?
        }
        ErrorKind::Timeout => classes.timeout.bind(py).call1((message,))?,
        ErrorKind::Tracker => classes.tracker.bind(py).call1((message,))?,
        ErrorKind::InvalidArgument => py.get_type::<PyValueError>().call1((message,))?,
        ErrorKind::Network => classes.network.bind(py).call1((message,))?,
        _ => classes.error.bind(py).call1((message,))?,
    };
    Ok(exception)
}
