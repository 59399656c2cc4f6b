//! `Magnet`: a parsed magnet link (BEP 9), a read-only view of a core [`core::Magnet`].

use crate::errors::guard;
use bittern_core::magnet as core;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// A magnet link (BEP 9): the info-hash that names a torrent, with what helps find it.
///
/// `Magnet.parse(link)` reads one; `str(magnet)` writes it back (`Torrent.magnet()` makes the
/// link of a torrent). Each `tr` is a tier of its own in `trackers`; `peers` are the `x.pe`
/// addresses, `web_seeds` the `ws` URLs. Keys bittern does not know are skipped.
#[pyclass(frozen, eq, hash, module = "bittern", name = "Magnet")]
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct Magnet(core::Magnet);

impl Magnet {
    pub(crate) fn link(&self) -> &core::Magnet {
        &self.0
    }
}

#[pymethods]
impl Magnet {
    /// Parses a magnet link: exactly one `xt=urn:btih:` info-hash (40 hex digits or 32
    /// base32 letters), then `dn`, `tr`, `x.pe` and `ws`. Raises `ValueError` saying what is
    /// wrong (not a magnet link, no or two info-hashes, a malformed hash or peer address, a
    /// link over 64 KiB).
    #[staticmethod]
    fn parse(link: &str) -> PyResult<Self> {
        Ok(Magnet(guard(|| {
            core::Magnet::parse(link).map_err(bittern_core::Error::from)
        })?))
    }

    /// The info-hash, 20 bytes.
    #[getter]
    fn info_hash<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.info_hash.as_bytes())
    }

    /// The info-hash as 40 lowercase hex digits.
    #[getter]
    fn info_hash_hex(&self) -> String {
        self.0.info_hash.to_hex()
    }

    /// `dn`: the name to show until the torrent's metadata is known, or None.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// `tr`: tracker URLs by tier, a tier for each (the first is asked first).
    #[getter]
    fn trackers(&self) -> Vec<Vec<String>> {
        self.0.trackers.clone()
    }

    /// `x.pe`: peers to connect to directly, as `(host, port)`.
    #[getter]
    fn peers(&self) -> Vec<(String, u16)> {
        self.0
            .peers
            .iter()
            .map(|p| (p.ip().to_string(), p.port()))
            .collect()
    }

    /// `ws`: web seed URLs (BEP 19).
    #[getter]
    fn web_seeds(&self) -> Vec<String> {
        self.0.web_seeds.clone()
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Magnet.parse({})",
            PyString::new(py, &self.0.to_string()).repr()?
        ))
    }
}

impl From<core::Magnet> for Magnet {
    fn from(magnet: core::Magnet) -> Self {
        Magnet(magnet)
    }
}
