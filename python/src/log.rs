//! `set_log_level`: the engine's diagnostics on stderr, off by default (core's `log` module).

use crate::errors::guard;
use bittern_core::log::{set_level, Level};
use bittern_core::Error as CoreError;
use pyo3::prelude::*;

/// Shows bittern's diagnostics of `level` (`"error"`, `"warn"`, `"info"`, `"debug"` or
/// `"trace"`, any case) and above on stderr, or none with `None` or `"off"` (the default).
///
/// Process-wide; it can be switched on, changed and off again any number of times. The lines
/// go to the process's stderr (file descriptor 2) directly, not through `sys.stderr`. Raises
/// `ValueError` for an unknown name.
#[pyfunction]
pub(crate) fn set_log_level(level: Option<&str>) -> PyResult<()> {
    Ok(guard(|| -> Result<(), CoreError> {
        let level = match level {
            None => None,
            Some(name) => Level::parse_setting(name)?,
        };
        Ok(set_level(level)?)
    })?)
}
