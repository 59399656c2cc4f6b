//! What every Python call shares: arguments turned into Rust values, and blocking core calls
//! run with the GIL released and Ctrl-C honoured.
//!
//! Conversions only: whether a value can work (a limit of 0, a zero timeout) is core's to say.

use crate::errors::{guard, Failure};
use bittern_core::cancel::Cancel;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a blocking wait in Python wakes to check for Ctrl-C.
pub(crate) const WAKE: Duration = bittern_core::cancel::POLL;

/// The longest timeout taken, in seconds: 2^64 - 1 milliseconds, the most the C interface
/// takes (half a billion years). Longer ones (up to `Duration::MAX`) would overflow a deadline.
const MAX_SECONDS: f64 = u64::MAX as f64 / 1000.0;

/// Seconds as a `Duration`, or `ValueError` naming the argument (negative, NaN, too large).
pub(crate) fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|_| value <= MAX_SECONDS)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "{name} must be a number of seconds from 0 to {MAX_SECONDS:e}, not {value}"
            ))
        })
}

/// [`seconds`] for an optional value (`None`: no limit).
pub(crate) fn optional_seconds(value: Option<f64>, name: &str) -> PyResult<Option<Duration>> {
    value.map(|v| seconds(v, name)).transpose()
}

/// `"host:port"` (an IP address, `[v6]:port`, or a name to resolve, with the GIL released) as
/// a socket address; `ValueError` naming the argument `name`, with `example`, if it is not one.
pub(crate) fn parse_addr(
    py: Python<'_>,
    text: &str,
    name: &str,
    example: &str,
) -> PyResult<SocketAddr> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let resolved = py.detach(|| text.to_socket_addrs().map(|mut a| a.next()));
    match resolved {
        Ok(Some(addr)) => Ok(addr),
        _ => Err(PyValueError::new_err(format!(
            "{name} must be 'host:port' (e.g. '{example}'), not {text:?}"
        ))),
    }
}

/// Runs a blocking core call with the GIL released. The call's [`Cancel`] looks for signals
/// on this thread every [`WAKE`], so Ctrl-C stops it and raises `KeyboardInterrupt`.
pub(crate) fn interruptibly<T: Send, E: Into<Failure> + Send>(
    py: Python<'_>,
    work: impl FnOnce(Cancel<'_>) -> Result<T, E> + Send,
) -> PyResult<T> {
    let interrupt: Mutex<Option<PyErr>> = Mutex::new(None);
    let go_on = || {
        Python::attach(|py| match py.check_signals() {
            Ok(()) => true,
            Err(e) => {
                *interrupt.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                false
            }
        })
    };
    let result = py.detach(|| guard(|| work(Cancel::when(&go_on))));
    if let Some(e) = interrupt.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(result?)
}

/// Runs `work` (a file read or write) on a thread of its own while this one waits with the GIL
/// released, checking for signals every [`WAKE`]: Ctrl-C raises `KeyboardInterrupt` even while
/// `work` is stuck in a system call that never returns (opening a FIFO nobody writes to), which
/// Rust retries on `EINTR`. The abandoned thread ends when its call does, or with the process.
pub(crate) fn on_own_thread<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> PyResult<T> {
    use std::sync::mpsc::{sync_channel, RecvTimeoutError};
    let (tx, rx) = sync_channel(1);
    std::thread::Builder::new()
        .name("bittern-file".into())
        .spawn(move || {
            let _ = tx.send(guard(work));
        })
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot start a thread: {e}")))?;
    let rx = Mutex::new(rx);
    loop {
        let answer = py.detach(|| {
            rx.lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv_timeout(WAKE)
        });
        match answer {
            Ok(result) => return Ok(result?),
            Err(RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "bittern: a file thread ended without an answer",
                ))
            }
        }
    }
}

/// Waits in slices of at most [`WAKE`] with the GIL released, checking for signals between
/// them (Ctrl-C raises `KeyboardInterrupt`), until `wait(slice)` gives an answer, or `timeout`
/// passes (`None`: no limit), which gives `None`.
pub(crate) fn in_slices<T: Send>(
    py: Python<'_>,
    timeout: Option<Duration>,
    wait: impl Fn(Duration) -> Option<T> + Sync,
) -> PyResult<Option<T>> {
    // A deadline past what an `Instant` can hold is no deadline.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let slice = deadline.map_or(WAKE, |d| {
            d.saturating_duration_since(Instant::now()).min(WAKE)
        });
        if let Some(answer) = py.detach(|| wait(slice)) {
            return Ok(Some(answer));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        py.check_signals()?;
    }
}
