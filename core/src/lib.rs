//! bittern-core: the BitTorrent (BEP 3) engine behind bittern's C, Python and Rust faces.
//!
//! Modules mirror the protocol: [`bencode`] is the wire format, [`metainfo`] the `.torrent`
//! file built on it (reading, validating, writing and creating).

pub mod bencode;
pub mod buffers;
pub mod error;
pub mod metainfo;
pub mod peer;
pub mod piece;
pub mod session;
pub mod storage;
pub mod tracker;

pub use error::{Error, ErrorKind};
pub use metainfo::{InfoHash, Metainfo};

/// The crate version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
