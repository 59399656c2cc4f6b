//! `bittern_log_level` and `bittern_log_set_level`: the engine's diagnostics on stderr, off by
//! default (core's `log` module).

use crate::{bittern_result, guard, Failure};
use bittern_core::log::{self, Level};

/// How much of the engine's diagnostics `bittern_log_set_level` shows: each level includes the
/// ones before it. The numbers are part of the ABI and never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bittern_log_level {
    /// Nothing (the default).
    Off = 0,
    /// Failures only.
    Error = 1,
    /// Failures, and what went wrong but was recovered from.
    Warn = 2,
    /// Milestones (a tracker started or stopped).
    Info = 3,
    /// What each step did (announces and their answers).
    Debug = 4,
    /// Everything.
    Trace = 5,
}

crate::enum_arg::enum_arg!(bittern_log_level_arg => bittern_log_level [Off, Error, Warn, Info, Debug, Trace]);

/// Shows the library's diagnostics of `level` and above on stderr, one line each, or none with
/// `BITTERN_LOG_LEVEL_OFF` (the default). It can be switched on, changed and off again any
/// number of times; setting what is already set does nothing. A `level` that is none of the
/// `bittern_log_level` values gives `BITTERN_RESULT_INVALID_ARGUMENT`.
///
/// Returns `BITTERN_RESULT_INVALID_ARGUMENT` when a level is asked for but the library's
/// diagnostics already go to another `tracing` subscriber (one installed by Rust code linked
/// into the same library); nothing changes then. `BITTERN_LOG_LEVEL_OFF` then succeeds and does
/// nothing.
///
/// Thread safety: may be called from any thread; the setting is process-wide.
#[no_mangle]
pub extern "C" fn bittern_log_set_level(level: bittern_log_level_arg) -> bittern_result {
    guard(|| {
        let level = match level.value("level")? {
            bittern_log_level::Off => None,
            bittern_log_level::Error => Some(Level::Error),
            bittern_log_level::Warn => Some(Level::Warn),
            bittern_log_level::Info => Some(Level::Info),
            bittern_log_level::Debug => Some(Level::Debug),
            bittern_log_level::Trace => Some(Level::Trace),
        };
        log::set_level(level).map_err(Failure::from)
    })
}
