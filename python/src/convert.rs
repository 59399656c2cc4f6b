//! Argument types shared by several functions: each says once how a Python value becomes an
//! owned Rust value.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyInt, PyString, PyType};

/// A keyword argument where "not given" differs from `None` (`None` means "remove" or "omit").
///
/// Use it with a default of `Opt::Unset` in the `signature`.
pub(crate) enum Opt<T> {
    Unset,
    Set(Option<T>),
}

impl<'a, 'py, T: FromPyObjectOwned<'py>> FromPyObject<'a, 'py> for Opt<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(Opt::Set(None));
        }
        Ok(Opt::Set(Some(obj.extract::<T>().map_err(Into::into)?)))
    }
}

impl<T> Opt<T> {
    /// The given value, or `default` when the argument was left out.
    pub(crate) fn or(self, default: Option<T>) -> Option<T> {
        match self {
            Opt::Unset => default,
            Opt::Set(value) => value,
        }
    }
}

/// BEP 12 tracker tiers from `"url"`, or a sequence whose items are each a URL (a tier of its
/// own) or a sequence of URLs (one tier).
pub(crate) struct Tiers(pub Vec<Vec<String>>);

fn as_text(obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(Some(s.to_cow()?.into_owned())),
        Err(_) => Ok(None),
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Tiers {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Some(url) = as_text(&obj)? {
            return Ok(Tiers(vec![vec![url]]));
        }
        let mut tiers = Vec::new();
        for item in obj.try_iter()? {
            let item = item?;
            match as_text(&item)? {
                Some(url) => tiers.push(vec![url]),
                None => tiers.push(item.extract::<Vec<String>>().map_err(|_| {
                    PyTypeError::new_err(
                        "expected a URL, or a sequence of URLs and of sequences of URLs",
                    )
                })?),
            }
        }
        Ok(Tiers(tiers))
    }
}

/// Seconds since the Unix epoch, from an `int` or a `datetime.datetime` (a naive one is local
/// time, as `datetime.timestamp()` takes it).
pub(crate) struct Timestamp(pub i64);

impl<'a, 'py> FromPyObject<'a, 'py> for Timestamp {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let py = obj.py();
        if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
            return Ok(Timestamp(obj.extract()?));
        }
        if obj.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
            let seconds: f64 = obj.call_method0("timestamp")?.extract()?;
            return Ok(Timestamp(seconds.floor() as i64));
        }
        Err(PyTypeError::new_err(format!(
            "expected an int or a datetime, not {}",
            obj.get_type().name()?
        )))
    }
}
