//! The Python face of bittern: the native module `bittern._bittern`, re-exported by the
//! pure-Python package `bittern`.
//!
//! This crate only translates. Inputs are copied into owned Rust values, the GIL is released
//! around hashing and file I/O, core errors become Python exceptions in one place
//! ([`errors`]), and no Rust panic reaches Python as a `PanicException`.

use pyo3::prelude::*;

mod announce;
mod args;
mod bencode;
mod convert;
mod errors;
mod events;
mod log;
mod magnet;
mod session;
mod torrent;
mod tracker;

#[pymodule]
fn _bittern(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", bittern_core::VERSION)?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(bencode::bdecode, m)?)?;
    m.add_function(wrap_pyfunction!(bencode::bencode, m)?)?;
    m.add_function(wrap_pyfunction!(log::set_log_level, m)?)?;
    m.add_class::<torrent::Torrent>()?;
    m.add_class::<torrent::File>()?;
    m.add_class::<magnet::Magnet>()?;
    m.add_class::<tracker::Tracker>()?;
    m.add_class::<tracker::TrackerStats>()?;
    m.add_class::<tracker::PublishedTorrent>()?;
    m.add_function(wrap_pyfunction!(announce::announce, m)?)?;
    m.add_function(wrap_pyfunction!(announce::scrape, m)?)?;
    m.add_class::<announce::AnnounceResult>()?;
    m.add_class::<announce::Peer>()?;
    m.add_class::<announce::ScrapeResult>()?;
    m.add_class::<session::Session>()?;
    m.add_class::<session::TorrentHandle>()?;
    m.add_class::<session::TorrentStatus>()?;
    m.add_class::<session::TrackerStatus>()?;
    m.add_class::<events::Event>()?;
    m.add_class::<events::EventIterator>()?;
    Ok(())
}
